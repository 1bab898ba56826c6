"""Lesson 05 (layers): what a layer costs, and what changes from one layer to the next.

**Sizes and costs.** Model sizes from configs, parameter counts (counted and closed-form), memory, FLOPs, timing.
Big models are built on PyTorch's ``meta`` device: every tensor has a shape but no storage, so BERT-Large
(335 M parameters) is "built" in a fraction of a second and with no memory, and nothing is downloaded.

**Per-layer measurements**, from ONE forward pass over a small corpus (:func:`run_corpus`: hidden states and
attentions of every layer); every analysis is then a cheap function of that run:

- :func:`attention_statistics` — where attention goes, per layer and head (after Clark et al., 2019);
- :func:`contextuality` — self-similarity, anisotropy, intra-sentence similarity (after Ethayarajh, 2019);
- :func:`sense_separation` and :func:`sense_probe` — how far apart the two senses of an ambiguous word sit, and
  whether a linear probe can read the sense;
- :func:`probe_by_layer` — a linear probe per layer, cross-validated with grouped folds (after Tenney et al., 2019
  and Jawahar et al., 2019);
- :func:`feature_choice` — which layer(s) to use as features: last, second-to-last, sum or concat of the last four;
  :func:`paired_test` says whether two of them differ by more than chance.

Layer numbering follows ``hidden_states``: 0 is the embedding output, ``l`` the output of layer ``l``. Attention
weights exist only for layers 1 … L.
"""

from __future__ import annotations

import hashlib
import json
import math
import string
import struct
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .data import read_lines, read_tsv
from .errors import CourseTypeError, CourseValueError
from .inputs import check_texts
from .model import mean_pooling


@dataclass(frozen=True)
class Architecture:
    """The size of a Transformer as its paper (or config) states it."""

    name: str
    encoder_layers: int
    decoder_layers: int
    hidden_size: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    source: str


# Literature values: Vaswani et al. (2017) Table 3 "base"; Devlin et al. (2019) section 3. The original Transformer
# translates, so it has a decoder; BERT keeps only the encoder stack. Its vocabulary was a shared BPE of about
# 37,000 tokens (English-German) and its positions were sinusoidal (no learned table, hence 0 here).
ARCHITECTURES: dict[str, Architecture] = {
    "Transformer-base": Architecture("Transformer-base", 6, 6, 512, 8, 2048, 37000, 0,
                                     "literature (Vaswani et al., 2017)"),
    "BERT-Base": Architecture("BERT-Base", 12, 0, 768, 12, 3072, 30522, 512, "literature (Devlin et al., 2019)"),
    "BERT-Large": Architecture("BERT-Large", 24, 0, 1024, 16, 4096, 30522, 512, "literature (Devlin et al., 2019)"),
    "ours": Architecture("ours", 6, 0, 384, 12, 1536, 30522, 512, "model.config of all-MiniLM-L6-v2"),
}
BERT_NAMES = ("BERT-Base", "BERT-Large", "ours")
BYTES_PER_VALUE = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


def architecture_table():
    """The four architectures as a DataFrame, one row each (no computation: what the papers/configs say)."""
    import pandas as pd

    rows = [{"model": a.name, "encoder layers": a.encoder_layers, "decoder layers": a.decoder_layers,
             "hidden": a.hidden_size, "heads": a.num_attention_heads,
             "head size": a.hidden_size // a.num_attention_heads, "FFN size": a.intermediate_size,
             "source": a.source} for a in ARCHITECTURES.values()]
    return pd.DataFrame(rows).set_index("model")


def bert_config(name: str):
    """A ``BertConfig`` for ``"BERT-Base"``, ``"BERT-Large"`` or ``"ours"`` (eager attention, like the course model)."""
    from transformers import BertConfig

    if not isinstance(name, str):
        raise CourseTypeError(f"name must be a string such as 'BERT-Base', got {type(name).__name__}")
    if name not in BERT_NAMES:
        hint = " (it has a decoder, so it is not a BertConfig)" if name == "Transformer-base" else ""
        raise CourseValueError(f"No BERT config called {name!r}{hint}. Choose one of {list(BERT_NAMES)}.")
    arch = ARCHITECTURES[name]
    config = BertConfig(vocab_size=arch.vocab_size, hidden_size=arch.hidden_size,
                        num_hidden_layers=arch.encoder_layers, num_attention_heads=arch.num_attention_heads,
                        intermediate_size=arch.intermediate_size, max_position_embeddings=arch.max_position_embeddings)
    config._attn_implementation = "eager"  # same kernels as the course model; the FLOP counter sees plain matmuls
    return config


def _check_config(config) -> None:
    needed = ("vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size", "max_position_embeddings",
              "type_vocab_size")
    missing = [n for n in needed if not isinstance(getattr(config, n, None), int)]
    if missing:
        raise CourseTypeError(
            f"expected a BertConfig (e.g. model.config or bert_config('BERT-Base')); {type(config).__name__} lacks "
            f"integer {missing}"
        )


def meta_model(config):
    """Build a ``BertModel`` from ``config`` on the meta device: real module tree, shapes only, no weights."""
    import torch
    from transformers import BertModel

    _check_config(config)
    with torch.device("meta"):
        return BertModel(config)


def _component(name: str) -> str:
    parts = name.split(".")
    if parts[0] == "encoder" and len(parts) > 2 and parts[1] == "layer":
        return f"layer {int(parts[2]) + 1}"
    return parts[0]


def count_parameters(model) -> dict[str, int]:
    """Count a model's parameters per component: ``embeddings``, ``layer 1`` … ``layer L``, ``pooler``.

    Works on real and meta-device models alike (``numel`` needs shapes only). Tied weights count once.
    """
    if not hasattr(model, "named_parameters"):
        raise CourseTypeError(f"count_parameters needs a torch model, got {type(model).__name__}")
    counts: dict[str, int] = {}
    for name, param in model.named_parameters():  # named_parameters() already skips tied duplicates
        key = _component(name)
        counts[key] = counts.get(key, 0) + param.numel()
    return counts


def layer_parameter_formula(config) -> dict[str, int]:
    """Closed-form parameters of one encoder layer, by part, for hidden size H and FFN size I.

    Q, K, V and the attention output are H×H matrices with H biases each; the feed-forward block is H→I→H with
    biases; each of the two LayerNorms has a scale and a shift of size H.
    """
    _check_config(config)
    h, i = config.hidden_size, config.intermediate_size
    return {
        "attention weights (Q, K, V, O)": 4 * h * h,
        "attention biases": 4 * h,
        "feed-forward weights": 2 * h * i,
        "feed-forward biases": i + h,
        "LayerNorms (2 × scale + shift)": 2 * 2 * h,
    }


def parameter_formula(config, *, with_pooler: bool = True) -> dict[str, int]:
    """Closed-form parameter count per component, keyed like :func:`count_parameters`.

    embeddings = (vocab + positions + token types) × H + 2H (LayerNorm); each layer = 4H² + 2HI + 9H + I;
    pooler = H² + H.
    """
    _check_config(config)
    h = config.hidden_size
    counts = {"embeddings": (config.vocab_size + config.max_position_embeddings + config.type_vocab_size) * h + 2 * h}
    per_layer = sum(layer_parameter_formula(config).values())
    for layer in range(1, config.num_hidden_layers + 1):
        counts[f"layer {layer}"] = per_layer
    if with_pooler:
        counts["pooler"] = h * h + h
    return counts


def parameter_table(models: dict):
    """Counted vs closed-form parameters for several models: a DataFrame with one row per model.

    ``models`` maps a name to a ``BertModel`` (real or meta). Columns: embeddings, one layer, all layers, pooler,
    total (counted) and ``formula total``.
    """
    import pandas as pd

    if not isinstance(models, dict) or not models:
        raise CourseValueError("parameter_table needs a dict {name: model}, e.g. {'ours': model}")
    rows = []
    for name, model in models.items():
        counted = count_parameters(model)
        formula = parameter_formula(model.config, with_pooler="pooler" in counted)
        layers = [v for k, v in counted.items() if k.startswith("layer ")]
        rows.append({"model": name, "layers": len(layers), "embeddings": counted["embeddings"],
                     "one layer": layers[0], "all layers": sum(layers), "pooler": counted.get("pooler", 0),
                     "total": sum(counted.values()), "formula total": sum(formula.values())})
    return pd.DataFrame(rows).set_index("model")


def weight_memory(num_parameters: int, dtype: str = "float32") -> int:
    """Bytes needed to hold ``num_parameters`` weights stored as ``dtype`` (weights only, no activations)."""
    if isinstance(num_parameters, bool) or not isinstance(num_parameters, int) or num_parameters < 0:
        raise CourseValueError(f"num_parameters must be a non-negative int, got {num_parameters!r}")
    if dtype not in BYTES_PER_VALUE:
        raise CourseValueError(f"unknown dtype {dtype!r}; choose one of {list(BYTES_PER_VALUE)}")
    return num_parameters * BYTES_PER_VALUE[dtype]


_SAFETENSORS_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
                      "BOOL": 1}


def checkpoint_tensor_bytes(folder) -> dict[str, dict[str, int]]:
    """Read a ``model.safetensors`` header (no weights loaded): ``{dtype: {"tensors", "values", "bytes"}}``."""
    path = Path(folder) / "model.safetensors" if Path(folder).is_dir() else Path(folder)
    if not path.is_file():
        raise CourseValueError(f"no safetensors file at {path}: pass a checkpoint folder or a .safetensors file")
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    out: dict[str, dict[str, int]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        values = 1
        for dim in info["shape"]:
            values *= dim
        entry = out.setdefault(info["dtype"], {"tensors": 0, "values": 0, "bytes": 0})
        entry["tensors"] += 1
        entry["values"] += values
        entry["bytes"] += values * _SAFETENSORS_BYTES[info["dtype"]]
    return out


def flops_per_sequence(config, seq_len: int, *, with_pooler: bool = True) -> int:
    """Closed-form matmul FLOPs of one forward pass over one sequence of ``seq_len`` tokens.

    Per layer and token: projections Q, K, V, O cost 2·4H², the feed-forward block 2·2HI, and attention scores
    QKᵀ plus the weighted sum of V cost 2·2·n·H (n = seq_len). The pooler adds 2H² once. Softmax, GELU,
    LayerNorm and additions are left out (a few % of the total).
    """
    _check_config(config)
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 1:
        raise CourseValueError(f"seq_len must be a positive int, got {seq_len!r}")
    h, i, n = config.hidden_size, config.intermediate_size, seq_len
    per_layer = 2 * n * (4 * h * h + 2 * h * i) + 4 * n * n * h
    return config.num_hidden_layers * per_layer + (2 * h * h if with_pooler else 0)


def flops_per_token(config, seq_len: int = 128) -> float:
    """Forward FLOPs per token at ``seq_len`` (pooler left out): grows linearly with layers, ~quadratically with H."""
    return flops_per_sequence(config, seq_len, with_pooler=False) / seq_len


def count_flops(model, seq_len: int) -> int:
    """Measure matmul FLOPs of one forward pass with ``torch.utils.flop_counter`` (meta models cost nothing)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 1:
        raise CourseValueError(f"seq_len must be a positive int, got {seq_len!r}")
    device = next(model.parameters()).device
    input_ids = torch.ones(1, seq_len, dtype=torch.long, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(input_ids=input_ids)
    return int(counter.get_total_flops())


def time_forward(model, seq_lens: Sequence[int] = (16, 32, 64, 128, 256, 512), *, repeats: int = 2):
    """Wall-clock seconds of one forward pass (batch 1) per sequence length: a DataFrame ``seq_len, seconds``.

    Takes the fastest of ``repeats`` runs after one warm-up, since other programs only ever make a run slower.
    Timings depend on the machine: lessons plot them but never compare them.
    """
    import pandas as pd
    import torch

    if not seq_lens or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in seq_lens):
        raise CourseValueError(f"seq_lens must be positive ints, got {seq_lens!r}")
    limit = model.config.max_position_embeddings
    if max(seq_lens) > limit:
        raise CourseValueError(f"seq_len {max(seq_lens)} is longer than the model's {limit} positions")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise CourseValueError(f"repeats must be a positive int, got {repeats!r}")
    rows = []
    with torch.no_grad():
        model(input_ids=torch.ones(1, min(seq_lens), dtype=torch.long))  # warm-up: first call allocates
        for n in seq_lens:
            input_ids = torch.ones(1, n, dtype=torch.long)
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                model(input_ids=input_ids)
                best = min(best, time.perf_counter() - start)
            rows.append({"seq_len": n, "seconds": best,
                         "GFLOP": flops_per_sequence(model.config, n, with_pooler=True) / 1e9})
    table = pd.DataFrame(rows)
    table["GFLOP/s"] = table["GFLOP"] / table["seconds"]
    return table


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


def sense_probe(run: CorpusRun, indices, words, senses, *, folds: int = 4, c: float = 0.1):
    """Can a linear probe read the sense? One :func:`probe_by_layer` per ambiguous word (its occurrences only,
    grouped folds), pooled into one :class:`ProbeResult` over all occurrences, layers 0 … L."""
    import numpy as np
    import torch

    vectors = token_vectors(run, indices, words)
    words, senses = np.asarray(list(words)), np.asarray(list(senses))
    if senses.shape != words.shape:
        raise CourseValueError("senses must have one label per sentence index")
    groups = np.asarray([run.groups[i] for i in _check_indices(run, indices)])
    correct = np.zeros((vectors.shape[0], len(words)), dtype=bool)
    fold = np.zeros(len(words), dtype=int)
    for word in dict.fromkeys(words.tolist()):
        mine = words == word
        if len(set(senses[mine].tolist())) < 2:
            raise CourseValueError(f"the word {word!r} has only one sense in these sentences: add the other sense")
        rows = torch.as_tensor(np.flatnonzero(mine))
        result = probe_by_layer(vectors[:, rows], senses[mine], groups[mine], folds=folds, c=c)
        correct[:, mine], fold[mine] = result.correct, result.fold
    return ProbeResult(correct.mean(axis=1), correct, fold)


# -------------------------------------------------------------------------------------------------------- probes
@dataclass
class ProbeResult:
    """A linear probe per layer. ``accuracy [layers+1]``, ``correct [layers+1, n]`` (held-out predictions),
    ``fold [n]`` (which fold held each example out)."""

    accuracy: object
    correct: object
    fold: object

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
    result = ProbeResult(correct.mean(axis=1), correct, fold)
    _PROBES[key] = result
    return result


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


def mean_pooling_by_layer(run: CorpusRun, indices):
    """:func:`~utils.model.mean_pooling` of the chosen sentences at every layer: ``[layers+1, n, hidden]``.

    [CLS] and [SEP] are included, as in the mean pooling our checkpoint was trained with.
    """
    run = _check_run(run)
    indices = _check_indices(run, indices)
    import torch

    return torch.stack([mean_pooling(layer[indices], run.attention_mask[indices]) for layer in run.hidden_states])


def retrieval_hits(vectors, groups, roles):
    """Top-1 paraphrase retrieval, query by query: for each anchor (and each paraphrase), is its nearest other
    sentence (cosine) its partner from the same group? ``vectors [n, dim]``; ``roles`` are anchor / paraphrase /
    decoy. A boolean NumPy array ``[queries]``."""
    hits = nearest_sentences(vectors, groups, roles)
    return (hits["nearest"] == hits["partner"]).to_numpy()


def retrieval_accuracy(vectors, groups, roles) -> float:
    """Share of queries whose nearest other sentence is their paraphrase partner (see :func:`retrieval_hits`)."""
    return float(retrieval_hits(vectors, groups, roles).mean())


def retrieval_by_layer(sentences, groups, roles):
    """Paraphrase retrieval at every layer from ``sentences [layers+1, n, hidden]`` (e.g. from
    :func:`mean_pooling_by_layer`): a DataFrame indexed by layer with ``correct`` (queries) and ``accuracy``;
    ``.attrs["hits"]`` holds the per-query booleans ``[layers+1, queries]`` for :func:`paired_test`."""
    import numpy as np
    import pandas as pd

    if not hasattr(sentences, "shape") or len(sentences.shape) != 3:
        raise CourseValueError("sentences must be a tensor [layers+1, n, hidden], e.g. from mean_pooling_by_layer")
    hits = np.stack([retrieval_hits(layer, groups, roles) for layer in sentences])
    table = pd.DataFrame({"correct": hits.sum(axis=1), "accuracy": hits.mean(axis=1)},
                         index=pd.RangeIndex(0, len(hits), name="layer"))
    table.attrs["hits"] = hits
    return table


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


def recipe_outcomes(run: CorpusRun, corpus, *, folds: int = 4, c: float = 0.1) -> dict:
    """Per-example outcomes of each feature recipe on the two tasks of :func:`feature_choice`.

    ``{"paraphrase retrieval": {recipe: bool [48]}, "subject-number probe": {recipe: bool [96]}}``: whether each
    retrieval query finds its partner, and whether each sentence's held-out probe prediction is right. Paired by
    example, so two recipes can be compared with :func:`paired_test`.
    """
    para = corpus[corpus.task == "paraphrases"]
    agree = corpus[corpus.task == "agreement"]
    sentences = mean_pooling_by_layer(run, para.index.tolist())
    seps = token_vectors(run, agree.index.tolist(), ["[SEP]"] * len(agree))
    outcomes: dict = {"paraphrase retrieval": {}, "subject-number probe": {}}
    for recipe in RECIPES:
        outcomes["paraphrase retrieval"][recipe] = retrieval_hits(combine_layers(sentences, recipe), para.group,
                                                                  para.label)
        probe = probe_by_layer(combine_layers(seps, recipe)[None], agree.label, agree.group, folds=folds, c=c)
        outcomes["subject-number probe"][recipe] = probe.correct[0]
    return outcomes


def feature_choice(run: CorpusRun, corpus, *, folds: int = 4, c: float = 0.1):
    """Compare the feature recipes on two small tasks from :func:`lesson_corpus`; a DataFrame indexed by recipe.

    - ``paraphrase retrieval``: mean-pooled sentence vectors, top-1 accuracy (no training involved);
    - ``subject-number probe``: the ``[SEP]`` vector, grouped cross-validated logistic regression.
    ``.attrs["outcomes"]`` holds the per-example outcomes from :func:`recipe_outcomes`.
    """
    import pandas as pd

    outcomes = recipe_outcomes(run, corpus, folds=folds, c=c)
    hidden = run.hidden_states.shape[-1]
    rows = [{"features": recipe, **{task: float(outcomes[task][recipe].mean()) for task in outcomes},
             "dimensions": 4 * hidden if recipe.startswith("concat") else hidden} for recipe in RECIPES]
    table = pd.DataFrame(rows).set_index("features")
    table.attrs["outcomes"] = outcomes
    return table


def paired_test(correct_a, correct_b) -> dict:
    """Exact McNemar test of two methods scored on the SAME examples (``correct_a``, ``correct_b``: booleans [n]).

    Only the examples where they disagree count: ``a only`` (a right, b wrong) and ``b only``. If the methods were
    equally good, each disagreement would go either way with probability 1/2, so the two-sided ``p`` is the
    binomial probability of a split at least this uneven. Small ``p`` (say < 0.05): the difference is unlikely to
    be luck; large ``p``: these examples cannot tell the two apart.
    """
    import numpy as np

    a, b = (np.asarray(x) for x in (correct_a, correct_b))
    if a.ndim != 1 or a.shape != b.shape or a.dtype != bool or b.dtype != bool or not len(a):
        raise CourseValueError("correct_a and correct_b must be boolean arrays of the same length [n], one entry per "
                               "example, e.g. from retrieval_hits(...) or ProbeResult.correct[layer]")
    a_only, b_only = int((a & ~b).sum()), int((b & ~a).sum())
    n = a_only + b_only
    tail = sum(math.comb(n, k) for k in range(min(a_only, b_only) + 1)) / 2 ** n
    return {"a only": a_only, "b only": b_only, "p": min(1.0, 2 * tail)}


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
