"""Plots for lesson 03 (masks). Each function returns what it drew on (``Axes`` or a list of them)."""

from __future__ import annotations

from ..errors import CourseValueError
from . import MARKERS, colours, new_axes


def plot_padding_waste(table, *, ax=None, column: str = "padding share"):
    """Bars: share of padded slots per batch size, file order vs sorted by length (``padding_waste_table``)."""
    import numpy as np

    needed = {"batch size", "order", column}
    if not needed <= set(table.columns):
        raise CourseValueError(f"table needs the columns {sorted(needed)}: pass padding_waste_table(...)")
    ax = new_axes(ax)
    bars = table.groupby(["batch size", "order"], sort=False)[column].mean().unstack("order")
    bars = bars.sort_index()
    width = 0.8 / len(bars.columns)
    for i, order in enumerate(bars.columns):  # side by side within each batch size
        ax.bar(np.arange(len(bars)) + (i - (len(bars.columns) - 1) / 2) * width, bars[order], width, label=order)
    ax.set_xticks(range(len(bars)), [str(size) for size in bars.index])
    ax.grid(axis="x", visible=False)  # categories, not a scale
    ax.legend(title="order")
    ax.set_ylim(0, 1)
    ax.set_title(f"Padding is wasted work: {column} of a padded corpus")
    ax.set_xlabel("batch size (texts per batch)")
    ax.set_ylabel(f"{column} (0 to 1)")
    return ax


def plot_drift(drifts: dict, *, floor: float = 1e-7, tolerance: float | None = 1e-4):
    """Two panels over layers: largest |difference| (log scale) and lowest cosine, one line per setting.

    ``drifts`` maps a label to a ``layer_drift`` DataFrame. Exact zeros are drawn at ``floor`` (log scale has no 0);
    ``tolerance``, if given, is drawn as a dashed line (the ``assert_close`` tolerance).
    """
    import itertools

    import matplotlib.pyplot as plt

    if not drifts:
        raise CourseValueError("drifts is empty: pass {'label': layer_drift(...)}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    # Each setting gets its own dashes and markers, so identical curves stay visible on top of each other.
    styles = zip(itertools.cycle("oXs^Dv"), itertools.cycle(["-", "--", ":", "-."]))
    lowest = 0.0
    for (label, frame), (marker, dashes) in zip(drifts.items(), styles):
        table = frame.reset_index()
        style = {**MARKERS, "marker": marker, "linestyle": dashes}
        left.plot(table["layer"], table["max |diff|"].clip(lower=floor), label=label, **style)
        right.plot(table["layer"], table["min cosine"], **style)
        lowest = min(lowest, float(table["min cosine"].min()))
    left.set_yscale("log")
    if tolerance is not None:
        left.axhline(tolerance, color="grey", linestyle=":", linewidth=1)
        left.text(0, tolerance * 1.6, f"tolerance {tolerance:g}", fontsize=8, color="grey")
    left.set_title("Largest |difference| from the sentence alone")
    left.set_xlabel("layer (0 = embeddings)")
    left.set_ylabel(f"max |diff| (exact 0 drawn at {floor:g})")
    left.legend(fontsize=8, title=None)
    right.set_title("Lowest cosine similarity of a real token")
    right.set_xlabel("layer (0 = embeddings)")
    right.set_ylabel("min cosine")
    right.set_ylim(lowest - 0.05, 1.05)
    fig.tight_layout()
    return [left, right]


def plot_windows(spans, n_tokens: int, *, truncated: int | None = None, ax=None):
    """Horizontal bars: which token range each sliding window holds; optionally what truncation keeps."""
    if not spans:
        raise CourseValueError("spans is empty: pass window_spans(...)")
    ax = new_axes(ax, figsize=(8, 1.2 + 0.5 * (len(spans) + 1)))
    palette = colours()
    rows = []
    if truncated is not None:
        rows.append(("truncation", [(0, truncated)], palette[3 % len(palette)]))
    rows += [(f"window {i}", [(start, end)], palette[0]) for i, (start, end) in enumerate(spans)]
    for y, (_, ranges, colour) in enumerate(reversed(rows)):
        for start, end in ranges:
            ax.broken_barh([(start, end - start)], (y - 0.35, 0.7), color=colour, alpha=0.8)
            ax.text((start + end) / 2, y, f"tokens {start}–{end - 1}", ha="center", va="center", fontsize=8,
                    color="white")
    ax.axvline(n_tokens, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), [label for label, _, _ in reversed(rows)])
    ax.set_xlim(0, n_tokens * 1.02)
    ax.set_xlabel(f"token index in the text (no special tokens; dashed line = its {n_tokens} tokens)")
    ax.set_title("Truncation drops the end; overlapping windows cover every token")
    return ax


def plot_batch(tokens, input_ids, attention_mask, *, axes=None):
    """Two heatmaps, one above the other: ``input_ids`` (token written in each cell) and ``attention_mask``, both
    ``[batch, seq_len]``. NaN cells (ragged rows) stay blank. Returns the two ``Axes``."""
    import matplotlib.pyplot as plt
    import numpy as np

    ids = np.asarray(input_ids, dtype=float)
    mask = np.asarray(attention_mask, dtype=float)
    if ids.ndim != 2 or ids.shape != mask.shape or len(tokens) != ids.shape[0]:
        raise CourseValueError(f"input_ids {list(ids.shape)}, attention_mask {list(mask.shape)} and {len(tokens)} "
                               f"token rows must agree: [batch, seq_len]")
    batch, seq = ids.shape
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(max(6.0, 0.5 * seq + 1.2), 2 * (0.42 * batch + 0.9)), sharex=True)
    for ax, values, title, cmap in ((axes[0], ids, "input_ids [batch, seq_len] (token written in each cell)",
                                     "viridis"),
                                    (axes[1], mask, "attention_mask [batch, seq_len] (1 = real, 0 = padding)",
                                     "cividis")):
        ax.imshow(values, aspect="auto", cmap=cmap, interpolation="nearest")  # NaN (ragged rows) stays blank
        middle = (np.nanmax(values) + np.nanmin(values)) / 2
        for b in range(batch):
            for s in range(seq):
                if np.isnan(values[b, s]):
                    continue
                text = tokens[b][s][:7] if ax is axes[0] else str(int(mask[b, s]))
                ax.text(s, b, text, ha="center", va="center", fontsize=7,
                        color="white" if values[b, s] <= middle else "black")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("text")
        ax.set_yticks(range(batch))
        ax.grid(False)
    axes[1].set_xlabel("position")
    axes[1].set_xticks(range(seq))
    axes[0].figure.tight_layout()
    return list(axes)


def plot_attention(weights, tokens, *, title: str, ax=None):
    """One attention matrix ``[seq_len, seq_len]`` (rows: queries, columns: keys), tokens on both axes."""
    import numpy as np

    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2 or weights.shape != (len(tokens), len(tokens)):
        raise CourseValueError(f"weights must be [seq_len, seq_len] = {[len(tokens)] * 2}, got {list(weights.shape)}")
    size = min(7.0, 2.5 + 0.22 * len(tokens))
    ax = new_axes(ax, figsize=(size + 0.8, size))
    image = ax.imshow(weights, vmin=0, vmax=1, cmap="magma", interpolation="nearest")
    font = 8 if len(tokens) <= 24 else 6
    ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=font)
    ax.set_yticks(range(len(tokens)), tokens, fontsize=font)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("key: the token looked at")
    ax.set_ylabel("query: the token looking")
    ax.grid(False)
    # the Axes' own figure: inside a widget's Output, pyplot's "current figure" can be another one
    ax.figure.colorbar(image, ax=ax, fraction=0.046, label="attention weight")
    return ax


def batch_grid_html(tokens, input_ids, attention_mask) -> str:
    """Two colour grids as HTML (fast to redraw): ``input_ids`` with the token written in each cell, and
    ``attention_mask`` (1 = real, 0 = padding). Inputs are ``[batch, seq_len]``; ``None`` cells (ragged rows) are blank.
    """
    import html

    import matplotlib

    if len(tokens) != len(input_ids) or len(input_ids) != len(attention_mask):
        raise CourseValueError("tokens, input_ids and attention_mask must have one row per text")
    ids_map, mask_map = matplotlib.colormaps["viridis"], matplotlib.colormaps["cividis"]
    known = [i for row in input_ids for i in row if i is not None]
    low, high = min(known), max(known)

    def cell(value, colour_map, share, label):
        if value is None:
            return "<td style='border:none'></td>"
        red, green, blue, _ = colour_map(share)
        ink = "#fff" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.55 else "#000"
        colour = matplotlib.colors.to_hex((red, green, blue))
        return (f"<td style='background:{colour};color:{ink};padding:2px 4px;text-align:center;"
                f"font:11px monospace;border:1px solid #fff'>{label}</td>")

    def grid(title, rows):
        body = "".join(f"<tr><th style='font:11px monospace;padding-right:4px'>{i}</th>{''.join(r)}</tr>"
                       for i, r in enumerate(rows))
        return f"<div style='margin:4px 0'><b>{title}</b><table style='border-collapse:collapse'>{body}</table></div>"

    id_rows = [[cell(i, ids_map, 0 if i is None else (i - low) / max(1, high - low),
                     f"{html.escape(str(t))}<br><span style='font-size:9px'>{i}</span>")
                for t, i in zip(toks, ids)] for toks, ids in zip(tokens, input_ids)]
    mask_rows = [[cell(m, mask_map, float(m or 0), str(m)) for m in row] for row in attention_mask]
    ragged = any(i is None for row in input_ids for i in row)
    shape = "(ragged: not a tensor)" if ragged else f"[{len(input_ids)}, {max(len(r) for r in input_ids)}]"
    return (grid(f"input_ids {shape} (token above its id; colour = id)", id_rows)
            + grid(f"attention_mask {shape} (1 = real token, 0 = padding)", mask_rows))
