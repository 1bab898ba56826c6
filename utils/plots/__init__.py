"""Plots shared by several lessons (seaborn's colour-blind theme, set by ``setup()``).

Lesson-specific plots live in their own module here (``utils/plots/<concept>.py``). Every function returns the
matplotlib ``Axes`` so a lesson can assert on what was drawn; nbval does not compare images.
Lines, bars and heatmaps are drawn with matplotlib directly; seaborn is imported only inside a plot that needs its
statistics (lesson 04's strip plots), because importing it costs a lesson ~1 s.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..errors import CourseValueError

MARKERS = {"marker": "o", "markeredgecolor": "w", "markeredgewidth": 0.75}  # seaborn's line markers


def colours() -> list[str]:
    """The colour cycle ``setup()`` chose (seaborn's colour-blind palette), in order, as ``"#rrggbb"``."""
    import matplotlib
    from matplotlib.colors import to_hex

    return [to_hex(c) for c in matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]]


def new_axes(ax=None, figsize=(6.4, 3.6)):
    """Return ``ax`` or a fresh one on a new figure."""
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def draw_matrix(ax, matrix, *, cmap: str = "viridis", vmin=None, vmax=None, cbar_label: str = "",
                annotate: bool = False, rasterized: bool = False):
    """Colour the cells of ``matrix [rows, cols]`` on ``ax`` (row 0 at the top) with a colour bar, as
    ``seaborn.heatmap`` does; ticks are left to the caller. Returns the ``QuadMesh``."""
    import numpy as np

    mesh = ax.pcolormesh(matrix, cmap=cmap, vmin=vmin, vmax=vmax, rasterized=rasterized, linewidth=0)
    ax.set_xlim(0, matrix.shape[1])
    ax.set_ylim(matrix.shape[0], 0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = ax.figure.colorbar(mesh, ax=ax)
    bar.outline.set_visible(False)
    if cbar_label:
        bar.set_label(cbar_label)
    if annotate:
        for (row, col), value in np.ndenumerate(matrix):
            red, green, blue, _ = mesh.cmap(mesh.norm(value))
            dark = 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.408  # seaborn's threshold (relative luminance)
            ax.text(col + 0.5, row + 0.5, f"{value:.2f}", ha="center", va="center", fontsize=9,
                    color="white" if dark else ".15")
    return mesh


def heatmap(values, x_labels: Sequence[str], y_labels: Sequence[str], *, title: str, xlabel: str = "",
            ylabel: str = "", ax=None, annotate: bool = False, vmin=None, vmax=None, cmap: str = "viridis",
            cbar_label: str = ""):
    """Heatmap of a 2-D array ``[len(y_labels), len(x_labels)]`` with token (or other) labels on both axes."""
    import numpy as np

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
    draw_matrix(ax, matrix, cmap=cmap, vmin=vmin, vmax=vmax, cbar_label=cbar_label, annotate=annotate)
    ax.set_xticks(np.arange(len(x_labels)) + 0.5, list(x_labels), rotation=90)
    ax.set_yticks(np.arange(len(y_labels)) + 0.5, list(y_labels), rotation=0)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def lines_by_layer(curves: dict[str, Sequence[float]], *, title: str, ylabel: str, xlabel: str = "layer",
                   first_layer: int = 0, ax=None, mark_layer: int | None = None):
    """One line per named curve over layers ``first_layer, first_layer+1, …``; optionally mark one layer."""
    from matplotlib.ticker import MaxNLocator

    if not curves:
        raise CourseValueError("lines_by_layer needs at least one curve: {'name': [values per layer]}")
    ax = new_axes(ax)
    for name, values in curves.items():
        ax.plot(range(first_layer, first_layer + len(values)), list(values), label=name, **MARKERS)
    ax.legend()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
    if mark_layer is not None:
        ax.axvline(mark_layer, color="grey", linestyle="--", linewidth=1)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def attention_grid_html(matrix, tokens: Sequence[str], caption: str = "") -> str:
    """An HTML table coloured like a heatmap (viridis, 0 → 1) for ``matrix [seq_len, seq_len]``.

    Explorers use it instead of a matplotlib heatmap: a string costs milliseconds, a figure ~150 ms.

    Rows are queries (the token that attends), columns keys; hovering a cell shows its value.
    """
    import matplotlib
    import numpy as np

    values = np.asarray(matrix.detach().cpu() if hasattr(matrix, "detach") else matrix, dtype=float)
    if values.ndim != 2 or values.shape != (len(tokens), len(tokens)):
        raise CourseValueError(f"matrix must be [{len(tokens)}, {len(tokens)}] for {len(tokens)} tokens, "
                               f"got shape {values.shape}")
    rgba = matplotlib.colormaps["viridis"](np.clip(values, 0, 1))
    colours = [[f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}" for r, g, b, _ in row] for row in rgba]
    names = [html.escape(t) for t in tokens]
    head = "".join(f"<th style='writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;"
                   f"padding:2px 0'>{name}</th>" for name in names)
    rows = "".join(
        f"<tr><th style='text-align:right;font-weight:normal;padding-right:4px'>{names[i]}</th>"
        + "".join(f"<td title='{names[i]} → {names[j]}: {values[i, j]:.2f}' style='background:{colours[i][j]};"
                  f"width:15px;height:15px;padding:0'></td>" for j in range(len(tokens)))
        + "</tr>" for i in range(len(tokens)))
    return (f"<div><div style='font-size:12px;padding-bottom:4px;max-width:520px'>{html.escape(caption)}</div>"
            f"<table style='border-collapse:collapse;font-size:11px;line-height:1'>"
            f"<tr><th></th>{head}</tr>{rows}</table></div>")
