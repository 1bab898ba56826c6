"""Rewrite the README's lesson map from the lessons' metadata (``metadata.course``).

    .venv/bin/python tools/lesson_map.py          # update README.md in place
    .venv/bin/python tools/lesson_map.py --check  # exit 1 if README.md is out of date (the tests do this too)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- lesson-map:begin -->", "<!-- lesson-map:end -->"


def lesson_map() -> str:
    rows = ["| # | notebook | title · 标题 | question it answers · 本课回答的问题 | minutes (teach / exercises) |",
            "|---|---|---|---|---|"]
    for path in sorted((ROOT / "lessons").glob("*.ipynb")):
        course = json.loads(path.read_text(encoding="utf-8"))["metadata"]["course"]
        minutes = course["minutes"]
        rows.append(f"| {path.name[:2]} | [{path.name}](lessons/{path.name}) | {course['title']}<br>"
                    f"{course['title_zh']} | {course['question']}<br>{course['question_zh']} | "
                    f"{minutes['teaching']} / {minutes['exercises']} |")
    return "\n".join(rows)


def updated_readme() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{lesson_map()}\n{END}{tail}"


if __name__ == "__main__":
    new = updated_readme()
    if "--check" in sys.argv:
        sys.exit(0 if new == (ROOT / "README.md").read_text(encoding="utf-8") else 1)
    (ROOT / "README.md").write_text(new, encoding="utf-8")
