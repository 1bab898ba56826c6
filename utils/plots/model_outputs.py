"""Plots for lesson 04 (the model's outputs). Each returns what it drew so the lesson can assert on it."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import CourseValueError
from . import lines_by_layer, new_axes


def _array(values):
    import numpy as np

    return np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=float)


def pairs_scatter(cosines, rhos: dict, *, methods: Sequence[str] | None = None):
    """One panel per sentence-vector method: gold score (x) against the pair's cosine (y), Spearman in the title.

    ``cosines`` is the DataFrame from :func:`utils.model_outputs.rank_pairs` (a ``gold`` column + one per method).
    Returns the array of Axes.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    methods = list(methods or rhos)
    missing = [m for m in methods if m not in cosines.columns or m not in rhos]
    if missing or "gold" not in cosines.columns:
        raise CourseValueError(f"no cosines / Spearman for {missing or ['gold']}: pass rank_pairs(...)'s results")
    # One shared y axis: the absolute cosines differ between methods as much as their rankings do.
    fig, axes = plt.subplots(1, len(methods), figsize=(3.3 * len(methods), 3.4), sharex=True, sharey=True,
                             squeeze=False)
    low = min(0.0, float(cosines[methods].min().min()) - 0.05)
    for ax, method in zip(axes[0], methods):
        sns.stripplot(x=cosines["gold"].astype(int), y=cosines[method], ax=ax, jitter=0.15, size=5,
                      native_scale=True)
        ax.set_title(f"{method}\nSpearman ρ = {rhos[method]:.2f}", fontsize=10)
        ax.set_xlabel("gold similarity (0–5)")
        ax.set_ylabel("cosine of the two sentence vectors")
        ax.set_ylim(low, 1.05)
    fig.suptitle(f"Which sentence vector ranks the {len(cosines)} pairs like a person does?", fontsize=11)
    fig.tight_layout()
    return axes[0]


def trajectory_plot(trajectory, *, token: str):
    """Two panels over layers 0..L: the token vector's norm, and its cosine to the previous layer's vector."""
    import matplotlib.pyplot as plt

    if not {"layer", "norm", "cos_to_previous"} <= set(trajectory.columns):
        raise CourseValueError("pass the DataFrame from layer_trajectory(...)")
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    lines_by_layer({token: trajectory["norm"].tolist()}, ax=left, ylabel="‖h‖ (L2 norm)",
                   title=f"norm of {token!r}, hidden_states[i][b, t]  [hidden]")
    lines_by_layer({token: trajectory["cos_to_previous"].tolist()[1:]}, ax=right, first_layer=1,
                   ylabel="cosine(layer i, layer i − 1)", title=f"how much layer i changes {token!r}")
    for ax in (left, right):
        ax.set_xlabel("layer i (0 = embedding output)")
    fig.tight_layout()
    return left, right


def sense_gap_plot(gaps: dict):
    """One line per ambiguous word: same-sense minus other-sense cosine, at every depth."""
    ax = lines_by_layer(gaps, title="Context separates the senses (hidden_states[i], one vector per word)",
                        ylabel="mean cos same sense − other sense", xlabel="layer i (0 = embedding output)")
    ax.axhline(0, color="grey", linewidth=1)
    return ax


def accuracy_plot(results: dict, *, chance: float):
    """Held-out accuracy of each fold (dots) and their mean (bar) per feature type."""
    import pandas as pd
    import seaborn as sns

    if not results:
        raise CourseValueError("results needs at least one {'name': fold accuracies}")
    long = pd.DataFrame([(name, float(a)) for name, accs in results.items() for a in _array(accs)],
                        columns=["features", "accuracy"])
    ax = new_axes(figsize=(5.5, 3.4))
    sns.barplot(data=long, x="features", y="accuracy", errorbar=None, alpha=0.5, ax=ax)
    sns.stripplot(data=long, x="features", y="accuracy", color="black", size=3, jitter=0.2, ax=ax)
    ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label=f"chance = {chance:.2f}")
    ax.set_ylim(0, 1)
    ax.set_ylabel("held-out accuracy per fold")
    ax.set_xlabel("frozen sentence vector [batch, hidden] → logistic regression")
    ax.set_title(f"Review sentiment, {len(long) // len(results)} cross-validation folds each")
    ax.legend(loc="lower right")
    return ax


def token_strip(vectors, layer: int, *, title: str, ax=None, limit: float | None = None):
    """A token's vector at every depth as an image ``[layers + 1, hidden]``; the chosen layer is outlined."""
    import matplotlib.patches as patches

    matrix = _array(vectors)
    if matrix.ndim != 2 or not 0 <= layer < matrix.shape[0]:
        raise CourseValueError(f"vectors must be [layers + 1, hidden] and 0 ≤ layer < {len(matrix)}")
    limit = float(abs(matrix).max()) if limit is None else limit
    ax = new_axes(ax, figsize=(8, 2.2))
    image = ax.imshow(matrix, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.add_patch(patches.Rectangle((-0.5, layer - 0.5), matrix.shape[1], 1, fill=False, edgecolor="black",
                                   linewidth=2))
    ax.set_yticks(range(matrix.shape[0]))
    ax.set_ylabel("layer (0 = embeddings)")
    ax.set_xlabel(f"dimension (0..{matrix.shape[1] - 1}) of hidden_states[layer][b, t]")
    ax.set_title(title, fontsize=10)
    ax.figure.colorbar(image, ax=ax, pad=0.01, fraction=0.03)
    return ax


def strip_png(vectors, layer: int, *, limit: float, row_px: int = 12, col_px: int = 2) -> bytes:
    """The same picture as :func:`token_strip` as PNG bytes, without a figure: fast enough for an explorer.

    ``vectors [layers + 1, hidden]``; blue < 0 < red on ``[-limit, limit]``; the chosen layer's row is framed.
    """
    import io

    import matplotlib
    import matplotlib.image
    import numpy as np

    matrix = _array(vectors)
    if matrix.ndim != 2 or not 0 <= layer < matrix.shape[0]:
        raise CourseValueError(f"vectors must be [layers + 1, hidden] and 0 ≤ layer < {len(matrix)}")
    if not limit > 0:
        raise CourseValueError(f"limit must be > 0, got {limit}")
    rgb = matplotlib.colormaps["RdBu_r"](np.clip((matrix / limit + 1) / 2, 0, 1))[..., :3]
    image = np.repeat(np.repeat(rgb, row_px, axis=0), col_px, axis=1)
    top, bottom = layer * row_px, (layer + 1) * row_px - 1
    image[[top, top + 1, bottom - 1, bottom], :] = 0.0
    image[top:bottom + 1, [0, 1, -2, -1]] = 0.0
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, image, format="png")
    return buffer.getvalue()
