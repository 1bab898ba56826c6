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


def read_tsv(name: str, columns=None):
    """A tab-separated file in ``data/`` as a ``pandas.DataFrame`` of strings.

    ``#`` lines are comments and the first other line is the header; ``columns`` (optional) is the header you
    expect, so a file that changed shape fails here with its name rather than later with a KeyError.
    """
    import pandas as pd

    lines = read_lines(name)
    if not lines:
        raise CourseValueError(f"data/{name} has no header line")
    header = lines[0].split("\t")
    if columns is not None and header != list(columns):
        raise CourseValueError(f"data/{name} has columns {header}, expected {list(columns)}")
    rows = [line.split("\t") for line in lines[1:]]
    bad = [i for i, row in enumerate(rows, start=2) if len(row) != len(header)]
    if bad:
        raise CourseValueError(f"data/{name}: data lines {bad[:5]} do not have {len(header)} tab-separated cells")
    return pd.DataFrame(rows, columns=header)
