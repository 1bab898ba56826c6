"""Lesson 05 (layers): configs, parameter counts, memory, FLOPs, timing; the data, the single forward pass and every
per-layer analysis; the plots, the layer explorer and the checkers (utils/layers.py, utils/plots/layers.py,
utils/widgets/layers.py, utils/exercises/layers.py). The lesson states each claim once in plain words; the exact
figures and thresholds it rests on are pinned here, computed by the same helpers."""

import functools
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import utils.layers as la  # noqa: E402
from utils import CourseTypeError, CourseValueError, evaluate, read_tsv  # noqa: E402
from utils.layers import (  # noqa: E402
    ARCHITECTURES,
    RECIPES,
    CorpusRun,
    architecture_table,
    attention_statistics,
    bert_config,
    checkpoint_tensor_bytes,
    combine_layers,
    compare_probes,
    contextuality,
    count_flops,
    count_parameters,
    feature_choice,
    flops_per_sequence,
    flops_per_token,
    grouped_folds,
    layer_parameter_formula,
    lesson_corpus,
    mean_pooling_by_layer,
    meta_model,
    nearest_sentences,
    paired_test,
    parameter_formula,
    parameter_table,
    probe_by_layer,
    recipe_outcomes,
    reference_probe,
    retrieval_accuracy,
    retrieval_by_layer,
    retrieval_hits,
    run_corpus,
    sense_probe,
    sense_separation,
    time_forward,
    token_vectors,
    weight_memory,
    word_tokens,
)
from utils.plots.layers import (  # noqa: E402
    plot_attention_by_layer,
    plot_contextuality,
    plot_forward_time,
    plot_parameters,
    plot_probe,
    plot_sense_separation,
)


@pytest.fixture(scope="module")
def metas():
    return {name: meta_model(bert_config(name)) for name in ("BERT-Base", "BERT-Large")}


# ------------------------------------------------------------------------------------------- configs and counts
def test_architecture_table_separates_encoder_decoder_transformer_from_encoder_only_bert():
    table = architecture_table()
    assert list(table.index) == ["Transformer-base", "BERT-Base", "BERT-Large", "ours"]
    assert (table.loc["Transformer-base", "encoder layers"], table.loc["Transformer-base", "decoder layers"]) == (6, 6)
    assert (table.loc[["BERT-Base", "BERT-Large", "ours"], "decoder layers"] == 0).all()
    assert list(table["encoder layers"]) == [6, 12, 24, 6] and list(table["hidden"]) == [512, 768, 1024, 384]
    assert (table["head size"] == table["hidden"] // table["heads"]).all()


def test_ours_matches_the_loaded_model(model):
    ours, config = ARCHITECTURES["ours"], model.config
    assert (ours.encoder_layers, ours.hidden_size, ours.num_attention_heads, ours.intermediate_size,
            ours.vocab_size) == (config.num_hidden_layers, config.hidden_size, config.num_attention_heads,
                                 config.intermediate_size, config.vocab_size)


def test_bert_config_bad_input():
    with pytest.raises(CourseTypeError):
        bert_config(12)
    with pytest.raises(CourseValueError, match="decoder"):
        bert_config("Transformer-base")
    with pytest.raises(CourseValueError, match="BERT-Base"):
        bert_config("BERT-Huge")


def test_meta_models_have_no_storage_and_the_published_sizes(metas):
    for m in metas.values():
        assert all(p.device.type == "meta" for p in m.parameters())
        assert not any("decoder" in n or "crossattention" in n for n, _ in m.named_modules())
    assert sum(count_parameters(metas["BERT-Base"]).values()) == 109_482_240
    assert sum(count_parameters(metas["BERT-Large"]).values()) == 335_141_888


def test_counted_equals_closed_form_for_every_component(metas, model):
    for m in [*metas.values(), model]:
        counted = count_parameters(m)
        assert counted == parameter_formula(m.config)
        assert list(counted)[0] == "embeddings" and list(counted)[-1] == "pooler"
        assert len(counted) == m.config.num_hidden_layers + 2


def test_layer_formula_parts_add_up_to_one_real_layer(model):
    parts = layer_parameter_formula(model.config)
    real = sum(p.numel() for p in model.encoder.layer[0].parameters())
    assert sum(parts.values()) == real == 1_774_464
    h, i = model.config.hidden_size, model.config.intermediate_size
    assert real == 4 * h * h + 2 * h * i + 9 * h + i


def test_parameter_formula_without_pooler_and_bad_config():
    config = bert_config("ours")
    assert "pooler" not in parameter_formula(config, with_pooler=False)
    with pytest.raises(CourseTypeError, match="BertConfig"):
        parameter_formula({"hidden_size": 384})
    with pytest.raises(CourseTypeError):
        layer_parameter_formula(None)
    with pytest.raises(CourseTypeError):
        meta_model("BERT-Base")


def test_count_parameters_bad_input():
    with pytest.raises(CourseTypeError):
        count_parameters([1, 2, 3])


def test_parameter_table(metas, model):
    table = parameter_table({**metas, "ours": model})
    assert (table["total"] == table["formula total"]).all()
    assert table.loc["ours", "total"] == 22_713_216
    assert (table["embeddings"] + table["all layers"] + table["pooler"] == table["total"]).all()
    assert list(table["layers"]) == [12, 24, 6]
    with pytest.raises(CourseValueError):
        parameter_table({})
    with pytest.raises(CourseValueError):
        parameter_table([model])


# ------------------------------------------------------------------------------------------------------ memory
def test_weight_memory():
    assert weight_memory(10) == 40 and weight_memory(10, "float16") == 20 and weight_memory(10, "int8") == 10
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(CourseValueError):
            weight_memory(bad)
    with pytest.raises(CourseValueError, match="dtype"):
        weight_memory(10, "float8")


def test_checkpoint_header_has_one_float32_per_parameter(model):
    from utils.model import default_checkpoint_dir

    stored = checkpoint_tensor_bytes(default_checkpoint_dir())
    total = sum(p.numel() for p in model.parameters())
    assert stored["F32"]["values"] == total and stored["F32"]["bytes"] == weight_memory(total)
    assert stored["I64"]["values"] == model.config.max_position_embeddings  # the position_ids buffer


def test_checkpoint_header_counts_dtypes(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({"a": torch.zeros(3, 4, dtype=torch.float16), "b": torch.zeros(5)}, str(path))
    stored = checkpoint_tensor_bytes(tmp_path)
    assert stored == {"F16": {"tensors": 1, "values": 12, "bytes": 24}, "F32": {"tensors": 1, "values": 5, "bytes": 20}}
    assert checkpoint_tensor_bytes(path) == stored
    with pytest.raises(CourseValueError, match="safetensors"):
        checkpoint_tensor_bytes(tmp_path / "missing")


# ------------------------------------------------------------------------------------------------------ compute
@pytest.mark.parametrize("name, seq_len", [("ours", 128), ("ours", 7), ("BERT-Base", 32)])
def test_flop_formula_equals_torch_flop_counter(name, seq_len, metas):
    model = metas.get(name) or meta_model(bert_config(name))
    assert count_flops(model, seq_len) == flops_per_sequence(model.config, seq_len)


def test_flops_grow_linearly_with_layers_and_quadratically_with_width():
    base = bert_config("BERT-Base")
    deeper = bert_config("BERT-Base")
    deeper.num_hidden_layers = 24
    assert flops_per_token(deeper, 64) == 2 * flops_per_token(base, 64)
    wider = bert_config("BERT-Base")
    wider.hidden_size, wider.intermediate_size = 2 * 768, 2 * 3072
    ratio = flops_per_token(wider, 64) / flops_per_token(base, 64)
    assert 3.9 < ratio < 4.0  # the H² terms quadruple; only the small attention term merely doubles


def test_flops_bad_input():
    for bad in (0, -3, 2.5, True):
        with pytest.raises(CourseValueError):
            flops_per_sequence(bert_config("ours"), bad)
        with pytest.raises(CourseValueError):
            count_flops(meta_model(bert_config("ours")), bad)


def test_time_forward_returns_a_table_and_refuses_bad_lengths(model):
    table = time_forward(model, seq_lens=(4, 8), repeats=1)
    assert list(table.columns) == ["seq_len", "seconds", "GFLOP", "GFLOP/s"] and list(table.seq_len) == [4, 8]
    assert (table.seconds > 0).all() and table.GFLOP.is_monotonic_increasing
    with pytest.raises(CourseValueError, match="positions"):
        time_forward(model, seq_lens=(1024,))
    with pytest.raises(CourseValueError):
        time_forward(model, seq_lens=())
    with pytest.raises(CourseValueError):
        time_forward(model, seq_lens=(8,), repeats=0)


# ------------------------------------------------------------------------------------------------------- plots
def test_plots_draw_and_check_their_input(metas, model):
    table = parameter_table({**metas, "ours": model})
    ax = plot_parameters(table)
    assert ax.get_title() and ax.get_xlabel() == "parameters (millions)" and len(ax.patches) == 9
    timing = pd.DataFrame({"seq_len": [8, 16], "seconds": [0.01, 0.02], "GFLOP": [0.1, 0.2]})
    assert len(plot_forward_time(timing).lines) == 2
    layers = pd.DataFrame({k: [0.1, 0.2] for k in ("[CLS]", "[SEP]", "punctuation", "previous", "next",
                                                  "entropy (bits)")}, index=pd.Index([1, 2], name="layer"))
    axes = plot_attention_by_layer(layers, uniform_entropy=3.0)
    assert len(axes) == 2 and axes[1].get_ylabel() == "entropy (bits)"
    context = pd.DataFrame({k: [0.9, 0.5] for k in ("self-similarity", "anisotropy", "adjusted self-similarity",
                                                   "intra-sentence")}, index=[0, 1])
    assert len(plot_contextuality(context).lines) == 4
    senses = pd.DataFrame({"same sense": [0.9, 0.8], "different sense": [0.9, 0.7],
                           "nearest-neighbour accuracy": [0.5, 0.9]}, index=[0, 1])
    assert len(plot_sense_separation(senses)) == 2
    probe = pd.DataFrame({"[SEP]": [0.5, 0.9], "[SEP] · hard": [0.5, 0.8]}, index=[0, 1])
    ax = plot_probe(probe)
    assert [line.get_linestyle() for line in ax.lines[:2]] == ["-", "--"]
    plt.close("all")
    for plot in (plot_parameters, plot_forward_time, plot_attention_by_layer, plot_contextuality,
                 plot_sense_separation):
        with pytest.raises(CourseValueError, match="columns"):
            plot(pd.DataFrame({"x": [1]}))
    with pytest.raises(CourseValueError):
        plot_probe({"a": [1]})


# --------------------------------------------------------------------------------------------------- exercises
def test_layer_parameters_checker_accepts_the_formula_and_names_each_mistake():
    h, i = 768, 3072
    right = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 2 * (2 * h)
    assert evaluate("05.layer_parameters", right).correct
    assert right == count_parameters(meta_model(bert_config("BERT-Base")))["layer 1"]
    mistakes = {
        4 * h * h + 2 * h * i: "weight matrices only",
        4 * h * h + 2 * h * i + 4 * h: "biases are missing",
        right - 4 * h: "LayerNorms",
        right - h * h - h: "output projection",
        right - h * i - i: "two matrices",
        4 * h * h + 4 * h: "attention block only",
        1_774_464: "OUR model",
        12 * right: "all 12 layers",
        109_482_240: "whole BERT-Base",
        7: "part by part",
    }
    for answer, words in mistakes.items():
        feedback = evaluate("05.layer_parameters", answer)
        assert feedback.status == "wrong" and words in feedback.message, (answer, feedback.message)
    assert evaluate("05.layer_parameters", float(right)).status == "wrong"
    assert evaluate("05.layer_parameters", ...).status == "unanswered"


def test_hidden_states_checker_accepts_13_25_and_names_each_mistake():
    assert evaluate("05.hidden_states_base_large", (13, 25)).correct
    assert evaluate("05.hidden_states_base_large", [13, 25]).correct
    mistakes = {
        (12, 24): "layer counts",
        (13, 24): "off by one",
        (12, 25): "off by one",
        (14, 26): "pooler",
        (25, 49): "no decoder",
        (7, 7): "6-layer",
        (25, 13): "wrong order",
        (1, 2): "num_hidden_layers + 1",
        (13,): "two whole numbers",
        (13.0, 25.0): "two whole numbers",
        "13, 25": "tuple or list",
    }
    for answer, words in mistakes.items():
        feedback = evaluate("05.hidden_states_base_large", answer)
        assert feedback.status == "wrong" and words in feedback.message, (answer, feedback.message)


def test_hidden_states_really_are_layers_plus_one_on_a_meta_model(metas):
    with torch.no_grad():
        out = metas["BERT-Large"](input_ids=torch.ones(1, 4, dtype=torch.long, device="meta"),
                                  output_hidden_states=True)
    assert len(out.hidden_states) == 25


@pytest.fixture(scope="module")
def corpus():
    return lesson_corpus()


@pytest.fixture(scope="module")
def lesson_run(bert, corpus):
    return run_corpus(corpus.text.tolist(), groups=corpus.group.tolist())


def fake_run(tokens, hidden, attentions, groups=None):
    """A CorpusRun built by hand: ``tokens`` per sentence, hidden [L+1, B, T, H], attentions [L, B, h, T, T]."""
    width = max(len(t) for t in tokens)
    vocab = {"[PAD]": 0, "[CLS]": 101, "[SEP]": 102}
    ids = torch.zeros(len(tokens), width, dtype=torch.long)
    mask = torch.zeros(len(tokens), width, dtype=torch.long)
    for b, toks in enumerate(tokens):
        for p, tok in enumerate(toks):
            ids[b, p] = vocab.setdefault(tok, 1000 + len(vocab))
            mask[b, p] = 1
    groups = groups or [f"g{b}" for b in range(len(tokens))]
    return CorpusRun([" ".join(t[1:-1]) for t in tokens], groups, tokens, ids, mask, hidden, attentions)


# ----------------------------------------------------------------------------------------------------- the data
def test_read_tsv_and_bad_names():
    rows = read_tsv("depth_agreement.tsv")
    assert len(rows) == 96 and set(rows.columns) == {"group", "subject_number", "attractor_number", "verb", "sentence"}
    with pytest.raises(CourseValueError, match="Available"):
        read_tsv("depth_nothing.tsv")


def test_agreement_set_is_labelled_honestly(tokenizer):
    rows = read_tsv("depth_agreement.tsv").to_dict("records")
    groups = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    assert len(groups) == 24
    for group, members in groups.items():
        combos = {(r["subject_number"], r["attractor_number"]) for r in members}
        assert combos == {(s, a) for s in ("singular", "plural") for a in ("singular", "plural")}, group
        token_lists = [tokenizer.tokenize(r["sentence"]) for r in members]
        assert len({len(t) for t in token_lists}) == 1, f"{group}: number changes the length, so layer 0 leaks"
        differing = {i for t in token_lists for i, tok in enumerate(t) if tok != token_lists[0][i]}
        assert differing == {1, 4}, f"{group}: only the subject (word 2) and the attractor (word 5) may change"
        for r, toks in zip(members, token_lists):
            assert toks.count(r["verb"]) == 1 and toks.index(r["verb"]) == 5
            singular_subject = next(m for m in members if m["subject_number"] == "singular")
            same_subject = toks[1] == tokenizer.tokenize(singular_subject["sentence"])[1]
            assert same_subject == (r["subject_number"] == "singular"), r["sentence"]


def test_sense_set_uses_each_word_once_in_both_senses(tokenizer):
    rows = read_tsv("depth_senses.tsv").to_dict("records")
    assert len(rows) == 96 and len({r["group"] for r in rows}) == 96
    by_word = {}
    for row in rows:
        by_word.setdefault(row["word"], []).append(row["sense"])
        assert tokenizer.tokenize(row["sentence"]).count(row["word"]) == 1, row["sentence"]
    assert len(by_word) == 8
    assert all(len(set(s)) == 2 and s.count(s[0]) == 6 for s in by_word.values())


def test_paraphrase_set_has_anchor_paraphrase_decoy_per_group():
    rows = read_tsv("depth_paraphrases.tsv").to_dict("records")
    groups = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row["role"])
    assert len(groups) == 24 and all(sorted(r) == ["anchor", "decoy", "paraphrase"] for r in groups.values())


def test_lesson_corpus(corpus):
    assert len(corpus) == 267 and list(corpus.columns) == ["task", "group", "text", "word", "label", "attractor"]
    assert corpus.task.value_counts().to_dict() == {"agreement": 96, "senses": 96, "paraphrases": 72, "examples": 3}
    assert corpus.group.is_unique is False and corpus.groupby("group").size().max() == 4


# ---------------------------------------------------------------------------------------------- the forward pass
def test_run_corpus_matches_single_sentence_forward_and_is_cached(bert):
    texts = ["A cat.", "The longest sentence of these three, with a comma.", "Dogs bark loudly."]
    run = run_corpus(texts, bert, batch_size=2)
    assert run.hidden_states.shape[:3] == (7, 3, run.input_ids.shape[1]) and run.num_layers == 6
    assert run.attentions.shape == (6, 3, 12, run.input_ids.shape[1], run.input_ids.shape[1])
    assert run.lengths == [int(m.sum()) for m in run.attention_mask]
    assert run_corpus(texts, bert, batch_size=2) is run
    tokenizer, model = bert
    for i, text in enumerate(texts):
        with torch.no_grad():
            alone = model(**tokenizer(text, return_tensors="pt"), output_hidden_states=True)
        n = run.lengths[i]
        torch.testing.assert_close(run.hidden_states[:, i, :n], torch.stack(alone.hidden_states)[:, 0],
                                   atol=1e-4, rtol=1e-4)
        assert (run.hidden_states[:, i, n:] == 0).all() and (run.attentions[:, i, :, n:, :] == 0).all()
    assert run.tokens[0] == ["[CLS]", "a", "cat", ".", "[SEP]"]
    # Attentions are stored in float16 (half the memory); every real query row still sums to 1 within its rounding.
    assert run.attentions.dtype == torch.float16
    rows = run.attentions.float().sum(-1).transpose(1, 2)[:, :, run.attention_mask.bool()]  # [L, heads, real]
    torch.testing.assert_close(rows, torch.ones_like(rows), atol=5e-3, rtol=0)


def test_run_corpus_bad_input(bert):
    with pytest.raises(CourseValueError, match="one id per text"):
        run_corpus(["a", "b"], bert, groups=["g"])
    with pytest.raises(CourseValueError, match="batch_size"):
        run_corpus(["a"], bert, batch_size=0)
    with pytest.raises(CourseValueError):
        run_corpus([], bert)
    with pytest.raises(CourseTypeError):
        run_corpus(None, bert)


def test_token_position(lesson_run, corpus):
    first = corpus.index[corpus.task == "agreement"][0]
    assert lesson_run.tokens[first][lesson_run.token_position(first, "barked")] == "barked"
    assert lesson_run.token_position(first, "[SEP]") == lesson_run.lengths[first] - 1
    with pytest.raises(CourseValueError, match="0 times"):
        lesson_run.token_position(first, "giraffe")
    with pytest.raises(CourseValueError, match="3 times"):
        lesson_run.token_position(first, "the")
    with pytest.raises(CourseValueError):
        lesson_run.token_position(first, "")
    with pytest.raises(CourseValueError, match="out of range"):
        lesson_run.token_position(10_000, "the")


# ------------------------------------------------------------------------------------------------------ attention
def test_attention_statistics_on_hand_made_attention():
    tokens = [["[CLS]", "a", ",", "b", "[SEP]"], ["[CLS]", "c", "[SEP]"]]
    att = torch.zeros(2, 2, 1, 5, 5)
    for b, n in enumerate((5, 3)):
        att[0, b, 0, 0, 0] = 1.0                             # layer 1: [CLS] attends to itself,
        for i in range(1, n):
            att[0, b, 0, i, i - 1] = 1.0                     # every other token to the previous one
        att[1, b, 0, :n, :n] = 1.0 / n                       # layer 2: uniform over the sentence
    run = fake_run(tokens, torch.zeros(3, 2, 5, 4), att)
    stats = attention_statistics(run)
    table = stats.by_layer()
    assert list(table.index) == [1, 2]
    assert table.loc[1, "previous"] == pytest.approx(1.0) and table.loc[1, "next"] == pytest.approx(0.0)
    assert table.loc[1, "entropy (bits)"] == pytest.approx(0.0)
    # layer 1: of 8 real queries, [CLS] (×2) looks at itself and token 1 of each sentence at [CLS]
    assert table.loc[1, "[CLS]"] == pytest.approx(4 / 8) and table.loc[1, "self"] == pytest.approx(2 / 8)
    assert table.loc[1, "punctuation"] == pytest.approx(1 / 8)   # "b" looks at ","
    expected_entropy = (5 * math.log2(5) + 3 * math.log2(3)) / 8
    assert table.loc[2, "entropy (bits)"] == pytest.approx(expected_entropy)
    assert stats.uniform_entropy == pytest.approx(expected_entropy)
    assert table.loc[2, "[SEP]"] == pytest.approx((5 * 0.2 + 3 / 3) / 8)
    heads = stats.heads("previous", 0.5)
    assert heads.to_dict("list") == {"layer": [1], "head": [0], "previous": [pytest.approx(1.0)]}
    with pytest.raises(CourseValueError, match="kind"):
        stats.heads("diagonal")
    with pytest.raises(CourseValueError, match="threshold"):
        stats.heads("next", 2)
    with pytest.raises(CourseTypeError):
        attention_statistics("run")
    with pytest.raises(CourseValueError):
        attention_statistics(run, [5])


# ---------------------------------------------------------------------------------------------- contextuality
def test_cross_group_cosine_equals_brute_force():
    rng = np.random.default_rng(0)
    unit = rng.normal(size=(40, 8))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    groups, owner = rng.integers(0, 6, 40), rng.integers(0, 3, 40)
    fast = la._cross_group_cosine(unit, groups, owner, 3)
    for w in range(3):
        pairs = [unit[i] @ unit[j] for i in range(40) for j in range(40)
                 if i != j and owner[i] == owner[j] == w and groups[i] != groups[j]]
        assert fast[w] == pytest.approx(np.mean(pairs))


def test_contextuality_on_hand_made_vectors():
    # "x" gets the same vector in every sentence at layer 0 and a different one at layer 1; "y" is random.
    tokens = [["[CLS]", "x", "y", ".", "[SEP]"] for _ in range(6)]
    hidden = torch.randn(2, 6, 5, 16, generator=torch.Generator().manual_seed(0))
    hidden[0, :, 1] = torch.ones(16)
    run = fake_run(tokens, hidden, torch.zeros(1, 6, 1, 5, 5))
    table = contextuality(run, min_groups=5)
    assert table.attrs["words"] == ["x", "y"]
    assert list(table.columns) == ["self-similarity", "anisotropy", "adjusted self-similarity", "intra-sentence",
                                   "adjusted intra-sentence"]
    assert table.loc[0, "self-similarity"] > table.loc[1, "self-similarity"]
    assert word_tokens(run)[:2] == [(0, 1, "x"), (0, 2, "y")]  # "." and the specials are not words
    with pytest.raises(CourseValueError, match="min_groups"):
        contextuality(run, min_groups=1)
    with pytest.raises(CourseValueError, match="no word occurs"):
        contextuality(run, min_groups=7)


def test_contextuality_on_the_lesson_run(lesson_run):
    table = contextuality(lesson_run)
    assert list(table.index) == list(range(7)) and len(table.attrs["words"]) > 20
    assert table.loc[6, "self-similarity"] < table.loc[0, "self-similarity"]
    assert ((table["anisotropy"] > -1) & (table["anisotropy"] < 1)).all()


# ------------------------------------------------------------------------------------------------------ senses
def test_sense_separation_on_hand_made_vectors():
    tokens = [["[CLS]", "bank", "[SEP]"] for _ in range(4)]
    hidden = torch.zeros(2, 4, 3, 2)
    hidden[:, :, 1] = torch.tensor([1.0, 0.0])                        # layer 0: one vector for all
    hidden[1, :, 1] = torch.tensor([[1.0, 0.1], [1.0, -0.1], [0.1, 1.0], [-0.1, 1.0]])
    run = fake_run(tokens, hidden, torch.zeros(1, 4, 1, 3, 3))
    table = sense_separation(run, [0, 1, 2, 3], ["bank"] * 4, ["river", "river", "money", "money"])
    assert table.loc[0, "separation"] == pytest.approx(0.0) and table.loc[1, "separation"] > 0.5
    assert table.loc[1, "nearest-neighbour accuracy"] == 1.0
    with pytest.raises(CourseValueError, match="only one sense"):
        sense_separation(run, [0, 1], ["bank"] * 2, ["river", "river"])
    with pytest.raises(CourseValueError, match="one label"):
        sense_separation(run, [0, 1, 2, 3], ["bank"] * 4, ["river"])
    with pytest.raises(CourseValueError, match="one word per"):
        token_vectors(run, [0, 1], "bank")


# ------------------------------------------------------------------------------------------------------ probes
def test_grouped_folds_never_split_a_group():
    groups = [f"t{i // 4}" for i in range(40)]
    fold = grouped_folds(groups, 4)
    for g in set(groups):
        assert len({fold[i] for i, x in enumerate(groups) if x == g}) == 1
    assert sorted(set(fold.tolist())) == [0, 1, 2, 3]
    with pytest.raises(CourseValueError, match="fewer folds"):
        grouped_folds(["a", "a", "b"], 4)


def test_probe_finds_the_layer_that_holds_the_label():
    rng = np.random.default_rng(1)
    labels = np.array(["singular", "plural"] * 20)
    groups = [f"t{i // 4}" for i in range(40)]
    features = rng.normal(size=(2, 40, 6)).astype(np.float32)
    features[1, :, 0] += np.where(labels == "plural", 3.0, -3.0)     # layer 1 carries it, layer 0 does not
    result = probe_by_layer(torch.from_numpy(features), labels, groups)
    assert result.accuracy[1] == 1.0 and result.accuracy[0] < 0.8
    assert probe_by_layer(torch.from_numpy(features), labels, groups) is result  # cached
    table = result.table({"first half": np.arange(40) < 20})
    assert list(table.columns) == ["accuracy", "first half"] and list(table.index) == [0, 1]
    both = compare_probes({"a": result, "b": result}, {"hard": np.arange(40) < 20})
    assert list(both.columns) == ["a", "a · hard", "b", "b · hard"]


def test_probe_bad_input():
    x = torch.zeros(2, 8, 3)
    groups = [f"g{i}" for i in range(8)]
    with pytest.raises(CourseValueError, match="single class"):
        probe_by_layer(x, ["a"] * 8, groups)
    with pytest.raises(CourseValueError, match="one label"):
        probe_by_layer(x, ["a", "b"] * 3, groups)
    with pytest.raises(CourseValueError, match="layers"):
        probe_by_layer(torch.zeros(8, 3), ["a", "b"] * 4, groups)
    with pytest.raises(CourseValueError, match="folds"):
        probe_by_layer(x, ["a", "b"] * 4, groups, folds=1)
    with pytest.raises(CourseValueError, match="positive"):
        probe_by_layer(x, ["a", "b"] * 4, groups, c=0)
    result = probe_by_layer(torch.randn(2, 8, 3), ["a", "b"] * 4, groups)
    with pytest.raises(CourseValueError, match="mask"):
        result.table({"bad": [True]})
    with pytest.raises(CourseValueError):
        compare_probes({})


def test_reference_probe_layer0_is_exactly_chance_and_sep_learns(bert):
    at_sep, at_verb = reference_probe("[SEP]"), reference_probe("verb")
    assert at_sep.accuracy[0] == 0.5 and at_verb.accuracy[0] == 0.5   # identical inputs within every template
    assert at_sep.accuracy[-1] > 0.85 and at_sep.accuracy[-1] > at_verb.accuracy[-1]
    assert reference_probe() is at_sep
    with pytest.raises(CourseValueError):
        reference_probe("subject")


def test_probe_curve_checker_recognises_its_mistakes(corpus):
    agree = corpus[corpus.task == "agreement"]
    table = reference_probe().table({"hard": (agree.label != agree.attractor).to_numpy()}).round(3)
    right = int(table.index[table["hard"] >= 0.9][0])
    overall = int(table.index[table["accuracy"] >= 0.9][0])
    assert evaluate("05.probe_first_layer", right).correct
    assert "overall accuracy" in evaluate("05.probe_first_layer", overall).message
    assert "peaks" in evaluate("05.probe_first_layer", int(table["hard"].idxmax())).message
    assert "chance" in evaluate("05.probe_first_layer", 0).message
    assert evaluate("05.probe_first_layer", "5").status == "wrong"
    assert evaluate("05.probe_first_layer", ...).status == "unanswered"


# ------------------------------------------------------------------------------------------------- which layer
def test_combine_layers_recipes():
    features = torch.arange(6 * 2 * 3, dtype=torch.float32).reshape(6, 2, 3)
    assert torch.equal(combine_layers(features, "last"), features[5])
    assert torch.equal(combine_layers(features, "second-to-last"), features[4])
    assert torch.equal(combine_layers(features, "sum of last four"), features[2:].sum(0))
    assert combine_layers(features, "concat of last four").shape == (2, 12)
    with pytest.raises(CourseValueError, match="recipe"):
        combine_layers(features, "mean of all")
    with pytest.raises(CourseValueError, match="at least 4"):
        combine_layers(features[:3], "sum of last four")
    with pytest.raises(CourseValueError):
        combine_layers(features[0], "last")
    assert len(RECIPES) == 4


def test_mean_pooling_by_layer_is_the_masked_mean(lesson_run):
    vectors = mean_pooling_by_layer(lesson_run, [0, 5])
    n = lesson_run.lengths[5]
    torch.testing.assert_close(vectors[:, 1], lesson_run.hidden_states[:, 5, :n].mean(dim=1))
    with pytest.raises(CourseValueError, match="out of range"):
        mean_pooling_by_layer(lesson_run, [99_999])
    with pytest.raises(CourseTypeError):
        mean_pooling_by_layer(lesson_run, 3)


def test_retrieval_on_hand_made_vectors():
    groups, roles = ["p1"] * 3 + ["p2"] * 3, ["anchor", "paraphrase", "decoy"] * 2
    vectors = torch.tensor([[1.0, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 1.0, 0, 0],
                            [0, 0, 1.0, 0], [0, 0, 0.2, 1.0], [0, 0, 1.0, 0.1]])
    hits = nearest_sentences(vectors, groups, roles)
    assert hits["nearest is"].tolist() == ["partner", "partner", "own decoy", "own decoy"]
    assert retrieval_accuracy(vectors, groups, roles) == 0.5
    with pytest.raises(CourseValueError, match="roles"):
        retrieval_accuracy(vectors, groups, ["query"] * 6)
    with pytest.raises(CourseValueError, match="partner|paraphrase"):
        retrieval_accuracy(vectors[:1], ["p1"], ["anchor"])
    with pytest.raises(CourseValueError, match="one group"):
        retrieval_accuracy(vectors, groups[:2], roles)


def test_feature_choice_on_the_lesson_run(lesson_run, corpus):
    table = feature_choice(lesson_run, corpus)
    assert list(table.index) == list(RECIPES)
    assert table["dimensions"].tolist() == [384, 384, 384, 1536]
    assert ((table["paraphrase retrieval"] >= 0) & (table["paraphrase retrieval"] <= 1)).all()
    assert (table["subject-number probe"] > 0.5).all()


# ------------------------------------------------------------------------------------------------------ widget
def test_layer_explorer_renders_updates_and_checks_input(lesson_run):
    from utils.widgets.layers import layer_explorer

    stats = attention_statistics(lesson_run)
    box = layer_explorer(lesson_run, stats, {"first": 0, "second": 1})
    assert len(box.timings) == 1 and "course-explorer" in box._dom_classes
    box.controls["layer"].value = 3
    box.controls["head"].value = 5
    box.controls["sentence"].value = "second"
    assert len(box.timings) == 4
    with pytest.raises(CourseTypeError):
        layer_explorer(lesson_run, None, {"a": 0})
    with pytest.raises(CourseValueError, match="out of range"):
        layer_explorer(lesson_run, stats, {"a": 10_000})
    with pytest.raises(CourseValueError):
        layer_explorer(lesson_run, stats, {})


def test_attention_grid_and_curve_svg():
    from utils.widgets.layers import attention_grid_html, layer_curves_svg

    grid = attention_grid_html(np.eye(3), ["[CLS]", "<b>", "[SEP]"], caption="layer 1")
    assert grid.count("<td") == 9 and "&lt;b&gt;" in grid and "<b>" not in grid and "#fde724" in grid
    with pytest.raises(CourseValueError, match="must be"):
        attention_grid_html(np.eye(2), ["a", "b", "c"])
    svg = layer_curves_svg({"[CLS]": [0.2, 0.6, 0.5]}, {"[CLS]": [0.1, 0.9, 0.3]}, current=2, title="t")
    assert svg.startswith("<svg") and svg.count("<circle") == 3 and svg.count("<path") == 3
    assert "stroke-dasharray" in svg and "[CLS]" in svg
    with pytest.raises(CourseValueError, match="one value per layer"):
        layer_curves_svg({"a": [0.1, 0.2], "b": [0.3]})
    with pytest.raises(CourseValueError, match="current layer"):
        layer_curves_svg({"a": [0.1, 0.2]}, current=3)
    with pytest.raises(CourseValueError):
        layer_curves_svg({})


# ------------------------------------------------------------------------------------------- new: paired test etc.
def test_paired_test_is_the_exact_mcnemar_test():
    a = np.array([True] * 7 + [False] * 3 + [True] * 5)
    b = np.array([False] * 7 + [False] * 3 + [True] * 5)
    result = paired_test(a, b)
    assert (result["a only"], result["b only"]) == (7, 0)
    assert result["p"] == pytest.approx(2 / 2 ** 7)                    # 7 to 0: two-sided binomial tail
    assert paired_test(b, a)["p"] == result["p"]                       # symmetric
    five_one = paired_test(np.array([True] * 5 + [False]), np.array([False] * 5 + [True]))
    assert five_one["p"] == pytest.approx(2 * (1 + 6) / 2 ** 6)
    assert paired_test(a, a) == {"a only": 0, "b only": 0, "p": 1.0}  # no disagreement: nothing to tell apart
    assert paired_test([True, False], [False, True])["p"] == 1.0


def test_paired_test_bad_input():
    with pytest.raises(CourseValueError, match="boolean"):
        paired_test([1, 0], [0, 1])
    with pytest.raises(CourseValueError, match="same length"):
        paired_test([True, False], [True])
    with pytest.raises(CourseValueError):
        paired_test([], [])


def test_retrieval_hits_and_by_layer():
    groups, roles = ["p1"] * 3 + ["p2"] * 3, ["anchor", "paraphrase", "decoy"] * 2
    good = torch.tensor([[1.0, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 1.0, 0, 0],
                         [0, 0, 1.0, 0], [0, 0, 0.9, 0.1], [0, 0, 0, 1.0]])
    bad = good.clone()
    bad[0], bad[3] = good[2], good[5]                                 # each anchor equals its decoy
    assert retrieval_hits(good, groups, roles).tolist() == [True, True, True, True]
    table = retrieval_by_layer(torch.stack([bad, good]), groups, roles)
    assert table["correct"].tolist()[1] == 4 > table["correct"].tolist()[0] and table["accuracy"].tolist()[1] == 1.0
    assert table.attrs["hits"].shape == (2, 4) and table.index.name == "layer"
    with pytest.raises(CourseValueError, match="layers"):
        retrieval_by_layer(good, groups, roles)


def test_sense_probe_on_hand_made_vectors():
    tokens = [["[CLS]", w, "[SEP]"] for w in ["bank"] * 8 + ["bat"] * 8]
    hidden = torch.zeros(2, 16, 3, 4)
    senses = ["river", "money"] * 4 + ["animal", "sport"] * 4
    for k, sense in enumerate(senses):                                # layer 1: one dimension per sense
        hidden[1, k, 1, ["river", "money", "animal", "sport"].index(sense)] = 1.0
    run = fake_run(tokens, hidden, torch.zeros(1, 16, 1, 3, 3))
    result = sense_probe(run, list(range(16)), ["bank"] * 8 + ["bat"] * 8, senses)
    assert result.accuracy[1] == 1.0 and result.correct.shape == (2, 16)
    with pytest.raises(CourseValueError, match="only one sense"):
        sense_probe(run, list(range(8)), ["bank"] * 8, ["river"] * 8)
    with pytest.raises(CourseValueError, match="one label"):
        sense_probe(run, list(range(8)), ["bank"] * 8, ["river"])


def test_recipe_outcomes_are_paired_and_match_feature_choice(lesson_run, corpus):
    outcomes = recipe_outcomes(lesson_run, corpus)
    assert list(outcomes) == ["paraphrase retrieval", "subject-number probe"]
    assert all(list(by_recipe) == list(RECIPES) for by_recipe in outcomes.values())
    assert {len(v) for v in outcomes["paraphrase retrieval"].values()} == {48}
    assert {len(v) for v in outcomes["subject-number probe"].values()} == {96}
    table = feature_choice(lesson_run, corpus)
    for task, by_recipe in outcomes.items():
        assert table[task].tolist() == [float(by_recipe[r].mean()) for r in RECIPES]


# ------------------------------------------------------------------------------------ the layer-by-hand exercise
def test_layer_without_residuals_checker_accepts_the_variant_and_names_each_mistake():
    from utils.exercises.layers import _layer_variant

    def variant(**switches):
        return functools.partial(_layer_variant, **switches)

    right = evaluate("05.layer_without_residuals", variant(attention_residual=False, ffn_residual=False))
    assert right.correct and "cosine" in right.message
    mistakes = {
        variant(): "real layer",
        variant(attention_residual=False): "around attention only",
        variant(ffn_residual=False): "feed-forward block only",
        variant(attention_residual=False, ffn_residual=False, layer_norm=False): "LayerNorms as well",
        variant(attention_residual=False, ffn_residual=False, mask=False): "padding",
        variant(attention_residual=False, ffn_residual=False, gelu="tanh"): "tanh",
        (lambda h, layer, attention_mask: h): "Not the layer without residuals",
        (lambda h, layer, attention_mask: h[:, 0]): "shaped like h",
        (lambda h, layer, attention_mask: 1 / 0): "ZeroDivisionError",
        torch.zeros(2, 3): "function itself",
    }
    for answer, words in mistakes.items():
        feedback = evaluate("05.layer_without_residuals", answer)
        assert feedback.status == "wrong" and words in feedback.message, (words, feedback.message)
    assert evaluate("05.layer_without_residuals", ...).status == "unanswered"


# ------------------------------------------------------------------------- the lesson's figures, pinned exactly
# The lesson states its claims in words with one readable check each; these are the exact values and the
# regression thresholds behind them, so a change of model, data or library shows up here first.
def test_lesson_figures_sizes_and_costs(metas, model):
    table = parameter_table({**metas, "ours": model})
    assert table.loc["BERT-Base", "total"] == 109_482_240 and table.loc["BERT-Large", "total"] == 335_141_888
    share = (table["embeddings"] / table["total"]).round(3)
    assert share["ours"] > 0.5 > share["BERT-Base"] > share["BERT-Large"]
    per_token = {name: flops_per_token(bert_config(name), 128) for name in ("BERT-Base", "BERT-Large", "ours")}
    assert 3.4 < per_token["BERT-Large"] / per_token["BERT-Base"] < 3.6       # "about 3.5x"
    assert 7.5 < per_token["BERT-Base"] / per_token["ours"] < 8                 # "almost 8x"


def test_lesson_figures_attention(lesson_run):
    t = attention_statistics(lesson_run).by_layer()
    assert t["entropy (bits)"].idxmin() in (2, 3)
    heads = attention_statistics(lesson_run).heads("previous", 0.5)
    assert heads[["layer", "head"]].values.tolist() == [[1, 2]] and heads["previous"].max() > 0.9


def test_lesson_figures_contextuality(lesson_run):
    c = contextuality(lesson_run).round(2)
    assert c.loc[6, "self-similarity"] < c.loc[3, "self-similarity"] < c.loc[0, "self-similarity"]
    assert (c.loc[1:5, "anisotropy"] > 0.15).all() and c.loc[6, "anisotropy"] < 0.1


def test_lesson_figures_senses(lesson_run, corpus):
    senses = corpus[corpus.task == "senses"]
    args = (lesson_run, senses.index.tolist(), senses.word.tolist(), senses.label.tolist())
    table = sense_separation(*args)
    nn = table["nearest-neighbour accuracy"].round(3)
    chance = (senses.groupby(["word", "label"]).size() - 1).mean() / (senses.groupby("word").size() - 1).mean()
    assert round(chance, 3) == 0.455 and nn[0] < round(chance, 3) + 0.01
    assert nn[6] == nn.max() and table.loc[6, "separation"] == table["separation"].max()
    assert math.isclose(table.loc[0, "separation"], 0, abs_tol=0.005)
    probe = sense_probe(*args).accuracy
    assert 0.4 < probe[0] < 0.6 and probe[1:].min() >= 0.9


def test_lesson_figures_probe_and_feature_choice(lesson_run, corpus):
    agree = corpus[corpus.task == "agreement"]
    sep = reference_probe("[SEP]").table({"hard": (agree.label != agree.attractor).to_numpy()}).round(3)
    assert sep.loc[4:, "accuracy"].is_monotonic_increasing
    assert sep.loc[4:, "accuracy"].min() > sep.loc[:3, "accuracy"].max()
    assert int(sep.index[sep["accuracy"] >= 0.9][0]) == 4
    choice = feature_choice(lesson_run, corpus).round(3)
    assert choice["paraphrase retrieval"].idxmax() == "last" and choice["subject-number probe"].idxmax() == "last"
    assert choice["paraphrase retrieval"].idxmin() == "concat of last four"
    para = corpus[corpus.task == "paraphrases"]
    by_depth = retrieval_by_layer(mean_pooling_by_layer(lesson_run, para.index.tolist()), para.group, para.label)
    assert by_depth["correct"].tolist() == [21, 21, 21, 17, 19, 22, 26]
    hits = nearest_sentences(mean_pooling_by_layer(lesson_run, para.index.tolist())[-1], para.group, para.label)
    assert hits["nearest is"].value_counts().to_dict() == {"partner": 26, "own decoy": 22}
