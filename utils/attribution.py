"""Lesson 08: which input tokens made a sentence vector? Attention, rollout, flow, gradients, and a faithfulness test.

Every method here answers the same question for ONE sentence (no padding, batch of 1): how much did input token
``j`` contribute to the mean-pooled sentence vector, or to its cosine with a reference sentence's vector? The lesson
writes each method out in a cell; these helpers are the same computations, checked, for reuse across sentences
(the explorer, the faithfulness table, the tests).

Shapes: ``seq_len`` counts every token of the sentence, ``[CLS]`` and ``[SEP]`` included; ``attentions`` is the
model's tuple of ``layers`` tensors ``[1, heads, seq_len, seq_len]``.
"""

from __future__ import annotations

from .errors import CourseTypeError, CourseValueError

METHODS = ("raw attention", "rollout", "flow", "gradient × input", "integrated gradients")
CHUNK = 256  # rows per forward pass in faithfulness_curves (bounds the memory peak)
FLOW_SCALE = 10**6  # scipy's maximum_flow needs integer capacities: weights are scaled by this and rounded


def _tensor(value, name: str, ndim: int | None = None):
    import torch

    if not isinstance(value, torch.Tensor):
        raise CourseTypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None and value.ndim != ndim:
        raise CourseValueError(f"{name} must have {ndim} dimensions, got shape {list(value.shape)}")
    return value


def load_pairs():
    """The lesson's sentence / reference pairs (``data/attribution_pairs.tsv``): a DataFrame with those columns."""
    from .data import read_tsv

    return read_tsv("attribution_pairs.tsv", columns=["sentence", "reference"])


def head_average(attentions):
    """``attentions`` (tuple of ``[1, heads, seq_len, seq_len]``, one sentence) -> ``[layers, seq_len, seq_len]``,
    the mean over heads of each layer."""
    import torch

    if not isinstance(attentions, (tuple, list)) or not attentions:
        raise CourseTypeError("attentions must be the model's tuple of per-layer tensors: outputs.attentions")
    for a in attentions:
        _tensor(a, "each attentions[i]", 4)
        if a.shape[0] != 1:
            raise CourseValueError(f"one sentence at a time: attentions[i] has batch {a.shape[0]}; pass "
                                   f"tuple(a[b:b + 1] for a in outputs.attentions)")
    return torch.stack([a[0].mean(dim=0) for a in attentions])


def residual_attention(attentions):
    """Abnar & Zuidema's layer matrices: row-normalised ``(A + I) / 2`` per layer, ``[layers, seq_len, seq_len]``."""
    import torch

    a = head_average(attentions)
    mixed = (a + torch.eye(a.shape[-1])) / 2
    return mixed / mixed.sum(dim=-1, keepdim=True)


def raw_attention(attentions):
    """Last layer's head-averaged attention, averaged over all query rows (what mean pooling reads): ``[seq_len]``."""
    return head_average(attentions)[-1].mean(dim=0)


def rollout(attentions):
    """Attention rollout ``[seq_len, seq_len]``: row ``i`` says how much output position ``i`` draws from each input
    position, through all layers (product of the residual matrices, last layer on the left)."""
    layers = residual_attention(attentions)
    result = layers[0]
    for layer in layers[1:]:
        result = layer @ result
    return result


def rollout_attribution(attentions):
    """Rollout to the mean-pooled vector: the mean of the rollout rows, ``[seq_len]`` (sums to 1)."""
    return rollout(attentions).mean(dim=0)


def attention_flow(attentions, *, scale: int = FLOW_SCALE):
    """Attention flow to the mean-pooled vector, ``[seq_len]``: for each input position ``j``, the maximum flow from
    a source feeding every last-layer position (capacity 1/seq_len each) down the layers (capacities: the residual
    matrices) to input node ``j``. Uses ``scipy.sparse.csgraph.maximum_flow`` (integer capacities, scaled)."""
    import numpy as np
    import torch
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 100:
        raise CourseValueError(f"scale must be an int ≥ 100 (capacities are rounded to 1/scale), got {scale!r}")
    layers = residual_attention(attentions).double().numpy()  # [layers, n, n]
    n_layers, n, _ = layers.shape
    size = (n_layers + 1) * n + 1  # node (l, i) is l * n + i, l = 0 (inputs) … layers; the source is the last node
    source = size - 1
    capacity = np.zeros((size, size), dtype=np.int64)
    for layer in range(1, n_layers + 1):  # edge (l, i) -> (l - 1, j) with capacity A_l[i, j]
        capacity[layer * n:(layer + 1) * n, (layer - 1) * n:layer * n] = np.rint(layers[layer - 1] * scale)
    capacity[source, n_layers * n:(n_layers + 1) * n] = round(scale / n)
    graph = csr_matrix(capacity)
    values = [maximum_flow(graph, source, j).flow_value for j in range(n)]
    return torch.tensor(values, dtype=torch.float32) / scale


def sentence_vector(bert, input_ids=None, *, inputs_embeds=None, attention_mask=None, token_type_ids=None):
    """Mean-pooled last layer for ``input_ids`` or ``inputs_embeds`` ``[batch, seq_len(, hidden)]`` -> ``[batch,
    hidden]``; keeps the autograd graph when called with gradients on."""
    import torch

    from .model import mean_pooling

    _, model = bert
    like = input_ids if input_ids is not None else inputs_embeds
    if like is None or (input_ids is not None and inputs_embeds is not None):
        raise CourseValueError("pass exactly one of input_ids or inputs_embeds")
    shape = like.shape[:2]
    if attention_mask is None:
        attention_mask = torch.ones(shape, dtype=torch.long)
    if token_type_ids is None:
        token_type_ids = torch.zeros(shape, dtype=torch.long)
    out = model(input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                token_type_ids=token_type_ids)
    return mean_pooling(out.last_hidden_state, attention_mask)


def cosine_rows(vectors, references):
    """Cosine of row i of ``vectors [batch, hidden]`` with row i of ``references [batch, hidden]`` -> ``[batch]``."""
    import torch.nn.functional as F

    _tensor(vectors, "vectors", 2)
    _tensor(references, "references", 2)
    return F.cosine_similarity(vectors, references, dim=-1)


def cosine_to(vectors, reference):
    """Cosine of each row of ``vectors [batch, hidden]`` with ``reference [hidden]`` -> ``[batch]``."""
    import torch.nn.functional as F

    _tensor(vectors, "vectors", 2)
    _tensor(reference, "reference", 1)
    return F.cosine_similarity(vectors, reference[None], dim=-1)


def integrated_gradients(bert, input_ids, references, *, attention_mask=None, steps: int = 16):
    """Integrated gradients of ``f = cosine(sentence vector, reference)`` w.r.t. the word embeddings, for a batch
    ``input_ids [batch, seq_len]`` (``attention_mask`` for padding) and ``references [batch, hidden]``. Baseline:
    all-zero word embeddings (positions and token types kept); trapezoid rule with ``steps`` intervals, all steps
    of all sentences in one forward and backward pass. Returns ``(attributions [batch, seq_len], f(x) [batch],
    f(baseline) [batch])``. ``steps=0`` gives gradient × input (the gradient at x alone; f(baseline) then NaN)."""
    import torch

    _tensor(input_ids, "input_ids", 2)
    _tensor(references, "references", 2)
    if references.shape[0] != input_ids.shape[0]:
        raise CourseValueError(f"one reference per sentence: {input_ids.shape[0]} sentences, "
                               f"{references.shape[0]} references")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise CourseValueError(f"steps must be an int ≥ 0 (0 = gradient × input), got {steps!r}")
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    _, model = bert
    batch = input_ids.shape[0]
    with torch.no_grad():
        x = model.embeddings.word_embeddings(input_ids)  # [batch, seq_len, hidden]
    alphas = torch.linspace(0, 1, steps + 1) if steps else torch.ones(1)
    path = (alphas[:, None, None, None] * x).flatten(0, 1).requires_grad_(True)  # [(steps + 1) * batch, ...]
    mask = attention_mask.repeat(len(alphas), 1)
    f = cosine_rows(sentence_vector(bert, inputs_embeds=path, attention_mask=mask), references.repeat(len(alphas), 1))
    (grads,) = torch.autograd.grad(f.sum(), path)
    grads, f = grads.view(len(alphas), *x.shape), f.detach().view(len(alphas), batch)
    weights = torch.full((len(alphas),), 1.0 / max(steps, 1))
    if steps:
        weights[0] = weights[-1] = 0.5 / steps  # trapezoid rule
    attributions = ((weights[:, None, None, None] * grads).sum(dim=0) * x).sum(dim=-1) * attention_mask
    if steps:
        return attributions, f[-1], f[0]
    return attributions, f[0], torch.full((batch,), float("nan"))


def content_positions(input_ids, special_ids) -> list[int]:
    """Positions of ``input_ids [1, seq_len]`` that are not special tokens (the ones the curves delete)."""
    _tensor(input_ids, "input_ids", 2)
    return [i for i, t in enumerate(input_ids[0].tolist()) if t not in set(special_ids)]


def order_by(scores, positions) -> list[int]:
    """``positions`` sorted by ``scores [seq_len]``, highest first (ties: earlier position first)."""
    _tensor(scores, "scores", 1)
    return sorted(positions, key=lambda p: (-float(scores[p]), p))


def curve_steps(n: int, points: int | None = None) -> list[int]:
    """The k at which a curve over n tokens is sampled: all of 0 … n, or ``points`` evenly spaced (0 and n
    included, rounded, duplicates dropped)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise CourseValueError(f"n must be a positive int (the number of content tokens), got {n!r}")
    if points is None:
        return list(range(n + 1))
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise CourseValueError(f"points must be an int ≥ 2 (k = 0 and k = n at least), got {points!r}")
    return sorted({round(i * n / (points - 1)) for i in range(points)})


def curve_inputs(input_ids, order, mask_id: int, *, mode: str = "deletion", ks=None):
    """``[len(ks), seq_len]`` copies of ``input_ids [1, seq_len]``: row for k has the first k positions of
    ``order`` replaced by ``mask_id`` (deletion) or only those kept, the other content positions masked
    (insertion). ``ks`` defaults to 0 … len(order)."""
    if mode not in ("deletion", "insertion"):
        raise CourseValueError(f"mode must be 'deletion' or 'insertion', got {mode!r}")
    _tensor(input_ids, "input_ids", 2)
    ks = list(range(len(order) + 1)) if ks is None else list(ks)
    rows = input_ids.repeat(len(ks), 1)
    for row, k in enumerate(ks):
        hidden = order[:k] if mode == "deletion" else order[k:]
        rows[row, hidden] = mask_id
    return rows


def curve_area(curve, ks=None) -> float:
    """Area under a curve sampled at ``ks`` removed (or kept) tokens (default: k = 0 … n, evenly), with the x axis
    rescaled to k / n in 0 … 1 (trapezoid rule)."""
    import numpy as np

    values = np.asarray(curve, dtype=float)
    if values.ndim != 1 or len(values) < 2:
        raise CourseValueError(f"a curve needs at least 2 points (k = 0 and k = n), got shape {values.shape}")
    x = np.arange(len(values), dtype=float) if ks is None else np.asarray(ks, dtype=float)
    if x.shape != values.shape or x[0] != 0 or (np.diff(x) <= 0).any():
        raise CourseValueError(f"ks must rise from 0, one per value: got {list(x)} for {len(values)} values")
    x = x / x[-1]
    return float(((values[1:] + values[:-1]) / 2 * np.diff(x)).sum())


def random_orders(positions, seeds) -> list[list[int]]:
    """One random permutation of ``positions`` per seed (``numpy.random.default_rng(seed)``)."""
    import numpy as np

    return [list(np.random.default_rng(seed).permutation(positions).tolist()) for seed in seeds]


def faithfulness_curves(bert, items: list, mask_id: int, *, points: int | None = None) -> list[dict]:
    """Deletion and insertion curves for several sentences in one batch without gradients. ``items``: one
    ``(input_ids [1, seq_len], reference [hidden], {name: order})`` per sentence. Returns, per item, ``{name:
    {"k": ks, "deletion": [len(ks)], "insertion": [len(ks)]}}``: the cosine to the reference after k of n steps,
    at every k or at ``points`` evenly spaced ones (:func:`curve_steps`)."""
    import torch

    if not isinstance(items, list) or not items:
        raise CourseValueError("items must be a non-empty list of (input_ids, reference, {name: order})")
    width = max(ids.shape[1] for ids, _, _ in items)
    rows, masks, owners = [], [], []
    for item, (ids, reference, orders) in enumerate(items):
        if not isinstance(orders, dict) or not orders:
            raise CourseValueError("each item's orders must be a non-empty dict {name: list of positions}")
        _tensor(reference, "reference", 1)
        blocks = torch.cat([curve_inputs(ids, order, mask_id, mode=mode, ks=curve_steps(len(order), points))
                            for order in orders.values() for mode in ("deletion", "insertion")])
        pad = width - ids.shape[1]
        rows.append(torch.nn.functional.pad(blocks, (0, pad)))
        masks.append(torch.nn.functional.pad(torch.ones_like(blocks), (0, pad)))
        owners.append(torch.full((len(blocks), 1), item))
    key = torch.cat([torch.cat(owners), torch.cat(rows), torch.cat(masks)], dim=1)
    unique, inverse = torch.unique(key, dim=0, return_inverse=True)  # many rows repeat (k = 0, k = n, …)
    references = torch.stack([reference for _, reference, _ in items])
    with torch.no_grad():  # in chunks, so a long list of rows never holds all activations at once
        vectors = torch.cat([sentence_vector(bert, chunk[:, 1:width + 1], attention_mask=chunk[:, width + 1:])
                             for chunk in unique.split(CHUNK)])
        cosines = cosine_rows(vectors, references[unique[:, 0]])[inverse]
    results, start = [], 0
    for _, _, orders in items:
        curves = {}
        for name, order in orders.items():
            ks = curve_steps(len(order), points)
            n = len(ks)
            curves[name] = {"k": ks, "deletion": cosines[start:start + n],
                            "insertion": cosines[start + n:start + 2 * n]}
            start += 2 * n
        results.append(curves)
    return results


def attribute(bert, sentences: list[str], references, *, steps: int = 8) -> list[dict]:
    """All five methods for each sentence, gradients batched: per sentence ``{"input_ids": [1, n], "tokens",
    "positions" (content tokens), "scores": {method: [n]}}`` with methods in :data:`METHODS` order.
    ``references [len(sentences), hidden]``: each sentence's reference vector."""
    from .model import forward

    if not isinstance(sentences, list) or not sentences or not all(isinstance(t, str) for t in sentences):
        raise CourseTypeError("sentences must be a non-empty list of strings")
    tokenizer, _ = bert
    encoding, outputs = forward(sentences, bert, output_hidden_states=False)
    ids, mask = encoding["input_ids"], encoding["attention_mask"]
    gxi, _, _ = integrated_gradients(bert, ids, references, attention_mask=mask, steps=0)
    ig, _, _ = integrated_gradients(bert, ids, references, attention_mask=mask, steps=steps)
    runs = []
    for b, n in enumerate(mask.sum(dim=1).tolist()):
        attentions = tuple(a[b:b + 1, :, :n, :n] for a in outputs.attentions)  # this sentence alone, no padding
        one = ids[b:b + 1, :n]
        runs.append({"input_ids": one, "tokens": tokenizer.convert_ids_to_tokens(one[0]),
                     "positions": content_positions(one, tokenizer.all_special_ids),
                     "scores": {"raw attention": raw_attention(attentions), "rollout": rollout_attribution(attentions),
                                "flow": attention_flow(attentions), "gradient × input": gxi[b, :n],
                                "integrated gradients": ig[b, :n]}})
    return runs


def rank_agreement(scores: dict, positions):
    """Spearman correlation between every two methods' scores, over ``positions`` only: a methods × methods table."""
    import pandas as pd

    from .model_outputs import spearman

    if not isinstance(scores, dict) or len(scores) < 2:
        raise CourseValueError("scores must be a dict of at least two methods {name: scores [seq_len]}")
    names = list(scores)
    table = pd.DataFrame(1.0, index=names, columns=names)
    for a in names:
        for b in names:
            if a != b:
                table.loc[a, b] = spearman(scores[a][positions].tolist(), scores[b][positions].tolist())
    return table
