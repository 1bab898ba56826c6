"""Checkers for lesson 06 (pre-training in miniature). Each names the common mistakes it recognises.

Both exercises use one short example, the same for every learner: a padded sentence with its two uniform draws
per position (the first picks positions, the second decides [MASK] / random / keep) and the random token each
position would get. :func:`exercise_table` shows it; :func:`right_masking` applies the lesson's rule to it.
"""

from __future__ import annotations

from ..pretraining import IGNORE_INDEX, apply_masking_rule
from . import Wrong, exercise, expect_type

TOKENS = ["[CLS]", "the", "small", "cats", "sleep", "near", "the", "river", ".", "[SEP]", "[PAD]"]
SELECT_DRAWS = [0.05, 0.62, 0.11, 0.91, 0.08, 0.33, 0.14, 0.02, 0.57, 0.49, 0.09]
ACTION_DRAWS = [0.30, 0.75, 0.47, 0.18, 0.85, 0.26, 0.93, 0.12, 0.64, 0.81, 0.66]
RANDOM_TOKENS = ["paris", "dog", "kitchen", "old", "forest", "do", "horses", "lima", "sing", "this", "park"]
SPECIAL = ("[CLS]", "[SEP]", "[PAD]")


def exercise_table():
    """The example as a DataFrame: one row per position."""
    import pandas as pd

    return pd.DataFrame({"token": TOKENS, "select draw": SELECT_DRAWS, "action draw": ACTION_DRAWS,
                         "random token": RANDOM_TOKENS}).rename_axis("position")


def right_masking() -> tuple[list[str], list[int]]:
    """``(masked tokens, positions the loss ignores)`` for the example, computed by ``apply_masking_rule``."""
    import torch

    vocab = {token: i for i, token in enumerate(dict.fromkeys(["[MASK]", *TOKENS, *RANDOM_TOKENS]))}
    words = list(vocab)
    as_ids = lambda tokens: torch.tensor([[vocab[t] for t in tokens]])  # noqa: E731 - one [1, seq_len] row
    eligible = torch.tensor([[t not in SPECIAL for t in TOKENS]])
    masked, labels = apply_masking_rule(as_ids(TOKENS), eligible, torch.tensor([SELECT_DRAWS]),
                                        torch.tensor([ACTION_DRAWS]), as_ids(RANDOM_TOKENS), vocab["[MASK]"])
    ignored = [i for i, label in enumerate(labels[0].tolist()) if label == IGNORE_INDEX]
    return [words[i] for i in masked[0].tolist()], ignored


def _tokens(answer) -> list[str]:
    answer = expect_type(answer, (list, tuple), '["[CLS]", "the", …]')
    if len(answer) != len(TOKENS) or not all(isinstance(t, str) for t in answer):
        raise Wrong(f"Give one token (a string) per position: {len(TOKENS)} strings, [CLS] and [PAD] included.")
    return [t.strip() for t in answer]


@exercise("06.apply_80_10_10")
def apply_80_10_10(answer) -> str:
    """The input tokens after the 15 % / 80-10-10 rule, applied by hand to the example."""
    answer = _tokens(answer)
    right, _ = right_masking()
    chosen = [i for i, t in enumerate(TOKENS) if t not in SPECIAL and SELECT_DRAWS[i] < 0.15]
    if any(a == "[mask]" for a in answer):
        raise Wrong("Write the mask token as the tokenizer does, in capitals: \"[MASK]\".")
    if any(answer[i] != TOKENS[i] for i, t in enumerate(TOKENS) if t in SPECIAL):
        raise Wrong("[CLS], [SEP] and [PAD] are never chosen, whatever their draws: they stay as they are. "
                    "(The [CLS] and [PAD] draws are below 0.15 on purpose.)")
    if any(answer[i] != TOKENS[i] for i in range(len(TOKENS)) if i not in chosen and TOKENS[i] not in SPECIAL):
        raise Wrong("A position is chosen only when its select draw is below 0.15; the others keep their token, "
                    "whatever their action draw.")
    if all(answer[i] == "[MASK]" for i in chosen):
        raise Wrong("Not every chosen position becomes [MASK]: only those with action draw < 0.8. Between 0.8 and "
                    "0.9 it takes its random token; from 0.9 up it keeps its own token.")
    swapped = list(right)
    for i in chosen:
        if 0.8 <= ACTION_DRAWS[i] < 0.9:
            swapped[i] = TOKENS[i]
        elif ACTION_DRAWS[i] >= 0.9:
            swapped[i] = RANDOM_TOKENS[i]
    if answer == swapped:
        raise Wrong("You swapped the last two cases: 0.8 ≤ draw < 0.9 takes the random token (the next 10 %), "
                    "draw ≥ 0.9 keeps the original token (the last 10 %).")
    if answer != right:
        wrong = [i for i in range(len(TOKENS)) if answer[i] != right[i]]
        raise Wrong(f"Look again at position(s) {wrong}: chosen if select < 0.15 (and not special); then action "
                    f"< 0.8 → [MASK], < 0.9 → the random token, otherwise unchanged.")
    return (f"Positions {chosen} are chosen; 2 become [MASK], 1 a random token ('{RANDOM_TOKENS[4]}'), and 1 keeps "
            f"its own token ('the' at 6), so the model cannot trust that an unmasked-looking token is unchanged.")


def _positions(answer) -> list[int]:
    answer = expect_type(answer, (list, tuple, set), "[0, 1, 3]")
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in answer):
        raise Wrong("Give positions as integers, counting from 0 like the table's index, e.g. [0, 1, 3].")
    return sorted(set(answer))


@exercise("06.ignored_positions")
def ignored_positions(answer) -> str:
    """Which positions of the example get label -100, i.e. do not count in the loss?"""
    answer = _positions(answer)
    _, right = right_masking()
    counted = [i for i in range(len(TOKENS)) if i not in right]
    masked_only = sorted(set(right) | {i for i in counted if ACTION_DRAWS[i] >= 0.8})
    if answer == counted:
        raise Wrong("Those are the positions the loss USES (the chosen ones). The question asks for the ignored "
                    "ones: every position with label -100.")
    if answer == sorted(set(right) | {i for i in counted if ACTION_DRAWS[i] >= 0.9}):
        raise Wrong("Position 6 still holds 'the', but it was chosen (select draw 0.14): its label is 'the', so it "
                    "counts. Keeping 10 % unchanged is exactly what stops the model from trusting visible tokens.")
    if answer == masked_only:
        raise Wrong("Not only the [MASK] positions count: every CHOSEN position does, including the one that got "
                    "a random token (4) and the one that kept its token (6).")
    if answer == [i for i, t in enumerate(TOKENS) if t in SPECIAL]:
        raise Wrong("Special tokens and padding are ignored, yes, but so is every real token that was not chosen: "
                    "the loss only scores the ~15 % chosen positions.")
    if answer == [i for i in right if TOKENS[i] not in SPECIAL]:
        raise Wrong("You left out [CLS], [SEP] and [PAD]. They are never chosen, so their label is -100 too.")
    if answer == [i + 1 for i in right]:
        raise Wrong("Positions count from 0 ([CLS] is position 0), like the table's index.")
    if answer != right:
        raise Wrong("A position counts in the loss exactly when it was chosen (select draw < 0.15, not special), "
                    "whatever happened to its token afterwards. List all the others.")
    return (f"{len(right)} of {len(TOKENS)} positions have label -100; the loss averages over the other "
            f"{len(counted)} only (that is what labels=-100 means to BertForMaskedLM's cross-entropy).")
