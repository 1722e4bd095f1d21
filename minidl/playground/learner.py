"""A learner's own framework in the playground: ``Playground(framework=my_framework)``.   Notebooks 13, 10

The learner's classes follow the course protocol (EE-559; notebook 13, minidl.lab.build_checks):
``forward(*input)``; ``backward(*gradwrtoutput)`` returning dL/dinput; ``param()`` a list of
[value, gradient] pairs, gradients accumulated (``+=``); ``zero_grad()``. A loss has
``forward(prediction, target)`` and ``backward()``; ``SGD(pairs, lr, momentum=...)`` has ``step()``
and ``zero_grad()``. The playground builds ``Sequential(Linear, act, ..., Linear)`` from them and
trains it with the readable step, written out in ``LearnerRun.train``:

    loss = criterion.forward(model.forward(xb), tb)
    optimizer.zero_grad();  model.backward(criterion.backward());  optimizer.step()

It runs in minidl's one training loop (training.train.run, as fit does), so a loss or a parameter
that is not finite at the end of an epoch undoes that epoch and pauses training with a message;
an exception in the learner's code goes to the app's message and log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType, SimpleNamespace
from typing import Any

import torch

from ..training import data
from ..training.history import History
from ..training.train import run
from .run import Data, Run, hidden_outputs

REQUIRED = ("Linear", "Sequential", "SGD")
ACTIVATIONS = {"ReLU": "ReLU", "Tanh": "Tanh", "Sigmoid": "Sigmoid", "LeakyReLU": "LeakyReLU"}  # shown -> class
LOSSES = {"MSE": "MSE", "cross-entropy": "CrossEntropy"}                                       # shown -> class


@dataclass(frozen=True)
class Framework:
    """A learner's classes, checked once: which activations and losses it offers."""

    classes: Any                   # the module (or namespace) holding them
    name: str                      # how the exported code imports it
    activations: tuple[str, ...]   # shown names (playground.app's), those the learner wrote
    losses: tuple[str, ...]

    @classmethod
    def of(cls, namespace: Any) -> Framework:
        """Check ``namespace`` (a module, a SimpleNamespace or a dict of classes); a one-line TypeError
        names what is missing."""
        if isinstance(namespace, dict):
            namespace = SimpleNamespace(**namespace)
        name = namespace.__name__ if isinstance(namespace, ModuleType) else "my_framework"

        def has(c: str) -> bool:
            return isinstance(getattr(namespace, c, None), type)
        acts = tuple(k for k, c in ACTIVATIONS.items() if has(c))
        losses = tuple(k for k, c in LOSSES.items() if has(c))
        missing = [c for c in REQUIRED if not has(c)]
        missing += [] if acts else ["an activation (ReLU, Tanh or Sigmoid)"]
        missing += [] if losses else ["a loss (MSE or CrossEntropy)"]
        if missing:
            raise TypeError(f"Playground(framework={name}): expected classes Linear, Sequential, SGD, an activation "
                            f"and a loss; missing {', '.join(missing)}")
        return cls(namespace, name, acts, losses)


class LearnerStep:
    """One training step with the learner's classes: what minidl's loop (training.train.run) repeats.

    It answers the loop's questions as training.train.ReadableStep does for minidl's modules:
    ``step``, ``train``, ``measure``, ``snapshot``/``restore`` (values, and the optimizer's tensors
    such as momentum buffers), ``finite`` and ``lr``.
    """

    kind = "yours"

    def __init__(self, model: Any, criterion: Any, eval_criterion: Any, optimizer: Any, pairs: list[list[Any]]):
        self.model, self.criterion, self.eval_criterion, self.optimizer = model, criterion, eval_criterion, optimizer
        self.values = [value for value, _ in pairs]

    def step(self, xb: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
        loss = self.criterion.forward(self.model.forward(xb), tb)
        self.optimizer.zero_grad()
        self.model.backward(self.criterion.backward())
        self.optimizer.step()
        return torch.as_tensor(loss)

    def train(self) -> None:
        """The learner's modules have no train/eval modes (no Dropout)."""

    def measure(self, x: torch.Tensor, target: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
        out = self.model.forward(x)
        loss = float(self.eval_criterion.forward(out, target))
        return loss, float((out.argmax(dim=1) != labels).sum()) / max(len(labels), 1)

    def snapshot(self) -> Any:
        state = {k: _clone(v) for k, v in vars(self.optimizer).items() if _clone(v) is not None}
        return [v.clone() for v in self.values], state

    def restore(self, snapshot: Any) -> None:
        values, state = snapshot
        for value, old in zip(self.values, values, strict=True):
            value.copy_(old)
        for k, v in state.items():
            setattr(self.optimizer, k, v)

    def finite(self, losses: torch.Tensor) -> bool:
        return bool(torch.isfinite(losses).all()) and all(bool(torch.isfinite(v).all()) for v in self.values)

    @property
    def lr(self) -> float:
        return float(getattr(self.optimizer, "lr", math.nan))


def _clone(v: Any) -> Any:
    """A copy of an optimizer attribute holding state (a tensor, or a list of tensors / None), else None."""
    if isinstance(v, torch.Tensor):
        return v.clone()
    if isinstance(v, list) and v and all(t is None or isinstance(t, torch.Tensor) for t in v):
        return [None if t is None else t.clone() for t in v]
    return None


class LearnerRun(Run):
    """The learner's Sequential of Linear + activation layers, their loss and SGD, trained readably."""

    advice = " or check your backward"

    def __init__(self, d: Data, fw: Framework, sizes: tuple[int, ...], activation: str, loss: str,
                 lr: float, momentum: float, seed: int):
        super().__init__(d, seed)
        F = fw.classes
        self.fw, self.sizes, self.activation, self.loss = fw, tuple(sizes), activation, loss
        torch.manual_seed(seed)                                 # the learner's Linear draws its own weights
        self._build(F, sizes, activation, loss, lr, momentum)
        self.dtype = self.pairs[0][0].dtype if self.pairs else torch.float32
        self.output = "scores" if loss == "MSE" else "softmax"
        (x, y), (tx, ty) = d.train, d.test
        self.x, self.tx = x.to(self.dtype), tx.to(self.dtype)
        self.labels, self.test_labels = y, ty
        k = self.sizes[-1]                                      # one output per class
        self.t = data.one_hot(y, k, dtype=self.dtype) if loss == "MSE" else y       # what the loss compares with
        self.tt = data.one_hot(ty, k, dtype=self.dtype) if loss == "MSE" else ty
        self.step = LearnerStep(self.model, self.criterion, self.eval_criterion, self.optim, self.pairs)

    def _build(self, F: Any, sizes: tuple[int, ...], activation: str, loss: str, lr: float, momentum: float) -> None:
        self.layers: list[Any] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            self.layers.append(F.Linear(fan_in, fan_out))
            if i < len(sizes) - 2:
                self.layers.append(getattr(F, ACTIVATIONS[activation])())
        self.model = F.Sequential(*self.layers)
        self.criterion, self.eval_criterion = (getattr(F, LOSSES[loss])() for _ in range(2))
        self.optim = F.SGD(self.model.param(), lr, momentum=momentum)
        self.pairs = [list(pair) for pair in self.model.param()]

    def _is_linear(self, m: Any) -> bool:
        return isinstance(m, self.fw.classes.Linear)

    def training_step(self) -> LearnerStep:
        return self.step

    def loop(self, step: Any, batch_size: int, epochs: int, callbacks: list) -> History:
        """minidl's one training loop (training.train.run, as fit uses it) with the learner's step."""
        return run(step, (self.x, self.t, self.labels), (self.tx, self.tt, self.test_labels),
                   epochs=epochs, batch_size=batch_size, shuffle=True, generator=self.generator,
                   callbacks=callbacks, progress=False, log=None, log_every=1, history=self.history,
                   check_finite=True, model=self.model, where=f"Playground(framework={self.fw.name})")

    @property
    def lr(self) -> float:
        return self.step.lr

    def set_lr(self, lr: float) -> bool:
        """False if the learner's SGD keeps its rate under another name (it then applies at Reset)."""
        if not hasattr(self.optim, "lr"):
            return False
        self.optim.lr = lr
        return True

    def set_momentum(self, momentum: float) -> bool:
        if not hasattr(self.optim, "momentum"):
            return False
        self.optim.momentum = momentum
        return True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward(x.to(self.dtype))

    def hidden_inputs(self, x: torch.Tensor, layers: int) -> list[torch.Tensor]:
        return hidden_outputs(self.layers, x.to(self.dtype), layers, self._is_linear)

    def gradient_norms(self) -> list[float] | None:
        """‖∂L/∂W‖ of each Linear from its first param() pair (nan if it has none)."""
        norms = []
        for m in self.layers:
            if self._is_linear(m):
                pairs = m.param()
                norms.append(float(torch.as_tensor(pairs[0][1]).norm()) if pairs else math.nan)
        return norms

    def weights(self) -> list[Any] | None:
        """Each Linear's first param() value as (out, in) (transposed if the learner keeps (in, out)), or None
        if one has no parameters or another shape."""
        out = []
        linears = [m for m in self.layers if self._is_linear(m)]
        for m, (fan_in, fan_out) in zip(linears, zip(self.sizes[:-1], self.sizes[1:], strict=True), strict=True):
            pairs = m.param()
            w = torch.as_tensor(pairs[0][0]) if pairs else torch.zeros(0)
            if tuple(w.shape) not in ((fan_out, fan_in), (fan_in, fan_out)):
                return None
            out.append((w if tuple(w.shape) == (fan_out, fan_in) else w.T).numpy())
        return out
