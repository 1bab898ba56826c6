"""Lesson 03's mask explorer: edit sentences, pick padding / truncation / max_length, see tensors and attention."""

from __future__ import annotations

from collections import OrderedDict

from ..errors import CourseValueError
from ..model import check_max_length
from ..plots import attention_grid_html
from ..plots.attention_mask import batch_grid_html

DEFAULT_TEXTS = "Hi!\nThe cat sat on the mat.\nTokenization is unbelievably fun."
MAX_TEXTS = 6
MAX_POSITIONS = 48  # beyond this the heatmaps stop being readable (and slower to draw)
PADDING_OPTIONS = [("longest (padding=True)", "longest"), ("max_length", "max_length"), ("none (do_not_pad)", False)]


class _ForwardCache:
    """Attention (mean over heads) per layer for a batch, keyed by its ids, mask and whether the mask is passed."""

    def __init__(self, model, size: int = 64):
        self.model, self.size, self.store = model, size, OrderedDict()

    def __call__(self, encoding, use_mask: bool):
        key = (str(encoding["input_ids"].tolist()), str(encoding["attention_mask"].tolist()), use_mask)
        if key not in self.store:
            import torch

            inputs = {k: v for k, v in encoding.items() if use_mask or k != "attention_mask"}  # no mask: the bug
            with torch.no_grad():
                outputs = self.model(**inputs, output_attentions=True)
            self.store[key] = [a.mean(dim=1).numpy() for a in outputs.attentions]  # each [batch, seq, seq]
            if len(self.store) > self.size:
                self.store.popitem(last=False)
        self.store.move_to_end(key)
        return self.store[key]


def parse_texts(value: str) -> list[str]:
    """The non-empty lines of the text box (at most ``MAX_TEXTS``)."""
    texts = [line.strip() for line in str(value).splitlines() if line.strip()]
    if not texts:
        raise CourseValueError("type at least one sentence (one per line)")
    return texts[:MAX_TEXTS]


def mask_explorer(tokenizer, model, texts: str = DEFAULT_TEXTS):
    """Explorer: a batch's ``input_ids`` and ``attention_mask`` heatmaps and one text's attention in one layer.

    Forward passes are cached by input, so moving the layer or text slider only redraws.
    """
    import ipywidgets as widgets

    from . import explorer

    cache = _ForwardCache(model)
    layers = model.config.num_hidden_layers
    controls = {
        "texts": widgets.Textarea(value=texts, description="sentences", continuous_update=False,
                                  layout=widgets.Layout(width="340px", height="90px")),
        "padding": widgets.Dropdown(options=PADDING_OPTIONS, value="longest", description="padding"),
        "truncation": widgets.Checkbox(value=False, description="truncation"),
        "max_length": widgets.IntSlider(value=12, min=check_max_length(tokenizer, 3), max=MAX_POSITIONS,
                                        description="max_length", continuous_update=False),
        "padding_side": widgets.Dropdown(options=["right", "left"], value="right", description="pad side",
                                         layout=widgets.Layout(width="180px")),
        "use_mask": widgets.Checkbox(value=True, description="pass attention_mask"),
        "layer": widgets.IntSlider(value=1, min=1, max=layers, description="layer", continuous_update=False),
        "row": widgets.BoundedIntText(value=0, min=0, max=MAX_TEXTS - 1, description="text #",
                                      layout=widgets.Layout(width="140px")),
    }

    def render(texts, padding, truncation, max_length, padding_side, use_mask, layer, row):
        import torch
        from IPython.display import HTML, display

        batch = parse_texts(texts)
        natural = [len(ids) for ids in tokenizer(batch)["input_ids"]]
        if not truncation and max(natural) > MAX_POSITIONS:
            print(f"text {natural.index(max(natural))} has {max(natural)} tokens; the explorer draws at most "
                  f"{MAX_POSITIONS}. Tick truncation (and pick max_length) or shorten it.")
            return
        kwargs = {"padding": padding, "padding_side": padding_side}
        if padding == "max_length" or truncation:
            kwargs["max_length"] = max_length
        encoded = tokenizer(batch, truncation=truncation, **kwargs)
        lengths = [len(ids) for ids in encoded["input_ids"]]
        tokens = [tokenizer.convert_ids_to_tokens(ids) for ids in encoded["input_ids"]]
        if len(set(lengths)) > 1:  # no padding, or max_length without truncation: a ragged list, not a tensor
            def fill(rows):  # blank cells where a row has no token, only for drawing
                return [list(r) + [None] * (max(lengths) - len(r)) for r in rows]

            display(HTML(batch_grid_html(fill(tokens), fill(encoded["input_ids"]), fill(encoded["attention_mask"]))))
            print(f"rows have different lengths {lengths}: not a tensor, so the model cannot take them as one batch. "
                  f"Pick a padding, or padding='max_length' with truncation.")
            return
        encoding = {k: torch.tensor(encoded[k]) for k in ("input_ids", "token_type_ids", "attention_mask")}
        mask = encoding["attention_mask"]
        display(HTML(batch_grid_html(tokens, encoded["input_ids"], encoded["attention_mask"])))
        attention = cache(encoding, use_mask)[layer - 1]  # [batch, seq, seq], mean over heads
        row = min(row, len(batch) - 1)
        to_pad = float((torch.from_numpy(attention) * (mask == 0)[:, None, :]).sum(-1)[mask.bool()].max())
        cut = sum(n - int(m) for n, m in zip(natural, mask.sum(1)))
        print(f"shape {list(mask.shape)} · padding {int((mask == 0).sum())} of {mask.numel()} slots · tokens cut "
              f"{cut} · text {row}, layer {layer}: most attention a real token pays to [PAD] = {to_pad:.3f}"
              f"{'' if use_mask else '  ← no mask: padding leaks in'}")
        # An HTML heatmap, not matplotlib: an update then costs milliseconds instead of ~150 ms.
        display(HTML(attention_grid_html(
            attention[row], tokens[row], caption=f"text {row}, layer {layer}: attention (mean of "
            f"{model.config.num_attention_heads} heads), mask {'passed' if use_mask else 'NOT passed'}")))

    box = explorer("Mask explorer: padding, truncation, attention_mask", controls, render)
    return box
