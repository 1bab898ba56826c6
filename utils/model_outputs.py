"""What ``BertModel`` returns, and how to turn it into token vectors and sentence vectors (lesson 04).

Names follow Hugging Face: ``last_hidden_state [batch, seq_len, hidden]``, ``pooler_output [batch, hidden]``,
``hidden_states`` (layers + 1 tensors ``[batch, seq_len, hidden]``: index 0 is the embedding output, index i the
output of layer i), ``attentions`` (layers tensors ``[batch, heads, seq_len, seq_len]``), ``attention_mask
[batch, seq_len]`` (1 = real token, 0 = padding).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence

from .data import read_tsv
from .errors import CourseTypeError, CourseValueError
from .inputs import check_mask
from .model import mean_pooling

# Two sentences of different length (so the shorter one is padded) with "bank" at the same position in both.
DEMO_TEXTS = ("The bank by the river flooded.", "The bank raised its interest rates again this spring.")

SHAPE_NAMES = {
    "last_hidden_state": "[batch, seq_len, hidden]",
    "pooler_output": "[batch, hidden]",
    "hidden_states": "(layers + 1) × [batch, seq_len, hidden]",
    "attentions": "layers × [batch, heads, seq_len, seq_len]",
}
HOW_TO_GET = {
    "last_hidden_state": "always",
    "pooler_output": "always (BertModel with its pooler)",
    "hidden_states": "output_hidden_states=True",
    "attentions": "output_attentions=True (eager attention)",
}
SENTENCE_METHODS = ("[CLS] vector", "pooler_output", "mean (mask-aware)", "mean incl. padding")


# --- checks at the boundary ---------------------------------------------------------------------------------------
def _tensor(value, name: str, ndim: int | None = None):
    import torch

    if value is None:
        raise CourseTypeError(f"{name} is None: pass the tensor from the model's output, e.g. outputs.{name}")
    if not isinstance(value, torch.Tensor):
        raise CourseTypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}; "
                              f"use torch.as_tensor(...) or take it from the model's output")
    if ndim is not None and value.ndim != ndim:
        raise CourseValueError(f"{name} must have {ndim} dimensions, got shape {list(value.shape)}")
    return value


def _field(outputs, name: str):
    if not hasattr(outputs, name):
        raise CourseTypeError(f"expected the model's output object (it has .{name}), got {type(outputs).__name__}; "
                              f"pass what model(**encoding) or utils.forward(texts) returns")
    value = getattr(outputs, name)
    if value is None:
        flag = HOW_TO_GET.get(name, "")
        raise CourseValueError(f"outputs.{name} is None: run the model with {flag} (utils.forward does both)")
    return value


def _int(value, name: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise CourseTypeError(f"{name} must be an int, got {type(value).__name__} ({value!r:.40})")
    return int(value.__index__())


def check_layer(layer, num_layers: int) -> int:
    """Return ``layer`` as an index into ``hidden_states`` (0 … num_layers), or raise naming the valid range."""
    layer = _int(layer, "layer")
    if not 0 <= layer <= num_layers:
        raise CourseValueError(
            f"layer {layer} is out of range: valid layers are 0..{num_layers} "
            f"(0 = embedding output, i = output of layer i, {num_layers} = last layer)"
        )
    return layer


# --- the output object --------------------------------------------------------------------------------------------
def output_table(outputs):
    """One row per output field: whether it is there, its shape, the shape's names and how to ask for it.

    Returns a ``pandas.DataFrame`` indexed by field, with columns present, shape, names, how to get it.
    """
    import pandas as pd

    if not hasattr(outputs, "last_hidden_state"):
        raise CourseTypeError(f"expected the model's output object, got {type(outputs).__name__}")
    rows = []
    for name, names in SHAPE_NAMES.items():
        value = getattr(outputs, name, None)
        if value is None:
            shape = "None"
        elif isinstance(value, tuple):
            shape = f"tuple of {len(value)} × {list(value[0].shape)}" if value else "()"
        else:
            shape = str(list(value.shape))
        rows.append({"field": name, "present": value is not None, "shape": shape, "names": names,
                     "how to get it": HOW_TO_GET[name]})
    return pd.DataFrame(rows).set_index("field")


# --- hidden states ------------------------------------------------------------------------------------------------
def layer_output(outputs, layer):
    """``hidden_states[layer]``: ``[batch, seq_len, hidden]``; 0 = embedding output, i = output of layer i."""
    hidden_states = _field(outputs, "hidden_states")
    return hidden_states[check_layer(layer, len(hidden_states) - 1)]


def stack_hidden_states(outputs):
    """All hidden states as one tensor ``[layers + 1, batch, seq_len, hidden]``."""
    import torch

    return torch.stack(tuple(_field(outputs, "hidden_states")))


def token_vector_by_layer(outputs, sentence, token, attention_mask=None):
    """One token's vector at every depth: ``[layers + 1, hidden]`` (row 0 = embedding output).

    ``sentence`` indexes the batch, ``token`` the position (0 = [CLS]); with ``attention_mask [batch, seq_len]`` (the
    encoding's, e.g. ``encoding["attention_mask"]``) padding positions are refused.
    """
    hidden_states = _field(outputs, "hidden_states")
    batch, seq_len = hidden_states[0].shape[:2]
    sentence = _int(sentence, "sentence")
    if not 0 <= sentence < batch:
        raise CourseValueError(f"sentence {sentence} is out of range: the batch has {batch} (0..{batch - 1})")
    token = _int(token, "token")
    length = seq_len if attention_mask is None else int(check_mask(attention_mask, hidden_states[0])[sentence].sum())
    if not 0 <= token < length:
        raise CourseValueError(
            f"token {token} is out of range: sentence {sentence} has {length} real tokens (0..{length - 1}, "
            f"0 = [CLS], {length - 1} = [SEP]); positions from {length} on are padding"
        )
    return stack_hidden_states(outputs)[:, sentence, token]


def layer_trajectory(vectors):
    """How one token's vector ``[layers + 1, hidden]`` changes with depth.

    Returns a DataFrame with columns layer, norm, cos_to_previous (NaN for layer 0).
    """
    import pandas as pd
    import torch.nn.functional as F

    vectors = _tensor(vectors, "vectors", 2)
    if vectors.shape[0] < 2:
        raise CourseValueError("vectors needs at least two layers, e.g. token_vector_by_layer(outputs, 0, 1)")
    cos = F.cosine_similarity(vectors[1:], vectors[:-1], dim=-1).tolist()
    return pd.DataFrame({"layer": range(vectors.shape[0]), "norm": vectors.norm(dim=-1).tolist(),
                         "cos_to_previous": [float("nan"), *cos]})


# --- sentence vectors ---------------------------------------------------------------------------------------------
def cls_vectors(last_hidden_state):
    """The [CLS] position of every sentence: ``[batch, seq_len, hidden] -> [batch, hidden]``."""
    return _tensor(last_hidden_state, "last_hidden_state", 3)[:, 0]


def _pooler(model):
    pooler = getattr(model, "pooler", model)
    if pooler is None or not hasattr(pooler, "dense"):
        raise CourseValueError("this model has no pooler (BertModel(add_pooling_layer=False)); "
                               "use the [CLS] vector or mean pooling instead")
    return pooler


def pooler_gradient_by_position(last_hidden_state, model):
    """Size of d(sum of pooler_output) / d(last_hidden_state) at each position: ``[batch, seq_len]``.

    Zero wherever the pooler does not read; only position 0 ([CLS]) is non-zero.
    """
    import torch

    h = _tensor(last_hidden_state, "last_hidden_state", 3).detach().clone().requires_grad_(True)
    with torch.enable_grad():
        _pooler(model)(h).sum().backward()
    return h.grad.norm(dim=-1)


def mean_pooling_with_padding(last_hidden_state):
    """THE CLASSIC BUG, kept for contrast: ``last_hidden_state.mean(dim=1)`` also averages the padding rows.

    A sentence's vector then depends on how long the other sentences in its batch are.
    """
    return _tensor(last_hidden_state, "last_hidden_state", 3).mean(dim=1)


def sentence_vectors(outputs, attention_mask, model) -> dict:
    """Four sentence vectors ``[batch, hidden]`` per sentence, keyed by :data:`SENTENCE_METHODS`.

    ``attention_mask [batch, seq_len]``: the encoding's mask, e.g. ``encoding["attention_mask"]``; ``model``: the
    ``BertModel`` whose pooler makes ``pooler_output`` (``tanh(h_[CLS] Wᵀ + b)``, as lesson 04 writes it out).
    """
    import torch

    h = _field(outputs, "last_hidden_state")
    with torch.no_grad():
        pooled = _pooler(model)(h)
    vectors = (cls_vectors(h), pooled, mean_pooling(h, attention_mask), mean_pooling_with_padding(h))
    return dict(zip(SENTENCE_METHODS, vectors))


def checkpoint_pooling() -> dict:
    """The pooling the packaged checkpoint was trained with: sentence-transformers' ``1_Pooling/config.json``."""
    from .model import default_checkpoint_dir

    path = default_checkpoint_dir() / "1_Pooling" / "config.json"
    if not path.is_file():
        raise CourseValueError("the checkpoint folder has no 1_Pooling/config.json (not a sentence-transformers "
                               "model?)")
    return json.loads(path.read_text(encoding="utf-8"))


def weight_report(model, *, seed: int = 0):
    """Is the pooler trained? Compare ``pooler.dense`` with trained layers of the same shape and with noise.

    Rows: the pooler's dense layer, every layer's ``attention.output.dense`` (trained, also hidden × hidden) and a
    random Gaussian matrix with the pooler's standard deviation. Columns: max |bias|, weight std, excess kurtosis of
    the weights (0 for Gaussian noise), largest singular value divided by the edge that noise of the same std reaches,
    std · (√rows + √cols) (about 1 for noise, larger for a matrix with learned structure).
    """
    import numpy as np  # NumPy's SVD: torch's first linalg call costs over a second of start-up
    import pandas as pd
    import torch
    from threadpoolctl import threadpool_limits

    pooler = _pooler(model).dense
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if not layers:
        raise CourseValueError("weight_report needs a BertModel (model.encoder.layer)")
    generator = torch.Generator().manual_seed(seed)
    weight = pooler.weight.detach()
    noise = torch.randn(weight.shape, generator=generator) * weight.std()

    def row(name, w, b):
        z = (w - w.mean()) / w.std()
        edge = float(w.std()) * (w.shape[0] ** 0.5 + w.shape[1] ** 0.5)
        return {"matrix": name, "max |bias|": float(b.abs().max()) if b is not None else float("nan"),
                "weight std": float(w.std()), "excess kurtosis": float((z**4).mean() - 3),
                "top sv / noise edge": float(np.linalg.svd(w.numpy(), compute_uv=False)[0]) / edge}

    # One thread: for 384 × 384 matrices, BLAS threads only fight torch's threads (10× slower on 2 busy cores).
    with torch.no_grad(), threadpool_limits(1):
        rows = [row("pooler.dense", weight, pooler.bias.detach())]
        rows += [row(f"layer {i} attention.output.dense", layer.attention.output.dense.weight.detach(),
                     layer.attention.output.dense.bias.detach()) for i, layer in enumerate(layers, start=1)]
        rows.append(row("random Gaussian, pooler's std", noise, None))
    return pd.DataFrame(rows).set_index("matrix")


# --- similarity ---------------------------------------------------------------------------------------------------
def cosine_matrix(a, b=None):
    """Cosine similarity of every row of ``a [n, hidden]`` with every row of ``b [m, hidden]``: ``[n, m]``."""
    import torch.nn.functional as F

    a = F.normalize(_tensor(a, "a", 2), dim=-1)
    b = a if b is None else F.normalize(_tensor(b, "b", 2), dim=-1)
    if a.shape[1] != b.shape[1]:
        raise CourseValueError(f"a and b have different widths ({a.shape[1]} and {b.shape[1]})")
    return a @ b.T


def pair_cosines(a, b):
    """Row-wise cosine similarity of two ``[n, hidden]`` tensors: ``[n]``."""
    import torch.nn.functional as F

    a, b = _tensor(a, "a", 2), _tensor(b, "b", 2)
    if a.shape != b.shape:
        raise CourseValueError(f"a and b must have the same shape, got {list(a.shape)} and {list(b.shape)}")
    return F.cosine_similarity(a, b, dim=-1)


def spearman(x, y) -> float:
    """Spearman rank correlation of two equal-length sequences (ties get average ranks)."""
    import numpy as np
    from scipy.stats import spearmanr

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 3:
        raise CourseValueError(f"spearman needs two 1-D sequences of the same length ≥ 3, got {x.shape}, {y.shape}")
    return float(spearmanr(x, y).statistic)


def find_token(tokens: Sequence[str], word: str) -> int:
    """Position of ``word`` in a token list; it must be one WordPiece token and occur exactly once."""
    if not isinstance(word, str) or not word:
        raise CourseTypeError(f"word must be a non-empty string, got {word!r}")
    hits = [i for i, t in enumerate(tokens) if t == word.lower()]
    if len(hits) != 1:
        found = "does not occur" if not hits else f"occurs {len(hits)} times"
        raise CourseValueError(f"{word!r} {found} as a single token in {list(tokens)}; pick a sentence where it is "
                               f"one whole token, exactly once")
    return hits[0]


def word_positions(encoding, tokenizer, words: Sequence[str]) -> list[int]:
    """For sentence i of the batch, the position of ``words[i]``."""
    ids = encoding["input_ids"]
    if len(words) != len(ids):
        raise CourseValueError(f"{len(words)} words for {len(ids)} sentences: give one word per sentence")
    return [find_token(tokenizer.convert_ids_to_tokens(row), w) for row, w in zip(ids, words)]


def word_vectors(outputs, positions: Sequence[int], layer=None):
    """``[batch, hidden]``: sentence i's vector at ``positions[i]``, from the last layer or ``hidden_states[layer]``."""
    import torch

    h = _field(outputs, "last_hidden_state") if layer is None else layer_output(outputs, layer)
    if len(positions) != h.shape[0]:
        raise CourseValueError(f"{len(positions)} positions for a batch of {h.shape[0]}")
    return h[torch.arange(h.shape[0]), torch.as_tensor(list(positions))]


def sense_table(similarity, words: Sequence[str], senses: Sequence[str]):
    """Per word: mean cosine between occurrences of the SAME sense, of DIFFERENT senses, and the gap.

    ``similarity`` is ``[n, n]`` over n occurrences; returns a DataFrame indexed by word.
    """
    import numpy as np
    import pandas as pd

    sim = np.asarray(similarity)
    if sim.shape != (len(words), len(words)) or len(senses) != len(words):
        raise CourseValueError(f"similarity {sim.shape} must be [n, n] for n = {len(words)} words and senses")
    rows = []
    for word in dict.fromkeys(words):
        idx = [i for i, w in enumerate(words) if w == word]
        same = [sim[i, j] for i in idx for j in idx if i < j and senses[i] == senses[j]]
        other = [sim[i, j] for i in idx for j in idx if i < j and senses[i] != senses[j]]
        if not same or not other:
            raise CourseValueError(f"{word!r} needs two senses with two sentences each")
        rows.append({"word": word, "same sense": float(np.mean(same)), "other sense": float(np.mean(other))})
    table = pd.DataFrame(rows).set_index("word")
    table["gap"] = table["same sense"] - table["other sense"]
    return table


def sense_gap_by_layer(outputs, positions, words, senses):
    """``{word: [gap at layer 0, …, gap at layer L]}`` with gap = same-sense minus other-sense mean cosine."""
    layers = len(_field(outputs, "hidden_states"))
    gaps: dict[str, list[float]] = {}
    for layer in range(layers):
        table = sense_table(cosine_matrix(word_vectors(outputs, positions, layer)), words, senses)
        for word, gap in table["gap"].items():
            gaps.setdefault(word, []).append(float(gap))
    return gaps


def rank_pairs(vectors: dict, first: Sequence[int], second: Sequence[int], gold: Sequence[float]):
    """Score sentence pairs: per method, cosine of each pair and its Spearman correlation with ``gold``.

    ``vectors`` maps method -> ``[n_sentences, hidden]``; ``first``/``second`` index the two sides of each pair.
    Returns (DataFrame of cosines per pair, dict method -> Spearman).
    """
    import pandas as pd

    if not (len(first) == len(second) == len(gold)):
        raise CourseValueError("first, second and gold must have one entry per pair")
    cosines = pd.DataFrame({name: pair_cosines(v[list(first)], v[list(second)]).tolist()
                            for name, v in vectors.items()})
    cosines.insert(0, "gold", list(map(float, gold)))
    rhos = {name: spearman(cosines[name], cosines["gold"]) for name in vectors}
    return cosines, rhos


def bootstrap_win_rate(scores_a, scores_b, gold, *, resamples: int = 1000, seed: int = 0) -> float:
    """Fraction of bootstrap resamples of the pairs in which ``scores_a`` ranks ``gold`` better than ``scores_b``.

    Near 1.0: a robust win. Near 0.5: the data cannot tell the two apart.
    """
    import numpy as np
    from scipy.stats import rankdata

    a, b, g = (np.asarray(v, dtype=float) for v in (scores_a, scores_b, gold))
    if not (a.shape == b.shape == g.shape) or a.ndim != 1:
        raise CourseValueError("scores_a, scores_b and gold must be 1-D and of the same length")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(g), size=(resamples, len(g)))  # one resample of the pairs per row

    def rank_corr(scores):  # Spearman = Pearson correlation of the (tie-averaged) ranks, row by row
        x, y = rankdata(scores[idx], axis=1), rankdata(g[idx], axis=1)
        x, y = x - x.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (x * y).sum(axis=1) / np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))

    # A resample whose gold scores are all equal has no ranking to match: it counts as no win.
    return float(np.mean(np.nan_to_num(rank_corr(a) - rank_corr(b), nan=0.0) > 0))


# --- downstream: frozen features ----------------------------------------------------------------------------------
def cross_validated_accuracy(features, labels, *, folds: int = 5, repeats: int = 5, seed: int = 0):
    """Logistic regression on frozen features ``[n, hidden]``: accuracy on each held-out fold.

    Repeated stratified k-fold (``folds`` × ``repeats`` fits); features are standardised inside each fold.
    The liblinear solver: on 100 × 384 features it is several times faster than lbfgs, and seeded.
    Returns a NumPy array of ``folds * repeats`` accuracies.
    """
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    x = np.asarray(features.detach() if hasattr(features, "detach") else features, dtype=float)
    y = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(y):
        raise CourseValueError(f"features must be [n, hidden] with one label per row, got {x.shape} and {len(y)}")
    counts = np.unique(y, return_counts=True)[1]
    if len(counts) < 2 or counts.min() < folds:
        raise CourseValueError(f"need ≥ 2 classes with ≥ {folds} examples each for {folds}-fold cross-validation")
    model = make_pipeline(StandardScaler(), LogisticRegression(solver="liblinear", max_iter=5000,
                                                                 random_state=seed))
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(1):  # tiny problems: extra BLAS threads only contend
        warnings.simplefilter("ignore", ConvergenceWarning)  # the score is what we report; a warning is noise here
        return cross_val_score(model, x, y, cv=splitter)


# --- data ---------------------------------------------------------------------------------------------------------
def load_ambiguous():
    """Sentences with an ambiguous word in two senses: columns word, sense, sentence."""
    return read_tsv("outputs_ambiguous.tsv", ("word", "sense", "sentence"))


def load_pairs():
    """Sentence pairs with a similarity score 0–5 written by the course author: score (float), sentence1/2."""
    pairs = read_tsv("outputs_pairs.tsv", ("score", "sentence1", "sentence2"))
    pairs["score"] = pairs["score"].astype(float)
    return pairs


def load_reviews():
    """Short reviews labelled positive / negative: columns label, sentence."""
    return read_tsv("outputs_reviews.tsv", ("label", "sentence"))


# --- the output explorer's data -----------------------------------------------------------------------------------
def most_similar_tokens(unit_vectors, query, *, keep, k: int = 5):
    """Top-``k`` cosine neighbours of ``query [hidden]`` among ``unit_vectors [n, hidden]`` (rows L2-normalised).

    ``keep`` is a ``[n]`` bool mask of candidates. Returns (indices, cosines) as lists.
    """
    import torch
    import torch.nn.functional as F

    scores = unit_vectors @ F.normalize(_tensor(query, "query", 1), dim=0)
    scores = torch.where(torch.as_tensor(keep), scores, torch.full_like(scores, -2.0))
    top = scores.topk(min(k, int(torch.as_tensor(keep).sum())))
    return top.indices.tolist(), top.values.tolist()
