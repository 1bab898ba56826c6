"""Lesson 04's explorer: pick a sentence, a token and a layer; see that token's vector, its norm and its nearest
tokens in the batch. One forward pass happens before the widget exists; moving a control only looks things up."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence

from ..errors import CourseTypeError, CourseValueError
from ..inputs import check_mask
from ..model_outputs import most_similar_tokens, stack_hidden_states


class OutputIndex:
    """Everything the explorer shows, precomputed from one batch: its ``encoding`` and its ``outputs`` (with
    ``hidden_states``), as ``encoding, outputs = forward(texts)`` returns them."""

    def __init__(self, encoding, outputs, tokenizer, *, special_tokens: Sequence[str] = ("[CLS]", "[SEP]")):
        import torch
        import torch.nn.functional as F

        if not isinstance(encoding, Mapping) or "input_ids" not in encoding or "attention_mask" not in encoding:
            raise CourseTypeError(f"encoding must be the batch's encoding (input_ids, attention_mask), got "
                                  f"{type(encoding).__name__}: pass both halves of "
                                  f"`encoding, outputs = forward(texts)`")
        self.stacked = stack_hidden_states(outputs)  # [layers + 1, batch, seq_len, hidden]
        self.layers, self.batch, self.seq_len, self.hidden = self.stacked.shape
        self.layers -= 1
        mask = check_mask(encoding["attention_mask"], self.stacked[0]).bool()
        self.lengths = mask.sum(dim=1).tolist()
        self.tokens = [tokenizer.convert_ids_to_tokens(row[:n]) for row, n in zip(encoding["input_ids"],
                                                                                 self.lengths)]
        flat = self.stacked.reshape(self.layers + 1, self.batch * self.seq_len, self.hidden)
        self.unit = F.normalize(flat, dim=-1)  # cosine = one matrix-vector product per update
        self.norms = self.stacked.norm(dim=-1)  # [layers + 1, batch, seq_len]
        all_tokens = [t for row in self.tokens for t in row + [""] * (self.seq_len - len(row))]
        special = torch.tensor([t in special_tokens for t in all_tokens])
        self.real = mask.flatten()
        self.real_words = self.real & ~special
        self.flat_tokens = all_tokens
        # One colour scale for every strip, so two strips can be compared by eye; 99th percentile so the few
        # very large dimensions do not wash out the rest. kthvalue, not quantile: quantile sorts a copy (+30 MiB here).
        values = self.stacked[:, mask].abs().flatten()
        self.limit = float(values.kthvalue(math.ceil(0.99 * len(values))).values)

    def neighbours(self, sentence: int, token: int, layer: int, *, include_special: bool = False, k: int = 5):
        """[(cosine, token, sentence index)] of the k most similar other real tokens at the same layer."""
        keep = (self.real if include_special else self.real_words).clone()
        keep[sentence * self.seq_len + token] = False
        idx, cos = most_similar_tokens(self.unit[layer], self.stacked[layer, sentence, token], keep=keep, k=k)
        return [(c, self.flat_tokens[i], i // self.seq_len) for i, c in zip(idx, cos)]


def output_explorer(encoding, outputs, tokenizer, texts: Sequence[str], *, focus: Sequence[int] | None = None):
    """Explorer over a batch: a sentence dropdown, a token dropdown, a layer slider, a [CLS]/[SEP] checkbox.

    ``encoding, outputs``: what ``forward(texts)`` returned; ``texts`` label the sentences; ``focus[i]`` is the token
    selected first in sentence i (default 1).
    """
    import ipywidgets as widgets

    from ..plots.model_outputs import strip_png
    from . import explorer

    index = OutputIndex(encoding, outputs, tokenizer)
    if len(texts) != index.batch:
        raise CourseValueError(f"{len(texts)} texts for a batch of {index.batch}: pass the texts you ran")
    focus = list(focus) if focus is not None else [1] * index.batch

    def token_options(sentence):
        return [(f"{i}: {t}", i) for i, t in enumerate(index.tokens[sentence])]

    short = [t if len(t) <= 60 else t[:57] + "…" for t in texts]
    sentence = widgets.Dropdown(options=[(f"{i}: {t}", i) for i, t in enumerate(short)], value=0,
                                description="sentence", layout=widgets.Layout(width="400px"))
    token = widgets.Dropdown(options=token_options(0), value=focus[0], description="token",
                             layout=widgets.Layout(width="200px"))
    layer = widgets.IntSlider(value=index.layers, min=0, max=index.layers, description="layer",
                              continuous_update=False, layout=widgets.Layout(width="260px"))
    special = widgets.Checkbox(value=False, description="[CLS]/[SEP] as neighbours", indent=False,
                               layout=widgets.Layout(width="220px"))

    def on_sentence(change):
        # Registered before the explorer's own observer, so render never sees a token from another sentence; the
        # token box is refilled silently and the explorer then draws once, for the new sentence.
        token.unobserve(box.update, names="value")
        try:
            token.options = token_options(change["new"])
            token.value = focus[change["new"]]
        finally:
            token.observe(box.update, names="value")

    sentence.observe(on_sentence, names="value")

    def render(sentence, token, layer, special):
        from IPython.display import HTML, display

        word = index.tokens[sentence][token]
        png = base64.b64encode(strip_png(index.stacked[:, sentence, token], layer, limit=index.limit)).decode()
        display(HTML(
            f"<div><b>{html.escape(repr(word))}</b> (sentence {sentence}, token {token}) at every layer: "
            f"rows = layers 0..{index.layers} (0 = embedding output), columns = the {index.hidden} dimensions; "
            f"blue &lt; 0 &lt; red (scale ±{index.limit:.1f}); framed row = layer {layer}</div>"
            f'<img src="data:image/png;base64,{png}" style="width:100%;max-width:{2 * index.hidden}px;'
            f'image-rendering:pixelated" alt="vector strip">'
        ))
        print(f"hidden_states[{layer}][{sentence}, {token}]  ({word!r}):  norm = "
              f"{float(index.norms[layer, sentence, token]):.2f}")
        print(f"most similar other tokens in the batch at layer {layer} (cosine):")
        for cos, other, where in index.neighbours(sentence, token, layer, include_special=special):
            print(f"  {cos:+.3f}  {other:<12} in {where}: {short[where]}")

    box = explorer("Output explorer: one token's vector, layer by layer",
                   {"sentence": sentence, "token": token, "layer": layer, "special": special}, render)
    box.children[1].layout.flex_flow = "row wrap"  # four controls: let them wrap in a narrow notebook
    box.index = index
    return box
