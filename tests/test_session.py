import os

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
