"""Plots for lessons 01–02: how many tokens a word costs, and how the position embeddings relate."""

from __future__ import annotations

from ..errors import CourseTypeError, CourseValueError
from . import colours, draw_matrix


def _need_columns(table, columns, maker):
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or not set(columns) <= set(table.columns):
        raise CourseTypeError(f"expected the DataFrame returned by {maker}(...), with columns {list(columns)}")
    if table.empty:
        raise CourseValueError(f"the table from {maker}(...) is empty: give it at least one text")


def pieces_share(pieces, *, cap: int = 5):
    """Share of words cut into 1, 2, …, ``cap``+ tokens, from :func:`utils.tokenization.word_pieces`.

    Returns a DataFrame with ``tokens per word`` (labels "1" … "5+") and ``share`` (sums to 1).
    """
    import pandas as pd

    _need_columns(pieces, ("n_tokens",), "word_pieces")
    labels = [str(n) for n in range(1, cap)] + [f"{cap}+"]
    binned = pieces["n_tokens"].clip(upper=cap).map(lambda n: labels[n - 1])
    share = binned.value_counts(normalize=True).reindex(labels, fill_value=0.0)
    return pd.DataFrame({"tokens per word": labels, "share": share.to_numpy()})


def plot_token_costs(pieces, lengths, *, title: str = "What a word costs in tokens"):
    """Two panels: the share of words per number of tokens (left) and, per text, tokens vs words (right) with
    the line *one token per word + [CLS] + [SEP]* that a word-level tokenizer would follow, and the corpus
    average.

    ``pieces`` from ``word_pieces``, ``lengths`` from ``sentence_lengths``. Returns the two ``Axes``.
    """
    import matplotlib.pyplot as plt

    _need_columns(lengths, ("space_words", "tokens"), "sentence_lengths")
    shares = pieces_share(pieces)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    palette = colours()
    left.bar(shares["tokens per word"], shares["share"], width=0.8, color=palette[0])
    left.grid(axis="x", visible=False)  # categories, not a scale
    left.bar_label(left.containers[0], fmt="{:.1%}", fontsize=9)
    left.set_ylim(0, 1.05)
    left.set_title(f"Tokens per word ({len(pieces)} words and punctuation marks)", fontsize=11)
    left.set_xlabel("tokens the word is cut into")
    left.set_ylabel("share of words")
    right.scatter(lengths["space_words"], lengths["tokens"], color=palette[1], edgecolors="w", linewidths=0.75)
    top = int(lengths["space_words"].max()) + 2
    ratio = (lengths["tokens"].sum() - 2 * len(lengths)) / lengths["space_words"].sum()
    right.plot([0, top], [2, top + 2], linestyle="--", color="grey", label="1 token per word + 2")
    right.plot([0, top], [2, ratio * top + 2], linestyle=":", color="black",
               label=f"corpus average: {ratio:.2f} tokens per word + 2")
    right.set_title(f"Tokens per text ({len(lengths)} texts)")
    right.set_xlabel("words in the text (split on spaces)")
    right.set_ylabel("len(input_ids)")
    right.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return left, right


def plot_position_similarity(matrix, by_distance, *, title: str = "Position embeddings [512, hidden]"):
    """Left: cosine similarity between every pair of position embeddings ``[512, 512]``. Right: its mean for
    positions ``d`` apart. Inputs from :func:`utils.special_tokens.position_similarity`. Returns the two Axes."""
    import matplotlib.pyplot as plt

    size = matrix.shape[0]
    if tuple(matrix.shape) != (size, size) or len(by_distance) != size:
        raise CourseValueError(f"expected a square matrix and one value per distance, got {tuple(matrix.shape)} "
                               f"and {len(by_distance)}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    ticks = list(range(0, size, 64))
    draw_matrix(left, matrix.numpy(), vmin=-1, vmax=1, cbar_label="cosine similarity", rasterized=True)
    left.set_xticks([t + 0.5 for t in ticks], [str(t) for t in ticks])
    left.set_yticks([t + 0.5 for t in ticks], [str(t) for t in ticks])
    left.set_title(f"cos(position i, position j)  [{size}, {size}]")
    left.set_xlabel("position j")
    left.set_ylabel("position i")
    right.plot(range(size), by_distance.numpy())
    right.axhline(0, color="grey", linewidth=1)
    right.set_title("mean similarity of positions d apart")
    right.set_xlabel("distance d = |i - j| (positions)")
    right.set_ylabel("mean cosine similarity")
    fig.suptitle(title)
    fig.tight_layout()
    return left, right


__all__ = ["pieces_share", "plot_position_similarity", "plot_token_costs"]
