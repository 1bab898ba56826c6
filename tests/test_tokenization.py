"""Lesson 01 helpers: the WordPiece re-implementation against the real tokenizer, tables, lengths, plot, explorer,
and the lesson's checkers (the right answer and each common mistake they claim to recognise)."""

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from utils import CourseTypeError, CourseValueError, TextTooLongError, evaluate, read_lines  # noqa: E402
from utils.plots.tokenization import pieces_share, plot_position_similarity, plot_token_costs  # noqa: E402
from utils.tokenization import (  # noqa: E402
    VOCAB_KINDS,
    Agreement,
    agreement,
    check_fits,
    chinese_characters,
    count_tokens,
    get_vocab,
    is_chinese_char,
    is_punctuation,
    length_stats,
    normalize,
    pre_tokenize,
    round_trip,
    sentence_lengths,
    split_words,
    token_table,
    vocab_kind,
    vocab_summary,
    word_pieces,
    wordpiece,
    wordpiece_steps,
    wordpiece_tokenize,
)
from utils.widgets.tokenization import pair_explorer, token_html, tokenizer_explorer  # noqa: E402

CORPUS = read_lines("tok_corpus.txt")
# Hard cases beyond the corpus: control and zero-width characters, Greek final sigma, dotted capital I,
# ligatures, full-width letters, kana and Hangul (not "Chinese"), special tokens typed in text, a 101-char word.
EXTRA = ["ΟΔΟΣ İstanbul", "a\u200bb c\u00a0d e\x00f\ufffdg", "x" * 101, "[mask] [MASK] x[MASK]y", "ﬁne Ⅻ ½ ＡＢＣ",
         "カタカナ 한국어 ひらがな", "tab\there\nnew\r\nline", "¿Qué? ¡Sí!", "naïve—café…", "🤗🤗 a🤗b", "Straße ǅ ß",
         "snake_case #tag @you $5 50% {x} [y] <z> a|b ~c `d` ^e", "Ελληνικά Русский עברית", "x" * 100]


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return get_vocab(tokenizer)


# --- character classes and the pipeline ---------------------------------------------------------------------


def test_character_classes():
    assert is_chinese_char("北") and is_chinese_char("龘") and not is_chinese_char("カ")
    assert not is_chinese_char("a") and not is_chinese_char("한")
    assert all(is_punctuation(c) for c in "$#_@'.,!?—…«»“”¿")
    assert not any(is_punctuation(c) for c in "a1 €×°é")


@pytest.mark.parametrize("text", CORPUS + EXTRA)
def test_normalize_and_pre_tokenize_match_the_real_tokenizer(tokenizer, text):
    backend = tokenizer.backend_tokenizer
    normalized = backend.normalizer.normalize_str(text)
    assert normalize(text) == normalized
    if "[" not in text:  # special tokens are matched before normalization, see split_words
        assert pre_tokenize(text) == [w for w, _ in backend.pre_tokenizer.pre_tokenize_str(normalized)]


def test_normalize_examples():
    assert normalize("Zürich CAFÉ") == "zurich cafe"
    assert normalize("北京") == " 北  京 "
    assert normalize("a\tb\x00c") == "a bc"


@pytest.mark.parametrize("bad, error", [(None, CourseTypeError), (3, CourseTypeError), ("", CourseValueError),
                                        ("   ", CourseValueError)])
def test_pipeline_rejects_bad_text(tokenizer, bad, error):
    for fn in (normalize, pre_tokenize):
        with pytest.raises(error):
            fn(bad)
    with pytest.raises(error):
        wordpiece_tokenize(bad, tokenizer)
    with pytest.raises(error):
        split_words(bad, tokenizer)


def test_pre_tokenize_splits_punctuation():
    assert pre_tokenize("Don't panic!") == ["don", "'", "t", "panic", "!"]
    assert pre_tokenize("€14.50") == ["€14", ".", "50"]


def test_wordpiece_examples(tokenizer, vocab):
    assert wordpiece("unbelievably", vocab) == ["un", "##bel", "##ie", "##va", "##bly"]
    assert wordpiece("the", vocab) == ["the"]
    assert wordpiece("café", vocab) == ["[UNK]"]          # not normalized: no 'é' in this vocabulary
    assert wordpiece("a🙂b", vocab) == ["[UNK]"]          # one unknown character sinks the whole word
    assert wordpiece("x" * 101, vocab) == ["[UNK]"]       # longer than max_chars
    assert wordpiece("ab", vocab, max_chars=1) == ["[UNK]"]
    for word in ["tokenization", "hippopotamus", "supercalifragilisticexpialidocious", "1969", "°c"]:
        assert wordpiece(word, vocab) == tokenizer.tokenize(word)


@pytest.mark.parametrize("bad, error", [(None, CourseTypeError), (42, CourseTypeError), ("", CourseValueError),
                                        ("two words", CourseValueError), (" pad", CourseValueError)])
def test_wordpiece_rejects_bad_words(vocab, bad, error):
    with pytest.raises(error):
        wordpiece(bad, vocab)


def test_wordpiece_steps_trace_the_search(vocab):
    steps = wordpiece_steps("unbelievably", vocab)
    assert [s["piece"] for s in steps] == wordpiece("unbelievably", vocab)
    assert steps[0]["start"] == 0 and steps[0]["tried"] == len("unbelievably") - 1
    assert steps[0]["rejected"][0] == "unbelievably"
    assert wordpiece_steps("a🙂b", vocab)[-1]["piece"] == "[UNK]"
    for bad in ["", "two words", None]:
        with pytest.raises(CourseValueError):
            wordpiece_steps(bad, vocab)


@pytest.mark.parametrize("text", CORPUS + EXTRA)
def test_wordpiece_tokenize_matches_the_real_tokenizer(tokenizer, text):
    assert wordpiece_tokenize(text, tokenizer) == tokenizer.tokenize(text)


def test_agreement_is_100_percent_on_every_word_of_the_corpus(tokenizer):
    report = agreement(CORPUS, tokenizer)
    assert report.words >= 800 and report.unique_words >= 400
    assert report.rate == 1.0, report.mismatches
    assert agreement(EXTRA, tokenizer).rate == 1.0


class _VocabWithout:
    """The real tokenizer, but our side sees a vocabulary without some entries: agreement must notice."""

    def __init__(self, tokenizer, missing):
        self._tokenizer, self._vocab = tokenizer, {k: v for k, v in tokenizer.get_vocab().items() if k not in missing}

    def get_vocab(self):
        return self._vocab

    def __call__(self, *args, **kwargs):
        return self._tokenizer(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._tokenizer, name)


def test_agreement_detects_a_difference(tokenizer):
    report = agreement("tokenization is fun", _VocabWithout(tokenizer, {"##ization"}))
    assert report.words == 3 and report.agree == 2 and report.rate == pytest.approx(2 / 3)
    assert report.mismatches[0][0] == "tokenization"
    assert Agreement().rate == 0.0


def test_agreement_rejects_bad_input(tokenizer):
    for bad, error in [([], CourseValueError), (None, CourseTypeError), (["ok", ""], CourseValueError),
                       ([1], CourseTypeError)]:
        with pytest.raises(error):
            agreement(bad, tokenizer)


# --- vocabulary -----------------------------------------------------------------------------------------------


def test_get_vocab(tokenizer):
    vocab = get_vocab(tokenizer)
    assert len(vocab) == 30_522 and vocab["[CLS]"] == tokenizer.cls_token_id and get_vocab(tokenizer) is vocab
    with pytest.raises(CourseTypeError):
        get_vocab("bert-base-uncased")


def test_vocab_summary_adds_up(tokenizer):
    summary = vocab_summary(tokenizer)
    counts = dict(zip(summary["kind"], summary["count"]))
    assert list(summary["kind"]) == list(VOCAB_KINDS)
    assert summary["count"].sum() == 30_522 == tokenizer.vocab_size
    assert counts["special token"] == 5 and counts["unused slot"] == 994
    assert counts["## continuation"] > 5000 and counts["word or word start"] > 20_000
    assert all(summary["examples"].str.len() > 0)


def test_vocab_kind():
    assert vocab_kind("[CLS]", {"[CLS]"}) == "special token"
    assert vocab_kind("[unused7]") == "unused slot"
    assert vocab_kind("##ing") == "## continuation" and vocab_kind("##") == "other (mixed)"
    assert vocab_kind("é") == "single character" and vocab_kind("1969") == "number"
    assert vocab_kind("house") == "word or word start" and vocab_kind("42nd") == "other (mixed)"
    for bad in ["", None, 3]:
        with pytest.raises(CourseValueError):
            vocab_kind(bad)


# --- tokens back to text, lengths ------------------------------------------------------------------------------


def test_token_table_aligns_tokens_with_characters(tokenizer):
    text = "Amélie's café 🙂"
    table = token_table(text, tokenizer)
    assert list(table.columns) == ["position", "token", "input_id", "word_id", "start", "end", "characters"]
    assert list(table["token"]) == ["[CLS]", "amelie", "'", "s", "cafe", "[UNK]", "[SEP]"]
    assert table["word_id"].isna().sum() == 2 and str(table["word_id"].dtype) == "Int64"
    assert list(table["characters"])[1:-1] == ["Amélie", "'", "s", "café", "🙂"]
    assert list(table["position"]) == list(range(len(table)))


@pytest.mark.parametrize("bad, error", [("", CourseValueError), (None, CourseTypeError), (["a"], CourseTypeError)])
def test_text_helpers_reject_bad_text(tokenizer, bad, error):
    for fn in (token_table, round_trip, count_tokens, check_fits):
        with pytest.raises(error):
            fn(bad, tokenizer)


def test_round_trip_is_lossy(tokenizer):
    assert round_trip("Café, DON'T 🙂", tokenizer) == "cafe, don ' t"
    assert round_trip("plain words", tokenizer) == "plain words"


def test_count_tokens_and_check_fits(tokenizer):
    assert count_tokens("Tea time!", tokenizer) == 5
    assert count_tokens("Tea time!", tokenizer, special_tokens=False) == 3
    assert count_tokens("Hi!", tokenizer, text_pair="Hello there.") == 8
    long_text = " ".join(CORPUS)
    assert count_tokens(long_text, tokenizer) > 512           # counted, not truncated
    assert check_fits("Tea time!", tokenizer) == 5
    with pytest.raises(TextTooLongError, match="512 positions"):
        check_fits(long_text, tokenizer)


def test_off_by_one_at_the_limit(tokenizer):
    assert check_fits("word " * 510, tokenizer) == 512      # 510 words + [CLS] + [SEP]: exactly full
    with pytest.raises(TextTooLongError, match="513 tokens"):
        check_fits("word " * 511, tokenizer)
    assert check_fits("word " * 8, tokenizer, limit=10) == 10


def test_count_tokens_rejects_a_pair_with_one_side_empty(tokenizer):
    with pytest.raises(CourseValueError, match="text_pair"):
        count_tokens("Hello", tokenizer, text_pair="")
    with pytest.raises(CourseTypeError, match="text_pair"):
        count_tokens("Hello", tokenizer, text_pair=3)
    with pytest.raises(CourseValueError):
        count_tokens("  ", tokenizer, text_pair="Hello")


def test_word_pieces_and_lengths(tokenizer):
    pieces = word_pieces(CORPUS[:2], tokenizer)
    assert list(pieces.columns) == ["text_id", "word", "n_tokens", "tokens"]
    brulee = pieces[pieces["word"] == "brûlée"].iloc[0]
    assert brulee["n_tokens"] == 3 and brulee["tokens"] == "br ##ule ##e"
    lengths = sentence_lengths(CORPUS, tokenizer)
    assert len(lengths) == len(CORPUS) and (lengths["tokens"] >= lengths["space_words"] + 2).all()
    stats = length_stats(CORPUS, tokenizer)
    assert stats["space_words"] == 622 and stats["tokens"] == 1002 and stats["words_that_fit"] == 316
    assert stats["tokens_per_word"] == pytest.approx(1002 / 622)
    assert length_stats("one two three", tokenizer, limit=5)["words_that_fit"] == 3


def test_lengths_reject_bad_input(tokenizer):
    for fn in (word_pieces, sentence_lengths, length_stats):
        with pytest.raises(CourseValueError):
            fn([], tokenizer)
        with pytest.raises(CourseTypeError):
            fn(None, tokenizer)
    for bad in (2, 2.5, True, "512"):
        with pytest.raises(CourseValueError):
            length_stats(CORPUS, tokenizer, limit=bad)


# --- plots ------------------------------------------------------------------------------------------------------


def test_pieces_share_and_plot(tokenizer):
    pieces = word_pieces(CORPUS, tokenizer)
    shares = pieces_share(pieces)
    assert list(shares["tokens per word"]) == ["1", "2", "3", "4", "5+"]
    assert shares["share"].sum() == pytest.approx(1.0) and shares["share"].iloc[0] > 0.8
    left, right = plot_token_costs(pieces, sentence_lengths(CORPUS, tokenizer))
    assert len(left.patches) == 5 and left.get_title().startswith("Tokens per word")
    assert right.get_xlabel() and right.get_ylabel() == "len(input_ids)" and len(right.lines) == 2
    plt.close("all")


def test_plots_reject_bad_tables():
    with pytest.raises(CourseTypeError):
        pieces_share([1, 2, 3])
    with pytest.raises(CourseValueError):
        pieces_share(pd.DataFrame({"n_tokens": []}))
    with pytest.raises(CourseTypeError):
        plot_token_costs(pd.DataFrame({"n_tokens": [1]}), pd.DataFrame({"x": [1]}))


def test_plot_position_similarity_checks_shapes(model):
    import torch

    from utils.special_tokens import position_similarity

    matrix, by_distance = position_similarity(model)
    left, right = plot_position_similarity(matrix, by_distance)
    assert right.get_xlabel().startswith("distance") and len(right.lines) >= 1
    plt.close("all")
    with pytest.raises(CourseValueError):
        plot_position_similarity(torch.zeros(3, 4), torch.zeros(3))


# --- explorer ---------------------------------------------------------------------------------------------------


def test_token_html_marks_pieces_unknowns_and_count(tokenizer):
    page = token_html("Unbelievably 🙂 tasty", tokenizer)
    assert "<b>10 tokens</b>" in page and "of 512 positions" in page and "1 [UNK]" in page and "5 ## pieces" in page
    assert "##</span>bel" in page and "border-left:2px dashed" in page and "#d55e00" in page
    assert "fits: 502 positions left" in page
    assert "without [CLS] and [SEP]" in token_html("tasty", tokenizer, special_tokens=False)
    too_long = token_html(" ".join(CORPUS), tokenizer)
    assert "too long" in too_long and "1004 &gt; 512" in too_long
    assert "&lt;<br>" in token_html("<b>", tokenizer)   # typed HTML is shown, not interpreted


def test_token_html_rejects_bad_text(tokenizer):
    with pytest.raises(CourseValueError):
        token_html("", tokenizer)
    with pytest.raises(CourseTypeError):
        token_html(None, tokenizer)


def test_tokenizer_explorer_updates_fast(tokenizer):
    box = tokenizer_explorer(tokenizer)
    assert "course-explorer" in box._dom_classes and len(box.timings) == 1
    text_box = box.controls["text"]
    assert isinstance(text_box, widgets.Textarea) and text_box.continuous_update is False
    text_box.value = "Another text, with an emoji 🙂"
    box.controls["special_tokens"].value = False
    assert len(box.timings) == 3 and max(box.timings) < 0.1
    with pytest.raises(CourseTypeError):
        tokenizer_explorer("not a tokenizer")
    with pytest.raises(CourseValueError):
        tokenizer_explorer(tokenizer, text="")


def test_pair_explorer_updates_fast(tokenizer):
    box = pair_explorer(tokenizer)
    assert all(getattr(c, "continuous_update", False) is False for c in box.controls.values()
               if isinstance(c, widgets.Text))
    box.controls["max_length"].value = 8
    box.controls["strategy"].value = "only_first"        # too short to cut: shown in the explorer, no exception
    box.controls["text_pair"].value = "Another answer."
    assert len(box.timings) == 4  # one redraw per change; how fast is the benchmark's job (bench/README.md)
    with pytest.raises(CourseValueError):
        pair_explorer(tokenizer, text="Question?", text_pair="")
    with pytest.raises(CourseTypeError):
        pair_explorer(None)


# --- lesson 01 checkers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("exercise_id, right", [
    ("01.count_tokens", 13),
    ("01.wordpiece_pieces", ["un", "##ha", "##pp", "##iness"]),
    ("01.wordpiece_pieces", ("un", "##ha", "##pp", "##iness")),
    ("01.unk_count", 2),
    ("01.words_that_fit", 318),
])
def test_lesson01_accepts_the_solution(bert, exercise_id, right):
    assert evaluate(exercise_id, right).correct


@pytest.mark.parametrize("exercise_id, answer, words", [
    ("01.count_tokens", 5, "number of words"),                  # one token per word
    ("01.count_tokens", 7, "One token per word plus"),          # one per word + specials
    ("01.count_tokens", 11, "[CLS]"),                           # forgot [CLS]/[SEP]
    ("01.count_tokens", 12, "two special tokens"),              # only one of them
    ("01.count_tokens", 20, "Not quite"),
    ("01.count_tokens", "13", "is a str"),
    ("01.wordpiece_pieces", ["un", "##happiness"], "linguist"),  # morphology instead of greedy search
    ("01.wordpiece_pieces", ["un", "ha", "pp", "iness"], "with ## in front"),
    ("01.wordpiece_pieces", ["##un", "##ha", "##pp", "##iness"], "first piece"),
    ("01.wordpiece_pieces", ["Un", "##ha", "##pp", "##iness"], "lowercased"),
    ("01.wordpiece_pieces", ["unhappiness"], "whole word"),
    ("01.wordpiece_pieces", ["unh", "##appiness"], "greedy search"),
    ("01.wordpiece_pieces", [1, 2], "string"),
    ("01.wordpiece_pieces", "un ##ha", "is a str"),
    ("01.unk_count", 0, "not in the vocabulary"),
    ("01.unk_count", 4, "holds 244 of them"),                   # every Chinese character unknown
    ("01.unk_count", 5, "Not every Chinese character"),
    ("01.unk_count", 1, "emoji is one [UNK]"),
    ("01.unk_count", 3, "look each one up"),
    ("01.words_that_fit", 512, "one token per word"),            # one token per word
    ("01.words_that_fit", 510, "one token per word"),
    ("01.words_that_fit", 320, "[CLS] and [SEP] take 2"),        # forgot the special tokens
    ("01.words_that_fit", 319, "round down"),                    # rounded up / off by one
    ("01.words_that_fit", 100, "rounded down"),
    ("01.words_that_fit", 318.75, "is a float"),
])
def test_lesson01_rejects_common_mistakes(bert, exercise_id, answer, words):
    verdict = evaluate(exercise_id, answer)
    assert verdict.status == "wrong" and words in verdict.message, verdict.message


def test_chinese_characters_in_the_vocabulary(tokenizer):
    vocab = get_vocab(tokenizer)
    chinese = chinese_characters(vocab)
    assert len(chinese) == 244 and chinese == sorted(chinese) and {"北", "京", "学"} <= set(chinese)
    assert "你" not in chinese and all("##" + c in vocab for c in chinese)
    assert chinese_characters({"a": 0, "中": 1, "##中": 2, "カ": 3}) == ["中"]
    for bad in ("中文", None):
        with pytest.raises(CourseTypeError):
            chinese_characters(bad)


def test_fine_tuning_and_sentence_transformers_limits_are_read_from_the_checkpoint(model):
    from utils.special_tokens import fine_tuning_max_length, sentence_transformers_config

    assert fine_tuning_max_length() == 128 and sentence_transformers_config()["max_seq_length"] == 256
    assert model.config.max_position_embeddings == 512


def test_lesson01_words_per_window(tokenizer):
    """Lesson 01's regression figures (the lesson only asserts fewer words than positions)."""
    stats = length_stats(CORPUS, tokenizer)
    assert 1.55 < stats["tokens_per_word"] < 1.65 and stats["words_that_fit"] == 316
    assert length_stats(CORPUS, tokenizer, limit=256)["words_that_fit"] == 157
