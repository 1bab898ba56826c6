"""Re-run lessons in fresh kernels and store their outputs, exactly as strict nbval will compare them.

    python3 course.py regen                      # every lesson
    python3 course.py regen lessons/01_*.ipynb   # some lessons
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbexec import notebook_client

ROOT = Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def regen(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = notebook_client(nb, str(path.parent))
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata.setdefault("language_info", {}).pop("version", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds


def main(args: list[str]) -> None:
    paths = [Path(a).resolve() for a in args] or sorted((ROOT / "lessons").glob("*.ipynb"))
    for path in paths:
        seconds = regen(path)
        print(f"[regen] {path.relative_to(ROOT)}: {seconds:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
