"""Checkers for lesson 09 (BERT and Chinese text). Right answers come from the real tokenizers and jieba."""

from ..chinese import load_chinese_tokenizer, segment_words, whole_word_ids
from ..model import load_model
from . import Wrong, exercise, expect_type

COUNT_TEXT = "我在2024年学会了Python！"
GROUP_TEXT = "我们用BERT做中文分词"


@exercise("09.count_tokens")
def count_tokens(answer) -> str:
    """len(input_ids) of COUNT_TEXT with the bert-base-chinese tokenizer."""
    answer = expect_type(answer, int, "12")
    chinese = load_chinese_tokenizer()
    tokens = chinese.tokenize(COUNT_TEXT)
    right = len(tokens) + 2
    english = len(load_model().tokenizer(COUNT_TEXT)["input_ids"])
    if answer == len(COUNT_TEXT):
        raise Wrong(f"{len(COUNT_TEXT)} is the number of characters. Digits and Latin letters are not cut one "
                    f"character per token: '2024' and 'Python' are words, and WordPiece cuts words.")
    if answer == len(tokens):
        raise Wrong("You counted the text's tokens; input_ids also holds [CLS] at the start and [SEP] at the end.")
    if answer == len(segment_words(COUNT_TEXT)) + 2 or answer == len(segment_words(COUNT_TEXT)):
        raise Wrong("That counts jieba's words. BERT's tokenizer knows nothing of jieba: every Chinese character is "
                    "a word of its own.")
    if answer == english and english != right:
        raise Wrong("That is what our English tokenizer gives. Use the Chinese one: chinese_tokenizer.")
    if answer != right:
        raise Wrong("Not quite: one token per Chinese character and per punctuation mark; '2024' and 'python' go "
                    "through WordPiece; then add [CLS] and [SEP]. Check with chinese_tokenizer.tokenize(text).")
    return (f"{tokens} + [CLS] + [SEP] = {right}: each Chinese character and the full-width '！' is a token, "
            f"'2024' becomes {tokens[2:4]} and 'python' (lower-cased) is one whole entry.")


def _word_ids_without_specials():
    return [w for w in whole_word_ids(GROUP_TEXT, load_chinese_tokenizer()) if w is not None]


@exercise("09.word_groups")
def word_groups(answer) -> str:
    """For each token of GROUP_TEXT (Chinese tokenizer, no [CLS]/[SEP]): the index of its jieba word."""
    answer = expect_type(answer, (list, tuple), "[0, 0, 1, ...]")
    answer = list(answer)
    right = _word_ids_without_specials()
    with_specials = [None] + right + [None]
    if answer == with_specials:
        return (f"{right} (with None for [CLS] and [SEP]): the tokens of one word share its index and are masked "
                f"together.")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in answer):
        raise Wrong("Give one int per token, e.g. [0, 0, 1, ...]; leave out [CLS] and [SEP] (or write None for them).")
    tokens = load_chinese_tokenizer().tokenize(GROUP_TEXT)
    words = segment_words(GROUP_TEXT)
    if answer == list(range(len(tokens))):
        raise Wrong("That gives every token its own word: per-character masking. Group the tokens by jieba's "
                    f"words {words}.")
    by_character = [i for i, w in enumerate(words) for _ in w]
    if answer == by_character:
        raise Wrong(f"One entry per character of the text ({len(by_character)}), but the list follows the "
                    f"{len(tokens)} tokens: 'BERT' is cut into {tokens[3:5]}.")
    if len(answer) != len(tokens):
        raise Wrong(f"The text has {len(tokens)} tokens ({tokens}); give one word index for each.")
    if [a - 1 for a in answer] == right:
        raise Wrong("Count words from 0, as word_ids() does.")
    if answer != right:
        raise Wrong(f"Not quite: jieba cuts the text into {words}; each token gets the index of the word its "
                    f"characters come from.")
    return (f"{right}: the tokens of one word share its index ('be' and '##rt' both belong to 'BERT'), so "
            f"whole-word masking masks them together.")
