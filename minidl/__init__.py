"""minidl: a small deep-learning framework on PyTorch tensors, every backward written by hand."""

import importlib
from typing import Any

from . import data, init
from .activations import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .gradcheck import GradcheckError, GradcheckReport, gradcheck
from .history import History
from .layers import Dropout, Linear
from .losses import CrossEntropyLoss, Loss, MSELoss, NLLLoss
from .module import Module, Parameter, Sequential
from .optim import SGD, Adam, Optimizer
from .serialization import load, save
from .train import StopTraining, accuracy, build_mlp, evaluate, fit, predict

__version__ = "0.1.0"

__all__ = [
    "Module", "Parameter", "Sequential", "Linear", "Dropout",
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
    "Loss", "MSELoss", "NLLLoss", "CrossEntropyLoss",
    "Optimizer", "SGD", "Adam", "init", "data",
    "fit", "evaluate", "predict", "accuracy", "build_mlp", "History", "StopTraining",
    "gradcheck", "GradcheckReport", "GradcheckError", "save", "load",
    "viz", "reference", "playground", "exercises",
]

_LAZY = {"viz", "reference", "playground", "exercises", "show", "experiments"}   # matplotlib, widgets, torch.nn


def __getattr__(name: str) -> Any:
    """``minidl.viz`` etc. are imported on first use, so ``import minidl`` stays light."""
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'minidl' has no attribute {name!r}")
