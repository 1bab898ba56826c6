"""Plots for lesson 07 (using sentence vectors). Each draws what it is given and returns what it drew."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..errors import CourseValueError
from . import MARKERS, colours, heatmap, new_axes


def _array(values):
    import numpy as np

    return np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=float)


def pair_heatmap(pairs, query_tokens: Sequence[str], doc_tokens: Sequence[str], *, title: str, ax=None):
    """Token-pair contributions ``[n_query_tokens, n_doc_tokens]`` (they add up to the cosine), on a diverging
    scale centred at 0: red pairs pull the two texts together, blue ones push them apart."""
    values = _array(pairs)
    limit = max(float(abs(values).max()), 1e-9)
    return heatmap(values, list(doc_tokens), list(query_tokens), title=title, ax=ax, cmap="RdBu_r", vmin=-limit,
                   vmax=limit, cbar_label="contribution to the cosine", xlabel="document token",
                   ylabel="query token")


def metric_intervals(table, metric: str, *, ax=None, title: str = ""):
    """One row per method: the metric's value as a dot and its 95 % bootstrap interval as a bar.

    ``table``: the DataFrame from ``retrieval_table`` (columns ``metric``, ``metric_low``, ``metric_high``).
    """
    import numpy as np

    needed = [metric, f"{metric}_low", f"{metric}_high"]
    if any(c not in getattr(table, "columns", ()) for c in needed):
        raise CourseValueError(f"table needs the columns {needed}: pass retrieval_table(...)'s result")
    ax = new_axes(ax, figsize=(6.4, 0.32 * len(table) + 1.2))
    y = np.arange(len(table))
    value, low, high = (table[c].to_numpy(dtype=float) for c in needed)
    ax.errorbar(value, y, xerr=[value - low, high - value], fmt="o", color=colours()[0], capsize=3,
                markeredgecolor="w", markeredgewidth=0.75)
    ax.set_yticks(y, list(table.index))
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.set_xlim(0, 1.02)
    ax.set_xlabel(f"{metric} (dot) with its 95 % bootstrap interval over queries (bar)")
    ax.set_title(title or f"{metric} by sentence vector, {metric} ∈ [0, 1]")
    return ax


def anisotropy_bars(values: dict, *, ax=None, title: str = "Mean cosine of pairs from different topics"):
    """Horizontal bars, one per vector kind: the mean cosine of unrelated pairs (0 = no shared direction)."""
    if not isinstance(values, dict) or not values:
        raise CourseValueError("values must be a non-empty dict {vector kind: mean cosine}")
    ax = new_axes(ax, figsize=(6.4, 0.35 * len(values) + 1.2))
    names, numbers = list(values), [float(v) for v in values.values()]
    ax.barh(range(len(names)), numbers, color=colours()[0])
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_xlabel("mean cosine over document pairs from different topics")
    ax.set_title(title)
    return ax


def collection_map(points, topics: Sequence[str], *, query_point=None, hits: Sequence[int] = (), ax=None,
                   title: str = "The collection in 2-D (PCA of the normalised mean vectors)"):
    """Scatter ``points [n_docs, 2]`` coloured by topic; optionally a query (star) and its hits (circled)."""
    xy = _array(points)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(topics):
        raise CourseValueError(f"points must be [n_docs, 2] with one topic per row, got {xy.shape}, {len(topics)} "
                               f"topics")
    ax = new_axes(ax, figsize=(7.5, 5.5))
    names = list(dict.fromkeys(topics))
    palette = colours()
    for i, name in enumerate(names):
        rows = [k for k, t in enumerate(topics) if t == name]
        ax.scatter(xy[rows, 0], xy[rows, 1], s=16, color=palette[i % len(palette)],
                   marker="o" if i < len(palette) else "s", label=name, alpha=0.8)
    if len(hits):
        hit = xy[list(hits)]
        ax.scatter(hit[:, 0], hit[:, 1], s=120, facecolors="none", edgecolors="black", linewidths=1.2,
                   label="top hits")
    if query_point is not None:
        q = _array(query_point).reshape(-1)
        ax.scatter([q[0]], [q[1]], s=260, marker="*", color="black", label="query")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.set_title(title)
    return ax


def anisotropy_fix_lines(curves: dict, components: Sequence[int], *, ylabel: str, title: str, ax=None):
    """One line per vector kind over the number of removed principal components (0 = centring only)."""
    if not isinstance(curves, dict) or not curves:
        raise CourseValueError("curves must be a non-empty dict {name: [value per number of components]}")
    ax = new_axes(ax)
    for name, values in curves.items():
        if len(values) != len(components):
            raise CourseValueError(f"curve {name!r} has {len(values)} values for {len(components)} component counts")
        ax.plot(list(components), list(values), label=name, **MARKERS)
    ax.legend()
    ax.set_xlabel("principal components removed (0 = centring only)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


def pair_grid_html(pairs, query_tokens: Sequence[str], doc_tokens: Sequence[str], caption: str = "") -> str:
    """An HTML table of token-pair contributions coloured red (positive) / blue (negative), for explorers:
    a string costs milliseconds where a matplotlib figure costs ~150 ms. Hovering a cell shows its value."""
    import matplotlib

    values = _array(pairs)
    if values.ndim != 2 or values.shape != (len(query_tokens), len(doc_tokens)):
        raise CourseValueError(f"pairs must be [{len(query_tokens)}, {len(doc_tokens)}] (query × document tokens), "
                               f"got shape {values.shape}")
    limit = max(float(abs(values).max()), 1e-9)
    rgba = matplotlib.colormaps["RdBu_r"]((values / limit + 1) / 2)
    q_names, d_names = [html.escape(t) for t in query_tokens], [html.escape(t) for t in doc_tokens]
    head = "".join(f"<th style='writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;"
                   f"padding:2px 0'>{name}</th>" for name in d_names)
    rows = "".join(
        f"<tr><th style='text-align:right;font-weight:normal;padding-right:4px'>{q_names[i]}</th>"
        + "".join(f"<td title='{q_names[i]} · {d_names[j]}: {values[i, j]:+.3f}' style='background:"
                  f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x};width:15px;height:15px;padding:0'></td>"
                  for j, (r, g, b, _) in enumerate(rgba[i]))
        + "</tr>" for i in range(len(query_tokens)))
    return (f"<div><div style='font-size:12px;padding-bottom:4px;max-width:620px'>{html.escape(caption)}</div>"
            f"<table style='border-collapse:collapse;font-size:11px;line-height:1'>"
            f"<tr><th></th>{head}</tr>{rows}</table></div>")
