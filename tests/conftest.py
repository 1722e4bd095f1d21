"""Shared fixtures. Tests may use torch.autograd and torch.nn as oracles; the framework may not."""

import pathlib
import sys

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))    # tests/ helpers (twin.py)


@pytest.fixture
def no_grad():
    """Run the test body with autograd switched off globally, as the framework must work."""
    previous = torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    yield
    torch.set_grad_enabled(previous)
