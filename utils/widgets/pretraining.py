"""Lesson 06's fill-mask explorer: type a sentence with [MASK], see the tiny BERT's top-5 guesses."""

from __future__ import annotations

from html import escape

from ..errors import CourseError, CourseValueError
from ..pretraining import fill_mask, out_of_vocabulary

DEFAULT_TEXT = "the old horses [MASK] near the river."


def predictions_html(text: str, model, tokenizer, top_k: int = 5) -> str:
    """An HTML table per ``[MASK]`` of ``text``: rank, token, probability and a bar; notes on unknown words."""
    predictions = fill_mask(text, model, tokenizer, top_k=top_k)
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])
    parts = [f"<div><code>{escape(' '.join(tokens))}</code></div>"]
    for number, prediction in enumerate(predictions, start=1):
        rows = "".join(
            f"<tr><td>{rank}</td><td><code>{escape(token)}</code></td><td>{p:.2f}</td>"
            f"<td><div style='background:#0173b2;height:10px;width:{max(1, round(160 * p))}px'></div></td></tr>"
            for rank, (token, p) in enumerate(zip(prediction.tokens, prediction.probabilities), start=1))
        parts.append(f"<p><b>[MASK] {number}</b> (position {prediction.position})</p>"
                     f"<table><tr><th>#</th><th>token</th><th>probability</th><th></th></tr>{rows}</table>")
    for word, pieces in out_of_vocabulary(text, tokenizer).items():
        parts.append(f"<p>⚠️ <i>{escape(word)}</i> is not one token of the {len(tokenizer)}-token vocabulary: it "
                     f"became <code>{escape(' '.join(pieces))}</code>, which the model rarely or never saw.</p>")
    return "".join(parts)


def explorer_html(text: str, model, tokenizer) -> str:
    """What the explorer shows: :func:`predictions_html`, or a note on how to fix the sentence (no [MASK], too long)."""
    try:
        return predictions_html(text, model, tokenizer)
    except CourseError as problem:  # a learner's typing slip: say how to fix it, not a red error
        return f"<p>⚠️ {escape(str(problem))}</p>"


def fill_mask_explorer(models: dict, tokenizer, text: str = DEFAULT_TEXT):
    """Explorer: a text box (press Enter) and a choice of model, e.g. ``{"trained": m, "untrained": m0}``.

    Each update is one forward pass of a tiny model on one sentence (a few milliseconds).
    """
    import ipywidgets as widgets
    from IPython.display import HTML, display

    from . import explorer

    if not isinstance(models, dict) or not models:
        raise CourseValueError("models must be a dict name -> model, e.g. {'trained': tiny, 'untrained': fresh}")
    controls = {
        "text": widgets.Text(value=text, description="sentence", continuous_update=False,
                             layout=widgets.Layout(width="460px")),
        "model": widgets.ToggleButtons(options=list(models), value=next(iter(models)), description="model"),
    }

    def render(text, model):
        display(HTML(explorer_html(text, models[model], tokenizer)))

    return explorer("Fill in the blank: type a sentence with [MASK] and press Enter", controls, render)
