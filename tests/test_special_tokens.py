"""Lesson 02 helpers: special tokens, pairs, truncation, the input embedding recomputed, [MASK] pre-training, and the
lesson's checkers (the right answer and each common mistake they claim to recognise)."""

import pandas as pd
import pytest
import torch

from utils import CourseTypeError, CourseValueError, TextTooLongError, encode, evaluate, forward, read_lines
from utils.special_tokens import (
    SPECIAL_ROLES,
    checkpoint_tensor_names,
    fine_tuning_max_length,
    pair_table,
    pooler_from_cls,
    position_similarity,
    read_pairs,
    sentence_transformers_config,
    special_tokens_table,
    style_pair_table,
    truncation_table,
)

LONG_TEXT = " ".join(read_lines("tok_corpus.txt"))   # about 1,000 tokens: more than the model accepts


def test_special_tokens_table_reads_ids_from_the_tokenizer(tokenizer):
    table = special_tokens_table(tokenizer)
    assert list(table["attribute"]) == list(SPECIAL_ROLES)
    ids = dict(zip(table["token"], table["input_id"]))
    assert ids == {"[CLS]": tokenizer.cls_token_id, "[SEP]": tokenizer.sep_token_id,
                   "[PAD]": tokenizer.pad_token_id, "[MASK]": tokenizer.mask_token_id,
                   "[UNK]": tokenizer.unk_token_id}
    assert sorted(ids.values()) == sorted(tokenizer.all_special_ids)


def test_special_tokens_table_rejects_a_non_bert_tokenizer():
    with pytest.raises(CourseTypeError, match="cls_token"):
        special_tokens_table(object())


# --- pairs ------------------------------------------------------------------------------------------------------


def test_pair_table_layout(tokenizer):
    table = pair_table("Hi!", tokenizer, "Hello there.")
    assert list(table.columns) == ["position", "token", "input_id", "token_type_id", "segment", "special"]
    assert list(table["token"]) == ["[CLS]", "hi", "!", "[SEP]", "hello", "there", ".", "[SEP]"]
    assert list(table["token_type_id"]) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert list(table["segment"]) == list("AAAABBBB")
    assert list(table["special"]) == [True, False, False, True, False, False, False, True]


def test_pair_table_single_text_truncation_and_padding(tokenizer):
    single = pair_table("Tea time!", tokenizer)
    assert list(single["token"]) == ["[CLS]", "tea", "time", "!", "[SEP]"] and set(single["segment"]) == {"A"}
    cut = pair_table("one two three four", tokenizer, "five six seven eight", truncation=True, max_length=7)
    assert len(cut) == 7 and list(cut["token"]).count("[SEP]") == 2
    padded = pair_table("Tea", tokenizer, "time", padding="max_length", max_length=8)
    assert list(padded["segment"])[-3:] == ["pad"] * 3 and padded["special"].sum() == 6


@pytest.mark.parametrize("text, pair, error", [
    ("", "Hello", CourseValueError),                 # one side empty
    ("Hello", "", CourseValueError),
    ("Hello", "   ", CourseValueError),
    (None, "Hello", CourseTypeError),
    ("Hello", 42, CourseTypeError),
    (["Hello"], None, CourseTypeError),
])
def test_pair_table_rejects_bad_input(tokenizer, text, pair, error):
    with pytest.raises(error):
        pair_table(text, tokenizer, pair)


def test_pair_table_refuses_too_long_input_unless_truncated(tokenizer):
    with pytest.raises(TextTooLongError, match="truncation"):
        pair_table(LONG_TEXT, tokenizer)
    with pytest.raises(TextTooLongError):
        pair_table("Short question?", tokenizer, LONG_TEXT)
    cut = pair_table("Short question?", tokenizer, LONG_TEXT, truncation="longest_first", max_length=512)
    assert len(cut) == 512 and cut["token"].iloc[-1] == "[SEP]"


def test_style_pair_table_is_deterministic_and_coloured(tokenizer):
    table = pair_table("Hi!", tokenizer, "Hello there.")
    html = style_pair_table(table).to_html()
    assert html == style_pair_table(table).to_html()          # fixed id: nbval can compare it
    assert "#cfe3f5" in html and "#fbe0c2" in html and "#d9d9d9" in html and "bold" in html
    with pytest.raises(CourseTypeError):
        style_pair_table(pd.DataFrame({"token": ["a"]}))
    with pytest.raises(CourseTypeError):
        style_pair_table([1, 2])


def test_truncation_table(tokenizer):
    question = "Why?"
    answer = "Because a fixed vocabulary cannot hold every word of every language, so rare words are cut."
    table = truncation_table(question, answer, tokenizer, max_length=12)
    assert list(table["strategy"]) == ["longest_first", "only_first", "only_second"]
    longest, only_first, only_second = (table.iloc[i] for i in range(3))
    assert longest["total"] == 12 and longest["tokens_A"] == 2 and longest["tokens_B"] == 7
    assert pd.isna(only_first["total"]) and "too short" in only_first["error"]
    assert only_second["tokens_B"] == 7 and only_second["error"] == ""


@pytest.mark.parametrize("args, error", [
    (("Why?", None, 12), CourseValueError),          # not a pair
    (("Why?", "", 12), CourseValueError),            # one side empty
    (("", "Because.", 12), CourseValueError),
    (("Why?", "Because.", 3), CourseValueError),     # no room for the three special tokens and a token
    (("Why?", "Because.", 12.0), CourseValueError),
    (("Why?", "Because.", True), CourseValueError),
    ((7, "Because.", 12), CourseTypeError),
])
def test_truncation_table_rejects_bad_input(tokenizer, args, error):
    text, pair, max_length = args
    with pytest.raises(error):
        truncation_table(text, pair, tokenizer, max_length)


def test_read_pairs(monkeypatch):
    pairs = read_pairs()
    assert len(pairs) == 6 and all(isinstance(a, str) and isinstance(b, str) and a and b for a, b in pairs)
    monkeypatch.setattr("utils.data.read_lines", lambda name: ["no tab here"])
    with pytest.raises(CourseValueError, match="pair 1"):
        read_pairs("x.tsv")
    monkeypatch.setattr("utils.data.read_lines", lambda name: ["question\t "])
    with pytest.raises(CourseValueError):
        read_pairs("x.tsv")


# --- the input embedding ----------------------------------------------------------------------------------------


def embeddings_by_hand(encoding, model):
    """Lesson 02's cell: LayerNorm(word + position + token_type) from model.embeddings' weights."""
    emb, ids = model.embeddings, encoding["input_ids"]
    types = encoding.get("token_type_ids", torch.zeros_like(ids))
    with torch.no_grad():
        return emb.LayerNorm(emb.word_embeddings(ids) + emb.position_embeddings(torch.arange(ids.shape[1]))
                             + emb.token_type_embeddings(types))


def test_input_embedding_by_hand_equals_hidden_states_0(bert, model):
    pairs = read_pairs()[:3]
    encoding, outputs = forward([a for a, _ in pairs], bert, text_pair=[b for _, b in pairs])
    assert (encoding["attention_mask"] == 0).any()           # padded pairs: [PAD] positions included
    torch.testing.assert_close(embeddings_by_hand(encoding, model), outputs.hidden_states[0])
    encoding, outputs = forward("Tea time!", bert)
    no_types = {"input_ids": encoding["input_ids"]}           # token_type_ids default to 0
    torch.testing.assert_close(embeddings_by_hand(no_types, model), outputs.hidden_states[0])


def test_dropout_in_train_mode_zeroes_about_a_tenth(bert, model):
    encoding, outputs = forward("Tea time, please, with a little milk and no sugar.", bert)
    emb = model.embeddings
    emb.train()
    try:
        with torch.no_grad():
            noisy = emb(input_ids=encoding["input_ids"], token_type_ids=encoding["token_type_ids"])
    finally:
        emb.eval()
    assert 0.06 < (noisy == 0).float().mean().item() < 0.14 and not model.training


def test_512_positions_include_the_special_tokens(model, tokenizer):
    assert model.embeddings.position_embeddings.num_embeddings == 512
    with pytest.raises(IndexError):
        model.embeddings.position_embeddings(torch.tensor([512]))
    with pytest.raises(TextTooLongError):
        encode(LONG_TEXT, tokenizer)
    cut = encode(LONG_TEXT, tokenizer, truncation=True)
    assert cut["input_ids"].shape[1] == 512 and cut["input_ids"][0, -1] == tokenizer.sep_token_id


def test_position_similarity(model):
    matrix, by_distance = position_similarity(model)
    assert tuple(matrix.shape) == (512, 512) and by_distance.shape == (512,)
    torch.testing.assert_close(matrix.diagonal(), torch.ones(512))
    assert by_distance[1] > 0.8 and by_distance[1:11].mean() > 0.4 and abs(by_distance[100:].mean()) < 0.2
    assert by_distance[100:].max() < by_distance[1:11].mean()  # lesson 02's claim: near beats any far pair


def test_pooler_reads_only_the_cls_position(bert, model):
    _, outputs = forward(["Tea time!", "A much longer sentence about tea."], bert)
    torch.testing.assert_close(pooler_from_cls(outputs.last_hidden_state, model), outputs.pooler_output)
    changed = outputs.last_hidden_state.clone()
    changed[:, 1:] = 0                                        # everything but [CLS] wiped: same pooler output
    torch.testing.assert_close(pooler_from_cls(changed, model), outputs.pooler_output)
    with pytest.raises(CourseTypeError):
        pooler_from_cls(outputs.pooler_output, model)         # [batch, hidden]: the wrong tensor
    with pytest.raises(CourseTypeError):
        pooler_from_cls([[1.0]], model)


# --- [MASK] and the checkpoint ----------------------------------------------------------------------------------


def test_checkpoint_has_no_mlm_head_and_uses_mean_pooling(model, tmp_path):
    names = checkpoint_tensor_names()
    assert {n.split(".")[0] for n in names} == {"embeddings", "encoder", "pooler"}
    assert not any(n.startswith(("cls.", "lm_head")) for n in names) and type(model).__name__ == "BertModel"
    config = sentence_transformers_config()
    assert config == {"pooling": ["mean_tokens"], "max_seq_length": 256}
    with pytest.raises(CourseValueError):
        sentence_transformers_config(tmp_path)
    assert fine_tuning_max_length() == 128 < config["max_seq_length"]  # the model card's "limited to 128 tokens"
    with pytest.raises(CourseValueError, match="model card"):
        fine_tuning_max_length(tmp_path)
    with pytest.raises(CourseValueError):
        checkpoint_tensor_names(tmp_path)


# --- lesson 02 checkers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("exercise_id, right", [
    ("02.pair_length", 12),
    ("02.token_type_ids", [0, 0, 0, 0, 1, 1, 1, 1]),
    ("02.token_type_ids", (0, 0, 0, 0, 1, 1, 1, 1)),
    ("02.pair_budget", 509),
    ("02.mask_count", 240),
    ("02.mask_count", 240.0),
])
def test_lesson02_accepts_the_solution(bert, exercise_id, right):
    assert evaluate(exercise_id, right).correct


@pytest.mark.parametrize("exercise_id, answer, words", [
    ("02.pair_length", 9, "a pair also gets [CLS] and two [SEP]"),   # forgot all special tokens
    ("02.pair_length", 11, "three special tokens"),                  # counted a single text's two
    ("02.pair_length", 13, "two [CLS]"),                             # encoded the texts separately
    ("02.pair_length", 7, "number of words"),                        # one token per word
    ("02.pair_length", 20, "Count the tokens"),
    ("02.pair_length", "12", "is a str"),
    ("02.token_type_ids", [0] * 8, "All zeros"),
    ("02.token_type_ids", [0, 0, 0, 1, 1, 1, 1, 1], "first [SEP] closes segment A"),
    ("02.token_type_ids", [0, 0, 0, 0, 1, 1, 1, 0], "last [SEP] closes segment B"),
    ("02.token_type_ids", [1, 1, 1, 1, 2, 2, 2, 2], "numbered 0 (A) and 1 (B)"),
    ("02.token_type_ids", [0, 0, 1, 1, 1], "special tokens included"),   # forgot the special tokens
    ("02.token_type_ids", [0, 1, 0, 1, 0, 1, 0, 1], "[CLS], the tokens of A"),
    ("02.token_type_ids", [0, 0, "1"], "one int per position"),
    ("02.pair_budget", 512, "special tokens use some"),
    ("02.pair_budget", 510, "one more [SEP]"),                       # single-text budget
    ("02.pair_budget", 511, "Count the special tokens"),             # off by one
    ("02.pair_budget", 513, "not 513"),                              # off by one the other way
    ("02.pair_budget", 400, "Positions minus"),
    ("02.mask_count", 300, "only 80 %"),                             # all picked tokens become [MASK]
    ("02.mask_count", 1600, "not to all tokens"),
    ("02.mask_count", 30, "10 %"),
    ("02.mask_count", 200, "10 %"),
    ("02.mask_count", 100, "Picked = 15 %"),
    ("02.mask_count", "240", "is a str"),
])
def test_lesson02_rejects_common_mistakes(bert, exercise_id, answer, words):
    verdict = evaluate(exercise_id, answer)
    assert verdict.status == "wrong" and words in verdict.message, verdict.message


@pytest.mark.parametrize("strategy", ["only_first", "only_second"])
def test_pair_table_explains_an_impossible_truncation(tokenizer, strategy):
    from utils import CourseValueError

    text, text_pair = "a short one", "a much longer second text that needs many more tokens than the first"
    if strategy == "only_second":
        text, text_pair = text_pair, text
    with pytest.raises(CourseValueError, match="longest_first"):
        pair_table(text, tokenizer, text_pair, truncation=strategy, max_length=6)
