"""Checks a learner runs on the framework they build themselves.            Notebooks 13, 14, 15

    check("linear", Linear)        one ✓ line per property that holds, or one ✗ line naming the
                                   property that fails, with a hint (never the solution)
    compare_gradients(mine, ref)   exact / close / WRONG for every tensor of two dicts of gradients
    when_ready(fn, ...)            runs a demo that needs unfinished classes; a stub's
                                   NotImplementedError becomes one "not implemented yet" line

The classes under test are the learner's (the EE-559 protocol): ``forward(*input)``,
``backward(*gradwrtoutput)`` returning dL/dinput, ``param()`` a list of [value, gradient] pairs
aliasing the live tensors, gradients accumulated (``+=``), ``zero_grad()``. A loss has
``forward(prediction, target)`` -> a 0-d tensor and ``backward()`` -> dL/dprediction; an
optimizer is ``SGD(pairs, lr, momentum=0.0)`` with ``step()`` and ``zero_grad()``.

Every check runs in float64 (parameters follow ``torch.get_default_dtype()``, set to float64
while checking), compares with central finite differences and with torch.autograd / torch.optim
as outside oracles (this lab corner is where torch may be used that way), and leaves the
caller's random state and default dtype as they were. ``check`` never raises for a problem in
the learner's code: it prints, and returns a CheckResult that is truthy only if every property
held, so ``assert check(...)`` works in a test cell and "Run all" on stubs reaches the end.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

F64 = torch.float64
EPS, ATOL, RTOL = 1e-6, 1e-6, 1e-4          # central differences: step, and the pass rule |a - n| <= atol + rtol|n|

__all__ = ["check", "compare_gradients", "when_ready", "CheckResult", "GradientComparison", "STAGES",
           "framework_magic", "register_framework_magic", "framework_from_notebook"]


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


class _Fail(Exception):
    """A property does not hold: the message says what was expected, what came, and a hint."""


class _Expected(Exception):
    """Internal: the learner's code raised where a property expected something else."""


def _fail(message: str, hint: str = "") -> None:
    raise _Fail(message + (f" — hint: {hint}" if hint else ""))


# -- helpers: tensors, shapes, the learner's calls ----------------------------------------------------------
def _shape(t: Any) -> str:
    shape = tuple(t.shape) if isinstance(t, Tensor) else tuple(t)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _where_in_learner_code(exc: BaseException) -> str:
    """'in Linear.backward, line 12' for the innermost frame outside this file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    if not frames:
        return ""
    f = frames[-1]
    return f" (in {f.name}, line {f.lineno})"


def _tensor(value: Any, what: str, shape: tuple[int, ...] | None = None) -> Tensor:
    """value must be a tensor (of the given shape): else the property fails, saying what came."""
    if value is None or value is Ellipsis:
        _fail(f"{what} returned {value!r}, expected a tensor" + (f" of shape {_shape(shape)}" if shape else ""),
              "is it written yet? (a body of `...` or a missing `return` gives None)")
    if not isinstance(value, Tensor):
        _fail(f"{what} returned a {type(value).__name__}, expected a torch.Tensor"
              + (f" of shape {_shape(shape)}" if shape else ""))
    if shape is not None and tuple(value.shape) != tuple(shape):
        hint = "transposed?" if len(shape) == 2 and tuple(value.shape) == tuple(shape)[::-1] else \
            "a sum over the wrong dimension, or a missing one?" if value.dim() != len(shape) else ""
        _fail(f"{what} has shape {_shape(value)}, expected {_shape(shape)}", hint)
    return value


def _pairs(module: Any, what: str) -> list[tuple[Tensor, Tensor]]:
    """module.param(), checked to be a list of [value, gradient] pairs of tensors of equal shapes."""
    pairs = module.param()
    if pairs is None or pairs is Ellipsis:
        _fail(f"{what}.param() returned {pairs!r}, expected a list of [value, gradient] pairs",
              "a module without parameters returns []")
    if not isinstance(pairs, (list, tuple)):
        _fail(f"{what}.param() returned a {type(pairs).__name__}, expected a list of [value, gradient] pairs")
    for k, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(t, Tensor) for t in pair):
            _fail(f"{what}.param()[{k}] is {type(pair).__name__} {pair!r:.60}, expected a pair "
                  f"[value tensor, gradient tensor]")
        if pair[0].shape != pair[1].shape:
            _fail(f"{what}.param()[{k}]: the gradient has shape {_shape(pair[1])}, the value {_shape(pair[0])}; "
                  f"expected the same shape")
    return [(p[0], p[1]) for p in pairs]


def _same_tensor(a: Tensor, b: Tensor) -> bool:
    """a and b are views of the same memory (the same live tensor)."""
    return a.shape == b.shape and a.data_ptr() == b.data_ptr() and a.stride() == b.stride()


def _expect_raise(call: Callable[[], Any], kind: type[BaseException], what: str, hint: str) -> None:
    """call() must raise ``kind``; a NotImplementedError still means "not written yet"."""
    try:
        call()
    except NotImplementedError:
        raise
    except kind:
        return
    except Exception as e:             # noqa: BLE001 - the learner's code may raise anything
        _fail(f"{what} should raise {kind.__name__}, it raised {type(e).__name__}: {e}"
              f"{_where_in_learner_code(e)}", hint)
    _fail(f"{what} should raise {kind.__name__}, it returned normally", hint)


def _indices(t: Tensor) -> Iterator[tuple[int, ...]]:
    return itertools.product(*(range(s) for s in t.shape))


def _numeric(f: Callable[[], float], t: Tensor) -> Tensor:
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


def _diagnose(name: str, got: Tensor, want: Tensor, context: str, atol: float = ATOL, rtol: float = RTOL,
              oracle: str = "finite differences") -> None:
    """Fail with the worst index and a hint unless got ≈ want (shapes already equal)."""
    got, want = got.detach().to(F64), want.detach().to(F64)
    if not torch.isfinite(got).all():
        i = tuple(int(k) for k in (~torch.isfinite(got)).nonzero()[0])
        _fail(f"{name} is {float(got[i])} at index {i} {context}; {oracle} give {float(want[i]):.6g}",
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
    _fail(f"{name} wrong {context} at index {i}: backward gave {float(got[i]):.6g}, {oracle} give "
          f"{float(want[i]):.6g}", hint)


@contextlib.contextmanager
def _float64_and_own_rng(seed: int) -> Iterator[torch.Generator]:
    """Default dtype float64 and a private random stream; the caller's state is restored after."""
    old = torch.get_default_dtype()
    with torch.random.fork_rng(devices=[]):
        torch.set_default_dtype(F64)
        torch.manual_seed(seed)
        try:
            yield torch.Generator().manual_seed(seed)
        finally:
            torch.set_default_dtype(old)


def _randn(g: torch.Generator, *shape: int) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=F64)


def _batches(g: torch.Generator) -> list[tuple[int, int, int]]:
    """(N, in, out) cases: always a batch of 1; the feature sizes vary with the seed."""
    dims = [int(d) for d in torch.randint(1, 7, (6,), generator=g)]
    return [(1, dims[0] + 1, dims[1] + 1), (5, dims[2] + 1, dims[3] + 2), (7, dims[4], dims[5] + 1)]


# -- the oracles (torch as an outside reference) ---------------------------------------------------------------
def _autograd(fn: Callable[..., Tensor], inputs: list[Tensor], upstream: Tensor | None) -> tuple[Tensor, list[Tensor]]:
    """fn(*inputs) and d(Σ upstream ⊙ fn)/d(each input) by torch.autograd (switched on here only)."""
    with torch.enable_grad():
        leaves = [t.detach().clone().to(F64).requires_grad_() for t in inputs]
        out = fn(*leaves)
        (out if upstream is None else (out * upstream).sum()).backward()
    return out.detach(), [t.grad for t in leaves]


def _torch_functional() -> Any:
    import torch.nn.functional as functional
    return functional


# -- module stages -----------------------------------------------------------------------------------------------
class _Ctx:
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
            _fail(f"{self.name}({shown}) raised {type(e).__name__}: {e}{_where_in_learner_code(e)}")


def _module_gradcheck(ctx: _Ctx, m: Any, x: Tensor, label: str) -> None:
    """backward(g) against central differences of L = Σ g ⊙ forward(x), for x and every param() value."""
    y = _tensor(m.forward(x), f"{label}.forward(x of shape {_shape(x)})")
    g = _randn(ctx.g, *y.shape)
    pairs = _pairs(m, label)
    for _, grad in pairs:
        grad.zero_()
    gx = _tensor(m.backward(g), f"{label}.backward(grad of shape {_shape(g)})", tuple(x.shape)).clone()
    analytic = [grad.clone() for _, grad in _pairs(m, label)]

    def loss() -> float:
        return float((g * m.forward(x)).sum())

    context = f"on a batch of {x.shape[0]} (input {_shape(x)})"
    _diagnose(f"dL/dinput (what {label}.backward returns)", gx, _numeric(loss, x), context)
    for k, ((value, _), grad) in enumerate(zip(_pairs(m, label), analytic, strict=True)):
        _diagnose(f"the gradient in param()[{k}] (shape {_shape(value)})", grad, _numeric(loss, value), context)


def _module_accumulates(ctx: _Ctx, m: Any, x: Tensor, label: str) -> None:
    pairs = _pairs(m, label)
    if not pairs:
        return
    m.zero_grad()
    y = m.forward(x)
    g = _randn(ctx.g, *y.shape)
    m.backward(g)
    once = [grad.clone() for _, grad in _pairs(m, label)]
    m.backward(g)                                   # again, without zero_grad
    for k, ((_, grad), first) in enumerate(zip(_pairs(m, label), once, strict=True)):
        if torch.allclose(grad, 2 * first, rtol=1e-10, atol=1e-12):
            continue
        times = "the same as after one" if torch.allclose(grad, first, rtol=1e-10, atol=1e-12) else \
            "something else"
        _fail(f"after a second backward() without zero_grad(), param()[{k}]'s gradient should be twice the "
              f"first one; it is {times}",
              "parameter gradients add up over backward calls (like PyTorch's .grad); only zero_grad() resets them")


def _module_zero_grad(ctx: _Ctx, m: Any, x: Tensor, label: str) -> None:
    if not _pairs(m, label):
        m.zero_grad()
        return
    y = m.forward(x)
    m.backward(_randn(ctx.g, *y.shape))
    before = _pairs(m, label)                        # the tensors zero_grad() must zero, in place
    m.zero_grad()
    after = _pairs(m, label)
    for k, ((_, grad), (_, old)) in enumerate(zip(after, before, strict=True)):
        if not bool((grad == 0).all()):
            _fail(f"after zero_grad(), param()[{k}]'s gradient is not all zeros")
        if not _same_tensor(grad, old) or not bool((old == 0).all()):
            _fail(f"zero_grad() replaced param()[{k}]'s gradient tensor instead of zeroing it in place; "
                  f"an optimizer holding the pairs keeps the old, non-zero one", "zero the existing tensor")


def _module_live_gradients(ctx: _Ctx, m: Any, x: Tensor, label: str) -> None:
    held = _pairs(m, label)                          # what an optimizer built before training would hold
    m.zero_grad()
    y = m.forward(x)
    m.backward(_randn(ctx.g, *y.shape))
    for k, ((_, old), (_, new)) in enumerate(zip(held, _pairs(m, label), strict=True)):
        if not _same_tensor(old, new) or not torch.equal(old, new):
            _fail(f"a pair taken from param() before backward() does not see the new gradient in param()[{k}]: "
                  f"the gradient tensor was replaced or copied, so an optimizer holding the pairs would "
                  f"never see it", "update the gradient tensor in place, and let param() return it, not a copy")


def _live_values(ctx: _Ctx, m: Any, x: Tensor, label: str) -> None:
    """Changing a value from param() in place changes the output: the pairs alias the live tensors."""
    pairs = _pairs(m, label)
    again = _pairs(m, label)
    for k, ((v, gr), (v2, gr2)) in enumerate(zip(pairs, again, strict=True)):
        if not (_same_tensor(v, v2) and _same_tensor(gr, gr2)):
            _fail(f"two calls of param() give different tensors for pair {k}: param() returns copies",
                  "return the live tensors themselves (no .clone()), so an optimizer can update them in place")
    for k, (v, _) in enumerate(pairs):
        y0 = m.forward(x).clone()
        old = v.clone()
        v.add_(0.5)
        y1 = m.forward(x).clone()
        v.copy_(old)
        if torch.equal(y0, y1):
            _fail(f"adding 0.5 to the value tensor of param()[{k}] in place does not change forward(): "
                  f"param() returns copies, so an optimizer's updates would be lost",
                  "return the live tensors themselves (no .clone())")


def _fresh_backward_raises(ctx: _Ctx, factory: Callable[[], Any], label: str, grad_shape: tuple[int, ...]) -> None:
    fresh = factory()
    _expect_raise(lambda: fresh.backward(torch.ones(grad_shape)), RuntimeError,
                  f"{label}.backward() before any forward()",
                  "backward needs what forward cached; say so with a RuntimeError")


def _stage_linear(ctx: _Ctx) -> list[tuple[str, str, Callable[[], None]]]:
    cases = _batches(ctx.g)
    n0, i0, o0 = cases[1]

    def label(i: int, o: int) -> str:
        return f"{ctx.name}({i}, {o})"

    def param() -> None:
        m = ctx.make(i0, o0)
        pairs = _pairs(m, label(i0, o0))
        shapes = [tuple(v.shape) for v, _ in pairs]
        if shapes != [(o0, i0), (o0,)]:
            _fail(f"{label(i0, o0)}.param() gives shapes {shapes}, expected [weight {_shape((o0, i0))}, "
                  f"bias {_shape((o0,))}]", "the weight is (out, in), PyTorch's layout, then the bias")
        for k, (v, gr) in enumerate(pairs):
            if v.dtype != F64:
                _fail(f"param()[{k}] is {v.dtype} while torch's default dtype is float64",
                      "create the tensors without a fixed dtype (they then follow torch.get_default_dtype())")
            if not bool((gr == 0).all()):
                _fail(f"param()[{k}]'s gradient does not start at zero")

    def forward() -> None:
        F = _torch_functional()
        for n, i, o in cases:
            m = ctx.make(i, o)
            x = _randn(ctx.g, n, i)
            y = _tensor(m.forward(x), f"{label(i, o)}.forward(x of shape {_shape(x)})", (n, o))
            (w, _), (b, _) = _pairs(m, label(i, o))
            _diagnose("the output", y, F.linear(x, w, b), f"on a batch of {n}", atol=1e-12, rtol=1e-10,
                      oracle="x Wᵀ + b would")

    def live_values() -> None:
        _live_values(ctx, ctx.make(i0, o0), _randn(ctx.g, n0, i0), label(i0, o0))

    def gradcheck() -> None:
        for n, i, o in cases:
            _module_gradcheck(ctx, ctx.make(i, o), _randn(ctx.g, n, i), label(i, o))

    def autograd() -> None:
        F = _torch_functional()
        m, x = ctx.make(i0, o0), _randn(ctx.g, n0, i0)
        g = _randn(ctx.g, n0, o0)
        m.forward(x)
        m.zero_grad()
        gx = m.backward(g)
        (w, dw), (b, db) = _pairs(m, label(i0, o0))
        _, (ax, aw, ab) = _autograd(F.linear, [x, w, b], g)
        for name, mine, ref in (("dL/dx", gx, ax), ("dL/dW", dw, aw), ("dL/db", db, ab)):
            _diagnose(name, mine, ref, f"on a batch of {n0}", atol=1e-10, rtol=1e-8, oracle="torch.autograd would")

    def errors() -> None:
        _fresh_backward_raises(ctx, lambda: ctx.make(i0, o0), label(i0, o0), (n0, o0))
        m = ctx.make(i0, o0)
        for bad in (_randn(ctx.g, n0, i0 + 1), _randn(ctx.g, i0)):
            _expect_raise(lambda bad=bad: m.forward(bad), ValueError,
                          f"{label(i0, o0)}.forward(x of shape {_shape(bad)})",
                          f"check that x has shape (N, {i0}) and say what came")

    return [
        ("param", "param() gives [weight (out, in), bias (out,)] pairs, gradients starting at 0", param),
        ("forward", "forward(x) = x Wᵀ + b on batches of 1, 5 and 7", forward),
        ("live tensors", "param() returns the live tensors, not copies", live_values),
        ("gradcheck", "backward agrees with finite differences (float64, batches of 1, 5, 7)", gradcheck),
        ("autograd", "dL/dx, dL/dW, dL/db agree with torch.autograd", autograd),
        ("accumulation", "two backward() calls give twice the gradient", lambda: _module_accumulates(
            ctx, ctx.make(i0, o0), _randn(ctx.g, n0, i0), label(i0, o0))),
        ("live gradients", "pairs taken before backward() see the new gradients", lambda: _module_live_gradients(
            ctx, ctx.make(i0, o0), _randn(ctx.g, n0, i0), label(i0, o0))),
        ("zero_grad", "zero_grad() zeroes the gradients in place", lambda: _module_zero_grad(
            ctx, ctx.make(i0, o0), _randn(ctx.g, n0, i0), label(i0, o0))),
        ("errors", "backward before forward: RuntimeError; a wrong input shape: ValueError", errors),
    ]


_ACTIVATIONS: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor, Tensor, Tensor], Tensor] | None, str]] = {
    # stage: (torch reference, the classic slip: the derivative computed from x instead of y, its hint)
    "relu": (torch.relu, None, ""),
    "tanh": (torch.tanh, lambda x, y, g: g * (1 - x * x),
             "the derivative is written with x; express it with the output y = tanh(x) (notebook 03)"),
    "sigmoid": (torch.sigmoid, lambda x, y, g: g * x * (1 - x),
                "the derivative is written with x; express it with the output y = σ(x) (notebook 03)"),
    "log_softmax": (lambda x: torch.log_softmax(x, dim=1), None, ""),
}


def _stage_activation(ctx: _Ctx) -> list[tuple[str, str, Callable[[], None]]]:
    ref, slip, slip_hint = _ACTIVATIONS[ctx.stage]
    shapes = [(1, 3), (5, 4), (7, 2)] if ctx.seed == 0 else [(1, 2), (6, 3), (4, 5)]
    label = f"{ctx.name}()"

    def inputs(shape: tuple[int, ...]) -> Tensor:
        x = _randn(ctx.g, *shape)
        return x + 0.1 * x.sign() if ctx.stage == "relu" else x      # ReLU: no input near its kink at 0

    def param() -> None:
        pairs = ctx.make().param()
        if not isinstance(pairs, (list, tuple)) or len(pairs) != 0:
            _fail(f"{label}.param() returned {pairs!r:.60}, expected [] (no parameters)")

    def forward() -> None:
        for shape in shapes:
            x = inputs(shape)
            y = _tensor(ctx.make().forward(x.clone()), f"{label}.forward(x of shape {_shape(x)})", shape)
            _diagnose("the output", y, ref(x), f"on a batch of {shape[0]}", atol=1e-12, rtol=1e-10,
                      oracle=f"torch's {ctx.stage} would")

    def gradcheck() -> None:
        for shape in shapes:
            m, x = ctx.make(), inputs(shape)
            y = _tensor(m.forward(x), f"{label}.forward(x of shape {_shape(x)})", shape).clone()
            g = _randn(ctx.g, *shape)
            gx = _tensor(m.backward(g), f"{label}.backward(grad of shape {_shape(g)})", shape).clone()
            numeric = _numeric(lambda m=m, g=g, x=x: float((g * m.forward(x)).sum()), x)
            if slip is not None and torch.allclose(gx, slip(x, y, g), rtol=1e-8, atol=1e-12) and \
                    not torch.allclose(gx, numeric, atol=ATOL):
                _fail(f"dL/dinput wrong on a batch of {shape[0]}", slip_hint)
            _diagnose(f"dL/dinput (what {label}.backward returns)", gx, numeric,
                      f"on a batch of {shape[0]} (input {_shape(x)})")

    def autograd() -> None:
        shape = shapes[1]
        m, x, g = ctx.make(), inputs(shape), _randn(ctx.g, *shape)
        m.forward(x)
        gx = m.backward(g)
        _, (ax,) = _autograd(ref, [x], g)
        _diagnose("dL/dinput", _tensor(gx, f"{label}.backward", shape), ax, f"on a batch of {shape[0]}",
                  atol=1e-10, rtol=1e-8, oracle="torch.autograd would")

    def stable() -> None:
        x = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 500.0]], dtype=F64)
        m = ctx.make()
        y = _tensor(m.forward(x.clone()), f"{label}.forward(logits of ±1000)", (2, 3))
        g = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=F64)
        gx = _tensor(m.backward(g), f"{label}.backward", (2, 3))
        want, (ax,) = _autograd(ref, [x], g)
        if not (torch.isfinite(y).all() and torch.isfinite(gx).all()):
            _fail(f"for logits like ±1000 the output or its gradient is not finite (got {y.tolist()})",
                  "exp overflows for large logits; the max shift of notebook 05 avoids it")
        _diagnose("the output for logits of ±1000", y, want, "", atol=1e-9, rtol=1e-9, oracle="torch would")
        _diagnose("dL/dinput for logits of ±1000", gx, ax, "", atol=1e-9, rtol=1e-9, oracle="torch.autograd would")

    def errors() -> None:
        _fresh_backward_raises(ctx, ctx.make, label, shapes[1])
        m = ctx.make()
        m.forward(inputs(shapes[1]))
        bad = _randn(ctx.g, shapes[1][0] + 1, shapes[1][1])
        _expect_raise(lambda: m.backward(bad), ValueError,
                      f"{label}.backward(grad of shape {_shape(bad)}) after a forward of shape {_shape(shapes[1])}",
                      "the gradient must have the shape of the last output")

    props = [
        ("param", "param() is [] (no parameters)", param),
        ("forward", f"forward(x) matches torch's {ctx.stage}", forward),
        ("gradcheck", "backward agrees with finite differences (float64, batches of 1, 5, 7)"
         if ctx.seed == 0 else "backward agrees with finite differences (float64, batches of 1, 6, 4)", gradcheck),
        ("autograd", "backward agrees with torch.autograd", autograd),
    ]
    if ctx.stage == "log_softmax":
        props.append(("stable", "finite and right for logits of ±1000", stable))
    props.append(("errors", "backward before forward: RuntimeError; a wrong gradient shape: ValueError", errors))
    return props


# -- losses ----------------------------------------------------------------------------------------------------
def _stage_loss(ctx: _Ctx) -> list[tuple[str, str, Callable[[], None]]]:
    F = _torch_functional()
    ce = ctx.stage == "cross_entropy"
    shapes = [(1, 2), (6, 3), (5, 4)] if ctx.seed == 0 else [(1, 3), (4, 2), (7, 5)]
    label = f"{ctx.name}()"

    def data(n: int, c: int) -> tuple[Tensor, Tensor]:
        pred = _randn(ctx.g, n, c)
        target = torch.randint(0, c, (n,), generator=ctx.g) if ce else _randn(ctx.g, n, c)
        return pred, target

    def ref(pred: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(pred, target) if ce else F.mse_loss(pred, target)

    def value(m: Any, pred: Tensor, target: Tensor) -> Tensor:
        v = _tensor(m.forward(pred, target), f"{label}.forward(prediction of shape {_shape(pred)}, target)")
        if v.numel() != 1:
            _fail(f"{label}.forward returned shape {_shape(v)}, expected a single number (a 0-d tensor)",
                  "reduce to one number: the mean" + (" over the batch" if ce else " over all N·C entries"))
        return v.reshape(())

    def param() -> None:
        pairs = ctx.make().param()
        if not isinstance(pairs, (list, tuple)) or len(pairs) != 0:
            _fail(f"{label}.param() returned {pairs!r:.60}, expected [] (no parameters)")

    def forward() -> None:
        for n, c in shapes:
            pred, target = data(n, c)
            _diagnose("the loss", value(ctx.make(), pred, target), ref(pred, target), f"on a batch of {n}",
                      atol=1e-12, rtol=1e-10, oracle="torch.nn.functional" + (".cross_entropy" if ce else ".mse_loss"))

    def gradcheck() -> None:
        for n, c in shapes:
            m, (pred, target) = ctx.make(), data(n, c)
            value(m, pred, target)
            grad = _tensor(m.backward(), f"{label}.backward()", (n, c)).clone()
            _diagnose(f"dL/dprediction (what {label}.backward() returns)", grad,
                      _numeric(lambda m=m, p=pred, t=target: float(m.forward(p, t)), pred),
                      f"on a batch of {n} (prediction {_shape(pred)})")

    def autograd() -> None:
        n, c = shapes[1]
        m, (pred, target) = ctx.make(), data(n, c)
        value(m, pred, target)
        grad = _tensor(m.backward(), f"{label}.backward()", (n, c))
        _, (ap,) = _autograd(lambda p: ref(p, target), [pred], None)
        _diagnose("dL/dprediction", grad, ap, f"on a batch of {n}", atol=1e-10, rtol=1e-8,
                  oracle="torch.autograd would")

    def stable() -> None:
        pred = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 500.0], [-1000.0, -1000.0, 1000.0]],
                            dtype=F64)
        target = torch.tensor([1, 1, 0])
        m = ctx.make()
        v = m.forward(pred.clone(), target)
        v = _tensor(v, f"{label}.forward(logits of ±1000)")
        grad = _tensor(m.backward(), f"{label}.backward()", (3, 3))
        want, (ap,) = _autograd(lambda p: ref(p, target), [pred], None)
        if not (torch.isfinite(v).all() and torch.isfinite(grad).all()):
            _fail(f"for logits like ±1000 the loss is {float(v.reshape(-1)[0])} (torch: {float(want):g}) or its "
                  f"gradient is not finite", "exp overflows for large logits; the max shift of notebook 05 avoids it")
        _diagnose("the loss for logits of ±1000", v.reshape(()), want, "", atol=1e-9, rtol=1e-9, oracle="torch would")
        _diagnose("dL/dprediction for logits of ±1000", grad, ap, "", atol=1e-9, rtol=1e-9,
                  oracle="torch.autograd would")

    def errors() -> None:
        fresh = ctx.make()
        _expect_raise(lambda: fresh.backward(), RuntimeError, f"{label}.backward() before any forward()",
                      "backward needs what forward cached; say so with a RuntimeError")
        n, c = shapes[1]
        pred, target = data(n, c)
        bad = target[:-1]
        _expect_raise(lambda: ctx.make().forward(pred, bad), ValueError,
                      f"{label}.forward(prediction {_shape(pred)}, target {_shape(bad)})",
                      "check that the target " + ("has one class index per row" if ce else
                                                  "has the prediction's shape") + " and say what came")

    sizes = ", ".join(str(n) for n, _ in shapes)
    props = [
        ("param", "param() is [] (no parameters)", param),
        ("forward", "the value matches torch" + (" (mean over the batch)" if ce else " (mean over all entries)"),
         forward),
        ("gradcheck", f"backward() agrees with finite differences (float64, batches of {sizes})", gradcheck),
        ("autograd", "backward() agrees with torch.autograd", autograd),
    ]
    if ce:
        props.append(("stable", "finite and right for logits of ±1000", stable))
    props.append(("errors", "backward before forward: RuntimeError; a wrong target shape: ValueError", errors))
    return props


# -- Sequential: checked with probe modules of this file, so only the learner's Sequential is graded ---------------
class _ProbeAffine:
    """A minimal affine module following the protocol (a test double, not the learner's)."""

    def __init__(self, n_in: int, n_out: int, g: torch.Generator):
        self.w, self.b = _randn(g, n_out, n_in), _randn(g, n_out)
        self.dw, self.db = torch.zeros(n_out, n_in, dtype=F64), torch.zeros(n_out, dtype=F64)
        self.x: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self.x = x
        return x @ self.w.T + self.b

    def backward(self, g: Tensor) -> Tensor:
        if self.x is None:
            raise RuntimeError("probe backward() called before forward()")
        self.dw += g.T @ self.x
        self.db += g.sum(0)
        return g @ self.w

    def param(self) -> list[list[Tensor]]:
        return [[self.w, self.dw], [self.b, self.db]]

    def zero_grad(self) -> None:
        self.dw.zero_()
        self.db.zero_()

    __call__ = forward


class _ProbeTanh:
    def __init__(self) -> None:
        self.y: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self.y = torch.tanh(x)
        return self.y

    def backward(self, g: Tensor) -> Tensor:
        if self.y is None:
            raise RuntimeError("probe backward() called before forward()")
        return g * (1 - self.y * self.y)

    def param(self) -> list:
        return []

    def zero_grad(self) -> None:
        pass

    __call__ = forward


def _stage_sequential(ctx: _Ctx) -> list[tuple[str, str, Callable[[], None]]]:
    n, a, h, o = (5, 3, 4, 2) if ctx.seed == 0 else (4, 2, 5, 3)

    def probes() -> list[Any]:
        return [_ProbeAffine(a, h, ctx.g), _ProbeTanh(), _ProbeAffine(h, o, ctx.g)]

    label = f"{ctx.name}(affine, tanh, affine)"

    def param() -> None:
        children = probes()
        pairs = _pairs(ctx.make(*children), label)
        expected = [p for c in children for p in c.param()]
        if len(pairs) != len(expected) or not all(_same_tensor(p[0], e[0]) and _same_tensor(p[1], e[1])
                                                  for p, e in zip(pairs, expected, strict=False)):
            _fail(f"{label}.param() gives {len(pairs)} pairs; expected the children's {len(expected)} pairs, "
                  f"in order, the same live tensors", "concatenate each child's param(), no copies")
        empty = _pairs(ctx.make(_ProbeTanh(), _ProbeTanh()), f"{ctx.name}(tanh, tanh)")
        if empty:
            _fail(f"{ctx.name}(tanh, tanh).param() has {len(empty)} pairs, expected []")

    def forward() -> None:
        children = probes()
        x = _randn(ctx.g, n, a)
        want = x
        for c in children:
            want = c.forward(want)
        y = _tensor(ctx.make(*children).forward(x), f"{label}.forward(x of shape {_shape(x)})", (n, o))
        _diagnose("the output", y, want, "", atol=1e-12, rtol=1e-10, oracle="the children in order")

    def gradcheck() -> None:
        for batch in (1, n):
            _module_gradcheck(ctx, ctx.make(*probes()), _randn(ctx.g, batch, a), label)

    def errors() -> None:
        _fresh_backward_raises(ctx, lambda: ctx.make(*probes()), label, (n, o))

    props = [
        ("param", "param() is the children's pairs, in order, live; [] without parameters", param),
        ("forward", "forward runs the children in order", forward),
        ("gradcheck", "backward runs them in reverse: finite differences agree (batches of 1 and 5)", gradcheck),
        ("accumulation", "two backward() calls give twice the gradient", lambda: _module_accumulates(
            ctx, ctx.make(*probes()), _randn(ctx.g, n, a), label)),
        ("zero_grad", "zero_grad() zeroes every child's gradients in place", lambda: _module_zero_grad(
            ctx, ctx.make(*probes()), _randn(ctx.g, n, a), label)),
        ("errors", "backward before forward: RuntimeError", errors),
    ]
    if len(ctx.classes) > 1:                         # the learner's own modules inside their Sequential
        def yours() -> None:
            mods = _chain_sizes(ctx.classes[1:], a, h, o)
            names = ", ".join(type(m).__name__ for m in mods)
            _module_gradcheck(ctx, ctx.make(*mods), _randn(ctx.g, n, a), f"{ctx.name}({names})")
            _module_accumulates(ctx, ctx.make(*mods), _randn(ctx.g, n, a), f"{ctx.name}({names})")
        props.append(("your modules", "with your modules inside: finite differences agree, gradients accumulate",
                      yours))
    return props


def _takes_sizes(cls: Any) -> bool:
    try:
        cls()
    except TypeError:
        return True
    return False


def _chain_sizes(classes: tuple[Any, ...], a: int, h: int, o: int) -> list[Any]:
    """(Linear, ReLU) -> [Linear(a, h), ReLU(), Linear(h, o)]: sized layers map to h, one last maps h -> o."""
    mods, width, last = [], a, None
    for c in classes:
        if _takes_sizes(c):
            mods.append(c(width, h))
            width, last = h, c
        else:
            mods.append(c())
    if last is not None:
        mods.append(last(width, o))
    return mods


# -- SGD -------------------------------------------------------------------------------------------------------
def _stage_sgd(ctx: _Ctx) -> list[tuple[str, str, Callable[[], None]]]:
    import torch.optim as optim

    steps = 20
    shapes = [(3, 4), (4,)] if ctx.seed == 0 else [(2, 5), (5,)]
    start = [_randn(ctx.g, *s) for s in shapes]
    noise = [[_randn(ctx.g, *s) for s in shapes] for _ in range(steps)]

    def grad_at(t: int, k: int, p: Tensor) -> Tensor:
        return 0.5 * p + noise[t][k]                   # a gradient that depends on where the parameters are

    def run_mine(lr: float, momentum: float | None) -> list[list[Tensor]]:
        values = [s.clone() for s in start]
        grads = [torch.zeros_like(s) for s in start]
        pairs = [[v, g] for v, g in zip(values, grads, strict=False)]
        kwargs = {} if momentum is None else {"momentum": momentum}
        opt = ctx.make(pairs, lr, **kwargs)
        path = []
        for t in range(steps):
            for k, (v, g) in enumerate(zip(values, grads, strict=False)):
                g.copy_(grad_at(t, k, v))
            opt.step()
            path.append([v.clone() for v in values])
        return path

    def run_torch(lr: float, momentum: float) -> list[list[Tensor]]:
        with torch.enable_grad():
            params = [s.clone().requires_grad_() for s in start]
            opt = optim.SGD(params, lr=lr, momentum=momentum, foreach=False)
            path = []
            for t in range(steps):
                for k, p in enumerate(params):
                    p.grad = grad_at(t, k, p.detach())
                opt.step()
                path.append([p.detach().clone() for p in params])
        return path

    def run_rule(lr: float, rule: Callable[[Tensor | None, Tensor], Tensor]) -> list[list[Tensor]]:
        values, bufs, path = [s.clone() for s in start], [None, None], []
        for t in range(steps):
            for k, v in enumerate(values):
                bufs[k] = rule(bufs[k], grad_at(t, k, v))
                v.sub_(lr * bufs[k])
            path.append([v.clone() for v in values])
        return path

    def same(a: list[list[Tensor]], b: list[list[Tensor]]) -> bool:
        return all(torch.allclose(x, y, rtol=1e-9, atol=1e-12)
                   for sa, sb in zip(a, b, strict=True) for x, y in zip(sa, sb, strict=True))

    def first_difference(mine: list[list[Tensor]], ref: list[list[Tensor]]) -> tuple[int, int, float]:
        for t, (sm, sr) in enumerate(zip(mine, ref, strict=False)):
            for k, (x, y) in enumerate(zip(sm, sr, strict=False)):
                if not torch.allclose(x, y, rtol=1e-9, atol=1e-12):
                    return t + 1, k, float((x - y).abs().max())
        return 0, 0, 0.0

    def plain() -> None:
        mine, ref = run_mine(0.1, None), run_torch(0.1, 0.0)
        if all(torch.equal(v, s) for v, s in zip(mine[-1], start, strict=False)):
            _fail(f"after {steps} step() calls the parameter tensors are unchanged",
                  "update the value tensors of the pairs in place (a new tensor bound to a name is lost)")
        if not same(mine, ref):
            t, k, d = first_difference(mine, ref)
            _fail(f"with momentum 0, step {t} differs from torch.optim.SGD in parameter {k} (max |diff| {d:.3g})",
                  "θ ← θ − lr · gradient, for every pair")

    def momentum() -> None:
        lr, mu = 0.05, 0.9
        mine, ref = run_mine(lr, mu), run_torch(lr, mu)
        if same(mine, ref):
            return
        t, k, d = first_difference(mine, ref)
        where = f"with momentum {mu}, step {t} differs from torch.optim.SGD in parameter {k} (max |diff| {d:.3g})"
        if same(mine, run_torch(lr, 0.0)):
            _fail(where, "your steps are plain SGD's: the momentum is ignored")
        ema_zero = run_rule(lr, lambda b, g: (1 - mu) * g if b is None else mu * b + (1 - mu) * g)
        ema_first = run_rule(lr, lambda b, g: g.clone() if b is None else mu * b + (1 - mu) * g)
        if same(mine, ema_zero) or same(mine, ema_first):
            _fail(where, "your buffer is an exponential moving average (the gradient scaled by 1 − μ); "
                         "torch's convention does not scale the gradient (notebook 06)")
        _fail(where, "the buffer b ← μ b + gradient of notebook 06, then θ ← θ − lr · b; one buffer per parameter, "
                     "kept between steps")

    def zero_grad() -> None:
        values = [s.clone() for s in start]
        grads = [torch.ones_like(s) for s in start]
        opt = ctx.make([[v, g] for v, g in zip(values, grads, strict=False)], 0.1)
        opt.zero_grad()
        if not all(bool((g == 0).all()) for g in grads):
            _fail("after zero_grad() the gradient tensors the optimizer was given are not all zeros",
                  "zero them in place")

    def errors() -> None:
        pairs = [[s.clone(), torch.zeros_like(s)] for s in start]
        for kwargs in ({"lr": -0.1}, {"lr": 0.0}, {"lr": 0.1, "momentum": -0.5}, {"lr": 0.1, "momentum": 1.0}):
            shown = ", ".join(f"{k}={v}" for k, v in kwargs.items())
            _expect_raise(lambda kwargs=kwargs: ctx.cls(pairs, **kwargs), ValueError, f"{ctx.name}(pairs, {shown})",
                          "check the hyperparameters in __init__: lr > 0, 0 ≤ momentum < 1")

    return [
        ("plain SGD", f"momentum 0: the same {steps} steps as torch.optim.SGD", plain),
        ("momentum", f"momentum 0.9: the same {steps} steps as torch.optim.SGD", momentum),
        ("zero_grad", "zero_grad() zeroes the gradients in place", zero_grad),
        ("errors", "lr ≤ 0 or momentum outside [0, 1): ValueError", errors),
    ]


# -- Module -----------------------------------------------------------------------------------------------------
def _stage_module(ctx: _Ctx) -> list[tuple[str, str, Callable[[], None]]]:
    base = ctx.cls

    def param() -> None:
        pairs = ctx.make().param()
        if not isinstance(pairs, (list, tuple)) or len(pairs) != 0:
            _fail(f"{ctx.name}().param() returned {pairs!r:.60}, expected [] (a module without parameters)")

    def abstract() -> None:
        m = ctx.make()
        for method, args in (("forward", (torch.ones(2, 3),)), ("backward", (torch.ones(2, 3),))):
            try:
                getattr(m, method)(*args)
            except NotImplementedError:
                continue
            except Exception as e:         # noqa: BLE001
                _fail(f"{ctx.name}().{method}() raised {type(e).__name__}; a subclass must write it: expected "
                      f"NotImplementedError")
            _fail(f"{ctx.name}().{method}() returned normally; expected NotImplementedError (subclasses write it)")

    def call() -> None:
        probe = type("Doubler", (base,), {"forward": lambda self, *inputs: sum(2 * t for t in inputs)})
        a, b = _randn(ctx.g, 2, 3), _randn(ctx.g, 2, 3)
        m = probe()
        got = m(a, b)
        if not isinstance(got, Tensor) or not torch.equal(got, 2 * a + 2 * b):
            _fail(f"for a subclass, module(a, b) should return module.forward(a, b); got {type(got).__name__}",
                  "__call__ passes all its inputs on to forward")

    def zero_grad() -> None:
        w, gw = _randn(ctx.g, 2, 2), torch.ones(2, 2)
        b, gb = _randn(ctx.g, 2), torch.ones(2)
        probe = type("TwoParams", (base,), {"param": lambda self: [[w, gw], [b, gb]]})
        probe().zero_grad()
        if not (bool((gw == 0).all()) and bool((gb == 0).all())):
            _fail("for a subclass whose param() gives two pairs, zero_grad() leaves non-zero gradients",
                  "zero every gradient tensor param() gives, in place")
        ctx.make().zero_grad()                   # no parameters: nothing to do, no error

    return [
        ("param", "param() is [] for a module without parameters", param),
        ("abstract", "forward and backward raise NotImplementedError in the base class", abstract),
        ("__call__", "module(*inputs) calls forward(*inputs)", call),
        ("zero_grad", "zero_grad() zeroes every gradient param() gives, in place", zero_grad),
    ]


# -- the one entry point --------------------------------------------------------------------------------------------
STAGES: dict[str, tuple[Callable[[_Ctx], list], str]] = {
    "module": (_stage_module, "Module"),
    "linear": (_stage_linear, "Linear"),
    "relu": (_stage_activation, "ReLU"),
    "tanh": (_stage_activation, "Tanh"),
    "sigmoid": (_stage_activation, "Sigmoid"),
    "log_softmax": (_stage_activation, "LogSoftmax"),
    "mse": (_stage_loss, "MSE"),
    "cross_entropy": (_stage_loss, "CrossEntropy"),
    "sequential": (_stage_sequential, "Sequential"),
    "sgd": (_stage_sgd, "SGD"),
}


def check(stage: str, *classes: Any, seed: int = 0, quiet: bool = False) -> CheckResult:
    """Check the learner's class for one stage; print ✓ per property or one ✗ line; return a CheckResult.

    stage: one of STAGES ("linear", "relu", "tanh", "sigmoid", "log_softmax", "mse", "cross_entropy",
    "sequential", "sgd", "module"). classes: the learner's class (for "sequential", optionally the
    learner's module classes after it, e.g. ``check("sequential", Sequential, Linear, ReLU)``, to
    also check them together). seed: another seed gives other shapes and numbers (hidden tests).
    """
    if stage not in STAGES:
        raise ValueError(f"check: unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    build, cls_name = STAGES[stage]
    if not classes:
        raise TypeError(f"check({stage!r}, ...): pass your {cls_name} class, e.g. check({stage!r}, {cls_name})")
    for c in classes:
        if not isinstance(c, type):
            raise TypeError(f"check({stage!r}, ...): expected a class such as {cls_name}, got an instance of "
                            f"{type(c).__name__} (pass the class, not an object)")
    result = CheckResult(stage)
    out = (lambda line: None) if quiet else print
    with _float64_and_own_rng(seed) as g:
        ctx = _Ctx(stage, classes, seed, g)
        try:
            props = build(ctx)
        except NotImplementedError as e:
            props, result.failed, result.not_implemented = [], "setup", True
            result.message = f"… {cls_name}: not implemented yet: {e}"
        except _Fail as e:
            props, result.failed, result.message = [], "setup", f"✗ {stage} · setup: {e}"
        for name, description, run in props:
            try:
                run()
            except NotImplementedError as e:
                result.failed, result.not_implemented = name, True
                what = e or "a method still raises NotImplementedError"
                result.message = f"… {cls_name}: not implemented yet: {what}"
                break
            except _Fail as e:
                result.failed, result.message = name, f"✗ {stage} · {name}: {e}"
                break
            except Exception as e:             # noqa: BLE001 - any error in the learner's code is reported
                result.failed = name
                result.message = (f"✗ {stage} · {name}: your code raised {type(e).__name__}: {e}"
                                  f"{_where_in_learner_code(e)}")
                break
            result.passed.append(name)
            out(f"✓ {stage} · {name}: {description}")
    if result.message:
        out(result.message)
    return result


# -- comparing gradients (notebook 14 and wherever gradients are compared) ----------------------------------------
@dataclass
class GradientComparison:
    """One row per tensor: 'exact', 'close' or 'WRONG'; truthy if none is WRONG (or missing)."""

    rows: list[tuple[str, str, float, tuple[int, ...] | None]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(verdict in ("exact", "close") for _, verdict, _, _ in self.rows)

    def __bool__(self) -> bool:
        return self.ok

    def verdicts(self) -> dict[str, str]:
        return {name: verdict for name, verdict, _, _ in self.rows}

    def __repr__(self) -> str:
        counts = {v: sum(1 for _, w, _, _ in self.rows if w == v) for v in ("exact", "close", "WRONG", "missing")}
        return "<compare_gradients: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + ">"


def compare_gradients(mine: dict[str, Tensor], reference: dict[str, Tensor], *, atol: float = 1e-6,
                      rtol: float = 1e-5, quiet: bool = False) -> GradientComparison:
    """For each reference tensor print exact / close (max |diff| …) / WRONG (max |diff| …, worst at index …).

    close: |mine - reference| <= atol + rtol·|reference| everywhere, but not bit-for-bit equal.
    """
    result = GradientComparison()
    width = max((len(k) for k in reference), default=0)
    lines = []
    for name, ref in reference.items():
        got = mine.get(name)
        shown = f"{name:<{width}}  {_shape(ref):<9}"
        if got is None or not isinstance(got, Tensor):
            result.rows.append((name, "missing", float("nan"), None))
            lines.append(f"{shown} missing (got {type(got).__name__})")
            continue
        if got.shape != ref.shape:
            result.rows.append((name, "WRONG", float("nan"), None))
            lines.append(f"{shown} WRONG shape {_shape(got)}, expected {_shape(ref)}")
            continue
        a, b = got.detach().to(F64), ref.detach().to(F64)
        diff = (a - b).abs()
        worst = float(diff.max()) if diff.numel() else 0.0
        if torch.equal(got, ref):
            result.rows.append((name, "exact", 0.0, None))
            lines.append(f"{shown} exact")
        elif bool((diff <= atol + rtol * b.abs()).all()):
            result.rows.append((name, "close", worst, None))
            lines.append(f"{shown} close (max |diff| {worst:.1e})")
        else:
            excess = diff - (atol + rtol * b.abs())
            idx = tuple(int(i) for i in torch.unravel_index(excess.argmax(), excess.shape))
            result.rows.append((name, "WRONG", worst, idx))
            lines.append(f"{shown} WRONG (max |diff| {worst:.3g}, worst at index {idx}: "
                         f"{float(a[idx]) + 0.0:.6g} vs {float(b[idx]) + 0.0:.6g})")      # + 0.0: no "-0"
    extra = [k for k in mine if k not in reference]
    if extra:
        lines.append(f"(not compared, no reference: {', '.join(extra)})")
    if not quiet:
        print("\n".join(lines))
    return result


# -- demos that need unfinished classes ----------------------------------------------------------------------------
def when_ready(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs); if a stub raises NotImplementedError, print one line and return None."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as e:
        print(f"… not implemented yet: {e or 'a method still raises NotImplementedError'} "
              f"(this cell runs once it is written)")
        return None


# -- the learner's file: cells that are both run and saved -------------------------------------------------------------
PART = re.compile(r"^# ---- part: (\S+) ----$", re.MULTILINE)


def _write_part(path: str, part: str, source: str) -> None:
    """Replace (or append) the part named ``part`` of the file at path, keeping the others in order."""
    import os

    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    parts: dict[str, str] = {}
    header = ""
    pieces = PART.split(text)
    if pieces:
        header = pieces[0]
        for name, body in zip(pieces[1::2], pieces[2::2], strict=False):
            parts[name] = body
    parts[part] = "\n" + source.strip("\n") + "\n\n\n"
    if not header.strip():
        header = ('"""The learner\'s own framework, written by the %%framework cells of notebook 13."""\n\n'
                  "import math\n\nimport torch\n\n\n")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(header + "".join(f"# ---- part: {name} ----{body}" for name, body in parts.items()).rstrip("\n")
                + "\n")
    os.replace(tmp, path)


def framework_magic(line: str, cell: str, *, path: str = "my_framework.py") -> None:
    """``%%framework <part>``: save the cell as that part of my_framework.py, then run it in the notebook."""
    part = line.strip() or "main"
    if not re.fullmatch(r"[A-Za-z_][\w-]*", part):
        raise ValueError(f"%%framework: expected a part name such as 'linear', got {line!r}")
    from IPython import get_ipython

    shell = get_ipython()
    filename = shell.compile.cache(cell)             # so tracebacks show the cell's lines
    code = compile(cell, filename, "exec")           # a syntax error stops here, before the file is touched
    _write_part(path, part, cell)
    exec(code, shell.user_ns)                        # noqa: S102 - the learner's own cell, as a normal cell runs it


def register_framework_magic(path: str = "my_framework.py") -> None:
    """Make ``%%framework <part>`` available in this IPython kernel (cells run, and saved to ``path``)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("register_framework_magic: needs an IPython kernel (a notebook)")
    shell.register_magic_function(lambda line, cell: framework_magic(line, cell, path=path),
                                  magic_kind="cell", magic_name="framework")


def framework_from_notebook(notebook: str, path: str = "my_framework.py") -> str:
    """Rebuild my_framework.py from the %%framework cells of a saved notebook (as last saved); return path."""
    import json

    with open(notebook, encoding="utf-8") as f:
        nb = json.load(f)
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and src.startswith("%%framework"):
            first, _, body = src.partition("\n")
            _write_part(path, first[len("%%framework"):].strip() or "main", body)
    return path


if __name__ == "__main__":                # pragma: no cover
    sys.exit("minidl.lab.build_checks is a library: from minidl.lab.build_checks import check")
