"""Build student versions of the lessons: solutions removed, exercise outputs cleared.

    python3 course.py student                      # every lesson -> build/student/lessons/
    python3 course.py student lessons/01_*.ipynb   # some lessons
    python3 course.py student --out DIR            # build into DIR/lessons/ instead
    python3 course.py student --clear-all          # also clear every other output (a blank handout)

What a student copy is, cell by cell:
- cells tagged ``solution`` are removed, source and outputs;
- cells tagged ``exercise`` keep their source (``answer = ...`` then ``check(...)``) but lose their outputs and
  execution count, so the learner sees an unanswered cell;
- cells whose output is a widget lose that output: notebooks are stored without widget state, so a stored widget
  would show as a dead placeholder until the cell runs again;
- every other output is KEPT (unless ``--clear-all``): the course promises "what you read is what the code prints",
  learners compare their run with it, and a slow laptop or a Binder session can follow the lesson before it has
  run. tests/test_student_versions.py checks that no solution text (source or ✅ output) is left in a copy;
- notebook and cell metadata are kept (``metadata.course``, tags, kernelspec), so the tools still read them.

The copies still ``import utils``: the course is installed in editable mode (``pip install -e .``) and lessons read
files through ``utils.data_path``, so a copy runs from any folder. Other files in ``lessons/`` (images) are copied
alongside so relative links keep working.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
DEFAULT_OUT = ROOT / "build" / "student"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
SKIP_COPY = {".ipynb_checkpoints", "__pycache__"}


@dataclass
class Stats:
    """What :func:`student_version` changed in one notebook."""

    solutions_removed: int = 0
    exercises_cleared: int = 0
    widget_outputs_cleared: int = 0
    other_outputs_cleared: int = 0

    def __str__(self) -> str:
        text = (f"{self.solutions_removed} solution(s) removed, {self.exercises_cleared} exercise(s) cleared, "
                f"{self.widget_outputs_cleared} widget output(s) cleared")
        if self.other_outputs_cleared:
            text += f", {self.other_outputs_cleared} other output(s) cleared"
        return text


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def shows_widget(cell) -> bool:
    return any(WIDGET_MIME in output.get("data", {}) for output in cell.get("outputs", []))


def _clear(cell) -> None:
    cell["outputs"] = []
    cell["execution_count"] = None


def student_version(nb, *, clear_all: bool = False):
    """Return ``(student_nb, stats)``: a copy of ``nb`` without solutions and with exercise outputs cleared.

    Raises ``ValueError`` for a cell tagged both ``exercise`` and ``solution`` (it cannot be both shown and hidden).
    """
    if not isinstance(nb, nbformat.NotebookNode) or "cells" not in nb:
        raise TypeError(f"student_version needs a notebook read with nbformat, got {type(nb).__name__}")
    out = copy.deepcopy(nb)
    stats = Stats()
    kept = []
    for index, cell in enumerate(out.cells):
        cell_tags = tags(cell)
        if "solution" in cell_tags and "exercise" in cell_tags:
            raise ValueError(f"cell {index} is tagged both 'exercise' and 'solution'; give it one of the two")
        if "solution" in cell_tags:
            stats.solutions_removed += 1
            continue
        if cell.cell_type == "code":
            if "exercise" in cell_tags:
                _clear(cell)
                stats.exercises_cleared += 1
            elif shows_widget(cell):
                _clear(cell)
                stats.widget_outputs_cleared += 1
            elif clear_all and (cell.get("outputs") or cell.get("execution_count") is not None):
                _clear(cell)
                stats.other_outputs_cleared += 1
        kept.append(cell)
    out.cells = kept
    # Widget state is never stored in lessons; drop it defensively so no stale state ships to students.
    out.metadata.pop("widgets", None)
    return out, stats


def _copy_other_files(out_lessons: Path) -> None:
    for item in LESSONS.iterdir():
        if item.name in SKIP_COPY or item.suffix == ".ipynb":
            continue
        target = out_lessons / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*SKIP_COPY))
        else:
            shutil.copy2(item, target)


def build(paths=None, out_dir: Path = DEFAULT_OUT, *, clear_all: bool = False, quiet: bool = False) -> list[Path]:
    """Write student versions of ``paths`` (default: every ``lessons/*.ipynb``) into ``out_dir/lessons/``.

    Building every lesson also removes student notebooks whose lesson no longer exists. Returns the written paths.
    """
    out_dir = Path(out_dir).resolve()
    if out_dir == LESSONS or LESSONS in out_dir.parents:
        raise ValueError(f"refusing to build into {out_dir}: it is inside lessons/; pick a folder such as build/")
    everything = not paths
    sources = sorted(LESSONS.glob("*.ipynb")) if everything else [Path(p).resolve() for p in paths]
    missing = [str(p) for p in sources if not p.is_file() or p.suffix != ".ipynb"]
    if missing:
        raise FileNotFoundError(f"no such notebook: {', '.join(missing)} (give paths like lessons/01_x.ipynb)")
    if not sources:
        raise FileNotFoundError(f"no lessons found in {LESSONS}")
    out_lessons = out_dir / "lessons"
    out_lessons.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources:
        nb = nbformat.read(source, as_version=4)
        student, stats = student_version(nb, clear_all=clear_all)
        nbformat.validate(student)
        target = out_lessons / source.name
        nbformat.write(student, target)
        written.append(target)
        if not quiet:
            print(f"[student] {source.name}: {stats}")
    if everything:
        for stale in set(out_lessons.glob("*.ipynb")) - set(written):
            stale.unlink()
        _copy_other_files(out_lessons)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="course.py student", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="lessons to convert (default: all of lessons/*.ipynb)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: build/student)")
    parser.add_argument("--clear-all", action="store_true", help="clear every output, not only the exercises'")
    args = parser.parse_args(argv)
    try:
        written = build(args.notebooks, Path(args.out), clear_all=args.clear_all)
    except (FileNotFoundError, ValueError) as exc:
        print(f"[student] error: {exc}", file=sys.stderr)
        return 2
    folder = written[0].parent
    shown = folder.relative_to(ROOT) if ROOT in folder.parents else folder
    print(f"[student] {len(written)} notebook(s) in {shown}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
