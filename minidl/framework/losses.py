"""MSELoss, NLLLoss, CrossEntropyLoss.                                   Notebooks 04, 05

Protocol:  value = criterion(prediction, target)   a 0-d tensor, exactly torch.nn's value
           grad  = criterion.backward()            dL/dprediction, same shape as prediction
"""

from __future__ import annotations

import torch
from torch import Tensor

from .checks import shape_text
from .module import Module

REDUCTIONS = ("mean", "sum")


class Loss(Module):
    """A criterion: forward(prediction, target) -> scalar; backward() -> dL/dprediction."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, "
                             f"got {reduction!r}")
        self.reduction = reduction
        self.grad: Tensor | None = None

    def __call__(self, prediction: Tensor, target: Tensor) -> Tensor:    # type: ignore[override]
        return self.forward(prediction, target)

    def backward(self, grad_output: Tensor | float = 1.0) -> Tensor:      # type: ignore[override]
        """dL/dprediction (times grad_output, a scalar, 1 by default)."""
        grad = self._saved("grad")
        return grad if isinstance(grad_output, (int, float)) and grad_output == 1.0 else grad * grad_output

    def _check_prediction(self, prediction: Tensor, ndim: int | None = None) -> None:
        where = f"{type(self).__name__} prediction"
        if not isinstance(prediction, Tensor):
            raise TypeError(f"{where}: expected a torch.Tensor, got {type(prediction).__name__}")
        if not prediction.is_floating_point():
            raise TypeError(f"{where}: expected a floating-point tensor, got dtype {prediction.dtype}")
        if ndim is not None and prediction.dim() != ndim:
            raise ValueError(f"{where}: expected shape (N, C), got {shape_text(prediction)}")
        if ndim == 2 and prediction.shape[1] == 0:
            raise ValueError(f"{where}: expected shape (N, C) with at least one class, got {shape_text(prediction)}")

    def _reduce(self, per_sample_sum: Tensor, count: int) -> tuple[Tensor, float]:
        """The reduced value and the factor d(value)/d(each term): 1/count or 1."""
        if self.reduction == "mean":
            if count == 0:
                raise ValueError(f"{type(self).__name__}: the mean over an empty batch (0 terms) is undefined "
                                 f"(torch returns nan); pass at least one row, or use reduction='sum'")
            return per_sample_sum / count, 1.0 / count
        return per_sample_sum, 1.0

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(Loss):
    """L = (1/M) Σ (ŷ - y)²   over all M entries ("sum": no 1/M).          Notebook 04

    Shapes:   prediction and target the same shape, e.g. (N, C) with one-hot or ±1 targets
    Backward: dL/dŷ = (2/M)(ŷ - y)
    Caches:   the gradient itself
    """

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        self._check_prediction(prediction)
        if not isinstance(target, Tensor):
            raise TypeError(f"MSELoss target: expected a torch.Tensor, got {type(target).__name__}")
        if target.shape != prediction.shape:
            hint = (" (class labels? use minidl.data.one_hot(y, C) for MSE targets)"
                    if target.dim() == 1 and prediction.dim() == 2 else "")
            raise ValueError(f"MSELoss target: expected shape {shape_text(prediction)} like the prediction, "
                             f"got {shape_text(target)}{hint}")
        diff = prediction - target.to(prediction.dtype)
        value, factor = self._reduce((diff * diff).sum(), diff.numel())
        self.grad = diff.mul_(2.0 * factor)
        return value


def _check_class_targets(where: str, target: Tensor, n: int, classes: int) -> None:
    """Integer class indices of shape (N,) with values in [0, C)."""
    if not isinstance(target, Tensor):
        raise TypeError(f"{where} target: expected a torch.Tensor of class indices, "
                        f"got {type(target).__name__}")
    if target.dtype.is_floating_point or target.dtype == torch.bool:
        raise TypeError(f"{where} target: expected integer class indices (torch.long), got dtype "
                        f"{target.dtype}; for probability targets pass shape (N, {classes})")
    if target.shape != (n,):
        raise ValueError(f"{where} target: expected shape ({n},) of class indices, got {shape_text(target)}")
    bad = ((target < 0) | (target >= classes)).nonzero()
    if len(bad):
        i = int(bad[0, 0])
        raise ValueError(f"{where} target: class indices must be in [0, {classes}), "
                         f"got {int(target[i])} at index {i}")


class NLLLoss(Loss):
    """L = -(1/N) Σ_n x[n, y_n]   (x: log-probabilities, y: class indices).  Notebook 05

    Shapes:   x (N, C), y (N,) integers in [0, C)
    Backward: dL/dx[n, c] = -1/N if c == y_n else 0
    Caches:   the gradient itself
    """

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        self._check_prediction(prediction, ndim=2)
        n, c = prediction.shape
        _check_class_targets("NLLLoss", target, n, c)
        rows = torch.arange(n, device=prediction.device)
        value, factor = self._reduce(-prediction[rows, target].sum(), n)
        grad = torch.zeros_like(prediction)
        grad[rows, target] = -factor
        self.grad = grad
        return value


class CrossEntropyLoss(Loss):
    """L = -(1/N) Σ_n log softmax(x_n)[y_n]  = LogSoftmax then NLL, fused.   Notebook 05

    Shapes:   x (N, C) logits; y (N,) class indices, or (N, C) probabilities (e.g. one-hot)
    Forward:  log softmax(x)_c = (x_c - m) - log Σ_j exp(x_j - m),  m = max_j x_j  (stable)
    Backward: dL/dx = (softmax(x) - onehot(y)) / N;  for probability targets
              dL/dx = (softmax(x)·Σ_c y_c - y) / N
    Caches:   the gradient itself
    """

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        self._check_prediction(prediction, ndim=2)
        n, c = prediction.shape
        z = prediction - prediction.amax(dim=1, keepdim=True)
        log_sum = z.exp().sum(dim=1, keepdim=True).log()
        log_p = z - log_sum                                   # (N, C) log-probabilities
        if isinstance(target, Tensor) and target.is_floating_point() and target.dim() == 2:
            if target.shape != prediction.shape:
                raise ValueError(f"CrossEntropyLoss target: probability targets must have the "
                                 f"prediction's shape {shape_text(prediction)}, got {shape_text(target)}")
            target = target.to(prediction.dtype)
            value, factor = self._reduce(-(target * log_p).sum(), n)
            self.grad = (log_p.exp() * target.sum(dim=1, keepdim=True) - target).mul_(factor)
            return value
        _check_class_targets("CrossEntropyLoss", target, n, c)
        rows = torch.arange(n, device=prediction.device)
        value, factor = self._reduce(-log_p[rows, target].sum(), n)
        grad = log_p.exp_()                                   # softmax, reusing log_p's memory
        grad[rows, target] -= 1.0
        self.grad = grad.mul_(factor)
        return value
