"""Checkers for lesson 07 (using sentence vectors).

Exercise 1 asks for a variation of the lesson's central cell (the normalised mean of another layer) on the lesson's
held-out sentences, ``utils.sentence_embeddings.HELD_OUT``; the checker runs the model once for its reference and
recognises the usual mistakes by recomputing them. Exercise 2 asks for retrieval metrics the lesson does not
compute (recall@3 and MRR) from a fixed list of ranks, so the checker needs no model.
"""

from __future__ import annotations

from functools import lru_cache

from . import Wrong, exercise, expect_tensor, same_tensor

LAYER = 3  # exercise 1: "the normalised mean of layer 3"
RANKS = (1, 4, 2, 1, 12, 3, 1, 7)  # exercise 2: the relevant document's rank for eight queries
K = 3  # exercise 2: recall@3


@lru_cache(maxsize=1)
def _reference():
    from ..model import forward, load_model
    from ..sentence_embeddings import HELD_OUT

    encoding, outputs = forward(list(HELD_OUT), load_model(), output_attentions=False)
    return encoding, outputs


def layer_mistakes(encoding, outputs, layer: int = LAYER):
    """The right answer and ``[(wrong tensor, message)]`` for exercise 1 (tests feed each wrong tensor back)."""
    import torch.nn.functional as F

    from ..model import mean_pooling

    mask = encoding["attention_mask"]
    hidden = outputs.hidden_states[layer]
    mean = mean_pooling(hidden, mask)
    right = F.normalize(mean, dim=-1)
    mistakes = [
        (mean, "These are the right means, but not normalised: divide each row by its L2 norm "
               "(F.normalize(mean, dim=-1)), so every vector has length 1."),
        (F.normalize(hidden.mean(dim=1), dim=-1), "The padding positions were averaged in: weight each position "
                                                  "by the attention mask and divide by the number of real tokens."),
        (F.normalize(mean, dim=0), "You normalised each hidden dimension across the batch (dim=0); normalise each "
                                   "sentence's vector instead (dim=-1)."),
        (F.normalize(hidden[:, 0], dim=-1), "That is the normalised [CLS] row of layer 3; the exercise asks for the "
                                            "mean over all real tokens."),
        (mean_pooling(F.normalize(hidden, dim=-1), mask), "You normalised every token before averaging; average "
                                                          "first, then normalise the mean (the result has length 1)."),
    ]
    for other, states in enumerate(outputs.hidden_states):
        if other != layer:
            mistakes.append((F.normalize(mean_pooling(states, mask), dim=-1),
                             f"That is the normalised mean of hidden_states[{other}]; layer {layer} is "
                             f"hidden_states[{layer}] (index 0 is the embedding output)."))
    return right, mistakes


@exercise("07.layer_mean")
def layer_mean(answer) -> str:
    """The normalised mask-aware mean of ``hidden_states[3]`` for HELD_OUT: ``[3, 384]``."""
    encoding, outputs = _reference()
    right, mistakes = layer_mistakes(encoding, outputs)
    tensor = expect_tensor(answer, "F.normalize(mean, dim=-1)")
    if tuple(tensor.shape) != tuple(right.shape):
        raise Wrong(f"Your tensor has shape {list(tensor.shape)}; one vector per held-out sentence is "
                    f"{list(right.shape)} [batch, hidden]. Pool over the seq_len dimension (dim=1).")
    if same_tensor(tensor, right):
        return (f"The mask-aware mean of hidden_states[{LAYER}], divided by its length: the same recipe as "
                f"SentenceTransformer.encode, one layer earlier.")
    for value, message in mistakes:
        if same_tensor(tensor, value) and not same_tensor(value, right):
            raise Wrong(message)
    raise Wrong(f"Not the normalised mean of layer {LAYER}: take outputs.hidden_states[{LAYER}], average the real "
                f"tokens with the attention mask, then F.normalize(…, dim=-1).")


def _as_pair(answer):
    import numpy as np

    if isinstance(answer, dict):
        raise Wrong("Give a pair (recall_at_3, mrr), e.g. (0.5, 0.4), not a dict.")
    if not isinstance(answer, (tuple, list, np.ndarray)) or len(answer) != 2:
        raise Wrong(f"Your answer is a {type(answer).__name__}; give two numbers (recall_at_3, mrr), e.g. (0.5, 0.4).")
    values = []
    for item in answer:
        if hasattr(item, "item") and getattr(item, "ndim", 0) == 0:
            item = item.item()
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise Wrong(f"Each of the two values must be a number, got {type(item).__name__}.")
        values.append(float(item))
    return values


def metric_mistakes(ranks=RANKS, k: int = K):
    """The right ``(recall@k, MRR)`` and ``[(wrong recall or None, wrong MRR or None, message)]`` for exercise 2."""
    import statistics

    n = len(ranks)
    right = (sum(r <= k for r in ranks) / n, sum(1 / r for r in ranks) / n)
    mistakes = [
        (sum(r < k for r in ranks) / n, None, f"recall@{k} counts ranks 1 to {k} INCLUDED: use rank <= {k}."),
        (float(sum(r <= k for r in ranks)), None, f"That is the number of queries with a hit; recall@{k} is the "
                                                   f"fraction (divide by {n})."),
        (None, 1 / statistics.mean(ranks), "That is 1 / (mean rank); MRR is the mean of 1 / rank, query by query."),
        (None, float(statistics.mean(ranks)), "That is the mean rank; MRR averages the reciprocal ranks 1 / rank."),
        (None, sum(1 / r for r in ranks), f"That is the sum of 1 / rank; divide by the number of queries ({n})."),
        (None, sum(r == 1 for r in ranks) / n, "That is recall@1; MRR gives partial credit 1 / rank to lower ranks."),
    ]
    return right, mistakes


@exercise("07.metrics")
def metrics(answer) -> str:
    """``(recall@3, MRR)`` for ``RANKS``."""
    import math

    recall, mrr = _as_pair(answer)
    (right_recall, right_mrr), mistakes = metric_mistakes()
    if math.isclose(recall, right_mrr, abs_tol=1e-6) and math.isclose(mrr, right_recall, abs_tol=1e-6):
        raise Wrong("Both values are right but swapped: give (recall_at_3, mrr) in that order.")
    for wrong_recall, wrong_mrr, message in mistakes:
        if wrong_recall is not None and math.isclose(recall, wrong_recall, abs_tol=1e-6) \
                and not math.isclose(wrong_recall, right_recall, abs_tol=1e-6):
            raise Wrong(message)
        if wrong_mrr is not None and math.isclose(mrr, wrong_mrr, abs_tol=1e-6) \
                and not math.isclose(wrong_mrr, right_mrr, abs_tol=1e-6):
            raise Wrong(message)
    if not math.isclose(recall, right_recall, abs_tol=1e-6):
        raise Wrong(f"recall@{K} is the fraction of queries whose relevant document has rank <= {K}.")
    if not math.isclose(mrr, right_mrr, abs_tol=1e-6):
        raise Wrong("MRR is the mean over queries of 1 / rank of the relevant document.")
    return (f"recall@{K} = {right_recall:.3f} (a hit or not, per query) and MRR = {right_mrr:.3f} (1 / rank, so a "
            f"rank-12 hit still earns {1 / 12:.3f}).")
