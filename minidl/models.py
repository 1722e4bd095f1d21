"""build_mlp: the multilayer perceptrons of the course, by name.                Notebook 06

build_mlp() is the course network 2-25-25-25-2 with ReLU; the CLI, the playground and the
notebooks build their models with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from .activations import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .layers import Dropout, Linear
from .module import Module, Sequential

ACTIVATIONS: dict[str, type[Module]] = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid,
                                        "leaky_relu": LeakyReLU}
FINAL_ACTIVATIONS: dict[str, type[Module]] = {**ACTIVATIONS, "softmax": Softmax, "log_softmax": LogSoftmax}


def build_mlp(sizes: Iterable[int] = (2, 25, 25, 25, 2), activation: str | Callable[[], Module] = "relu",
              dropout: float = 0.0, final_activation: str | Callable[[], Module] | None = None, *,
              dtype: torch.dtype | None = None) -> Sequential:
    """Linear(s₀, s₁), act, [Dropout], ..., Linear(s_{k-1}, s_k) [, final activation].

    activation: "relu", "tanh", "sigmoid", "leaky_relu", or a Module class / factory
    (called once per layer, since each layer needs its own cache). The course network is
    the default: 2-25-25-25-2 with ReLU.
    """
    where = "build_mlp"
    sizes = list(sizes) if isinstance(sizes, Iterable) else sizes
    if not isinstance(sizes, list) or len(sizes) < 2 or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"{where}: sizes must be at least 2 positive ints like (2, 25, 2), got {sizes!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"{where}: dropout must be in [0, 1), got {dropout!r}")
    make = _factory(activation, ACTIVATIONS, "activation")
    final = None if final_activation is None else _factory(final_activation, FINAL_ACTIVATIONS,
                                                           "final_activation")
    model = Sequential()
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        model.append(Linear(fan_in, fan_out, dtype=dtype))
        if i < len(sizes) - 2:
            model.append(make())
            if dropout > 0:
                model.append(Dropout(dropout))
    if final is not None:
        model.append(final())
    return model


def _factory(value: Any, table: dict[str, type[Module]], name: str) -> Callable[[], Module]:
    where = "build_mlp"
    if isinstance(value, str):
        if value not in table:
            raise ValueError(f"{where}: unknown {name} {value!r}; valid names: {', '.join(table)}")
        return table[value]
    if isinstance(value, Module):
        raise TypeError(f"{where}: {name} must be a name or a Module class, not an instance "
                        f"({type(value).__name__}()); each layer needs its own")
    if not callable(value):
        raise TypeError(f"{where}: {name} must be a name ({', '.join(table)}) or a Module class, "
                        f"got {type(value).__name__}")

    def make() -> Module:
        m = value()
        if not isinstance(m, Module):
            raise TypeError(f"{where}: {name} factory must return a minidl Module, got {type(m).__name__}")
        return m
    return make
