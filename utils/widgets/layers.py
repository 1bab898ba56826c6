"""Lesson 05's layer explorer: pick a sentence, a layer and a head; see that head's attention and the per-layer
curves with the current layer marked. Everything is precomputed from one ``run_corpus`` pass, and both panels are
plain HTML/SVG strings, so an update costs a few milliseconds instead of a matplotlib render."""

from __future__ import annotations

import html

from ..errors import CourseTypeError, CourseValueError
from ..layers import AttentionStats, CorpusRun
from ..plots import attention_grid_html
from . import explorer

CURVES = ("[CLS]", "[SEP]", "punctuation", "previous", "next")


def layer_curves_svg(curves: dict, marks: dict | None = None, *, current: int | None = None, title: str = "",
                     ylabel: str = "", width: int = 430, height: int = 270) -> str:
    """An SVG line chart over layers 1 … L: one line (with dots) per curve, optional crosses per curve in
    ``marks`` (e.g. one head's values), a dashed line at layer ``current``; y runs from 0 to 1."""
    if not isinstance(curves, dict) or not curves:
        raise CourseValueError("curves must be a non-empty dict {name: values per layer}")
    lengths = {len(v) for v in curves.values()} | {len(v) for v in (marks or {}).values()}
    if len(lengths) != 1:
        raise CourseValueError("every curve (and mark) needs one value per layer")
    layers = lengths.pop()
    if current is not None and not 1 <= current <= layers:
        raise CourseValueError(f"current layer must be between 1 and {layers}, got {current}")
    from ..session import COLORBLIND as palette
    left, right, top, bottom = 46, 110, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(layer: float) -> float:
        return left + (layer - 1) / max(layers - 1, 1) * plot_w

    def y(value: float) -> float:
        return top + (1 - min(max(float(value), 0.0), 1.0)) * plot_h

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-size='11' "
             f"font-family='sans-serif'>",
             f"<text x='{left + plot_w / 2}' y='14' text-anchor='middle' font-size='12'>{html.escape(title)}</text>"]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f"<line x1='{left}' x2='{left + plot_w}' y1='{y(tick)}' y2='{y(tick)}' stroke='#ddd'/>"
                     f"<text x='{left - 4}' y='{y(tick) + 4}' text-anchor='end'>{tick:g}</text>")
    for layer in range(1, layers + 1):
        parts.append(f"<text x='{x(layer)}' y='{top + plot_h + 14}' text-anchor='middle'>{layer}</text>")
    parts.append(f"<text x='{left + plot_w / 2}' y='{height - 4}' text-anchor='middle'>layer</text>")
    parts.append(f"<text transform='translate(12,{top + plot_h / 2}) rotate(-90)' text-anchor='middle'>"
                 f"{html.escape(ylabel)}</text>")
    if current is not None:
        parts.append(f"<line x1='{x(current)}' x2='{x(current)}' y1='{top}' y2='{top + plot_h}' stroke='#555' "
                     f"stroke-dasharray='4 3'/>")
    for k, (name, values) in enumerate(curves.items()):
        colour = palette[k % len(palette)]
        points = " ".join(f"{x(i + 1):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f"<polyline points='{points}' fill='none' stroke='{colour}' stroke-width='2'/>")
        parts += [f"<circle cx='{x(i + 1):.1f}' cy='{y(v):.1f}' r='3' fill='{colour}'/>" for i, v in enumerate(values)]
        for i, v in enumerate((marks or {}).get(name, [])):
            cx, cy = x(i + 1), y(v)
            parts.append(f"<path d='M{cx - 4:.1f},{cy - 4:.1f}L{cx + 4:.1f},{cy + 4:.1f}M{cx - 4:.1f},{cy + 4:.1f}"
                         f"L{cx + 4:.1f},{cy - 4:.1f}' stroke='{colour}' stroke-width='1.5'/>")
        legend_y = top + 6 + 16 * k
        parts.append(f"<line x1='{left + plot_w + 10}' x2='{left + plot_w + 26}' y1='{legend_y}' y2='{legend_y}' "
                     f"stroke='{colour}' stroke-width='2'/><text x='{left + plot_w + 30}' y='{legend_y + 4}'>"
                     f"{html.escape(name)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def layer_explorer(run: CorpusRun, stats: AttentionStats, sentences: dict[str, int]):
    """Build the explorer. ``sentences`` maps a short label to a sentence index in ``run``.

    Left: attention of (layer, head) for the chosen sentence, ``[seq_len, seq_len]`` (rows ask, columns answer).
    Right: the shares of :class:`AttentionStats` per layer (dots: mean over heads, crosses: the chosen head) and a
    dashed line at the chosen layer.
    """
    import ipywidgets as widgets
    from IPython.display import HTML, display

    if not isinstance(run, CorpusRun) or not isinstance(stats, AttentionStats):
        raise CourseTypeError("layer_explorer needs the CorpusRun from run_corpus(...) and attention_statistics(run)")
    if not isinstance(sentences, dict) or not sentences:
        raise CourseValueError("sentences must be a non-empty dict {label: sentence index}")
    bad = [label for label, i in sentences.items() if not isinstance(i, int) or not 0 <= i < len(run.texts)]
    if bad:
        raise CourseValueError(f"sentence indices for {bad} are out of range 0 … {len(run.texts) - 1}")
    if stats.num_layers != run.num_layers:
        raise CourseValueError("stats and run come from models with different numbers of layers")

    # Precompute: per sentence its tokens and attention [L, heads, T, T]; per layer the mean curves.
    maps = {label: (run.tokens[i], run.attentions[:, i, :, : run.lengths[i], : run.lengths[i]].float().numpy())
            for label, i in sentences.items()}
    means = stats.by_layer()
    curves = {name: means[name].tolist() for name in CURVES}

    def render(sentence: str, layer: int, head: int) -> None:
        tokens, attention = maps[sentence]
        grid = attention_grid_html(attention[layer - 1, head], tokens,
                                   f"layer {layer}, head {head}: attentions[{layer - 1}][i, {head}] — row: token "
                                   f"attending, column: token attended to; dark 0 → yellow 1")
        chart = layer_curves_svg(curves, {name: stats.shares[name][:, head].tolist() for name in CURVES},
                                 current=layer, title=f"all sentences: mean over heads (•), head {head} (×)",
                                 ylabel="share of a token's attention")
        display(HTML(f"<div style='display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap'>{grid}{chart}</div>"))

    controls = {
        "sentence": widgets.Dropdown(options=list(sentences), description="sentence",
                                     layout=widgets.Layout(width="420px")),
        "layer": widgets.IntSlider(value=1, min=1, max=run.num_layers, description="layer"),
        "head": widgets.IntSlider(value=0, min=0, max=run.attentions.shape[2] - 1, description="head"),
    }
    return explorer("Layer explorer: attention by layer and head", controls, render)
