"""Lesson 05, part 1: configs, parameter counts, memory, FLOPs, timing; its plots, explorer and the two config
exercises (utils/depth.py, utils/plots/depth.py, utils/widgets/depth.py, utils/exercises/lesson05.py)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from utils import CourseTypeError, CourseValueError, evaluate  # noqa: E402
from utils.depth import (  # noqa: E402
    ARCHITECTURES,
    architecture_table,
    bert_config,
    checkpoint_tensor_bytes,
    count_flops,
    count_parameters,
    flops_per_sequence,
    flops_per_token,
    layer_parameter_formula,
    meta_model,
    parameter_formula,
    parameter_table,
    time_forward,
    weight_memory,
)
from utils.plots.depth import (  # noqa: E402
    plot_attention_by_layer,
    plot_contextuality,
    plot_forward_time,
    plot_parameters,
    plot_probe,
    plot_sense_separation,
)


@pytest.fixture(scope="module")
def metas():
    return {name: meta_model(bert_config(name)) for name in ("BERT-Base", "BERT-Large")}


# ------------------------------------------------------------------------------------------- configs and counts
def test_architecture_table_separates_encoder_decoder_transformer_from_encoder_only_bert():
    table = architecture_table()
    assert list(table.index) == ["Transformer-base", "BERT-Base", "BERT-Large", "ours"]
    assert (table.loc["Transformer-base", "encoder layers"], table.loc["Transformer-base", "decoder layers"]) == (6, 6)
    assert (table.loc[["BERT-Base", "BERT-Large", "ours"], "decoder layers"] == 0).all()
    assert list(table["encoder layers"]) == [6, 12, 24, 6] and list(table["hidden"]) == [512, 768, 1024, 384]
    assert (table["head size"] == table["hidden"] // table["heads"]).all()


def test_ours_matches_the_loaded_model(model):
    ours, config = ARCHITECTURES["ours"], model.config
    assert (ours.encoder_layers, ours.hidden_size, ours.num_attention_heads, ours.intermediate_size,
            ours.vocab_size) == (config.num_hidden_layers, config.hidden_size, config.num_attention_heads,
                                 config.intermediate_size, config.vocab_size)


def test_bert_config_bad_input():
    with pytest.raises(CourseTypeError):
        bert_config(12)
    with pytest.raises(CourseValueError, match="decoder"):
        bert_config("Transformer-base")
    with pytest.raises(CourseValueError, match="BERT-Base"):
        bert_config("BERT-Huge")


def test_meta_models_have_no_storage_and_the_published_sizes(metas):
    for m in metas.values():
        assert all(p.device.type == "meta" for p in m.parameters())
        assert not any("decoder" in n or "crossattention" in n for n, _ in m.named_modules())
    assert sum(count_parameters(metas["BERT-Base"]).values()) == 109_482_240
    assert sum(count_parameters(metas["BERT-Large"]).values()) == 335_141_888


def test_counted_equals_closed_form_for_every_component(metas, model):
    for m in [*metas.values(), model]:
        counted = count_parameters(m)
        assert counted == parameter_formula(m.config)
        assert list(counted)[0] == "embeddings" and list(counted)[-1] == "pooler"
        assert len(counted) == m.config.num_hidden_layers + 2


def test_layer_formula_parts_add_up_to_one_real_layer(model):
    parts = layer_parameter_formula(model.config)
    real = sum(p.numel() for p in model.encoder.layer[0].parameters())
    assert sum(parts.values()) == real == 1_774_464
    h, i = model.config.hidden_size, model.config.intermediate_size
    assert real == 4 * h * h + 2 * h * i + 9 * h + i


def test_parameter_formula_without_pooler_and_bad_config():
    config = bert_config("ours")
    assert "pooler" not in parameter_formula(config, with_pooler=False)
    with pytest.raises(CourseTypeError, match="BertConfig"):
        parameter_formula({"hidden_size": 384})
    with pytest.raises(CourseTypeError):
        layer_parameter_formula(None)
    with pytest.raises(CourseTypeError):
        meta_model("BERT-Base")


def test_count_parameters_bad_input():
    with pytest.raises(CourseTypeError):
        count_parameters([1, 2, 3])


def test_parameter_table(metas, model):
    table = parameter_table({**metas, "ours": model})
    assert (table["total"] == table["formula total"]).all()
    assert table.loc["ours", "total"] == 22_713_216
    assert (table["embeddings"] + table["all layers"] + table["pooler"] == table["total"]).all()
    assert list(table["layers"]) == [12, 24, 6]
    with pytest.raises(CourseValueError):
        parameter_table({})
    with pytest.raises(CourseValueError):
        parameter_table([model])


# ------------------------------------------------------------------------------------------------------ memory
def test_weight_memory():
    assert weight_memory(10) == 40 and weight_memory(10, "float16") == 20 and weight_memory(10, "int8") == 10
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(CourseValueError):
            weight_memory(bad)
    with pytest.raises(CourseValueError, match="dtype"):
        weight_memory(10, "float8")


def test_checkpoint_header_has_one_float32_per_parameter(model):
    from utils.model import default_checkpoint_dir

    stored = checkpoint_tensor_bytes(default_checkpoint_dir())
    total = sum(p.numel() for p in model.parameters())
    assert stored["F32"]["values"] == total and stored["F32"]["bytes"] == weight_memory(total)
    assert stored["I64"]["values"] == model.config.max_position_embeddings  # the position_ids buffer


def test_checkpoint_header_counts_dtypes(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({"a": torch.zeros(3, 4, dtype=torch.float16), "b": torch.zeros(5)}, str(path))
    stored = checkpoint_tensor_bytes(tmp_path)
    assert stored == {"F16": {"tensors": 1, "values": 12, "bytes": 24}, "F32": {"tensors": 1, "values": 5, "bytes": 20}}
    assert checkpoint_tensor_bytes(path) == stored
    with pytest.raises(CourseValueError, match="safetensors"):
        checkpoint_tensor_bytes(tmp_path / "missing")


# ------------------------------------------------------------------------------------------------------ compute
@pytest.mark.parametrize("name, seq_len", [("ours", 128), ("ours", 7), ("BERT-Base", 32)])
def test_flop_formula_equals_torch_flop_counter(name, seq_len, metas):
    model = metas.get(name) or meta_model(bert_config(name))
    assert count_flops(model, seq_len) == flops_per_sequence(model.config, seq_len)


def test_flops_grow_linearly_with_layers_and_quadratically_with_width():
    base = bert_config("BERT-Base")
    deeper = bert_config("BERT-Base")
    deeper.num_hidden_layers = 24
    assert flops_per_token(deeper, 64) == 2 * flops_per_token(base, 64)
    wider = bert_config("BERT-Base")
    wider.hidden_size, wider.intermediate_size = 2 * 768, 2 * 3072
    ratio = flops_per_token(wider, 64) / flops_per_token(base, 64)
    assert 3.9 < ratio < 4.0  # the H² terms quadruple; only the small attention term merely doubles


def test_flops_bad_input():
    for bad in (0, -3, 2.5, True):
        with pytest.raises(CourseValueError):
            flops_per_sequence(bert_config("ours"), bad)
        with pytest.raises(CourseValueError):
            count_flops(meta_model(bert_config("ours")), bad)


def test_time_forward_returns_a_table_and_refuses_bad_lengths(model):
    table = time_forward(model, seq_lens=(4, 8), repeats=1)
    assert list(table.columns) == ["seq_len", "seconds", "GFLOP", "GFLOP/s"] and list(table.seq_len) == [4, 8]
    assert (table.seconds > 0).all() and table.GFLOP.is_monotonic_increasing
    with pytest.raises(CourseValueError, match="positions"):
        time_forward(model, seq_lens=(1024,))
    with pytest.raises(CourseValueError):
        time_forward(model, seq_lens=())
    with pytest.raises(CourseValueError):
        time_forward(model, seq_lens=(8,), repeats=0)


# ------------------------------------------------------------------------------------------------------- plots
def test_plots_draw_and_check_their_input(metas, model):
    table = parameter_table({**metas, "ours": model})
    ax = plot_parameters(table)
    assert ax.get_title() and ax.get_xlabel() == "parameters (millions)" and len(ax.patches) == 9
    timing = pd.DataFrame({"seq_len": [8, 16], "seconds": [0.01, 0.02], "GFLOP": [0.1, 0.2]})
    assert len(plot_forward_time(timing).lines) == 2
    layers = pd.DataFrame({k: [0.1, 0.2] for k in ("[CLS]", "[SEP]", "punctuation", "previous", "next",
                                                  "entropy (bits)")}, index=pd.Index([1, 2], name="layer"))
    axes = plot_attention_by_layer(layers, uniform_entropy=3.0)
    assert len(axes) == 2 and axes[1].get_ylabel() == "entropy (bits)"
    context = pd.DataFrame({k: [0.9, 0.5] for k in ("self-similarity", "anisotropy", "adjusted self-similarity",
                                                   "intra-sentence")}, index=[0, 1])
    assert len(plot_contextuality(context).lines) == 4
    senses = pd.DataFrame({"same sense": [0.9, 0.8], "different sense": [0.9, 0.7],
                           "nearest-neighbour accuracy": [0.5, 0.9]}, index=[0, 1])
    assert len(plot_sense_separation(senses)) == 2
    probe = pd.DataFrame({"[SEP]": [0.5, 0.9], "[SEP] · hard": [0.5, 0.8]}, index=[0, 1])
    ax = plot_probe(probe)
    assert [line.get_linestyle() for line in ax.lines[:2]] == ["-", "--"]
    plt.close("all")
    for plot in (plot_parameters, plot_forward_time, plot_attention_by_layer, plot_contextuality,
                 plot_sense_separation):
        with pytest.raises(CourseValueError, match="columns"):
            plot(pd.DataFrame({"x": [1]}))
    with pytest.raises(CourseValueError):
        plot_probe({"a": [1]})


# --------------------------------------------------------------------------------------------------- exercises
def test_layer_parameters_checker_accepts_the_formula_and_names_each_mistake():
    h, i = 768, 3072
    right = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 2 * (2 * h)
    assert evaluate("05.layer_parameters", right).correct
    assert right == count_parameters(meta_model(bert_config("BERT-Base")))["layer 1"]
    mistakes = {
        4 * h * h + 2 * h * i: "weight matrices only",
        4 * h * h + 2 * h * i + 4 * h: "biases are missing",
        right - 4 * h: "LayerNorms",
        right - h * h - h: "output projection",
        right - h * i - i: "two matrices",
        4 * h * h + 4 * h: "attention block only",
        1_774_464: "OUR model",
        12 * right: "all 12 layers",
        109_482_240: "whole BERT-Base",
        7: "part by part",
    }
    for answer, words in mistakes.items():
        feedback = evaluate("05.layer_parameters", answer)
        assert feedback.status == "wrong" and words in feedback.message, (answer, feedback.message)
    assert evaluate("05.layer_parameters", float(right)).status == "wrong"
    assert evaluate("05.layer_parameters", ...).status == "unanswered"


def test_hidden_states_checker_accepts_13_25_and_names_each_mistake():
    assert evaluate("05.hidden_states_base_large", (13, 25)).correct
    assert evaluate("05.hidden_states_base_large", [13, 25]).correct
    mistakes = {
        (12, 24): "layer counts",
        (13, 24): "off by one",
        (12, 25): "off by one",
        (14, 26): "pooler",
        (25, 49): "no decoder",
        (7, 7): "6-layer",
        (25, 13): "wrong order",
        (1, 2): "num_hidden_layers + 1",
        (13,): "two whole numbers",
        (13.0, 25.0): "two whole numbers",
        "13, 25": "tuple or list",
    }
    for answer, words in mistakes.items():
        feedback = evaluate("05.hidden_states_base_large", answer)
        assert feedback.status == "wrong" and words in feedback.message, (answer, feedback.message)


def test_hidden_states_really_are_layers_plus_one_on_a_meta_model(metas):
    with torch.no_grad():
        out = metas["BERT-Large"](input_ids=torch.ones(1, 4, dtype=torch.long, device="meta"),
                                  output_hidden_states=True)
    assert len(out.hidden_states) == 25
