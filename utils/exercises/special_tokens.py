"""Checkers for lesson 02 (special tokens). Right answers are computed from the course's tokenizer."""

from ..model import load_model
from . import Wrong, exercise, expect_type

PAIR = ("Where is the café?", "Near the station.")
TYPES_PAIR = ("Hi!", "Hello there.")
POSITIONS = 512
MLM_TOKENS = 2000


def _tokenizer():
    return load_model().tokenizer


@exercise("02.pair_length")
def pair_length(answer) -> str:
    """len(input_ids) for the pair PAIR."""
    answer = expect_type(answer, int, "12")
    tokenizer = _tokenizer()
    right = len(tokenizer(*PAIR)["input_ids"])
    content = right - 3
    if answer == content:
        raise Wrong("You counted the tokens of A and B; a pair also gets [CLS] and two [SEP].")
    if answer == content + 2:
        raise Wrong("A pair has three special tokens, not two: [CLS] A [SEP] B [SEP].")
    if answer == content + 4:
        raise Wrong("Encoding the two texts separately would give two [CLS]; a pair has one: [CLS] A [SEP] B [SEP].")
    if answer == sum(len(t.split()) for t in PAIR):
        raise Wrong("That is the number of words; count tokens (punctuation is a token) and the special tokens.")
    if answer != right:
        raise Wrong("Count the tokens of each text (tokenizer.tokenize), then add [CLS], [SEP], [SEP].")
    return f"{content} text tokens + [CLS] + 2 × [SEP] = {right} positions."


@exercise("02.token_type_ids")
def token_type_ids(answer) -> str:
    """token_type_ids of TYPES_PAIR, as a list of ints."""
    answer = expect_type(answer, (list, tuple), "[0, 0, 1]")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in answer):
        raise Wrong("Write one int per position, e.g. [0, 0, 1, 1].")
    answer = list(answer)
    right = _tokenizer()(*TYPES_PAIR)["token_type_ids"]
    first_sep = right.index(1) - 1
    if len(answer) != len(right):
        raise Wrong(f"One id per position, special tokens included: input_ids has {len(right)} positions here.")
    if set(answer) == {0}:
        raise Wrong("All zeros is what a single text gets. In a pair the tokens of B are marked 1.")
    if set(answer) == {1, 2}:
        raise Wrong("Segments are numbered 0 (A) and 1 (B): token_type_embeddings has 2 rows.")
    if answer == right[:first_sep] + [1] * (len(right) - first_sep):
        raise Wrong("The first [SEP] closes segment A, so it is marked 0.")
    if answer == right[:-1] + [0]:
        raise Wrong("The last [SEP] closes segment B, so it is marked 1, like the tokens of B.")
    if answer != right:
        raise Wrong("[CLS], the tokens of A and the first [SEP] are 0; the tokens of B and the last [SEP] are 1.")
    return f"{right}: [CLS] and A's [SEP] belong to segment A (0); B's tokens and its [SEP] to B (1)."


@exercise("02.pair_budget")
def pair_budget(answer) -> str:
    """How many text tokens (A and B together) fit in one pair sequence?"""
    answer = expect_type(answer, int, "500")
    right = POSITIONS - 3
    if answer == POSITIONS:
        raise Wrong("512 is the number of positions; the special tokens use some of them.")
    if answer == POSITIONS - 2:
        raise Wrong("510 is right for one text ([CLS] + [SEP]); a pair has one more [SEP].")
    if answer == POSITIONS - 1:
        raise Wrong("Count the special tokens of a pair: [CLS], [SEP] after A and [SEP] after B.")
    if answer == POSITIONS + 1:
        raise Wrong("Position ids run from 0 to 511: there are 512 positions, not 513.")
    if answer != right:
        raise Wrong("Positions minus the special tokens of a pair.")
    return f"512 positions − [CLS] − 2 × [SEP] = {right} tokens for A and B together."


@exercise("02.mask_count")
def mask_count(answer) -> str:
    """Of MLM_TOKENS ordinary tokens, how many become [MASK] on average under BERT's rule?"""
    answer = expect_type(answer, (int, float), "100")
    picked = MLM_TOKENS * 0.15
    right = round(picked * 0.8)
    if answer == picked:
        raise Wrong(f"{picked:.0f} tokens are picked for prediction, but only 80 % of them become [MASK]; 10 % "
                    f"become a random token and 10 % stay unchanged.")
    if answer == round(MLM_TOKENS * 0.8):
        raise Wrong("80 % applies to the picked tokens (15 %), not to all tokens.")
    if answer in (round(picked * 0.1), round(MLM_TOKENS * 0.1)):
        raise Wrong("10 % is the share of picked tokens replaced by a random token (and another 10 % kept).")
    if answer != right:
        raise Wrong("Picked = 15 % of the tokens; of those, 80 % become [MASK].")
    return f"{MLM_TOKENS} × 0.15 × 0.8 = {right} [MASK] tokens (and {round(picked * 0.1)} random, " \
           f"{round(picked * 0.1)} unchanged, all {picked:.0f} predicted)."
