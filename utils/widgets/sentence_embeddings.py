"""Lesson 07's explorer: type a query, see the top hits with their cosines and the token-pair heatmap of the top hit
(the cells add up to its cosine). The collection is indexed once; each update runs one forward pass for the query."""

from __future__ import annotations

import html

from ..errors import CourseTypeError
from ..plots.sentence_embeddings import pair_grid_html
from ..sentence_embeddings import SearchIndex, pair_contributions


def search_explorer(index: SearchIndex, model, *, topics=None, query: str = "how do I keep my laptop battery healthy",
                    k: int = 5):
    """Explorer over a :class:`~utils.sentence_embeddings.SearchIndex`: a query box (updates on Enter) and a
    number-of-hits slider. ``topics`` (optional) labels each document."""
    import ipywidgets as widgets
    from IPython.display import HTML, display

    from . import explorer

    if not isinstance(index, SearchIndex):
        raise CourseTypeError("index must be a SearchIndex(encoding, last_hidden_state, tokenizer, texts) built once")
    labels = list(topics) if topics is not None else [""] * len(index.texts)

    def render(query: str, k: int):
        scores, rows, query_tokens, states = index.query(query, model, k=k)
        lines = "".join(
            f"<tr><td>{rank}</td><td>{float(s):.3f}</td><td>{html.escape(labels[r])}</td>"
            f"<td>{html.escape(index.texts[r])}</td></tr>"
            for rank, (s, r) in enumerate(zip(scores.tolist(), rows.tolist()), start=1))
        top = int(rows[0])
        pairs = pair_contributions(states, index.states[top])
        caption = (f"Top hit: each cell is h_i · h_j / (n_u n_v ‖ū‖ ‖v̄‖); the {pairs.numel()} cells add up to "
                   f"its cosine {float(pairs.sum()):.3f}. Red pulls the texts together, blue pushes them apart.")
        display(HTML("<table style='font-size:12px'><tr><th>rank</th><th>cosine</th><th>topic</th><th>document"
                     f"</th></tr>{lines}</table>" + pair_grid_html(pairs, query_tokens, index.tokens[top], caption)))

    controls = {
        "query": widgets.Text(value=query, description="query", continuous_update=False,
                              layout=widgets.Layout(width="420px")),
        "k": widgets.IntSlider(value=k, min=1, max=10, description="hits"),
    }
    return explorer("Semantic search: the top hits and why the first one is close", controls, render)
