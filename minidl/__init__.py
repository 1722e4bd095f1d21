"""minidl: a small deep-learning framework on PyTorch tensors, every backward written by hand."""

from . import init
from .activations import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .gradcheck import GradcheckError, GradcheckReport, gradcheck
from .layers import Dropout, Linear
from .losses import CrossEntropyLoss, Loss, MSELoss, NLLLoss
from .module import Module, Parameter, Sequential
from .optim import SGD, Adam, Optimizer
from .serialization import load, save

__version__ = "0.1.0"

__all__ = [
    "Module", "Parameter", "Sequential", "Linear", "Dropout",
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
    "Loss", "MSELoss", "NLLLoss", "CrossEntropyLoss",
    "Optimizer", "SGD", "Adam", "init",
    "gradcheck", "GradcheckReport", "GradcheckError", "save", "load",
]
