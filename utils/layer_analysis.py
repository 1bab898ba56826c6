"""What changes from one layer to the next, measured from ONE forward pass over a small corpus.

Run the model once with :func:`run_corpus` (hidden states and attentions of every layer), then every analysis here
is a cheap function of that run:

- :func:`attention_statistics` — where attention goes, per layer and head (after Clark et al., 2019);
- :func:`contextuality` — self-similarity, anisotropy, intra-sentence similarity (after Ethayarajh, 2019);
- :func:`sense_separation` — do the two senses of an ambiguous word drift apart with depth?
- :func:`probe_by_layer` — a linear probe per layer, cross-validated with grouped folds (after Tenney et al., 2019
  and Jawahar et al., 2019);
- :func:`feature_choice` — which layer(s) to use as features: last, second-to-last, sum or concat of the last four.

Layer numbering follows ``hidden_states``: 0 is the embedding output, ``l`` the output of layer ``l``. Attention
weights exist only for layers 1 … L.
"""

from __future__ import annotations

import hashlib
import string
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from .data import read_lines, read_tsv
from .errors import CourseTypeError, CourseValueError
from .inputs import check_texts
from .model import mean_pooling

PUNCTUATION = frozenset(string.punctuation)
RECIPES = ("last", "second-to-last", "sum of last four", "concat of last four")
CORPUS_FILES = {"agreement": "depth_agreement.tsv", "senses": "depth_senses.tsv",
                "paraphrases": "depth_paraphrases.tsv", "examples": "depth_examples.txt"}


# ----------------------------------------------------------------------------------------------------------- data
def lesson_corpus():
    """Every sentence lesson 05 analyses, as one DataFrame (row i = sentence i of the single forward pass).

    Columns: ``task`` (agreement / senses / paraphrases / examples), ``group`` (near-duplicates share it),
    ``text``, ``word`` (the word to read: the verb, or the ambiguous word), ``label`` (subject number, sense, or
    paraphrase role) and ``attractor`` (number of the noun between subject and verb, agreement only).
    """
    import pandas as pd

    rows = []
    for row in read_tsv(CORPUS_FILES["agreement"]).to_dict("records"):
        rows.append({"task": "agreement", "group": row["group"], "text": row["sentence"], "word": row["verb"],
                     "label": row["subject_number"], "attractor": row["attractor_number"]})
    for row in read_tsv(CORPUS_FILES["senses"]).to_dict("records"):
        rows.append({"task": "senses", "group": row["group"], "text": row["sentence"], "word": row["word"],
                     "label": row["sense"], "attractor": ""})
    for row in read_tsv(CORPUS_FILES["paraphrases"]).to_dict("records"):
        rows.append({"task": "paraphrases", "group": row["group"], "text": row["sentence"], "word": "",
                     "label": row["role"], "attractor": ""})
    for i, text in enumerate(read_lines(CORPUS_FILES["examples"]), 1):
        rows.append({"task": "examples", "group": f"e{i:02d}", "text": text, "word": "", "label": "", "attractor": ""})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ the forward pass
@dataclass
class CorpusRun:
    """Everything one forward pass returns for a corpus, padded to the longest sentence (padding holds zeros).

    ``hidden_states [layers+1, batch, seq_len, hidden]``, ``attentions [layers, batch, heads, seq_len, seq_len]``
    (float16: attention weights are probabilities, and half the memory keeps a workshop kernel small),
    ``input_ids`` / ``attention_mask [batch, seq_len]``, ``tokens`` (per sentence, no padding), ``groups``.
    """

    texts: list[str]
    groups: list[str]
    tokens: list[list[str]]
    input_ids: object = field(repr=False)
    attention_mask: object = field(repr=False)
    hidden_states: object = field(repr=False)
    attentions: object = field(repr=False)
    special_ids: tuple[int, int] = (101, 102)
    tokenizer: object = field(default=None, repr=False)

    @property
    def num_layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def lengths(self) -> list[int]:
        return [len(t) for t in self.tokens]

    def token_position(self, index: int, word: str) -> int:
        """Position of ``word`` (a whole word, its first piece if split) in sentence ``index``; it must occur once."""
        if not isinstance(word, str) or not word.strip():
            raise CourseValueError(f"word must be a non-empty string, got {word!r}")
        if not isinstance(index, int) or not 0 <= index < len(self.tokens):
            raise CourseValueError(f"sentence index {index!r} is out of range 0 … {len(self.tokens) - 1}")
        tokens = self.tokens[index]
        pieces = _pieces(word, self.tokenizer)
        hits = [p for p in range(len(tokens) - len(pieces) + 1) if tokens[p:p + len(pieces)] == pieces
                and (p + len(pieces) == len(tokens) or not tokens[p + len(pieces)].startswith("##"))]
        if len(hits) != 1:
            raise CourseValueError(
                f"{word!r} occurs {len(hits)} times as a whole word in sentence {index} ({self.texts[index]!r}); "
                f"it must occur exactly once"
            )
        return hits[0]


def _pieces(word: str, tokenizer=None) -> list[str]:
    """How ``tokenizer`` (default: the course's) splits ``word``; special tokens such as ``[SEP]`` stay whole."""
    if tokenizer is None:
        from .model import load_model

        tokenizer = load_model().tokenizer
    return tokenizer.tokenize(word)


_RUNS: dict[tuple, CorpusRun] = {}


def run_corpus(texts, bert=None, *, groups: Sequence[str] | None = None, batch_size: int = 16) -> CorpusRun:
    """One forward pass over ``texts`` with all hidden states and attentions; cached per (texts, groups, model).

    ``groups``: one id per text; texts that are near-duplicates (one template) share an id. Defaults to one group
    per text. Texts of similar length are batched together (little compute spent on padding); the results are
    stored in input order, padded with zeros to the longest text.
    """
    import torch

    from .model import forward, load_model

    texts = check_texts(texts)
    groups = list(groups) if groups is not None else [f"s{i}" for i in range(len(texts))]
    if len(groups) != len(texts):
        raise CourseValueError(f"groups has {len(groups)} ids for {len(texts)} texts: give one id per text")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise CourseValueError(f"batch_size must be a positive int, got {batch_size!r}")
    tokenizer, model = bert if bert is not None else load_model()
    key = (tuple(texts), tuple(groups), id(model), batch_size)
    if key in _RUNS:
        return _RUNS[key]
    lengths = [len(ids) for ids in tokenizer(texts)["input_ids"]]
    longest, n = max(lengths), len(texts)
    layers, heads = model.config.num_hidden_layers, model.config.num_attention_heads
    hidden = torch.zeros(layers + 1, n, longest, model.config.hidden_size)
    attentions = torch.zeros(layers, n, heads, longest, longest, dtype=torch.float16)  # probabilities: half is enough
    input_ids = torch.full((n, longest), tokenizer.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros(n, longest, dtype=torch.long)
    # Texts of similar length share a batch, so little compute goes into padding; results go back in order.
    order = sorted(range(n), key=lambda i: lengths[i])
    with torch.no_grad():
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            batch, out = forward([texts[i] for i in rows], (tokenizer, model), batch_size=batch_size)
            width = batch["input_ids"].shape[1]
            real = batch["attention_mask"].to(hidden.dtype)                      # [b, T]: zero the padding
            for layer, states in enumerate(out.hidden_states):                  # layer by layer: no big copies
                hidden[layer, rows, :width] = states * real[:, :, None]
            for layer, weights in enumerate(out.attentions):
                attentions[layer, rows, :, :width, :width] = (weights * real[:, None, :, None]
                                                               * real[:, None, None, :]).half()
            input_ids[rows, :width] = batch["input_ids"]
            attention_mask[rows, :width] = batch["attention_mask"]
            del out  # free this batch's activations before the next one
    tokens = [tokenizer.convert_ids_to_tokens(input_ids[i, : lengths[i]]) for i in range(n)]
    run = CorpusRun(texts, groups, tokens, input_ids, attention_mask, hidden, attentions,
                    (tokenizer.cls_token_id, tokenizer.sep_token_id), tokenizer)
    if len(_RUNS) > 4:  # a handful of corpora per kernel at most; drop the oldest
        _RUNS.pop(next(iter(_RUNS)))
    _RUNS[key] = run
    return run


def _check_run(run) -> CorpusRun:
    if not isinstance(run, CorpusRun):
        raise CourseTypeError(f"expected the CorpusRun that run_corpus(...) returns, got {type(run).__name__}")
    return run


def _check_indices(run: CorpusRun, indices) -> list[int]:
    try:
        indices = [int(i) for i in indices]
    except TypeError:
        raise CourseTypeError("indices must be a list of sentence numbers, e.g. [0, 1, 2]") from None
    if not indices:
        raise CourseValueError("indices is empty: pass at least one sentence number")
    bad = [i for i in indices if not 0 <= i < len(run.texts)]
    if bad:
        raise CourseValueError(f"sentence indices {bad[:5]} are out of range 0 … {len(run.texts) - 1}")
    return indices


def _is_punctuation(token: str) -> bool:
    return all(ch in PUNCTUATION for ch in token)


# ------------------------------------------------------------------------------------------------------ attention
@dataclass
class AttentionStats:
    """Per-layer, per-head attention statistics; every array is ``[layers, heads]`` (layer 1 is row 0).

    ``shares[name]``: the average fraction of a query token's attention that goes to ``[CLS]``, ``[SEP]``,
    punctuation, the token itself, the previous or the next token. ``entropy``: average entropy (bits) of one
    query's attention distribution. Averages run over every real (non-padding) query token of every sentence.
    """

    shares: dict
    entropy: object
    uniform_entropy: float = 0.0

    @property
    def num_layers(self) -> int:
        return int(self.entropy.shape[0])

    def by_layer(self):
        """DataFrame indexed by layer 1 … L: each statistic averaged over the heads of that layer."""
        import pandas as pd

        data = {name: values.mean(axis=1) for name, values in self.shares.items()}
        data["entropy (bits)"] = self.entropy.mean(axis=1)
        return pd.DataFrame(data, index=pd.RangeIndex(1, self.num_layers + 1, name="layer"))

    def heads(self, kind: str, threshold: float = 0.5):
        """Heads whose average share on ``kind`` (e.g. ``"previous"``) exceeds ``threshold``: layer, head, share."""
        import numpy as np
        import pandas as pd

        if kind not in self.shares:
            raise CourseValueError(f"kind must be one of {list(self.shares)}, got {kind!r}")
        if not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise CourseValueError(f"threshold must be a fraction between 0 and 1, got {threshold!r}")
        layers, heads = np.nonzero(self.shares[kind] > threshold)
        return pd.DataFrame({"layer": layers + 1, "head": heads, kind: self.shares[kind][layers, heads]})


def attention_statistics(run: CorpusRun, indices=None) -> AttentionStats:
    """Where attention goes, from ``run.attentions [layers, batch, heads, seq_len, seq_len]`` (optionally a subset)."""
    import math

    import torch

    run = _check_run(run)
    idx = _check_indices(run, range(len(run.texts)) if indices is None else indices)
    att = run.attentions if indices is None else run.attentions[:, idx]   # [L, B, h, T, T]; no copy for all
    query = run.attention_mask[idx].float()                      # [B, T]: real tokens ask, padding does not
    ids = run.input_ids[idx]
    cls_id, sep_id = run.special_ids
    width = ids.shape[1]
    punct = torch.tensor([[float(_is_punctuation(t)) for t in run.tokens[i]] + [0.0] * (width - run.lengths[i])
                          for i in idx])
    key_sets = {"[CLS]": (ids == cls_id).float() * query, "[SEP]": (ids == sep_id).float() * query,
                "punctuation": punct}
    n_queries, later = query.sum(), query[:, 1:]            # query i+1 has a previous token i; key i+1 a next
    names = [*key_sets, "self", "previous", "next", "entropy"]
    per_layer = {name: [] for name in names}
    for layer_att in att:                                    # one layer at a time keeps temporaries small
        layer_att = layer_att.float()                        # stored as float16; sums in float32
        for name, keys in key_sets.items():
            to_keys = torch.einsum("bhij,bj->bhi", layer_att, keys)   # attention each query gives those keys
            per_layer[name].append(torch.einsum("bhi,bi->h", to_keys, query) / n_queries)
        per_layer["self"].append(torch.einsum("bhi,bi->h", layer_att.diagonal(dim1=-2, dim2=-1), query) / n_queries)
        per_layer["previous"].append(
            torch.einsum("bhi,bi->h", layer_att.diagonal(offset=-1, dim1=-2, dim2=-1), later) / later.sum())
        per_layer["next"].append(
            torch.einsum("bhi,bi->h", layer_att.diagonal(offset=1, dim1=-2, dim2=-1), later) / later.sum())
        bits = -torch.special.xlogy(layer_att, layer_att).sum(-1) / math.log(2)  # xlogy: 0·log 0 = 0 (padding)
        per_layer["entropy"].append(torch.einsum("bhi,bi->h", bits, query) / n_queries)
    shares = {name: torch.stack(per_layer[name]) for name in names if name != "entropy"}
    entropy = torch.stack(per_layer["entropy"])
    lengths = query.sum(dim=1)
    uniform = float((torch.log2(lengths) * lengths).sum() / lengths.sum())
    return AttentionStats({k: v.double().numpy() for k, v in shares.items()}, entropy.double().numpy(), uniform)


# ----------------------------------------------------------------------------------------------- contextuality
def word_tokens(run: CorpusRun, indices=None) -> list[tuple[int, int, str]]:
    """``(sentence, position, word)`` for every whole-word, single-piece, alphabetic token (no specials/punctuation)."""
    run = _check_run(run)
    idx = _check_indices(run, range(len(run.texts)) if indices is None else indices)
    out = []
    for i in idx:
        toks = run.tokens[i]
        for pos in range(1, len(toks) - 1):
            tok = toks[pos]
            if tok.isalpha() and not toks[pos + 1].startswith("##"):
                out.append((i, pos, tok))
    return out


def _group_sums(values, key):
    """Sum the rows of ``values [n, d]`` that share a ``key [n]``: (keys, sums [k, d], counts [k]).

    Sort + ``np.add.reduceat``: single-threaded and fast, where torch's ``index_add_`` can crawl on a busy CPU.
    """
    import numpy as np

    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    sums = np.add.reduceat(values[order], starts, axis=0, dtype=np.float64)   # accumulate in float64
    return sorted_key[starts], sums, np.diff(np.r_[starts, len(key)])


def _cross_group_cosine(unit, groups, owner, owners: int):
    """For each owner: mean cosine over pairs of its rows whose groups differ. Exact, no sampling.

    ``unit [n, d]`` unit vectors (NumPy); ``groups``, ``owner`` ``[n]`` integer codes. Sum-of-vectors algebra:
    Σ_{i≠j} u_i·u_j = |Σ u|² − Σ|u|², and likewise within each group, so no n×n matrix is built.
    """
    import numpy as np

    keys, key_sums, key_counts = _group_sums(unit, owner * (int(groups.max()) + 1) + groups)
    key_owner = keys // (int(groups.max()) + 1)
    _, totals, counts = _group_sums(unit, owner)
    within = np.bincount(key_owner, weights=(key_sums ** 2).sum(axis=1), minlength=owners)
    within_pairs = np.bincount(key_owner, weights=key_counts.astype(float) ** 2, minlength=owners)
    return ((totals ** 2).sum(axis=1) - within) / (counts.astype(float) ** 2 - within_pairs)


def contextuality(run: CorpusRun, indices=None, *, min_groups: int = 5):
    """Ethayarajh's (2019) measures per layer 0 … L, over the word tokens of the chosen sentences.

    - ``self-similarity``: for each word seen in ≥ ``min_groups`` different groups, the mean cosine between its
      vectors in different contexts (pairs from the same group are skipped); averaged over words.
    - ``anisotropy``: mean cosine between any two word tokens from different groups (the baseline: how similar
      two unrelated words already are). ``adjusted self-similarity`` = self-similarity − anisotropy.
    - ``intra-sentence``: mean cosine between each word and the mean word vector of its sentence (averaged over
      sentences); ``adjusted intra-sentence`` subtracts the anisotropy.
    Returns a DataFrame indexed by layer; ``.attrs["words"]`` lists the words behind self-similarity.
    """
    import numpy as np
    import pandas as pd

    run = _check_run(run)
    if isinstance(min_groups, bool) or not isinstance(min_groups, int) or min_groups < 2:
        raise CourseValueError(f"min_groups must be an int >= 2, got {min_groups!r}")
    occurrences = word_tokens(run, indices)
    if not occurrences:
        raise CourseValueError("no word tokens in these sentences")
    group_code = {g: k for k, g in enumerate(dict.fromkeys(run.groups))}
    sent = np.array([s for s, _, _ in occurrences])
    pos = np.array([p for _, p, _ in occurrences])
    groups = np.array([group_code[run.groups[s]] for s, _, _ in occurrences])
    seen: dict[str, set] = {}
    for (s, _, word) in occurrences:
        seen.setdefault(word, set()).add(run.groups[s])
    words = sorted(w for w, g in seen.items() if len(g) >= min_groups)
    if not words:
        raise CourseValueError(f"no word occurs in {min_groups} different groups; lower min_groups or add sentences")
    word_code = {w: k for k, w in enumerate(words)}
    owner = np.array([word_code.get(w, -1) for _, _, w in occurrences])
    chosen = owner >= 0
    _, sentence = np.unique(sent, return_inverse=True)
    everyone = np.zeros_like(groups)
    hidden = run.hidden_states.numpy()
    rows = []
    for layer in range(run.num_layers + 1):
        vectors = hidden[layer, sent, pos]                  # float32 [words, hidden]; sums below are float64
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        anisotropy = float(_cross_group_cosine(unit, groups, everyone, 1)[0])
        self_sim = float(_cross_group_cosine(unit[chosen], groups[chosen], owner[chosen], len(words)).mean())
        # mean over a sentence's words of cos(word, centre) = (sum of its unit vectors) · centre / words
        _, centres, counts = _group_sums(vectors, sentence)        # sentence codes are 0 … S-1, sorted
        _, unit_sums, _ = _group_sums(unit, sentence)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        intra = float(((unit_sums * centres).sum(axis=1) / counts).mean())
        rows.append({"layer": layer, "self-similarity": self_sim, "anisotropy": anisotropy,
                     "adjusted self-similarity": self_sim - anisotropy,
                     "intra-sentence": intra, "adjusted intra-sentence": intra - anisotropy})
    table = pd.DataFrame(rows).set_index("layer")
    table.attrs["words"] = words
    return table


# ------------------------------------------------------------------------------------------------- word senses
def token_vectors(run: CorpusRun, indices, words):
    """Vectors of one word per sentence at every layer: ``[layers+1, len(indices), hidden]``."""
    run = _check_run(run)
    indices = _check_indices(run, indices)
    if isinstance(words, str) or len(words) != len(indices):
        raise CourseValueError("words must be a list with one word per sentence index")
    positions = [run.token_position(i, w) for i, w in zip(indices, words)]
    return run.hidden_states[:, indices, positions]


def sense_separation(run: CorpusRun, indices, words, senses):
    """How far apart the senses of ambiguous words are, per layer 0 … L.

    For each word: mean cosine between occurrences with the same sense, and with a different sense; their
    difference is the ``separation`` (macro-averaged over words). ``nearest-neighbour accuracy``: how often an
    occurrence's most similar other occurrence of the same word has the same sense (chance ≈ 0.5 for 2 senses).
    """
    import pandas as pd
    import torch

    vectors = token_vectors(run, indices, words)
    if len(senses) != len(indices):
        raise CourseValueError("senses must have one label per sentence index")
    words, senses = list(words), list(senses)
    by_word: dict[str, list[int]] = {}
    for k, w in enumerate(words):
        by_word.setdefault(w, []).append(k)
    for w, ks in by_word.items():
        if len({senses[k] for k in ks}) < 2:
            raise CourseValueError(f"the word {w!r} has only one sense in these sentences: add the other sense")
    rows = []
    for layer in range(vectors.shape[0]):
        same_means, diff_means, hits = [], [], 0
        for ks in by_word.values():
            unit = torch.nn.functional.normalize(vectors[layer, ks].double(), dim=-1)
            cos = unit @ unit.T
            label = [senses[k] for k in ks]
            same = torch.tensor([[a == b for b in label] for a in label])
            off_diagonal = ~torch.eye(len(ks), dtype=torch.bool)
            same_means.append(float(cos[same & off_diagonal].mean()))
            diff_means.append(float(cos[~same].mean()))
            nearest = cos.masked_fill(~off_diagonal, -2.0).argmax(dim=1)
            hits += sum(label[i] == label[int(j)] for i, j in enumerate(nearest))
        same_mean, diff_mean = sum(same_means) / len(same_means), sum(diff_means) / len(diff_means)
        rows.append({"layer": layer, "same sense": same_mean, "different sense": diff_mean,
                     "separation": same_mean - diff_mean, "nearest-neighbour accuracy": hits / len(words)})
    return pd.DataFrame(rows).set_index("layer")


# -------------------------------------------------------------------------------------------------------- probes
@dataclass
class ProbeResult:
    """A linear probe per layer. ``accuracy [layers+1]``, ``correct [layers+1, n]`` (held-out predictions),
    ``fold [n]`` (which fold held each example out)."""

    accuracy: object
    correct: object
    fold: object
    groups: list = field(default_factory=list)

    def table(self, subsets: dict | None = None):
        """DataFrame indexed by layer: overall accuracy, plus accuracy on each named boolean mask in ``subsets``."""
        import numpy as np
        import pandas as pd

        data = {"accuracy": self.accuracy}
        for name, mask in (subsets or {}).items():
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != self.correct.shape[1:] or not mask.any():
                raise CourseValueError(f"subset {name!r} must be a non-empty boolean mask over the examples")
            data[name] = self.correct[:, mask].mean(axis=1)
        return pd.DataFrame(data, index=pd.RangeIndex(0, len(self.accuracy), name="layer"))


def compare_probes(results: dict, subsets: dict | None = None):
    """One DataFrame indexed by layer from several :class:`ProbeResult` s: columns ``name`` and
    ``name · subset`` for each boolean mask in ``subsets``."""
    import pandas as pd

    if not isinstance(results, dict) or not results or not all(isinstance(r, ProbeResult) for r in results.values()):
        raise CourseValueError("results must be a non-empty dict {name: ProbeResult}")
    columns = {}
    for name, result in results.items():
        table = result.table(subsets)
        for column in table.columns:
            columns[name if column == "accuracy" else f"{name} · {column}"] = table[column]
    return pd.DataFrame(columns)


def _check_probe_inputs(labels, groups, n: int, folds: int):
    import numpy as np

    labels, groups = np.asarray(list(labels)), np.asarray(list(groups))
    if labels.shape != (n,) or groups.shape != (n,):
        raise CourseValueError(f"need one label and one group per example: {n} examples, {labels.shape[0]} labels, "
                               f"{groups.shape[0]} groups")
    if len(set(labels.tolist())) < 2:
        raise CourseValueError("labels have a single class: a probe needs at least two")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise CourseValueError(f"folds must be an int >= 2, got {folds!r}")
    if len(set(groups.tolist())) < folds:
        raise CourseValueError(f"only {len(set(groups.tolist()))} groups for {folds} folds: use fewer folds")
    return labels, groups


def grouped_folds(groups, folds: int = 4):
    """Fold number per example such that every group lands in exactly one fold (sklearn's ``GroupKFold``)."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(list(groups))
    labels = np.zeros(len(groups))
    _check_probe_inputs(np.arange(len(groups)) % 2, groups, len(groups), folds)
    fold = np.empty(len(groups), dtype=int)
    for k, (_, test) in enumerate(GroupKFold(n_splits=folds).split(labels, labels, groups)):
        fold[test] = k
    return fold


def _fit_predict(train_x, train_y, test_x, c: float):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # liblinear: a deterministic Newton solver, several times faster than lbfgs on these small problems
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, solver="liblinear", max_iter=1000,
                                                               random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a probe that needs more steps is still a probe
        probe.fit(train_x, train_y)
    return probe.predict(test_x)


_PROBES: dict[str, ProbeResult] = {}


def probe_by_layer(features, labels, groups, *, folds: int = 4, c: float = 0.1) -> ProbeResult:
    """Logistic-regression probe per layer on ``features [layers+1, n, hidden]``, cross-validated by groups.

    Folds come from :func:`grouped_folds`, so near-duplicates (one template) are never split between training and
    testing. Features are standardised; ``c`` is the inverse L2 strength. Results are cached on the inputs.
    """
    import numpy as np

    if not hasattr(features, "shape") or len(features.shape) != 3:
        raise CourseValueError("features must be a tensor [layers+1, n, hidden], e.g. from token_vectors(...)")
    x = np.asarray(features.detach().cpu() if hasattr(features, "detach") else features, dtype=np.float32)
    labels, groups = _check_probe_inputs(labels, groups, x.shape[1], folds)
    if not isinstance(c, (int, float)) or isinstance(c, bool) or c <= 0:
        raise CourseValueError(f"c must be a positive number, got {c!r}")
    key = hashlib.sha1(x.tobytes() + repr((labels.tolist(), groups.tolist(), folds, c)).encode()).hexdigest()
    if key in _PROBES:
        return _PROBES[key]
    fold = grouped_folds(groups, folds)
    correct = np.zeros((x.shape[0], x.shape[1]), dtype=bool)
    for layer in range(x.shape[0]):
        for k in range(folds):
            test = fold == k
            correct[layer, test] = _fit_predict(x[layer, ~test], labels[~test], x[layer, test], c) == labels[test]
    result = ProbeResult(correct.mean(axis=1), correct, fold, groups.tolist())
    _PROBES[key] = result
    return result


def probe_accuracy(features, labels, groups, *, folds: int = 4, c: float = 0.1) -> float:
    """Grouped cross-validated accuracy of one probe on ``features [n, dim]`` (one feature recipe)."""
    if not hasattr(features, "shape") or len(features.shape) != 2:
        raise CourseValueError("features must be a matrix [n, dim]")
    return float(probe_by_layer(features[None], labels, groups, folds=folds, c=c).accuracy[0])


# ------------------------------------------------------------------------------------------------ which layer?
def combine_layers(features, recipe: str):
    """Turn ``[layers+1, n, hidden]`` into one ``[n, dim]`` matrix by a popular recipe (see ``RECIPES``)."""
    import torch

    if not hasattr(features, "shape") or len(features.shape) != 3:
        raise CourseValueError("features must be a tensor [layers+1, n, hidden]")
    if recipe not in RECIPES:
        raise CourseValueError(f"recipe must be one of {list(RECIPES)}, got {recipe!r}")
    if features.shape[0] < 5 and "four" in recipe:
        raise CourseValueError("the last-four recipes need at least 4 layers after the embeddings")
    if recipe == "last":
        return features[-1]
    if recipe == "second-to-last":
        return features[-2]
    if recipe == "sum of last four":
        return features[-4:].sum(dim=0)
    return torch.cat(list(features[-4:]), dim=-1)


def sentence_vectors(run: CorpusRun, indices):
    """Mean of each sentence's token vectors over its attention mask, at every layer: ``[layers+1, n, hidden]``.

    [CLS] and [SEP] are included, as in the mean pooling our checkpoint was trained with.
    """
    run = _check_run(run)
    indices = _check_indices(run, indices)
    import torch

    return torch.stack([mean_pooling(layer[indices], run.attention_mask[indices]) for layer in run.hidden_states])


def retrieval_accuracy(vectors, groups, roles) -> float:
    """Top-1 paraphrase retrieval: for each anchor (and each paraphrase), is its nearest other sentence (cosine)
    its partner from the same group? ``vectors [n, dim]``; ``roles`` are anchor / paraphrase / decoy."""
    hits = nearest_sentences(vectors, groups, roles)
    return float((hits["nearest"] == hits["partner"]).mean())


def nearest_sentences(vectors, groups, roles):
    """For each anchor and paraphrase (the queries): its partner's row, its nearest other row (cosine) and that
    row's role — ``"partner"``, ``"own decoy"`` or ``"other group"``. A DataFrame with one row per query."""
    import pandas as pd
    import torch

    if not hasattr(vectors, "shape") or len(vectors.shape) != 2:
        raise CourseValueError("vectors must be a matrix [n, dim]")
    groups, roles = list(groups), list(roles)
    if len(groups) != vectors.shape[0] or len(roles) != vectors.shape[0]:
        raise CourseValueError("need one group and one role per vector")
    unknown = set(roles) - {"anchor", "paraphrase", "decoy"}
    if unknown:
        raise CourseValueError(f"roles must be anchor / paraphrase / decoy, got {sorted(unknown)}")
    unit = torch.nn.functional.normalize(torch.as_tensor(vectors).double(), dim=-1)
    cos = (unit @ unit.T).fill_diagonal_(-2.0)
    partner = {(g, r): k for k, (g, r) in enumerate(zip(groups, roles))}
    queries = [(k, partner.get((g, "paraphrase" if r == "anchor" else "anchor")))
               for k, (g, r) in enumerate(zip(groups, roles)) if r in ("anchor", "paraphrase")]
    if not queries or any(p is None for _, p in queries):
        raise CourseValueError("every anchor needs a paraphrase with the same group id, and vice versa")
    rows = []
    for k, p in queries:
        nearest = int(cos[k].argmax())
        kind = "partner" if nearest == p else "own decoy" if groups[nearest] == groups[k] else "other group"
        rows.append({"query": k, "partner": p, "nearest": nearest, "nearest is": kind})
    return pd.DataFrame(rows)


def feature_choice(run: CorpusRun, corpus, *, folds: int = 4, c: float = 0.1):
    """Compare the feature recipes on two small tasks from :func:`lesson_corpus`; a DataFrame indexed by recipe.

    - ``paraphrase retrieval``: mean-pooled sentence vectors, top-1 accuracy (no training involved);
    - ``subject-number probe``: the ``[SEP]`` vector, grouped cross-validated logistic regression.
    """
    import pandas as pd

    para = corpus[corpus.task == "paraphrases"]
    agree = corpus[corpus.task == "agreement"]
    sentences = sentence_vectors(run, para.index.tolist())
    seps = token_vectors(run, agree.index.tolist(), ["[SEP]"] * len(agree))
    rows = []
    for recipe in RECIPES:
        rows.append({"features": recipe,
                     "paraphrase retrieval": retrieval_accuracy(combine_layers(sentences, recipe), para.group,
                                                                para.label),
                     "subject-number probe": probe_accuracy(combine_layers(seps, recipe), agree.label, agree.group,
                                                            folds=folds, c=c),
                     "dimensions": int(combine_layers(sentences, recipe).shape[-1])})
    return pd.DataFrame(rows).set_index("features")


def reference_probe(position: str = "[SEP]") -> ProbeResult:
    """The lesson's subject-number probe read at ``position`` (``"[SEP]"`` or ``"verb"``), from the lesson corpus.

    Uses the same cached forward pass and probe cache as the lesson, so calling it after the lesson costs nothing.
    """
    if position not in ("[SEP]", "verb"):
        raise CourseValueError(f"position must be '[SEP]' or 'verb', got {position!r}")
    corpus = lesson_corpus()
    run = run_corpus(corpus.text.tolist(), groups=corpus.group.tolist())
    agree = corpus[corpus.task == "agreement"]
    words = agree.word.tolist() if position == "verb" else ["[SEP]"] * len(agree)
    return probe_by_layer(token_vectors(run, agree.index.tolist(), words), agree.label, agree.group)
