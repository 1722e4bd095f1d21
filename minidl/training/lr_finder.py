"""lr_range_test: the learning-rate range test (Smith 2017; fast.ai's lr_find).     Notebook 19

Train for ``steps`` mini-batches while the learning rate grows geometrically from ``start`` to
``end``; watch the loss fall, flatten, then blow up; pick a learning rate a little before the blow-up.
The model and the optimizer are put back exactly as they were: the test only looks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..framework.checks import as_generator, finite_number, int_at_least, positive_int
from ..framework.losses import Loss
from ..framework.module import Module
from .data import batch_order
from .metrics import check_model_and_loss, check_pair, first_non_finite_row, output_width, prepare_targets
from .train import ReadableStep

__all__ = ["lr_range_test", "lr_schedule", "LRRangeTest"]


def lr_schedule(start: float, end: float, steps: int) -> list[float]:
    """lr_k = start · (end / start)^(k / (steps − 1)),  k = 0 … steps − 1: equal steps on a log axis.

    lr_0 = start, lr_{steps−1} = end, and each lr is the previous one times (end / start)^(1 / (steps − 1)).
    """
    where = "lr_schedule"
    start = finite_number(start, "start", where)
    end = finite_number(end, "end", where)
    int_at_least(steps, "steps", where, minimum=2)
    if start <= 0:
        raise ValueError(f"{where}: start must be > 0, got {start!r}")
    if end <= start:
        raise ValueError(f"{where}: end must be > start={start:g}, got {end!r}")
    return [start * (end / start) ** (k / (steps - 1)) for k in range(steps)]


@dataclass
class LRRangeTest:
    """What the range test saw, one entry per step taken.

    lrs[k]: the learning rate of step k;  raw[k]: the loss of its batch, measured before the step;
    losses[k]: the smoothed, bias-corrected loss  s_k = a_k / (1 − β^(k+1)),  a_k = β a_{k−1} + (1 − β) raw[k].
    best_lr: the lr where ``losses`` is lowest;  suggested = best_lr / 10 (see lr_range_test);
    stopped: why the test ended early ("diverged ..."), or None if it tried every lr.
    """

    lrs: list[float]
    losses: list[float]
    raw: list[float]
    best_lr: float
    suggested: float
    stopped: str | None

    @property
    def steepest(self) -> float:
        """lr_k for argmin_k (s_{k+1} − s_{k−1}) / (ln lr_{k+1} − ln lr_{k−1}): where the smoothed loss falls fastest.

        fast.ai's other suggestion; it reads a slope off a noisy curve, so it jumps between runs more than best_lr / 10.
        """
        if len(self.lrs) < 3:
            raise ValueError(f"LRRangeTest.steepest: needs at least 3 steps, the test took {len(self.lrs)}")
        slopes = [(self.losses[k + 1] - self.losses[k - 1]) / math.log(self.lrs[k + 1] / self.lrs[k - 1])
                  for k in range(1, len(self.lrs) - 1)]
        return self.lrs[1 + min(range(len(slopes)), key=slopes.__getitem__)]

    def __repr__(self) -> str:
        end = self.stopped or f"tried all {len(self.lrs)} lrs"
        return (f"LRRangeTest({len(self.lrs)} steps, lr {self.lrs[0]:.3g} .. {self.lrs[-1]:.3g}; lowest smoothed "
                f"loss {min(self.losses):.4g} at lr {self.best_lr:.3g}; suggested lr {self.suggested:.3g}; {end})")


def lr_range_test(model: Module, criterion: Loss, optimizer: Any, train: tuple[Tensor, Tensor], *,
                  start: float = 1e-5, end: float = 10.0, steps: int = 100, batch_size: int = 100,
                  smooth: float = 0.98, diverge: float = 4.0,
                  generator: torch.Generator | int | None = None) -> LRRangeTest:
    """Step k trains one mini-batch at lr_k = start · (end / start)^(k / (steps − 1)); returns an LRRangeTest.

    Loss: raw[k], the batch loss before step k's update (the step ReadableStep takes), smoothed by an
    exponential moving average a_k = β a_{k−1} + (1 − β) raw[k] (β = ``smooth``, a₀ = 0) and divided by
    1 − β^(k+1): the average starts at 0, so without the division it would begin (1 − β) raw[0], 50 times too
    low for β = 0.98. Stop: after recording a smoothed loss above ``diverge`` × the lowest so far, or a batch
    loss that is not finite. Batches: shuffled epochs of ``train`` (``data.batch_order``), one after another.

    Suggested lr = best_lr / 10, one decade below the lowest smoothed loss. At best_lr the loss has stopped
    falling : it is the edge of what works, not a
    good place to train. A decade lower the loss is still on its way down, and training there is stable.
    (The steepest-slope point, ``.steepest``, is fast.ai's other rule; it depends on a noisy slope.)

    Every group of the optimizer gets lr_k. Afterwards the model's state_dict (parameters, and buffers such
    as running statistics), the gradients, the optimizer's state and hyperparameters and every module's
    train/eval mode are restored bit for bit, also if a step raises: the test does not train the model you
    go on to train. Checked before any step: the arguments and the data (shapes, label range, finite values).
    """
    lrs, beta, factor, (x, target), g = _arguments(   # every check, before anything changes
        model, criterion, optimizer, train, start, end, steps, batch_size, smooth, diverge, generator)

    step = ReadableStep(model, criterion, optimizer)
    saved = step.snapshot()                                  # parameters, optimizer state and hyperparameters
    grads = [p.grad.clone() for p in model.parameters()]
    modes = [(m, m.training) for m in model.modules()]
    raw: list[float] = []
    losses: list[float] = []
    stopped, avg, best, order = None, 0.0, math.inf, []
    try:
        step.train()
        for k, lr in enumerate(lrs):
            if not order:                                    # a new shuffled epoch
                order = batch_order(len(x), batch_size, True, g)
            rows = order.pop(0)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = float(step.step(x[rows], target[rows]))
            if not math.isfinite(loss):
                stopped = f"diverged at lr {lr:.3g}: the batch loss became {loss}"
                break
            avg = beta * avg + (1 - beta) * loss
            smoothed = avg / (1 - beta ** (k + 1))           # bias correction: a_k / (1 − β^(k+1))
            raw.append(loss)
            losses.append(smoothed)
            best = min(best, smoothed)
            if smoothed > factor * best:
                stopped = f"diverged at lr {lr:.3g}: smoothed loss {smoothed:.3g} > {factor:g} × lowest {best:.3g}"
                break
    finally:
        step.restore(saved)
        for p, grad in zip(model.parameters(), grads, strict=True):
            p.grad.copy_(grad)
        for m, mode in modes:
            m.training = mode
    if not losses:
        raise RuntimeError(f"lr_range_test: the first batch loss was not finite at lr {lrs[0]:g}; "
                           f"the model's initial outputs are already out of range")
    tried = lrs[:len(losses)]
    best_lr = tried[min(range(len(losses)), key=losses.__getitem__)]
    return LRRangeTest(tried, losses, raw, best_lr, best_lr / 10, stopped)


def _arguments(model: Any, criterion: Any, optimizer: Any, train: Any, start: Any, end: Any, steps: Any,
               batch_size: Any, smooth: Any, diverge: Any, generator: Any) -> tuple:
    """lr_range_test's checks, all before any step: (lrs, β, diverge, (x, targets), generator)."""
    where = "lr_range_test"
    check_model_and_loss(model, criterion, where)
    if not callable(getattr(optimizer, "step", None)) or not hasattr(optimizer, "param_groups") \
            or not callable(getattr(optimizer, "load_state_dict", None)):
        raise TypeError(f"{where}: optimizer must be a minidl Optimizer (param_groups, step, state_dict), "
                        f"got {type(optimizer).__name__}")
    try:
        lrs = lr_schedule(start, end, steps)
    except (TypeError, ValueError) as e:
        raise type(e)(str(e).replace("lr_schedule", where, 1)) from None
    positive_int(batch_size, "batch_size", where)
    beta = finite_number(smooth, "smooth", where)
    if not 0 <= beta < 1:
        raise ValueError(f"{where}: smooth must be in [0, 1), got {smooth!r}")
    factor = finite_number(diverge, "diverge", where)
    if factor <= 1:
        raise ValueError(f"{where}: diverge must be > 1 (a multiple of the lowest loss), got {diverge!r}")
    x, y = check_pair(train, f"{where} train")
    target, _, _ = prepare_targets(criterion, y, output_width(model, x, where), x.dtype, where)
    for name, t in (("x", x), ("targets", target)):
        row = first_non_finite_row(t)
        if row is not None:
            raise ValueError(f"{where}: train {name} row {row} is not finite")
    return lrs, beta, factor, (x, target), as_generator(generator, where)
