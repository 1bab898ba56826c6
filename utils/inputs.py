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
