"""Render the English / 中文 glossary page (docs/glossary.md) from data/glossary.csv.

    .venv/bin/python tools/glossary.py          # rewrite docs/glossary.md
    .venv/bin/python tools/glossary.py --check  # exit 1 if docs/glossary.md is stale or the CSV has problems

Both print every problem found (tests/test_glossary.py runs the same checks).

data/glossary.csv has one row per term: ``term, chinese, definition, lesson``. Terms are lower case except proper
names (BERT, WordPiece, Transformer) and bracketed tokens ([CLS]); ``chinese`` may give alternatives separated by
`` / `` (the first is the preferred one); ``lesson`` is the stem of the lesson that introduces the term.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSV_PATH = ROOT / "data" / "glossary.csv"
PAGE_PATH = ROOT / "docs" / "glossary.md"
COLUMNS = ["term", "chinese", "definition", "lesson"]
# The course's planned lessons: the CSV may name one of these before its notebook lands in lessons/.
PLANNED_LESSONS = ("00_setup_check", "01_tokenization", "02_special_tokens", "03_attention_masks",
                   "04_model_outputs", "05_layer_depth", "06_pretraining_mlm")
# Capitalised words allowed in a term; anything else must be lower case, an acronym (MLM) or a [TOKEN].
PROPER_NAMES = {"BERT-Base", "BERT-Large", "Transformer", "WordPiece"}
MAX_DEFINITION = 200
CJK = re.compile(r"[\u4e00-\u9fff]")


def read_rows(path: Path = CSV_PATH) -> list[dict[str, str]]:
    """The CSV's rows as dicts; raises ValueError when the header is not exactly ``term,chinese,definition,lesson``."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"{path.name}: header must be {','.join(COLUMNS)}, got {reader.fieldnames}")
        return [dict(row) for row in reader]


def chinese_options(cell: str) -> list[str]:
    """``"词元 / 标记"`` -> ``["词元", "标记"]``."""
    return [part.strip() for part in cell.split(" / ") if part.strip()]


def lesson_stems() -> list[str]:
    """Stems of the notebooks now in lessons/ (``00_setup_check``, …)."""
    return sorted(p.stem for p in (ROOT / "lessons").glob("*.ipynb"))


def lesson_courses() -> dict[str, dict]:
    """``{stem: metadata.course}`` for every lesson notebook now in lessons/."""
    courses = {}
    for path in sorted((ROOT / "lessons").glob("*.ipynb")):
        courses[path.stem] = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("course", {})
    return courses


def lesson_markdown(stem: str) -> str:
    nb = json.loads((ROOT / "lessons" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def _term_case_ok(term: str) -> bool:
    for word in term.split():
        if word == word.lower() or word in PROPER_NAMES or re.fullmatch(r"\[[A-Z]+\]|[A-Z]{2,}", word):
            continue
        return False
    return True


def lesson_rule(stem: str, existing: list[str]) -> str | None:
    """Why ``stem`` is not an acceptable ``lesson`` value, or None.

    Accepted: a lesson now in lessons/, or a planned lesson whose NUMBER has not landed yet. Once any notebook with
    that number exists, only its real stem is accepted, so a renamed lesson cannot leave the glossary pointing at a
    file that will never exist.
    """
    if stem in existing:
        return None
    by_number = {s[:2]: s for s in existing}
    if stem in PLANNED_LESSONS:
        if stem[:2] in by_number:
            return f"lesson {stem!r} has landed as {by_number[stem[:2]]!r}: use that name"
        return None
    return f"lesson {stem!r} is neither in lessons/ nor one of the planned lessons {PLANNED_LESSONS}"


def check_rows(rows: list[dict[str, str]], existing: list[str]) -> list[str]:
    """Problems in the CSV rows themselves (empty or multi-line cells, duplicates, case, Chinese, lesson names)."""
    problems, seen = [], {}
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        where = f"line {number} ({row.get('term')!r})"
        for column in COLUMNS:
            value = row.get(column)
            if value is None or not value.strip():
                problems.append(f"{where}: empty {column}")
            elif value != value.strip() or "\n" in value or "\r" in value:
                problems.append(f"{where}: {column} has surrounding spaces or a line break")
        term = (row.get("term") or "").strip()
        if not term:
            continue
        if term_key(term) in seen:
            problems.append(f"{where}: duplicate of line {seen[term_key(term)]}")
        seen.setdefault(term_key(term), number)
        if not _term_case_ok(term):
            problems.append(f"{where}: use lower case except proper names {sorted(PROPER_NAMES)}, acronyms, [TOKENS]")
        if "|" in term or "|" in (row.get("chinese") or ""):
            problems.append(f"{where}: '|' would break the markdown table")
        if row.get("chinese") and not CJK.search(row["chinese"]):
            problems.append(f"{where}: the chinese column has no Chinese characters")
        if len(row.get("definition") or "") > MAX_DEFINITION:
            problems.append(f"{where}: definition longer than {MAX_DEFINITION} characters; one short line")
        if row.get("lesson"):
            reason = lesson_rule(row["lesson"], existing)
            if reason:
                problems.append(f"{where}: {reason}")
    return problems


def chinese_in_markdown(term: str, markdown: str) -> list[str]:
    """The Chinese renderings a lesson gives for ``term``: ``term (中文)`` in prose or a ``| term | 中文 |`` row."""
    # Separators may differ between the metadata and the prose: "input ids" finds "input_ids" and "input ids".
    name = r"[\s_\-]*".join(re.escape(part) for part in re.split(r"[\s_\-]+", term.strip("`")) if part)
    found = re.findall(rf"(?<![\w\-]){name}`?\s*[（(]\s*([^)）]{{1,80}}?)\s*[)）]", markdown, flags=re.I)
    found += re.findall(rf"^\|\s*`?{name}`?\s*\|\s*([^|\n]+?)\s*\|", markdown, flags=re.I | re.M)
    # A rendering may wrap onto the next line or give alternatives "A / B": compare piece by piece.
    pieces = [part for text in found for part in chinese_options(" ".join(text.split()))]
    return [piece for piece in pieces if CJK.search(piece)]


def check_lessons(rows: list[dict[str, str]], courses: dict[str, dict], markdown: dict[str, str]) -> list[str]:
    """Problems between the CSV and the lessons' ``metadata.course.glossary`` and glossary text.

    - every term a lesson lists is in the CSV (ignoring case, separators and a plural -s, see :func:`term_key`);
    - the CSV's lesson for a term is not later than the first lesson that lists it;
    - the lesson gives the term's Chinese as ``term (中文)`` and it is one of the CSV's renderings.
    """
    by_term = {term_key(row["term"]): row for row in rows}
    problems = []
    for stem in sorted(courses):
        for term in courses[stem].get("glossary", []):
            key = term_key(term)
            # Singular and plural name the same entry ("special token" / "special tokens") unless both exist.
            row = by_term.get(key) or by_term.get(key + "s") or (by_term.get(key[:-1]) if key.endswith("s") else None)
            if row is None:
                problems.append(f"{stem}: glossary term {term!r} is not in data/glossary.csv; add a row")
                continue
            if row["lesson"][:2].isdigit() and row["lesson"][:2] > stem[:2]:
                problems.append(f"{stem}: lists {term!r}, but the CSV says {row['lesson']} introduces it; "
                                f"set its lesson to {stem} (or earlier)")
            text = markdown.get(stem, "")
            given = chinese_in_markdown(term, text) or chinese_in_markdown(row["term"], text)
            options = chinese_options(row["chinese"])
            if not given:
                problems.append(f"{stem}: glossary term {term!r} appears without its Chinese; write "
                                f"'{term} ({options[0]})' in the lesson's glossary line")
            elif not set(given) & set(options):
                problems.append(f"{stem}: {term!r} is given as {given} but the CSV says {options}; make them agree "
                                f"(one of the lesson's renderings must be among the CSV's)")
    return problems


def term_key(term: str) -> str:
    """Match terms ignoring case and separators: "input ids" = "input_ids", "pretraining" = "pre-training"."""
    return re.sub(r"[\s_\-]+", "", term.lower())


def sort_key(term: str) -> str:
    return term.lower().lstrip("[#").rstrip("]")


def _term_cell(term: str) -> str:
    # Code names and bracketed tokens read best as code (brackets would otherwise look like markdown links).
    return f"`{term}`" if ("_" in term or term.startswith("[")) else term


def _lesson_cell(stem: str) -> str:
    return f"[{stem}](../lessons/{stem}.ipynb)"


def render(rows: list[dict[str, str]]) -> str:
    lines = [
        "# Glossary · 术语表 (English / 中文)",
        "",
        "Generated from `data/glossary.csv` by `tools/glossary.py`: edit the CSV, then run "
        "`.venv/bin/python tools/glossary.py` (a test fails when this page is stale). Where a term has several Chinese "
        "renderings, the first is preferred and the lessons use one of them. Each term links to the lesson that "
        "introduces it.",
        "",
        "## A–Z",
        "",
        "| term | 中文 | definition | introduced in |",
        "|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: sort_key(r["term"])):
        definition = row["definition"].replace("|", "\\|")
        lines.append(f"| {_term_cell(row['term'])} | {row['chinese']} | {definition} | "
                     f"{_lesson_cell(row['lesson'])} |")
    lines += ["", "## By lesson", ""]
    by_lesson: dict[str, list[str]] = {}
    for row in rows:
        by_lesson.setdefault(row["lesson"], []).append(row["term"])
    for stem in sorted(by_lesson):
        terms = ", ".join(_term_cell(t) for t in sorted(by_lesson[stem], key=sort_key))
        lines.append(f"- {_lesson_cell(stem)}: {terms}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    rows = read_rows()
    courses = lesson_courses()
    problems = check_rows(rows, lesson_stems())
    problems += check_lessons(rows, courses, {stem: lesson_markdown(stem) for stem in courses})
    for problem in problems:
        print(f"[glossary] {problem}", file=sys.stderr)
    page = render(rows)
    if "--check" in argv:
        if problems:
            return 1
        current = PAGE_PATH.read_text(encoding="utf-8") if PAGE_PATH.exists() else ""
        return 0 if page == current else 1
    PAGE_PATH.parent.mkdir(exist_ok=True)
    PAGE_PATH.write_text(page, encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
