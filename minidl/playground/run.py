"""One training run of the playground: its data, network, optimiser and History.   Notebook 10

``Data`` is the points the controls ask for (split, standardised). ``Run`` holds what every run
has (data, History, the batch order's generator) and answers what a Frame asks (playground.state):
the boundary, predictions, hidden units, gradient norms. ``MinidlRun`` trains minidl's modules
built from a Recipe (the one builder from names) through ``minidl.fit``, the compiled step or
the readable one; ``learner.LearnerRun`` trains a learner's own modules.

Training goes in slices: ``train(until=t)`` runs whole epochs until the clock passes t (one
fit() call, stopped by a callback), so the per-call work of fit is paid once a slice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..framework.layers import Linear
from ..framework.module import Module, evaluating
from ..framework.optim import SGD
from ..tools.viz import decision_grid
from ..training import data
from ..training import fast as compiled
from ..training.history import History
from ..training.models import Recipe, build
from ..training.train import fit


@dataclass(frozen=True)
class DataSpec:
    """What the Data controls say."""

    name: str = "disk"                 # a data.DATASETS name, or "your CSV"
    points: int = 1000
    noise: float = 0.0
    test_fraction: float = 0.5
    seed: int = 0
    standardize: bool = True


@dataclass(frozen=True)
class Data:
    """The raw points (in the unit square) and what the network trains on (standardised or not)."""

    raw: dict[str, torch.Tensor]                       # x_train, y_train, x_test, y_test
    train: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    transform: Callable[[torch.Tensor], torch.Tensor] | None     # raw points -> network inputs

    @classmethod
    def make(cls, spec: DataSpec, csv: tuple[torch.Tensor, torch.Tensor] | None = None) -> Data:
        """The points of ``spec`` (csv: the uploaded points, used when spec.name is "your CSV")."""
        if spec.name == "your CSV" and csv is not None:
            x, y = csv
        else:
            x, y = data.make_dataset(spec.name, spec.points, noise=spec.noise, generator=spec.seed)
        xtr, ytr, xte, yte = data.train_test_split(x, y, spec.test_fraction, generator=spec.seed)
        transform = None
        if spec.standardize:
            xtr_in, xte_in, mean, std = data.standardize(xtr, xte)
            transform = lambda p: (p - mean.to(p.dtype)) / std.to(p.dtype)   # noqa: E731
        else:
            xtr_in, xte_in = xtr, xte
        return cls({"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte},
                   (xtr_in, ytr), (xte_in, yte), transform)


class Run:
    """Data + History + the generator of the batch order; the network is the subclass's."""

    output = "scores"          # how outputs become P(class 1) (viz.decision_grid): "scores" for MSE, else "softmax"

    def __init__(self, d: Data, seed: int):
        self.data = d
        self.history = History()
        self.generator = torch.Generator().manual_seed(seed)
        self.points = {k: (d.raw[f"x_{k}"].numpy(), d.raw[f"y_{k}"].numpy()) for k in ("train", "test")}

    @property
    def epoch(self) -> int:
        return self.history.epoch[-1] if self.history.epoch else 0

    def train(self, batch_size: int, *, epochs: int | None = None, until: float | None = None) -> str | None:
        """Whole epochs: ``epochs`` of them, or until time.perf_counter() passes ``until`` (at least
        one; one if neither is given). Returns a message if training diverged, else None."""
        count = epochs if epochs is not None else (10**9 if until is not None else 1)
        stop = [] if until is None else [lambda *_: "stop" if time.perf_counter() >= until else None]
        if not self.fit(batch_size, count, stop).diverged:
            return None
        return (f"diverged at epoch {self.epoch + 1} — lower the learning rate (lr={self.lr:.3g}){self.advice}, "
                f"then Play again or Reset")

    # -- what the subclass provides ---------------------------------------------------------------
    dtype = torch.float32
    advice = ""                # added to the divergence message

    def fit(self, batch_size: int, epochs: int, callbacks: list) -> History:
        """Train ``epochs`` epochs (callbacks may stop it early) through minidl's training loop."""
        raise NotImplementedError

    @property
    def lr(self) -> float:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network outputs (N, 2) for network inputs, in eval mode."""
        raise NotImplementedError

    def hidden_inputs(self, x: torch.Tensor, layers: int) -> list[torch.Tensor]:
        raise NotImplementedError

    def gradient_norms(self) -> list[float] | None:
        raise NotImplementedError

    # -- what a Frame asks (state.Network) --------------------------------------------------------
    def inputs(self, raw: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(raw).to(self.dtype)
        return self.data.transform(x) if self.data.transform is not None else x

    def boundary(self, resolution: int) -> np.ndarray:
        return decision_grid(self.forward, (0, 1, 0, 1), resolution, self.output, self.inputs)[2]

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return self.forward(self.inputs(raw)).argmax(dim=1).numpy()

    def hidden(self, raw: np.ndarray, layers: int) -> list[torch.Tensor]:
        return self.hidden_inputs(self.inputs(raw), layers)


def hidden_outputs(layers: list[Any], x: torch.Tensor, count: int, is_linear: Callable[[Any], bool]
                   ) -> list[torch.Tensor]:
    """The outputs of the activations right after the first ``count`` hidden Linear layers."""
    out, prev = [], None
    for m in layers[:-1]:
        x = m.forward(x)
        if prev is not None and is_linear(prev) and not is_linear(m):
            out.append(x)
            if len(out) == count:
                break
        prev = m
    return out


class MinidlRun(Run):
    """minidl's modules from a Recipe, trained by minidl.fit (compiled step unless ``readable``)."""

    def __init__(self, d: Data, recipe: Recipe, *, readable: bool = False):
        super().__init__(d, recipe.seed or 0)
        self.recipe = recipe
        self.model, self.criterion, self.optim = build(recipe)
        self.model: Module
        self.readable = readable
        self.output = "scores" if recipe.loss == "mse" else "softmax"
        self.dtype = self.model.parameters()[0].data.dtype

    @property
    def why_not_compiled(self) -> str | None:
        """None if fit runs the compiled step for this run, else why not."""
        return compiled.supports(self.model, self.criterion, self.optim)

    def fit(self, batch_size: int, epochs: int, callbacks: list) -> History:
        return fit(self.model, self.criterion, self.optim, self.data.train, self.data.test, epochs=epochs,
                   batch_size=batch_size, generator=self.generator, history=self.history, progress=False,
                   callbacks=callbacks, fast=not self.readable)

    @property
    def lr(self) -> float:
        return float(self.optim.lr)

    def set_lr(self, lr: float) -> bool:
        self.optim.lr = lr
        return True

    def set_momentum(self, momentum: float) -> bool:
        if isinstance(self.optim, SGD) and self.optim.param_groups[0]["momentum"] > 0:
            for group in self.optim.param_groups:
                group["momentum"] = max(momentum, 1e-3) if group["nesterov"] else momentum
        return True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with evaluating(self.model):
            return self.model(x)

    def hidden_inputs(self, x: torch.Tensor, layers: int) -> list[torch.Tensor]:
        with evaluating(self.model):
            return hidden_outputs(list(self.model), x, layers, lambda m: isinstance(m, Linear))

    def gradient_norms(self) -> list[float]:
        return [float(m.weight.grad.norm()) for m in self.model.modules() if isinstance(m, Linear)]
