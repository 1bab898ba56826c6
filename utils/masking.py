"""Masks (lesson 03): padding, truncation, fixed length, sliding windows and the attention mask.

Shapes follow Hugging Face: ``input_ids`` / ``attention_mask`` are ``[batch, seq_len]``; the additive mask the model
adds to its attention scores is ``[batch, 1, seq_len, seq_len]`` (transformers 5.x) and broadcasts over the heads to
``[batch, heads, seq_len, seq_len]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .data import read_lines
from .errors import CourseTypeError, CourseValueError, TextTooLongError
from .inputs import check_text, check_texts
from .model import max_positions

PADDING_CHOICES = (True, False, "longest", "max_length", "do_not_pad")
PADDING_SIDES = ("right", "left")


# ----------------------------------------------------------------------------------------------- checks at the edge

def check_mask(input_ids, attention_mask):
    """Validate ``attention_mask`` against ``input_ids`` (both ``[batch, seq_len]`` tensors); return the mask as long.

    Pass ``input_ids=None`` to check a mask on its own.
    Refuses: non-tensors, wrong number of dimensions, an empty batch, a length mismatch, a float mask (that is the
    *additive* mask's job, built inside the model), values other than 0/1, and a row with no real token.
    """
    import torch

    pairs = [("attention_mask", attention_mask)] + ([("input_ids", input_ids)] if input_ids is not None else [])
    for name, value in pairs:
        if not isinstance(value, torch.Tensor):
            raise CourseTypeError(
                f"{name} must be a torch.Tensor, got {type(value).__name__}; tokenize with return_tensors='pt'"
            )
        if value.ndim != 2:
            hint = "; for one sentence add the batch axis: x.unsqueeze(0)" if value.ndim == 1 else ""
            raise CourseValueError(f"{name} must have shape [batch, seq_len], got {list(value.shape)}{hint}")
    if attention_mask.shape[0] == 0 or attention_mask.shape[1] == 0:
        raise CourseValueError(
            f"empty batch: the mask has shape {list(attention_mask.shape)}; tokenize at least one text"
        )
    if input_ids is not None and attention_mask.shape != input_ids.shape:
        raise CourseValueError(
            f"attention_mask {list(attention_mask.shape)} does not match input_ids {list(input_ids.shape)}: one mask "
            f"value per token. Take both from the same tokenizer call (batch['input_ids'], batch['attention_mask'])"
        )
    if attention_mask.is_floating_point() or attention_mask.is_complex():
        raise CourseTypeError(
            f"attention_mask has dtype {attention_mask.dtype}; pass the 0/1 integer mask the tokenizer returns. "
            f"The additive float mask (0 and a huge negative number) is built inside the model"
        )
    if not bool(((attention_mask == 0) | (attention_mask == 1)).all()):
        raise CourseValueError("attention_mask may hold only 0 (padding) and 1 (real token)")
    if bool((attention_mask.sum(dim=1) == 0).any()):
        row = int((attention_mask.sum(dim=1) == 0).nonzero()[0])
        raise CourseValueError(f"row {row} of attention_mask is all 0: every text needs at least [CLS] and [SEP]")
    return attention_mask.long()


def special_tokens_needed(tokenizer, *, pair: bool = False) -> int:
    """How many special tokens one sequence gets: 2 ([CLS] … [SEP]) or, for a pair, 3 ([CLS] a [SEP] b [SEP])."""
    return int(tokenizer.num_special_tokens_to_add(pair=pair))


def check_max_length(tokenizer, max_length, *, pair: bool = False) -> int:
    """Return ``max_length`` if it leaves room for the special tokens plus one real token per text, else raise.

    Why: the tokenizer silently ignores ``max_length=1`` and turns every text into ``[CLS] [SEP]`` at 2.
    """
    if isinstance(max_length, bool) or not isinstance(max_length, int):
        raise CourseTypeError(f"max_length must be an int, got {type(max_length).__name__} ({max_length!r})")
    specials = special_tokens_needed(tokenizer, pair=pair)
    smallest = specials + (2 if pair else 1)
    if max_length < smallest:
        raise CourseValueError(
            f"max_length={max_length} is too small: the special tokens alone need {specials} positions"
            f"{' for a pair' if pair else ''}, so use max_length >= {smallest} to keep at least one real token"
            f"{' per text' if pair else ''}"
        )
    limit = max_positions(tokenizer)
    if max_length > limit:
        raise TextTooLongError(
            f"max_length={max_length} exceeds the model's {limit} positions; use at most {limit}, or split the text "
            f"into windows with sliding_windows()"
        )
    return max_length


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


def encode_batch(tokenizer, texts, *, padding=True, truncation: bool = False, max_length: int | None = None,
                 padding_side: str = "right"):
    """Tokenize a batch into tensors ``[batch, seq_len]`` with explicit, validated padding/truncation choices.

    Raises when the choices cannot give a rectangle (e.g. ``padding="max_length"`` without ``truncation`` and a text
    longer than ``max_length``), naming the fix, instead of torch's "expected sequence of length" error.
    """
    texts = check_texts(texts)
    _check_tokenizer(tokenizer)
    if padding not in PADDING_CHOICES or isinstance(padding, int) and not isinstance(padding, bool):
        raise CourseValueError(f"padding must be one of {PADDING_CHOICES}, got {padding!r}")
    if padding_side not in PADDING_SIDES:
        raise CourseValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
    if max_length is not None:
        check_max_length(tokenizer, max_length)
    if padding == "max_length" and max_length is None:
        raise CourseValueError("padding='max_length' needs max_length=..., e.g. max_length=16")
    if truncation and max_length is None:
        max_length = max_positions(tokenizer)
    kwargs = dict(padding=padding, truncation=truncation, max_length=max_length, padding_side=padding_side)
    lengths = [len(ids) for ids in tokenizer(texts, **kwargs)["input_ids"]]
    if len(set(lengths)) > 1:
        fix = ("pass truncation=True so longer texts are cut to max_length" if padding == "max_length"
               else "pass padding=True (pad to the longest) or padding='max_length'")
        raise CourseValueError(f"these settings give rows of different lengths {lengths}, which is not a tensor: {fix}")
    if max(lengths) > max_positions(tokenizer):
        raise TextTooLongError(
            f"a text needs {max(lengths)} tokens but the model has {max_positions(tokenizer)} positions: pass "
            f"truncation=True, or split it with sliding_windows()"
        )
    return tokenizer(texts, return_tensors="pt", **kwargs)


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
    mask = check_mask(ids, encoding["attention_mask"])
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
    mask = check_mask(windows["input_ids"], windows["attention_mask"])
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

def additive_mask(attention_mask, dtype=None):
    """The classic BERT form: ``[batch, seq_len]`` 0/1 → ``[batch, 1, 1, seq_len]`` of 0 (keep) and the dtype's
    most negative finite number (hide). Broadcasting copies it over heads and query positions."""
    import torch

    dtype = dtype or torch.float32
    if not isinstance(attention_mask, torch.Tensor):
        raise CourseTypeError("attention_mask must be a torch.Tensor [batch, seq_len]; use return_tensors='pt'")
    mask = check_mask(None, attention_mask)
    zero = torch.zeros((), dtype=dtype)
    return torch.where(mask.bool(), zero, torch.finfo(dtype).min)[:, None, None, :]


def model_additive_mask(model, attention_mask):
    """The additive mask transformers builds inside ``BertModel.forward``: ``[batch, 1, seq_len, seq_len]``.

    Calls the same function the model calls (``masking_utils.create_bidirectional_mask``). Returns ``None`` when no
    position is padding: transformers then skips the addition altogether.
    """
    import torch
    from transformers.masking_utils import create_bidirectional_mask

    model = _check_model(model)
    mask = check_mask(None, attention_mask)
    embeds = torch.zeros(*mask.shape, model.config.hidden_size, dtype=model.dtype)  # only its shape/dtype are read
    return create_bidirectional_mask(config=model.config, inputs_embeds=embeds, attention_mask=mask)


def attention_by_hand(model, hidden_states, mask=None, *, layer: int = 0):
    """``softmax(Q Kᵀ / sqrt(d_head) + mask)`` of one layer from its input ``[batch, seq_len, hidden]``.

    Returns ``[batch, heads, seq_len, seq_len]``; ``mask`` is any additive mask that broadcasts to that shape.
    Compare it with ``outputs.attentions[layer]`` to see that this is all the model does with the mask.
    """
    import torch

    model = _check_model(model)
    n_layers = model.config.num_hidden_layers
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < n_layers:
        raise CourseValueError(f"layer must be an int from 0 to {n_layers - 1} (0-based), got {layer!r}")
    if not isinstance(hidden_states, torch.Tensor) or hidden_states.ndim != 3:
        raise CourseValueError(
            "hidden_states must be one tensor [batch, seq_len, hidden], e.g. outputs.hidden_states[0]"
        )
    attn = model.encoder.layer[layer].attention.self
    batch, seq, _ = hidden_states.shape
    heads, size = attn.num_attention_heads, attn.attention_head_size
    with torch.no_grad():
        query = attn.query(hidden_states).view(batch, seq, heads, size).transpose(1, 2)
        key = attn.key(hidden_states).view(batch, seq, heads, size).transpose(1, 2)
        scores = query @ key.transpose(-1, -2) / math.sqrt(size)
        if mask is not None:
            scores = scores + mask
        return scores.softmax(dim=-1)


def run(model, encoding, *, use_mask: bool = True, position_ids=None):
    """One forward pass without gradients, with ``hidden_states`` and ``attentions``.

    ``use_mask=False`` drops ``attention_mask`` (the bug this lesson measures); ``position_ids`` ``[batch, seq_len]``
    overrides the default 0, 1, 2, … positions.
    """
    import torch

    model = _check_model(model)
    mask = check_mask(encoding["input_ids"], encoding["attention_mask"])
    inputs = {"input_ids": encoding["input_ids"]}
    if "token_type_ids" in encoding:
        inputs["token_type_ids"] = encoding["token_type_ids"]
    if use_mask:
        inputs["attention_mask"] = mask
    if position_ids is not None:
        if not isinstance(position_ids, torch.Tensor) or position_ids.shape != mask.shape:
            raise CourseValueError(f"position_ids must be a tensor shaped like input_ids {list(mask.shape)}")
        inputs["position_ids"] = position_ids
    threads = torch.get_num_threads()
    # A tiny batch gains nothing from a second thread, and OpenMP threads stall when the CPU is shared
    # (measured: 10x slower, erratic); one thread keeps lessons and explorers quick everywhere.
    if mask.numel() <= 4096:
        torch.set_num_threads(1)
    try:
        with torch.no_grad():
            return model(**inputs, output_hidden_states=True, output_attentions=True)
    finally:
        torch.set_num_threads(threads)


def left_padding_position_ids(attention_mask):
    """Positions counted from each row's first real token: ``[batch, seq_len]`` (padding gets 0; it is masked)."""
    mask = check_mask(None, attention_mask)
    return (mask.cumsum(dim=1) - 1).clamp(min=0)


def real_token_states(hidden_states, attention_mask, row: int):
    """The vectors of row ``row``'s real tokens in every layer: a list of ``[n_real, hidden]`` tensors."""
    import torch

    if not isinstance(hidden_states, (tuple, list)) or not hidden_states:
        raise CourseTypeError("hidden_states must be outputs.hidden_states (a tuple of [batch, seq_len, hidden])")
    mask = check_mask(None, attention_mask)
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

    mask = check_mask(None, attention_mask)
    pad_keys = (mask == 0)[:, None, None, :].float()           # [batch, 1, 1, seq_len]
    real_queries = mask.bool()[:, None, :].expand(-1, attentions[0].shape[1], -1)  # [batch, heads, seq_len]
    rows = []
    for layer, weights in enumerate(attentions, start=1):
        if weights.shape[0] != mask.shape[0] or weights.shape[-1] != mask.shape[1]:
            raise CourseValueError(f"attentions are {list(weights.shape)} but the mask is {list(mask.shape)}")
        to_pad = (weights * pad_keys).sum(dim=-1)[real_queries]  # one number per (row, head, real query)
        rows.append({"layer": layer, "max": float(to_pad.max()), "mean": float(to_pad.mean())})
    return pd.DataFrame(rows).set_index("layer")


def sentence_embedding(last_hidden_state, attention_mask):
    """Mean of the real tokens' vectors, the pooling all-MiniLM-L6-v2 was trained with.

    ``[batch, seq_len, hidden]`` → ``[batch, hidden]``; padded positions get weight 0.
    """
    mask = check_mask(None, attention_mask)
    if last_hidden_state.ndim != 3 or last_hidden_state.shape[:2] != mask.shape:
        raise CourseValueError(
            f"last_hidden_state must be [batch, seq_len, hidden] matching the mask {list(mask.shape)}"
        )
    weights = mask[..., None].to(last_hidden_state.dtype)
    return (last_hidden_state * weights).sum(dim=1) / weights.sum(dim=1)


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
        "who makes it": ("the tokenizer, whenever it pads", "the pre-training data pipeline (or you, to probe)"),
        "what the model does": ("adds a huge negative number to attention scores of keys with 0",
                                "embeds it like any token; every token can attend to it"),
        "its own output vector": ("computed but meaningless: ignore it (pool with the mask)",
                                  "the vector an MLM head reads to guess the hidden word"),
        "when": ("every padded batch, training and inference", "masked-LM pre-training; not used for embeddings"),
        "value in attention_mask": ("1 for real tokens, 0 for padding", "1: it stands at a real position"),
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["attention_mask", "[MASK] token"])
