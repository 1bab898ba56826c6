"""Checkers for lesson 01 (tokenization). Right answers are computed from the course's tokenizer."""

from ..model import load_model
from ..tokenization import chinese_characters, get_vocab
from . import Wrong, exercise, expect_type

COUNT_TEXT = "Amélie's café serves crème brûlée."
PIECES_WORD = "Unhappiness"
UNK_TEXT = "学习 中文 🙂"
TOKENS_PER_WORD = 1.6  # the corpus ratio, rounded, so the arithmetic is done by hand
POSITIONS = 512


def _tokenizer():
    return load_model().tokenizer


@exercise("01.count_tokens")
def count_tokens(answer) -> str:
    """len(input_ids) for COUNT_TEXT."""
    answer = expect_type(answer, int, "13")
    tokenizer = _tokenizer()
    right = len(tokenizer(COUNT_TEXT)["input_ids"])
    words = len(COUNT_TEXT.split())
    if answer == words:
        raise Wrong(f"{words} is the number of words. A token is not a word: punctuation is split off, rare words "
                    f"are cut into ## pieces, and [CLS]/[SEP] are added.")
    if answer == words + 2:
        raise Wrong("One token per word plus [CLS] and [SEP]? Look again at the apostrophe, the full stop and the "
                    "rare words crème and brûlée: print(tokenizer.tokenize(text)).")
    if answer == right - 2:
        raise Wrong("You counted the pieces of the text; input_ids also starts with [CLS] and ends with [SEP].")
    if answer == right - 1:
        raise Wrong("Almost: a single text gets two special tokens, [CLS] at the start and [SEP] at the end.")
    if answer != right:
        raise Wrong("Not quite: write the text's tokens out (tokenizer.tokenize), then add the special tokens.")
    return (f"{right - 2} pieces + [CLS] + [SEP] = {right} positions, for {words} words: the apostrophe and full "
            f"stop are tokens of their own and crème brûlée costs 5 pieces.")


@exercise("01.wordpiece_pieces")
def wordpiece_pieces(answer) -> str:
    """The WordPiece pieces of PIECES_WORD, as a list of strings."""
    answer = expect_type(answer, (list, tuple), "['un', '##...']")
    if not all(isinstance(piece, str) for piece in answer):
        raise Wrong("Every piece is a string, e.g. ['un', '##ha', ...].")
    answer = list(answer)
    right = _tokenizer().tokenize(PIECES_WORD)
    if answer == right:
        return (f"{right}: greedy longest-match-first. '##happiness' is not in the vocabulary, so WordPiece "
                f"takes the longest piece that is, without knowing any morphology.")
    if [p.lower() for p in answer] == right:
        raise Wrong("Right cuts, but the model is uncased: the text is lowercased before WordPiece.")
    if [p.removeprefix("##") for p in answer] == [p.removeprefix("##") for p in right]:
        if answer[0].startswith("##"):
            raise Wrong("The first piece of a word has no ##: ## means 'continues the previous piece'.")
        raise Wrong("Right cuts, but every piece after the first is written with ## in front: '##ha', not 'ha'.")
    if len(answer) == 1:
        raise Wrong("Is the whole word in the vocabulary? Try PIECES_WORD.lower() in tokenizer.get_vocab().")
    if answer[:1] == ["un"] and len(answer) == 2:
        raise Wrong("That is how a linguist cuts it (un + happiness). WordPiece only knows its vocabulary: is "
                    "'##happiness' in tokenizer.get_vocab()? Use wordpiece_steps to follow the greedy search.")
    raise Wrong("Follow the greedy search: from the left, the longest piece in the vocabulary, then '##' pieces. "
                "wordpiece_steps(word.lower(), vocab) shows each step.")


@exercise("01.unk_count")
def unk_count(answer) -> str:
    """How many [UNK] tokens does UNK_TEXT produce?"""
    answer = expect_type(answer, int, "2")
    tokens = _tokenizer().tokenize(UNK_TEXT)
    right = tokens.count("[UNK]")
    chinese = sum(1 for c in UNK_TEXT if "\u4e00" <= c <= "\u9fff")
    if answer == 0:
        raise Wrong("Some of these characters are not in the vocabulary: check each one with "
                    "`char in tokenizer.get_vocab()`, and remember what happens to emoji.")
    if answer in (chinese, chinese + 1):
        held = len(chinese_characters(get_vocab(_tokenizer())))
        raise Wrong(f"Not every Chinese character is unknown: the English vocabulary holds {held} of them (plus "
                    f"their ## copies). Check each character with `char in tokenizer.get_vocab()`.")
    if answer == 1:
        raise Wrong("The emoji is one [UNK], yes; but is every Chinese character in the vocabulary?")
    if answer != right:
        raise Wrong("Each Chinese character becomes its own word; look each one up in the vocabulary, and the "
                    "emoji too.")
    return f"{tokens}: each Chinese character is its own word; '习' and the emoji are not in the vocabulary."


@exercise("01.words_that_fit")
def words_that_fit(answer) -> str:
    """How many whole words of a text averaging TOKENS_PER_WORD tokens fit in one sequence?"""
    answer = expect_type(answer, int, "300")
    right = int((POSITIONS - 2) / TOKENS_PER_WORD)
    if answer in (POSITIONS, POSITIONS - 2):
        raise Wrong(f"That assumes one token per word. Here a word costs {TOKENS_PER_WORD} tokens on average.")
    if answer in (int(POSITIONS / TOKENS_PER_WORD), round(POSITIONS / TOKENS_PER_WORD)):
        raise Wrong("[CLS] and [SEP] take 2 of the 512 positions: only 510 are left for the text.")
    if answer == right + 1:
        raise Wrong(f"{(POSITIONS - 2) / TOKENS_PER_WORD:.2f} words: round down, a word does not fit in half "
                    f"(and both [CLS] and [SEP] count).")
    if answer != right:
        raise Wrong("Positions left for text ÷ tokens per word, rounded down.")
    return f"(512 − 2) / {TOKENS_PER_WORD} = {(POSITIONS - 2) / TOKENS_PER_WORD:.2f}: {right} whole words, not 512."
