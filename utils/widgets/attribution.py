"""Lesson 08's explorer: pick a sentence / reference pair and a method; see token colours and the deletion curve.

Everything is computed before the explorer opens (``precompute``); an update only looks results up and writes HTML.
"""

from __future__ import annotations

from ..errors import CourseValueError
from . import explorer


def attribution_explorer(results: list[dict]):
    """``results``: one dict per pair with keys ``label``, ``tokens``, ``scores`` ({method: [seq_len]}), ``curves``
    ({method or "random": {"deletion": [...]}}), ``areas`` ({method: deletion area}). Returns the explorer box."""
    import ipywidgets as widgets
    from IPython.display import HTML, display

    from ..plots.attribution import curve_svg, token_colours_html

    if not isinstance(results, list) or not results:
        raise CourseValueError("results must be a non-empty list of per-pair dicts (see the lesson's precompute cell)")
    methods = list(results[0]["scores"])
    pair = widgets.Dropdown(options=[(r["label"], i) for i, r in enumerate(results)], description="pair")
    method = widgets.Dropdown(options=methods, value=methods[-1], description="method")

    def render(pair, method):
        r = results[pair]
        scores = r["scores"][method]
        curve = r["curves"][method]["deletion"]
        random = r["curves"]["random"]["deletion"]
        display(HTML(token_colours_html(r["tokens"], scores, caption=f"{method}: score per input token")
                     + "<div style='display: flex; gap: 12px'>"
                     + curve_svg(curve, label=f"deletion, {method}: area {r['areas'][method]:.3f}")
                     + curve_svg(random, label=f"deletion, random orders (mean): area {r['areas']['random']:.3f}")
                     + "</div>"))

    return explorer("Which tokens made this vector?", {"pair": pair, "method": method}, render)
