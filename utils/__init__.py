"""Helpers for the BERT course. Lessons start with::

    from utils import setup, load_model
    setup()
    tokenizer, model = load_model()

One module per concept: ``model`` (loading, checkpoint integrity, encode/forward), ``session`` (the setup call),
``exercises`` (checkers with instant feedback), ``data`` (files in ``data/``), ``errors`` (the exceptions).
Lesson-specific helpers live in their own modules and are imported from there.
"""

from .data import data_path, read_lines
from .errors import (
    ChecksumMismatchError,
    CourseError,
    CourseTypeError,
    CourseValueError,
    ModelNotFoundError,
    TextTooLongError,
)
from .exercises import check, evaluate
from .model import encode, forward, load_model
from .session import setup
from .show import show_source

__all__ = [
    "ChecksumMismatchError",
    "CourseError",
    "CourseTypeError",
    "CourseValueError",
    "ModelNotFoundError",
    "TextTooLongError",
    "check",
    "data_path",
    "encode",
    "evaluate",
    "forward",
    "load_model",
    "read_lines",
    "setup",
    "show_source",
]
