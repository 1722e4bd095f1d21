"""build_mlp: the multilayer perceptrons of the course, by name.                Notebook 06

build_mlp() is the course network 2-25-25-25-2 with ReLU; the CLI, the playground and the
notebooks build their models with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..framework.activations import ACTIVATIONS, LogSoftmax, Softmax
from ..framework.checks import finite_number, positive_int
from ..framework.init import initialize
from ..framework.layers import Dropout, Linear
from ..framework.losses import CrossEntropyLoss, Loss, MSELoss
from ..framework.module import Module, Sequential
from ..framework.optim import SGD, Adam, CosineAnnealingLR, LRScheduler, Optimizer, StepLR

FINAL_ACTIVATIONS: dict[str, type[Module]] = {**ACTIVATIONS, "softmax": Softmax, "log_softmax": LogSoftmax}


def build_mlp(sizes: Iterable[int] = (2, 25, 25, 25, 2),
              activation: str | Sequence[str] | Callable[[], Module] = "relu",
              dropout: float = 0.0, final_activation: str | Callable[[], Module] | None = None, *,
              dtype: torch.dtype | None = None) -> Sequential:
    """Linear(s₀, s₁), act, [Dropout], ..., Linear(s_{k-1}, s_k) [, final activation].

    activation: "relu", "tanh", "sigmoid", "leaky_relu", a list of such names (one per hidden
    layer), or a Module class / factory (called once per layer, since each layer needs its own
    cache). The course network is the default: 2-25-25-25-2 with ReLU.
    """
    where = "build_mlp"
    sizes = list(sizes) if isinstance(sizes, Iterable) else sizes
    if not isinstance(sizes, list) or len(sizes) < 2 or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"{where}: sizes must be at least 2 positive ints like (2, 25, 2), got {sizes!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"{where}: dropout must be in [0, 1), got {dropout!r}")
    hidden = len(sizes) - 2
    if isinstance(activation, (list, tuple)):
        if len(activation) != hidden:
            raise ValueError(f"{where}: expected {hidden} activation names for sizes {tuple(sizes)}, "
                             f"got {len(activation)}: {tuple(activation)}")
        makers = [_factory(a, ACTIVATIONS, "activation") for a in activation]
    else:
        makers = [_factory(activation, ACTIVATIONS, "activation")] * hidden
    final = None if final_activation is None else _factory(final_activation, FINAL_ACTIVATIONS,
                                                           "final_activation")
    model = Sequential()
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        model.append(Linear(fan_in, fan_out, dtype=dtype))
        if i < len(sizes) - 2:
            model.append(makers[i]())
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


# -- the one builder from names: the CLI, the playground, the experiments and exported code ---------
LOSSES = ("mse", "ce")                 # MSE on one-hot targets; cross-entropy on class labels
OPTIMIZERS = ("sgd", "adam")           # SGD with momentum / Nesterov; Adam, betas (0.9, 0.999)
SCHEDULES = ("constant", "step", "cosine")   # the lr: fixed; StepLR(step_size, gamma); CosineAnnealingLR(t_max)


@dataclass(frozen=True)
class Recipe:
    """What to train, by name: the network, its initialisation, the loss, the optimizer and its schedule.

    ``activation`` is one name for every hidden layer or one name per hidden layer
    (``("relu", "relu", "tanh")``); ``init`` a minidl.init.SCHEMES name ("default": torch.nn.Linear's);
    ``seed``, if not None, is passed to torch.manual_seed just before the weights are drawn.
    ``sizes[-1]`` is the number of classes k. ``weight_decay`` λ₂ and ``l1`` λ₁ go to the optimizer
    (g ← ∇θ + λ₁ sign θ + λ₂ θ). ``schedule``: "constant", "step" (lr · gamma every ``step_size``
    epochs) or "cosine" (half a cosine down to 0 at epoch ``t_max``): build_scheduler.
    """

    sizes: tuple[int, ...] = (2, 25, 25, 25, 2)
    activation: str | tuple[str, ...] = "relu"
    dropout: float = 0.0
    init: str = "default"
    init_scale: float | None = None
    loss: str = "mse"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    nesterov: bool = False
    dtype: torch.dtype | None = None
    seed: int | None = None
    weight_decay: float = 0.0
    l1: float = 0.0
    schedule: str = "constant"
    step_size: int = 100
    gamma: float = 0.5
    t_max: int = 500

    @property
    def activations(self) -> tuple[str, ...]:
        """One activation name per hidden layer."""
        hidden = len(self.sizes) - 2
        return (self.activation,) * hidden if isinstance(self.activation, str) else tuple(self.activation)


def build(recipe: Recipe) -> tuple[Sequential, Loss, Optimizer]:
    """(model, criterion, optimizer) from a Recipe: the one place names become objects."""
    where = "build"
    if not isinstance(recipe, Recipe):
        raise TypeError(f"{where}: expected a Recipe, got {type(recipe).__name__}")
    acts = recipe.activations
    if len(acts) != len(recipe.sizes) - 2:
        raise ValueError(f"{where}: expected {len(recipe.sizes) - 2} hidden activations for sizes "
                         f"{tuple(recipe.sizes)}, got {len(acts)}: {acts}")
    if recipe.loss not in LOSSES:
        raise ValueError(f"{where}: unknown loss {recipe.loss!r}; valid names: {', '.join(LOSSES)}")
    if recipe.optimizer not in OPTIMIZERS:
        raise ValueError(f"{where}: unknown optimizer {recipe.optimizer!r}; valid names: {', '.join(OPTIMIZERS)}")
    finite_number(recipe.lr, "lr", where, low=0.0)
    finite_number(recipe.momentum, "momentum", where, 0.0, 1.0)
    _check_regularisation_and_schedule(recipe, where)
    if recipe.seed is not None:
        torch.manual_seed(recipe.seed)
    model = build_mlp(recipe.sizes, activation=acts, dropout=recipe.dropout, dtype=recipe.dtype)
    if recipe.init != "default":
        initialize(model, recipe.init, nonlinearity=acts[0] if acts else "linear", scale=recipe.init_scale)
    criterion: Loss = MSELoss() if recipe.loss == "mse" else CrossEntropyLoss()
    params = model.parameters()
    penalties = dict(weight_decay=recipe.weight_decay, l1=recipe.l1)
    optimizer: Optimizer = Adam(params, lr=recipe.lr, **penalties) if recipe.optimizer == "adam" else \
        SGD(params, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov, **penalties)
    return model, criterion, optimizer


def _check_regularisation_and_schedule(recipe: Recipe, where: str) -> None:
    """weight_decay, l1 >= 0; a known schedule; step_size, t_max positive ints; gamma > 0 (all checked)."""
    finite_number(recipe.weight_decay, "weight_decay", where, low=0.0)
    finite_number(recipe.l1, "l1", where, low=0.0)
    if recipe.schedule not in SCHEDULES:
        raise ValueError(f"{where}: unknown schedule {recipe.schedule!r}; valid names: {', '.join(SCHEDULES)}")
    positive_int(recipe.step_size, "step_size", where)
    positive_int(recipe.t_max, "t_max", where)
    if finite_number(recipe.gamma, "gamma", where) <= 0:
        raise ValueError(f"{where}: gamma must be a finite number > 0, got {recipe.gamma!r}")


def build_scheduler(recipe: Recipe, optimizer: Optimizer) -> LRScheduler | None:
    """The recipe's lr schedule on ``optimizer``: None ("constant"), StepLR(step_size, gamma) or
    CosineAnnealingLR(T_max=t_max); pass it to fit(..., scheduler=...), which steps it once per epoch."""
    where = "build_scheduler"
    if not isinstance(recipe, Recipe):
        raise TypeError(f"{where}: expected a Recipe, got {type(recipe).__name__}")
    _check_regularisation_and_schedule(recipe, where)
    if recipe.schedule == "constant":
        return None
    if recipe.schedule == "step":
        return StepLR(optimizer, step_size=recipe.step_size, gamma=recipe.gamma)
    return CosineAnnealingLR(optimizer, T_max=recipe.t_max)


def recipe_code(recipe: Recipe) -> str:
    """The minidl lines that build the same model, criterion, optimizer and, unless the schedule is constant,
    ``scheduler`` (for exported code; pass ``scheduler=scheduler`` to md.fit then)."""
    acts = recipe.activations
    act = acts[0] if len(set(acts)) == 1 else acts
    lines = [f"torch.manual_seed({recipe.seed})"] if recipe.seed is not None else []
    dtype = f", dtype=torch.{str(recipe.dtype).removeprefix('torch.')}" if recipe.dtype is not None else ""
    lines.append(f"model = md.build_mlp({tuple(recipe.sizes)}, activation={act!r}, "
                 f"dropout={recipe.dropout}{dtype})")
    if recipe.init != "default":
        lines.append(f"md.init.initialize(model, {recipe.init!r}, nonlinearity={acts[0] if acts else 'linear'!r}, "
                     f"scale={recipe.init_scale})")
    lines.append(f"criterion = md.{'MSELoss' if recipe.loss == 'mse' else 'CrossEntropyLoss'}()")
    penalties = "".join(f", {name}={value!r}" for name, value in (("weight_decay", recipe.weight_decay),
                                                                  ("l1", recipe.l1)) if value != 0)
    if recipe.optimizer == "adam":
        lines.append(f"optimizer = md.Adam(model.parameters(), lr={recipe.lr!r}{penalties})")
    else:
        lines.append(f"optimizer = md.SGD(model.parameters(), lr={recipe.lr!r}, momentum={recipe.momentum!r}, "
                     f"nesterov={recipe.nesterov}{penalties})")
    if recipe.schedule == "step":
        lines.append(f"scheduler = md.optim.StepLR(optimizer, step_size={recipe.step_size!r}, gamma={recipe.gamma!r})")
    elif recipe.schedule == "cosine":
        lines.append(f"scheduler = md.optim.CosineAnnealingLR(optimizer, T_max={recipe.t_max!r})")
    return "\n".join(lines) + "\n"
