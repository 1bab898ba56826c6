"""Checkers for lesson 03 (attention masks). Each names the common mistakes it recognises."""

from __future__ import annotations

from ..model import load_model
from . import Wrong, exercise, expect_type

MASK_BATCH = ["Good morning!", "Birds sing at dawn every day."]
LENGTH_BATCH = ["Short one.", "Tokenization sometimes splits unbelievably long words.", "Masks matter."]
LENGTH_MAX = 32
BUG_BATCH = ["Owls hunt.", "My neighbour repairs bicycles for free.", "Padding is cheap."]


def _as_rows(answer) -> list[list[int]]:
    """A mask answer as a list of int lists (a tensor or nested lists/tuples are accepted)."""
    if hasattr(answer, "tolist") and not isinstance(answer, (list, tuple)):
        answer = answer.tolist()
    answer = expect_type(answer, (list, tuple), "[[1, 1, 0], [1, 1, 1]]")
    if not answer or not all(isinstance(row, (list, tuple)) for row in answer):
        raise Wrong("Write one list per sentence, e.g. [[1, 1, 0], [1, 1, 1]]: the mask is [batch, seq_len].")
    if not all(isinstance(v, int) and not isinstance(v, bool) for row in answer for v in row):
        raise Wrong("Use the integers 0 and 1 (not True/False or floats), as the tokenizer does.")
    return [list(row) for row in answer]


def expected_mask(tokenizer=None) -> list[list[int]]:
    tokenizer = tokenizer or load_model().tokenizer
    return tokenizer(MASK_BATCH, padding=True)["attention_mask"]


@exercise("03.build_mask")
def build_mask(answer) -> str:
    """The attention_mask of MASK_BATCH padded to the longest, written by hand."""
    right = expected_mask()
    rows = _as_rows(answer)
    if len(rows) != len(right):
        raise Wrong(f"The batch has {len(right)} sentences, so the mask needs {len(right)} rows, one per sentence.")
    if any(v not in (0, 1) for row in rows for v in row):
        raise Wrong("A mask holds only 0 and 1. Did you write input_ids (token numbers) instead?")
    real = [sum(r) for r in right]
    width = len(right[0])
    if len({len(r) for r in rows}) > 1:
        raise Wrong("Your rows have different lengths. Padding makes every row as long as the longest sentence: "
                    "fill the short one with 0s at the end.")
    if rows == [[1 - v for v in r] for r in right]:
        raise Wrong("You flipped it: 1 marks a real token (look at it), 0 marks padding (ignore it).")
    if len(rows[0]) == width - 2 and [sum(r) for r in rows] == [n - 2 for n in real]:
        raise Wrong("You counted the words' tokens but not the special tokens: each sentence also gets [CLS] at the "
                    "start and [SEP] at the end, and both are real tokens with mask 1.")
    if all(all(v == 1 for v in row) for row in rows):
        raise Wrong("All 1s means 'every position is real', so the model would look at the [PAD] tokens too. "
                    "Padding positions get 0.")
    if rows == [[0] * (width - n) + [1] * n for n in real]:
        raise Wrong("That is left padding. BERT's tokenizer pads on the right (tokenizer.padding_side == 'right'): "
                    "real tokens first, then 0s.")
    if rows != right:
        raise Wrong(f"Not quite. Count the tokens with tokenizer.tokenize(...), add [CLS] and [SEP], and pad every "
                    f"row with 0s to the longest ({width} positions).")
    return (f"{real[0]} real tokens + {width - real[0]} padding in the first row, {real[1]} real tokens in the second: "
            f"the tokenizer's attention_mask exactly.")


def expected_padded_length(tokenizer=None) -> int:
    tokenizer = tokenizer or load_model().tokenizer
    return len(tokenizer(LENGTH_BATCH, padding=True, truncation=True, max_length=LENGTH_MAX)["input_ids"][0])


@exercise("03.padded_length")
def padded_length(answer) -> str:
    """seq_len of tokenizer(LENGTH_BATCH, padding=True, truncation=True, max_length=32)."""
    answer = expect_type(answer, int, "14")
    right = expected_padded_length()
    longest = max(LENGTH_BATCH, key=len)
    words = len(longest.split())
    if answer == LENGTH_MAX:
        raise Wrong("padding=True means padding='longest': rows are padded to the longest text in the batch. "
                    "max_length only caps the length here (with truncation); padding='max_length' would give 32.")
    if answer == right - 2:
        raise Wrong("You counted the longest text's tokens but forgot [CLS] and [SEP]: add 2.")
    if words <= answer <= words + 3:
        raise Wrong("You counted words. WordPiece splits rare words into pieces (try "
                    "tokenizer.tokenize('unbelievably')), and each piece takes a position.")
    if answer != right:
        raise Wrong("Find the longest text in tokens (not characters), count its WordPiece tokens, then add "
                    "[CLS] and [SEP].")
    return f"The longest text has {right - 2} WordPiece tokens, + [CLS] + [SEP] = {right}; max_length=32 never bites."


def rows_changed_without_mask(tokenizer=None) -> set[int]:
    """Rows of BUG_BATCH whose real-token vectors change when the mask is left out: the rows with padding."""
    tokenizer = tokenizer or load_model().tokenizer
    mask = tokenizer(BUG_BATCH, padding=True)["attention_mask"]
    return {i for i, row in enumerate(mask) if 0 in row}


@exercise("03.spot_bug")
def spot_bug(answer) -> str:
    """Which rows of BUG_BATCH get wrong vectors when the model is run without attention_mask?"""
    if isinstance(answer, (list, tuple, set, frozenset)):
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in answer):
            raise Wrong("Answer with row numbers (ints), e.g. {0, 1}.")
        answer = set(answer)
    else:
        expect_type(answer, set, "{0, 1}")
    right = rows_changed_without_mask()
    everyone = set(range(len(BUG_BATCH)))
    if not answer <= everyone:
        raise Wrong(f"Rows are numbered 0 to {len(BUG_BATCH) - 1}.")
    if not answer:
        raise Wrong("Something does go wrong: without attention_mask the model treats [PAD] as real tokens and "
                    "attends to them, so the vectors of a padded sentence change.")
    if answer == everyone:
        raise Wrong("The longest sentence has no [PAD] at all, so its all-ones mask changes nothing: its vectors "
                    "are exactly the ones it gets alone.")
    if answer < right:
        raise Wrong("Look again: every row with at least one [PAD] is affected, not only the shortest one.")
    if answer != right:
        raise Wrong("The damage comes from [PAD] tokens being attended to. Which rows contain [PAD]?")
    return (f"Rows {sorted(right)} contain [PAD], which the model attends to without the mask; the longest row has no "
            f"padding and comes out unchanged. Fix: model(**batch), which passes attention_mask.")
