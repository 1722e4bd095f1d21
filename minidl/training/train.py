"""fit(): the course's training loop, with History, divergence handling and a progress bar.  Notebook 10

(evaluate, predict, accuracy live in metrics.py and build_mlp in models.py; all are importable
from here.) One step is the protocol of the whole package, nothing hidden:

    out = model(xb);  loss = criterion(out, tb)
    model.zero_grad();  model.backward(criterion.backward());  optimizer.step()

Divergence. The hot loop never stops to look at a loss: each step's loss (a 0-d tensor) is
kept, and at the end of the epoch one check asks whether every loss and every parameter is
finite. If not, the model and the optimizer are restored to the snapshot taken at the
*start of that epoch* (model.state_dict() + a copy of optimizer.state_dict(): some thirty
small clones for the course network), the diverging epoch is not recorded,
``history.diverged`` says what happened, and fit() returns. It never raises for a
divergence, so a live session can lower the learning rate and call fit() again (the old
message then moves to ``history.notes``). ``check_finite=False`` skips the check and the
snapshot.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from ..framework.checks import as_generator, positive_int
from ..framework.losses import Loss
from ..framework.module import Module
from .data import batch_order
from .history import History
from .metrics import accuracy, check_pair, evaluate, measure, output_width, predict, prepare_targets
from .models import build_mlp

__all__ = ["fit", "evaluate", "predict", "accuracy", "build_mlp", "log_line", "History", "StopTraining"]
Callback = Callable[[int, History, Module], Any]


class StopTraining(Exception):
    """Raise it in a callback (or return "stop") to end fit() cleanly after the current epoch."""


# -- the loop ----------------------------------------------------------------------------------------
def fit(model: Module, criterion: Loss, optimizer: Any, train: tuple[Tensor, Tensor],
        test: tuple[Tensor, Tensor] | None = None, *, epochs: int, batch_size: int = 100,
        shuffle: bool = True, generator: torch.Generator | int | None = None,
        callbacks: Callback | Iterable[Callback] = (), progress: bool | None = None,
        log: Callable[[str], Any] | None = None, log_every: int = 1, history: History | None = None,
        check_finite: bool = True) -> History:
    """Train for ``epochs`` epochs of mini-batch steps; return the History (continued if given).

    Per epoch: the mean of the batch losses (the loss the course reports), then, in eval mode,
    the error rates on train and test and the test loss. Batches come from
    ``data.batch_order(n, batch_size, shuffle, generator)``, exactly one call per epoch, so a
    torch twin replays the same order from an equally seeded generator (an int seed becomes one
    torch.Generator for this call). ``callbacks``: ``cb(epoch, history, model)`` after every
    epoch; returning "stop" or raising StopTraining ends training. ``log``: a callable (print,
    logger.info) given one line every ``log_every`` epochs. ``progress``: a tqdm bar over epochs;
    None turns it on only for long runs on a terminal.
    """
    where = "fit"
    if not isinstance(model, Module):
        raise TypeError(f"{where}: model must be a minidl Module, got {type(model).__name__}")
    if not callable(criterion) or not hasattr(criterion, "backward"):
        raise TypeError(f"{where}: criterion must be a minidl loss (MSELoss(), CrossEntropyLoss(), ...), "
                        f"got {type(criterion).__name__}")
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"{where}: optimizer must have a step() method (minidl.SGD, minidl.Adam), "
                        f"got {type(optimizer).__name__}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("log_every", log_every)):
        positive_int(value, name, where)
    if log is not None and not callable(log):
        raise TypeError(f"{where}: log must be None or a callable taking one line (e.g. print), "
                        f"got {type(log).__name__}")
    if history is not None and not isinstance(history, History):
        raise TypeError(f"{where}: history must be a minidl History, got {type(history).__name__}")
    cbs = [callbacks] if callable(callbacks) else list(callbacks)
    for cb in cbs:
        if not callable(cb):
            raise TypeError(f"{where}: every callback must be callable, got {type(cb).__name__}")
    x, y = check_pair(train, f"{where} train")
    tx, ty = check_pair(test, f"{where} test") if test is not None else (None, None)
    g = as_generator(generator, where)

    h = history if history is not None else History()
    say = log if log is not None else (lambda line: None)
    if h.diverged:                          # a new call starts afresh; keep the old message
        h.notes.append(f"before epoch {(h.epoch[-1] if h.epoch else 0) + 1}: {h.diverged}")
        h.diverged = None
    width = output_width(model, x)
    t_train, l_train, note = prepare_targets(criterion, y, width, x.dtype, where)
    if tx is not None:                        # one note: the train set's, else the test set's
        t_test, l_test, test_note = prepare_targets(criterion, ty, width, x.dtype, f"{where} (test set)")
        note = note or test_note
    if note and note not in h.notes:
        h.notes.append(note)
        say(note)
    describe_run(h.config, model, criterion, optimizer, batch_size=batch_size, shuffle=shuffle,
              n_train=len(x), n_test=0 if tx is None else len(tx))

    n, params = len(x), model.parameters()
    first = (h.epoch[-1] if h.epoch else 0) + 1
    elapsed, clock = (h.time[-1] if h.time else 0.0), time.perf_counter()
    bar = _progress_bar(progress, epochs, -(-n // batch_size))
    last_loss: Tensor | None = None          # the last finite batch loss, for the divergence message
    try:
        for epoch in range(first, first + epochs):
            snapshot = (model.state_dict(), _clone(optimizer.state_dict())) if check_finite else None
            lr = current_lr(optimizer)
            model.train()
            losses = []
            for idx in batch_order(n, batch_size, shuffle, g):
                out = model(x[idx])
                losses.append(criterion(out, t_train[idx]))
                model.zero_grad()
                model.backward(criterion.backward())
                optimizer.step()
            batch_losses = torch.stack(losses)
            if check_finite and not _all_finite(batch_losses, params):
                model.load_state_dict(snapshot[0])
                optimizer.load_state_dict(snapshot[1])
                h.diverged = divergence_message(epoch, batch_losses, last_loss, lr)
                say(h.diverged)
                break
            last_loss = batch_losses[-1]
            _, train_error = measure(model, criterion, x, t_train, l_train)
            test_loss = test_error = None
            if tx is not None:
                test_loss, test_error = measure(model, criterion, tx, t_test, l_test)
            train_loss = float(batch_losses.mean())
            h.record(epoch, train_loss, train_error, elapsed + time.perf_counter() - clock, lr,
                     test_loss, test_error)
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


def divergence_message(epoch: int, losses: Tensor, last_loss: Tensor | None, lr: float) -> str:
    bad = (~torch.isfinite(losses)).nonzero()
    if len(bad):
        b = int(bad[0, 0])
        what = f"(batch {b + 1}): loss became {float(losses[b])}"
        before = losses[b - 1] if b > 0 else last_loss
    else:
        what = "(last batch): the parameters became non-finite"
        before = losses[-1]
    last = f"; last finite loss {float(before):.3g}" if before is not None else ""
    return (f"diverged at epoch {epoch} {what}{last}. Learning rate too high? (lr={lr:g}). "
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
