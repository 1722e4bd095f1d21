"""Stage sequential: the learner's Sequential around probe modules, so only it is graded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .core import (
    F64,
    StageContext,
    as_checked_tensor,
    diagnose,
    fail,
    fresh_backward_raises,
    module_accumulates,
    module_gradcheck,
    module_zero_grad,
    param_pairs,
    randn_from,
    same_tensor,
    shape_text,
)


# -- Sequential: checked with probe modules of this file, so only the learner's Sequential is graded ---------------
class _ProbeAffine:
    """A minimal affine module following the protocol (a test double, not the learner's)."""

    def __init__(self, n_in: int, n_out: int, g: torch.Generator):
        self.w, self.b = randn_from(g, n_out, n_in), randn_from(g, n_out)
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


def stage_sequential(ctx: StageContext) -> list[tuple[str, str, Callable[[], None]]]:
    n, a, h, o = (5, 3, 4, 2) if ctx.seed == 0 else (4, 2, 5, 3)

    def probes() -> list[Any]:
        return [_ProbeAffine(a, h, ctx.g), _ProbeTanh(), _ProbeAffine(h, o, ctx.g)]

    label = f"{ctx.name}(affine, tanh, affine)"

    def param() -> None:
        children = probes()
        pairs = param_pairs(ctx.make(*children), label)
        expected = [p for c in children for p in c.param()]
        if len(pairs) != len(expected) or not all(same_tensor(p[0], e[0]) and same_tensor(p[1], e[1])
                                                  for p, e in zip(pairs, expected, strict=False)):
            fail(f"{label}.param() gives {len(pairs)} pairs; expected the children's {len(expected)} pairs, "
                  f"in order, the same live tensors", "concatenate each child's param(), no copies")
        empty = param_pairs(ctx.make(_ProbeTanh(), _ProbeTanh()), f"{ctx.name}(tanh, tanh)")
        if empty:
            fail(f"{ctx.name}(tanh, tanh).param() has {len(empty)} pairs, expected []")

    def forward() -> None:
        children = probes()
        x = randn_from(ctx.g, n, a)
        want = x
        for c in children:
            want = c.forward(want)
        y = as_checked_tensor(ctx.make(*children).forward(x), f"{label}.forward(x of shape {shape_text(x)})", (n, o))
        diagnose("the output", y, want, "", atol=1e-12, rtol=1e-10, oracle="the children in order")

    def gradcheck() -> None:
        for batch in (1, n):
            module_gradcheck(ctx, ctx.make(*probes()), randn_from(ctx.g, batch, a), label)

    def errors() -> None:
        fresh_backward_raises(ctx, lambda: ctx.make(*probes()), label, (n, o))

    props = [
        ("param", "param() is the children's pairs, in order, live; [] without parameters", param),
        ("forward", "forward runs the children in order", forward),
        ("gradcheck", "backward runs them in reverse: finite differences agree (batches of 1 and 5)", gradcheck),
        ("accumulation", "two backward() calls give twice the gradient", lambda: module_accumulates(
            ctx, ctx.make(*probes()), randn_from(ctx.g, n, a), label)),
        ("zero_grad", "zero_grad() zeroes every child's gradients in place", lambda: module_zero_grad(
            ctx, ctx.make(*probes()), randn_from(ctx.g, n, a), label)),
        ("errors", "backward before forward: RuntimeError", errors),
    ]
    if len(ctx.classes) > 1:                         # the learner's own modules inside their Sequential
        def yours() -> None:
            mods = _chain_sizes(ctx.classes[1:], a, h, o)
            names = ", ".join(type(m).__name__ for m in mods)
            module_gradcheck(ctx, ctx.make(*mods), randn_from(ctx.g, n, a), f"{ctx.name}({names})")
            module_accumulates(ctx, ctx.make(*mods), randn_from(ctx.g, n, a), f"{ctx.name}({names})")
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
