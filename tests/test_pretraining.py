"""Lesson 06 helpers: the grammar corpus, the masking recipe, the tiny BertForMaskedLM, fill-mask, plots, explorer
and checkers. Bad input included. The tiny model is trained once per module, briefly (a few seconds). Also the
regression thresholds behind the lesson's readable claims, and that ``train_mlm`` is the lesson's own loop."""

import io
import math
from pathlib import Path

import ipywidgets as widgets
import matplotlib
import nbformat

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from utils import CourseTypeError, CourseValueError, evaluate  # noqa: E402
from utils.data import data_path  # noqa: E402
from utils.exercises import pretraining as checkers  # noqa: E402
from utils.plots.pretraining import plot_loss_curve, plot_probe_curves  # noqa: E402
from utils.pretraining import (  # noqa: E402
    CAPITALS,
    CORPUS_FILES,
    CORPUS_SIZES,
    IGNORE_INDEX,
    NOUNS,
    PLURAL_VERBS,
    SPECIAL_TOKENS,
    Probe,
    ProbeTracker,
    accuracy_by_layer,
    apply_masking_rule,
    build_tiny_bert,
    compare_with_collator,
    corpus_file_text,
    fill_mask,
    find_probe,
    frequency_baseline,
    generate_corpus,
    grammar_probe_accuracy,
    grammar_sentences,
    learning_rate_factor,
    load_corpus,
    load_tokenizer,
    mask_attention,
    mask_tokens,
    masked_accuracy,
    masking_shares,
    mlm_loss,
    number_pairs,
    out_of_vocabulary,
    parameter_count,
    patched_logits,
    token_frequencies,
    tokenize_corpus,
    tokenizer_from_vocab,
    train_mlm,
    train_wordpiece,
    unigram_entropy,
    vocab_file_text,
    write_corpus,
)
from utils.widgets.pretraining import explorer_html, fill_mask_explorer, predictions_html  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Train as the lesson does, on one thread (it sets torch.set_num_threads(1) before its loop): tiny matrices,
    and on a busy machine two threads waiting on each other made training over ten times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer()


@pytest.fixture(scope="module")
def trained(tok, corpus):
    model = build_tiny_bert(tok, seed=0)
    losses = train_mlm(model, tok, corpus[0], steps=150, progress=False)
    return model, losses


# --- corpus ------------------------------------------------------------------------------------------------------


def test_committed_corpus_files_are_the_generators_output(tmp_path):
    train, heldout = generate_corpus()
    for split, sentences in (("train", train), ("heldout", heldout)):
        committed = data_path(CORPUS_FILES[split]).read_text(encoding="utf-8")
        assert committed == corpus_file_text(split, sentences), f"run `python -m utils.pretraining` ({split})"
    written = write_corpus(tmp_path)
    assert [p.read_text(encoding="utf-8") for p in written] == [
        data_path(CORPUS_FILES[s]).read_text(encoding="utf-8") for s in ("train", "heldout")]
    assert load_corpus() == (train, heldout)


def test_corpus_is_split_without_overlap_and_in_proportion(corpus):
    train, heldout = corpus
    assert not set(train) & set(heldout) and len(set(train)) == len(train)
    kinds = {s: kind for kind, sentences in grammar_sentences().items() for s in sentences}
    assert set(kinds[s] for s in heldout) == set(CORPUS_SIZES)
    assert len(train) + len(heldout) == sum(min(n, len(grammar_sentences()[k])) for k, n in CORPUS_SIZES.items())
    assert 0.08 < len(heldout) / (len(train) + len(heldout)) < 0.12


def test_generator_is_seeded_and_checks_its_fraction():
    assert generate_corpus(seed=0) == generate_corpus(seed=0)
    assert generate_corpus(seed=1) != generate_corpus(seed=0)
    with pytest.raises(CourseValueError, match="between 0 and 1"):
        generate_corpus(heldout_fraction=1.5)


def test_grammar_has_agreement_word_order_and_facts():
    sentences = grammar_sentences()
    assert "the cat sleeps in the park." in sentences["verb agreement"]
    assert "the cats sleeps in the park." not in sentences["verb agreement"]
    assert "the old cat sits near the river." in sentences["verb agreement"]
    assert not any("cat old" in s for s in sentences["verb agreement"]), "adjectives come before the noun"
    assert "does the cat sleep in the park?" in sentences["do/does question"]
    assert "these cats are small." in sentences["is/are agreement"]
    assert "anna knows that the capital of japan is tokyo." in sentences["capital fact"]
    assert not any("capital of japan is paris" in s for s in sentences["capital fact"])


@pytest.mark.parametrize("sentence, kind, text, answers", [
    ("hiro knows that the capital of italy is rome.", "capital fact",
     "hiro knows that the capital of italy is [MASK].", {"rome"}),
    ("does the teacher sit in the forest?", "do/does question", "[MASK] the teacher sit in the forest?", {"does"}),
    ("the horses were happy yesterday.", "is/are agreement", "the horses [MASK] happy yesterday.", {"are", "were"}),
    ("the small cat waits near the river.", "verb agreement", "the small cat [MASK] near the river.",
     {"sleeps", "sits", "plays", "waits", "runs", "sings"}),
])
def test_find_probe_masks_the_knowable_word(sentence, kind, text, answers):
    probe = find_probe(sentence)
    assert (probe.kind, probe.text, set(probe.answers)) == (kind, text, answers)
    assert probe.word in probe.answers


def test_find_probe_bad_input():
    with pytest.raises(CourseValueError, match="not a sentence of the lesson-06 grammar"):
        find_probe("hello world.")
    with pytest.raises(CourseTypeError):
        find_probe(None)


# --- tokenizer -----------------------------------------------------------------------------------------------------


def test_frozen_vocabulary_holds_every_corpus_word_as_one_token(tok, corpus):
    assert tok.convert_ids_to_tokens(list(range(5))) == SPECIAL_TOKENS
    words = {w for s in corpus[0] + corpus[1] for w in tok.tokenize(s)}
    assert all(len(tok.tokenize(w)) == 1 and w != "[UNK]" for w in words)
    assert tok("the cat sleeps.")["input_ids"][0] == tok.cls_token_id
    assert vocab_file_text(tok) == data_path("mlm_vocab.txt").read_text(encoding="utf-8")


def test_retrained_wordpiece_works_alike(corpus, tok):
    retrained = train_wordpiece(corpus[0])
    words = {w for s in corpus[0] for w in tok.tokenize(s)}
    assert all(len(retrained.tokenize(w)) == 1 for w in words)
    assert retrained.mask_token_id == 4 and retrained.pad_token_id == 0


@pytest.mark.parametrize("sentences, vocab_size", [(None, 100), ([], 100), (["ok"], 3), (["ok"], True)])
def test_train_wordpiece_bad_input(sentences, vocab_size):
    with pytest.raises((CourseTypeError, CourseValueError)):
        train_wordpiece(sentences, vocab_size=vocab_size)


def test_tokenizer_from_vocab_bad_input():
    with pytest.raises(CourseValueError, match="special tokens"):
        tokenizer_from_vocab({"a": 0})
    with pytest.raises(CourseValueError, match="ids must be"):
        tokenizer_from_vocab({t: i * 2 for i, t in enumerate(SPECIAL_TOKENS)})


def test_out_of_vocabulary_names_unknown_and_split_words(tok):
    assert out_of_vocabulary("the cats [MASK] in the park.", tok) == {}
    found = out_of_vocabulary("the zebra [MASK] near the tiger.", tok)
    assert found["zebra"] == ["[UNK]"] and len(found["tiger"]) > 1


# --- masking -------------------------------------------------------------------------------------------------------


def test_apply_masking_rule_on_the_exercise_example():
    tokens, ignored = checkers.right_masking()
    assert tokens == ["[CLS]", "the", "[MASK]", "cats", "forest", "near", "the", "[MASK]", ".", "[SEP]", "[PAD]"]
    assert ignored == [0, 1, 3, 5, 8, 9, 10]


def test_apply_masking_rule_bad_shapes_and_shares():
    ids = torch.ones(2, 3, dtype=torch.long)
    ok = dict(eligible=torch.ones(2, 3, dtype=torch.bool), select_draws=torch.zeros(2, 3),
              action_draws=torch.zeros(2, 3), random_ids=ids, mask_id=4)
    masked, labels = apply_masking_rule(ids, **ok)
    assert (masked == 4).all() and (labels == 1).all()
    with pytest.raises(CourseValueError, match="same shape"):
        apply_masking_rule(ids, **{**ok, "select_draws": torch.zeros(2, 4)})
    with pytest.raises(CourseValueError, match="exceeds 1"):
        apply_masking_rule(ids, **ok, mask_share=0.95, random_share=0.1)


def test_mask_tokens_is_seeded_and_never_chooses_special_tokens(tok, corpus):
    batch = tokenize_corpus(corpus[0][:200], tok)
    ids, special = batch["input_ids"], batch["special_tokens_mask"].bool()
    first = mask_tokens(ids, tok, generator=torch.Generator().manual_seed(3))
    again = mask_tokens(ids, tok, generator=torch.Generator().manual_seed(3))
    other = mask_tokens(ids, tok, generator=torch.Generator().manual_seed(4))
    assert all(torch.equal(a, b) for a, b in zip(first, again)) and not torch.equal(first[1], other[1])
    masked, labels = first
    chosen = labels != IGNORE_INDEX
    assert not (chosen & special).any() and torch.equal(masked[special], ids[special])
    assert torch.equal(labels[chosen], ids[chosen]) and torch.equal(masked[~chosen], ids[~chosen])
    assert not torch.isin(masked[chosen & (masked != tok.mask_token_id)], torch.tensor(tok.all_special_ids)).any()
    assert torch.equal(mask_tokens(ids, tok, generator=torch.Generator().manual_seed(3),
                                   special_tokens_mask=batch["special_tokens_mask"])[1], labels)


def test_masking_statistics_are_within_sampling_error_of_the_recipe(tok, corpus):
    ids = tokenize_corpus(corpus[0], tok)["input_ids"].repeat(4, 1)
    eligible = ~torch.isin(ids, torch.tensor(tok.all_special_ids))
    shares = masking_shares(ids, *mask_tokens(ids, tok, generator=torch.Generator().manual_seed(0)), eligible,
                            tok.mask_token_id)
    n, k = shares["n_eligible"], shares["n_chosen"]
    for name, p, count in (("chosen", 0.15, n), ("[MASK]", 0.8, k), ("random", 0.1, k), ("kept", 0.1, k)):
        assert abs(shares[name] - p) < 4 * math.sqrt(p * (1 - p) / count), name
    assert shares["special chosen"] == 0


def test_compare_with_collator_agrees_within_sampling_error(tok, corpus):
    table = compare_with_collator(tokenize_corpus(corpus[0], tok)["input_ids"], tok, repeats=3)
    assert list(table.index) == ["chosen", "[MASK]", "random", "kept"]
    assert (table["z"].abs() < 4).all() and table.attrs["special_chosen"] == (0, 0)
    with pytest.raises(CourseValueError, match="repeats"):
        compare_with_collator(tokenize_corpus(corpus[0][:3], tok)["input_ids"], tok, repeats=0)


@pytest.mark.parametrize("kwargs, error", [
    ({"mlm_probability": 1.5}, CourseValueError),
    ({"mlm_probability": -0.1}, CourseValueError),
    ({"mlm_probability": float("nan")}, CourseValueError),
    ({"mlm_probability": "0.15"}, CourseTypeError),
    ({"mask_share": True}, CourseTypeError),
    ({"mask_share": 0.8, "random_share": 0.3}, CourseValueError),
])
def test_mask_tokens_rejects_bad_probabilities(tok, kwargs, error):
    ids = tok(["the cat sleeps."], return_tensors="pt")["input_ids"]
    with pytest.raises(error):
        mask_tokens(ids, tok, generator=torch.Generator(), **kwargs)


def test_mask_tokens_rejects_bad_inputs(tok):
    ids = tok(["the cat sleeps."], return_tensors="pt")["input_ids"]
    with pytest.raises(CourseTypeError, match="2-D tensor"):
        mask_tokens(ids[0], tok, generator=torch.Generator())
    with pytest.raises(CourseTypeError, match="2-D tensor"):
        mask_tokens(ids.tolist(), tok, generator=torch.Generator())
    with pytest.raises(CourseTypeError, match="torch.Generator"):
        mask_tokens(ids, tok, generator=0)


def test_masking_shares_needs_eligible_positions(tok):
    ids = torch.tensor([[tok.cls_token_id, tok.sep_token_id]])
    with pytest.raises(CourseValueError, match="no eligible"):
        masking_shares(ids, ids, torch.full_like(ids, IGNORE_INDEX), torch.zeros_like(ids, dtype=torch.bool), 4)


# --- model and training --------------------------------------------------------------------------------------------


def test_build_tiny_bert_is_seeded_and_sized_for_the_tokenizer(tok):
    a, b, c = build_tiny_bert(tok, seed=0), build_tiny_bert(tok, seed=0), build_tiny_bert(tok, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.bert.embeddings.word_embeddings.weight, c.bert.embeddings.word_embeddings.weight)
    assert a.config.vocab_size == len(tok) and a.bert.pooler is None and not a.training
    assert parameter_count(build_tiny_bert(tok, num_hidden_layers=1)) < parameter_count(a)
    with pytest.raises(CourseValueError, match="not BertConfig fields"):
        build_tiny_bert(tok, hidden_sise=32)


def test_train_mlm_is_deterministic_learns_and_prints_to_stdout_only(tok, corpus, capsys):
    runs = []
    for _ in range(2):
        model = build_tiny_bert(tok, seed=0)
        runs.append(train_mlm(model, tok, corpus[0], steps=40, progress=True))
    out, err = capsys.readouterr()
    assert runs[0] == runs[1], "same seed, same losses"
    assert err == "" and out.count("step") == 2 * 10 and "40/40" in out
    assert sum(runs[0][-5:]) / 5 < sum(runs[0][:5]) / 5
    stream = io.StringIO()
    train_mlm(build_tiny_bert(tok), tok, corpus[0][:10], steps=2, batch_size=4, stream=stream)
    assert "2/2" in stream.getvalue()


def test_mlm_loss_equals_the_models_own_loss(tok, corpus):
    model = build_tiny_bert(tok, seed=3)
    data = tokenize_corpus(corpus[0][:16], tok)
    inputs, labels = mask_tokens(data["input_ids"], tok, generator=torch.Generator().manual_seed(1))
    expected = model(input_ids=inputs, attention_mask=data["attention_mask"], labels=labels).loss
    torch.testing.assert_close(mlm_loss(model, inputs, data["attention_mask"], labels), expected)
    with pytest.raises(CourseValueError, match="no position is chosen"):
        mlm_loss(model, inputs, data["attention_mask"], torch.full_like(labels, IGNORE_INDEX))


def test_learning_rate_warms_up_holds_and_decays_to_zero():
    factors = [learning_rate_factor(s, 700) for s in range(701)]
    assert factors[0] == pytest.approx(1 / 70) and factors[69] == 1.0
    assert factors[70:525] == [1.0] * 455, "held between warm-up and decay"
    assert factors[612] == pytest.approx(88 / 175) and factors[700] == 0.0
    assert all(a <= b for a, b in zip(factors[:70], factors[1:71]))
    assert all(a >= b for a, b in zip(factors[525:], factors[526:]))
    assert learning_rate_factor(0, 1) == 1.0, "one step still trains"


def test_train_mlm_survives_batches_with_nothing_chosen_and_ends_in_eval_mode(tok, corpus):
    model = build_tiny_bert(tok, seed=0)
    # One 4-token sentence per step: with 15 % per token, about half of such batches choose nothing at first.
    losses = train_mlm(model, tok, ["the cat sleeps."] * 4, steps=12, batch_size=1, progress=False)
    assert model.config._attn_implementation == "eager" and not model.training
    assert len(losses) == 12 and all(math.isfinite(x) for x in losses)
    with pytest.raises(CourseValueError, match="no token besides"):  # would otherwise redraw forever
        train_mlm(model, tok, ["\u200b"], steps=1, batch_size=1, progress=False)


LESSON = Path(__file__).resolve().parent.parent / "lessons" / "06_pretraining_mlm.ipynb"


def lesson_cell(*needles: str) -> str:
    """The source of lesson 06's one code cell that contains every needle."""
    found = [c.source for c in nbformat.read(LESSON, as_version=4).cells
             if c.cell_type == "code" and all(n in c.source for n in needles)]
    assert len(found) == 1, (needles, len(found))
    return found[0]


def test_train_mlm_is_the_lessons_loop(tok, corpus, capsys):
    """The lesson writes the loss and the loop in cells; train_mlm must be that loop, draw for draw."""
    train, heldout = corpus
    setup = lesson_cell("optimizer = torch.optim.AdamW(", "generator = torch.Generator().manual_seed(0)")
    assert setup.count("steps, batch_size = 700, 64") == 1
    namespace = {"torch": torch, "math": math, "train": train, "tiny_tokenizer": tok, "mask_tokens": mask_tokens,
                 "tokenize_corpus": tokenize_corpus, "untrained": build_tiny_bert(tok, seed=0),
                 "tiny": build_tiny_bert(tok, seed=0), "probes": [find_probe(s) for s in heldout[:8]]}
    for source in (lesson_cell("def mlm_loss("), setup.replace("700, 64", "30, 64"), lesson_cell("loss.backward()")):
        exec(source, namespace)  # the lesson's own cells
    capsys.readouterr()
    model = build_tiny_bert(tok, seed=0)
    losses = train_mlm(model, tok, train, steps=30, batch_size=64, learning_rate=3e-3, seed=0, progress=False)
    assert namespace["losses"] == losses
    assert all(torch.equal(a, b) for a, b in zip(namespace["tiny"].parameters(), model.parameters()))
    assert not namespace["tiny"].training and not model.training


def lesson_claims(tok, corpus, seed: int) -> tuple[list[str], dict]:
    """Train as lesson 06 does with ``seed`` and test every claim it asserts, with the margins behind its prose.
    Returns ``(failed claims, measurements)``."""
    train, heldout = corpus
    probes = [find_probe(s) for s in heldout]
    untrained, model = build_tiny_bert(tok, seed=seed), build_tiny_bert(tok, seed=seed)
    tracker = ProbeTracker(tok, probes, every=50)
    losses = train_mlm(model, tok, train, seed=seed, progress=False, callback=tracker)
    start, end = sum(losses[:10]) / 10, sum(losses[-100:]) / 100
    before, after = grammar_probe_accuracy(untrained, tok, probes), grammar_probe_accuracy(model, tok, probes)
    grammar = [kind for kind in after if kind not in ("capital fact", "all")]
    _, baseline = frequency_baseline(train, heldout, tok)
    accuracy, by_layer = masked_accuracy(model, tok, heldout), accuracy_by_layer(model, tok, heldout)
    curves = {kind: [h[kind] for h in tracker.history] for kind in after}
    first_90 = {kind: next((h["step"] for h in tracker.history if h[kind] >= 0.9), math.inf) for kind in after}
    plateau = {}
    for kind in ["verb agreement", "do/does question"]:
        reached = next((i for i, a in enumerate(curves[kind]) if a >= 0.9), len(curves[kind]))
        plateau[kind] = sum(0.35 <= a <= 0.65 for a in curves[kind][1:reached])
    claims = {
        "starts at ln V": abs(start - math.log(len(tok))) < 0.3,
        "ends well below the unigram entropy": end < unigram_entropy(train, tok) - 1.5,  # the lesson asserts - 1
        "each grammar skill reaches 0.9 during training": all(max(curves[kind]) >= 0.9 for kind in grammar),
        "grammar probes mostly right at the end": sum(after[kind] for kind in grammar) / len(grammar) >= 0.8,
        "untrained under 0.5": before["all"] < 0.5,
        "plateau near chance (2+ checkpoints)": all(n >= 2 for n in plateau.values()),
        "capitals after grammar": first_90["capital fact"] > max(first_90[kind] for kind in grammar),
        "beats the baseline by 30 points": accuracy - baseline > 0.30,
        "untrained below the baseline": masked_accuracy(untrained, tok, heldout) < baseline,
        "context arrives through the layers": by_layer[-1] > by_layer[0] + 0.2,
        "head on hidden_states[-1] is masked_accuracy": abs(by_layer[-1] - accuracy) < 0.01,
        **intervention_claims(model, tok, probes),
    }
    measured = {"end": end, "after": after, "first_90": first_90, "plateau": plateau,
                "accuracy - baseline": accuracy - baseline, "by_layer": by_layer}
    return [name for name, ok in claims.items() if not ok], measured


def intervention_claims(model, tok, probes) -> dict[str, bool]:
    """Lesson 06's intervention section: copying hidden states from plural into singular twins flips the predicted
    verb at the subject at the input and at [MASK] after the last layer (>= 36 of 40), at the other places at most 4.
    Over seeds 0-23 (both directions) the worst values were 37 and 3. After layer 1 the runs differ (subject, [MASK],
    a split, and for seeds 9, 12 and 23 partly other tokens), so the lesson asserts nothing there."""
    pairs = number_pairs(probes, tok)
    plural_verbs = torch.tensor(tok.convert_tokens_to_ids(sorted(PLURAL_VERBS)))
    others = pairs.singular["attention_mask"].bool() & ~pairs.subject & ~pairs.mask
    last = model.config.num_hidden_layers

    def flips(i, where):
        return int(torch.isin(patched_logits(model, pairs, i, where).argmax(-1), plural_verbs).sum())

    n, nowhere = len(others), torch.zeros_like(others)
    return {
        "intervention: 40 pairs": n == 40,
        "unpatched singular twins predict a singular verb": flips(0, nowhere) <= 4,
        "input: the subject flips the verb": flips(0, pairs.subject) >= n - 4,
        "input: the other tokens do not": flips(0, others) <= 4,
        "last layer: [MASK] flips the verb": flips(last, pairs.mask) >= n - 4,
        "last layer: the subject does not": flips(last, pairs.subject) <= 4,
    }


def test_lesson_claims_hold_for_another_seed(tok, corpus):
    """Lesson 06 asserts on its seed-0 run; another CPU rounds differently, much like another seed. Seed 14 must give
    the same story: loss from ln V to well below the unigram entropy, grammar learned on held-out probes after a
    plateau near chance, capitals after grammar, far above the frequency baseline. With the lesson's loop (random
    batches, eager attention, fused AdamW, one thread) seeds 0-23 all pass these claims (checked when the loop was
    written). Skills can be lost again: with plain AdamW, seed 19 reached every grammar skill but ended with do/does
    back at 0.55, so the lesson asserts that each skill was reached, not that it stayed."""
    failed, measured = lesson_claims(tok, corpus, seed=14)
    assert not failed, (failed, measured)


def test_numbers_quoted_in_lesson_06(tok, corpus):
    """Numbers the lesson's prose and summary quote: a 277-token vocabulary, about 8,000 training tokens."""
    train, _ = corpus
    assert len(tok) == 277
    n_tokens = int(tokenize_corpus(train, tok)["attention_mask"].sum()) - 2 * len(train)
    assert round(n_tokens, -3) == 8_000 and len(train) == 1_066


@pytest.mark.parametrize("kwargs", [{"steps": 0}, {"steps": 2.5}, {"batch_size": -1}, {"steps": True}])
def test_train_mlm_bad_arguments(tok, corpus, kwargs):
    with pytest.raises(CourseValueError):
        train_mlm(build_tiny_bert(tok), tok, corpus[0][:10], progress=False, **kwargs)


def test_training_lowers_the_loss_from_ln_v(trained, tok):
    _, losses = trained
    assert abs(sum(losses[:5]) / 5 - math.log(len(tok))) < 0.3
    assert sum(losses[-10:]) / 10 < 3.5


# --- evaluation ----------------------------------------------------------------------------------------------------


def test_fill_mask_one_and_several_masks(trained, tok):
    model, _ = trained
    (one,) = fill_mask("the cats [MASK] in the park.", model, tok, top_k=5)
    assert one.position == 3 and len(one.tokens) == 5
    assert one.probabilities == sorted(one.probabilities, reverse=True) and sum(one.probabilities) <= 1 + 1e-6
    several = fill_mask("the [MASK] cats [MASK] in the [MASK].", model, tok, top_k=2)
    assert [p.position for p in several] == [2, 4, 7] and all(len(p.tokens) == 2 for p in several)


def test_fill_mask_unknown_word_still_predicts(trained, tok):
    model, _ = trained
    (prediction,) = fill_mask("the zebra [MASK] near the river.", model, tok)
    assert len(prediction.tokens) == 5 and "[UNK]" in tok.tokenize("the zebra")


@pytest.mark.parametrize("text, top_k, match", [
    ("the cat sleeps in the park.", 5, "has no \\[MASK\\]"),
    ("the cat [mask] in the park.", 5, "has no \\[MASK\\]"),
    ("the cat [MASK] in the park.", 0, "top_k"),
    (" ".join(["cat"] * 40) + " [MASK]", 5, "positions"),
])
def test_fill_mask_bad_input(trained, tok, text, top_k, match):
    with pytest.raises(CourseValueError, match=match):
        fill_mask(text, trained[0], tok, top_k=top_k)


def test_fill_mask_rejects_non_text(trained, tok):
    with pytest.raises(CourseTypeError):
        fill_mask(None, trained[0], tok)
    with pytest.raises(CourseValueError):
        fill_mask("   ", trained[0], tok)


def test_accuracy_baseline_and_entropy(trained, tok, corpus):
    model, _ = trained
    train, heldout = corpus
    token, baseline = frequency_baseline(train, heldout, tok)
    assert token == "the" == token_frequencies(train, tok).most_common(1)[0][0] and 0.1 < baseline < 0.3
    accuracy = masked_accuracy(model, tok, heldout)
    assert 0 <= accuracy <= 1
    assert 0 < unigram_entropy(train, tok) < math.log(len(tok))
    layers = accuracy_by_layer(model, tok, heldout)
    assert len(layers) == model.config.num_hidden_layers + 1 and abs(layers[-1] - accuracy) < 0.01


def test_grammar_probe_accuracy_and_tracker(trained, tok, corpus):
    model, _ = trained
    probes = [find_probe(s) for s in corpus[1]]
    result = grammar_probe_accuracy(model, tok, probes)
    assert set(result) == set(CORPUS_SIZES) | {"all"} and all(0 <= v <= 1 for v in result.values())
    tracker = ProbeTracker(tok, probes[:10], every=2)
    for step in range(1, 5):
        tracker(step, model)
    assert [h["step"] for h in tracker.history] == [2, 4]
    # It measures in eval mode and hands the model back in the mode it found it (train_mlm does not switch).
    modes = []
    original = model.forward
    model.forward = lambda *a, **k: (modes.append(model.training), original(*a, **k))[1]
    try:
        for training in (True, False):
            model.train(training)
            tracker(6, model)
            assert model.training is training
    finally:
        del model.forward
        model.eval()
    assert modes == [False, False]
    with pytest.raises(CourseValueError):
        grammar_probe_accuracy(model, tok, [])
    with pytest.raises(CourseValueError, match="exactly one"):
        grammar_probe_accuracy(model, tok, [Probe("x", "the [MASK] [MASK].", "cat", frozenset({"cat"}))])
    with pytest.raises(CourseValueError):
        ProbeTracker(tok, probes, every=0)


def test_number_pairs_are_twins_that_differ_only_at_the_subject(tok, corpus):
    probes = [find_probe(s) for s in corpus[1]]
    pairs = number_pairs(probes, tok)
    n = sum(p.kind == "verb agreement" for p in probes)
    assert pairs.singular["input_ids"].shape == pairs.plural["input_ids"].shape and len(pairs.subject) == n == 40
    assert (pairs.subject.sum(1) == 1).all() and (pairs.mask.sum(1) == 1).all()
    assert not (pairs.subject & pairs.mask).any()
    assert torch.equal(pairs.singular["input_ids"][~pairs.subject], pairs.plural["input_ids"][~pairs.subject])
    singular = tok.convert_ids_to_tokens(pairs.singular["input_ids"][pairs.subject])
    plural = tok.convert_ids_to_tokens(pairs.plural["input_ids"][pairs.subject])
    assert set(zip(singular, plural)) <= set(NOUNS)


def test_number_pairs_bad_input(tok, corpus):
    with pytest.raises(CourseValueError, match="non-empty list of Probe"):
        number_pairs(corpus[1][:3], tok)
    with pytest.raises(CourseValueError, match="verb agreement"):
        number_pairs([find_probe("anna lives in paris, the capital of france.")], tok)


def test_patched_logits_copies_hidden_states(trained, tok, corpus):
    model, _ = trained
    pairs = number_pairs([find_probe(s) for s in corpus[1]], tok)
    with torch.no_grad():
        singular, plural = (model(**e).logits[pairs.mask] for e in (pairs.singular, pairs.plural))
    torch.testing.assert_close(patched_logits(model, pairs, 0, torch.zeros_like(pairs.mask)), singular)
    modules = [model.bert.embeddings, *model.bert.encoder.layer]
    hooks = [len(m._forward_hooks) for m in modules]  # transformers adds hooks of its own (output_hidden_states)
    torch.testing.assert_close(patched_logits(model, pairs, 0, pairs.subject), plural)  # the only difference
    torch.testing.assert_close(patched_logits(model, pairs, 2, pairs.mask), plural)  # the head reads [MASK] alone
    torch.testing.assert_close(patched_logits(model, pairs, 2, pairs.subject), singular)
    assert [len(m._forward_hooks) for m in modules] == hooks, "every hook it added is removed"


def test_patched_logits_bad_input(trained, tok, corpus):
    model, _ = trained
    pairs = number_pairs([find_probe(s) for s in corpus[1]], tok)
    for i in (-1, 3, True, 1.0):
        with pytest.raises(CourseValueError, match="from 0"):
            patched_logits(model, pairs, i, pairs.mask)
    with pytest.raises(CourseTypeError, match="bool tensor"):
        patched_logits(model, pairs, 1, pairs.mask.long())
    with pytest.raises(CourseTypeError, match="bool tensor"):
        patched_logits(model, pairs, 1, pairs.mask[:3])


def test_mask_attention_shapes(trained, tok):
    model, _ = trained
    tokens, weights, outputs = mask_attention(model, tok, "the old horses [MASK] near the river.")
    c = model.config
    assert weights.shape == (c.num_hidden_layers * c.num_attention_heads, len(tokens))
    torch.testing.assert_close(weights.sum(-1), torch.ones(len(weights)))
    assert len(outputs.hidden_states) == c.num_hidden_layers + 1
    with pytest.raises(CourseValueError, match="no \\[MASK\\]"):
        mask_attention(model, tok, "the old horses sleep.")


def test_capitals_are_the_facts():
    assert CAPITALS["japan"] == "tokyo" and len(CAPITALS) == 8


# --- plots and explorer --------------------------------------------------------------------------------------------


def test_plot_loss_curve_draws_lines_and_references():
    ax = plot_loss_curve([3.0, 2.0, 1.5, 1.0], references={"ln V": 3.2}, window=2)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "ln V" in labels and ax.get_ylabel().startswith("cross-entropy")
    plt.close("all")
    for bad in ([], [1.0], [1.0, float("nan")]):
        with pytest.raises(CourseValueError):
            plot_loss_curve(bad)
    with pytest.raises(CourseValueError, match="window"):
        plot_loss_curve([1.0, 2.0], window=0)


def test_plot_probe_curves():
    ax = plot_probe_curves([{"step": 50, "a": 0.2, "all": 0.2}, {"step": 100, "a": 0.9, "all": 0.9}])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a"]
    plt.close("all")
    with pytest.raises(CourseValueError):
        plot_probe_curves([])


def test_explorer_updates_and_shows_problems(trained, tok):
    model, _ = trained
    box = fill_mask_explorer({"trained": model, "untrained": build_tiny_bert(tok)}, tok)
    assert "course-explorer" in box._dom_classes and len(box.timings) == 1
    box.controls["text"].value = "the zebra [MASK] near the river."
    box.controls["model"].value = "untrained"
    assert len(box.timings) == 3
    box.controls["text"].value = "no blank here."  # a friendly note, not an error
    assert len(box.timings) == 4
    assert explorer_html("no blank here.", model, tok).startswith("<p>⚠️") and "[MASK]" in explorer_html(
        "no blank here.", model, tok)
    html = predictions_html("the zebra [MASK] [MASK].", model, tok)
    assert html.count("<table>") == 2 and "zebra" in html and "[UNK]" in html
    with pytest.raises(CourseValueError):
        fill_mask_explorer({}, tok)
    assert isinstance(box.controls["text"], widgets.Text) and not box.controls["text"].continuous_update


# --- checkers ------------------------------------------------------------------------------------------------------

RIGHT_TOKENS, RIGHT_IGNORED = checkers.right_masking()


@pytest.mark.parametrize("answer, words", [
    (["[MASK]" if i in (2, 4, 6, 7) else t for i, t in enumerate(checkers.TOKENS)], "Not every chosen"),
    ([{4: "sleep", 6: "horses"}.get(i, t) for i, t in enumerate(RIGHT_TOKENS)], "swapped"),
    (["[MASK]", *RIGHT_TOKENS[1:]], "never chosen"),
    ([*RIGHT_TOKENS[:-1], "[MASK]"], "never chosen"),
    ([{3: "[MASK]"}.get(i, t) for i, t in enumerate(RIGHT_TOKENS)], "select draw is below 0.15"),
    ([t.lower() if t == "[MASK]" else t for t in RIGHT_TOKENS], "capitals"),
    (RIGHT_TOKENS[:5], "one token"),
    ("[CLS] the", "is a str"),
])
def test_apply_80_10_10_rejects_common_mistakes(answer, words):
    verdict = evaluate("06.apply_80_10_10", answer)
    assert verdict.status == "wrong" and words in verdict.message, verdict.message


def test_apply_80_10_10_accepts_the_solution():
    assert evaluate("06.apply_80_10_10", RIGHT_TOKENS).correct
    assert evaluate("06.apply_80_10_10", tuple(RIGHT_TOKENS)).correct


@pytest.mark.parametrize("answer, words", [
    ([2, 4, 6, 7], "USES"),
    ([0, 1, 3, 4, 5, 6, 8, 9, 10], "Not only the [MASK]"),
    ([0, 1, 3, 5, 6, 8, 9, 10], "Position 6"),
    ([0, 9, 10], "every real token that was not chosen"),
    ([1, 3, 5, 8], "You left out [CLS]"),
    ([1, 2, 4, 6, 9, 10, 11], "count from 0"),
    ([0, 1], "exactly when it was chosen"),
    (["0", "1"], "integers"),
    (7, "is a int"),
])
def test_ignored_positions_rejects_common_mistakes(answer, words):
    verdict = evaluate("06.ignored_positions", answer)
    assert verdict.status == "wrong" and words in verdict.message, verdict.message


def test_ignored_positions_accepts_the_solution_in_any_order():
    assert RIGHT_IGNORED == [0, 1, 3, 5, 8, 9, 10]
    assert evaluate("06.ignored_positions", list(reversed(RIGHT_IGNORED))).correct
    assert evaluate("06.ignored_positions", set(RIGHT_IGNORED)).correct


def test_exercise_table_shows_every_position():
    table = checkers.exercise_table()
    assert list(table["token"]) == checkers.TOKENS and table.index.name == "position"
