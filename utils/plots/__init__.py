"""Plots shared by several lessons (seaborn, colour-blind palette set by ``setup()``).

Lesson-specific plots live in their own module here (``utils/plots/<concept>.py``). Every function returns the
matplotlib ``Axes`` so a lesson can assert on what was drawn; nbval does not compare images.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import CourseValueError


def new_axes(ax=None, figsize=(6.4, 3.6)):
    """Return ``ax`` or a fresh one on a new figure."""
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def heatmap(values, x_labels: Sequence[str], y_labels: Sequence[str], *, title: str, xlabel: str = "",
            ylabel: str = "", ax=None, annotate: bool = False, vmin=None, vmax=None, cmap: str = "viridis",
            cbar_label: str = ""):
    """Heatmap of a 2-D array ``[len(y_labels), len(x_labels)]`` with token (or other) labels on both axes."""
    import numpy as np
    import seaborn as sns

    matrix = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=float)
    if matrix.ndim != 2:
        raise CourseValueError(f"heatmap needs a 2-D array, got shape {matrix.shape}; pick one batch item / head")
    if matrix.shape != (len(y_labels), len(x_labels)):
        raise CourseValueError(
            f"values have shape {matrix.shape} but there are {len(y_labels)} row labels and {len(x_labels)} "
            f"column labels"
        )
    size = (max(4.0, 0.45 * len(x_labels) + 2), max(3.0, 0.35 * len(y_labels) + 1.5))
    ax = new_axes(ax, figsize=size)
    sns.heatmap(matrix, xticklabels=list(x_labels), yticklabels=list(y_labels), ax=ax, annot=annotate,
                fmt=".2f", vmin=vmin, vmax=vmax, cmap=cmap, cbar_kws={"label": cbar_label} if cbar_label else None,
                square=False)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=90)
    ax.tick_params(axis="y", labelrotation=0)
    return ax


def lines_by_layer(curves: dict[str, Sequence[float]], *, title: str, ylabel: str, xlabel: str = "layer",
                   first_layer: int = 0, ax=None, mark_layer: int | None = None):
    """One line per named curve over layers ``first_layer, first_layer+1, …``; optionally mark one layer."""
    import seaborn as sns

    if not curves:
        raise CourseValueError("lines_by_layer needs at least one curve: {'name': [values per layer]}")
    ax = new_axes(ax)
    for name, values in curves.items():
        xs = list(range(first_layer, first_layer + len(values)))
        sns.lineplot(x=xs, y=list(values), marker="o", label=name, ax=ax)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
    if mark_layer is not None:
        ax.axvline(mark_layer, color="grey", linestyle="--", linewidth=1)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
