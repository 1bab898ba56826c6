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
