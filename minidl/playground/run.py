"""One training run of the playground: its data, network, optimiser and History.   Notebook 10

``Data`` is the points the controls ask for (split, standardised, turned into the input features).
``Run`` holds what every run has (data, History, the batch order's generator) and answers what a
Frame asks (playground.state): the class probabilities, predictions, hidden units, gradient
norms. ``MinidlRun`` trains minidl's modules built from a Recipe (the one builder from names)
through ``minidl.fit``, the compiled step or the readable one; ``learner.LearnerRun`` trains a learner's own modules.

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
from ..training import data
from ..training import fast as compiled
from ..training.features import input_features
from ..training.history import History
from ..training.metrics import output_width, prepare_targets
from ..training.models import Recipe, build, build_scheduler
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
    classes: int = 2                   # k, for the data sets that take it (takes_classes); others have 2
    features: tuple[str, ...] = ("x1", "x2")     # training.features.FEATURES names: the network's inputs


def takes_classes(name: str) -> bool:
    """Whether data set ``name`` can draw k classes (data.CLASSES: gaussians, spiral)."""
    return name in data.CLASSES


@dataclass(frozen=True)
class Data:
    """The raw points (in the unit square) and what the network trains on.

    network input = input_features(standardise(raw), features): standardised first (mean and std of
    the training points), so that x1², x1·x2 and sin x1 are features of centred, unit-scale inputs
    (x1² of a raw x1 in [0, 1] would be nearly x1 itself); without standardisation, of the raw points.
    """

    raw: dict[str, torch.Tensor]                       # x_train, y_train, x_test, y_test
    train: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    transform: Callable[[torch.Tensor], torch.Tensor] | None     # raw points -> network inputs
    classes: int = 2

    @property
    def width(self) -> int:
        """The network's input width: one per feature."""
        return self.train[0].shape[1]

    @classmethod
    def make(cls, spec: DataSpec, csv: tuple[torch.Tensor, torch.Tensor] | None = None) -> Data:
        """The points of ``spec`` (csv: the uploaded points, used when spec.name is "your CSV")."""
        if spec.name == "your CSV" and csv is not None:
            x, y = csv
        else:
            more = {"classes": spec.classes} if takes_classes(spec.name) else {}
            x, y = data.make_dataset(spec.name, spec.points, noise=spec.noise, generator=spec.seed, **more)
        classes = max(2, int(y.max()) + 1) if spec.name == "your CSV" else \
            (spec.classes if takes_classes(spec.name) else 2)
        if not spec.features:
            raise ValueError("Data.make: expected at least one input feature, got none")
        xtr, ytr, xte, yte = data.train_test_split(x, y, spec.test_fraction, generator=spec.seed)
        if spec.standardize:
            _, _, mean, std = data.standardize(xtr, xte)
            scale = lambda p: (p - mean.to(p.dtype)) / std.to(p.dtype)   # noqa: E731
        else:
            scale = lambda p: p   # noqa: E731
        names = tuple(spec.features)
        plain = names == ("x1", "x2")
        transform = None if plain and not spec.standardize else \
            (scale if plain else (lambda p: input_features(scale(p), names)))
        inputs = transform or (lambda p: p)
        return cls({"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte},
                   (inputs(xtr), ytr), (inputs(xte), yte), transform, classes)

    def with_train(self, x: torch.Tensor, y: torch.Tensor) -> Data:
        """These data with other raw training points (edited by hand): the transform and k stay the same."""
        return Data({**self.raw, "x_train": x, "y_train": y},
                    (self.transform(x) if self.transform is not None else x, y), self.test, self.transform,
                    self.classes)


def probabilities(out: torch.Tensor, output: str) -> torch.Tensor:
    """Class probabilities (N, k) from network outputs (N, k).

    output="softmax" (cross-entropy): p = softmax(out).
    output="scores" (MSE on one-hot targets): p = the point of the probability simplex nearest the
    scores (their Euclidean projection, "sparsemax"): p_c = max(out_c − τ, 0) with τ such that
    Σ p_c = 1. MSE pulls the scores towards a one-hot vector, a corner of that simplex, so the
    nearest distribution is the natural reading; it keeps the arg-max (the predicted class), and
    for k = 2 it is clamp((out₁ − out₀ + 1) / 2, 0, 1), the map the playground has always drawn
    (viz.decision_grid's "scores").
    A row with a non-finite output (a network on its way to diverging) reads as 1/k for every class.
    """
    if output not in ("softmax", "scores"):
        raise ValueError(f"probabilities: output must be 'softmax' or 'scores', got {output!r}")
    if output == "softmax":
        p = torch.softmax(out, dim=1)
    else:
        z, _ = out.sort(dim=1, descending=True)
        j = torch.arange(1, out.shape[1] + 1, dtype=out.dtype)
        cumulative = z.cumsum(dim=1)
        support = (1 + j * z > cumulative).sum(dim=1, keepdim=True).clamp(min=1)   # classes with p > 0
        tau = (cumulative.gather(1, support - 1) - 1) / support.to(out.dtype)
        p = (out - tau).clamp(min=0)
    finite = torch.isfinite(p).all(dim=1, keepdim=True)
    return torch.where(finite, p, torch.full_like(p, 1.0 / out.shape[1]))

    def with_train(self, x: torch.Tensor, y: torch.Tensor) -> Data:
        """These data with other raw training points (edited by hand): the transform stays the same."""
        return Data({**self.raw, "x_train": x, "y_train": y},
                    (self.transform(x) if self.transform is not None else x, y), self.test, self.transform)


class Run:
    """Data + History + the generator of the batch order; the network is the subclass's."""

    output = "scores"          # how outputs become probabilities (run.probabilities): "scores" for MSE, else "softmax"

    def __init__(self, d: Data, seed: int):
        self.data = d
        self.history = History()
        self.generator = torch.Generator().manual_seed(seed)
        self.slicer = Slicer(self.generator, time.perf_counter)
        self.points = {k: (d.raw[f"x_{k}"].numpy(), d.raw[f"y_{k}"].numpy()) for k in ("train", "test")}
        self.classes = d.classes

    @property
    def epoch(self) -> int:
        return self.history.epoch[-1] if self.history.epoch else 0

    def train(self, batch_size: int, *, epochs: int | None = None, until: float | None = None,
              stop: Callable[[History], bool] | None = None) -> str | None:
        """``epochs`` whole epochs (one if neither is given; an epoch in progress is finished first),
        or batches until ``slicer.clock()`` passes ``until`` (at least one batch; the epoch may go on
        in the next call); ``stop(history)``, asked after every epoch, ends it early when True.
        Returns a message if training diverged, else None."""
        count = epochs if epochs is not None else (10**9 if until is not None else 1)
        loop = self.loop
        if stop is not None:
            def loop(step: Any, size: int, n: int, callbacks: list) -> History:
                return self.loop(step, size, n, [*callbacks, lambda _e, h, _m: "stop" if stop(h) else None])
        live = self.hyperparameters()
        self.slicer.train(loop, self.training_step(), batch_size, count, until)
        if self.history.diverged is None:         # run() clears it when it starts, sets it on a divergence
            return None
        self.set_hyperparameters(live)            # the epoch's snapshot was taken before the sliders last moved
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

    def hyperparameters(self) -> Any:
        """The optimizer's settings now (lr, momentum, L1, L2, as the sliders set them live), or None.

        A divergence restores the snapshot taken when the epoch started, which may be older than a
        slider moved mid-epoch (a slice ends inside an epoch, Pause, the slider, Play): train() puts
        these back after it, so the optimizer goes on with what the controls show."""
        return None

    def set_hyperparameters(self, settings: Any) -> None:
        """Put back what hyperparameters() returned."""
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
        """Network outputs (N, k) for network inputs, in eval mode."""
        raise NotImplementedError

    def hidden_inputs(self, x: torch.Tensor, layers: int) -> list[torch.Tensor]:
        raise NotImplementedError

    def gradient_norms(self) -> list[float] | None:
        raise NotImplementedError

    def weights(self) -> list[np.ndarray] | None:
        """The (out, in) weight matrix of every Linear layer, first to last (the network diagram), or None."""
        return None

    # -- what a Frame asks (state.Network) --------------------------------------------------------
    def inputs(self, raw: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(raw).to(self.dtype)
        return self.data.transform(x) if self.data.transform is not None else x

    def boundary(self, resolution: int) -> np.ndarray:
        """(resolution, resolution, k) class probabilities at the pixel centres of [0, 1]², row = y."""
        centres = (np.arange(resolution) + 0.5) / resolution
        xx, yy = np.meshgrid(centres, centres)
        grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
        p = probabilities(self.forward(self.inputs(grid)), self.output)
        return p.numpy().astype(float).reshape(resolution, resolution, -1)

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
    """minidl's modules from a Recipe, trained by minidl.fit (compiled step unless ``readable``).

    The Recipe's schedule (models.build_scheduler) is stepped once per recorded epoch by the loop,
    as fit(scheduler=) does. The lr slider sets the schedule's base lr: base_lr ← v, and the lr in
    force is multiplied by v / old base_lr, which is what the schedule gives this epoch for the new
    base (step and cosine to η_min = 0 are both proportional to base_lr). L2 and L1 rates apply to the
    optimizer's param_groups ("weight_decay", "l1"), read at every step like the lr.
    """

    def __init__(self, d: Data, recipe: Recipe, *, readable: bool = False):
        super().__init__(d, recipe.seed or 0)
        self.recipe = recipe
        self.model, self.criterion, self.optim = build(recipe)
        self.scheduler = build_scheduler(recipe, self.optim)       # None: a constant lr
        self.changed_live: set[str] = set()                       # what a control changed after epoch 0
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
                   history=self.history, check_finite=True, model=self.model, where="Playground",
                   scheduler=self.scheduler)

    @property
    def lr(self) -> float:
        """The lr in force (the schedule's for this epoch)."""
        return float(self.optim.lr)

    def hyperparameters(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in g.items() if k != "params"} for g in self.optim.param_groups]

    def set_hyperparameters(self, settings: list[dict[str, Any]]) -> None:
        for group, kept in zip(self.optim.param_groups, settings, strict=True):
            group.update(kept)

    @property
    def base_lr(self) -> float:
        """The lr slider's value: the schedule's base lr, or the constant lr."""
        return float(self.scheduler.base_lrs[0]) if self.scheduler is not None else self.lr

    def set_lr(self, lr: float) -> bool:
        """The base lr from now on (see the class docstring for a schedule)."""
        if lr != self.base_lr and self.epoch > 0:
            self.changed_live.add("lr")
        if self.scheduler is None:
            self.optim.lr = lr
            return True
        old = self.base_lr
        self.optim.lr = self.optim.lr * lr / old if old > 0 else lr
        self.scheduler.base_lrs = [lr for _ in self.scheduler.base_lrs]
        return True

    def set_regularisation(self, l2: float, l1: float) -> bool:
        """L2 (weight_decay) and L1 rates from the next step on."""
        group = self.optim.param_groups[0]
        if self.epoch > 0:
            self.changed_live |= {n for n, old, new in (("L2", group["weight_decay"], l2), ("L1", group["l1"], l1))
                                  if old != new}
        for group in self.optim.param_groups:
            group["weight_decay"], group["l1"] = float(l2), float(l1)
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

    def weights(self) -> list[np.ndarray]:
        return [m.weight.data.numpy() for m in self.model.modules() if isinstance(m, Linear)]
