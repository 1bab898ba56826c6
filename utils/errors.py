"""Exceptions the course raises on bad input.

Each one also subclasses the built-in a Python user would expect (``TypeError``, ``ValueError``, ``OSError``),
so ``except ValueError`` keeps working, and each message says how to fix the problem.
"""


class CourseError(Exception):
    """Base class for every error the course's helpers raise on purpose."""


class CourseTypeError(CourseError, TypeError):
    """An argument has the wrong type (e.g. ``None`` or a number where text is expected)."""


class CourseValueError(CourseError, ValueError):
    """An argument has the right type but an unusable value (e.g. empty text, layer out of range)."""


class TextTooLongError(CourseValueError):
    """A text needs more positions than the model has (512 for BERT, special tokens included)."""


class ModelNotFoundError(CourseError, OSError):
    """The requested checkpoint cannot be found locally and may not be downloaded."""


class ChecksumMismatchError(CourseError, OSError):
    """A checkpoint file's SHA-256 differs from the published one: the file is damaged or was changed."""
