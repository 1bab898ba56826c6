"""Lesson 08's helpers (utils.attribution), its plots, its explorer and its checkers, bad input included."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from utils import CourseTypeError, CourseValueError, evaluate, forward, mean_pooling  # noqa: E402
from utils import attribution as at  # noqa: E402
from utils.exercises import attribution as ex  # noqa: E402
from utils.plots import attribution as plots  # noqa: E402


@pytest.fixture(scope="module")
def pairs():
    return at.load_pairs()


@pytest.fixture(scope="module")
def references(bert, pairs):
    encoding, outputs = forward(pairs["reference"].tolist(), bert, output_hidden_states=False,
                                output_attentions=False)
    return mean_pooling(outputs.last_hidden_state, encoding["attention_mask"])


@pytest.fixture(scope="module")
def one(bert, pairs):
    return forward([pairs.loc[0, "sentence"]], bert)


@pytest.fixture(scope="module")
def runs(bert, pairs, references):
    return at.attribute(bert, pairs["sentence"].tolist(), references, steps=8)


# --- data -----------------------------------------------------------------------------------------------------------

def test_pairs_are_short_enough_for_the_lesson(bert, pairs):
    assert list(pairs.columns) == ["sentence", "reference"] and len(pairs) == 6
    for sentence in pairs["sentence"]:
        assert len(bert.tokenizer(sentence)["input_ids"]) <= 16


# --- attention methods ----------------------------------------------------------------------------------------------

def test_raw_attention_and_rollout_are_shares(one):
    raw = at.raw_attention(one.outputs.attentions)
    rolled = at.rollout(one.outputs.attentions)
    n = one.encoding["input_ids"].shape[1]
    assert raw.shape == (n,) and rolled.shape == (n, n)
    torch.testing.assert_close(raw.sum(), torch.tensor(1.0))
    torch.testing.assert_close(rolled.sum(dim=-1), torch.ones(n))
    torch.testing.assert_close(at.rollout_attribution(one.outputs.attentions), rolled.mean(dim=0))


def test_rollout_of_identity_attention_is_identity():
    n = 4
    eye = tuple(torch.eye(n).expand(1, 2, n, n) for _ in range(3))
    torch.testing.assert_close(at.rollout(eye), torch.eye(n))


def test_flow_on_a_two_token_toy_graph_is_what_pipes_allow():
    # One layer, uniform attention: residual rows [0.75, 0.25] and [0.25, 0.75]; the source sends 0.5 to each
    # output node, so input 0 receives min(0.5, 0.75) + min(0.5, 0.25) = 0.75, and input 1 the same.
    att = (torch.full((1, 1, 2, 2), 0.5),)
    torch.testing.assert_close(at.attention_flow(att), torch.tensor([0.75, 0.75]))
    # Attention only on token 0: input 1 can only be reached through the residual half of output 1.
    att = (torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]]),)
    torch.testing.assert_close(at.attention_flow(att), torch.tensor([1.0, 0.5]))


def test_flow_is_bounded_by_the_source(one):
    flow = at.attention_flow(one.outputs.attentions)
    assert (flow > 0).all() and (flow <= 1 + 1e-5).all()


@pytest.mark.parametrize("bad, error", [
    (None, CourseTypeError), ((), CourseTypeError), ((torch.ones(2, 2),), CourseValueError),
    ((torch.ones(2, 12, 3, 3),), CourseValueError),
])
def test_attention_helpers_refuse_bad_input(bad, error):
    with pytest.raises(error):
        at.head_average(bad)


def test_flow_refuses_a_bad_scale(one):
    with pytest.raises(CourseValueError, match="scale"):
        at.attention_flow(one.outputs.attentions, scale=1.5)


# --- gradient methods -----------------------------------------------------------------------------------------------

def test_integrated_gradients_are_complete_and_converge(bert, one, references):
    errors = []
    for steps in (2, 8, 32):
        scores, fx, fb = at.integrated_gradients(bert, one.encoding["input_ids"], references[0:1], steps=steps)
        errors.append(abs(float(scores.sum() - (fx - fb))))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.005


def test_integrated_gradients_batched_equal_one_at_a_time(bert, pairs, references):
    encoding, _ = forward(pairs["sentence"][:2].tolist(), bert)
    batched, fx, _ = at.integrated_gradients(bert, encoding["input_ids"], references[:2],
                                             attention_mask=encoding["attention_mask"], steps=4)
    for b in range(2):
        alone, fx_alone, _ = at.integrated_gradients(bert, forward([pairs.loc[b, "sentence"]], bert).encoding[
            "input_ids"], references[b:b + 1], steps=4)
        n = alone.shape[1]
        torch.testing.assert_close(batched[b, :n], alone[0], atol=1e-4, rtol=1e-3)
        assert (batched[b, n:] == 0).all()  # padding gets nothing
        assert abs(float(fx[b] - fx_alone[0])) < 1e-5


def test_gradient_times_input_is_not_complete(bert, one, references):
    gxi, fx, fb = at.integrated_gradients(bert, one.encoding["input_ids"], references[0:1], steps=0)
    assert torch.isnan(fb).all()
    _, _, baseline = at.integrated_gradients(bert, one.encoding["input_ids"], references[0:1], steps=2)
    assert abs(float(gxi.sum() - (fx - baseline))) > 0.1  # no completeness: off by far more than IG


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": -1}, "steps"), ({"steps": 2.5}, "steps"), ({"steps": True}, "steps"),
])
def test_integrated_gradients_refuse_bad_input(bert, one, references, kwargs, match):
    with pytest.raises(CourseValueError, match=match):
        at.integrated_gradients(bert, one.encoding["input_ids"], references[0:1], **kwargs)


def test_integrated_gradients_need_one_reference_per_sentence(bert, one, references):
    with pytest.raises(CourseValueError, match="one reference per sentence"):
        at.integrated_gradients(bert, one.encoding["input_ids"], references[:2])
    with pytest.raises(CourseTypeError):
        at.integrated_gradients(bert, one.encoding["input_ids"].tolist(), references[:1])


# --- curves and faithfulness ----------------------------------------------------------------------------------------

def test_curve_inputs_delete_and_insert():
    ids = torch.tensor([[101, 5, 6, 7, 102]])
    deletion = at.curve_inputs(ids, [2, 1, 3], 103)
    assert deletion.tolist() == [[101, 5, 6, 7, 102], [101, 5, 103, 7, 102], [101, 103, 103, 7, 102],
                                 [101, 103, 103, 103, 102]]
    assert at.curve_inputs(ids, [2, 1, 3], 103, ks=[0, 3]).tolist() == [deletion[0].tolist(), deletion[3].tolist()]
    insertion = at.curve_inputs(ids, [2, 1, 3], 103, mode="insertion")
    assert insertion[0].tolist() == [101, 103, 103, 103, 102] and insertion[-1].tolist() == ids[0].tolist()
    with pytest.raises(CourseValueError, match="mode"):
        at.curve_inputs(ids, [1], 103, mode="both")


def test_curve_area_order_and_helpers():
    assert at.curve_area([1.0, 0.0]) == 0.5 and at.curve_area([1, 1, 1]) == 1.0
    assert at.curve_area([1.0, 1.0, 0.0], [0, 3, 4]) == pytest.approx(0.875)
    with pytest.raises(CourseValueError):
        at.curve_area([1.0])
    with pytest.raises(CourseValueError, match="ks"):
        at.curve_area([1.0, 0.0], [1, 2])
    assert at.curve_steps(12, 5) == [0, 3, 6, 9, 12] and at.curve_steps(2, 5) == [0, 1, 2]
    assert at.curve_steps(3) == [0, 1, 2, 3]
    with pytest.raises(CourseValueError):
        at.curve_steps(0)
    with pytest.raises(CourseValueError):
        at.curve_steps(5, 1)
    assert at.order_by(torch.tensor([9.0, 1.0, 3.0, 3.0, 9.0]), [1, 2, 3]) == [2, 3, 1]
    assert at.random_orders([1, 2, 3], [0]) == at.random_orders([1, 2, 3], [0])
    assert sorted(at.random_orders([1, 2, 3], [5])[0]) == [1, 2, 3]
    assert at.content_positions(torch.tensor([[101, 5, 6, 102]]), [101, 102]) == [1, 2]


def test_faithfulness_curves_batched_equal_one_at_a_time(bert, runs, references):
    items = [(r["input_ids"], references[i], {"a": r["positions"], "b": r["positions"][::-1]})
             for i, r in enumerate(runs[:2])]
    together = at.faithfulness_curves(bert, items, bert.tokenizer.mask_token_id)
    for item, curves in zip(items, together):
        alone = at.faithfulness_curves(bert, [item], bert.tokenizer.mask_token_id)[0]
        for name in ("a", "b"):
            for mode in ("deletion", "insertion"):
                torch.testing.assert_close(curves[name][mode], alone[name][mode], atol=1e-4, rtol=1e-4)
        # deletion of nothing and insertion of everything are the sentence itself
        assert abs(float(curves["a"]["deletion"][0] - curves["a"]["insertion"][-1])) < 1e-5


def test_faithfulness_curves_refuse_bad_input(bert):
    with pytest.raises(CourseValueError):
        at.faithfulness_curves(bert, [], 103)
    with pytest.raises(CourseValueError):
        at.faithfulness_curves(bert, [(torch.tensor([[101, 102]]), torch.zeros(4), {})], 103)


def test_attribute_refuses_bad_sentences(bert, references):
    with pytest.raises(CourseTypeError):
        at.attribute(bert, "one sentence", references[:1])


def test_rank_agreement_table(runs):
    table = at.rank_agreement(runs[0]["scores"], runs[0]["positions"])
    assert list(table.index) == list(at.METHODS) and (table.values.diagonal() == 1).all()
    with pytest.raises(CourseValueError):
        at.rank_agreement({"one": torch.zeros(3)}, [0, 1, 2])


def test_regression_faithfulness_on_the_lesson_pairs(bert, runs, references):
    """The lesson's findings, with margins: IG and raw attention beat random deletion on every pair; gradient ×
    input does worse than random on average; rollout always ranks the full stop first."""
    seeds = range(3)
    items = []
    for i, r in enumerate(runs):
        orders = {m: at.order_by(r["scores"][m], r["positions"]) for m in at.METHODS}
        orders.update({f"random {s}": o for s, o in zip(seeds, at.random_orders(r["positions"], seeds))})
        items.append((r["input_ids"], references[i], orders))
    curves = at.faithfulness_curves(bert, items, bert.tokenizer.mask_token_id, points=5)  # as in the lesson
    area = {m: [at.curve_area(c[m]["deletion"], c[m]["k"]) for c in curves] for m in at.METHODS}
    random = [sum(at.curve_area(c[f"random {s}"]["deletion"], c[f"random {s}"]["k"]) for s in seeds) / 3
              for c in curves]
    for method in ("integrated gradients", "raw attention"):
        assert all(a < r for a, r in zip(area[method], random))
    assert sum(area["gradient × input"]) > sum(random)
    for method in ("rollout", "flow"):
        assert 0 < sum(a < r for a, r in zip(area[method], random)) < len(runs)
    for r in runs:
        assert r["tokens"][at.order_by(r["scores"]["rollout"], r["positions"])[0]] == "."


# --- plots and explorer ---------------------------------------------------------------------------------------------

def test_token_colours_and_svg():
    html = plots.token_colours_html(["a", "<b>"], [1.0, -0.5], caption="x")
    assert "&lt;b&gt;" in html and "rgba(86, 180, 233, 0.50)" in html and "<b>x</b>" in html
    assert plots.curve_svg([1.0, 0.5, 0.0]).startswith("<svg")
    with pytest.raises(CourseValueError):
        plots.token_colours_html(["a"], [1.0, 2.0])
    with pytest.raises(CourseValueError):
        plots.curve_svg([1.0])


def test_curves_plot_draws_one_line_per_curve():
    ax = plots.curves_plot({"m": [1.0, 0.5], "random": [1.0, 0.8]}, title="t")
    assert len(ax.lines) == 2
    plt.close("all")
    with pytest.raises(CourseValueError):
        plots.curves_plot({}, title="t")


def test_explorer_updates_fast_and_refuses_empty_results():
    from utils.widgets.attribution import attribution_explorer

    result = {"label": "0", "tokens": ["[CLS]", "a", "[SEP]"], "scores": {"m": [0.1, 0.5, 0.2]},
              "curves": {"m": {"deletion": [1.0, 0.2]}, "random": {"deletion": [1.0, 0.6]}},
              "areas": {"m": 0.6, "random": 0.8}}
    box = attribution_explorer([result, result])
    box.controls["pair"].value = 1
    assert len(box.timings) == 2  # one redraw per change; how fast is the benchmark's job (bench/README.md)
    with pytest.raises(CourseValueError):
        attribution_explorer([])


# --- checkers -------------------------------------------------------------------------------------------------------

def test_rollout_cls_checker_accepts_right_forms_and_names_each_mistake():
    right, mistakes = ex.rollout_cls_mistakes()
    assert evaluate("08.rollout_cls", right).correct
    assert evaluate("08.rollout_cls", right[None]).correct  # [1, seq_len]
    assert evaluate("08.rollout_cls", right.tolist()).correct
    assert evaluate("08.rollout_cls", right.numpy()).correct
    for value, message in mistakes:
        verdict = evaluate("08.rollout_cls", value)
        assert verdict.status == "wrong" and verdict.message == message
    assert "shape" in evaluate("08.rollout_cls", right[:3]).message
    assert "torch.Tensor" in evaluate("08.rollout_cls", "row 0").message
    assert evaluate("08.rollout_cls", torch.zeros_like(right)).status == "wrong"


def test_occlusion_checker_accepts_right_forms_and_names_each_mistake():
    right, positions, mistakes = ex.occlusion_mistakes()
    assert evaluate("08.occlusion", right).correct
    padded = torch.cat([torch.zeros(1), right, torch.zeros(1)])  # one per token, [CLS] and [SEP] = 0
    assert evaluate("08.occlusion", padded).correct
    for value, message in mistakes:
        verdict = evaluate("08.occlusion", value)
        assert verdict.status == "wrong" and verdict.message == message
    assert "never deleted" in evaluate("08.occlusion", torch.ones(len(right) + 2)).message
    assert f"{len(right)} content tokens" in evaluate("08.occlusion", right[:-1]).message
    assert evaluate("08.occlusion", torch.zeros_like(right)).status == "wrong"
