"""Write the generated parts of docs/instructor.md from the lessons' metadata (``metadata.course``).

    .venv/bin/python tools/schedule.py          # update docs/instructor.md in place
    .venv/bin/python tools/schedule.py --check  # exit 1 if docs/instructor.md is out of date (the tests do this too)

Generated, between markers:
- ``<!-- schedule:begin -->`` … ``<!-- schedule:end -->``: a one-day and a half-day timetable built from each
  lesson's minutes (teaching + exercises), with breaks, lunch and the time left over;
- ``<!-- lesson:NN_name:begin -->`` … ``<!-- lesson:NN_name:end -->``: per lesson, its title, question, minutes,
  prerequisites, goals (objectives), keypoints and exercise ids.
A lesson without a section gets one, added before ``<!-- lesson-notes:end -->`` with a stub for the hand-written
notes (live demo, what to watch for). Everything outside the markers is hand-written and left alone.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "instructor.md"
SCHEDULE = ("<!-- schedule:begin -->", "<!-- schedule:end -->")
NOTES_END = "<!-- lesson-notes:end -->"
REGION = re.compile(r"<!-- lesson:(?P<stem>[\w-]+):begin -->\n.*?<!-- lesson:(?P=stem):end -->", re.S)
CHECK_CALL = re.compile(r"check\(\s*[\"']([\w.]+)[\"']")
PLANNED = ("00_setup_check", "01_tokenization", "02_special_tokens", "03_attention_masks", "04_model_outputs",
           "05_layer_depth", "06_pretraining_mlm")
BREAK, LUNCH = 15, 60
MAX_BLOCK = 90  # minutes of teaching before a break is due
MIN_BLOCK = 45  # never break sooner than this after the last pause


@dataclass(frozen=True)
class Lesson:
    stem: str
    title: str
    question: str
    teaching: int
    exercises: int
    prerequisites: tuple[str, ...]
    objectives: tuple[str, ...]
    keypoints: tuple[str, ...]
    exercise_ids: tuple[str, ...]

    @property
    def minutes(self) -> int:
        return self.teaching + self.exercises


@dataclass(frozen=True)
class Plan:
    name: str
    start: int  # minutes after midnight
    end: int
    welcome: int
    wrap_up: int
    lunch: bool


ONE_DAY = Plan("One day (09:00–17:00)", 9 * 60, 17 * 60, welcome=15, wrap_up=15, lunch=True)
HALF_DAY = Plan("Half day (09:00–12:30)", 9 * 60, 12 * 60 + 30, welcome=10, wrap_up=10, lunch=False)


def load_lessons(folder: Path = ROOT / "lessons") -> list[Lesson]:
    lessons = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        course = nb["metadata"]["course"]
        ids = []
        for cell in nb["cells"]:
            if "exercise" in cell.get("metadata", {}).get("tags", []):
                ids += CHECK_CALL.findall("".join(cell["source"]))
        lessons.append(Lesson(path.stem, course["title"], course["question"], int(course["minutes"]["teaching"]),
                              int(course["minutes"]["exercises"]), tuple(course["prerequisites"]),
                              tuple(course["objectives"]), tuple(course["keypoints"]), tuple(ids)))
    return lessons


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def plan_day(plan: Plan, lessons: list[Lesson]) -> tuple[list[tuple[int, str, int]], list[Lesson], int]:
    """Place lessons in order into ``plan``: returns (rows of (start, what, minutes), lessons left over, slack).

    A lesson is never split. Before each lesson a pause is inserted when due: lunch at the first lesson boundary
    after 11:45 (or earlier if the next lesson would run past 13:00), otherwise a break once the next lesson would
    make the block longer than MAX_BLOCK. Once a lesson does not fit, it and every later lesson are left over,
    so the plan never skips a prerequisite.
    """
    t = plan.start
    rows = [(t, "Welcome: the day's question, how exercises and checkers work, stragglers run 00", plan.welcome)]
    t += plan.welcome
    block, lunch_taken, left = plan.welcome, False, []
    for lesson in lessons:
        if left:
            left.append(lesson)
            continue
        pause = None
        if plan.lunch and not lunch_taken and t >= 11 * 60 and (t >= 11 * 60 + 45 or t + lesson.minutes > 13 * 60):
            pause = ("Lunch", LUNCH)
        elif block + lesson.minutes > MAX_BLOCK and block >= MIN_BLOCK:
            pause = ("Break", BREAK)
        pause_minutes = pause[1] if pause else 0
        if t + pause_minutes + lesson.minutes + plan.wrap_up > plan.end:
            left.append(lesson)
            continue
        if pause:
            rows.append((t, pause[0], pause[1]))
            t += pause[1]
            block = 0
            lunch_taken = lunch_taken or pause[0] == "Lunch"
        rows.append((t, f"[{lesson.title}](../lessons/{lesson.stem}.ipynb): {lesson.teaching} teaching + "
                        f"{lesson.exercises} exercises", lesson.minutes))
        t += lesson.minutes
        block += lesson.minutes
    rows.append((t, "Wrap-up: keypoints, open questions, feedback, where to go next", plan.wrap_up))
    t += plan.wrap_up
    return rows, left, plan.end - t


def render_plan(plan: Plan, lessons: list[Lesson]) -> str:
    rows, left, slack = plan_day(plan, lessons)
    placed = [lesson for lesson in lessons if lesson not in left]
    lines = [f"#### {plan.name}", "", "| start | what | minutes |", "|---|---|---|"]
    lines += [f"| {clock(start)} | {what} | {minutes} |" for start, what, minutes in rows]
    lines.append(f"| {clock(plan.end - slack)} | End (unallocated time: {slack} min) | |")
    lines.append("")
    lines.append(f"{len(placed)} lesson(s) placed: {sum(x.teaching for x in placed)} min teaching + "
                 f"{sum(x.exercises for x in placed)} min exercises. Unallocated time ({slack} min) is the buffer "
                 f"for questions and the explorers: spread it over the day rather than finishing early.")
    if left:
        names = ", ".join(f"[{x.title}](../lessons/{x.stem}.ipynb) ({x.minutes} min)" for x in left)
        lines.append(f"Not placed (self-study, or a second session): {names}.")
    return "\n".join(lines)


def render_schedule(lessons: list[Lesson]) -> str:
    if not lessons:
        return "_No lessons in lessons/ yet._"
    total = sum(x.minutes for x in lessons)
    head = (f"Built by `tools/schedule.py` from the minutes in the metadata of the {len(lessons)} lesson(s) now in "
            f"`lessons/` ({total} min of lessons in all). Breaks: {BREAK} min after at most {MAX_BLOCK} min; lunch "
            f"{LUNCH} min. A lesson is never split.")
    return "\n\n".join([head, render_plan(ONE_DAY, lessons), render_plan(HALF_DAY, lessons)])


def render_lesson(lesson: Lesson) -> str:
    prereq = ", ".join(lesson.prerequisites) or "none"
    lines = [f"### {lesson.title}", "",
             f"*{lesson.question}* · {lesson.teaching} min teaching + {lesson.exercises} min exercises · "
             f"prerequisites: {prereq} · [notebook](../lessons/{lesson.stem}.ipynb)", "",
             "**Goals** (learners will be able to):", ""]
    lines += [f"- {x}" for x in lesson.objectives]
    lines += ["", "**Keypoints to land** (say them again in the wrap-up):", ""]
    lines += [f"- {x}" for x in lesson.keypoints]
    ids = ", ".join(f"`{x}`" for x in lesson.exercise_ids) or "none"
    lines += ["", f"**Exercises:** {ids}."]
    return "\n".join(lines)


def render_planned(stem: str) -> str:
    return (f"### {stem[:2]} · {stem[3:].replace('_', ' ')} (planned)\n\n"
            f"_Not in `lessons/` yet: goals, minutes and exercises appear here when `lessons/{stem}.ipynb` lands "
            f"(run `tools/schedule.py`). The notes below were written from the lesson's issue: re-check them "
            f"against the lesson and its checkers._")


def region(stem: str, body: str) -> str:
    return f"<!-- lesson:{stem}:begin -->\n{body}\n<!-- lesson:{stem}:end -->"


def stub_section(lesson: Lesson) -> str:
    number = lesson.stem[:2]
    return (f"{region(lesson.stem, render_lesson(lesson))}\n\n"
            f"**Live demo.** _To write._\n\n"
            f"**Watch for.** _To write from the checkers' messages in `utils/exercises/lesson{number}.py`._\n\n")


def update(text: str, lessons: list[Lesson]) -> tuple[str, list[str]]:
    """Return (the new guide text, problems). Problems: sections for lessons that will never exist."""
    begin, end = SCHEDULE
    if begin not in text or end not in text or NOTES_END not in text:
        raise ValueError(f"docs/instructor.md lacks the markers {begin}, {end} or {NOTES_END}")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    text = f"{head}{begin}\n{render_schedule(lessons)}\n{end}{tail}"

    by_stem = {x.stem: x for x in lessons}
    numbers = {x.stem[:2] for x in lessons}
    problems = []

    def fill(match: re.Match) -> str:
        stem = match.group("stem")
        if stem in by_stem:
            return region(stem, render_lesson(by_stem[stem]))
        if stem in PLANNED and stem[:2] not in numbers:
            return region(stem, render_planned(stem))
        problems.append(f"docs/instructor.md has a section for {stem!r}, which is not in lessons/"
                        + (" (its number landed under another name: rename the section)" if stem[:2] in numbers
                           else ""))
        return match.group(0)

    text = REGION.sub(fill, text)
    present = {m.group("stem") for m in REGION.finditer(text)}
    new = "".join(stub_section(x) for x in lessons if x.stem not in present)
    if new:
        text = text.replace(NOTES_END, new + NOTES_END, 1)
    return text, problems


def main(argv: list[str]) -> int:
    current = GUIDE.read_text(encoding="utf-8")
    new, problems = update(current, load_lessons())
    for problem in problems:
        print(f"[schedule] {problem}", file=sys.stderr)
    if "--check" in argv:
        return 0 if new == current and not problems else 1
    GUIDE.write_text(new, encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
