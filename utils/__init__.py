"""Helpers for the BERT course. Lessons start with::

    from utils import setup, load_model
    setup()
    tokenizer, model = load_model()

The core every lesson shares: ``model`` (loading, checkpoint integrity, ``encode``, ``forward``, ``mean_pooling``),
``inputs`` (checks at the boundary: texts, ``check_mask``), ``session`` (the setup call), ``exercises``
(checkers with instant feedback), ``data`` (files in ``data/``: ``read_lines``, ``read_tsv``), ``errors``.
Lesson-specific helpers live in their own modules and are imported from there.
"""

from .data import data_path, read_lines, read_tsv
from .errors import (
    ChecksumMismatchError,
    CourseError,
    CourseTypeError,
    CourseValueError,
    ModelNotFoundError,
    TextTooLongError,
)
from .exercises import check, evaluate
from .inputs import check_mask
from .model import encode, forward, load_model, mean_pooling
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
    "check_mask",
    "data_path",
    "encode",
    "evaluate",
    "forward",
    "load_model",
    "mean_pooling",
    "read_lines",
    "read_tsv",
    "setup",
    "show_source",
]
