"""Lesson 05, part 2: the data, the single forward pass and every per-layer analysis (utils/layer_analysis.py),
the layer explorer and the probe-curve exercise."""

import math

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import utils.layer_analysis as la  # noqa: E402
from utils import CourseTypeError, CourseValueError, evaluate  # noqa: E402
from utils.layer_analysis import (  # noqa: E402
    RECIPES,
    CorpusRun,
    attention_statistics,
    combine_layers,
    compare_probes,
    contextuality,
    feature_choice,
    grouped_folds,
    lesson_corpus,
    nearest_sentences,
    probe_accuracy,
    probe_by_layer,
    read_tsv,
    reference_probe,
    retrieval_accuracy,
    run_corpus,
    sense_separation,
    sentence_vectors,
    token_vectors,
    word_tokens,
)


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
    assert len(rows) == 96 and set(rows[0]) == {"group", "subject_number", "attractor_number", "verb", "sentence"}
    with pytest.raises(CourseValueError, match="Available"):
        read_tsv("depth_nothing.tsv")


def test_agreement_set_is_labelled_honestly(tokenizer):
    rows = read_tsv("depth_agreement.tsv")
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
    rows = read_tsv("depth_senses.tsv")
    assert len(rows) == 96 and len({r["group"] for r in rows}) == 96
    by_word = {}
    for row in rows:
        by_word.setdefault(row["word"], []).append(row["sense"])
        assert tokenizer.tokenize(row["sentence"]).count(row["word"]) == 1, row["sentence"]
    assert len(by_word) == 8
    assert all(len(set(s)) == 2 and s.count(s[0]) == 6 for s in by_word.values())


def test_paraphrase_set_has_anchor_paraphrase_decoy_per_group():
    rows = read_tsv("depth_paraphrases.tsv")
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
    assert probe_accuracy(torch.from_numpy(features[1]), labels, groups) == 1.0
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
    with pytest.raises(CourseValueError, match="matrix"):
        probe_accuracy(x, ["a", "b"] * 4, groups)
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


def test_sentence_vectors_is_the_masked_mean(lesson_run):
    vectors = sentence_vectors(lesson_run, [0, 5])
    n = lesson_run.lengths[5]
    torch.testing.assert_close(vectors[:, 1], lesson_run.hidden_states[:, 5, :n].mean(dim=1))
    with pytest.raises(CourseValueError, match="out of range"):
        sentence_vectors(lesson_run, [99_999])
    with pytest.raises(CourseTypeError):
        sentence_vectors(lesson_run, 3)


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
    from utils.widgets.depth import layer_explorer

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
    from utils.widgets.depth import attention_grid_html, layer_curves_svg

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
