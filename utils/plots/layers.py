"""Plots for lesson 05 (layers). Each returns the matplotlib ``Axes`` (or an array of them) it drew on."""

from __future__ import annotations

from ..errors import CourseValueError
from . import MARKERS, colours, lines_by_layer, new_axes


def _require(table, columns, what: str):
    missing = [c for c in columns if c not in getattr(table, "columns", [])]
    if missing:
        raise CourseValueError(f"{what} needs a DataFrame with columns {list(columns)}; missing {missing}")


def plot_parameters(table, ax=None):
    """Stacked bars: parameters (millions) in embeddings, encoder layers and pooler, one bar per model."""
    _require(table, ("embeddings", "all layers", "pooler"), "plot_parameters")
    ax = new_axes(ax, figsize=(6.4, 2.6))
    left = [0.0] * len(table)
    for k, part in enumerate(("embeddings", "all layers", "pooler")):
        values = (table[part] / 1e6).tolist()
        ax.barh(list(table.index), values, left=left, color=colours()[k], label=part)
        left = [a + b for a, b in zip(left, values)]
    ax.invert_yaxis()
    ax.set_title("Where the parameters are (counted on meta-device models)")
    ax.set_xlabel("parameters (millions)")
    ax.set_ylabel("model")
    ax.legend(loc="lower right")
    return ax


def plot_forward_time(timing, ax=None):
    """Measured forward time vs sequence length, with the FLOP formula scaled to the longest measurement."""
    _require(timing, ("seq_len", "seconds", "GFLOP"), "plot_forward_time")
    ax = new_axes(ax)
    ax.plot(timing["seq_len"], timing["seconds"] * 1000, label="measured", **MARKERS)
    scale = timing["seconds"].iloc[-1] / timing["GFLOP"].iloc[-1]
    ax.plot(timing["seq_len"], timing["GFLOP"] * scale * 1000, linestyle="--",
            label="FLOP formula, scaled to the last point")
    ax.legend()
    ax.set_title("One forward pass of our model on this CPU (batch 1)")
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel("milliseconds")
    return ax


def plot_attention_by_layer(by_layer, uniform_entropy: float | None = None, axes=None):
    """Two panels: share of attention on token kinds per layer, and attention entropy per layer."""
    import matplotlib.pyplot as plt

    kinds = ("[CLS]", "[SEP]", "punctuation", "previous", "next")
    _require(by_layer, kinds + ("entropy (bits)",), "plot_attention_by_layer")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    first = int(by_layer.index[0])
    lines_by_layer({k: by_layer[k].tolist() for k in kinds}, first_layer=first, ax=axes[0],
                   title="Where attention goes (mean over 12 heads)", ylabel="share of a token's attention")
    lines_by_layer({"entropy": by_layer["entropy (bits)"].tolist()}, first_layer=first, ax=axes[1],
                   title="How spread out attention is", ylabel="entropy (bits)")
    if uniform_entropy is not None:
        axes[1].axhline(uniform_entropy, color="grey", linestyle=":", label="uniform over the sentence")
        axes[1].legend()
    axes[0].legend(fontsize="small")
    plt.tight_layout()
    return axes


def plot_contextuality(table, ax=None):
    """Self-similarity, anisotropy and intra-sentence similarity per layer (Ethayarajh's measures)."""
    columns = ("self-similarity", "anisotropy", "adjusted self-similarity", "intra-sentence")
    _require(table, columns, "plot_contextuality")
    ax = lines_by_layer({c: table[c].tolist() for c in columns}, first_layer=int(table.index[0]), ax=ax,
                        title="How contextual are the word vectors? (0 = embedding output)",
                        ylabel="mean cosine similarity", xlabel="layer (hidden_states index)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def plot_sense_separation(table, axes=None):
    """Two panels: cosine within / across senses, and nearest-neighbour sense accuracy, per layer."""
    import matplotlib.pyplot as plt

    _require(table, ("same sense", "different sense", "nearest-neighbour accuracy"), "plot_sense_separation")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    first = int(table.index[0])
    lines_by_layer({"same sense": table["same sense"].tolist(), "different sense": table["different sense"].tolist()},
                   first_layer=first, ax=axes[0], title="One word, two senses: mean cosine",
                   ylabel="mean cosine similarity")
    lines_by_layer({"1-nearest neighbour": table["nearest-neighbour accuracy"].tolist()}, first_layer=first,
                   ax=axes[1], title="Does the nearest occurrence share the sense?", ylabel="accuracy")
    axes[1].axhline(0.5, color="grey", linestyle=":", label="coin flip")
    axes[1].legend()
    plt.tight_layout()
    return axes


def plot_probe(table, ax=None):
    """Probe accuracy per layer from :func:`~utils.layers.compare_probes`: one colour per position, dashed
    for a subset (``"name · subset"`` columns), and the 0.5 chance line."""
    if not hasattr(table, "columns") or len(table.columns) == 0:
        raise CourseValueError("plot_probe needs the DataFrame from compare_probes(...)")
    ax = new_axes(ax)
    positions = list(dict.fromkeys(c.split(" · ")[0] for c in table.columns))
    for column in table.columns:
        colour = colours()[positions.index(column.split(" · ")[0]) % len(colours())]
        ax.plot(list(table.index), table[column].tolist(), marker="o", color=colour,
                linestyle="--" if " · " in column else "-", label=column)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
    ax.axhline(0.5, color="grey", linestyle=":", label="chance")
    ax.set_ylim(0.4, 1.02)
    ax.set_title("Linear probe: is the subject singular or plural?")
    ax.set_xlabel("layer (hidden_states index)")
    ax.set_ylabel("held-out accuracy (4 grouped folds)")
    ax.legend(fontsize="small")
    return ax
