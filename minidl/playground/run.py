"""One training run of the playground: its data, network, optimiser and History.   Notebook 10

``Data`` is the points the controls ask for (split, standardised). ``Run`` holds what every run
has (data, History, the batch order's generator) and answers what a Frame asks (playground.state):
the boundary, predictions, hidden units, gradient norms. ``MinidlRun`` trains minidl's modules
built from a Recipe (the one builder from names) through ``minidl.fit``, the compiled step or
the readable one; ``learner.LearnerRun`` trains a learner's own modules.

Training goes in slices: ``train(until=t)`` trains until the clock passes t, in minidl's one
loop (training.train.run, as fit runs it); a slice may end inside an epoch and the next one
finishes it (playground.slices), so a slice stays short whatever the data size.
"""

from __future__ import annotations

import copy
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
from ..training.metrics import output_width, prepare_targets
from ..training.models import Recipe, build
from ..training.train import describe_run, run, training_step
from .slices import Slicer


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

    def with_train(self, x: torch.Tensor, y: torch.Tensor) -> Data:
        """These data with other raw training points (edited by hand): the transform stays the same."""
        return Data({**self.raw, "x_train": x, "y_train": y},
                    (self.transform(x) if self.transform is not None else x, y), self.test, self.transform)


class Run:
    """Data + History + the generator of the batch order; the network is the subclass's."""

    output = "scores"          # how outputs become P(class 1) (viz.decision_grid): "scores" for MSE, else "softmax"

    def __init__(self, d: Data, seed: int):
        self.data = d
        self.history = History()
        self.generator = torch.Generator().manual_seed(seed)
        self.slicer = Slicer(self.generator, time.perf_counter)
        self.points = {k: (d.raw[f"x_{k}"].numpy(), d.raw[f"y_{k}"].numpy()) for k in ("train", "test")}

    @property
    def epoch(self) -> int:
        return self.history.epoch[-1] if self.history.epoch else 0

    def train(self, batch_size: int, *, epochs: int | None = None, until: float | None = None) -> str | None:
        """``epochs`` whole epochs (one if neither is given; an epoch in progress is finished first),
        or batches until ``slicer.clock()`` passes ``until`` (at least one batch; the epoch may go on
        in the next call). Returns a message if training diverged, else None."""
        count = epochs if epochs is not None else (10**9 if until is not None else 1)
        self.slicer.train(self.loop, self.training_step(), batch_size, count, until)
        if self.history.diverged is None:         # run() clears it when it starts, sets it on a divergence
            return None
        return (f"diverged at epoch {self.epoch + 1} — lower the learning rate (lr={self.lr:.3g}){self.advice}, "
                f"then Play again or Reset")

    def with_train(self, x: torch.Tensor, y: torch.Tensor) -> Run:
        """This run on other raw training points (edited by hand): the same network, optimizer, History
        and batch generator, the same transform; an epoch in progress starts again on the new points."""
        new = copy.copy(self)
        new.data = self.data.with_train(x, y)
        new.points = {**self.points, "train": (x.numpy(), y.numpy())}
        new.slicer = Slicer(self.generator, self.slicer.clock)
        new.use_train(*new.data.train)
        return new

    # -- what the subclass provides ---------------------------------------------------------------
    dtype = torch.float32
    advice = ""                # added to the divergence message

    def use_train(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Train on these network inputs and labels from now on (with_train)."""
        raise NotImplementedError(f"{type(self).__name__} cannot change its training points while it trains")

    def training_step(self) -> Any:
        """The step training.train.run repeats (what fit would choose)."""
        raise NotImplementedError

    def loop(self, step: Any, batch_size: int, epochs: int, callbacks: list) -> History:
        """training.train.run with this run's data and History (callbacks may stop it early)."""
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
        (x, y), (tx, ty) = d.train, d.test               # fit's targets, prepared once
        width = output_width(self.model, x)
        t, labels, _ = prepare_targets(self.criterion, y, width, x.dtype, "Playground")
        tt, test_labels, _ = prepare_targets(self.criterion, ty, width, x.dtype, "Playground (test set)")
        self.train_set, self.test_set = (x, t, labels), (tx, tt, test_labels)

    def use_train(self, x: torch.Tensor, y: torch.Tensor) -> None:
        t, labels, _ = prepare_targets(self.criterion, y, output_width(self.model, x), x.dtype, "Playground")
        self.train_set = (x, t, labels)

    @property
    def why_not_compiled(self) -> str | None:
        """None if fit runs the compiled step for this run, else why not."""
        return compiled.supports(self.model, self.criterion, self.optim)

    def training_step(self) -> Any:
        step = training_step(self.model, self.criterion, self.optim, not self.readable)
        self.history.config["step"] = step.kind
        return step

    def loop(self, step: Any, batch_size: int, epochs: int, callbacks: list) -> History:
        """What fit(model, criterion, optim, train, test, ...) runs, its checks done once in __init__."""
        describe_run(self.history.config, self.model, self.criterion, self.optim, batch_size=batch_size,
                     shuffle=True, n_train=len(self.train_set[0]), n_test=len(self.test_set[0]))
        return run(step, self.train_set, self.test_set, epochs=epochs, batch_size=batch_size, shuffle=True,
                   generator=self.generator, callbacks=callbacks, progress=False, log=None, log_every=1,
                   history=self.history, check_finite=True, model=self.model, where="Playground")

    @property
    def lr(self) -> float:
        return float(self.optim.lr)

    def set_lr(self, lr: float) -> bool:
        self.optim.lr = lr
        return True

    def set_momentum(self, momentum: float) -> bool:
        """The momentum of SGD from now on (the app calls it for Momentum and Nesterov only)."""
        if not isinstance(self.optim, SGD):
            return False
        for group in self.optim.param_groups:
            if group["nesterov"] and momentum == 0:
                raise ValueError(f"Playground: Nesterov needs momentum > 0, got {momentum}")
            group["momentum"] = float(momentum)
        return True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with evaluating(self.model):
            return self.model(x)

    def hidden_inputs(self, x: torch.Tensor, layers: int) -> list[torch.Tensor]:
        with evaluating(self.model):
            return hidden_outputs(list(self.model), x, layers, lambda m: isinstance(m, Linear))

    def gradient_norms(self) -> list[float]:
        return [float(m.weight.grad.norm()) for m in self.model.modules() if isinstance(m, Linear)]
