"""Attention masks (lesson 03): padding, truncation, fixed length, sliding windows and the attention mask.

Shapes follow Hugging Face: ``input_ids`` / ``attention_mask`` are ``[batch, seq_len]``; the additive mask the model
adds to its attention scores is ``[batch, 1, seq_len, seq_len]`` (transformers 5.x) and broadcasts over the heads to
``[batch, heads, seq_len, seq_len]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .data import read_lines
from .errors import CourseTypeError, CourseValueError
from .inputs import check_mask, check_text, check_texts
from .model import check_max_length, special_tokens_needed

# ----------------------------------------------------------------------------------------------- checks at the edge

def _check_tokenizer(tokenizer):
    if tokenizer is None or not callable(tokenizer) or not hasattr(tokenizer, "num_special_tokens_to_add"):
        raise CourseTypeError("tokenizer must be the tokenizer from load_model(): tokenizer, model = load_model()")
    return tokenizer


def _check_model(model):
    if model is None or not hasattr(model, "config") or not hasattr(model, "encoder"):
        raise CourseTypeError("model must be the BertModel from load_model(): tokenizer, model = load_model()")
    return model


# ------------------------------------------------------------------------------------------- padding and truncation

def token_lengths(tokenizer, texts) -> list[int]:
    """Tokens each text needs, ``[CLS]`` and ``[SEP]`` included, with no padding or truncation."""
    texts = check_texts(texts)
    return [len(ids) for ids in _check_tokenizer(tokenizer)(texts)["input_ids"]]


def padding_table(tokenizer, texts, settings: dict):
    """One row per named tokenizer setting: the length of every text, padding added, tokens cut, rectangle or not.

    ``settings`` maps a label to tokenizer keyword arguments, e.g. ``{"padding=True": {"padding": True}}``.
    """
    import pandas as pd

    texts = check_texts(texts)
    _check_tokenizer(tokenizer)
    if not isinstance(settings, dict) or not settings:
        raise CourseValueError("settings must be a non-empty dict: {'label': {'padding': True}, ...}")
    natural = token_lengths(tokenizer, texts)
    rows = []
    for label, kwargs in settings.items():
        if not isinstance(kwargs, dict):
            raise CourseTypeError(
                f"settings[{label!r}] must be a dict of tokenizer arguments, e.g. {{'padding': True}}"
            )
        if kwargs.get("max_length") is not None:
            check_max_length(tokenizer, kwargs["max_length"])
        encoded = tokenizer(texts, **kwargs)
        lengths = [len(ids) for ids in encoded["input_ids"]]
        real = [sum(mask) for mask in encoded["attention_mask"]]
        rows.append({
            "setting": label,
            "lengths": lengths,
            "padding tokens": sum(n - r for n, r in zip(lengths, real)),
            "tokens cut": sum(n - r for n, r in zip(natural, real)),
            "is a tensor": len(set(lengths)) == 1,
        })
    return pd.DataFrame(rows).set_index("setting")


def batch_table(tokenizer, encoding, row: int | None = None):
    """Tokens, ``input_ids`` and ``attention_mask`` of a batch, one column per position (rows: text × what)."""
    import pandas as pd

    ids = encoding["input_ids"]
    mask = check_mask(encoding["attention_mask"], ids)
    rows = range(ids.shape[0]) if row is None else [row]
    frames = {}
    for i in rows:
        if not 0 <= i < ids.shape[0]:
            raise CourseValueError(f"row {i} is out of range: the batch has {ids.shape[0]} texts")
        frames[(i, "token")] = tokenizer.convert_ids_to_tokens(ids[i].tolist())
        frames[(i, "input_ids")] = ids[i].tolist()
        frames[(i, "attention_mask")] = mask[i].tolist()
    table = pd.DataFrame.from_dict(frames, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["text", "row"])
    return table


def pair_truncation_table(tokenizer, first: str, second: str, max_length: int):
    """How each ``truncation`` strategy shares ``max_length`` between the two texts of a pair (tokens kept of each;
    special tokens not counted). A strategy the tokenizer refuses gets its error in ``note``."""
    import pandas as pd

    first, second = check_text(first, name="first"), check_text(second, name="second")
    check_max_length(_check_tokenizer(tokenizer), max_length, pair=True)
    need_a, need_b = (len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in (first, second))
    rows = []
    for strategy in ("longest_first", "only_first", "only_second"):
        row = {"strategy": strategy, "first kept": pd.NA, "first had": need_a, "second kept": pd.NA,
               "second had": need_b, "total": pd.NA, "note": ""}
        try:
            encoded = tokenizer(first, second, truncation=strategy, max_length=max_length)
        except Exception as exc:  # the Rust tokenizer refuses when the chosen text cannot shrink enough
            row["note"] = f"error: {str(exc).split(':')[-1].strip()}"
        else:
            types = encoded["token_type_ids"]
            row.update({"first kept": types.count(0) - 2,  # minus [CLS] and the middle [SEP]
                        "second kept": types.count(1) - 1,  # minus the final [SEP]
                        "total": len(encoded["input_ids"])})
        rows.append(row)
    table = pd.DataFrame(rows).set_index("strategy")
    return table.astype({c: "Int64" for c in ("first kept", "first had", "second kept", "second had", "total")})


# ------------------------------------------------------------------------------------------------- padding waste

def _check_lengths(lengths) -> list[int]:
    if isinstance(lengths, (str, bytes)) or not isinstance(lengths, Sequence):
        raise CourseTypeError(f"lengths must be a list of ints, got {type(lengths).__name__}")
    if len(lengths) == 0:
        raise CourseValueError("lengths is empty: pass one token count per text")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in lengths):
        raise CourseValueError("lengths must be positive ints (tokens per text), e.g. token_lengths(tokenizer, texts)")
    return list(lengths)


def _check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise CourseValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return batch_size


def length_sorted_batches(lengths, batch_size: int) -> list[list[int]]:
    """Indices of the texts grouped into batches after sorting by length (keep them to restore the order)."""
    lengths, batch_size = _check_lengths(lengths), _check_batch_size(batch_size)
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def padding_waste(lengths, batch_size: int, *, sort_by_length: bool = False) -> dict:
    """Cut ``lengths`` into batches (in order, or sorted by length), pad each to its longest, count the waste.

    Token slots grow with ``batch × seq_len``; attention scores with ``batch × seq_len²``, so we count both.
    """
    lengths, batch_size = _check_lengths(lengths), _check_batch_size(batch_size)
    if sort_by_length:
        batches = [[lengths[i] for i in group] for group in length_sorted_batches(lengths, batch_size)]
    else:
        batches = [lengths[i:i + batch_size] for i in range(0, len(lengths), batch_size)]
    slots = sum(len(b) * max(b) for b in batches)
    cells = sum(len(b) * max(b) ** 2 for b in batches)
    real, real_cells = sum(lengths), sum(n * n for n in lengths)
    return {"batches": len(batches), "real tokens": real, "token slots": slots,
            "padding share": 1 - real / slots, "attention scores": cells,
            "padding share of attention": 1 - real_cells / cells}


def padding_waste_table(lengths, batch_sizes=(1, 4, 8, 16, 32)):
    """``padding_waste`` for each batch size, in file order and sorted by length (one row per pair)."""
    import pandas as pd

    rows = []
    for size in batch_sizes:
        for sort in (False, True):
            stats = padding_waste(lengths, size, sort_by_length=sort)
            rows.append({"batch size": size, "order": "sorted by length" if sort else "as in the file", **stats})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ sliding windows

def read_text(name: str) -> str:
    """A text file from ``data/`` as one string (non-comment lines joined with spaces)."""
    return " ".join(read_lines(name))


def sliding_windows(tokenizer, text: str, *, max_length: int = 512, stride: int = 128):
    """Cut one long text into overlapping windows ``[n_windows, max_length]`` (each with [CLS] … [SEP]).

    ``stride`` is how many tokens consecutive windows share, so no token loses all its context at a cut.
    Uses the tokenizer's ``return_overflowing_tokens``; the last window is padded and its mask marks the padding.
    """
    text = check_text(text)
    check_max_length(_check_tokenizer(tokenizer), max_length)
    room = max_length - special_tokens_needed(tokenizer)
    if isinstance(stride, bool) or not isinstance(stride, int) or not 0 <= stride < room:
        raise CourseValueError(
            f"stride must be an int with 0 <= stride < {room} (max_length minus the 2 special tokens), got {stride!r}"
        )
    return tokenizer(text, truncation=True, max_length=max_length, stride=stride, return_overflowing_tokens=True,
                     padding=True, return_tensors="pt")


def window_spans(tokenizer, text: str, windows) -> list[tuple[int, int]]:
    """For each window, the ``[start, end)`` range of the text's tokens (no special tokens) it holds.

    Checked token by token against the text tokenized in one piece, so a span is a fact, not an estimate.
    """
    text = check_text(text)
    ids = _check_tokenizer(tokenizer)(text, add_special_tokens=False)["input_ids"]
    mask = check_mask(windows["attention_mask"], windows["input_ids"])
    spans, start = [], 0
    for row, row_mask in zip(windows["input_ids"], mask):
        content = row[row_mask.bool()].tolist()[1:-1]  # drop [CLS] and the last real token, [SEP]
        found = next((s for s in range(start, len(ids) - len(content) + 1) if ids[s:s + len(content)] == content),
                     None)
        if found is None:
            raise CourseValueError("a window's tokens do not appear in the text: were they made from another text?")
        spans.append((found, found + len(content)))
        start = found + 1
    return spans


def coverage(spans, n_tokens: int) -> dict:
    """Which of ``n_tokens`` the spans cover: ``{"covered", "missing", "overlaps"}`` (overlap per neighbour pair)."""
    if not spans:
        raise CourseValueError("no spans: pass window_spans(...) of at least one window")
    seen = [False] * n_tokens
    for start, end in spans:
        for i in range(start, min(end, n_tokens)):
            seen[i] = True
    overlaps = [max(0, a_end - b_start) for (_, a_end), (b_start, _) in zip(spans, spans[1:])]
    return {"covered": sum(seen), "missing": n_tokens - sum(seen), "overlaps": overlaps}


# ---------------------------------------------------------------------------------- the mask inside the model

def model_additive_mask(model, attention_mask):
    """The additive mask transformers builds inside ``BertModel.forward``: ``[batch, 1, seq_len, seq_len]``.

    Calls the same function the model calls (``masking_utils.create_bidirectional_mask``). Returns ``None`` when no
    position is padding: transformers then skips the addition altogether.
    """
    import torch
    from transformers.masking_utils import create_bidirectional_mask

    model = _check_model(model)
    mask = check_mask(attention_mask)
    embeds = torch.zeros(*mask.shape, model.config.hidden_size, dtype=model.dtype)  # only its shape/dtype are read
    return create_bidirectional_mask(config=model.config, inputs_embeds=embeds, attention_mask=mask)


def left_padding_position_ids(attention_mask):
    """Positions counted from each row's first real token: ``[batch, seq_len]`` (padding gets 0; it is masked)."""
    mask = check_mask(attention_mask)
    return (mask.cumsum(dim=1) - 1).clamp(min=0)


def real_token_states(hidden_states, attention_mask, row: int):
    """The vectors of row ``row``'s real tokens in every layer: a list of ``[n_real, hidden]`` tensors."""
    import torch

    if not isinstance(hidden_states, (tuple, list)) or not hidden_states:
        raise CourseTypeError("hidden_states must be outputs.hidden_states (a tuple of [batch, seq_len, hidden])")
    mask = check_mask(attention_mask)
    if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < mask.shape[0]:
        raise CourseValueError(f"row must be an int from 0 to {mask.shape[0] - 1}, got {row!r}")
    keep = mask[row].bool()
    if any(not isinstance(h, torch.Tensor) or h.shape[:2] != mask.shape for h in hidden_states):
        raise CourseValueError(f"each hidden state must be [batch, seq_len, hidden] with [batch, seq_len] = "
                               f"{list(mask.shape)}, the mask's shape")
    return [h[row][keep] for h in hidden_states]


def layer_drift(reference, states):
    """Per layer, how far ``states`` are from ``reference`` (lists of ``[n_real, hidden]``).

    Columns: ``max |diff|`` (largest absolute difference of any coordinate) and ``min cosine`` (the worst token's
    cosine similarity). Layer 0 is the embedding output.
    """
    import pandas as pd
    import torch

    if len(reference) != len(states):
        raise CourseValueError(f"reference has {len(reference)} layers but states has {len(states)}")
    rows = []
    for layer, (ref, got) in enumerate(zip(reference, states)):
        if ref.shape != got.shape:
            raise CourseValueError(f"layer {layer}: shapes differ {list(ref.shape)} vs {list(got.shape)}; compare "
                                   f"the same sentence's real tokens")
        rows.append({"layer": layer, "max |diff|": float((ref - got).abs().max()),
                     "min cosine": float(torch.nn.functional.cosine_similarity(ref, got, dim=-1).min())})
    return pd.DataFrame(rows).set_index("layer")


def small(value: float, *, floor: float = 1e-3, decimals: int = 3) -> str:
    """Format a difference for printing: ``"< 0.001"`` below ``floor`` (float noise), else rounded."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise CourseTypeError(f"value must be a real number, got {value!r}")
    return f"< {floor:g}" if abs(value) < floor else f"{value:.{decimals}f}"


def drift_table(drifts: dict, *, decimals: int = 2):
    """Side by side, one ``layer_drift`` per named setting, as printable strings (noise shown as ``< 0.001``)."""
    import pandas as pd

    if not drifts:
        raise CourseValueError("drifts is empty: pass {'label': layer_drift(...)}")
    columns = {}
    for label, frame in drifts.items():
        columns[(label, "max |diff|")] = [small(v, decimals=decimals) for v in frame["max |diff|"]]
        columns[(label, "min cosine")] = [f"{v:.{decimals}f}" for v in frame["min cosine"]]
    table = pd.DataFrame(columns, index=next(iter(drifts.values())).index)
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def attention_to_padding(attentions, attention_mask):
    """Per layer, how much attention the real tokens give to padded positions.

    Returns a DataFrame (index: layer 1…L): ``max`` and ``mean`` over batch, heads and real query tokens of the
    attention weight summed over the padded keys. With the mask it is exactly 0.
    """
    import pandas as pd

    mask = check_mask(attention_mask)
    pad_keys = (mask == 0)[:, None, None, :].float()           # [batch, 1, 1, seq_len]
    real_queries = mask.bool()[:, None, :].expand(-1, attentions[0].shape[1], -1)  # [batch, heads, seq_len]
    rows = []
    for layer, weights in enumerate(attentions, start=1):
        if weights.shape[0] != mask.shape[0] or weights.shape[-1] != mask.shape[1]:
            raise CourseValueError(f"attentions are {list(weights.shape)} but the mask is {list(mask.shape)}")
        to_pad = (weights * pad_keys).sum(dim=-1)[real_queries]  # one number per (row, head, real query)
        rows.append({"layer": layer, "max": float(to_pad.max()), "mean": float(to_pad.mean())})
    return pd.DataFrame(rows).set_index("layer")


# --------------------------------------------------------------------------------- attention mask vs [MASK]

def mask_vs_mask_token(tokenizer):
    """A side-by-side table: the ``attention_mask`` input vs the ``[MASK]`` token of masked-language-model training."""
    import pandas as pd

    _check_tokenizer(tokenizer)
    rows = {
        "what it is": ("a second input tensor next to input_ids", f"a vocabulary token, id {tokenizer.mask_token_id}"),
        "shape / where": ("[batch, seq_len] of 0/1, separate from input_ids",
                          f"one id inside input_ids: {tokenizer.mask_token} replaces a word"),
        "question it answers": ("which positions may be looked at?", "which word is hidden from the model?"),
        "who makes it": ("the tokenizer, always (all 1s when nothing is padded)",
                         "the pre-training data pipeline (or you, to probe)"),
        "what the model does": ("adds a huge negative number to attention scores of keys with 0",
                                "embeds it like any token; every token can attend to it"),
        "its own output vector": ("computed but meaningless: ignore it (pool with the mask)",
                                  "the vector an MLM head reads to guess the hidden word"),
        "when": ("every padded batch, training and inference", "masked-LM pre-training; not used for embeddings"),
        "value in attention_mask": ("1 for real tokens, 0 for padding", "1: it stands at a real position"),
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["attention_mask", "[MASK] token"])
