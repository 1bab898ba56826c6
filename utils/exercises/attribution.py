"""Checkers for lesson 08 (attribution).

Both exercises are judged on the lesson's pair 0 (``data/attribution_pairs.tsv``), run alone (no padding). The
lesson writes rollout to the mean-pooled vector and the deletion curve in its cells; the exercises ask for
variations: rollout to the ``[CLS]`` position, and leave-one-out occlusion (delete ONE token at a time).
"""

from __future__ import annotations

from functools import lru_cache

from . import Wrong, exercise, expect_tensor, same_tensor


@lru_cache(maxsize=1)
def _reference():
    import torch

    from ..attribution import load_pairs
    from ..model import forward, load_model, mean_pooling

    bert = load_model()
    pairs = load_pairs()
    encoding, outputs = forward([pairs.loc[0, "sentence"]], bert)
    ref_encoding, ref_outputs = forward([pairs.loc[0, "reference"]], bert)
    reference = mean_pooling(ref_outputs.last_hidden_state, ref_encoding["attention_mask"])[0]
    return bert, encoding, outputs, reference.to(torch.float32)


def _as_vector(answer, example: str):
    answer = expect_tensor(answer, example, numbers=True)
    return answer[0] if answer.ndim == 2 and answer.shape[0] == 1 else answer  # [1, n] from a batch of one


def _same(a, b, atol=1e-4) -> bool:
    return same_tensor(a, b, atol=atol, rtol=1e-3)


def rollout_cls_mistakes():
    """``(right answer, [(wrong answer, message), …])`` for 08.rollout_cls (the tests feed each wrong one)."""
    from ..attribution import head_average, residual_attention, rollout

    _, _, outputs, _ = _reference()
    R = rollout(outputs.attentions)
    A = head_average(outputs.attentions)
    mixed = residual_attention(outputs.attentions)
    no_residual, reversed_order = A[0], mixed[-1]
    for layer in A[1:]:
        no_residual = layer @ no_residual
    for layer in mixed.flip(0)[1:]:
        reversed_order = layer @ reversed_order
    mistakes = [
        (R.mean(dim=0), "That is rollout to the MEAN-pooled vector, the lesson's own cell. [CLS] pooling reads one "
                        "output position: take row 0 of the rollout matrix."),
        (R[:, 0], "That is column 0: how much each OUTPUT position draws from the [CLS] input. The question is the "
                  "reverse: how much the [CLS] output draws from each input, which is row 0."),
        (no_residual[0], "You multiplied the raw head-averaged attention matrices. Rollout first mixes in the "
                         "residual connection: (A + I) / 2, row-normalised, for every layer."),
        (reversed_order[0], "The product is in the wrong order: layer 6 must be on the LEFT (R = Ã₆ ⋯ Ã₁), because "
                            "layer 6 reads positions that layer 5 already mixed."),
        (A[-1][0], "That is the last layer's attention of the [CLS] row alone (raw attention), not rolled out "
                   "through all six layers."),
    ]
    return R[0], mistakes


@exercise("08.rollout_cls")
def rollout_cls(answer) -> str:
    """Rollout from the [CLS] output position back to each input position: row 0 of the rollout, ``[seq_len]``."""
    right, mistakes = rollout_cls_mistakes()
    vector = _as_vector(answer, "R[0]")
    if vector.shape != right.shape:
        raise Wrong(f"Your answer has shape {list(vector.shape)}; it needs one share per input token of pair 0, "
                    f"shape {list(right.shape)}.")
    if _same(vector, right):
        other = int(right[1:].argmax()) + 1
        return (f"Row 0 of R sums to 1: the [CLS] output keeps {float(right[0]):.2f} of its own input; the largest "
                f"share from another input goes to position {other}.")
    for value, message in mistakes:
        if _same(vector, value):
            raise Wrong(message)
    raise Wrong("These are not row 0 of the rollout matrix of pair 0. Rebuild R as in the rollout cell and take "
                "R[0].")


def occlusion_mistakes():
    """``(right answer [content tokens], [(wrong answer, message), …])`` for 08.occlusion."""
    import torch

    from ..attribution import content_positions, cosine_to, sentence_vector

    bert, encoding, _, reference = _reference()
    tokenizer, _ = bert
    ids = encoding["input_ids"]
    positions = content_positions(ids, tokenizer.all_special_ids)
    masked = ids.repeat(len(positions) + 1, 1)
    dropped = torch.ones_like(masked)
    for row, position in enumerate(positions, start=1):
        masked[row, position] = tokenizer.mask_token_id
        dropped[row, position] = 0
    with torch.no_grad():
        f = cosine_to(sentence_vector(bert, masked), reference)
        f_drop = cosine_to(sentence_vector(bert, ids.repeat(len(positions) + 1, 1), attention_mask=dropped),
                           reference)
    right = f[0] - f[1:]
    mistakes = [
        (-right, "The sign is flipped: the score is f(x) − f(x without token j), so a token whose removal LOWERS "
                 "the cosine gets a positive score."),
        (f[1:], "Those are the cosines after each deletion; the score is the drop: f(x) minus each of them."),
        (f_drop[0] - f_drop[1:], "You removed the token with attention_mask = 0. That is a fair kind of deletion, "
                                 "but the lesson's curves (and this exercise) replace it with [MASK]."),
    ]
    return right, positions, mistakes


@exercise("08.occlusion")
def occlusion(answer) -> str:
    """Leave-one-out: for each content token j of pair 0, f(x) − f(x with token j replaced by [MASK])."""
    right, positions, mistakes = occlusion_mistakes()
    vector = _as_vector(answer, "torch.tensor([0.1, …]) with one value per content token")
    n_all = len(positions) + 2
    if vector.shape == (n_all,):  # one per token, [CLS] and [SEP] included: they must be 0 (never deleted)
        if float(vector[0].abs()) > 1e-6 or float(vector[-1].abs()) > 1e-6:
            raise Wrong("[CLS] and [SEP] are never deleted, so their scores must be 0 (or leave them out: one "
                        "value per content token).")
        vector = vector[1:-1]
    if vector.shape != right.shape:
        raise Wrong(f"Your answer has {vector.numel()} values; pair 0 has {len(right)} content tokens (positions "
                    f"{positions[0]}…{positions[-1]}): one score each.")
    if _same(vector, right, atol=1e-3):
        top = positions[int(right.argmax())]
        return (f"Deleting the token at position {top} lowers the cosine most ({float(right.max()):.2f}). "
                f"Occlusion is a faithfulness test for one token at a time; the deletion curve removes them "
                f"cumulatively.")
    for value, message in mistakes:
        if _same(vector, value, atol=1e-3):
            raise Wrong(message)
    raise Wrong("These are not the leave-one-out drops of pair 0. For each content position j: copy input_ids, "
                "set position j to tokenizer.mask_token_id, and take f(x) minus the cosine of that copy.")
