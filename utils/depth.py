"""What depth costs: model sizes from configs, parameter counts (counted and closed-form), memory, FLOPs, timing.

Big models are built on PyTorch's ``meta`` device: every tensor has a shape but no storage, so BERT-Large
(335 M parameters) is "built" in a fraction of a second and with no memory, and nothing is downloaded.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import CourseTypeError, CourseValueError


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
