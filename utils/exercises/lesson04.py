"""Checkers for lesson 04 (the model's outputs).

Every answer is judged on the lesson's demo batch, ``utils.model_outputs.DEMO_TEXTS`` (two sentences, the first
one padded). The checker runs the model once on that batch for its reference and recognises the usual mistakes by
recomputing them.
"""

from __future__ import annotations

from functools import lru_cache

from . import Wrong, exercise

LAYER_K = 4  # "the output of layer 4"


@lru_cache(maxsize=1)
def _reference():
    from ..model import forward, load_model
    from ..model_outputs import DEMO_TEXTS

    bert = load_model()
    return forward(list(DEMO_TEXTS), bert), bert.model


def _as_tensor(answer, example: str):
    import numpy as np
    import torch

    if isinstance(answer, np.ndarray):
        answer = torch.as_tensor(answer)
    if not isinstance(answer, torch.Tensor):
        raise Wrong(f"Your answer is a {type(answer).__name__}; this exercise wants a torch.Tensor, e.g. {example}.")
    return answer.detach().to(torch.float32)


def _same(a, b) -> bool:
    import torch

    return tuple(a.shape) == tuple(b.shape) and bool(torch.allclose(a, b, atol=1e-5, rtol=1e-4))


def _reject_known(answer, right, mistakes) -> None:
    """Raise the message of the first known mistake the answer equals (mistakes equal to the right answer on this
    checkpoint are skipped: they cannot be told apart)."""
    for value, message in mistakes:
        if _same(answer, value) and not _same(value, right):
            raise Wrong(message)


def _shape_hint(answer, wanted, what: str) -> None:
    if tuple(answer.shape) != tuple(wanted):
        raise Wrong(f"Your tensor has shape {list(answer.shape)}; {what} has shape {list(wanted)}. Use `outputs` "
                    f"from the lesson (the two DEMO_TEXTS sentences).")


@exercise("04.layer_index")
def layer_index(answer) -> str:
    """The output of layer 4: ``outputs.hidden_states[4]`` (an index or the tensor)."""
    outputs, _ = _reference()
    hidden_states = outputs.hidden_states
    last = len(hidden_states) - 1
    if isinstance(answer, bool) or not (isinstance(answer, int) or hasattr(answer, "shape")):
        raise Wrong(f"Your answer is a {type(answer).__name__}; give the index (an int) or the tensor "
                    f"outputs.hidden_states[i].")
    if isinstance(answer, int):
        if not -len(hidden_states) <= answer <= last:
            raise Wrong(f"Index {answer} is out of range: hidden_states has {len(hidden_states)} tensors, "
                        f"indices 0..{last}.")
        picked = answer % len(hidden_states)
    else:
        tensor = _as_tensor(answer, "outputs.hidden_states[2]")
        _shape_hint(tensor, hidden_states[0].shape, "each hidden state [batch, seq_len, hidden]")
        matches = [i for i, h in enumerate(hidden_states) if _same(tensor, h)]
        if not matches:
            raise Wrong("This tensor is none of the hidden states of the demo batch; take one with "
                        "outputs.hidden_states[i].")
        picked = matches[0]
    if picked == LAYER_K - 1:
        raise Wrong(f"Off by one: index {picked} is the output of layer {picked}. Index 0 is the embedding output, "
                    f"so layer k sits at index k (Python's 0-based habit makes people subtract 1 here).")
    if picked == LAYER_K + 1:
        raise Wrong(f"Off by one the other way: index {picked} is the output of layer {picked}; layer k is index k.")
    if picked == 0:
        raise Wrong("Index 0 is the embedding output, before any layer has run.")
    if picked == last:
        raise Wrong(f"Index {last} (or -1) is the LAST layer, {last}; we asked for layer {LAYER_K}.")
    if picked != LAYER_K:
        raise Wrong(f"Index {picked} is the output of layer {picked}; we asked for layer {LAYER_K}.")
    return (f"hidden_states[{LAYER_K}] is the output of layer {LAYER_K}: index 0 holds the embedding output, "
            f"so index k is layer k.")


@exercise("04.mean_pooling")
def mean_pooling_answer(answer) -> str:
    """Mask-aware mean pooling of ``outputs.last_hidden_state`` for the demo batch: ``[batch, hidden]``."""
    import torch
    import torch.nn.functional as F

    from ..model_outputs import mean_pooling, recompute_pooler

    outputs, model = _reference()
    h = outputs.last_hidden_state
    mask = outputs.encoding["attention_mask"]
    right = mean_pooling(h, mask)
    tensor = _as_tensor(answer, "(h * m).sum(1) / m.sum(1)")
    if tuple(tensor.shape) == tuple(h.shape):
        raise Wrong("This is still one vector per token [batch, seq_len, hidden]: sum over dim=1 (seq_len).")
    if tuple(tensor.shape) == (h.shape[1], h.shape[2]):
        raise Wrong("You averaged over the batch (dim=0); average over the tokens of each sentence (dim=1).")
    _shape_hint(tensor, right.shape, "one vector per sentence [batch, hidden]")
    m = mask.unsqueeze(-1).float()
    lengths = m.sum(dim=1)
    special = m.clone()
    special[:, 0] = 0
    special[torch.arange(len(h)), lengths.squeeze(-1).long() - 1] = 0
    mistakes = [
        (h.mean(dim=1), "You averaged the padding too (h.mean(dim=1)): the short sentence's vector now depends on "
                        "the [PAD] rows. Multiply by the attention mask and divide by the number of real tokens."),
        ((h * m).sum(dim=1) / h.shape[1], "You zeroed the padding but divided by seq_len; divide by the number of "
                                          "real tokens, m.sum(dim=1)."),
        ((h * m).sum(dim=1), "That is the masked SUM; divide it by the number of real tokens, m.sum(dim=1)."),
        (h.sum(dim=1) / lengths, "You divided by the number of real tokens but summed the padding rows too; "
                                 "multiply by the mask before summing."),
        ((h * special).sum(dim=1) / special.sum(dim=1), "You left out [CLS] and [SEP]. That is a reasonable "
                                                        "variant, but our checkpoint was trained averaging every "
                                                        "real token, special tokens included."),
        (h[:, 0], "That is the [CLS] vector, not a mean."),
        (recompute_pooler(h, model), "That is pooler_output, which reads only [CLS]; we want the mean of the tokens."),
        (F.normalize(right, dim=-1), "Right mean, then L2-normalised. Normalising is a later step "
                                     "(sentence-transformers does it); hand in the plain mean."),
    ]
    if _same(tensor, right):
        return "Padding rows are multiplied by 0 and the sum is divided by each sentence's real length."
    _reject_known(tensor, right, mistakes)
    raise Wrong("Not the mask-aware mean yet. Recipe: m = attention_mask.unsqueeze(-1); "
                "(h * m).sum(dim=1) / m.sum(dim=1).")


@exercise("04.pooler")
def pooler_answer(answer) -> str:
    """``tanh(h_[CLS] · Wᵀ + b)`` recomputed from ``model.pooler.dense``: ``[batch, hidden]``."""
    import torch

    from ..model_outputs import mean_pooling

    outputs, model = _reference()
    h = outputs.last_hidden_state
    weight, bias = model.pooler.dense.weight, model.pooler.dense.bias
    right = outputs.pooler_output
    tensor = _as_tensor(answer, "torch.tanh(h[:, 0] @ W.T + b)")
    if tensor.ndim == 3:
        raise Wrong("You applied the pooler to every position [batch, seq_len, hidden]; it reads only position 0, "
                    "[CLS]: h[:, 0].")
    _shape_hint(tensor, right.shape, "pooler_output [batch, hidden]")
    cls = h[:, 0]
    last_real = h[torch.arange(len(h)), outputs.encoding["attention_mask"].sum(dim=1) - 1]
    mistakes = [
        (cls @ weight.T + bias, "You forgot the tanh: pooler_output = tanh(dense(h_[CLS])), so every value lies "
                                "in (-1, 1)."),
        (torch.tanh(cls @ weight + bias), "nn.Linear computes x @ W.T + b (W is [out, in]); you used W without "
                                          "the transpose."),
        (torch.tanh(cls), "You applied tanh to h_[CLS] but skipped the dense layer W·h + b."),
        (torch.tanh(mean_pooling(h, outputs.encoding["attention_mask"]) @ weight.T + bias),
         "You fed the mean of all tokens in; the pooler reads only the [CLS] position, h[:, 0]."),
        (torch.tanh(h[:, -1] @ weight.T + bias), "You used the last position; the pooler reads the FIRST, [CLS]."),
        (torch.tanh(last_real @ weight.T + bias), "You used [SEP]; the pooler reads the first position, [CLS]."),
    ]
    if _same(tensor, right):
        return "pooler_output = tanh(W · h_[CLS] + b): one dense layer and a tanh on position 0, nothing else."
    _reject_known(tensor, right, mistakes)
    raise Wrong("Not equal to outputs.pooler_output yet. Recipe: W, b = model.pooler.dense.weight, "
                "model.pooler.dense.bias; torch.tanh(h[:, 0] @ W.T + b).")
