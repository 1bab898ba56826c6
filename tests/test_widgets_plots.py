"""The shared explorer and plot helpers."""

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils import CourseTypeError, CourseValueError  # noqa: E402
from utils.plots import heatmap, lines_by_layer  # noqa: E402
from utils.widgets import explorer, live_explorers  # noqa: E402


def test_explorer_renders_and_updates_on_change():
    seen = []
    slider = widgets.IntSlider(value=1, min=0, max=5)
    box = explorer("demo", {"layer": slider}, lambda layer: seen.append(layer))
    assert seen == [1] and "course-explorer" in box._dom_classes
    slider.value = 3
    assert seen == [1, 3] and len(box.timings) == 2
    assert box in live_explorers()


def test_explorer_shows_render_errors_instead_of_failing(capsys):
    def render(layer):
        raise ValueError("bad layer")

    box = explorer("demo", {"layer": widgets.IntSlider()}, render)
    assert len(box.timings) == 1 and "ValueError: bad layer" in capsys.readouterr().out


def test_explorer_bad_arguments():
    with pytest.raises(CourseValueError):
        explorer("demo", {}, print)
    with pytest.raises(CourseTypeError):
        explorer("demo", {"x": widgets.IntSlider()}, "print")


def test_heatmap_labels_and_shape_check():
    ax = heatmap(np.eye(2), ["a", "b"], ["c", "d"], title="t")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"] and ax.get_title() == "t"
    plt.close("all")
    with pytest.raises(CourseValueError, match="row labels"):
        heatmap(np.eye(2), ["a", "b", "c"], ["c", "d"], title="t")
    with pytest.raises(CourseValueError, match="2-D"):
        heatmap(np.ones(3), ["a"], ["b"], title="t")


def test_heatmap_puts_row_0_on_top_and_annotates_readably():
    ax = heatmap(np.array([[0.0, 1.0], [0.5, 0.25]]), ["a", "b"], ["c", "d"], title="t", annotate=True, vmin=0, vmax=1)
    bottom, top = ax.get_ylim()
    assert bottom > top  # like a printed matrix: row 0 at the top
    texts = {(t.get_position(), t.get_text()): t.get_color() for t in ax.texts}
    assert len(texts) == 4
    assert texts[((0.5, 0.5), "0.00")] == "white" and texts[((1.5, 0.5), "1.00")] == ".15"  # dark cell, light cell
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c", "d"]
    plt.close("all")


def test_lines_by_layer():
    ax = lines_by_layer({"x": [1, 2, 3]}, title="t", ylabel="y", mark_layer=1)
    assert len(ax.lines) >= 2
    plt.close("all")
    with pytest.raises(CourseValueError):
        lines_by_layer({}, title="t", ylabel="y")


def test_explorer_shows_course_errors_as_a_fix(capsys):
    from utils import CourseValueError as Refused

    def render(text):
        raise Refused("type a sentence with [MASK]")

    explorer("demo", {"text": widgets.Text(value="x")}, render)
    assert "⚠️ type a sentence with [MASK]" in capsys.readouterr().out


def test_colours_are_the_colour_blind_palette_after_setup():
    from utils import setup
    from utils.plots import colours
    from utils.session import COLORBLIND

    setup()
    assert colours() == COLORBLIND
