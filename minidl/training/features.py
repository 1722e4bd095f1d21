"""Input features: the columns a network is fed instead of (x₁, x₂), TensorFlow Playground's seven.   Notebook 10

    x1 = x₁    x2 = x₂    x1^2 = x₁²    x2^2 = x₂²    x1*x2 = x₁ x₂    sin(x1) = sin x₁    sin(x2) = sin x₂

``input_features(x, names)`` stacks the named columns, in the given order, into (N, len(names)); the
first Linear layer then takes len(names) inputs. ``features_code(names)`` is the same as one Python
expression, for exported code.

Why features help: a model is linear in what it is fed. Fed (x₁, x₂, x₁², x₂²), one Linear layer draws

    w₁ x₁ + w₂ x₂ + w₃ x₁² + w₄ x₂² + b = 0,

an axis-aligned ellipse, a circle when w₃ = w₄: (x₁ − a)² + (x₂ − c)² = r² expands to exactly this.
So the disk problem needs no hidden layer at all; fed (x₁, x₂) alone it needs some, to bend a line.
With x₁x₂, xor is linear too: its classes are the signs of (x₁ − ½)(x₂ − ½) = x₁x₂ − ½x₁ − ½x₂ + ¼.
Features are a first layer chosen by hand; hidden layers learn theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from ..framework.checks import shape_text


class Feature(NamedTuple):
    """One input feature: its formula (for labels), its Python code of ``{x}``, and the column itself."""
    formula: str
    code: str                                # "{x}" stands for the (N, 2) input tensor's name
    column: Callable[[Tensor], Tensor]       # x (N, 2) -> (N,), the same ops as ``code``


FEATURES: dict[str, Feature] = {            # TensorFlow Playground's order
    "x1": Feature("x₁", "{x}[:, 0]", lambda x: x[:, 0]),
    "x2": Feature("x₂", "{x}[:, 1]", lambda x: x[:, 1]),
    "x1^2": Feature("x₁²", "{x}[:, 0] * {x}[:, 0]", lambda x: x[:, 0] * x[:, 0]),
    "x2^2": Feature("x₂²", "{x}[:, 1] * {x}[:, 1]", lambda x: x[:, 1] * x[:, 1]),
    "x1*x2": Feature("x₁x₂", "{x}[:, 0] * {x}[:, 1]", lambda x: x[:, 0] * x[:, 1]),
    "sin(x1)": Feature("sin x₁", "{x}[:, 0].sin()", lambda x: x[:, 0].sin()),
    "sin(x2)": Feature("sin x₂", "{x}[:, 1].sin()", lambda x: x[:, 1].sin()),
}
DEFAULT = ("x1", "x2")                      # the plain inputs: what every model without features is fed


def check_names(names: Sequence[str], where: str = "input_features") -> tuple[str, ...]:
    """names as a tuple if it is a non-empty sequence of distinct FEATURES names, else ValueError/TypeError."""
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise TypeError(f"{where}: names must be a list of feature names like ['x1', 'x2'], got {names!r}")
    if not names:
        raise ValueError(f"{where}: names must name at least one feature ({', '.join(FEATURES)}), got none")
    for name in names:
        if name not in FEATURES:
            raise ValueError(f"{where}: unknown feature {name!r}; valid names: {', '.join(FEATURES)}")
        if names.count(name) > 1:
            raise ValueError(f"{where}: feature {name!r} appears {names.count(name)} times in {list(names)}")
    return tuple(names)


def input_features(x: Tensor, names: Sequence[str] = DEFAULT) -> Tensor:
    """F[:, j] = FEATURES[names[j]](x),  x (N, 2) -> F (N, len(names)), in x's dtype."""
    names = check_names(names)
    if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != 2 or not x.is_floating_point():
        got = f"{shape_text(x)} {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"input_features: x must be a floating tensor of shape (N, 2), got {got}")
    return torch.stack([FEATURES[name].column(x) for name in names], dim=1)


def features_code(names: Sequence[str] = DEFAULT, x: str = "x") -> str:
    """The Python expression (one line) that input_features(x, names) computes, with ``x`` the input's name:
    ``f"x_train = {features_code(names, 'x_train')}"``. Run, it gives exactly the same tensor."""
    names = check_names(names, "features_code")
    if not isinstance(x, str) or not x.isidentifier():
        raise ValueError(f"features_code: x must be a Python name like 'x_train', got {x!r}")
    return f"torch.stack([{', '.join(FEATURES[name].code.format(x=x) for name in names)}], dim=1)"


__all__ = ["Feature", "FEATURES", "DEFAULT", "check_names", "input_features", "features_code"]
