"""The checks' shared parts: results, the learner's calls, finite differences, the oracles, module properties."""

from __future__ import annotations

import contextlib
import itertools
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ...framework.checks import shape_text

F64 = torch.float64
EPS, ATOL, RTOL = 1e-6, 1e-6, 1e-4          # central differences: step, and the pass rule |a - n| <= atol + rtol|n|


# -- results ----------------------------------------------------------------------------------------------
@dataclass
class CheckResult:
    """What ``check`` found: truthy only if every property held."""

    stage: str
    passed: list[str] = field(default_factory=list)
    failed: str | None = None                   # the property that failed (None: all passed)
    message: str = ""                           # the ✗ line, or "not implemented yet: ..."
    not_implemented: bool = False

    @property
    def ok(self) -> bool:
        return self.failed is None

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        if self.ok:
            return f"<check {self.stage}: all {len(self.passed)} properties hold>"
        if self.not_implemented:
            return f"<check {self.stage}: not implemented yet>"
        held = f"{len(self.passed)} propert{'y' if len(self.passed) == 1 else 'ies'} held before it"
        return f"<check {self.stage}: '{self.failed}' fails ({held})>"


class PropertyFails(Exception):
    """A property does not hold: the message says what was expected, what came, and a hint."""


class _Expected(Exception):
    """Internal: the learner's code raised where a property expected something else."""


def fail(message: str, hint: str = "") -> None:
    raise PropertyFails(message + (f" — hint: {hint}" if hint else ""))


# -- helpers: tensors, shapes, the learner's calls ----------------------------------------------------------
def where_in_learner_code(exc: BaseException) -> str:
    """'in Linear.backward, line 12' for the innermost frame outside this file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    if not frames:
        return ""
    f = frames[-1]
    return f" (in {f.name}, line {f.lineno})"


def as_checked_tensor(value: Any, what: str, shape: tuple[int, ...] | None = None) -> Tensor:
    """value must be a tensor (of the given shape): else the property fails, saying what came."""
    if value is None or value is Ellipsis:
        fail(f"{what} returned {value!r}, expected a tensor" + (f" of shape {shape_text(shape)}" if shape else ""),
              "is it written yet? (a body of `...` or a missing `return` gives None)")
    if not isinstance(value, Tensor):
        fail(f"{what} returned a {type(value).__name__}, expected a torch.Tensor"
              + (f" of shape {shape_text(shape)}" if shape else ""))
    if shape is not None and tuple(value.shape) != tuple(shape):
        hint = "transposed?" if len(shape) == 2 and tuple(value.shape) == tuple(shape)[::-1] else \
            "a sum over the wrong dimension, or a missing one?" if value.dim() != len(shape) else ""
        fail(f"{what} has shape {shape_text(value)}, expected {shape_text(shape)}", hint)
    return value


def param_pairs(module: Any, what: str) -> list[tuple[Tensor, Tensor]]:
    """module.param(), checked to be a list of [value, gradient] pairs of tensors of equal shapes."""
    pairs = module.param()
    if pairs is None or pairs is Ellipsis:
        fail(f"{what}.param() returned {pairs!r}, expected a list of [value, gradient] pairs",
              "a module without parameters returns []")
    if not isinstance(pairs, (list, tuple)):
        fail(f"{what}.param() returned a {type(pairs).__name__}, expected a list of [value, gradient] pairs")
    for k, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(t, Tensor) for t in pair):
            fail(f"{what}.param()[{k}] is {type(pair).__name__} {pair!r:.60}, expected a pair "
                  f"[value tensor, gradient tensor]")
        if pair[0].shape != pair[1].shape:
            fail(f"{what}.param()[{k}]: the gradient has shape {shape_text(pair[1])}, the value {shape_text(pair[0])}; "
                  f"expected the same shape")
    return [(p[0], p[1]) for p in pairs]


def same_tensor(a: Tensor, b: Tensor) -> bool:
    """a and b are views of the same memory (the same live tensor)."""
    return a.shape == b.shape and a.data_ptr() == b.data_ptr() and a.stride() == b.stride()


def expect_raise(call: Callable[[], Any], kind: type[BaseException], what: str, hint: str) -> None:
    """call() must raise ``kind``; a NotImplementedError still means "not written yet"."""
    try:
        call()
    except NotImplementedError:
        raise
    except kind:
        return
    except Exception as e:             # noqa: BLE001 - the learner's code may raise anything
        fail(f"{what} should raise {kind.__name__}, it raised {type(e).__name__}: {e}"
              f"{where_in_learner_code(e)}", hint)
    fail(f"{what} should raise {kind.__name__}, it returned normally", hint)


def _indices(t: Tensor) -> Iterator[tuple[int, ...]]:
    return itertools.product(*(range(s) for s in t.shape))


def numeric_gradient(f: Callable[[], float], t: Tensor) -> Tensor:
    """Central differences (f(t + ε eᵢ) - f(t - ε eᵢ)) / 2ε for every entry of t (changed in place, restored)."""
    grad = torch.zeros(t.shape, dtype=F64)
    for i in _indices(t):
        old = float(t[i])
        t[i] = old + EPS
        up = f()
        t[i] = old - EPS
        down = f()
        t[i] = old
        grad[i] = (up - down) / (2 * EPS)
    return grad


def diagnose(name: str, got: Tensor, want: Tensor, context: str, atol: float = ATOL, rtol: float = RTOL,
              oracle: str = "finite differences") -> None:
    """Fail with the worst index and a hint unless got ≈ want (shapes already equal)."""
    got, want = got.detach().to(F64), want.detach().to(F64)
    if not torch.isfinite(got).all():
        i = tuple(int(k) for k in (~torch.isfinite(got)).nonzero()[0])
        fail(f"{name} is {float(got[i])} at index {i} {context}; {oracle} give {float(want[i]):.6g}",
              "an overflow or a division by zero?")
    excess = (got - want).abs() - (atol + rtol * want.abs())
    if (excess <= 0).all():
        return
    i = tuple(int(k) for k in torch.unravel_index(excess.argmax(), excess.shape)) if excess.dim() else ()
    hint = ""
    nz = want.abs() > 1e-9
    if bool((got.abs() < 1e-12).all()):
        hint = "it is all zeros: is the gradient written into the tensor param() returns?"
    elif nz.any():
        ratio = got[nz] / want[nz]
        r = float(ratio.median())
        if torch.allclose(ratio, torch.full_like(ratio, r), rtol=1e-6, atol=1e-9):
            n = re.search(r"batch of (\d+)", context)
            if abs(r + 1) < 1e-6:
                hint = "every entry has the wrong sign"
            elif n and int(n.group(1)) > 1 and abs(r * int(n.group(1)) - 1) < 1e-6:
                hint = f"it is 1/{n.group(1)} of the expected value: the batch's contributions add up (no mean)"
            elif n and int(n.group(1)) > 1 and abs(r / int(n.group(1)) - 1) < 1e-6:
                hint = f"it is {n.group(1)}× the expected value, the batch size: the loss is a mean over the batch"
            else:
                hint = f"everything is {r:.4g}× the expected value: a constant factor is missing or extra"
    fail(f"{name} wrong {context} at index {i}: backward gave {float(got[i]):.6g}, {oracle} give "
          f"{float(want[i]):.6g}", hint)


@contextlib.contextmanager
def float64_and_own_rng(seed: int) -> Iterator[torch.Generator]:
    """Default dtype float64 and a private random stream; the caller's state is restored after."""
    old = torch.get_default_dtype()
    with torch.random.fork_rng(devices=[]):
        torch.set_default_dtype(F64)
        torch.manual_seed(seed)
        try:
            yield torch.Generator().manual_seed(seed)
        finally:
            torch.set_default_dtype(old)


def randn_from(g: torch.Generator, *shape: int) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=F64)


def batch_shapes(g: torch.Generator) -> list[tuple[int, int, int]]:
    """(N, in, out) cases: always a batch of 1; the feature sizes vary with the seed."""
    dims = [int(d) for d in torch.randint(1, 7, (6,), generator=g)]
    return [(1, dims[0] + 1, dims[1] + 1), (5, dims[2] + 1, dims[3] + 2), (7, dims[4], dims[5] + 1)]


# -- the oracles (torch as an outside reference) ---------------------------------------------------------------
def autograd_gradients(fn: Callable[..., Tensor], inputs: list[Tensor],
                       upstream: Tensor | None) -> tuple[Tensor, list[Tensor]]:
    """fn(*inputs) and d(Σ upstream ⊙ fn)/d(each input) by torch.autograd (switched on here only)."""
    with torch.enable_grad():
        leaves = [t.detach().clone().to(F64).requires_grad_() for t in inputs]
        out = fn(*leaves)
        (out if upstream is None else (out * upstream).sum()).backward()
    return out.detach(), [t.grad for t in leaves]


def torch_functional() -> Any:
    import torch.nn.functional as functional
    return functional


# -- module stages -----------------------------------------------------------------------------------------------
class StageContext:
    """What every property of one check() call shares: the classes, the seed, the random stream."""

    def __init__(self, stage: str, classes: tuple[Any, ...], seed: int, g: torch.Generator):
        self.stage, self.classes, self.seed, self.g = stage, classes, seed, g
        self.cls = classes[0]
        self.name = getattr(self.cls, "__name__", str(self.cls))

    def make(self, *args: Any, **kwargs: Any) -> Any:
        shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        try:
            return self.cls(*args, **kwargs)
        except NotImplementedError:
            raise
        except Exception as e:         # noqa: BLE001
            fail(f"{self.name}({shown}) raised {type(e).__name__}: {e}{where_in_learner_code(e)}")


def module_gradcheck(ctx: StageContext, m: Any, x: Tensor, label: str) -> None:
    """backward(g) against central differences of L = Σ g ⊙ forward(x), for x and every param() value."""
    y = as_checked_tensor(m.forward(x), f"{label}.forward(x of shape {shape_text(x)})")
    g = randn_from(ctx.g, *y.shape)
    pairs = param_pairs(m, label)
    for _, grad in pairs:
        grad.zero_()
    gx = as_checked_tensor(m.backward(g), f"{label}.backward(grad of shape {shape_text(g)})", tuple(x.shape)).clone()
    analytic = [grad.clone() for _, grad in param_pairs(m, label)]

    def loss() -> float:
        return float((g * m.forward(x)).sum())

    context = f"on a batch of {x.shape[0]} (input {shape_text(x)})"
    diagnose(f"dL/dinput (what {label}.backward returns)", gx, numeric_gradient(loss, x), context)
    for k, ((value, _), grad) in enumerate(zip(param_pairs(m, label), analytic, strict=True)):
        diagnose(f"the gradient in param()[{k}] (shape {shape_text(value)})", grad,
                 numeric_gradient(loss, value), context)


def module_accumulates(ctx: StageContext, m: Any, x: Tensor, label: str) -> None:
    pairs = param_pairs(m, label)
    if not pairs:
        return
    m.zero_grad()
    y = m.forward(x)
    g = randn_from(ctx.g, *y.shape)
    m.backward(g)
    once = [grad.clone() for _, grad in param_pairs(m, label)]
    m.backward(g)                                   # again, without zero_grad
    for k, ((_, grad), first) in enumerate(zip(param_pairs(m, label), once, strict=True)):
        if torch.allclose(grad, 2 * first, rtol=1e-10, atol=1e-12):
            continue
        times = "the same as after one" if torch.allclose(grad, first, rtol=1e-10, atol=1e-12) else \
            "something else"
        fail(f"after a second backward() without zero_grad(), param()[{k}]'s gradient should be twice the "
              f"first one; it is {times}",
              "parameter gradients add up over backward calls (like PyTorch's .grad); only zero_grad() resets them")


def module_zero_grad(ctx: StageContext, m: Any, x: Tensor, label: str) -> None:
    if not param_pairs(m, label):
        m.zero_grad()
        return
    y = m.forward(x)
    m.backward(randn_from(ctx.g, *y.shape))
    before = param_pairs(m, label)                        # the tensors zero_grad() must zero, in place
    m.zero_grad()
    after = param_pairs(m, label)
    for k, ((_, grad), (_, old)) in enumerate(zip(after, before, strict=True)):
        if not bool((grad == 0).all()):
            fail(f"after zero_grad(), param()[{k}]'s gradient is not all zeros")
        if not same_tensor(grad, old) or not bool((old == 0).all()):
            fail(f"zero_grad() replaced param()[{k}]'s gradient tensor instead of zeroing it in place; "
                  f"an optimizer holding the pairs keeps the old, non-zero one", "zero the existing tensor")


def module_live_gradients(ctx: StageContext, m: Any, x: Tensor, label: str) -> None:
    held = param_pairs(m, label)                          # what an optimizer built before training would hold
    m.zero_grad()
    y = m.forward(x)
    m.backward(randn_from(ctx.g, *y.shape))
    for k, ((_, old), (_, new)) in enumerate(zip(held, param_pairs(m, label), strict=True)):
        if not same_tensor(old, new) or not torch.equal(old, new):
            fail(f"a pair taken from param() before backward() does not see the new gradient in param()[{k}]: "
                  f"the gradient tensor was replaced or copied, so an optimizer holding the pairs would "
                  f"never see it", "update the gradient tensor in place, and let param() return it, not a copy")


def module_live_values(ctx: StageContext, m: Any, x: Tensor, label: str) -> None:
    """Changing a value from param() in place changes the output: the pairs alias the live tensors."""
    pairs = param_pairs(m, label)
    again = param_pairs(m, label)
    for k, ((v, gr), (v2, gr2)) in enumerate(zip(pairs, again, strict=True)):
        if not (same_tensor(v, v2) and same_tensor(gr, gr2)):
            fail(f"two calls of param() give different tensors for pair {k}: param() returns copies",
                  "return the live tensors themselves (no .clone()), so an optimizer can update them in place")
    for k, (v, _) in enumerate(pairs):
        y0 = m.forward(x).clone()
        old = v.clone()
        v.add_(0.5)
        y1 = m.forward(x).clone()
        v.copy_(old)
        if torch.equal(y0, y1):
            fail(f"adding 0.5 to the value tensor of param()[{k}] in place does not change forward(): "
                  f"param() returns copies, so an optimizer's updates would be lost",
                  "return the live tensors themselves (no .clone())")


def fresh_backward_raises(ctx: StageContext, factory: Callable[[], Any], label: str,
                          grad_shape: tuple[int, ...]) -> None:
    fresh = factory()
    expect_raise(lambda: fresh.backward(torch.ones(grad_shape)), RuntimeError,
                  f"{label}.backward() before any forward()",
                  "backward needs what forward cached; say so with a RuntimeError")
