import os
import platform
import sys

import numpy as np
import pytest
import torch

from utils import setup
from utils.session import is_offline, set_offline


def test_setup_is_offline_and_seeded():
    setup()
    assert is_offline() and os.environ["HF_HUB_OFFLINE"] == "1"
    import huggingface_hub.constants as hub

    assert hub.HF_HUB_OFFLINE is True
    first = torch.rand(3)
    setup()
    torch.testing.assert_close(first, torch.rand(3))
    assert np.get_printoptions()["precision"] == 3


def test_setup_online_switch_and_back():
    setup(offline=False)
    try:
        assert not is_offline()
    finally:
        setup()
    assert is_offline()


def test_set_offline_type_checked():
    with pytest.raises(TypeError, match="True or False"):
        set_offline("yes")


def test_transformers_is_quiet():
    import transformers

    setup()
    assert transformers.logging.get_verbosity() == transformers.logging.ERROR
    assert not transformers.utils.logging.is_progress_bar_enabled()


def test_show_source_prints_code(capsys):
    from utils import show_source
    from utils.inputs import check_text

    show_source(check_text)
    assert "def check_text" in capsys.readouterr().out
    with pytest.raises(TypeError):
        show_source("check_text")


def test_data_path_lists_available_files():
    from utils import CourseValueError, data_path

    with pytest.raises(CourseValueError, match="Available"):
        data_path("no_such_file.txt")


def test_plot_style_is_seaborns_colorblind_whitegrid_theme():
    import matplotlib
    import seaborn as sns

    from utils.session import PLOT_STYLE, _plot_style

    try:
        matplotlib.rcdefaults()
        _plot_style()
        ours = dict(matplotlib.rcParams)
        matplotlib.rcdefaults()
        sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
        matplotlib.rcParams.update({k: PLOT_STYLE[k] for k in ("figure.dpi", "figure.figsize", "savefig.dpi")})
        seaborns = dict(matplotlib.rcParams)
    finally:
        matplotlib.rcdefaults()
        setup()
    different = {k for k in ours if ours[k] != seaborns[k]}
    assert different == {"image.cmap"}, different  # seaborn's "rocket" colormap exists only after importing it
    assert sns.color_palette() == sns.color_palette("colorblind")


def test_setup_does_not_import_seaborn():
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys; from utils import setup; setup(); print('seaborn' in sys.modules, 'scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.split() == ["False", "False"], out.stderr[-2000:]


# A kernel that frees a large tensor and then makes many medium ones: with glibc's dynamic threshold the medium
# ones land in the heap, and freeing all but the newest leaves them resident; after setup() they are mmapped and
# given back. The same script with and without setup(); only setup() differs.
_FRAGMENT = """
import re, sys
from utils.session import return_freed_memory
applied = return_freed_memory() if sys.argv[1] == "setup" else None
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read())[1]) // 1024
big = bytearray(16 * 2**20); del big  # freeing a 16 MiB mmapped block raises glibc's mmap threshold to 16 MiB
before = rss()
blocks = [bytearray(2**20) for _ in range(120)]  # 120 MiB in 1 MiB blocks, touched
del blocks[:-1]  # keep the newest, which pins the heap's top
print(applied, rss() - before)
"""


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_setup_gives_freed_tensors_back_to_the_system():
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    runs = {mode: subprocess.run([sys.executable, "-c", _FRAGMENT, mode], capture_output=True, text=True, timeout=60,
                                 cwd=root) for mode in ("plain", "setup")}
    kept = {mode: out.stdout.split() for mode, out in runs.items()}
    assert kept["setup"][0] == "True", runs["setup"].stderr[-2000:]
    assert int(kept["plain"][1]) > 100, kept  # without it, the freed 119 MiB stay resident
    assert int(kept["setup"][1]) < 10, kept  # with it, they are gone


def test_return_freed_memory_is_harmless_twice():
    from utils.session import return_freed_memory

    assert return_freed_memory() == return_freed_memory()
