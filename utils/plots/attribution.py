"""Plots for lesson 08 (attribution): token colours as HTML, deletion / insertion curves."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..errors import CourseValueError
from . import MARKERS, colours, new_axes


def token_colours_html(tokens: Sequence[str], scores: Sequence[float], *, caption: str = "") -> str:
    """Tokens as HTML spans, background shaded by ``scores`` (largest |score| = full colour; orange positive, blue
    negative), each with its score as a tooltip."""
    scores = [float(s) for s in scores]
    if len(tokens) != len(scores) or not tokens:
        raise CourseValueError(f"need one score per token, got {len(tokens)} tokens and {len(scores)} scores")
    top = max(abs(s) for s in scores) or 1.0
    spans = []
    for token, score in zip(tokens, scores):
        alpha = abs(score) / top
        rgb = "230, 159, 0" if score >= 0 else "86, 180, 233"
        spans.append(f'<span title="{score:.3f}" style="background: rgba({rgb}, {alpha:.2f}); padding: 2px 3px; '
                     f'margin: 1px; border-radius: 3px; font-family: monospace">{html.escape(token)}</span>')
    head = f"<div><b>{html.escape(caption)}</b></div>" if caption else ""
    return f"{head}<div style='line-height: 2'>{''.join(spans)}</div>"


def curves_plot(curves: dict, *, title: str, ks=None, ylabel: str = "cosine to the reference", ax=None):
    """One line per named curve (values at ``ks`` tokens, default k = 0 … n); names starting with "random" are
    drawn grey."""
    if not isinstance(curves, dict) or not curves:
        raise CourseValueError("curves must be a non-empty dict {name: values at k = 0 … n}")
    ax = new_axes(ax, figsize=(6.4, 3.4))
    palette = colours()
    for i, (name, values) in enumerate(curves.items()):
        values = [float(v) for v in values]
        style = {"color": "0.6", "linestyle": "--"} if name.startswith("random") else {"color": palette[i % 10]}
        ax.plot(range(len(values)) if ks is None else list(ks), values, label=name, **MARKERS, **style)
    ax.set(title=title, xlabel="k: tokens removed (deletion) or kept (insertion)", ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax


def curve_svg(values: Sequence[float], *, width: int = 320, height: int = 120, label: str = "") -> str:
    """A small SVG line chart of ``values`` (k = 0 … n), y from min(0, values) to max(1, values): fast enough for an
    explorer update, unlike a matplotlib figure."""
    values = [float(v) for v in values]
    if len(values) < 2:
        raise CourseValueError(f"a curve needs at least 2 points, got {len(values)}")
    low, high = min(0.0, *values), max(1.0, *values)
    xs = [10 + i * (width - 20) / (len(values) - 1) for i in range(len(values))]
    ys = [height - 15 - (v - low) / (high - low) * (height - 30) for v in values]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    zero = height - 15 - (0 - low) / (high - low) * (height - 30)
    return (f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f'<line x1="10" y1="{zero:.1f}" x2="{width - 10}" y2="{zero:.1f}" stroke="#bbb"/>'
            f'<polyline points="{points}" fill="none" stroke="{colours()[0]}" stroke-width="2"/>'
            f'<text x="10" y="12" font-size="11">{html.escape(label)}</text></svg>')
