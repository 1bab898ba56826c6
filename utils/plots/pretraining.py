"""Plots for lesson 06 (pre-training in miniature): the loss curve and the probe accuracies during training."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from ..errors import CourseValueError
from . import MARKERS, colours, new_axes


def plot_loss_curve(losses: Sequence[float], *, references: dict[str, float] | None = None, window: int = 25,
                    ax=None):
    """The MLM loss of every training step (light) and its moving average over ``window`` steps (dark).

    ``references`` draws labelled horizontal lines, e.g. ``{"uniform guess: ln V": 5.6}``. Returns the Axes.
    """
    import numpy as np

    values = np.asarray(list(losses), dtype=float)
    if values.ndim != 1 or len(values) < 2 or not np.isfinite(values).all():
        raise CourseValueError("losses must be a list of at least 2 finite numbers, one per training step")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise CourseValueError(f"window must be a positive int, got {window!r}")
    ax = new_axes(ax, figsize=(7.0, 3.8))
    steps = np.arange(1, len(values) + 1)
    window = min(window, len(values))
    smooth = np.convolve(values, np.ones(window) / window, mode="valid")
    ax.plot(steps, values, alpha=0.3, linewidth=0.8, label="loss of each step")
    ax.plot(steps[window - 1:], smooth, linewidth=2, label=f"mean of last {window} steps")
    palette = colours()
    for i, (name, value) in enumerate((references or {}).items()):
        ax.axhline(value, linestyle="--", linewidth=1.2, color=palette[(i + 2) % len(palette)], label=name)
    ax.set_title("Masked-language-model loss of the tiny BERT while it trains")
    ax.set_xlabel(f"training step (1 … {len(values)}, batches of sentences)")
    ax.set_ylabel("cross-entropy per masked token (nats)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_probe_curves(history: Sequence[dict], *, ax=None):
    """One line per probe kind: top-1 accuracy on the held-out probes at each recorded step.

    ``history`` is :class:`utils.pretraining.ProbeTracker`'s list of ``{"step": s, kind: accuracy}``.
    """
    import pandas as pd

    if not history or any("step" not in h for h in history):
        raise CourseValueError("history must be a non-empty list of {'step': s, kind: accuracy} dicts "
                               "(ProbeTracker.history after training)")
    table = pd.DataFrame(list(history)).drop(columns=["all"], errors="ignore")
    ax = new_axes(ax, figsize=(7.0, 3.8))
    for kind, marker in zip(table.columns.drop("step"), itertools.cycle("oXs^Dv")):  # not only colour tells kinds apart
        ax.plot(table["step"], table[kind], label=kind, **{**MARKERS, "marker": marker})
    ax.set_title("Held-out probes: when does each skill appear?")
    ax.set_xlabel("training step")
    ax.set_ylabel("top-1 accuracy on held-out probes")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(loc="lower right", fontsize="small")
    return ax
