"""minidl: a small deep-learning framework on PyTorch tensors, every backward written by hand.

The package has floors, and imports only go down (tests/unit/test_layers_of_the_package.py checks it):

    framework/   module, layers, normalization, activations, losses, optim, init, gradcheck, checks
    training/    data, features (x₁², sin x₁ ... as inputs), models (the builder from names), train (the step
                 and fit), fast (the compiled step), lr_finder, diagnostics, metrics, history, serialization
    tools/       viz, cli, exercises, show, graph
    playground/  app, controls, run, slices, learner, state, settings, views, export
    lab/         reference (the torch twin), experiments, report, sweep, build_checks

Every public name is here, imported from its one home; the heavy parts (matplotlib, widgets,
torch.nn) load on first use: ``md.viz``, ``md.playground``, ``md.reference`` ...
"""

import importlib
from typing import Any

from .framework import init, optim
from .framework.activations import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .framework.gradcheck import GradcheckError, GradcheckReport, gradcheck
from .framework.layers import Dropout, Linear
from .framework.losses import CrossEntropyLoss, Loss, MSELoss, NLLLoss
from .framework.module import Buffer, Module, Parameter, Sequential
from .framework.normalization import BatchNorm1d, LayerNorm
from .framework.optim import SGD, Adam, AdamW, Optimizer, RMSprop
from .training import data, fast, features
from .training.diagnostics import Diagnostics
from .training.features import input_features
from .training.history import History
from .training.lr_finder import LRRangeTest, lr_range_test
from .training.serialization import load, save
from .training.train import StopTraining, accuracy, build_mlp, evaluate, fit, predict

__version__ = "0.1.0"

__all__ = [
    "Module", "Parameter", "Buffer", "Sequential", "Linear", "Dropout", "BatchNorm1d", "LayerNorm",
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
    "Loss", "MSELoss", "NLLLoss", "CrossEntropyLoss",
    "Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "optim", "init", "data", "fast",
    "features", "input_features",
    "fit", "evaluate", "predict", "accuracy", "build_mlp", "History", "StopTraining", "Diagnostics",
    "lr_range_test", "LRRangeTest",
    "gradcheck", "GradcheckReport", "GradcheckError", "save", "load",
    "viz", "reference", "playground", "exercises", "graph",
]

# md.<name> -> the module, imported on first use (matplotlib, widgets, torch.nn stay unloaded until then)
_LAZY = {"viz": "minidl.tools.viz", "cli": "minidl.tools.cli", "exercises": "minidl.tools.exercises",
         "show": "minidl.tools.show", "graph": "minidl.tools.graph", "playground": "minidl.playground",
         "reference": "minidl.lab.reference", "experiments": "minidl.lab.experiments", "report": "minidl.lab.report"}


def __getattr__(name: str) -> Any:
    """``minidl.viz`` etc. are imported on first use, so ``import minidl`` stays light."""
    if name in _LAZY:
        return importlib.import_module(_LAZY[name])
    raise AttributeError(f"module 'minidl' has no attribute {name!r}")
