"""Explorer widgets: UI only — they call the analysis modules and draw with ``utils.plots``.

Every lesson's explorer is built with :func:`explorer`, so they all behave alike: the controls sit on top, the
result below in an ``Output``; each update is timed (``Explorer.timings``, seconds) for the benchmark; and the CSS
classes ``course-explorer`` / ``explorer-output`` let the browser test find them. Lesson-specific explorers live in
``utils/widgets/<concept>.py``.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable

from ..errors import CourseError, CourseTypeError, CourseValueError

_LIVE: list = []  # weak references to explorers made in this kernel (the benchmark drives them)


def live_explorers() -> list:
    """Explorers created in this kernel and still alive, oldest first."""
    return [e for e in (ref() for ref in _LIVE) if e is not None]


def explorer(title: str, controls: dict, render: Callable[..., None]):
    """Build an explorer: ``render(**values)`` draws into the output area whenever a control changes.

    ``controls`` maps keyword names to ipywidgets controls (sliders, dropdowns, text boxes with
    ``continuous_update=False``). ``render`` receives each control's ``.value`` under that name and prints, or shows
    a figure with ``plt.show()``. Keep it fast (well under 100 ms): compute once outside, look up inside.
    Returns the ``VBox`` to display; ``box.update()`` redraws, ``box.timings`` holds each update's seconds.
    """
    import ipywidgets as widgets

    if not isinstance(controls, dict) or not controls:
        raise CourseValueError("explorer needs a non-empty dict of controls, e.g. {'layer': IntSlider(...)}")
    if not callable(render):
        raise CourseTypeError("render must be a function that draws the result, e.g. def render(layer): ...")
    output = widgets.Output()
    output.add_class("explorer-output")
    # Wrap, so explorers with many controls stay readable on a laptop screen.
    row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
    box = widgets.VBox([widgets.HTML(f"<b>{title}</b>"), row, output])
    box.add_class("course-explorer")
    box.controls = controls
    box.timings = []

    def update(change=None):
        start = time.perf_counter()
        with output:
            output.clear_output(wait=True)
            try:
                render(**{name: control.value for name, control in controls.items()})
            except CourseError as exc:  # a learner's input we refuse: say how to fix it, calmly
                print(f"⚠️ {exc}")
            except Exception as exc:  # a bug: show it in the explorer instead of failing silently
                print(f"{type(exc).__name__}: {exc}")
        box.timings.append(time.perf_counter() - start)

    for control in controls.values():
        control.observe(update, names="value")
    box.update = update
    update()
    _LIVE.append(weakref.ref(box))
    return box
