"""Lesson 03's helpers (utils/attention_mask.py), plots, explorer and checkers: right answers and bad input."""

import ipywidgets  # noqa: F401  (the explorer needs it; imported first so a missing install fails clearly)
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from utils import (  # noqa: E402,E501
    CourseTypeError,
    CourseValueError,
    TextTooLongError,
    check_mask,
    encode,
    evaluate,
    mean_pooling,
    read_lines,
)
from utils.attention_mask import (  # noqa: E402
    attention_to_padding,
    batch_table,
    coverage,
    drift_table,
    layer_drift,
    left_padding_position_ids,
    length_sorted_batches,
    mask_vs_mask_token,
    model_additive_mask,
    padding_table,
    padding_waste,
    padding_waste_table,
    pair_truncation_table,
    read_text,
    real_token_states,
    sliding_windows,
    small,
    token_lengths,
    window_spans,
)
from utils.exercises import attention_mask as lesson03_checks  # noqa: E402
from utils.model import check_max_length, special_tokens_needed  # noqa: E402
from utils.plots.attention_mask import (  # noqa: E402
    batch_grid_html,
    plot_attention,
    plot_batch,
    plot_drift,
    plot_padding_waste,
    plot_windows,
)

TEXTS = ["Hi!", "The quick brown fox jumps over the lazy dog.", "Tokenization is unbelievably fun."]
SENTENCE = "The cat sat on the mat."
BATCH = [SENTENCE, "A dog slept.", "My grandmother keeps a small garden of tomatoes, beans and sunflowers."]
TOL = {"atol": 1e-4, "rtol": 1e-4}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def batch(tokenizer):
    return encode(BATCH)


def run(model, encoding, *, use_mask=True, **extra):
    """model(**encoding) without gradients, hidden states and attentions out; use_mask=False drops the mask."""
    inputs = {k: v for k, v in encoding.items() if use_mask or k != "attention_mask"}
    with torch.no_grad():
        return model(**inputs, **extra, output_hidden_states=True, output_attentions=True)


def additive_mask(attention_mask):
    """The classic [batch, 1, 1, seq_len] form the lesson writes in a cell: 0 to keep, float32's minimum to hide."""
    return torch.where(attention_mask.bool(), 0.0, torch.finfo(torch.float32).min)[:, None, None, :]


def attention_by_hand(model, hidden_states, mask, layer):
    """softmax(Q Kᵀ / √d_head + mask) and its · V for every head of one layer, as lesson 03 writes it."""
    attn = model.encoder.layer[layer].attention.self
    batch, seq, hidden = hidden_states.shape
    heads, size = attn.num_attention_heads, attn.attention_head_size
    with torch.no_grad():
        q, k, v = (f(hidden_states).view(batch, seq, heads, size).transpose(1, 2)
                   for f in (attn.query, attn.key, attn.value))
        scores = q @ k.transpose(-1, -2) / size ** 0.5
        probs = (scores if mask is None else scores + mask).softmax(dim=-1)
        return probs, (probs @ v).transpose(1, 2).reshape(batch, seq, hidden)


@pytest.fixture(scope="module")
def runs(model, tokenizer, batch):
    """Forward passes shared by the tests: alone, padded with and without the mask, left-padded."""
    alone_batch = encode([SENTENCE])
    left = encode(BATCH, padding_side="left")
    return {
        "alone_batch": alone_batch,
        "alone": run(model, alone_batch),
        "masked": run(model, batch),
        "no_mask": run(model, batch, use_mask=False),
        "left": left,
        "left_out": run(model, left),
        "left_fixed": run(model, left, position_ids=left_padding_position_ids(left["attention_mask"])),
    }


# --------------------------------------------------------------------------------------------- check_mask

def test_check_mask_accepts_tokenizer_output(tokenizer, batch):
    mask = check_mask(batch["attention_mask"], batch["input_ids"])
    assert mask.dtype == torch.long and mask.shape == batch["input_ids"].shape
    assert check_mask(batch["attention_mask"].bool()).dtype == torch.long


@pytest.mark.parametrize("ids, mask, error, words", [
    (torch.ones(2, 4, dtype=torch.long), [[1, 1, 1, 1]] * 2, CourseTypeError, "torch.Tensor"),
    (torch.ones(2, 4, dtype=torch.long), torch.ones(4, dtype=torch.long), CourseValueError, "unsqueeze"),
    (torch.ones(2, 4, dtype=torch.long), torch.ones(2, 1, 4, dtype=torch.long), CourseValueError, "shape"),
    (torch.ones(2, 4, 8), torch.ones(2, 3, dtype=torch.long), CourseValueError, "does not match"),
    (torch.ones(2, 4, dtype=torch.long), torch.ones(2, 3, dtype=torch.long), CourseValueError, "does not match"),
    (torch.ones(2, 4, dtype=torch.long), torch.ones(3, 4, dtype=torch.long), CourseValueError, "does not match"),
    (torch.ones(2, 4, dtype=torch.long), torch.ones(2, 4), CourseTypeError, "additive"),
    (torch.ones(2, 4, dtype=torch.long), torch.full((2, 4), 2), CourseValueError, "only 0"),
    (torch.ones(2, 4, dtype=torch.long), torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0]]), CourseValueError, r"rows \[1\]"),
    (torch.ones(0, 4, dtype=torch.long), torch.ones(0, 4, dtype=torch.long), CourseValueError, "empty batch"),
])
def test_check_mask_rejects(ids, mask, error, words):
    with pytest.raises(error, match=words):
        check_mask(mask, ids)


# ----------------------------------------------------------------------------------------- max_length

def test_special_tokens_needed(tokenizer):
    assert special_tokens_needed(tokenizer) == 2 and special_tokens_needed(tokenizer, pair=True) == 3


def test_check_max_length(tokenizer):
    assert check_max_length(tokenizer, 3) == 3 and check_max_length(tokenizer, 5, pair=True) == 5
    with pytest.raises(CourseValueError, match=">= 3"):
        check_max_length(tokenizer, 2)
    with pytest.raises(CourseValueError, match="special tokens"):
        check_max_length(tokenizer, 1)
    with pytest.raises(CourseValueError, match=">= 5"):
        check_max_length(tokenizer, 4, pair=True)
    with pytest.raises(TextTooLongError, match="512"):
        check_max_length(tokenizer, 513)
    with pytest.raises(CourseTypeError):
        check_max_length(tokenizer, 8.0)
    with pytest.raises(CourseTypeError):
        check_max_length(tokenizer, True)


# ------------------------------------------------------------------------------- padding and truncation

def test_token_lengths(tokenizer):
    assert token_lengths(tokenizer, TEXTS) == [4, 12, 12]
    with pytest.raises(CourseValueError, match="empty batch"):
        token_lengths(tokenizer, [])
    with pytest.raises(CourseTypeError):
        token_lengths(None, TEXTS)


def test_encode_batch_shapes(tokenizer):
    assert list(encode(TEXTS)["input_ids"].shape) == [3, 12]
    fixed = encode(TEXTS, padding="max_length", max_length=8, truncation=True)
    assert list(fixed["attention_mask"].shape) == [3, 8] and fixed["attention_mask"][0].tolist() == [1] * 4 + [0] * 4
    left = encode(TEXTS, padding_side="left")
    assert left["attention_mask"][0].tolist() == [0] * 8 + [1] * 4


@pytest.mark.parametrize("kwargs, error, words", [
    ({"padding": "max_length", "max_length": 8}, CourseValueError, "truncation=True"),
    ({"padding": False}, CourseValueError, "padding=True"),
    ({"padding": "max_length"}, CourseValueError, "needs max_length"),
    ({"padding": "sideways"}, CourseValueError, "padding must be"),
    ({"padding": 1}, CourseValueError, "padding must be"),
    ({"padding_side": "top"}, CourseValueError, "padding_side"),
    ({"max_length": 2, "truncation": True}, CourseValueError, "too small"),
])
def test_encode_batch_rejects(tokenizer, kwargs, error, words):
    with pytest.raises(error, match=words):
        encode(TEXTS, **kwargs)


def test_encode_batch_bad_texts_and_long_text(tokenizer):
    with pytest.raises(CourseValueError, match="empty batch"):
        encode([])
    with pytest.raises(CourseTypeError):
        encode(["fine", None])
    with pytest.raises(TextTooLongError, match="windows"):
        encode([read_text("masks_long_text.txt")])


def test_padding_table(tokenizer):
    table = padding_table(tokenizer, TEXTS, {"longest": {"padding": True},
                                             "cut": {"padding": "max_length", "max_length": 8, "truncation": True},
                                             "ragged": {"padding": "max_length", "max_length": 8}})
    assert table.loc["longest", "lengths"] == [12] * 3 and table.loc["longest", "padding tokens"] == 8
    assert table.loc["cut", "tokens cut"] == 8 and table.loc["cut", "is a tensor"]
    assert not table.loc["ragged", "is a tensor"]
    with pytest.raises(CourseValueError):
        padding_table(tokenizer, TEXTS, {})
    with pytest.raises(CourseTypeError):
        padding_table(tokenizer, TEXTS, {"x": "padding"})
    with pytest.raises(CourseValueError, match="too small"):
        padding_table(tokenizer, TEXTS, {"x": {"truncation": True, "max_length": 1}})


def test_batch_table(tokenizer):
    table = batch_table(tokenizer, encode(TEXTS))
    assert table.loc[(0, "token")].tolist()[:5] == ["[CLS]", "hi", "!", "[SEP]", "[PAD]"]
    assert table.loc[(0, "attention_mask")].tolist() == [1] * 4 + [0] * 8
    assert batch_table(tokenizer, encode(TEXTS), row=2).shape == (3, 12)
    with pytest.raises(CourseValueError, match="out of range"):
        batch_table(tokenizer, encode(TEXTS), row=3)


def test_pair_truncation_table(tokenizer):
    table = pair_truncation_table(tokenizer, "What colour is the sky?",
                                  "On a clear day the sky looks blue because air scatters short blue wavelengths of "
                                  "sunlight more than red ones.", 12)
    assert table.loc["longest_first", "total"] == 12 and table.loc["only_second", "first kept"] == 6
    assert table.loc["longest_first", "first kept"] < 6 and table.loc["only_first", "note"].startswith("error")
    with pytest.raises(CourseValueError, match=">= 5"):
        pair_truncation_table(tokenizer, "a", "b", 4)
    with pytest.raises(CourseValueError, match="empty"):
        pair_truncation_table(tokenizer, "", "b", 8)


# ------------------------------------------------------------------------------------------ padding waste

def test_padding_waste_counts_by_hand():
    stats = padding_waste([2, 4, 3, 1], 2)
    # batches [2, 4] and [3, 1]: slots 2*4 + 2*3 = 14, real 10; scores 2*16 + 2*9 = 50, real 4+16+9+1 = 30
    assert stats["token slots"] == 14 and stats["real tokens"] == 10
    assert stats["padding share"] == pytest.approx(4 / 14) and stats["attention scores"] == 50
    assert stats["padding share of attention"] == pytest.approx(20 / 50)
    assert padding_waste([2, 4, 3, 1], 2, sort_by_length=True)["token slots"] == 2 * 2 + 2 * 4
    assert padding_waste([5, 9], 1)["padding share"] == 0


def test_length_sorted_batches_keeps_every_index():
    groups = length_sorted_batches([5, 1, 3, 1, 4], 2)
    assert groups == [[1, 3], [2, 4], [0]]  # lengths 1, 1 | 3, 4 | 5


@pytest.mark.parametrize("lengths, size", [([], 2), ([3, 0], 2), ([3, 2.5], 2), ("abc", 2), ([3], 0), ([3], True)])
def test_padding_waste_rejects(lengths, size):
    with pytest.raises((CourseValueError, CourseTypeError)):
        padding_waste(lengths, size)


def test_padding_waste_table_on_the_corpus(tokenizer):
    lengths = token_lengths(tokenizer, read_lines("masks_sentences.txt"))
    table = padding_waste_table(lengths, (1, 8))
    by = table.set_index(["batch size", "order"])["padding share"]
    assert by[1, "as in the file"] == 0 and by[8, "sorted by length"] < by[8, "as in the file"] / 2
    assert plot_padding_waste(table).get_title()
    with pytest.raises(CourseValueError, match="columns"):
        plot_padding_waste(table.drop(columns="order"))


# --------------------------------------------------------------------------------------- sliding windows

def test_long_text_is_longer_than_the_model(tokenizer):
    assert len(tokenizer(read_text("masks_long_text.txt"))["input_ids"]) > 600


def test_sliding_windows_cover_everything(tokenizer):
    text = read_text("masks_long_text.txt")
    n = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    windows = sliding_windows(tokenizer, text, max_length=512, stride=128)
    spans = window_spans(tokenizer, text, windows)
    assert windows["input_ids"].shape[1] == 512 and spans[0] == (0, 510)
    assert coverage(spans, n) == {"covered": n, "missing": 0, "overlaps": [128]}
    small_windows = sliding_windows(tokenizer, text, max_length=64, stride=16)
    small_spans = window_spans(tokenizer, text, small_windows)
    assert coverage(small_spans, n)["missing"] == 0 and set(coverage(small_spans, n)["overlaps"]) == {16}
    assert plot_windows(spans, n, truncated=510).get_title()


def test_coverage_finds_gaps():
    assert coverage([(0, 5), (7, 10)], 10) == {"covered": 8, "missing": 2, "overlaps": [0]}
    with pytest.raises(CourseValueError):
        coverage([], 10)


@pytest.mark.parametrize("kwargs, words", [
    ({"max_length": 2}, "too small"), ({"max_length": 600}, "512"), ({"stride": 510}, "stride"),
    ({"stride": -1}, "stride"), ({"stride": 1.5}, "stride"),
])
def test_sliding_windows_rejects(tokenizer, kwargs, words):
    with pytest.raises(CourseValueError, match=words):
        sliding_windows(tokenizer, "some text", **kwargs)


def test_window_spans_rejects_windows_of_another_text(tokenizer):
    windows = sliding_windows(tokenizer, "a completely different sentence", max_length=8, stride=2)
    with pytest.raises(CourseValueError, match="another text"):
        window_spans(tokenizer, read_text("masks_long_text.txt"), windows)


# ----------------------------------------------------------------------------- the mask inside the model

def test_additive_mask_values_and_shape(batch):
    classic = additive_mask(batch["attention_mask"])
    assert list(classic.shape) == [3, 1, 1, batch["attention_mask"].shape[1]]
    assert set(classic.unique().tolist()) == {0.0, torch.finfo(torch.float32).min}


def test_model_additive_mask_matches_the_classic_form(model, batch):
    built = model_additive_mask(model, batch["attention_mask"])
    seq = batch["attention_mask"].shape[1]
    assert list(built.shape) == [3, 1, seq, seq]
    assert torch.equal(additive_mask(batch["attention_mask"]).expand_as(built), built)
    assert model_additive_mask(model, torch.ones(2, 4, dtype=torch.long)) is None  # no padding: skipped
    with pytest.raises(CourseTypeError, match="BertModel"):
        model_additive_mask("model", batch["attention_mask"])
    with pytest.raises(CourseValueError):
        model_additive_mask(model, torch.ones(4, dtype=torch.long))


def test_attention_by_hand_equals_the_model_in_every_layer(model, batch, runs):
    """The lesson's cells do layer 1; the same lines reproduce every layer's weights and context output."""
    contexts = {}

    def keep(module, args, output):
        contexts[module] = output[0]

    hooks = [layer.attention.self.register_forward_hook(keep) for layer in model.encoder.layer]
    run(model, batch)
    for hook in hooks:
        hook.remove()
    mask = model_additive_mask(model, batch["attention_mask"])
    for i, layer in enumerate(model.encoder.layer):
        probs, context = attention_by_hand(model, runs["masked"].hidden_states[i], mask, i)
        torch.testing.assert_close(probs, runs["masked"].attentions[i])
        torch.testing.assert_close(context, contexts[layer.attention.self])
        assert probs[0][..., batch["attention_mask"][0] == 0].max() == 0  # padded keys get exactly 0
    probs, _ = attention_by_hand(model, runs["no_mask"].hidden_states[0], None, 0)
    torch.testing.assert_close(probs, runs["no_mask"].attentions[0])


def test_no_attention_reaches_padding_with_the_mask(batch, runs):
    with_mask = attention_to_padding(runs["masked"].attentions, batch["attention_mask"])
    without = attention_to_padding(runs["no_mask"].attentions, batch["attention_mask"])
    assert (with_mask["max"] == 0).all() and list(with_mask.index) == [1, 2, 3, 4, 5, 6]
    assert (without["max"] > 0.01).all()
    with pytest.raises(CourseValueError, match="attentions"):
        attention_to_padding(runs["alone"].attentions, batch["attention_mask"])


# ------------------------------------------------------------------------------------ the proof of effect

def test_padding_with_mask_gives_the_same_vectors(batch, runs):
    reference = real_token_states(runs["alone"].hidden_states, runs["alone_batch"]["attention_mask"], 0)
    padded = real_token_states(runs["masked"].hidden_states, batch["attention_mask"], 0)
    assert len(reference) == 7 and reference[0].shape == (9, 384)
    for got, ref in zip(padded, reference):
        torch.testing.assert_close(got, ref, **TOL)
    drift = layer_drift(reference, padded)
    assert (drift["max |diff|"] < 1e-4).all() and (drift["min cosine"] > 0.9999).all()  # lesson 03, section 5
    drift = layer_drift(reference, real_token_states(runs["no_mask"].hidden_states, batch["attention_mask"], 0))
    assert drift.loc[0, "max |diff|"] == 0 and (drift.loc[1:, "max |diff|"] > 0.1).all()
    assert (drift.loc[1:, "min cosine"] < 0.99).all()
    with pytest.raises(AssertionError):
        torch.testing.assert_close(real_token_states(runs["no_mask"].hidden_states, batch["attention_mask"], 0)[-1],
                                   reference[-1], **TOL)


def test_left_padding_changes_vectors_unless_positions_shift(runs):
    reference = real_token_states(runs["alone"].hidden_states, runs["alone_batch"]["attention_mask"], 0)
    left_mask = runs["left"]["attention_mask"]
    drift = layer_drift(reference, real_token_states(runs["left_out"].hidden_states, left_mask, 0))
    assert drift.loc[0, "max |diff|"] > 0.5 and (drift["min cosine"] < 0.9).all()
    for got, ref in zip(real_token_states(runs["left_fixed"].hidden_states, left_mask, 0), reference):
        torch.testing.assert_close(got, ref, **TOL)


def test_left_padding_position_ids():
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    assert left_padding_position_ids(mask).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]]
    with pytest.raises(CourseTypeError):
        left_padding_position_ids(mask.float())


def test_real_token_states_rejects(batch, runs):
    with pytest.raises(CourseValueError, match="row"):
        real_token_states(runs["masked"].hidden_states, batch["attention_mask"], 3)
    with pytest.raises(CourseTypeError):
        real_token_states(runs["masked"].last_hidden_state, batch["attention_mask"], 0)
    with pytest.raises(CourseValueError, match="mask's shape"):
        real_token_states(runs["alone"].hidden_states, batch["attention_mask"], 0)


def test_layer_drift_and_tables():
    a = [torch.ones(2, 3), torch.ones(2, 3)]
    b = [torch.ones(2, 3), torch.tensor([[1.0, 1.0, 1.5], [1.0, 1.0, 1.0]])]
    drift = layer_drift(a, b)
    assert drift.loc[0, "max |diff|"] == 0 and drift.loc[1, "max |diff|"] == pytest.approx(0.5)
    assert drift.loc[0, "min cosine"] == pytest.approx(1.0) and drift.loc[1, "min cosine"] < 1
    table = drift_table({"x": drift})
    assert table[("x", "max |diff|")].tolist() == ["< 0.001", "0.50"]
    assert len(plot_drift({"x": drift, "y": drift})) == 2
    with pytest.raises(CourseValueError, match="layers"):
        layer_drift(a, b[:1])
    with pytest.raises(CourseValueError, match="shapes differ"):
        layer_drift(a, [torch.ones(2, 3), torch.ones(3, 3)])
    with pytest.raises(CourseValueError):
        drift_table({})
    with pytest.raises(CourseValueError):
        plot_drift({})


def test_small():
    assert small(3e-6) == "< 0.001" and small(-2e-7) == "< 0.001" and small(0.1234) == "0.123"
    assert small(1.5, decimals=2) == "1.50"
    for bad in ("1", None, True, float("nan")):
        with pytest.raises(CourseTypeError):
            small(bad)


def test_mean_pooling_ignores_padding(batch, runs):
    alone = mean_pooling(runs["alone"].last_hidden_state, runs["alone_batch"]["attention_mask"])
    padded = mean_pooling(runs["masked"].last_hidden_state, batch["attention_mask"])
    assert list(padded.shape) == [3, 384]
    torch.testing.assert_close(padded[0], alone[0], **TOL)
    with pytest.raises(CourseValueError, match="does not match"):
        mean_pooling(runs["alone"].last_hidden_state, batch["attention_mask"])


def test_mask_vs_mask_token(tokenizer):
    table = mask_vs_mask_token(tokenizer)
    assert list(table.columns) == ["attention_mask", "[MASK] token"]
    assert str(tokenizer.mask_token_id) in table.loc["what it is", "[MASK] token"]
    with pytest.raises(CourseTypeError):
        mask_vs_mask_token(None)


# ------------------------------------------------------------------------------------------ plots, widget

def test_plot_batch_and_attention(tokenizer, batch, runs):
    tokens = [tokenizer.convert_ids_to_tokens(r) for r in batch["input_ids"].tolist()]
    axes = plot_batch(tokens, batch["input_ids"], batch["attention_mask"])
    assert len(axes) == 2 and "attention_mask" in axes[1].get_title()
    ax = plot_attention(runs["masked"].attentions[0][1].mean(0), tokens[1], title="t")
    assert [t.get_text() for t in ax.get_xticklabels()] == tokens[1]
    with pytest.raises(CourseValueError):
        plot_batch(tokens[:2], batch["input_ids"], batch["attention_mask"])
    with pytest.raises(CourseValueError):
        plot_attention(runs["masked"].attentions[0][1].mean(0), tokens[1][:3], title="t")
    with pytest.raises(CourseValueError):
        plot_windows([], 10)


def test_batch_grid_html():
    html = batch_grid_html([["[CLS]", "<b>"], ["[CLS]", None]], [[101, 7], [101, None]], [[1, 1], [1, None]])
    assert "&lt;b&gt;" in html and "attention_mask (ragged" in html and html.count("<table") == 2
    assert "input_ids [1, 2]" in batch_grid_html([["[CLS]", "a"]], [[101, 1037]], [[1, 1]])
    with pytest.raises(CourseValueError):
        batch_grid_html([["a"]], [[1], [2]], [[1]])


def test_mask_explorer_updates_quickly_and_reports(tokenizer, model, monkeypatch):
    from utils.widgets.attention_mask import mask_explorer, parse_texts

    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: plt.close("all"))  # Agg: nothing to show
    box = mask_explorer(tokenizer, model)
    controls = box.controls
    for name, value in [("layer", 4), ("row", 2), ("use_mask", False), ("use_mask", True),
                        ("padding_side", "left"), ("padding", "max_length"), ("truncation", True), ("max_length", 5),
                        ("padding", False), ("texts", "one\n\ntwo words here"), ("layer", 2)]:
        controls[name].value = value
    assert len(box.timings) == 12
    assert max(box.timings[1:3]) < 1.0  # layer and row changes redraw from the cache: no forward pass
    assert parse_texts(" a \n\n b ") == ["a", "b"]
    with pytest.raises(CourseValueError):
        parse_texts("  \n ")


# -------------------------------------------------------------------------------------------- exercises

def test_checkers_accept_the_solutions(tokenizer):
    assert evaluate("03.build_mask", lesson03_checks.expected_mask(tokenizer)).correct
    assert evaluate("03.build_mask", torch.tensor(lesson03_checks.expected_mask(tokenizer))).correct
    assert evaluate("03.padded_length", 14).correct
    assert evaluate("03.spot_bug", {0, 2}).correct and evaluate("03.spot_bug", [2, 0]).correct


@pytest.mark.parametrize("answer, words", [
    ([[0, 0, 0, 0, 0, 1, 1, 1, 1], [0] * 9], "flipped"),
    ([[1, 1, 1, 0, 0, 0, 0], [1] * 7], "[CLS]"),
    ([[1] * 5, [1] * 9], "different lengths"),
    ([[1] * 9, [1] * 9], "All 1s"),
    ([[0, 0, 0, 0, 1, 1, 1, 1, 1], [1] * 9], "left padding"),
    ([[101, 2204, 2851, 999, 102, 0, 0, 0, 0], [1] * 9], "input_ids"),
    ([[1, 1, 1, 1, 0, 0, 0, 0, 0], [1] * 9], "Count the tokens"),
    ([[1] * 9], "2 rows"),
    ("1 1 1", "is a str"),
    ([[True, False]], "integers"),
])
def test_build_mask_recognises_mistakes(answer, words):
    verdict = evaluate("03.build_mask", answer)
    assert verdict.status == "wrong" and words in verdict.message, verdict.message


@pytest.mark.parametrize("answer, words", [
    (32, "padding='longest'"),
    (12, "forgot [CLS] and [SEP]"),
    (6, "counted words"),
    (8, "counted words"),
    (20, "WordPiece tokens"),
    ("14", "is a str"),
])
def test_padded_length_recognises_mistakes(answer, words):
    verdict = evaluate("03.padded_length", answer)
    assert verdict.status == "wrong" and words in verdict.message, verdict.message


@pytest.mark.parametrize("answer, words", [
    (set(), "Something does go wrong"),
    ({0, 1, 2}, "no [PAD] at all"),
    ({0}, "not only the shortest"),
    ({1}, "Which rows contain [PAD]"),
    ({5}, "numbered 0 to 2"),
    ([0.0], "row numbers"),
    (0, "wants a set"),
])
def test_spot_bug_recognises_mistakes(answer, words):
    verdict = evaluate("03.spot_bug", answer)
    assert verdict.status == "wrong" and words in verdict.message, verdict.message


def test_spot_bug_truth_is_what_the_model_does(tokenizer, model):
    """The checker's answer (rows with [PAD]) is measured: exactly those rows change without the mask."""
    bug = encode(lesson03_checks.BUG_BATCH)
    without = run(model, bug, use_mask=False)
    changed = set()
    for row, text in enumerate(lesson03_checks.BUG_BATCH):
        alone = run(model, encode([text]))
        got = real_token_states(without.hidden_states, bug["attention_mask"], row)[-1]
        if not torch.allclose(got, alone.last_hidden_state[0], **TOL):
            changed.add(row)
    assert changed == lesson03_checks.rows_changed_without_mask(tokenizer) == {0, 2}


def test_padded_length_truth(tokenizer):
    encoded = tokenizer(lesson03_checks.LENGTH_BATCH, padding=True, truncation=True, max_length=32, return_tensors="pt")
    assert encoded["input_ids"].shape[1] == lesson03_checks.expected_padded_length(tokenizer) == 14
