"""Lesson 09 helpers: the hash-checked bert-base-chinese vocabulary, the comparison tables, jieba and whole-word
masking, the explorer, and the lesson's checkers (the right answers and each mistake they claim to recognise)."""

import statistics

import pytest
import torch

from utils import ChecksumMismatchError, CourseTypeError, CourseValueError, evaluate, load_model, read_tsv
from utils.chinese import (
    VOCAB_SHA256,
    VOCAB_SIZE,
    compare_tokenizers,
    load_chinese_tokenizer,
    load_chinese_vocab,
    segment_words,
    side_by_side,
    tokenization_stats,
    vocab_sha256,
    whole_word_ids,
    whole_word_masking,
)
from utils.data import data_path
from utils.exercises.chinese import COUNT_TEXT, GROUP_TEXT
from utils.tokenization import agreement


@pytest.fixture(scope="module")
def chinese():
    return load_chinese_tokenizer()


@pytest.fixture(scope="module")
def english():
    return load_model().tokenizer


def texts():
    return list(read_tsv("chinese_sentences.tsv", columns=["kind", "text"])["text"])


# --- vocabulary ---------------------------------------------------------------------------------------------


def test_vocab_file_is_byte_identical_to_the_release():
    assert vocab_sha256(data_path("bert_base_chinese_vocab.txt")) == VOCAB_SHA256


def test_vocab_ids_are_line_numbers_and_specials_sit_where_bert_puts_them():
    vocab = load_chinese_vocab()
    assert len(vocab) == VOCAB_SIZE == 21_128
    assert [vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")] == [0, 100, 101, 102, 103]


def test_changed_vocab_raises_checksum_mismatch_with_the_fix(tmp_path):
    changed = tmp_path / "vocab.txt"
    changed.write_bytes(data_path("bert_base_chinese_vocab.txt").read_bytes() + b"extra\n")
    with pytest.raises(ChecksumMismatchError, match="git checkout"):
        load_chinese_vocab(changed)


def test_vocab_bad_inputs(tmp_path):
    with pytest.raises(CourseValueError, match="no vocabulary file"):
        load_chinese_vocab(tmp_path / "missing.txt")
    with pytest.raises(CourseTypeError):
        vocab_sha256(42)


def test_tokenizer_is_a_real_fast_tokenizer_with_the_checkpoint_settings(chinese):
    assert chinese.is_fast and len(chinese) == VOCAB_SIZE and chinese.do_lower_case
    assert chinese.tokenize("我用Python！") == ["我", "用", "python", "！"]
    assert load_chinese_tokenizer() is chinese  # cached


def test_vocab_file_argument_is_silently_ignored_by_transformers_5():
    # Why load_chinese_tokenizer passes vocab= (a dict): vocab_file= leaves a 5-token vocabulary without a warning.
    from transformers import BertTokenizerFast

    ignored = BertTokenizerFast(vocab_file=str(data_path("bert_base_chinese_vocab.txt")))
    assert len(ignored) < 10


# --- tokenization ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["chinese", "english"])
def test_lesson01_reimplementation_agrees_on_the_chinese_corpus(which, request):
    report = agreement(texts(), request.getfixturevalue(which))
    assert report.rate == 1.0 and report.words > 400, report.mismatches


def test_stats_and_comparison(chinese, english):
    stats = tokenization_stats("下雨了☔", chinese)
    assert stats == {"characters": 4, "tokens": 4, "unk": 1, "unk_rate": 0.25, "tokens_per_char": 1.0}
    table = compare_tokenizers({"all": texts()}, {"English": english, "Chinese": chinese})
    rates = dict(zip(table["tokenizer"], table["unk_rate"]))
    assert rates["English"] > 0.5 and rates["Chinese"] < 0.05
    assert side_by_side("☔", {"zh": chinese}) == {"zh": ["[UNK]"]}


def test_stats_bad_inputs(chinese):
    with pytest.raises(CourseTypeError):
        tokenization_stats("好", "not a tokenizer")
    with pytest.raises(CourseTypeError):
        compare_tokenizers({}, {"zh": chinese})
    with pytest.raises(CourseTypeError):
        side_by_side("好", {})


# --- segmentation and whole-word masking ---------------------------------------------------------------------


def test_segment_words_keeps_every_character_and_stays_quiet(capfd):
    text = "自然语言处理让计算机读懂人类的文字。"
    words = segment_words(text)
    assert "".join(words) == text and "计算机" in words
    assert capfd.readouterr().err == ""
    with pytest.raises(CourseTypeError):
        segment_words(None)


def test_whole_word_ids_group_pieces_of_latin_words(chinese):
    assert whole_word_ids(GROUP_TEXT, chinese) == [None, 0, 0, 1, 2, 2, 3, 4, 4, 5, 5, None]
    with pytest.raises(CourseValueError, match="join to the text"):
        whole_word_ids(GROUP_TEXT, chinese, ["我们"])


def test_whole_word_masking_chooses_whole_words_at_about_the_rate(chinese):
    text = "自然语言处理让计算机读懂人类的文字。"
    chosen_share = []
    for seed in range(300):
        input_ids, masked, labels, word_ids = whole_word_masking(text, chinese,
                                                                 generator=torch.Generator().manual_seed(seed))
        chosen = (labels[0] != -100).tolist()
        for w in set(word_ids) - {None}:
            assert len({chosen[i] for i, x in enumerate(word_ids) if x == w}) == 1
        assert not chosen[0] and not chosen[-1]
        chosen_share.append(len({x for x, c in zip(word_ids, chosen) if c}) / len(set(word_ids) - {None}))
    assert 0.11 < statistics.mean(chosen_share) < 0.19
    with pytest.raises(CourseTypeError, match="Generator"):
        whole_word_masking(text, chinese, generator=0)


# --- explorer ---------------------------------------------------------------------------------------------------


def test_explorer_renders_both_tokenizations_fast(english, chinese):
    from utils.widgets.chinese import chinese_explorer

    box = chinese_explorer(english, chinese)
    text = box.controls["text"]
    for value in ["今天天气真好😊", "這個問題", "GitHub 2024"]:
        text.value = value
    assert len(box.timings) == 4  # one redraw per change; how fast is the benchmark's job (bench/README.md)
    with pytest.raises(CourseTypeError):
        chinese_explorer("x", chinese)


# --- checkers ---------------------------------------------------------------------------------------------------


def test_count_tokens_checker(chinese, english):
    right = len(chinese(COUNT_TEXT)["input_ids"])
    assert evaluate("09.count_tokens", right).correct
    assert "number of characters" in evaluate("09.count_tokens", len(COUNT_TEXT)).message
    assert "[CLS]" in evaluate("09.count_tokens", right - 2).message
    assert "jieba" in evaluate("09.count_tokens", len(segment_words(COUNT_TEXT))).message
    english_count = len(english(COUNT_TEXT)["input_ids"])
    if english_count != right:
        assert "English" in evaluate("09.count_tokens", english_count).message
    assert "one token per Chinese character" in evaluate("09.count_tokens", 99).message
    assert evaluate("09.count_tokens", "12").status == "wrong"


def test_word_groups_checker(chinese):
    right = [w for w in whole_word_ids(GROUP_TEXT, chinese) if w is not None]
    assert evaluate("09.word_groups", right).correct
    assert evaluate("09.word_groups", tuple(right)).correct
    assert evaluate("09.word_groups", [None] + right + [None]).correct
    assert "its own word" in evaluate("09.word_groups", list(range(len(right)))).message
    by_character = [i for i, w in enumerate(segment_words(GROUP_TEXT)) for _ in w]
    assert "One entry per character" in evaluate("09.word_groups", by_character).message
    assert "from 0" in evaluate("09.word_groups", [w + 1 for w in right]).message
    assert "give one word index for each" in evaluate("09.word_groups", [0, 1]).message
    assert "one int per token" in evaluate("09.word_groups", ["a"]).message
    assert "jieba cuts" in evaluate("09.word_groups", [0] * len(right)).message
    assert evaluate("09.word_groups", "0 0 1").status == "wrong"
