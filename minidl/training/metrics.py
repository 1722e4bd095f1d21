"""evaluate(), predict(), accuracy(): measuring a classifier, in eval mode.     Notebook 10

The error rate is always argmax(outputs) != label; targets may be integer labels (N,) or
one-hot / ±1 rows (N, C), whose argmax is the label. Each function puts the model in eval
mode (no dropout) and gives every module its previous mode back afterwards.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..framework.checks import shape_text
from ..framework.losses import CrossEntropyLoss, Loss, MSELoss, NLLLoss
from ..framework.module import Module, evaluating
from .data import one_hot


def measure(model: Module, criterion: Loss, x: Tensor, target: Tensor,
             labels: Tensor) -> tuple[float, float]:
    """(loss, error rate) in eval mode, with targets already converted by prepare_targets."""
    with evaluating(model):
        out = model(x)
    return float(criterion(out, target)), _error(out, labels)


def _error(out: Tensor, labels: Tensor) -> float:
    if out.dim() != 2:
        raise ValueError(f"error rate: expected model outputs of shape (N, C), got {shape_text(out)}")
    return float((out.argmax(dim=1) != labels).sum()) / max(len(labels), 1)


def evaluate(model: Module, criterion: Loss, x: Tensor, y: Tensor) -> tuple[float, float]:
    """(loss, error rate) on (x, y) in eval mode; labels or one-hot targets, as for fit()."""
    x, y = check_pair((x, y), "evaluate")
    with evaluating(model):
        out = model(x)
    target, labels, _ = prepare_targets(criterion, y, out.shape[-1], out.dtype, "evaluate")
    return float(criterion(out, target)), _error(out, labels)


def predict(model: Module, x: Tensor) -> Tensor:
    """The predicted class of each row: argmax of the outputs (eval mode), int64 (N,)."""
    with evaluating(model):
        out = model(x)
    if out.dim() != 2:
        raise ValueError(f"predict: expected model outputs of shape (N, C), got {shape_text(out)}")
    return out.argmax(dim=1)


def accuracy(model: Module, x: Tensor, y: Tensor) -> float:
    """The fraction of rows whose predicted class is the label (y: labels, or one-hot / ±1 rows)."""
    x, y = check_pair((x, y), "accuracy")
    labels = y.argmax(dim=1) if y.dim() == 2 else y
    return float((predict(model, x) == labels).sum()) / len(labels)


# -- targets and arguments ---------------------------------------------------------------------------
def prepare_targets(criterion: Any, y: Tensor, width: int, dtype: torch.dtype,
             where: str) -> tuple[Tensor, Tensor, str | None]:
    """(what the criterion gets, the class labels for the error rate, a note if converted)."""
    integer = not (y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool)
    if y.dim() == 1 and integer:
        bad = ((y < 0) | (y >= width)).nonzero()
        if len(bad):                            # every criterion: before any step, naming the data row
            i = int(bad[0, 0])
            raise ValueError(f"{where}: labels must be in [0, {width}) for a model with {width} outputs, "
                             f"got {int(y[i])} at row {i}")
        if isinstance(criterion, MSELoss):
            return one_hot(y, width, dtype=dtype), y, (
                f"{where}: MSELoss with integer labels -> converted to one-hot targets ({len(y)}, {width})")
        return y, y, None
    if y.dim() == 2 and y.dtype.is_floating_point:
        if y.shape[1] != width:
            raise ValueError(f"{where}: targets must have one column per model output, (N, {width}), "
                             f"got {shape_text(y)}")
        labels = y.argmax(dim=1)
        if isinstance(criterion, (CrossEntropyLoss, NLLLoss)):
            return labels, labels, (f"{where}: {type(criterion).__name__} with one-hot targets -> "
                                    f"converted to class indices by argmax ({len(y)},)")
        return y.to(dtype), labels, None
    raise ValueError(f"{where}: targets must be integer labels (N,) or float one-hot / ±1 rows (N, C), "
                     f"got shape {shape_text(y)} dtype {y.dtype}")


def first_non_finite_row(t: Tensor) -> int | None:
    """The index of the first row of t holding a nan or an inf, or None (integer tensors: None)."""
    if not (t.is_floating_point() or t.is_complex()) or t.numel() == 0:
        return None
    bad = (~torch.isfinite(t.reshape(len(t), -1))).any(dim=1).nonzero()
    return int(bad[0, 0]) if len(bad) else None


def check_pair(data: Any, where: str) -> tuple[Tensor, Tensor]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{where}: expected an (x, y) pair of tensors, got {type(data).__name__}")
    x, y = data
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{where}: {name} must be a torch.Tensor, got {type(t).__name__}")
    if x.dim() != 2 or len(x) == 0:
        raise ValueError(f"{where}: x must have shape (N, D) with N >= 1, got {shape_text(x)}")
    if y.dim() == 0 or len(y) != len(x):
        raise ValueError(f"{where}: x and y must have the same length, got x {shape_text(x)} and y {shape_text(y)}")
    return x, y


def check_model_and_loss(model: Any, criterion: Any, where: str) -> None:
    """The checks fit, lr_range_test and Diagnostics share: a minidl Module and a loss with a backward."""
    if not isinstance(model, Module):
        raise TypeError(f"{where}: model must be a minidl Module, got {type(model).__name__}")
    if not callable(criterion) or not hasattr(criterion, "backward"):
        raise TypeError(f"{where}: criterion must be a minidl loss (MSELoss(), CrossEntropyLoss(), ...), "
                        f"got {type(criterion).__name__}")


def output_width(model: Module, x: Tensor, where: str = "fit") -> int:
    """C, the model's output width on one row of x (in eval mode); a ValueError unless outputs are (N, C)."""
    with evaluating(model):
        out = model(x[:1])
    if out.dim() != 2:
        raise ValueError(f"{where}: expected model outputs of shape (N, C), got {shape_text(out)}")
    return out.shape[1]
