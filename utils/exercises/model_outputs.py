"""Checkers for lesson 04 (the model's outputs).

Every answer is judged on the lesson's demo batch, ``utils.model_outputs.DEMO_TEXTS`` (two sentences, the first
one padded). The checker runs the model once on that batch for its reference and recognises the usual mistakes by
recomputing them. The lesson writes mean pooling and the pooler out in its cells; exercises 2 and 3 ask for
variations of them (max pooling over the real tokens, the pooler applied to [SEP]).
"""

from __future__ import annotations

from functools import lru_cache

from . import Wrong, exercise, expect_tensor, same_tensor

LAYER_K = 4  # "the output of layer 4"


@lru_cache(maxsize=1)
def _reference():
    from ..model import forward, load_model
    from ..model_outputs import DEMO_TEXTS

    bert = load_model()
    encoding, outputs = forward(list(DEMO_TEXTS), bert)
    return encoding, outputs, bert.model


def _reject_known(answer, right, mistakes) -> None:
    """Raise the message of the first known mistake the answer equals (mistakes equal to the right answer on this
    checkpoint are skipped: they cannot be told apart)."""
    for value, message in mistakes:
        if same_tensor(answer, value) and not same_tensor(value, right):
            raise Wrong(message)


def _shape_hint(answer, wanted, what: str) -> None:
    if tuple(answer.shape) != tuple(wanted):
        raise Wrong(f"Your tensor has shape {list(answer.shape)}; {what} has shape {list(wanted)}. Use `outputs` "
                    f"from the lesson (the two DEMO_TEXTS sentences).")


@exercise("04.layer_index")
def layer_index(answer) -> str:
    """The output of layer 4: ``outputs.hidden_states[4]`` (an index or the tensor)."""
    _, outputs, _ = _reference()
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
        tensor = expect_tensor(answer, "outputs.hidden_states[2]")
        _shape_hint(tensor, hidden_states[0].shape, "each hidden state [batch, seq_len, hidden]")
        matches = [i for i, h in enumerate(hidden_states) if same_tensor(tensor, h)]
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


def _masked_max(hidden, mask):
    """Max over the positions where ``mask [batch, seq_len]`` is 1: ``[batch, seq_len, hidden] -> [batch, hidden]``."""
    return hidden.masked_fill(mask[..., None] == 0, float("-inf")).amax(dim=1)


@exercise("04.max_pooling")
def max_pooling_answer(answer) -> str:
    """Max pooling over the real tokens of ``outputs.last_hidden_state`` ([CLS]/[SEP] in, padding out): ``[batch,
    hidden]``. A variation of the mask-aware mean the lesson writes out."""
    import torch

    from ..model import mean_pooling

    encoding, outputs, _ = _reference()
    h, mask = outputs.last_hidden_state, encoding["attention_mask"]
    right = _masked_max(h, mask)
    tensor = expect_tensor(answer, 'h.masked_fill(m == 0, float("-inf")).max(dim=1).values')
    if tuple(tensor.shape) == tuple(h.shape):
        raise Wrong("This is still one vector per token [batch, seq_len, hidden]: take the max over dim=1 (seq_len).")
    if tuple(tensor.shape) == (h.shape[1], h.shape[2]):
        raise Wrong("You took the max over the batch (dim=0); take it over the tokens of each sentence (dim=1).")
    if tuple(tensor.shape) == tuple(h.shape[:2]):
        raise Wrong("You took the max over the hidden dimensions (dim=-1); keep all of them and take the max over "
                    "the tokens (dim=1).")
    _shape_hint(tensor, right.shape, "one vector per sentence [batch, hidden]")
    lengths = mask.sum(dim=1)
    words = mask.clone()  # real tokens without [CLS] and [SEP]
    words[:, 0] = 0
    words[torch.arange(len(h)), lengths - 1] = 0
    m = mask[..., None].to(h.dtype)
    mistakes = [
        (h.amax(dim=1), "Padding included: h.max(dim=1) lets the [PAD] rows of the short sentence win in some "
                        "dimensions. Set the padding rows to -inf before the max (h.masked_fill(m == 0, -inf))."),
        ((h * m).amax(dim=1), "You zeroed the padding rows, but 0 is not neutral for a max: in every dimension "
                              "where all real tokens are negative, a padding 0 wins. Use -inf, not 0, for padding: "
                              "h.masked_fill(m == 0, float('-inf'))."),
        (_masked_max(-h, mask).neg(), "That is the MIN over the real tokens; we asked for the max."),
        (mean_pooling(h, mask), "That is the mask-aware mean from the lesson; this exercise asks for the max."),
        (_masked_max(h, words), "You left out [CLS] and [SEP]. sentence-transformers' max pooling keeps every real "
                                "token, special tokens included; only padding goes."),
        (h[:, 0], "That is the [CLS] vector, not a max over the tokens."),
    ]
    mistakes += [(_masked_max(layer, mask), f"Right recipe, wrong layer: this is hidden_states[{i}]. Use "
                                            f"last_hidden_state (= hidden_states[-1]).")
                 for i, layer in enumerate(outputs.hidden_states[:-1])]
    if same_tensor(tensor, right):
        return ("Every dimension takes its largest value over the real tokens; padding set to -inf can never win. "
                "(sentence-transformers calls this pooling_mode_max_tokens; our checkpoint was trained with the "
                "mean.)")
    _reject_known(tensor, right, mistakes)
    raise Wrong("Not the max over the real tokens yet. Recipe: m = mask[..., None]; "
                "h.masked_fill(m == 0, float('-inf')).max(dim=1).values.")


@exercise("04.pooler_on_sep")
def pooler_on_sep_answer(answer) -> str:
    """The pooler's dense layer and tanh applied to each sentence's [SEP] vector (its last REAL token) instead of
    [CLS]: ``tanh(h_[SEP] Wᵀ + b)``, ``[batch, hidden]``. A variation of the pooler line the lesson writes out."""
    import torch

    from ..model import mean_pooling

    encoding, outputs, model = _reference()
    h, mask = outputs.last_hidden_state, encoding["attention_mask"]
    weight, bias = model.pooler.dense.weight.detach(), model.pooler.dense.bias.detach()
    rows = torch.arange(len(h))
    sep = h[rows, mask.sum(dim=1) - 1]  # [batch, hidden]: the last real token of each sentence

    def pool(x):
        return torch.tanh(x @ weight.T + bias)

    right = pool(sep)
    tensor = expect_tensor(answer, "torch.tanh(h_sep @ W.T + b)")
    if tensor.ndim == 3:
        raise Wrong("You applied the pooler to every position [batch, seq_len, hidden]; pick one row per sentence, "
                    "its [SEP]: h[torch.arange(len(h)), mask.sum(dim=1) - 1].")
    _shape_hint(tensor, right.shape, "one vector per sentence [batch, hidden]")
    mistakes = [
        (pool(h[:, -1]), "You used the last POSITION, h[:, -1]: in the padded sentence 0 that is a [PAD] row. [SEP] "
                         "is the last REAL token: position mask.sum(dim=1) - 1, different per sentence."),
        (pool(h[rows, mask.sum(dim=1) - 2]), "Off by one: that is the token before [SEP] (the final '.'). [SEP] sits "
                                             "at mask.sum(dim=1) - 1."),
        (outputs.pooler_output, "That is pooler_output itself, computed from [CLS] (position 0); apply the same "
                                "dense layer and tanh to [SEP] instead."),
        (sep, "That is the [SEP] vector itself; now put it through the pooler: tanh(h_sep @ W.T + b)."),
        (sep @ weight.T + bias, "You forgot the tanh: the pooler is a dense layer followed by tanh."),
        (torch.tanh(sep @ weight + bias), "nn.Linear computes x @ W.T + b (W is [out, in]); you used W without "
                                          "the transpose."),
        (pool(mean_pooling(h, mask)), "You fed the mask-aware mean in; this exercise asks for the [SEP] vector."),
    ]
    if same_tensor(tensor, right):
        return ("The pooler is one dense layer and a tanh on ONE vector; which position you feed it is a choice. "
                "[SEP] sits at a different position in each sentence of a padded batch (the mask tells you where).")
    _reject_known(tensor, right, mistakes)
    raise Wrong("Not tanh(h_[SEP] Wᵀ + b) yet. Recipe: sep = mask.sum(dim=1) - 1; "
                "torch.tanh(h[torch.arange(len(h)), sep] @ W.T + b).")
