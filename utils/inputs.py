"""Checks at the boundary: turn bad text input into a clear exception before torch sees it."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import CourseTypeError, CourseValueError


def check_text(text, *, name: str = "text") -> str:
    """Return ``text`` if it is a non-empty string, else raise an error that names the fix."""
    if text is None:
        raise CourseTypeError(f"{name} is None: pass a string, e.g. {name}='The cat sat on the mat.'")
    if not isinstance(text, str):
        raise CourseTypeError(
            f"{name} must be a str, got {type(text).__name__} ({text!r:.60}); "
            f"convert it first, e.g. str(value), or pass a list of strings for a batch"
        )
    if not text.strip():
        raise CourseValueError(f"{name} is empty or only whitespace: pass at least one word")
    return text


def check_texts(texts, *, name: str = "texts") -> list[str]:
    """Accept one string or a list/tuple of strings; return a non-empty ``list[str]``.

    Raises on ``None``, an empty batch, an item that is not a string, or an empty string (the index is named).
    """
    if isinstance(texts, str):
        return [check_text(texts, name=name)]
    if texts is None:
        raise CourseTypeError(f"{name} is None: pass a string or a list of strings")
    if not isinstance(texts, Sequence):
        raise CourseTypeError(
            f"{name} must be a string or a list of strings, got {type(texts).__name__}; "
            f"wrap a single text in a list: [text]"
        )
    if len(texts) == 0:
        raise CourseValueError(f"{name} is an empty batch: pass at least one string")
    return [check_text(t, name=f"{name}[{i}]") for i, t in enumerate(texts)]


def check_mask(attention_mask, like=None):
    """Validate a 0/1 ``attention_mask [batch, seq_len]``; return it as a long tensor.

    ``like``: optionally ``input_ids [batch, seq_len]`` or a hidden state ``[batch, seq_len, hidden]`` from the same
    encoding; the mask must match its first two dimensions. Refuses non-tensors, wrong dimensions, an empty batch, a
    float mask (the *additive* mask is built inside the model), values other than 0/1, and a row with no real token.
    """
    import torch

    for name, value in (("attention_mask", attention_mask), ("input_ids / hidden state", like)):
        if value is None and name != "attention_mask":
            continue
        if not isinstance(value, torch.Tensor):
            raise CourseTypeError(
                f"{name} must be a torch.Tensor, got {type(value).__name__}; tokenize with return_tensors='pt' "
                f"or take it from the model's output"
            )
    if attention_mask.ndim != 2:
        hint = "; for one sentence add the batch axis: mask.unsqueeze(0)" if attention_mask.ndim == 1 else ""
        raise CourseValueError(
            f"attention_mask must have shape [batch, seq_len], got {list(attention_mask.shape)}{hint}"
        )
    if attention_mask.shape[0] == 0 or attention_mask.shape[1] == 0:
        raise CourseValueError(
            f"empty batch: the mask has shape {list(attention_mask.shape)}; tokenize at least one text"
        )
    if like is not None and (like.ndim not in (2, 3) or tuple(like.shape[:2]) != tuple(attention_mask.shape)):
        raise CourseValueError(
            f"attention_mask {list(attention_mask.shape)} does not match {list(like.shape)}: one mask value per token, "
            f"[batch, seq_len] = {list(like.shape[:2])}. Take both from the same encoding: encoding['attention_mask']"
        )
    if attention_mask.is_floating_point() or attention_mask.is_complex():
        raise CourseTypeError(
            f"attention_mask has dtype {attention_mask.dtype}; pass the 0/1 integer mask the tokenizer returns. "
            f"The additive float mask (0 and a huge negative number) is built inside the model"
        )
    if not bool(((attention_mask == 0) | (attention_mask == 1)).all()):
        raise CourseValueError("attention_mask may hold only 0 (padding) and 1 (real token)")
    empty = (attention_mask.sum(dim=1) == 0).nonzero().flatten().tolist()
    if empty:
        raise CourseValueError(f"attention_mask rows {empty} are all 0: every text needs at least [CLS] and [SEP]")
    return attention_mask.long()
