"""Show a helper's source in a lesson, instead of copying it into the notebook."""

from __future__ import annotations

import inspect

from .errors import CourseTypeError


def show_source(fn) -> None:
    """Print the source code of a function or class from ``utils``."""
    if not callable(fn):
        raise CourseTypeError(f"show_source needs a function or class, got {type(fn).__name__}")
    print(inspect.getsource(fn).rstrip())
