"""Exercises with instant feedback.

A lesson's exercise cell ends with ``check("01.count_tokens", answer)``. The checker prints ✅ with a short
explanation, ❌ with a message written for the mistake it recognises, or a friendly note while the answer is still
``...``. Checkers live in one module per lesson in this package, named after the lesson's topic (``readiness.py``,
``tokenization.py``, ``special_tokens.py``, ``attention_mask.py``, …), and register
themselves with :func:`exercise`; :func:`evaluate` returns the verdict as data for tests.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import CourseValueError

NOT_ANSWERED = ...  # learners replace the Ellipsis with their answer


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer. ``status`` is "correct", "wrong" or "unanswered"."""

    exercise_id: str
    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    def __str__(self) -> str:
        mark = {"correct": "✅ Correct.", "wrong": "❌ Not yet.", "unanswered": "✏️ Not answered yet."}[self.status]
        return f"[{self.exercise_id}] {mark} {self.message}"


class Wrong(Exception):
    """Raise inside a checker to reject an answer with a message aimed at that mistake."""


_REGISTRY: dict[str, Callable] = {}
_LOADED = {"done": False}


def exercise(exercise_id: str):
    """Register a checker ``fn(answer) -> str`` (the explanation shown when the answer is right)."""

    def register(fn: Callable) -> Callable:
        if exercise_id in _REGISTRY and _REGISTRY[exercise_id] is not fn:
            raise CourseValueError(f"exercise id {exercise_id!r} is registered twice")
        _REGISTRY[exercise_id] = fn
        return fn

    return register


def _load_all() -> None:
    if _LOADED["done"]:
        return
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    _LOADED["done"] = True


def exercise_ids() -> list[str]:
    """All registered exercise ids, sorted."""
    _load_all()
    return sorted(_REGISTRY)


def evaluate(exercise_id: str, answer) -> Feedback:
    """Judge ``answer`` for ``exercise_id`` and return a :class:`Feedback` (prints nothing)."""
    _load_all()
    if exercise_id not in _REGISTRY:
        raise CourseValueError(
            f"No exercise called {exercise_id!r}. Check the id in the cell; known ids start with the lesson "
            f"number, e.g. {exercise_ids()[:3]}"
        )
    if answer is NOT_ANSWERED:
        return Feedback(exercise_id, "unanswered", "Replace the `...` with your answer, then run the cell again.")
    try:
        explanation = _REGISTRY[exercise_id](answer)
    except Wrong as verdict:
        return Feedback(exercise_id, "wrong", str(verdict))
    return Feedback(exercise_id, "correct", explanation or "")


def check(exercise_id: str, answer) -> None:
    """Print the verdict on ``answer``; never raises for a wrong answer, so Run All keeps going."""
    print(evaluate(exercise_id, answer))


def expect_type(answer, kind, example: str):
    """Reject an answer of the wrong type with a message that shows what a right-typed answer looks like."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(answer, bool) and bool not in kinds) or not isinstance(answer, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise Wrong(f"Your answer is a {type(answer).__name__}; this exercise wants a {names}, e.g. {example}.")
    return answer


def expect_tensor(answer, example: str, *, numbers: bool = False):
    """Accept a ``torch.Tensor`` or a NumPy array (with ``numbers=True`` also a list/tuple of numbers) and return it
    as a detached float32 tensor; reject anything else with a message that shows a right-typed answer.

    The ``(values, indices)`` pair that ``torch.max(x, dim=...)`` returns counts as its values.
    """
    import numpy as np
    import torch

    if isinstance(answer, tuple) and hasattr(answer, "values") and hasattr(answer, "indices"):
        answer = answer.values
    if numbers and isinstance(answer, (list, tuple)) and answer and \
            all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in answer):
        answer = torch.tensor(answer, dtype=torch.float32)
    if isinstance(answer, np.ndarray):
        answer = torch.as_tensor(answer)
    if not isinstance(answer, torch.Tensor):
        raise Wrong(f"Your answer is a {type(answer).__name__}; this exercise wants a torch.Tensor, e.g. {example}.")
    return answer.detach().to(torch.float32)


def same_tensor(a, b, *, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Same shape and equal within float noise (a learner's correct answer, computed another way)."""
    import torch

    return tuple(a.shape) == tuple(b.shape) and bool(torch.allclose(a, b, atol=atol, rtol=rtol))
