"""Student versions (tools/student.py): built into a temporary folder, run top to bottom, checked for leaks.

Every ``lessons/*.ipynb`` is covered, new lessons included. The student copies run in a folder outside the course
(a pytest temporary folder) with PYTHONPATH removed, so passing also proves that ``import utils`` and
``utils.data_path`` work from anywhere through the editable install.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from tool_loader import load_tool

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # IPython colours tracebacks
CHECK_CALL = re.compile(r"check\(\s*[\"']([\w.]+)[\"']")
CELL_TIMEOUT = 300
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# Offline, like `course.py test`; PYTHONPATH dropped so only the installed package can provide `utils`.
KERNEL_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


student = load_tool("student")


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def source(cell) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        text = output.get("text", "")
        parts.append("".join(text) if isinstance(text, list) else text)
        for mime in ("text/plain", "text/markdown", "text/html"):
            value = output.get("data", {}).get(mime, "")
            parts.append("".join(value) if isinstance(value, list) else value)
    return "".join(parts)


def workers() -> int:
    """Kernels to run at once: 2 on the course's 2 cores; 1 under pytest-xdist, whose other worker is busy."""
    if os.environ.get("COURSE_STUDENT_WORKERS"):
        return max(1, int(os.environ["COURSE_STUDENT_WORKERS"]))
    return 1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, os.cpu_count() or 1)


def kernel_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(KERNEL_ENV)
    return env


# Each notebook runs in its own Python process: nbclient's asyncio machinery and Python 3.11's traceback
# formatting (which parses source with `ast`) are not safe to share between threads of the pytest process.
# nbclient's Output-widget mimic is switched off (a no-op handler for "jupyter.widget" comms): it sends every
# explorer output back to the kernel on the shell socket, which in nbclient 0.11 raises KeyError when widget state
# is not stored and, when it is, sometimes stalls the cell until the timeout. Without it, what an explorer draws
# lands in the cell's own outputs, which these tests do not compare.
RUNNER = """
import sys
import nbformat
from nbclient import NotebookClient
path, out, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3])
nb = nbformat.read(path, as_version=4)
client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                        resources={"metadata": {"path": sys.argv[4]}})
client.comm_open_handlers = {"jupyter.widget": lambda msg: None}
try:
    client.execute()
finally:
    nbformat.write(nb, out)
"""


def run_notebook(path: Path):
    """Execute a notebook in a fresh python3 kernel whose working folder is the notebook's folder.

    Returns ``(executed_nb, error)``; ``error`` is None or the end of the runner's stderr (the failing cell's
    source and traceback).
    """
    out = path.parent.parent / "executed" / path.name  # beside lessons/, so the student folder stays as built
    out.parent.mkdir(exist_ok=True)
    result = subprocess.run([sys.executable, "-c", RUNNER, str(path), str(out), str(CELL_TIMEOUT), str(path.parent)],
                            env=kernel_env(), capture_output=True, text=True, check=False)
    nb = nbformat.read(out, as_version=4) if out.exists() else nbformat.read(path, as_version=4)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if "[IPKernelApp] WARNING" not in line]
        stderr = ANSI.sub("", "\n".join(lines))
        return nb, stderr[-4000:] or f"runner exited with {result.returncode}"
    return nb, None


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``{lesson name: (original nb, student nb path)}`` for every lesson, built like `course.py student`."""
    out = tmp_path_factory.mktemp("student")
    paths = student.build(None, out, quiet=True)
    by_name = {p.name: p for p in paths}
    return {path.name: (nbformat.read(path, as_version=4), by_name[path.name]) for path in LESSONS}


@pytest.fixture(scope="module")
def executed(built, request):
    """Run the student copies of the selected lessons (in parallel when the machine allows) once per module."""
    selected = sorted({item.callspec.params["path"].name for item in request.session.items
                       if getattr(item, "module", None) is sys.modules[__name__] and hasattr(item, "callspec")
                       and "path" in item.callspec.params and item.originalname == "test_runs_top_to_bottom"})
    with ThreadPoolExecutor(max_workers=workers()) as pool:
        results = pool.map(run_notebook, [built[name][1] for name in selected])
        return dict(zip(selected, results))


def test_every_lesson_gets_a_student_version(built):
    assert LESSONS, "no lessons found"
    assert sorted(built) == [p.name for p in LESSONS]
    for _, path in built.values():
        assert "lessons" == path.parent.name and ROOT not in path.parents, "built outside the course folder"


def test_utils_imports_from_any_folder(tmp_path):
    # What the student copies rely on: the editable install, not the working folder, provides utils and data/.
    code = "import utils, utils.data; print(utils.data.DATA_DIR); print(utils.data_path('README.md').name)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=kernel_env(), capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(ROOT / "data"), "README.md"], result.stdout


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
class TestStudentVersion:
    def test_solutions_removed_and_exercises_cleared(self, path, built):
        original, student_path = built[path.name]
        copy = nbformat.read(student_path, as_version=4)
        solutions = [c for c in original.cells if "solution" in tags(c)]
        assert not [c for c in copy.cells if "solution" in tags(c)], "a solution cell is still there"
        assert len(copy.cells) == len(original.cells) - len(solutions)
        exercises = [c for c in copy.cells if "exercise" in tags(c)]
        assert len(exercises) == len([c for c in original.cells if "exercise" in tags(c)])
        for cell in exercises:
            assert cell.outputs == [] and cell.execution_count is None, "exercise output not cleared"
            assert CHECK_CALL.search(source(cell)) and "..." in source(cell), "exercise lost its `...` / check()"

    def test_metadata_and_teaching_outputs_kept(self, path, built):
        original, student_path = built[path.name]
        copy = nbformat.read(student_path, as_version=4)
        assert copy.metadata.get("course") == original.metadata.get("course")
        assert copy.metadata.get("kernelspec") == original.metadata.get("kernelspec")
        kept = [c for c in original.cells if "solution" not in tags(c)]
        for before, after in zip(kept, copy.cells):
            assert before.metadata == after.metadata
            assert source(before) == source(after)
            if before.cell_type == "code" and "exercise" not in tags(before) and not student.shows_widget(before):
                assert before.outputs == after.outputs, f"teaching output changed: {source(before)[:60]!r}"

    def test_no_solution_text_leaks(self, path, built):
        original, student_path = built[path.name]
        copy_text = student_path.read_text(encoding="utf-8")
        # A solution line that also appears in a non-solution cell (e.g. the `check(...)` call) is not a leak.
        elsewhere = {line.strip() for c in original.cells if "solution" not in tags(c)
                     for line in source(c).splitlines()}
        copy_nb = nbformat.read(student_path, as_version=4)
        copy_sources = "\n".join(source(c) for c in copy_nb.cells)
        copy_outputs = "\n".join(output_text(c) for c in copy_nb.cells)
        for cell in (c for c in original.cells if "solution" in tags(c)):
            distinctive = [line.strip() for line in source(cell).splitlines()
                           if line.strip() and line.strip() not in elsewhere]
            assert distinctive, f"every line of this solution is also in a teaching cell:\n{source(cell)}"
            for line in distinctive:
                assert line not in copy_sources and line not in copy_outputs, f"solution line leaked: {line!r}"
            for line in (text.strip() for text in output_text(cell).splitlines() if "✅" in text):
                assert line not in copy_text and line not in copy_outputs, f"solution output leaked: {line!r}"

    def test_runs_top_to_bottom(self, path, executed):
        nb, error = executed[path.name]
        assert error is None, f"student version of {path.name} failed:\n{error}"
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            text = output_text(cell)
            assert "✅ Correct." not in text, f"a checker accepted an answer in the student version: {text!r}"
            if "exercise" in tags(cell):
                for exercise_id in CHECK_CALL.findall(source(cell)):
                    assert f"[{exercise_id}] ✏️ Not answered yet." in text, (
                        f"{exercise_id}: expected the checker's 'Not answered yet', got {text!r}")


def _notebook(cells, **metadata):
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, **metadata})
    return nb


def _code(text, tag=None, outputs=None, count=1):
    cell = nbformat.v4.new_code_cell(text, execution_count=count, outputs=outputs or [])
    if tag:
        cell.metadata["tags"] = [tag]
    return cell


class TestStudentTool:
    """The transformation itself, on small hand-made notebooks."""

    stream = nbformat.v4.new_output("stream", name="stdout", text="hello\n")
    widget = nbformat.v4.new_output("execute_result", data={
        "text/plain": "IntSlider(value=1)", student.WIDGET_MIME: {"model_id": "abc", "version_major": 2}},
        execution_count=3)

    def make(self):
        solution_md = nbformat.v4.new_markdown_cell("The answer is 7.")
        solution_md.metadata["tags"] = ["solution"]
        return _notebook([
            _code("print('hello')", outputs=[self.stream]),
            _code("answer = ...\ncheck('00.x', answer)", "exercise", [self.stream], 2),
            _code("answer = 7\ncheck('00.x', answer)", "solution", [self.stream], 3),
            solution_md,
            _code("slider", outputs=[self.widget], count=4),
        ], course={"title": "99 · Test"}, widgets={"state": {}})

    def test_removes_solutions_of_any_cell_type_and_clears_exercises_and_widgets(self):
        copy, stats = student.student_version(self.make())
        assert [source(c) for c in copy.cells] == ["print('hello')", "answer = ...\ncheck('00.x', answer)", "slider"]
        assert copy.cells[0].outputs == [self.stream] and copy.cells[0].execution_count == 1
        assert copy.cells[1].outputs == [] and copy.cells[1].execution_count is None
        assert copy.cells[2].outputs == []
        assert (stats.solutions_removed, stats.exercises_cleared, stats.widget_outputs_cleared) == (2, 1, 1)
        assert copy.metadata["course"] == {"title": "99 · Test"} and "widgets" not in copy.metadata
        nbformat.validate(copy)

    def test_original_is_not_modified(self):
        nb = self.make()
        before = nbformat.writes(nb)
        student.student_version(nb)
        assert nbformat.writes(nb) == before

    def test_clear_all_clears_teaching_outputs_too(self):
        copy, stats = student.student_version(self.make(), clear_all=True)
        assert all(c.outputs == [] for c in copy.cells if c.cell_type == "code")
        assert stats.other_outputs_cleared == 1

    def test_cell_both_exercise_and_solution_is_rejected(self):
        cell = _code("answer = 1", "exercise")
        cell.metadata["tags"].append("solution")
        with pytest.raises(ValueError, match="both 'exercise' and 'solution'"):
            student.student_version(_notebook([cell]))

    def test_bad_input(self, tmp_path):
        with pytest.raises(TypeError, match="nbformat"):
            student.student_version({"cells": []})
        with pytest.raises(FileNotFoundError, match="no such notebook"):
            student.build([tmp_path / "missing.ipynb"], tmp_path)
        with pytest.raises(ValueError, match="inside lessons/"):
            student.build(None, ROOT / "lessons" / "student")

    def test_cli_builds_one_lesson_and_reports(self, tmp_path, capsys):
        assert student.main([str(LESSONS[0]), "--out", str(tmp_path)]) == 0
        assert (tmp_path / "lessons" / LESSONS[0].name).is_file()
        assert "solution(s) removed" in capsys.readouterr().out
        assert student.main(["no_such.ipynb", "--out", str(tmp_path)]) == 2

    def test_full_build_removes_stale_copies(self, tmp_path):
        stale = tmp_path / "lessons" / "99_gone.ipynb"
        stale.parent.mkdir(parents=True)
        stale.write_text("{}")
        student.build(None, tmp_path, quiet=True)
        assert not stale.exists()
