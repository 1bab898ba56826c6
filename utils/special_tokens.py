"""Special tokens and what the model does with them: pair encodings, the input embedding, [MASK] pre-training.

Shapes: ``input_ids``/``token_type_ids`` ``[batch, seq_len]``; embeddings ``[batch, seq_len, hidden]``.
"""

from __future__ import annotations

from .errors import CourseTypeError, CourseValueError, TextTooLongError
from .inputs import check_text

# Where the tokenizer puts each special token and what it is for. Ids are never written here: they are read
# from the tokenizer, so another checkpoint's vocabulary gives its own ids.
SPECIAL_ROLES = {
    "cls_token": ("first position of every sequence", "its final vector feeds the pooler and classification heads"),
    "sep_token": ("end of each segment (1 for a text, 2 for a pair)", "marks where segment A ends and B ends"),
    "pad_token": ("after the last [SEP], only when a batch is padded", "fills short texts so a batch is a "
                  "rectangle; attention_mask = 0 hides it (lesson 03)"),
    "mask_token": ("never, unless you type it", "hides a word for the masked-language-model pre-training task"),
    "unk_token": ("in place of a word WordPiece cannot spell", "stands for anything outside the vocabulary"),
}


def special_tokens_table(tokenizer):
    """One row per special token: ``token``, ``input_id`` (read from the tokenizer), ``attribute``
    (e.g. ``cls_token``), ``inserted`` (where the tokenizer puts it) and ``purpose``."""
    import pandas as pd

    rows = []
    for attribute, (inserted, purpose) in SPECIAL_ROLES.items():
        token = getattr(tokenizer, attribute, None)
        if token is None:
            raise CourseTypeError(f"this tokenizer has no {attribute}; the course expects a BERT tokenizer")
        rows.append({"token": str(token), "input_id": tokenizer.convert_tokens_to_ids(str(token)),
                     "attribute": attribute, "inserted": inserted, "purpose": purpose})
    return pd.DataFrame(rows)


def _check_pair(text, text_pair):
    check_text(text)
    if text_pair is not None:
        check_text(text_pair, name="text_pair")


def pair_table(text: str, tokenizer, text_pair: str | None = None, **tokenizer_kwargs):
    """One row per token of ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``.

    Columns: ``position``, ``token``, ``input_id``, ``token_type_id``, ``segment`` ("A", "B" or "pad"),
    ``special``.
    ``tokenizer_kwargs`` go to the tokenizer (e.g. ``truncation="longest_first", max_length=16``). Without
    truncation a pair longer than the model's 512 positions raises ``TextTooLongError``.
    """
    import pandas as pd

    _check_pair(text, text_pair)
    try:
        encoding = tokenizer(text, text_pair, return_special_tokens_mask=True, **tokenizer_kwargs)
    except Exception as exc:  # the Rust tokenizer raises a bare Exception when a strategy cannot fit max_length
        if "Truncation error" not in str(exc):
            raise
        strategy = tokenizer_kwargs.get("truncation")
        raise CourseValueError(
            f"truncation={strategy!r} may only cut one text, and that text is too short to bring the pair down to "
            f"max_length={tokenizer_kwargs.get('max_length')}. Fix: raise max_length, or use "
            f"truncation='longest_first', which cuts both texts."
        ) from None
    limit = int(tokenizer.model_max_length)
    if len(encoding["input_ids"]) > limit:
        raise TextTooLongError(
            f"this input needs {len(encoding['input_ids'])} tokens but the model has {limit} positions "
            f"(special tokens included); pass truncation='longest_first' and max_length={limit}")
    rows = []
    for position, (token, input_id, type_id, special) in enumerate(zip(
            encoding.tokens(), encoding["input_ids"], encoding["token_type_ids"],
            encoding["special_tokens_mask"])):
        segment = "pad" if token == tokenizer.pad_token else "AB"[type_id]
        rows.append({"position": position, "token": token, "input_id": input_id, "token_type_id": type_id,
                     "segment": segment, "special": bool(special)})
    return pd.DataFrame(rows)


# A light tint of seaborn's colour-blind palette per segment, so dark text stays readable; special tokens are
# also set in bold, so colour is never the only cue.
SEGMENT_COLOURS = {0: "#cfe3f5", 1: "#fbe0c2"}
SPECIAL_COLOUR = "#d9d9d9"


def style_pair_table(table):
    """Colour a :func:`pair_table`: segment A blue, segment B orange, special tokens grey and bold.

    Returns a pandas ``Styler`` with a fixed id, so its HTML is the same on every run.
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or not {"token_type_id", "special"} <= set(table.columns):
        raise CourseTypeError("style_pair_table needs the DataFrame returned by pair_table(...)")

    def colour(row):
        background = SPECIAL_COLOUR if row["special"] else SEGMENT_COLOURS[int(row["token_type_id"])]
        weight = "bold" if row["special"] else "normal"
        return [f"background-color: {background}; color: #111; font-weight: {weight}"] * len(row)

    return table.style.apply(colour, axis=1).hide(axis="index").set_uuid("pair")


def truncation_table(text: str, text_pair: str, tokenizer, max_length: int):
    """What each truncation strategy keeps of a pair cut to ``max_length`` positions.

    One row per strategy: ``strategy``, ``tokens_A``, ``tokens_B`` (content tokens kept), ``total`` (special
    tokens included) or ``error`` when the strategy cannot reach ``max_length``.
    """
    import pandas as pd

    if text_pair is None:
        raise CourseValueError("truncation_table compares strategies for a pair: pass text_pair as well")
    _check_pair(text, text_pair)
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 4:
        raise CourseValueError(f"max_length must be an int ≥ 4 ([CLS], [SEP], [SEP] and one token), "
                               f"got {max_length!r}")
    rows = []
    for strategy in ("longest_first", "only_first", "only_second"):
        try:
            encoding = tokenizer(text, text_pair, truncation=strategy, max_length=max_length)
        except Exception as exc:  # the Rust tokenizer raises a bare Exception when a side is too short
            rows.append({"strategy": strategy, "tokens_A": None, "tokens_B": None, "total": None,
                         "error": str(exc).split(":")[-1].strip()})
            continue
        types, ids = encoding["token_type_ids"], encoding["input_ids"]
        specials = set(tokenizer.all_special_ids)
        content = [t for t, i in zip(types, ids) if i not in specials]
        rows.append({"strategy": strategy, "tokens_A": content.count(0), "tokens_B": content.count(1),
                     "total": len(ids), "error": ""})
    table = pd.DataFrame(rows)
    for column in ("tokens_A", "tokens_B", "total"):
        table[column] = table[column].astype("Int64")
    return table


def position_similarity(model):
    """Cosine similarity between the model's position embeddings: ``matrix [512, 512]`` and ``by_distance
    [512]`` (the mean over all pairs of positions ``d`` apart, ``d = 0 … 511``)."""
    import torch

    weight = model.embeddings.position_embeddings.weight.detach()
    unit = torch.nn.functional.normalize(weight, dim=-1)
    matrix = unit @ unit.T
    by_distance = torch.stack([matrix.diagonal(d).mean() for d in range(matrix.shape[0])])
    return matrix, by_distance


def pooler_from_cls(last_hidden_state, model):
    """The pooler by hand: ``tanh(dense(last_hidden_state[:, 0]))``, i.e. it reads the ``[CLS]`` position only.

    ``last_hidden_state [batch, seq_len, hidden]`` → ``[batch, hidden]``, equal to ``pooler_output``.
    """
    import torch

    if not isinstance(last_hidden_state, torch.Tensor) or last_hidden_state.dim() != 3:
        raise CourseTypeError("last_hidden_state must be a [batch, seq_len, hidden] tensor, e.g. "
                              "outputs.last_hidden_state")
    with torch.no_grad():
        return torch.tanh(model.pooler.dense(last_hidden_state[:, 0]))


def read_pairs(name: str = "tok_pairs.tsv") -> list[tuple[str, str]]:
    """Sentence pairs from a ``data/`` file with one ``text A<TAB>text B`` per line."""
    from .data import read_lines

    pairs = []
    for number, line in enumerate(read_lines(name), start=1):
        parts = line.split("\t")
        if len(parts) != 2 or not all(part.strip() for part in parts):
            raise CourseValueError(f"{name}, pair {number}: expected 'text A<TAB>text B', got {line!r}")
        pairs.append((parts[0].strip(), parts[1].strip()))
    return pairs


def sentence_transformers_config(folder=None) -> dict:
    """What the checkpoint's sentence-transformers files say about its use as a sentence encoder:
    ``pooling`` (the pooling modes switched on, e.g. ``['mean_tokens']``) and ``max_seq_length``."""
    import json
    from pathlib import Path

    from .model import default_checkpoint_dir

    folder = Path(folder) if folder is not None else default_checkpoint_dir()
    pooling_file, st_file = folder / "1_Pooling" / "config.json", folder / "sentence_bert_config.json"
    if not pooling_file.is_file() or not st_file.is_file():
        raise CourseValueError(f"{folder} has no sentence-transformers files (1_Pooling/config.json, "
                               f"sentence_bert_config.json): it is not a sentence-transformers checkpoint")
    pooling = json.loads(pooling_file.read_text(encoding="utf-8"))
    modes = [key.removeprefix("pooling_mode_") for key, on in pooling.items()
             if key.startswith("pooling_mode_") and on is True]
    return {"pooling": modes, "max_seq_length": json.loads(st_file.read_text(encoding="utf-8"))["max_seq_length"]}


def fine_tuning_max_length(folder=None) -> int:
    """The longest input (in tokens) the checkpoint was fine-tuned on, read from its model card (``README.md``):
    "The sequence length was limited to N tokens". all-MiniLM-L6-v2: 128, although the model has 512 positions."""
    import re
    from pathlib import Path

    from .model import default_checkpoint_dir

    card = (Path(folder) if folder is not None else default_checkpoint_dir()) / "README.md"
    found = re.search(r"sequence length was limited to (\d+) tokens", card.read_text(encoding="utf-8")
                      if card.is_file() else "")
    if found is None:
        raise CourseValueError(f"{card} does not say how long the fine-tuning inputs were "
                               f"('sequence length was limited to N tokens'); read the model card by hand")
    return int(found.group(1))


def checkpoint_tensor_names(folder=None) -> list[str]:
    """Names of the tensors stored in the checkpoint's ``model.safetensors`` (read from its header only)."""
    from pathlib import Path

    from safetensors import safe_open

    from .model import WEIGHTS_FILE, default_checkpoint_dir

    folder = Path(folder) if folder is not None else default_checkpoint_dir()
    if not (folder / WEIGHTS_FILE).is_file():
        raise CourseValueError(f"no {WEIGHTS_FILE} in {folder}")
    with safe_open(str(folder / WEIGHTS_FILE), framework="pt") as handle:
        return sorted(handle.keys())
