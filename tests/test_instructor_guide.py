"""docs/instructor.md: its generated parts (tools/schedule.py) are current, and the timetable rules hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from tool_loader import load_tool

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "instructor.md"


schedule = load_tool("schedule")
LESSONS = schedule.load_lessons()


def lesson(number: int, teaching: int = 30, exercises: int = 15, stem: str | None = None):
    stem = stem or f"{number:02d}_lesson"
    return schedule.Lesson(stem, f"{number:02d} · Lesson", "Why?", teaching, exercises, (), ("a", "b", "c"),
                           ("k",), (f"{number:02d}.x",))


def test_generated_parts_are_current():
    text = GUIDE.read_text(encoding="utf-8")
    new, problems = schedule.update(text, LESSONS)
    assert not problems, "\n".join(problems)
    assert new == text, "docs/instructor.md is stale: run `.venv/bin/python tools/schedule.py`"


def test_every_lesson_has_goals_a_live_demo_and_what_to_watch_for():
    text = GUIDE.read_text(encoding="utf-8")
    for item in LESSONS:
        section = text.split(f"<!-- lesson:{item.stem}:end -->", 1)[1].split("<!-- lesson:", 1)[0]
        assert "**Live demo.**" in section or "**Live demo** (" in section, f"{item.stem}: no live demo"
        assert "**Watch for**" in section, f"{item.stem}: no misconceptions to watch for"
        assert "_To write" not in section, f"{item.stem}: the instructor notes are still a stub"


def test_sizing_placeholder_is_kept_for_the_benchmark_figures():
    # The marker stays until measured figures (in MiB, with their machine) are written under it.
    sizing = GUIDE.read_text(encoding="utf-8").split("\n## Sizing\n", 1)[1].split("\n## ", 1)[0]
    assert "<!-- sizing:figures -->" in sizing or "MiB" in sizing


@pytest.mark.parametrize("plan", [schedule.ONE_DAY, schedule.HALF_DAY], ids=["one_day", "half_day"])
def test_plan_keeps_order_never_splits_and_fits_the_day(plan):
    lessons = [lesson(0, 5, 5)] + [lesson(n) for n in range(1, 9)]
    rows, left, slack = schedule.plan_day(plan, lessons)
    placed = [what for _, what, _ in rows if what.startswith("[")]
    assert placed == [f"[{x.title}](../lessons/{x.stem}.ipynb): {x.teaching} teaching + {x.exercises} exercises"
                      for x in lessons[:len(placed)]], "lessons placed in order, each in one piece"
    assert left == lessons[len(placed):], "what does not fit is the tail, so no prerequisite is skipped"
    assert slack >= 0
    starts = [start for start, _, _ in rows]
    assert starts == sorted(starts) and rows[0][0] == plan.start
    for (start, _, minutes), (following, _, _) in zip(rows, rows[1:]):
        assert start + minutes == following, "rows follow each other without gaps"


def test_one_day_has_lunch_around_noon_and_breaks_between_long_blocks():
    rows, left, _ = schedule.plan_day(schedule.ONE_DAY, [lesson(0, 5, 5)] + [lesson(n) for n in range(1, 7)])
    assert not left
    lunch = [start for start, what, _ in rows if what == "Lunch"]
    assert len(lunch) == 1 and 11 * 60 <= lunch[0] <= 13 * 60
    block = 0
    for _, what, minutes in rows:
        block = 0 if what in ("Break", "Lunch") else block + minutes
        assert block <= schedule.MAX_BLOCK + 45, "a break comes before a block grows too long"


def test_half_day_leaves_what_does_not_fit_for_later():
    lessons = [lesson(n, 40, 20) for n in range(6)]
    _, left, _ = schedule.plan_day(schedule.HALF_DAY, lessons)
    assert left and "Not placed" in schedule.render_plan(schedule.HALF_DAY, lessons)


def test_new_lesson_gets_a_section_with_a_stub_and_planned_ones_say_so():
    text = ("<!-- schedule:begin -->\n<!-- schedule:end -->\n"
            "<!-- lesson:02_special_tokens:begin -->\n<!-- lesson:02_special_tokens:end -->\n"
            "<!-- lesson-notes:end -->\n")
    new, problems = schedule.update(text, [lesson(0, 5, 5, "00_setup_check")])
    assert not problems
    assert "<!-- lesson:00_setup_check:begin -->\n### 00 · Lesson" in new and "**Live demo.** _To write._" in new
    assert "02 · special tokens (planned)" in new
    assert new.index("lesson:00_setup_check:begin") < new.index("<!-- lesson-notes:end -->")
    assert schedule.update(new, [lesson(0, 5, 5, "00_setup_check")]) == (new, []), "running twice changes nothing"


def test_section_for_a_lesson_that_landed_under_another_name_is_reported():
    text = ("<!-- schedule:begin -->\n<!-- schedule:end -->\n"
            "<!-- lesson:03_attention_masks:begin -->\n<!-- lesson:03_attention_masks:end -->\n"
            "<!-- lesson-notes:end -->\n")
    _, problems = schedule.update(text, [lesson(3, stem="03_masks")])
    assert problems and "rename the section" in problems[0]


def test_missing_markers_are_an_error():
    with pytest.raises(ValueError, match="markers"):
        schedule.update("# no markers here\n", LESSONS)
