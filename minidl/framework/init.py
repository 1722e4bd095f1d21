"""Initialisers: the same draws as torch.nn.init under the same seed.          Notebook 08

Each function takes a Parameter or a tensor, fills it in place and returns it.
Variance argument (notebook 08): for y = W x with n_in inputs of variance v, Var(y) = n_in Var(W) v.
Keeping Var(y) = v forward needs Var(W) = 1/n_in; keeping gradients steady backward needs
1/n_out. Xavier takes the compromise 2/(n_in + n_out) (× gain²); Kaiming keeps the forward
variance through ReLU, which halves it: Var(W) = 2/n_in.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .module import Module, Parameter

NONLINEARITIES = ("linear", "identity", "conv1d", "sigmoid", "tanh", "relu", "leaky_relu", "selu")
SCHEMES = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
           "uniform", "normal", "zeros")


def _tensor(t: Parameter | Tensor, where: str) -> Tensor:
    if isinstance(t, Parameter):
        return t.data
    if isinstance(t, Tensor):
        return t
    raise TypeError(f"{where}: expected a Parameter or a tensor, got {type(t).__name__}")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that restores unit variance after a nonlinearity (torch's values)."""
    if nonlinearity in ("linear", "identity", "conv1d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; expected one of {NONLINEARITIES}")


def fan_in_and_fan_out(t: Parameter | Tensor) -> tuple[int, int]:
    """(inputs, outputs) of a weight of shape (out, in)."""
    w = _tensor(t, "fan_in_and_fan_out")
    if w.dim() < 2:
        raise ValueError(f"fan_in_and_fan_out: needs a weight with at least 2 dimensions, "
                         f"got shape {tuple(w.shape)}")
    receptive = w[0][0].numel() if w.dim() > 2 else 1
    return w.shape[1] * receptive, w.shape[0] * receptive


def uniform_(t: Parameter | Tensor, a: float = 0.0, b: float = 1.0,
             generator: torch.Generator | None = None) -> Tensor:
    """W ~ U(a, b)."""
    return _tensor(t, "uniform_").uniform_(a, b, generator=generator)


def normal_(t: Parameter | Tensor, mean: float = 0.0, std: float = 1.0,
            generator: torch.Generator | None = None) -> Tensor:
    """W ~ N(mean, std²)."""
    return _tensor(t, "normal_").normal_(mean, std, generator=generator)


def zeros_(t: Parameter | Tensor) -> Tensor:
    return _tensor(t, "zeros_").zero_()


def ones_(t: Parameter | Tensor) -> Tensor:
    return _tensor(t, "ones_").fill_(1.0)


def constant_(t: Parameter | Tensor, value: float) -> Tensor:
    return _tensor(t, "constant_").fill_(value)


def xavier_uniform_(t: Parameter | Tensor, gain: float = 1.0,
                    generator: torch.Generator | None = None) -> Tensor:
    """W ~ U(±a),  a = gain·√(6 / (n_in + n_out)),  so Var(W) = gain²·2/(n_in + n_out)."""
    fan_in, fan_out = fan_in_and_fan_out(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _tensor(t, "xavier_uniform_").uniform_(-a, a, generator=generator)


def xavier_normal_(t: Parameter | Tensor, gain: float = 1.0,
                   generator: torch.Generator | None = None) -> Tensor:
    """W ~ N(0, σ²),  σ = gain·√(2 / (n_in + n_out))."""
    fan_in, fan_out = fan_in_and_fan_out(t)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _tensor(t, "xavier_normal_").normal_(0.0, std, generator=generator)


def _kaiming_std(t: Parameter | Tensor, a: float, mode: str, nonlinearity: str, where: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{where}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(t)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(t: Parameter | Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator: torch.Generator | None = None) -> Tensor:
    """W ~ U(±b),  b = gain·√(3 / fan),  so Var(W) = gain²/fan  (ReLU: 2/n_in)."""
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity, "kaiming_uniform_")
    return _tensor(t, "kaiming_uniform_").uniform_(-bound, bound, generator=generator)


def kaiming_normal_(t: Parameter | Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: torch.Generator | None = None) -> Tensor:
    """W ~ N(0, gain²/fan)."""
    std = _kaiming_std(t, a, mode, nonlinearity, "kaiming_normal_")
    return _tensor(t, "kaiming_normal_").normal_(0.0, std, generator=generator)


def linear_default_(linear: Any) -> None:
    """torch.nn.Linear's default: W, b ~ U(±1/√n_in).                                 Notebook 08

    torch writes it as kaiming_uniform_(W, a=√5), whose bound √3·√(2/(1+5))/√n_in is 1/√n_in; the
    bound is computed here as 1/√n_in directly (the same float32 draws as torch.nn.Linear under the
    same seed; in float64 the bound may differ in its last bit). The one home of the default init:
    Linear.reset_parameters and initialize(model, "default") both call it.
    """
    bound = 1.0 / math.sqrt(linear.in_features)
    uniform_(linear.weight, -bound, bound)
    if linear.bias is not None:
        uniform_(linear.bias, -bound, bound)


def initialize(model: Module, scheme: str = "default", *, nonlinearity: str = "relu",
               scale: float | None = None) -> Module:
    """Re-initialise every Linear of a model with a named scheme (see SCHEMES).

    "xavier_*" / "kaiming_*" use the gain of ``nonlinearity`` and zero the biases;
    "uniform" draws weights AND biases from U[-scale, scale]; "normal" from N(0, scale²);
    "zeros" sets everything to 0 (every unit then stays identical: the classic failure).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"initialize: unknown scheme {scheme!r}; expected one of {SCHEMES}")
    if scheme in ("uniform", "normal") and (isinstance(scale, bool) or not isinstance(scale, (int, float))
                                            or not scale > 0):
        raise ValueError(f"initialize: scheme {scheme!r} needs scale > 0, got {scale!r}")
    gain = calculate_gain(nonlinearity)
    for m in model.modules():
        if not (isinstance(getattr(m, "weight", None), Parameter) and hasattr(m, "in_features")):
            continue                                  # a Linear-like layer: weight (out, in), optional bias
        tensors = [m.weight] + ([m.bias] if m.bias is not None else [])
        if scheme == "default":
            linear_default_(m)
        elif scheme == "uniform":
            for t in tensors:
                uniform_(t, -scale, scale)
        elif scheme == "normal":
            for t in tensors:
                normal_(t, 0.0, scale)
        elif scheme == "zeros":
            for t in tensors:
                zeros_(t)
        else:
            if scheme.startswith("xavier"):
                (xavier_uniform_ if scheme == "xavier_uniform" else xavier_normal_)(m.weight, gain)
            else:
                fill = kaiming_uniform_ if scheme == "kaiming_uniform" else kaiming_normal_
                fill(m.weight, nonlinearity=nonlinearity)
            if m.bias is not None:
                zeros_(m.bias)
    return model
