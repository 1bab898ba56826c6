"""Lesson 07: using sentence vectors — semantic search, its metrics and their uncertainty, why two texts are close
(an exact token-pair decomposition of the cosine), anisotropy and its fix.

Vectors are ``torch.Tensor``s ``[n, hidden]``; a collection's documents and queries come from
``data/embeddings_docs.tsv`` and ``data/embeddings_queries.tsv`` (written for the course).
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import CourseTypeError, CourseValueError

DOCS_FILE, QUERIES_FILE = "embeddings_docs.tsv", "embeddings_queries.tsv"
LONG_FILE, LONG_QUERIES_FILE = "embeddings_long.tsv", "embeddings_long_queries.tsv"
KINDS = ("paraphrase", "keyword", "hard_negative")
# Held-out sentences (not in the collection), of different lengths so padding matters: section 1 and exercise 1.
HELD_OUT = (
    "A kettle switches itself off when the water boils.",
    "Which moons of Jupiter might hide an ocean under their ice?",
    "Our train was cancelled, so we shared a taxi to the airport with two strangers.",
)


def _matrix(value, name: str):
    """A float tensor ``[n, dim]`` from a tensor or array, or raise naming the fix."""
    import numpy as np
    import torch

    if isinstance(value, np.ndarray):
        value = torch.as_tensor(value)
    if not isinstance(value, torch.Tensor):
        raise CourseTypeError(f"{name} must be a tensor [n, dim], got {type(value).__name__}")
    if value.ndim != 2 or value.shape[0] == 0:
        raise CourseValueError(f"{name} must be a non-empty 2-D tensor [n, dim], got shape {list(value.shape)}")
    return value.detach().float()


# --- the collection -------------------------------------------------------------------------------------------------
def load_collection():
    """``(docs, queries)`` as DataFrames: docs ``id, topic, text``; queries ``id, query, relevant, kind,
    distractor``, with ``relevant`` turned into a list of row numbers in ``docs`` (``relevant_rows``) and the
    distractor's row (``distractor_row``, -1 when there is none)."""
    from .data import read_tsv

    docs = read_tsv(DOCS_FILE, ["id", "topic", "text"])
    queries = read_tsv(QUERIES_FILE, ["id", "query", "relevant", "kind", "distractor"])
    row_of = {doc_id: i for i, doc_id in enumerate(docs["id"])}
    if len(row_of) != len(docs):
        raise CourseValueError(f"data/{DOCS_FILE} has duplicate ids")
    unknown = sorted({d for ids in queries["relevant"] for d in ids.split() if d not in row_of}
                     | {d for d in queries["distractor"] if d != "-" and d not in row_of})
    if unknown:
        raise CourseValueError(f"data/{QUERIES_FILE} names documents that do not exist: {unknown[:5]}")
    if not set(queries["kind"]) <= set(KINDS):
        raise CourseValueError(f"data/{QUERIES_FILE}: kind must be one of {KINDS}")
    queries["relevant_rows"] = [[row_of[d] for d in ids.split()] for ids in queries["relevant"]]
    queries["distractor_row"] = [row_of[d] if d != "-" else -1 for d in queries["distractor"]]
    return docs, queries


# --- search and its metrics -----------------------------------------------------------------------------------------
def cosine_scores(query_vectors, doc_vectors):
    """Cosine of every query with every document: ``[n_queries, dim] x [n_docs, dim] -> [n_queries, n_docs]``."""
    import torch.nn.functional as F

    q, d = _matrix(query_vectors, "query_vectors"), _matrix(doc_vectors, "doc_vectors")
    if q.shape[1] != d.shape[1]:
        raise CourseValueError(f"queries have {q.shape[1]} dimensions but documents {d.shape[1]}: encode both the "
                               f"same way")
    return F.normalize(q, dim=-1) @ F.normalize(d, dim=-1).T


def top_k(scores, k: int = 5):
    """``(values, indices)`` of the ``k`` best documents per query, best first: ``[n_queries, n_docs] -> [n, k]``."""
    import torch

    scores = _matrix(scores, "scores")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= scores.shape[1]:
        raise CourseValueError(f"k must be an int from 1 to the number of documents ({scores.shape[1]}), got {k!r}")
    return torch.topk(scores, k, dim=1)


def first_relevant_rank(scores, relevant: Sequence[Sequence[int]]):
    """Rank (1 = best) of the best-placed relevant document for each query: ``[n_queries, n_docs] -> [n_queries]``.

    Ties count against the query: a relevant document ranks after every document with the same or a higher score.
    """
    import torch

    scores = _matrix(scores, "scores")
    if len(relevant) != scores.shape[0]:
        raise CourseValueError(f"relevant has {len(relevant)} entries for {scores.shape[0]} queries")
    ranks = []
    for row, rows in zip(scores, relevant):
        rows = list(rows)
        if not rows or not all(isinstance(r, int) and 0 <= r < scores.shape[1] for r in rows):
            raise CourseValueError(f"each query needs relevant document rows in 0..{scores.shape[1] - 1}, got {rows}")
        ranks.append(min(int((row >= row[r]).sum()) for r in rows))
    return torch.tensor(ranks)


def per_query_metrics(ranks):
    """Per-query values ``{"recall@1", "recall@5", "MRR"}`` (each ``[n_queries]``) from the first relevant ranks.

    With one relevant document per query, recall@k is 1 when it is in the top k, else 0; MRR averages 1 / rank.
    """
    import torch

    if not isinstance(ranks, torch.Tensor) or ranks.ndim != 1 or len(ranks) == 0 or bool((ranks < 1).any()):
        raise CourseValueError("ranks must be a 1-D tensor of ranks >= 1, e.g. first_relevant_rank(scores, relevant)")
    ranks = ranks.float()
    return {"recall@1": (ranks <= 1).float(), "recall@5": (ranks <= 5).float(), "MRR": 1.0 / ranks}


def bootstrap_interval(values, *, resamples: int = 2000, seed: int = 0, level: float = 0.95):
    """Percentile bootstrap interval ``(low, high)`` of the mean of ``values [n]`` (queries resampled with
    replacement, fixed seed)."""
    import numpy as np

    v = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=float)
    if v.ndim != 1 or len(v) < 2:
        raise CourseValueError("values must be 1-D with at least 2 entries (one per query)")
    if not 0 < level < 1:
        raise CourseValueError(f"level must be between 0 and 1, e.g. 0.95, got {level!r}")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(resamples, len(v)))].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def retrieval_table(scores_by_method: dict, relevant, *, resamples: int = 2000, seed: int = 0):
    """One row per method: recall@1, recall@5 and MRR with 95 % bootstrap intervals (``…_low``, ``…_high``)."""
    import pandas as pd

    if not isinstance(scores_by_method, dict) or not scores_by_method:
        raise CourseValueError("scores_by_method must be a non-empty dict {method name: scores [n_queries, n_docs]}")
    rows = {}
    for name, scores in scores_by_method.items():
        row = {}
        for metric, values in per_query_metrics(first_relevant_rank(scores, relevant)).items():
            low, high = bootstrap_interval(values, resamples=resamples, seed=seed)
            row.update({metric: float(values.mean()), f"{metric}_low": low, f"{metric}_high": high})
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def paired_difference(values_a, values_b, *, resamples: int = 2000, seed: int = 0):
    """Mean of ``a - b`` over queries and its 95 % bootstrap interval ``(mean, low, high)``: the same resampled
    queries for both methods, so an interval that excludes 0 is a difference these queries support."""
    import numpy as np

    a = np.asarray(values_a.detach().cpu() if hasattr(values_a, "detach") else values_a, dtype=float)
    b = np.asarray(values_b.detach().cpu() if hasattr(values_b, "detach") else values_b, dtype=float)
    if a.shape != b.shape:
        raise CourseValueError(f"values_a and values_b must have one value per query each, got {a.shape}, {b.shape}")
    low, high = bootstrap_interval(a - b, resamples=resamples, seed=seed)
    return float((a - b).mean()), low, high


def tfidf_scores(doc_texts: Sequence[str], query_texts: Sequence[str]):
    """Lexical baseline: TF-IDF (scikit-learn, fitted on the documents) cosine ``[n_queries, n_docs]``."""
    import torch
    from sklearn.feature_extraction.text import TfidfVectorizer

    for name, texts in (("doc_texts", doc_texts), ("query_texts", query_texts)):
        if isinstance(texts, str) or not texts or not all(isinstance(t, str) for t in texts):
            raise CourseTypeError(f"{name} must be a non-empty list of strings")
    vectorizer = TfidfVectorizer().fit(doc_texts)  # rows come out L2-normalised, so a dot product is the cosine
    scores = vectorizer.transform(query_texts) @ vectorizer.transform(doc_texts).T
    return torch.as_tensor(scores.toarray(), dtype=torch.float32)


# --- why are two texts close? ---------------------------------------------------------------------------------------
def real_token_states(hidden, attention_mask, index: int):
    """The real-token rows of one text: ``hidden [batch, seq_len, dim]``, mask ``[batch, seq_len]`` ->
    ``[n_real, dim]`` ([CLS] and [SEP] included, padding dropped)."""
    from .inputs import check_mask

    mask = check_mask(attention_mask, hidden)
    if isinstance(index, bool) or not isinstance(index, int) or not -len(mask) <= index < len(mask):
        raise CourseValueError(f"index must be an int in 0..{len(mask) - 1}, got {index!r}")
    return hidden[index][mask[index].bool()]


def pair_contributions(tokens_u, tokens_v):
    """Token-pair terms whose sum is the cosine of the two mean-pooled vectors: ``[n_u, dim], [n_v, dim] ->
    [n_u, n_v]`` with ``C[i, j] = h_i · h_j / (n_u n_v ‖ū‖ ‖v̄‖)``, ū and v̄ the means of the rows."""
    u, v = _matrix(tokens_u, "tokens_u"), _matrix(tokens_v, "tokens_v")
    if u.shape[1] != v.shape[1]:
        raise CourseValueError(f"token vectors have {u.shape[1]} and {v.shape[1]} dimensions: use the same layer")
    norms = u.mean(dim=0).norm() * v.mean(dim=0).norm()
    return (u @ v.T) / (len(u) * len(v) * norms)



def _check_pair_labels(pairs, query_tokens, doc_tokens):
    pairs = _matrix(pairs, "pairs")
    if pairs.shape != (len(query_tokens), len(doc_tokens)):
        raise CourseValueError(f"pairs has shape {list(pairs.shape)} for {len(query_tokens)} query tokens and "
                               f"{len(doc_tokens)} document tokens: pass the tokens of the same two texts")
    return pairs


def top_pairs(pairs, query_tokens: Sequence[str], doc_tokens: Sequence[str], k: int = 3):
    """The ``k`` largest cells of ``pairs [n_u, n_v]`` as ``[(query token, document token, contribution)]``."""
    import torch

    pairs = _check_pair_labels(pairs, query_tokens, doc_tokens)
    values, flat = torch.topk(pairs.flatten(), min(k, pairs.numel()))
    n_v = pairs.shape[1]
    return [(query_tokens[i // n_v], doc_tokens[i % n_v], float(v)) for v, i in zip(values, flat.tolist())]


def same_token_share(pairs, query_tokens: Sequence[str], doc_tokens: Sequence[str],
                     special: Sequence[str] = ("[CLS]", "[SEP]")) -> float:
    """Share of the cosine (``pairs.sum()``) carried by pairs of the SAME word piece, special tokens left out:
    how much of the similarity is word overlap."""
    import torch

    pairs = _check_pair_labels(pairs, query_tokens, doc_tokens)
    same = torch.tensor([[a == b and a not in special for b in doc_tokens] for a in query_tokens])
    return float(pairs[same].sum() / pairs.sum())

# --- anisotropy -----------------------------------------------------------------------------------------------------
def unrelated_cosine(vectors, groups: Sequence[str]):
    """Mean cosine over all pairs of rows from DIFFERENT groups (e.g. topics): ``[n, dim] -> float``."""
    import torch

    x = _matrix(vectors, "vectors")
    if len(groups) != len(x):
        raise CourseValueError(f"groups has {len(groups)} labels for {len(x)} vectors")
    labels = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    if len(labels) < 2:
        raise CourseValueError("unrelated pairs need at least two different groups")
    ids = torch.tensor([labels[g] for g in groups])
    different = ids[:, None] != ids[None, :]
    return float(cosine_scores(x, x)[different].mean())


def all_but_the_top(vectors, *, fit_on=None, components: int = 1):
    """Mu & Viswanath (2018): subtract the mean, then remove the projection on the top ``components`` principal
    directions; mean and directions are estimated on ``fit_on`` (default ``vectors``): ``[n, dim] -> [n, dim]``."""
    import torch

    x = _matrix(vectors, "vectors")
    base = x if fit_on is None else _matrix(fit_on, "fit_on")
    if base.shape[1] != x.shape[1]:
        raise CourseValueError("fit_on must have the same number of dimensions as vectors")
    if isinstance(components, bool) or not isinstance(components, int) or not 0 <= components < min(base.shape):
        raise CourseValueError(f"components must be an int from 0 to {min(base.shape) - 1}, got {components!r}")
    mean = base.mean(dim=0)
    centred = x - mean
    if components == 0:
        return centred
    directions = torch.linalg.svd(base - mean, full_matrices=False).Vh[:components]  # [components, dim]
    return centred - (centred @ directions.T) @ directions



# --- long texts -----------------------------------------------------------------------------------------------------
def load_long():
    """``(long_docs, long_queries)``: documents ``id, topic, start, end, text`` (``text`` = start + " " + end) and
    queries ``query, relevant, where`` (``where`` = the part that answers it, "start" or "end"), plus
    ``relevant_row`` (the document's row)."""
    from .data import read_tsv

    docs = read_tsv(LONG_FILE, ["id", "topic", "start", "end"])
    docs["text"] = docs["start"] + " " + docs["end"]
    queries = read_tsv(LONG_QUERIES_FILE, ["query", "relevant", "where"])
    row_of = {doc_id: i for i, doc_id in enumerate(docs["id"])}
    if not set(queries["relevant"]) <= set(row_of) or not set(queries["where"]) <= {"start", "end"}:
        raise CourseValueError(f"data/{LONG_QUERIES_FILE}: relevant must name a document of data/{LONG_FILE} and "
                               f"where must be start or end")
    queries["relevant_row"] = [row_of[d] for d in queries["relevant"]]
    return docs, queries


def long_text_vectors(texts: Sequence[str], bert, *, max_length: int = 128, how: str = "windows",
                      batch_size: int = 1):
    """One unit vector per text, whatever its length: ``[n_texts, hidden]``. ``how="truncate"`` reads each text's
    first ``max_length`` tokens only; ``how="windows"`` cuts each text into non-overlapping windows of
    ``max_length`` tokens (each with [CLS] … [SEP]), mean-pools every window and combines a text's windows weighted
    by their real-token counts, then normalises. The windows go through the model ``batch_size`` at a time: one by
    default, since a long window's attention (``[heads, seq_len, seq_len]`` in every layer) is what a batch multiplies
    and its cost is memory, not time."""
    import torch
    import torch.nn.functional as F

    from .model import forward, mean_pooling

    if isinstance(texts, str) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise CourseTypeError("texts must be a non-empty list of non-empty strings")
    if how not in ("truncate", "windows"):
        raise CourseValueError(f"how must be 'truncate' or 'windows', got {how!r}")
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 3:
        raise CourseValueError(f"max_length must be an int >= 3 (two special tokens + one real token), got "
                               f"{max_length!r}")
    tokenizer, model = bert
    encoding = tokenizer(list(texts), truncation=True, max_length=max_length, stride=0, padding=True,
                         return_tensors="pt", return_overflowing_tokens=how == "windows")
    owner = encoding["overflow_to_sample_mapping"] if how == "windows" else torch.arange(len(texts))
    inputs = {key: encoding[key] for key in ("input_ids", "token_type_ids", "attention_mask") if key in encoding}
    hidden = forward(inputs, (tokenizer, model), output_hidden_states=False, output_attentions=False,
                     batch_size=batch_size).outputs.last_hidden_state  # [n_windows, seq_len, hidden]
    means = mean_pooling(hidden, inputs["attention_mask"])  # [n_windows, hidden]
    counts = inputs["attention_mask"].sum(dim=1, keepdim=True).to(means.dtype)  # [n_windows, 1]
    sums = torch.zeros(len(texts), means.shape[1]).index_add_(0, owner, means * counts)
    totals = torch.zeros(len(texts), 1).index_add_(0, owner, counts)
    return F.normalize(sums / totals, dim=-1)


# --- words from subwords --------------------------------------------------------------------------------------------
PIECE_RECIPES = ("first piece", "mean of pieces", "last piece")


def piece_vectors(hidden, encoding, row: int, text: str, word: str):
    """``(pieces, vectors)`` for the first occurrence of ``word`` in ``text`` (row ``row`` of a batch):
    the word's WordPiece tokens, and ``{"first piece", "mean of pieces", "last piece"}`` each ``[hidden]``, read
    from ``hidden [batch, seq_len, hidden]`` at the positions ``encoding.word_ids(row)`` gives that word."""
    if not hasattr(encoding, "word_ids") or not hasattr(encoding, "char_to_word"):
        raise CourseTypeError("encoding must be a fast tokenizer's BatchEncoding, e.g. from encode(texts)")
    if not isinstance(word, str) or not word or not isinstance(text, str) or word not in text:
        raise CourseValueError(f"{word!r} does not occur in the text {text!r}")
    target = encoding.char_to_word(row, text.index(word))
    positions = [p for p, w in enumerate(encoding.word_ids(row)) if w == target]
    vectors = hidden[row, positions]  # [n_pieces, hidden]
    pieces = [encoding.tokens(row)[p] for p in positions]
    return pieces, dict(zip(PIECE_RECIPES, (vectors[0], vectors.mean(dim=0), vectors[-1])))

# --- sentence vectors and a search index ----------------------------------------------------------------------------
def candidate_vectors(outputs, attention_mask) -> dict:
    """Every sentence vector the lesson compares, each ``[batch, hidden]``: ``[CLS]``, ``pooler_output``,
    ``mean, layer i`` for every entry of ``hidden_states`` (mask-aware), and ``normalised mean`` (the last layer's
    mean divided by its L2 norm: what ``SentenceTransformer.encode`` returns for our checkpoint)."""
    import torch.nn.functional as F

    from .model import mean_pooling

    if getattr(outputs, "hidden_states", None) is None or getattr(outputs, "pooler_output", None) is None:
        raise CourseValueError("outputs needs hidden_states and pooler_output: run forward(texts) with "
                               "output_hidden_states=True (the default)")
    vectors = {"[CLS]": outputs.last_hidden_state[:, 0], "pooler_output": outputs.pooler_output}
    for layer, hidden in enumerate(outputs.hidden_states):
        vectors[f"mean, layer {layer}"] = mean_pooling(hidden, attention_mask)
    vectors["normalised mean"] = F.normalize(mean_pooling(outputs.last_hidden_state, attention_mask), dim=-1)
    return vectors


def index_collection(texts: Sequence[str], bert=None, *, batch_size: int = 16):
    """Encode a collection once, in small chunks so memory stays flat: ``(encoding, last_hidden_state, vectors)``
    with the padded ``encoding`` ``[n, seq_len]``, ``last_hidden_state [n, seq_len, hidden]`` (for the token-pair
    decomposition; positions past a text's end hold zeros) and :func:`candidate_vectors` ``{name: [n, hidden]}``.

    Texts of similar length share a chunk, and each chunk runs cut to its own longest text, so the model never
    reads the collection's padding; a chunk's other layers are pooled at once and dropped. With right padding
    and the attention mask this changes no real token's state (to float precision)."""
    import torch

    from .model import encode, forward, load_model

    bert = bert if bert is not None else load_model()
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise CourseValueError(f"batch_size must be a positive int, got {batch_size!r}")
    encoding = encode(texts, bert[0])
    lengths = encoding["attention_mask"].sum(dim=1)  # [n]: real tokens per text
    order = torch.argsort(lengths, stable=True)  # shortest first: neighbours need little padding
    states, vectors = None, {}
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        width = int(lengths[rows].max())
        chunk = {key: value[rows, :width] for key, value in encoding.items()}
        _, outputs = forward(chunk, bert, output_attentions=False, batch_size=batch_size)
        hidden = outputs.last_hidden_state  # [chunk, width, hidden]
        if states is None:
            states = hidden.new_zeros(*encoding["input_ids"].shape, hidden.shape[-1])
        states[rows, :width] = hidden * chunk["attention_mask"][..., None]  # padding: zeros
        for name, part in candidate_vectors(outputs, chunk["attention_mask"]).items():
            vectors.setdefault(name, part.new_empty(len(order), part.shape[-1]))[rows] = part
        del outputs, hidden
    return encoding, states, vectors


class SearchIndex:
    """A collection indexed once: unit-length normalised-mean vectors ``[n_docs, hidden]`` for ranking, and each
    document's real-token states and tokens for the token-pair decomposition. A query costs one forward pass."""

    def __init__(self, encoding, last_hidden_state, tokenizer, texts: Sequence[str], *, max_length: int | None = None):
        import torch.nn.functional as F

        from .inputs import check_mask
        from .model import mean_pooling

        mask = check_mask(encoding["attention_mask"], last_hidden_state)
        if len(texts) != len(mask):
            raise CourseValueError(f"{len(texts)} texts for a batch of {len(mask)}: pass the texts you encoded")
        self.texts = list(texts)
        self.vectors = F.normalize(mean_pooling(last_hidden_state, mask), dim=-1)  # [n_docs, hidden]
        real = mask.bool()
        self.states = [h[row] for h, row in zip(last_hidden_state, real)]  # [n_real, hidden] per document
        self.tokens = [tokenizer.convert_ids_to_tokens(ids[row]) for ids, row in zip(encoding["input_ids"], real)]
        self.tokenizer, self.max_length = tokenizer, max_length

    def query(self, text: str, model, *, k: int = 5):
        """``(scores [k], rows [k], query_tokens, query_states [n_real, hidden])`` for one query text."""
        import torch
        import torch.nn.functional as F

        from .model import encode

        if not isinstance(text, str) or not text.strip():
            raise CourseValueError("type a query: a non-empty piece of text")
        encoding = encode([text], self.tokenizer, truncation=self.max_length is not None, max_length=self.max_length)
        with torch.no_grad():
            states = model(**encoding).last_hidden_state[0]  # [n_real, hidden]: one text, no padding
        scores = self.vectors @ F.normalize(states.mean(dim=0), dim=-1)
        values, rows = torch.topk(scores, min(k, len(scores)))
        return values, rows, self.tokenizer.convert_ids_to_tokens(encoding["input_ids"][0]), states
