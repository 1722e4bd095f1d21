"""Stages linear, relu, tanh, sigmoid, log_softmax: the properties a learner's module must have."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .core import (
    ATOL,
    F64,
    StageContext,
    as_checked_tensor,
    autograd_gradients,
    batch_shapes,
    diagnose,
    expect_raise,
    fail,
    fresh_backward_raises,
    module_accumulates,
    module_gradcheck,
    module_live_gradients,
    module_live_values,
    module_zero_grad,
    numeric_gradient,
    param_pairs,
    randn_from,
    shape_text,
    torch_functional,
)


def stage_linear(ctx: StageContext) -> list[tuple[str, str, Callable[[], None]]]:
    cases = batch_shapes(ctx.g)
    n0, i0, o0 = cases[1]

    def label(i: int, o: int) -> str:
        return f"{ctx.name}({i}, {o})"

    def param() -> None:
        m = ctx.make(i0, o0)
        pairs = param_pairs(m, label(i0, o0))
        shapes = [tuple(v.shape) for v, _ in pairs]
        if shapes != [(o0, i0), (o0,)]:
            fail(f"{label(i0, o0)}.param() gives shapes {shapes}, expected [weight {shape_text((o0, i0))}, "
                  f"bias {shape_text((o0,))}]", "the weight is (out, in), PyTorch's layout, then the bias")
        for k, (v, gr) in enumerate(pairs):
            if v.dtype != F64:
                fail(f"param()[{k}] is {v.dtype} while torch's default dtype is float64",
                      "create the tensors without a fixed dtype (they then follow torch.get_default_dtype())")
            if not bool((gr == 0).all()):
                fail(f"param()[{k}]'s gradient does not start at zero")

    def forward() -> None:
        F = torch_functional()
        for n, i, o in cases:
            m = ctx.make(i, o)
            x = randn_from(ctx.g, n, i)
            y = as_checked_tensor(m.forward(x), f"{label(i, o)}.forward(x of shape {shape_text(x)})", (n, o))
            (w, _), (b, _) = param_pairs(m, label(i, o))
            diagnose("the output", y, F.linear(x, w, b), f"on a batch of {n}", atol=1e-12, rtol=1e-10,
                      oracle="x Wᵀ + b would")

    def live_values() -> None:
        module_live_values(ctx, ctx.make(i0, o0), randn_from(ctx.g, n0, i0), label(i0, o0))

    def gradcheck() -> None:
        for n, i, o in cases:
            module_gradcheck(ctx, ctx.make(i, o), randn_from(ctx.g, n, i), label(i, o))

    def autograd() -> None:
        F = torch_functional()
        m, x = ctx.make(i0, o0), randn_from(ctx.g, n0, i0)
        g = randn_from(ctx.g, n0, o0)
        m.forward(x)
        m.zero_grad()
        gx = m.backward(g)
        (w, dw), (b, db) = param_pairs(m, label(i0, o0))
        _, (ax, aw, ab) = autograd_gradients(F.linear, [x, w, b], g)
        for name, mine, ref in (("dL/dx", gx, ax), ("dL/dW", dw, aw), ("dL/db", db, ab)):
            diagnose(name, mine, ref, f"on a batch of {n0}", atol=1e-10, rtol=1e-8, oracle="torch.autograd would")

    def errors() -> None:
        fresh_backward_raises(ctx, lambda: ctx.make(i0, o0), label(i0, o0), (n0, o0))
        m = ctx.make(i0, o0)
        for bad in (randn_from(ctx.g, n0, i0 + 1), randn_from(ctx.g, i0)):
            expect_raise(lambda bad=bad: m.forward(bad), ValueError,
                          f"{label(i0, o0)}.forward(x of shape {shape_text(bad)})",
                          f"check that x has shape (N, {i0}) and say what came")

    return [
        ("param", "param() gives [weight (out, in), bias (out,)] pairs, gradients starting at 0", param),
        ("forward", "forward(x) = x Wᵀ + b on batches of 1, 5 and 7", forward),
        ("live tensors", "param() returns the live tensors, not copies", live_values),
        ("gradcheck", "backward agrees with finite differences (float64, batches of 1, 5, 7)", gradcheck),
        ("autograd", "dL/dx, dL/dW, dL/db agree with torch.autograd", autograd),
        ("accumulation", "two backward() calls give twice the gradient", lambda: module_accumulates(
            ctx, ctx.make(i0, o0), randn_from(ctx.g, n0, i0), label(i0, o0))),
        ("live gradients", "pairs taken before backward() see the new gradients", lambda: module_live_gradients(
            ctx, ctx.make(i0, o0), randn_from(ctx.g, n0, i0), label(i0, o0))),
        ("zero_grad", "zero_grad() zeroes the gradients in place", lambda: module_zero_grad(
            ctx, ctx.make(i0, o0), randn_from(ctx.g, n0, i0), label(i0, o0))),
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


def stage_activation(ctx: StageContext) -> list[tuple[str, str, Callable[[], None]]]:
    ref, slip, slip_hint = _ACTIVATIONS[ctx.stage]
    shapes = [(1, 3), (5, 4), (7, 2)] if ctx.seed == 0 else [(1, 2), (6, 3), (4, 5)]
    label = f"{ctx.name}()"

    def inputs(shape: tuple[int, ...]) -> Tensor:
        x = randn_from(ctx.g, *shape)
        return x + 0.1 * x.sign() if ctx.stage == "relu" else x      # ReLU: no input near its kink at 0

    def param() -> None:
        pairs = ctx.make().param()
        if not isinstance(pairs, (list, tuple)) or len(pairs) != 0:
            fail(f"{label}.param() returned {pairs!r:.60}, expected [] (no parameters)")

    def forward() -> None:
        for shape in shapes:
            x = inputs(shape)
            y = as_checked_tensor(ctx.make().forward(x.clone()), f"{label}.forward(x of shape {shape_text(x)})", shape)
            diagnose("the output", y, ref(x), f"on a batch of {shape[0]}", atol=1e-12, rtol=1e-10,
                      oracle=f"torch's {ctx.stage} would")

    def gradcheck() -> None:
        for shape in shapes:
            m, x = ctx.make(), inputs(shape)
            y = as_checked_tensor(m.forward(x), f"{label}.forward(x of shape {shape_text(x)})", shape).clone()
            g = randn_from(ctx.g, *shape)
            gx = as_checked_tensor(m.backward(g), f"{label}.backward(grad of shape {shape_text(g)})", shape).clone()
            numeric = numeric_gradient(lambda m=m, g=g, x=x: float((g * m.forward(x)).sum()), x)
            if slip is not None and torch.allclose(gx, slip(x, y, g), rtol=1e-8, atol=1e-12) and \
                    not torch.allclose(gx, numeric, atol=ATOL):
                fail(f"dL/dinput wrong on a batch of {shape[0]}", slip_hint)
            diagnose(f"dL/dinput (what {label}.backward returns)", gx, numeric,
                      f"on a batch of {shape[0]} (input {shape_text(x)})")

    def autograd() -> None:
        shape = shapes[1]
        m, x, g = ctx.make(), inputs(shape), randn_from(ctx.g, *shape)
        m.forward(x)
        gx = m.backward(g)
        _, (ax,) = autograd_gradients(ref, [x], g)
        diagnose("dL/dinput", as_checked_tensor(gx, f"{label}.backward", shape), ax, f"on a batch of {shape[0]}",
                  atol=1e-10, rtol=1e-8, oracle="torch.autograd would")

    def stable() -> None:
        x = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 500.0]], dtype=F64)
        m = ctx.make()
        y = as_checked_tensor(m.forward(x.clone()), f"{label}.forward(logits of ±1000)", (2, 3))
        g = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=F64)
        gx = as_checked_tensor(m.backward(g), f"{label}.backward", (2, 3))
        want, (ax,) = autograd_gradients(ref, [x], g)
        if not (torch.isfinite(y).all() and torch.isfinite(gx).all()):
            fail(f"for logits like ±1000 the output or its gradient is not finite (got {y.tolist()})",
                  "exp overflows for large logits; the max shift of notebook 05 avoids it")
        diagnose("the output for logits of ±1000", y, want, "", atol=1e-9, rtol=1e-9, oracle="torch would")
        diagnose("dL/dinput for logits of ±1000", gx, ax, "", atol=1e-9, rtol=1e-9, oracle="torch.autograd would")

    def errors() -> None:
        fresh_backward_raises(ctx, ctx.make, label, shapes[1])
        m = ctx.make()
        m.forward(inputs(shapes[1]))
        bad = randn_from(ctx.g, shapes[1][0] + 1, shapes[1][1])
        expect_raise(lambda: m.backward(bad), ValueError,
                      f"{label}.backward(grad of shape {shape_text(bad)}) "
                      f"after a forward of shape {shape_text(shapes[1])}",
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
