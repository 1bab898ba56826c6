"""Shared fixtures: the course's model is loaded once per test process."""

import pytest

from utils import load_model, setup


@pytest.fixture(scope="session")
def bert():
    setup()
    return load_model()


@pytest.fixture(scope="session")
def tokenizer(bert):
    return bert.tokenizer


@pytest.fixture(scope="session")
def model(bert):
    return bert.model
