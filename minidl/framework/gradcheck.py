"""Check a hand-written backward against central finite differences.      Notebook 02

For a module f and a fixed random "upstream gradient" g, the scalar L(x, θ) = Σ g ⊙ f(x; θ)
has dL/dx = f.backward(g) and dL/dθ = the accumulated θ.grad. Each entry is compared with

    (L(x + ε e_i) - L(x - ε e_i)) / 2ε          error O(ε²), in float64

For a loss, L is the loss itself and dL/dprediction is criterion.backward().
An entry passes when |analytic - numeric| <= atol + rtol·|numeric|.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .losses import Loss
from .module import Module


@dataclass
class TensorCheck:
    """The comparison for one tensor: the input, or one parameter."""

    name: str
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...]
    analytic: float                 # at the worst index
    numeric: float
    passed: bool


@dataclass
class GradcheckReport:
    """One row per tensor; ``ok`` if every row passed. Prints as a table."""

    title: str
    rows: list[TensorCheck] = field(default_factory=list)
    eps: float = 1e-6
    atol: float = 1e-6
    rtol: float = 1e-4

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.rows)

    @property
    def max_abs_error(self) -> float:
        return max((r.max_abs_error for r in self.rows), default=0.0)

    def __str__(self) -> str:
        head = f"{'tensor':<16}{'shape':<12}{'max abs err':>12}{'max rel err':>12}  " \
               f"{'worst at':<10}{'backward':>12}{'finite diff':>13}  ok"
        lines = [f"gradcheck {self.title}: " + ("PASSED" if self.ok else "FAILED")
                 + f"   (central differences, eps={self.eps:g}, float64)", head, "-" * len(head)]
        for r in self.rows:
            lines.append(f"{r.name:<16}{str(r.shape):<12}{r.max_abs_error:>12.2e}{r.max_rel_error:>12.2e}  "
                         f"{str(r.worst_index):<10}{r.analytic:>12.6f}{r.numeric:>13.6f}  "
                         + ("yes" if r.passed else "NO"))
        if not self.ok:
            lines.append("A row that fails points at the tensor whose backward is wrong; "
                         "the worst index shows where.")
        return "\n".join(lines)

    __repr__ = __str__


class GradcheckError(AssertionError):
    """Raised when a check fails; ``.report`` holds the full GradcheckReport."""

    def __init__(self, report: GradcheckReport):
        super().__init__(str(report))
        self.report = report


def _compare(name: str, analytic: Tensor, numeric: Tensor, atol: float, rtol: float) -> TensorCheck:
    err = (analytic - numeric).abs()
    rel = err / numeric.abs().clamp(min=1e-8)
    excess = err - (atol + rtol * numeric.abs())
    flat = int(excess.argmax()) if err.numel() else 0
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), err.shape)) if err.dim() else ()
    return TensorCheck(name, tuple(err.shape), float(err.max()) if err.numel() else 0.0,
                       float(rel.max()) if err.numel() else 0.0, index,
                       float(analytic.reshape(-1)[flat]) + 0.0 if err.numel() else 0.0,    # + 0.0: no "-0"
                       float(numeric.reshape(-1)[flat]) + 0.0 if err.numel() else 0.0,
                       bool((excess <= 0).all()))


def _numeric(f: Callable[[], float], t: Tensor, eps: float) -> Tensor:
    """Central differences of the scalar f() with respect to every entry of t (changed in place)."""
    grad = torch.zeros_like(t)
    flat, gflat = t.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = float(flat[i])
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def gradcheck(module: Module, x: Tensor, target: Tensor | None = None, *, eps: float = 1e-6,
              atol: float = 1e-6, rtol: float = 1e-4, seed: int = 0,
              raise_on_failure: bool = True) -> GradcheckReport:
    """Compare ``module.backward`` with finite differences; return (or raise with) the report.

    module: a Module (x is its input) or a Loss (x is the prediction, target required).
    Works on a float64 copy, so the module you pass is not changed. Modules that draw random
    numbers (Dropout) see the same random numbers in every forward call.
    """
    if not isinstance(module, Module):
        raise TypeError(f"gradcheck: expected a minidl Module or Loss, got {type(module).__name__}")
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise TypeError(f"gradcheck: expected a floating-point input tensor, got "
                        f"{getattr(x, 'dtype', type(x).__name__)}")
    is_loss = isinstance(module, Loss)
    if is_loss and target is None:
        raise ValueError(f"gradcheck: {type(module).__name__} is a loss; pass target=")
    m = copy.deepcopy(module).to(torch.float64)
    x = x.detach().to(torch.float64).clone()
    if target is not None and target.is_floating_point():
        target = target.to(torch.float64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        upstream = None if is_loss else torch.randn_like(m(x))

    def loss() -> float:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1)            # the same dropout mask in every call
            out = m(x, target) if is_loss else m(x)
            return float(out if is_loss else (upstream * out).sum())

    m.zero_grad()
    loss()                                         # forward, caches for backward
    grad_x = m.backward() if is_loss else m.backward(upstream)
    report = GradcheckReport(title=type(module).__name__, eps=eps, atol=atol, rtol=rtol)
    report.rows.append(_compare("input" if not is_loss else "prediction", grad_x, _numeric(loss, x, eps),
                                atol, rtol))
    for name, p in m.named_parameters():
        report.rows.append(_compare(name, p.grad.clone(), _numeric(loss, p.data, eps), atol, rtol))
    if raise_on_failure and not report.ok:
        raise GradcheckError(report)
    return report
