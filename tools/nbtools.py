"""Write lesson notebooks from Python, with the course's cell conventions built in.

    from tools.nbtools import md, code, exercise, solution, write_lesson
    write_lesson("lessons/07_x.ipynb", meta, [md("# Title"), code("setup()"), ...])
    # then: python3 course.py regen lessons/07_x.ipynb

The notebook is the source of truth; a script that calls this is an authoring aid, not something to commit.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
REQUIRED_META = ("title", "question", "minutes", "prerequisites", "objectives", "keypoints", "glossary")


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str, *, tags: tuple[str, ...] = (), hidden: bool = False):
    cell = new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    if hidden:
        # Both: JupyterLab shows a collapsed cell's output unless outputs_hidden is set too, and a solution's
        # output ("✅ Correct. Positions [2, 4, …]") gives the answer away.
        cell.metadata["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
    return cell


def exercise(text: str):
    """The learner's answer cell: its output is cleared in student versions."""
    return code(text, tags=("exercise",))


def solution(text: str):
    """The reference solution: collapsed, tagged, removed from student versions."""
    return code(text, tags=("solution",), hidden=True)


def write_lesson(path: str | Path, meta: dict, cells: list) -> Path:
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ValueError(f"lesson metadata lacks {missing}")
    nb = new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"},
                                             "course": meta})
    path = Path(path)
    nbformat.write(nb, path)
    return path
