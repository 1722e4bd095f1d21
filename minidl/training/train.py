"""fit(): the course's training loop, with History, divergence handling and a progress bar.  Notebook 10

(evaluate, predict, accuracy live in metrics.py and build_mlp in models.py; all are importable
from here.) One step is the protocol of the whole package, nothing hidden (ReadableStep):

    out = model(xb);  loss = criterion(out, tb)
    model.zero_grad();  model.backward_parameters(criterion.backward());  optimizer.step()

(backward_parameters: model.backward without its result, dL/dxb, which nobody needs.)

Fast by default. Where training/fast.py supports the model, criterion and optimizer (a
Linear/activation MLP, MSE or cross-entropy, SGD, RMSprop, Adam or AdamW), fit() runs that same step compiled
into preallocated buffers (CompiledStep), 3-5x faster on the course network; anything else
(Dropout, a learner's own module) runs the readable step. ``fit(..., fast=False)`` always runs
the readable one. Either way the loop is ``run()``, the only training loop in the package: the
torch twin (minidl.lab.reference.fit_twin) is the same loop with a torch.nn + autograd step.

Divergence. The hot loop never stops to look at a loss: each step's loss (a 0-d tensor) is
kept, and at the end of the epoch one check asks whether every loss and every parameter is
finite. If not, the model and the optimizer are restored to the snapshot taken at the
*start of that epoch* (parameters, optimizer state and hyperparameters), the diverging epoch
is not recorded, ``history.diverged`` says what happened, and fit() returns. It never raises
for a divergence, so a live session can lower the learning rate and call fit() again (the old
message then moves to ``history.notes``). ``check_finite=False`` skips the check and the
snapshot.

Schedules. ``fit(..., scheduler=md.optim.StepLR(opt, 30))``: ``scheduler.step()`` once after each
epoch's updates (torch's convention), so epoch e trains with the lr the schedule gives epoch e − 1
and ``history.lr`` records it. A diverged epoch does not step the schedule: the restored optimizer
and the schedule agree on the lr again, and the next fit() call goes on from there (a schedule, as
in torch, computes the next lr from the current one: lower ``optimizer.lr`` by hand and it follows).
"""

from __future__ import annotations

import copy
import sys
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from ..framework.checks import as_generator, positive_int
from ..framework.losses import Loss
from ..framework.module import Module
from ..framework.optim import LRScheduler
from . import fast as _fast
from .data import batch_order
from .history import History
from .metrics import (
    accuracy,
    check_model_and_loss,
    check_pair,
    evaluate,
    first_non_finite_row,
    measure,
    output_width,
    predict,
    prepare_targets,
)
from .models import build_mlp

__all__ = ["fit", "run", "training_step", "ReadableStep", "CompiledStep", "evaluate", "predict", "accuracy",
           "build_mlp", "log_line", "History", "StopTraining"]
Callback = Callable[[int, History, Module], Any]


class StopTraining(Exception):
    """Raise it in a callback (or return "stop") to end fit() cleanly after the current epoch."""


# -- the training step: the one thing fit() repeats ---------------------------------------------------
class ReadableStep:
    """The step a learner reads, module by module (fit(..., fast=False)):

        loss = criterion(model(xb), tb)         forward: every module caches what its backward needs
        model.zero_grad()
        model.backward_parameters(criterion.backward())    dL/dparameter accumulated (model.backward
        optimizer.step()                                   would also return dL/dxb, which nobody needs)

    Besides ``step`` the loop asks a step for: ``measure`` (loss and error rate in eval mode;
    optionally ``error``, the rate alone), ``snapshot`` / ``restore`` (for divergence), ``finite``
    and ``lr``. CompiledStep (below) and
    the torch twin's step (minidl.lab.reference) answer the same questions, so fit() has one loop.
    """

    kind = "readable"

    def __init__(self, model: Module, criterion: Loss, optimizer: Any):
        self.model, self.criterion, self.optimizer = model, criterion, optimizer
        self.params = [p.data for p in model.parameters()]

    def step(self, xb: Tensor, tb: Tensor) -> Tensor:
        """One training step on the batch (xb, tb); returns the batch loss (a 0-d tensor)."""
        loss = self.criterion(self.model(xb), tb)
        self.model.zero_grad()
        self.model.backward_parameters(self.criterion.backward())   # backward without dL/dxb (the data's)
        self.optimizer.step()
        return loss

    def train(self) -> None:
        self.model.train()

    def measure(self, x: Tensor, target: Tensor, labels: Tensor) -> tuple[float, float]:
        return measure(self.model, self.criterion, x, target, labels)

    def snapshot(self) -> Any:
        return self.model.state_dict(), _clone(self.optimizer.state_dict())

    def restore(self, snapshot: Any) -> None:
        self.model.load_state_dict(snapshot[0])
        self.optimizer.load_state_dict(snapshot[1])

    def finite(self, losses: Tensor) -> bool:
        return _all_finite(losses, [p.data for p in self.model.parameters()])

    @property
    def lr(self) -> float:
        return current_lr(self.optimizer)


class CompiledStep(ReadableStep):
    """The same step compiled by minidl.training.fast (flat buffers, no per-op allocation), where it
    applies. Parameters and optimizer state stay the model's and the optimizer's, so the readable
    step can take over at any time (tests/unit/training/test_fast.py, test_train.py)."""

    kind = "compiled"

    def __init__(self, model: Module, criterion: Loss, optimizer: Any, plan: _fast.FastStep):
        super().__init__(model, criterion, optimizer)
        self.plan, self.step = plan, plan.step       # the instance attribute: no extra call per step

    def measure(self, x: Tensor, target: Tensor, labels: Tensor) -> tuple[float, float]:
        return self.plan.measure(x, target, labels)

    def error(self, x: Tensor, labels: Tensor) -> float:
        return self.plan.error(x, labels)

    def snapshot(self) -> Any:
        return self.plan.snapshot()

    def restore(self, snapshot: Any) -> None:
        self.plan.restore(snapshot)

    def finite(self, losses: Tensor) -> bool:
        return self.plan.finite(losses)


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # optimizer -> (model, criterion, plan)


def training_step(model: Module, criterion: Loss, optimizer: Any, fast: bool = True) -> ReadableStep:
    """The step fit() repeats: compiled where ``fast.supports`` it (and ``fast``), readable otherwise.

    A compiled plan is kept per optimizer and reused while the model is the same object made of
    the same layers (and the loss of the same kind), so fit(epochs=1) called again and again (a
    live widget) compiles once.
    """
    if not fast or _fast.supports(model, criterion, optimizer) is not None:
        return ReadableStep(model, criterion, optimizer)
    kept = _PLANS.get(optimizer)
    if kept is not None and kept[0] is model and type(kept[1]) is type(criterion) \
            and kept[1].reduction == criterion.reduction and kept[2].matches(model):
        plan = kept[2]
        plan.criterion = criterion
    else:
        plan = _fast.compile(model, criterion, optimizer)
        _PLANS[optimizer] = (model, criterion, plan)
    return CompiledStep(model, criterion, optimizer, plan)


# -- the loop ----------------------------------------------------------------------------------------
def fit(model: Module, criterion: Loss, optimizer: Any, train: tuple[Tensor, Tensor],
        test: tuple[Tensor, Tensor] | None = None, *, epochs: int, batch_size: int = 100,
        shuffle: bool = True, generator: torch.Generator | int | None = None,
        callbacks: Callback | Iterable[Callback] = (), progress: bool | None = None,
        log: Callable[[str], Any] | None = None, log_every: int = 1, history: History | None = None,
        check_finite: bool = True, fast: bool = True, scheduler: LRScheduler | None = None) -> History:
    """Train for ``epochs`` epochs of mini-batch steps; return the History (continued if given).

    Per epoch: the mean of the batch losses (the loss the course reports), then, in eval mode,
    the error rates on train and test and the test loss. Batches come from
    ``data.batch_order(n, batch_size, shuffle, generator)``, exactly one call per epoch, so a
    torch twin replays the same order from an equally seeded generator (an int seed becomes one
    torch.Generator for this call). ``callbacks``: ``cb(epoch, history, model)`` after every
    epoch; returning "stop" or raising StopTraining ends training. ``log``: a callable (print,
    logger.info) given one line every ``log_every`` epochs. ``progress``: a tqdm bar over epochs;
    None turns it on only for long runs on a terminal. ``fast``: run the compiled step where it
    applies (a Linear/activation MLP, MSE or cross-entropy, SGD, RMSprop, Adam or AdamW; see fast.py),
    the readable one otherwise; ``fast=False``: always the readable step, the one the notebooks
    derive. ``history.config["step"]`` says which ran. Both give the same History: the same error
    counts and parameters, losses equal to rounding (a dot product sums the MSE, ~1e-16).
    ``scheduler``: a schedule made on ``optimizer`` (md.optim.StepLR, CosineAnnealingLR), stepped once
    after every recorded epoch; ``history.lr`` is the lr each epoch used (see the module docstring).
    """
    where = "fit"
    check_model_and_loss(model, criterion, where)
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"{where}: optimizer must have a step() method (minidl.SGD, minidl.Adam), "
                        f"got {type(optimizer).__name__}")
    if not isinstance(fast, bool):
        raise TypeError(f"{where}: fast must be True or False, got {fast!r}")
    if scheduler is not None and not isinstance(scheduler, LRScheduler):
        raise TypeError(f"{where}: scheduler must be None or a minidl schedule (md.optim.StepLR, "
                        f"md.optim.CosineAnnealingLR), got {type(scheduler).__name__}")
    if scheduler is not None and scheduler.optimizer is not optimizer:
        raise ValueError(f"{where}: scheduler drives another optimizer than the one given to fit "
                         f"(make it with this one: {type(scheduler).__name__}(optimizer, ...))")
    _check_loop_args(where, epochs, batch_size, log_every, log, callbacks)
    if history is not None and not isinstance(history, History):
        raise TypeError(f"{where}: history must be a minidl History, got {type(history).__name__}")
    x, y = check_pair(train, f"{where} train")
    tx, ty = check_pair(test, f"{where} test") if test is not None else (None, None)
    h = history if history is not None else History()
    width = output_width(model, x)
    t_train, l_train, note = prepare_targets(criterion, y, width, x.dtype, where)
    test_set = None
    if tx is not None:                        # one note: the train set's, else the test set's
        output_width(model, tx)               # the readable modules' own shape errors, before training
        t_test, l_test, test_note = prepare_targets(criterion, ty, width, x.dtype, f"{where} (test set)")
        note, test_set = note or test_note, (tx, t_test, l_test)
    _check_finite_data(where, (x, y, t_train), None if tx is None else (tx, ty, test_set[1]))
    if note and note not in h.notes:
        h.notes.append(note)
        if log is not None:
            log(note)
    describe_run(h.config, model, criterion, optimizer, batch_size=batch_size, shuffle=shuffle,
                 n_train=len(x), n_test=0 if tx is None else len(tx))
    if scheduler is not None:
        h.config.setdefault("scheduler", {"name": type(scheduler).__name__, **{
            k: _jsonable(v) for k, v in scheduler.state_dict().items() if k not in ("base_lrs", "last_epoch")}})
    step = training_step(model, criterion, optimizer, fast)
    h.config["step"] = step.kind
    return run(step, (x, t_train, l_train), test_set, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
               generator=generator, callbacks=callbacks, progress=progress, log=log, log_every=log_every,
               history=h, check_finite=check_finite, model=model, where=where, scheduler=scheduler)


def run(step: Any, train: tuple[Tensor, Tensor, Tensor], test: tuple[Tensor, Tensor, Tensor] | None, *,
        epochs: int, batch_size: int, shuffle: bool, generator: torch.Generator | int | None,
        callbacks: Callback | Iterable[Callback], progress: bool | None, log: Callable[[str], Any] | None,
        log_every: int, history: History, check_finite: bool, model: Any, where: str,
        scheduler: Any = None) -> History:
    """fit()'s loop around any step (readable, compiled, or the torch twin's): the one loop.

    ``train`` and ``test``: (x, what the criterion gets, the class labels). Each epoch gathers
    the shuffled rows once; the batches are slices of that (views, no copy per batch).
    ``scheduler``: None or anything with step(), called after each recorded epoch.
    """
    cbs = _check_loop_args(where, epochs, batch_size, log_every, log, callbacks)
    g = as_generator(generator, where)
    h, say = history, (log if log is not None else (lambda line: None))
    if h.diverged:                          # a new call starts afresh; keep the old message
        h.notes.append(f"before epoch {(h.epoch[-1] if h.epoch else 0) + 1}: {h.diverged}")
        h.diverged = None
    x, t_train, l_train = train
    n, take = len(x), step.step
    error = getattr(step, "error", None)     # a step may measure the error alone (no loss), cheaper
    first = (h.epoch[-1] if h.epoch else 0) + 1
    elapsed, clock = (h.time[-1] if h.time else 0.0), time.perf_counter()
    bar = _progress_bar(progress, epochs, -(-n // batch_size))
    last_loss: Tensor | None = None          # the last finite batch loss, for the divergence message
    try:
        for epoch in range(first, first + epochs):
            snapshot = step.snapshot() if check_finite else None
            lr = step.lr
            step.train()
            order = batch_order(n, batch_size, shuffle, g)
            if shuffle:                      # the epoch's rows in batch order, once: batches are views
                perm = torch.cat(order)
                xs, ts = x.index_select(0, perm), t_train.index_select(0, perm)
            else:
                xs, ts = x, t_train
            losses = [take(xs[i:i + batch_size], ts[i:i + batch_size]) for i in range(0, n, batch_size)]
            batch_losses = torch.stack(losses)
            if check_finite and not step.finite(batch_losses):
                step.restore(snapshot)
                h.diverged = divergence_message(epoch, batch_losses, last_loss, lr,
                                                _non_finite_data(x, t_train, test))
                say(h.diverged)
                break
            last_loss = batch_losses[-1]
            train_error = error(x, l_train) if error else step.measure(x, t_train, l_train)[1]
            test_loss = test_error = None
            if test is not None:
                test_loss, test_error = step.measure(*test)
            train_loss = float(batch_losses.mean())
            h.record(epoch, train_loss, train_error, elapsed + time.perf_counter() - clock, lr,
                     test_loss, test_error)
            if scheduler is not None:         # after the epoch's updates, as in torch: the next epoch's lr
                scheduler.step()
            if epoch % log_every == 0:
                say(log_line(epoch, train_loss, train_error, test_error))
            if bar is not None:
                post = {"loss": f"{train_loss:.4f}", "train": f"{100 * train_error:.2f}%"}
                if test_error is not None:
                    post["test"] = f"{100 * test_error:.2f}%"
                bar.set_postfix(post, refresh=False)
                bar.update(1)
            if _stop_requested(cbs, epoch, h, model):
                break
    finally:
        if bar is not None:
            bar.close()
    return h


def _check_finite_data(where: str, train: tuple[Tensor, ...], test: tuple[Tensor, ...] | None) -> None:
    """Refuse a nan or an inf anywhere in the data, naming the data row, before the first step (a
    non-finite input would otherwise look like a divergence, and a test-set one give a nan test loss)."""
    for name, tensors in (("train", train), ("test", test or ())):
        for what, t in zip(("x", "y", "targets (converted)"), tensors, strict=False):
            i = first_non_finite_row(t)
            if i is not None:
                raise ValueError(f"{where} {name}: {what} row {i} is not finite: {t[i].tolist()}; "
                                 f"fix or drop that row")


def _check_loop_args(where: str, epochs: int, batch_size: int, log_every: int, log: Any,
                     callbacks: Callback | Iterable[Callback]) -> list[Callback]:
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("log_every", log_every)):
        positive_int(value, name, where)
    if log is not None and not callable(log):
        raise TypeError(f"{where}: log must be None or a callable taking one line (e.g. print), "
                        f"got {type(log).__name__}")
    cbs = [callbacks] if callable(callbacks) else list(callbacks)
    for cb in cbs:
        if not callable(cb):
            raise TypeError(f"{where}: every callback must be callable, got {type(cb).__name__}")
    return cbs


def log_line(epoch: int, loss: float, train_error: float, test_error: float | None = None) -> str:
    """'epoch   10  loss 0.0412  train error  3.10%  test error  3.90%'."""
    line = f"epoch {epoch:4d}  loss {loss:.4f}  train error {100 * train_error:5.2f}%"
    return line if test_error is None else line + f"  test error {100 * test_error:5.2f}%"


def _stop_requested(callbacks: list[Callback], epoch: int, h: History, model: Module) -> bool:
    stop = False
    for cb in callbacks:
        try:
            if cb(epoch, h, model) == "stop":
                stop = True
        except StopTraining:
            return True
    return stop


def _all_finite(losses: Tensor, params: list) -> bool:
    """One synchronising check per epoch: every batch loss and every parameter finite."""
    checks = [torch.isfinite(losses).all()] + [torch.isfinite(p.data).all() for p in params]
    return bool(torch.stack(checks).all())


def _non_finite_data(x: Tensor, t_train: Tensor, test: tuple[Tensor, ...] | None) -> str | None:
    """Where the data holds a nan or an inf ("train x row 3"), or None: asked only after a divergence."""
    for name, tensors in (("train", (x, t_train)), ("test", test[:2] if test is not None else ())):
        for what, t in zip(("x", "targets"), tensors, strict=False):
            i = first_non_finite_row(t)
            if i is not None:
                return f"{name} {what} row {i}"
    return None


def divergence_message(epoch: int, losses: Tensor, last_loss: Tensor | None, lr: float,
                       bad_data: str | None = None) -> str:
    bad = (~torch.isfinite(losses)).nonzero()
    if len(bad):
        b = int(bad[0, 0])
        what = f"(batch {b + 1}): loss became {float(losses[b])}"
        before = losses[b - 1] if b > 0 else last_loss
    else:
        what = "(last batch): the parameters became non-finite"
        before = losses[-1]
    last = f"; last finite loss {float(before):.3g}" if before is not None else ""
    cause = f"The data is not finite ({bad_data})" if bad_data else f"Learning rate too high? (lr={lr:g})"
    return (f"diverged at epoch {epoch} {what}{last}. {cause}. "
            f"Model and optimizer restored to the start of epoch {epoch}.")


# -- arguments ----------------------------------------------------------------------------------------
def current_lr(optimizer: Any) -> float:
    lr = getattr(optimizer, "lr", None)
    if lr is None and getattr(optimizer, "param_groups", None):
        lr = optimizer.param_groups[0].get("lr")
    return float("nan") if lr is None else float(lr)


def _clone(state: Any) -> Any:
    """A deep copy of a state dict's tensors (optimizer.state_dict() may alias live buffers)."""
    if isinstance(state, Tensor):
        return state.clone()
    if isinstance(state, dict):
        new = copy.copy(state)                  # keeps the dict's class (OrderedDict, ...)
        for k, v in state.items():
            new[k] = _clone(v)
        return new
    if type(state) in (list, tuple):
        return type(state)(_clone(v) for v in state)
    return copy.deepcopy(state)


def describe_run(config: dict, model: Module, criterion: Any, optimizer: Any, **extra: Any) -> None:
    """Fill history.config with what was trained and how (keys already there are kept)."""
    groups = getattr(optimizer, "param_groups", None) or [{}]
    hyper = {k: _jsonable(v) for k, v in groups[0].items() if k != "params"}
    config.setdefault("model", repr(model))
    config.setdefault("criterion", repr(criterion))
    config.setdefault("optimizer", {"name": type(optimizer).__name__, **hyper})
    for key, value in extra.items():
        config.setdefault(key, value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


def _progress_bar(progress: bool | None, epochs: int, n_batches: int) -> Any:
    if progress is None:
        progress = sys.stderr.isatty() and epochs * n_batches >= 5000
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=epochs, desc="fit", unit="epoch", file=sys.stderr, dynamic_ncols=True)
