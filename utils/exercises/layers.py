"""Checkers for lesson 05 (layers)."""

from __future__ import annotations

from . import Wrong, exercise, expect_type

BASE_H, BASE_I = 768, 3072


def _layer_parts(h: int, i: int) -> dict[str, int]:
    return {"qkvo": 4 * h * h, "qkvo_bias": 4 * h, "ffn": 2 * h * i, "ffn_bias": i + h, "ln": 4 * h}


@exercise("05.layer_parameters")
def layer_parameters(answer) -> str:
    """Parameters of ONE encoder layer of BERT-Base (H = 768, I = 3072), from the config alone."""
    answer = expect_type(answer, int, "4 * H * H + ...")
    p = _layer_parts(BASE_H, BASE_I)
    right = sum(p.values())
    if answer == right:
        return (f"4H² + 4H (attention) + 2HI + I + H (feed-forward) + 4H (two LayerNorms) = {right:,}. "
                f"Twelve of them are {12 * right:,} of BERT-Base's ~110 M; the rest is mostly the embedding table.")
    no_bias = right - p["qkvo_bias"] - p["ffn_bias"]
    mistakes = {
        no_bias - p["ln"]: "You counted the weight matrices only. Each Linear also has a bias (4 × H in attention, "
                           "I + H in the feed-forward block), and each of the two LayerNorms has a scale and a shift.",
        no_bias: "Close: the LayerNorms are in, but the biases are missing — every Linear layer has one "
                 "(4 × H in attention, I + H in the feed-forward block).",
        right - p["ln"]: "Close: you forgot the two LayerNorms of the layer (after attention and after the "
                         "feed-forward block), each with a scale and a shift of size H: 4 × H in all.",
        right - BASE_H * BASE_H - BASE_H: "You have Q, K and V but not the attention output projection "
                                          "(another H × H matrix + bias) that mixes the heads back together.",
        right - BASE_H * BASE_I - BASE_I: "The feed-forward block has two matrices: H → I (up) and I → H (down).",
        right - BASE_H * BASE_I - BASE_H: "The feed-forward block has two matrices: H → I (up) and I → H (down).",
        p["qkvo"] + p["qkvo_bias"]: "That is the attention block only; add the feed-forward block and LayerNorms.",
        p["qkvo"] + p["qkvo_bias"] + 2 * BASE_H: "That is the attention block only; add the feed-forward block.",
        sum(_layer_parts(384, 1536).values()): "That is one layer of OUR model (H = 384, I = 1536). The question "
                                               "asks for BERT-Base: H = 768, I = 3072.",
        12 * right: "That is all 12 layers; the question asks for one.",
        109_482_240: "That is the whole BERT-Base model; the question asks for one encoder layer.",
    }
    if answer in mistakes:
        raise Wrong(mistakes[answer])
    raise Wrong("Add up one layer part by part: Q, K, V and output (H × H + H each), feed-forward up "
                "(H × I + I) and down (I × H + H), two LayerNorms (2 × H each). Use H = 768, I = 3072.")


@exercise("05.hidden_states_base_large")
def hidden_states_base_large(answer) -> str:
    """``len(outputs.hidden_states)`` for BERT-Base and for BERT-Large, as a pair (base, large)."""
    answer = expect_type(answer, (tuple, list), "(?, ?)")
    if len(answer) != 2 or not all(isinstance(a, int) and not isinstance(a, bool) for a in answer):
        raise Wrong("Give two whole numbers, BERT-Base first: (base, large).")
    base, large = answer
    if (base, large) == (13, 25):
        return ("Embedding output + one tensor per layer: 12 + 1 = 13 and 24 + 1 = 25. The pooler output is not "
                "in hidden_states, and there are no decoder layers to count.")
    if (base, large) == (25, 13):
        raise Wrong("Right numbers, wrong order: BERT-Base first, then BERT-Large.")
    if (base, large) == (12, 24):
        raise Wrong("Those are the layer counts. hidden_states also holds the embedding output (index 0), "
                    "the input of layer 1.")
    if (base, large) in ((13, 24), (12, 25)):
        raise Wrong("One of the two is off by one: both models add the embedding output to their layer count.")
    if (base, large) == (14, 26):
        raise Wrong("The pooler's output is a separate field (pooler_output), not one of the hidden_states.")
    if (base, large) == (25, 49):
        raise Wrong("BERT has no decoder. The original Transformer had 6 encoder + 6 decoder layers; BERT keeps "
                    "only encoder layers: 12 for Base, 24 for Large.")
    if 7 in (base, large):
        raise Wrong("7 is our 6-layer model's count. Base has 12 layers and Large 24.")
    raise Wrong("len(hidden_states) = num_hidden_layers + 1 (the embedding output comes first). Base has 12 "
                "layers, Large 24.")


@exercise("05.probe_first_layer")
def probe_first_layer(answer) -> str:
    """First layer where the [SEP] probe reaches >= 0.9 on sentences whose attractor differs from the subject."""
    import numpy as np

    from ..layers import lesson_corpus, reference_probe

    answer = expect_type(answer, int, "4")
    corpus = lesson_corpus()
    agree = corpus[corpus.task == "agreement"]
    table = reference_probe("[SEP]").table({"attractor differs": (agree.label != agree.attractor).to_numpy()})
    hard, overall = table["attractor differs"].to_numpy().round(3), table["accuracy"].to_numpy().round(3)

    def first(values) -> int | None:
        hits = np.flatnonzero(values >= 0.9)
        return int(hits[0]) if len(hits) else None

    right = first(hard)
    if right is None:  # pragma: no cover - only if the model or data changed
        raise Wrong("On this machine the probe never reaches 0.9: answer -1 and tell your instructor.")
    if answer == right:
        return (f"Layer {right}: the mismatch column first reaches {hard[right]:.3f} there. The subject's number "
                f"needs several layers of attention to reach [SEP] when a noun of the other number sits closer.")
    if answer == first(overall):
        also = (" (Or you counted rows from 1: row 0 is the embedding output, row k is layer k.)"
                if answer == right - 1 else "")
        raise Wrong("That is where the overall accuracy reaches 0.9. Read the 'attractor differs' column: the "
                    "hard sentences, where the noun just before the verb has the other number." + also)
    if answer == int(np.argmax(hard)):
        raise Wrong("That is where the curve peaks. The question asks for the first layer that reaches 0.9.")
    if answer == right - 1:
        raise Wrong("Off by one: the table's row 0 is the embedding output and row k is layer k. Read the "
                    "'layer' index, not a position you counted from 1.")
    if answer == 0:
        raise Wrong("Layer 0 is the embedding output: there [SEP] looks the same for singular and plural, so the "
                    "probe is exactly at chance (0.5).")
    raise Wrong("Go down the 'attractor differs' column from layer 0 and stop at the first value ≥ 0.9.")


_RESIDUAL_TEXTS = ("The dogs near the old tree barked at the passing bus.", "A river bank.")


def _layer_variant(h, layer, attention_mask, *, attention_residual=True, ffn_residual=True, layer_norm=True,
                   mask=True, gelu="none"):
    """One BertLayer from its weights, with parts switched off: the reference the checker compares against."""
    import torch

    with torch.no_grad():
        att, (b, n, d) = layer.attention, h.shape
        heads = att.self.num_attention_heads
        q, k, v = (lin(h).view(b, n, heads, -1).transpose(1, 2)
                   for lin in (att.self.query, att.self.key, att.self.value))
        scores = q @ k.transpose(-1, -2) / (d // heads) ** 0.5
        if mask:
            scores = scores + (1 - attention_mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
        context = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, d)
        norm1 = att.output.LayerNorm if layer_norm else torch.nn.Identity()
        norm2 = layer.output.LayerNorm if layer_norm else torch.nn.Identity()
        a = norm1(att.output.dense(context) + (h if attention_residual else 0))
        f = layer.output.dense(torch.nn.functional.gelu(layer.intermediate.dense(a), approximate=gelu))
        return norm2(f + (a if ffn_residual else 0))


def _residual_cases():
    import torch

    from ..model import forward, load_model

    encoding, outputs = forward(list(_RESIDUAL_TEXTS))
    layers = load_model().model.encoder.layer
    return [(outputs.hidden_states[i], layers[i], encoding["attention_mask"]) for i in (0, 3)], torch


@exercise("05.layer_without_residuals")
def layer_without_residuals(answer) -> str:
    """A function ``(h, layer, attention_mask) -> [batch, seq_len, hidden]``: one encoder layer whose two residual
    connections are removed (both LayerNorms kept). Run on layers 0 and 3 of a padded batch of two sentences."""
    if not callable(answer):
        raise Wrong("Give the function itself (answer = layer_without_residuals, no brackets), not its result.")
    cases, torch = _residual_cases()
    close = torch.allclose
    results = []
    for h, layer, mask in cases:
        try:
            with torch.no_grad():
                out = answer(h.clone(), layer, mask.clone())
        except Exception as error:  # the learner's code failed: say where, calmly
            raise Wrong(f"Your function raised {type(error).__name__}: {error}. Start from encoder_layer in the "
                        "lesson and change only the two lines with a residual.") from None
        if not isinstance(out, torch.Tensor) or out.shape != h.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise Wrong(f"Your function must return a tensor shaped like h, {tuple(h.shape)}; it returned {got}.")
        results.append((out, h, layer, mask))

    def matches(**switches) -> bool:
        return all(close(out, _layer_variant(h, layer, mask, **switches), atol=1e-4, rtol=1e-4)
                   for out, h, layer, mask in results)

    if matches(attention_residual=False, ffn_residual=False):
        cos_with = cos_without = 0.0
        for out, h, layer, mask in results[1:]:                    # layer 3: how much of its input survives?
            real = mask.bool()
            full = _layer_variant(h, layer, mask)
            cos_with = float(torch.nn.functional.cosine_similarity(full, h, dim=-1)[real].mean())
            cos_without = float(torch.nn.functional.cosine_similarity(out, h, dim=-1)[real].mean())
        return (f"Without the residuals, layer 3's output keeps a mean cosine of {cos_without:.2f} with its input "
                f"token vectors, against {cos_with:.2f} for the real layer: the residual carries each token's own "
                "vector through the layer, and attention plus feed-forward only add a change to it.")
    if matches():
        raise Wrong("That is the real layer: it equals hidden_states[i + 1]. Remove the two residuals: the "
                    "LayerNorms get the sub-layer outputs alone, without adding h (or the attention output) back.")
    if matches(attention_residual=False):
        raise Wrong("You removed the residual around attention only; remove the one around the feed-forward block "
                    "too.")
    if matches(ffn_residual=False):
        raise Wrong("You removed the residual around the feed-forward block only; remove the one around attention "
                    "too.")
    if matches(attention_residual=False, ffn_residual=False, layer_norm=False):
        raise Wrong("You dropped the LayerNorms as well. Keep attention.output.LayerNorm and output.LayerNorm; "
                    "remove only the additions.")
    if matches(attention_residual=False, ffn_residual=False, mask=False):
        raise Wrong("The padding is attended to: add (1 - attention_mask) × a large negative number to the scores "
                    "before the softmax, as encoder_layer does.")
    if matches(attention_residual=False, ffn_residual=False, gelu="tanh"):
        raise Wrong("Close, but that is the tanh approximation of GELU; this model's hidden_act 'gelu' is the exact "
                    "(erf) one: torch.nn.functional.gelu(x) with no approximate=.")
    raise Wrong("Not the layer without residuals. Copy encoder_layer, then make the two LayerNorms take only the "
                "sub-layer outputs: LayerNorm(dense(context)) and LayerNorm(output.dense(…)).")
