"""Files in the course's ``data/`` folder, found from the package, so any working directory works."""

from __future__ import annotations

from pathlib import Path

from .errors import CourseValueError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def data_path(name: str) -> Path:
    """Path of ``data/<name>``; raises with the list of available files when it does not exist."""
    path = DATA_DIR / name
    if not path.is_file():
        available = sorted(p.name for p in DATA_DIR.iterdir() if p.is_file() and p.name != "README.md")
        raise CourseValueError(f"No data file {name!r} in data/. Available: {available}")
    return path


def read_lines(name: str) -> list[str]:
    """Non-empty, non-comment (``#``) lines of a text file in ``data/``, stripped."""
    lines = data_path(name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
