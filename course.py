#!/usr/bin/env python3
"""The course's two commands (standard library only, so it runs before anything is installed).

    python3 course.py lab     # create .venv if missing, then open JupyterLab on lessons/
    python3 course.py test    # create .venv if missing, then lint + unit tests + strict nbval + browser test

More:
    python3 course.py setup            # only create / update .venv
    python3 course.py regen [NB ...]   # re-run lessons in fresh kernels and store their outputs, as CI checks them
    python3 course.py student          # build student versions (no solutions) into build/student/
    python3 course.py bench            # measure lesson times, loader time, widget latency, memory
    python3 course.py site             # build the course as a static website into build/site/ (no execution)
    python3 course.py hub              # a workshop on one machine: JupyterHub, one account per learner (root)

Add ``--here`` to use the Python you run this with (e.g. a conda env made from environment.yml) instead of .venv.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".course-stamp"
MIN_PYTHON = (3, 10)
# What the tests run under: offline, so nothing can quietly reach a model hub.
TEST_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def say(message: str) -> None:
    print(f"[course] {message}", flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def run(cmd: list, env: dict | None = None, check: bool = True) -> int:
    merged = {**os.environ, **(env or {})}
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT, env=merged)
    if check and code != 0:
        sys.exit(code)
    return code


def ensure_env(here: bool) -> Path:
    """Return the Python to use, creating and filling .venv when it is missing or out of date."""
    if here:
        return Path(sys.executable)
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"[course] Python {sys.version.split()[0]} is too old: use Python 3.11 (3.10+ works).")
    python = venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == fingerprint():
        return python
    if not python.exists():
        say(f"creating {VENV.name}/ with {sys.executable}")
        run([sys.executable, "-m", "venv", VENV])
    say("installing the course's packages (pinned in requirements.txt; first time only)")
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", "requirements.txt"])
    # Editable install: lessons, tests and Binder all `import utils` without touching sys.path.
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "-e", "."])
    STAMP.write_text(fingerprint())
    say("environment ready")
    return python


def cmd_lab(python: Path, args: list[str]) -> None:
    say("starting JupyterLab; open lessons/00_setup_check.ipynb first (Ctrl+C twice to stop)")
    # Containers and classroom VMs often run as root, where JupyterLab refuses to start without this flag.
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    run([python, "-m", "jupyter", "lab", f"--ServerApp.root_dir={ROOT}",
         "--LabApp.default_url=/lab/tree/lessons/00_setup_check.ipynb", *as_root, *args], check=False)


def cmd_test(python: Path, args: list[str]) -> None:
    # The browser test needs Debian's Chromium; as root this installs it. Elsewhere the browser test is skipped
    # with a loud reason, except in CI, where a missing browser fails the run.
    if run([sys.executable, ROOT / "tools" / "ensure_browser.py"], check=False) != 0 and os.environ.get("CI"):
        sys.exit("[course] CI needs Chromium for the browser test and it could not be installed (see above)")
    say("lint: ruff over utils/, tests/, tools/ and the notebooks' code cells")
    run([python, "-m", "ruff", "check", "."])
    say("tests: unit tests + strict nbval over lessons/ + browser test")
    run([python, "-m", "pytest", "tests", "lessons", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", "tests/sanitize.cfg", "--nbval-cell-timeout=300",
         "-n", "2", "--dist", "loadfile", "-q", *args], env=TEST_ENV)


def cmd_tool(python: Path, script: str, args: list[str]) -> None:
    run([python, str(ROOT / "tools" / script), *args], env=TEST_ENV)


def main(argv: list[str]) -> None:
    here = "--here" in argv
    argv = [a for a in argv if a != "--here"]
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return
    command, rest = argv[0], argv[1:]
    commands = {
        "setup": lambda py: None,
        "lab": lambda py: cmd_lab(py, rest),
        "test": lambda py: cmd_test(py, rest),
        "regen": lambda py: cmd_tool(py, "regen.py", rest),
        "student": lambda py: cmd_tool(py, "student.py", rest),
        "bench": lambda py: cmd_tool(py, "bench.py", rest),
        "site": lambda py: cmd_tool(py, "site.py", rest),
        "hub": lambda py: cmd_tool(py, "hub.py", rest),
    }
    if command not in commands:
        sys.exit(f"[course] unknown command {command!r}; try: {', '.join(commands)}")
    commands[command](ensure_env(here))


if __name__ == "__main__":
    main(sys.argv[1:])
