"""The pip route (requirements.txt) and the conda/Binder route (environment.yml) must install the same packages."""

import re
from pathlib import Path

from utils.readiness import KERNEL_PACKAGES, pinned_versions

ROOT = Path(__file__).resolve().parent.parent


def conda_pip_pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^\s*-\s*([A-Za-z0-9_.\-]+)\s*==\s*(\S+)\s*$", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_environment_yml_pins_exactly_requirements():
    pip_pins = pinned_versions(ROOT / "requirements.txt")
    conda_pins = conda_pip_pins((ROOT / "environment.yml").read_text())
    assert conda_pins == pip_pins, {
        "only in requirements.txt": sorted(set(pip_pins.items()) - set(conda_pins.items())),
        "only in environment.yml": sorted(set(conda_pins.items()) - set(pip_pins.items())),
    }


def test_drift_detector_sees_a_changed_version():
    text = (ROOT / "environment.yml").read_text().replace("torch==2.13.0", "torch==2.12.0")
    assert conda_pip_pins(text) != pinned_versions(ROOT / "requirements.txt")


def test_every_requirement_is_pinned_exactly():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    loose = [line for line in lines if line and "==" not in line]
    assert not loose, f"pin these with ==: {loose}"


def test_torch_is_pinned():
    # An unpinned torch pulls a multi-GB CUDA build.
    assert pinned_versions(ROOT / "requirements.txt")["torch"] == "2.13.0"


def test_kernel_packages_are_all_pinned():
    assert set(KERNEL_PACKAGES) <= set(pinned_versions(ROOT / "requirements.txt"))


def test_environment_yml_uses_python_311():
    assert re.search(r"^\s*-\s*python=3\.11\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 course.py test" in readme
    assert "python3 course.py test" in ci
    assert "python3 course.py lab" in readme
