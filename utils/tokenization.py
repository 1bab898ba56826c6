"""Tokenization step by step: BERT's uncased pre-tokenization and WordPiece, re-implemented to be read.

The real tokenizer (Rust ``tokenizers``, behind ``tokenizer(...)``) is the reference. The functions here exist to
show *how* it works, in a few readable lines each, and :func:`agreement` checks them against it word by word.

    text --normalize--> cleaned text --pre_tokenize--> words --wordpiece--> tokens --vocab--> input_ids [seq_len]
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .errors import CourseTypeError, CourseValueError, TextTooLongError
from .inputs import check_text, check_texts

UNK, PREFIX, MAX_CHARS_PER_WORD = "[UNK]", "##", 100

# The CJK Unified Ideographs blocks that BERT's normalizer surrounds with spaces (one token per character).
# Hiragana, Katakana and Hangul are *not* in them: those scripts are handled like any other letters.
CHINESE_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)
# Unicode's White_Space property (what Rust's char::is_whitespace tests); Python's str.isspace differs slightly.
WHITESPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B))


# --- character classes -------------------------------------------------------------------------------------


def is_chinese_char(char: str) -> bool:
    """True for a character in the CJK Unified Ideographs blocks (e.g. '北'); False for kana, Hangul, Latin."""
    code = ord(char)
    return any(low <= code <= high for low, high in CHINESE_RANGES)


def chinese_characters(vocab) -> list[str]:
    """The Chinese characters (CJK Unified Ideographs) that are whole vocabulary entries, in code-point order."""
    if not hasattr(vocab, "__contains__") or isinstance(vocab, str):
        raise CourseTypeError("vocab must be the vocabulary dict, e.g. get_vocab(tokenizer)")
    return sorted(token for token in vocab if len(token) == 1 and is_chinese_char(token))


def is_punctuation(char: str) -> bool:
    """BERT's punctuation: every ASCII symbol that is not a letter, digit or space (``$``, ``#``, ``_`` …) and
    every Unicode punctuation character (categories P*: ``«``, ``—``, ``…``). Not ``€``, ``×`` or ``°``."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_whitespace(char: str) -> bool:
    return char in WHITESPACE


def _is_control(char: str) -> bool:
    # Tab, newline and carriage return are control characters that BERT treats as spaces instead.
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


# --- the pipeline ------------------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """What an uncased BERT does to a text before splitting it (the ``BertNormalizer``), in order:

    1. clean: drop control characters, NUL and U+FFFD; turn every kind of whitespace into a plain space;
    2. put spaces around each Chinese character, so each becomes its own word;
    3. strip accents: decompose (NFD, 'é' → 'e' + '◌́') and drop the combining marks (category Mn);
    4. lowercase, character by character.
    """
    check_text(text)
    cleaned = "".join(" " if _is_whitespace(c) else c for c in text
                      if not (c in "\x00\ufffd" or _is_control(c)))
    spaced = "".join(f" {c} " if is_chinese_char(c) else c for c in cleaned)
    stripped = "".join(c for c in unicodedata.normalize("NFD", spaced) if unicodedata.category(c) != "Mn")
    return "".join(c.lower() for c in stripped)


def pre_tokenize(text: str) -> list[str]:
    """Split a text into BERT's *words*: normalize, split on whitespace, cut out every punctuation character.

    ``"Don't panic!"`` → ``['don', "'", 't', 'panic', '!']``. WordPiece then works on each word separately.
    """
    words = []
    for chunk in normalize(text).split(" "):
        current = ""
        for char in chunk:
            if is_punctuation(char):
                words += [current, char] if current else [char]
                current = ""
            else:
                current += char
        if current:
            words.append(current)
    return words


def wordpiece(word: str, vocab, *, unk_token: str = UNK, prefix: str = PREFIX,
              max_chars: int = MAX_CHARS_PER_WORD) -> list[str]:
    """Cut one (normalized) word into vocabulary pieces: greedy longest-match-first.

    From the start of the word, take the longest prefix that is in ``vocab``; continue from where it ended, now
    looking for pieces written ``##…`` (a piece that continues a word). If some position cannot be covered by any
    piece, the *whole* word becomes ``[UNK]``; so does a word longer than ``max_chars`` characters.
    """
    if not isinstance(word, str):
        raise CourseTypeError(f"word must be a str, got {type(word).__name__}; pass one word, e.g. 'playing'")
    if not word or word != word.strip() or " " in word:
        raise CourseValueError(f"wordpiece works on one word without spaces, got {word!r}; use pre_tokenize first")
    if len(word) > max_chars:
        return [unk_token]
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):  # longest candidate first
            piece = word[start:end] if start == 0 else prefix + word[start:end]
            if piece in vocab:
                pieces.append(piece)
                start = end
                break
        else:  # no piece fits at this position: the word cannot be spelled with this vocabulary
            return [unk_token]
    return pieces


def wordpiece_steps(word: str, vocab, *, prefix: str = PREFIX) -> list[dict]:
    """The walk-through of :func:`wordpiece` for one word: one row per piece found.

    Each row: ``start`` (character index), ``tried`` (how many candidates were looked up, longest first),
    ``rejected`` (the first few that were not in the vocabulary) and ``piece`` (the match, or ``[UNK]``).
    """
    if not isinstance(word, str) or not word or " " in word:
        raise CourseValueError(f"wordpiece_steps needs one word without spaces, got {word!r}")
    steps, start = [], 0
    while start < len(word):
        rejected = []
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else prefix + word[start:end]
            if piece in vocab:
                break
            rejected.append(piece)
        else:
            steps.append({"start": start, "tried": len(rejected), "rejected": rejected[:3], "piece": UNK})
            return steps
        steps.append({"start": start, "tried": len(rejected) + 1, "rejected": rejected[:3], "piece": piece})
        start = end
    return steps


_VOCABS: dict[int, tuple] = {}  # id(tokenizer) -> (tokenizer, vocab); the tokenizer is kept so the id stays its


def get_vocab(tokenizer) -> dict[str, int]:
    """The tokenizer's vocabulary ``{token: id}`` (30,522 entries for our model), built once per tokenizer."""
    if not hasattr(tokenizer, "get_vocab"):
        raise CourseTypeError(f"expected a Hugging Face tokenizer, got {type(tokenizer).__name__}; "
                              f"use the one from `tokenizer, model = load_model()`")
    # get_vocab() builds a fresh 30,522-entry dict on every call; lessons look tokens up thousands of times.
    held = _VOCABS.get(id(tokenizer))
    if held is None or held[0] is not tokenizer:
        held = _VOCABS[id(tokenizer)] = (tokenizer, tokenizer.get_vocab())
    return held[1]


def _special_pattern(tokenizer):
    specials = sorted(tokenizer.all_special_tokens, key=len, reverse=True)
    return re.compile("(" + "|".join(re.escape(s) for s in specials) + ")")


def split_words(text: str, tokenizer) -> list[str]:
    """:func:`pre_tokenize`, except that special tokens typed literally in the text (``"[MASK]"``) stay whole
    words, as the real tokenizer matches them before normalizing."""
    check_text(text)
    specials, words = set(tokenizer.all_special_tokens), []
    for part in _special_pattern(tokenizer).split(text):
        if part in specials:
            words.append(part)
        elif part.strip():
            words += pre_tokenize(part)
    return words


def wordpiece_tokenize(text: str, tokenizer) -> list[str]:
    """Our re-implementation of ``tokenizer.tokenize(text)``: split into words, then :func:`wordpiece` each."""
    vocab, specials, limit = get_vocab(tokenizer), set(tokenizer.all_special_tokens), _max_chars(tokenizer)
    tokens = []
    for word in split_words(text, tokenizer):
        tokens += [word] if word in specials else wordpiece(word, vocab, unk_token=tokenizer.unk_token,
                                                            max_chars=limit)
    return tokens


def _max_chars(tokenizer) -> int:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return int(getattr(getattr(backend, "model", None), "max_input_chars_per_word", MAX_CHARS_PER_WORD))


# --- checking the re-implementation against the real tokenizer ---------------------------------------------


@dataclass
class Agreement:
    """How often :func:`pre_tokenize` + :func:`wordpiece` give exactly the real tokenizer's pieces."""

    words: int = 0          # word occurrences compared
    agree: int = 0          # … where every piece matched
    unique_words: int = 0   # distinct words compared
    mismatches: list = field(default_factory=list)  # (word, ours, theirs), first 20

    @property
    def rate(self) -> float:
        return self.agree / self.words if self.words else 0.0


def agreement(texts, tokenizer) -> Agreement:
    """Compare our tokenization with the real tokenizer on every word of ``texts`` (one string or a list).

    The real tokenizer's pieces are grouped by ``word_ids()``, so pre-tokenization (where words start and end)
    and WordPiece (how each word is cut) are both checked, in context.
    """
    texts = check_texts(texts)
    vocab, limit = get_vocab(tokenizer), _max_chars(tokenizer)
    specials = set(tokenizer.all_special_tokens)
    result, seen = Agreement(), set()
    for text in texts:
        encoding = tokenizer(text, add_special_tokens=False)
        theirs: dict[int, list[str]] = {}
        for token, word_id in zip(encoding.tokens(), encoding.word_ids()):
            theirs.setdefault(word_id, []).append(token)
        words = split_words(text, tokenizer)
        if len(words) != len(theirs):  # the word boundaries differ: every word of the text counts as wrong
            result.words += len(words)
            result.mismatches.append((text, words, list(theirs.values())))
            continue
        for word, their_pieces in zip(words, theirs.values()):
            ours = [word] if word in specials else wordpiece(word, vocab, unk_token=tokenizer.unk_token,
                                                              max_chars=limit)
            result.words += 1
            seen.add(word)
            if ours == their_pieces:
                result.agree += 1
            elif len(result.mismatches) < 20:
                result.mismatches.append((word, ours, their_pieces))
    result.unique_words = len(seen)
    return result


# --- the vocabulary ----------------------------------------------------------------------------------------

VOCAB_KINDS = ("special token", "unused slot", "## continuation", "single character", "number",
               "word or word start", "other (mixed)")


def vocab_kind(token: str, specials=()) -> str:
    """Which of :data:`VOCAB_KINDS` a vocabulary entry belongs to (``specials``: the tokenizer's special tokens)."""
    if not isinstance(token, str) or not token:
        raise CourseValueError(f"token must be a non-empty str, got {token!r}")
    if token in specials:
        return "special token"
    if re.fullmatch(r"\[unused\d+\]", token):
        return "unused slot"
    if token.startswith(PREFIX) and len(token) > len(PREFIX):
        return "## continuation"
    if len(token) == 1:
        return "single character"
    if token.isdigit():
        return "number"
    if token.isalpha():
        return "word or word start"
    return "other (mixed)"


def vocab_summary(tokenizer):
    """One row per kind of vocabulary entry: ``kind``, ``count``, ``examples`` (the entries with the lowest ids).

    The counts add up to the vocabulary size (30,522 for our model).
    """
    import pandas as pd

    vocab, specials = get_vocab(tokenizer), set(tokenizer.all_special_tokens)
    by_kind: dict[str, list[str]] = {kind: [] for kind in VOCAB_KINDS}
    for token in sorted(vocab, key=vocab.get):
        by_kind[vocab_kind(token, specials)].append(token)
    # Examples spread over each kind's id range: low ids alone would show only [unused] slots and symbols.
    rows = []
    for kind, tokens in by_kind.items():
        step = max(1, len(tokens) // 5)
        examples = tokens[:5] if kind == "special token" else tokens[step // 2::step][:5]
        rows.append({"kind": kind, "count": len(tokens), "examples": " ".join(examples)})
    return pd.DataFrame(rows)


# --- tokens back to text -----------------------------------------------------------------------------------


def token_table(text: str, tokenizer):
    """Every token of ``text`` aligned with the characters and word it came from, ``[CLS]``/``[SEP]`` included.

    Columns: ``position``, ``token``, ``input_id``, ``word_id`` (``<NA>`` for special tokens), ``start``/``end``
    (``offset_mapping``: the token is ``text[start:end]``), ``characters`` (that slice of the original text).
    """
    import pandas as pd

    check_text(text)
    encoding = tokenizer(text, return_offsets_mapping=True)
    rows = []
    for position, (token, input_id, word_id, (start, end)) in enumerate(zip(
            encoding.tokens(), encoding["input_ids"], encoding.word_ids(), encoding["offset_mapping"])):
        rows.append({"position": position, "token": token, "input_id": input_id, "word_id": word_id,
                     "start": start, "end": end, "characters": text[start:end]})
    table = pd.DataFrame(rows)
    table["word_id"] = table["word_id"].astype("Int64")
    return table


def round_trip(text: str, tokenizer) -> str:
    """``decode(encode(text))`` without the special tokens: what survives tokenization.

    Case, accents, some spaces and every ``[UNK]``'d character are lost, so the round trip is lossy.
    """
    check_text(text)
    return tokenizer.decode(tokenizer(text)["input_ids"], skip_special_tokens=True)


# --- lengths -----------------------------------------------------------------------------------------------


def count_tokens(text: str, tokenizer, *, text_pair: str | None = None, special_tokens: bool = True) -> int:
    """How many positions ``text`` (and ``text_pair``) needs: ``len(input_ids)``, special tokens included unless
    ``special_tokens=False``. No truncation: a result above 512 means the model cannot take it whole."""
    check_text(text)
    if text_pair is not None:
        check_text(text_pair, name="text_pair")
    return len(tokenizer(text, text_pair, add_special_tokens=special_tokens)["input_ids"])


def check_fits(text: str, tokenizer, *, text_pair: str | None = None, limit: int = 512) -> int:
    """Return :func:`count_tokens` or raise ``TextTooLongError`` when it exceeds ``limit`` positions."""
    n = count_tokens(text, tokenizer, text_pair=text_pair)
    if n > limit:
        raise TextTooLongError(
            f"this text needs {n} tokens ([CLS] and [SEP] included) but the model has {limit} positions; "
            f"shorten it, pass truncation=True to the tokenizer, or split it into windows (lesson 03)")
    return n


def word_pieces(texts, tokenizer):
    """One row per word (as the tokenizer splits words) of ``texts``: ``text_id``, ``word``, ``n_tokens``, ``tokens``.

    ``word`` is the slice of the original text the word's tokens cover, so accents and case are kept.
    """
    import pandas as pd

    texts = check_texts(texts)
    rows = []
    for text_id, text in enumerate(texts):
        encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        grouped: dict[int, list] = {}
        for token, word_id, span in zip(encoding.tokens(), encoding.word_ids(), encoding["offset_mapping"]):
            grouped.setdefault(word_id, []).append((token, span))
        for pieces in grouped.values():
            start, end = pieces[0][1][0], pieces[-1][1][1]
            rows.append({"text_id": text_id, "word": text[start:end], "n_tokens": len(pieces),
                         "tokens": " ".join(token for token, _ in pieces)})
    return pd.DataFrame(rows)


def sentence_lengths(texts, tokenizer):
    """One row per text: ``text_id``, ``space_words`` (words as a reader counts them, split on spaces) and
    ``tokens`` (``len(input_ids)``, [CLS] and [SEP] included)."""
    import pandas as pd

    texts = check_texts(texts)
    encodings = tokenizer(texts)["input_ids"]
    return pd.DataFrame({"text_id": range(len(texts)), "space_words": [len(t.split()) for t in texts],
                         "tokens": [len(ids) for ids in encodings]})


def length_stats(texts, tokenizer, *, limit: int = 512) -> dict:
    """Corpus-level lengths: words as a reader counts them (split on spaces) vs tokens.

    Returns ``space_words``, ``tokens`` (without special tokens), ``tokens_per_word`` and ``words_that_fit``:
    how many such words one sequence holds, ``(limit - 2) / tokens_per_word`` ([CLS] and [SEP] take 2).
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 3:
        raise CourseValueError(f"limit must be an int ≥ 3 (positions, special tokens included), got {limit!r}")
    lengths = sentence_lengths(texts, tokenizer)
    space_words = int(lengths["space_words"].sum())
    tokens = int(lengths["tokens"].sum()) - 2 * len(lengths)
    ratio = tokens / space_words
    return {"texts": len(lengths), "space_words": space_words, "tokens": tokens, "tokens_per_word": ratio,
            "words_that_fit": int((limit - 2) / ratio)}
