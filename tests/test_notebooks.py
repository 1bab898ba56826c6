"""Notebook conventions that strict nbval does not check (see CONTRIBUTING.md). New lessons are picked up."""

import json
import re
from pathlib import Path

import pytest

from utils.exercises import exercise_ids

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))
REQUIRED = {"title": str, "question": str, "minutes": dict, "prerequisites": list, "objectives": list,
            "keypoints": list, "glossary": list}
MACHINE_TEXT = re.compile(r"(/root/|/home/|/tmp/|/Users/|site-packages|\\\\Users|Error displaying widget|"
                          r"Loading weights)")
TOO_PRECISE = re.compile(r"(?<![\w.])-?\d+\.\d{4,}(?![\w.])")
CHECK_CALL = re.compile(r"check\(\s*[\"']([\w.]+)[\"']")
# Many learners read Chinese first: every lesson's question, objectives and keypoints exist in 中文 too.
REQUIRED_ZH = {"title_zh": "title", "question_zh": "question", "objectives_zh": "objectives",
               "keypoints_zh": "keypoints"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def text_of(output):
    return "".join(output.get("text", [])) + "".join(output.get("data", {}).get("text/plain", [])) + \
        "".join(output.get("data", {}).get("text/html", []))


def ignored(cell):
    return "NBVAL_IGNORE_OUTPUT" in "".join(cell["source"])


def test_there_are_lessons():
    assert LESSONS and LESSONS[0].name == "00_setup_check.ipynb"


def test_lesson_file_names_are_numbered_uniquely():
    numbers = [p.name[:2] for p in LESSONS]
    assert all(n.isdigit() for n in numbers) and len(set(numbers)) == len(numbers), [p.name for p in LESSONS]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
class TestLesson:
    def test_metadata(self, path):
        meta = load(path)["metadata"]
        assert meta["kernelspec"]["name"] == "python3"
        assert "widgets" not in meta, "saved widget state: regenerate with `python3 course.py regen`"
        course = meta.get("course", {})
        for key, kind in REQUIRED.items():
            assert isinstance(course.get(key), kind), f"metadata.course.{key} missing or not a {kind.__name__}"
        assert course["title"].startswith(path.name[:2]), "title starts with the lesson number"
        assert set(course["minutes"]) == {"teaching", "exercises"}
        assert all(isinstance(v, int) and v > 0 for v in course["minutes"].values())
        assert 3 <= len(course["objectives"]) <= 5, "3–5 objectives"
        assert course["keypoints"] and course["glossary"]

    def test_executed_in_one_fresh_run(self, path):
        counts = [c["execution_count"] for c in code_cells(load(path))]
        assert counts == list(range(1, len(counts) + 1)), "re-run with `python3 course.py regen`"

    def test_first_code_cell_is_the_setup_cell(self, path):
        source = "".join(code_cells(load(path))[0]["source"])
        assert "setup()" in source and "from utils import" in source

    def test_outputs_are_clean(self, path):
        for i, cell in enumerate(code_cells(load(path))):
            source = "".join(cell["source"])
            assert not source.rstrip().endswith(";"), f"code cell {i} ends with ';' (nbval shows it anyway)"
            for output in cell.get("outputs", []):
                assert output["output_type"] != "error", f"code cell {i} stored an error"
                assert output.get("name") != "stderr", f"code cell {i} wrote to stderr: silence it in code"
                text = text_of(output)
                found = MACHINE_TEXT.search(text)
                assert not found, f"code cell {i}: machine-specific text {found}"
                if not ignored(cell):
                    match = TOO_PRECISE.search(text)
                    assert not match, f"code cell {i} prints {match.group(0)}: round to ≤3 decimals"

    def test_exercises_have_hidden_solutions_calling_registered_checkers(self, path):
        cells = load(path)["cells"]
        known = set(exercise_ids())
        exercises = [c for c in cells if "exercise" in c["metadata"].get("tags", [])]
        solutions = [c for c in cells if "solution" in c["metadata"].get("tags", [])]
        assert exercises, "each lesson has at least one exercise"
        assert len(exercises) == len(solutions)
        for ex, sol in zip(exercises, solutions):
            ex_ids = CHECK_CALL.findall("".join(ex["source"]))
            sol_ids = CHECK_CALL.findall("".join(sol["source"]))
            assert ex_ids and ex_ids == sol_ids, "solution calls the same checker as its exercise"
            assert set(ex_ids) <= known, f"unregistered checker id {set(ex_ids) - known}"
            assert "..." in "".join(ex["source"]), "exercise cell leaves `...` for the learner"
            hidden = sol["metadata"].get("jupyter", {})
            assert hidden.get("source_hidden") is True, "solution source is collapsed until the learner opens it"
            assert hidden.get("outputs_hidden") is True, "solution output (the ✅ verdict) is hidden until opened"
            assert cells.index(sol) > cells.index(ex)
            outs = "".join(text_of(o) for o in sol.get("outputs", []))
            assert "✅" in outs, "the stored solution output shows the checker accepting it"

    def test_objectives_and_summary_are_bilingual(self, path):
        nb = load(path)
        course = nb["metadata"]["course"]
        for key, english in REQUIRED_ZH.items():
            value = course.get(key)
            assert value and type(value) is type(course[english]), f"metadata.course.{key} missing"
            assert all(CJK.search(item) for item in (value if isinstance(value, list) else [value])), key
            if isinstance(value, list):
                assert len(value) == len(course[english]), f"{key} has one entry per {english}"
        assert course["title_zh"].startswith(path.name[:2])
        title_cell = "".join(nb["cells"][0]["source"])
        assert course["question_zh"] in title_cell, "the title cell asks the question in 中文 too"
        assert "本课你将" in title_cell, "the title cell lists the objectives in 中文 too"
        summary = next("".join(c["source"]) for c in nb["cells"]
                       if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("## Summary"))
        assert "小结" in summary, "the summary cell is titled in both languages"
        zh_bullets = [line for line in summary.splitlines() if line.startswith("- ") and CJK.search(line)]
        assert len(zh_bullets) >= 3, "the summary cell has its keypoints in 中文"

    def test_claims_are_checked_in_code(self, path):
        sources = "".join("".join(c["source"]) for c in code_cells(load(path)))
        assert "assert" in sources, "a lesson proves its claims with assert / torch.testing.assert_close"


def test_readme_lesson_map_is_generated_from_metadata():
    import subprocess
    import sys

    stale = subprocess.call([sys.executable, str(ROOT / "tools" / "lesson_map.py"), "--check"])
    assert stale == 0, "README lesson map is stale: run `.venv/bin/python tools/lesson_map.py`"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in LESSONS:
        course = load(path)["metadata"]["course"]
        assert path.name in readme, f"README lesson map lacks {path.name}"
        for key in ("title", "title_zh"):
            assert course[key] in readme, f"README lesson map lacks the title {course[key]!r}"
