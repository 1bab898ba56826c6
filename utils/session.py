"""The one setup call at the top of every lesson: offline, quiet, deterministic, readable."""

from __future__ import annotations

import os
import random
import warnings

SEED = 0
_STATE = {"offline": True}


def is_offline() -> bool:
    """True while the course may not download anything (the default)."""
    return _STATE["offline"]


def set_offline(offline: bool = True) -> None:
    """Switch hub downloads off (default) or on, for this kernel only.

    We set the flag in-process rather than asking learners to export variables, so a notebook behaves the same
    wherever it is opened.
    """
    if not isinstance(offline, bool):
        raise TypeError(f"offline must be True or False, got {offline!r}")
    _STATE["offline"] = offline
    os.environ["HF_HUB_OFFLINE"] = "1" if offline else "0"
    try:  # huggingface_hub reads the variable once, at import time
        import huggingface_hub.constants as hub_constants

        hub_constants.HF_HUB_OFFLINE = offline
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        pass


def quiet_transformers() -> None:
    """Silence transformers' progress bars and warnings, which would otherwise land in notebook outputs."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:  # pragma: no cover
        pass
    # Hub and torch deprecation chatter says nothing to a learner and differs between versions.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(transformers|torch|huggingface_hub)\b")


def seed_everything(seed: int = SEED) -> None:
    """Seed Python, NumPy and torch so sampled examples are the same on every run."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# glibc's malloc raises its mmap threshold each time a large block is freed (up to 32 MiB), after which tensors of
# a few MiB come from the heap, whose freed holes are rarely given back: a kernel that runs the model on batches of
# different shapes keeps tens of MiB it no longer uses. Fixed thresholds keep blocks over 256 KiB in mmap, which
# returns them when freed. Measured (bench, peak RSS): every lesson 10-46 MiB lower, lesson 07 717 -> 690 MiB, no
# change in time. 128 KiB (glibc's start value) made lesson 06's training 1.8x slower: its per-step tensors of
# 128-256 KiB then cost a page fault each. tests/test_session.py checks the freed memory goes back.
_MALLOC_THRESHOLDS = {-3: 256 * 1024, -1: 1024 * 1024}  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD (malloc.h)


def return_freed_memory() -> bool:
    """Stop glibc's heap from keeping freed tensors (see the comment above). True where it applied (Linux/glibc);
    elsewhere (macOS, Windows, musl) it does nothing and returns False."""
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return all(libc.mallopt(option, value) == 1 for option, value in _MALLOC_THRESHOLDS.items())
    except (OSError, AttributeError):  # pragma: no cover - a libc without mallopt
        return False


def setup(*, offline: bool = True, seed: int = SEED) -> None:
    """Prepare a lesson: offline hub, quiet logging, seeds, 3-decimal printing, colour-blind-safe plots, and freed
    tensors given back to the system.

    Call it once in the first cell: ``setup()``. Pass ``offline=False`` only when you are online and want to
    download another checkpoint by name (e.g. ``load_model("bert-base-uncased")``).
    """
    import numpy as np
    import torch

    set_offline(offline)
    return_freed_memory()
    quiet_transformers()
    seed_everything(seed)
    # Printed numbers beyond 3 decimals differ between CPUs; lessons print at most 3.
    torch.set_printoptions(precision=3, sci_mode=False)
    np.set_printoptions(precision=3, suppress=True)
    try:
        import pandas as pd

        pd.set_option("display.precision", 3)
        pd.set_option("display.width", 120)
    except ImportError:  # pragma: no cover
        pass
    _plot_style()


# seaborn's set_theme(context="notebook", style="whitegrid", palette="colorblind"), as plain matplotlib settings:
# importing seaborn costs ~1 s (it imports scipy.stats), which lessons that draw no seaborn plot need not pay.
# tests/test_session.py checks that these equal what seaborn sets. One difference: image.cmap stays viridis
# (seaborn's "rocket" exists only once seaborn is imported; the course's helpers always name their colormap).
COLORBLIND = ["#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494", "#ece133",
              "#56b4e9"]
PLOT_STYLE = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.grid": True, "axes.labelcolor": ".15",
    "axes.labelsize": 12.0, "axes.linewidth": 1.25, "axes.titlesize": 12.0,
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "font.size": 12.0, "grid.color": ".8", "grid.linewidth": 1.0, "legend.fontsize": 11.0,
    "legend.title_fontsize": 12.0, "lines.solid_capstyle": "round", "patch.edgecolor": "w",
    "patch.force_edgecolor": True, "text.color": ".15",
    "xtick.bottom": False, "xtick.color": ".15", "xtick.labelsize": 11.0, "xtick.major.size": 6.0,
    "xtick.major.width": 1.25, "xtick.minor.size": 4.0, "xtick.minor.width": 1.0,
    "ytick.left": False, "ytick.color": ".15", "ytick.labelsize": 11.0, "ytick.major.size": 6.0,
    "ytick.major.width": 1.25, "ytick.minor.size": 4.0, "ytick.minor.width": 1.0,
    # A small dpi keeps committed notebooks small.
    "figure.dpi": 80, "figure.figsize": (6.4, 3.6), "savefig.dpi": 80,
}


def _plot_style() -> None:
    import matplotlib
    from cycler import cycler
    from matplotlib.colors import to_rgb

    matplotlib.rcParams.update(PLOT_STYLE)
    matplotlib.rcParams["axes.prop_cycle"] = cycler(color=[to_rgb(c) for c in COLORBLIND])
