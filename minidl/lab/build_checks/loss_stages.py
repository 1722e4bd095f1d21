"""Stages mse and cross_entropy: values, gradients, stability for logits of ±1000, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .core import (
    F64,
    StageContext,
    as_checked_tensor,
    autograd_gradients,
    diagnose,
    expect_raise,
    fail,
    numeric_gradient,
    randn_from,
    shape_text,
    torch_functional,
)


# -- losses ----------------------------------------------------------------------------------------------------
def stage_loss(ctx: StageContext) -> list[tuple[str, str, Callable[[], None]]]:
    F = torch_functional()
    ce = ctx.stage == "cross_entropy"
    shapes = [(1, 2), (6, 3), (5, 4)] if ctx.seed == 0 else [(1, 3), (4, 2), (7, 5)]
    label = f"{ctx.name}()"

    def data(n: int, c: int) -> tuple[Tensor, Tensor]:
        pred = randn_from(ctx.g, n, c)
        target = torch.randint(0, c, (n,), generator=ctx.g) if ce else randn_from(ctx.g, n, c)
        return pred, target

    def ref(pred: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(pred, target) if ce else F.mse_loss(pred, target)

    def value(m: Any, pred: Tensor, target: Tensor) -> Tensor:
        v = as_checked_tensor(m.forward(pred, target),
                              f"{label}.forward(prediction of shape {shape_text(pred)}, target)")
        if v.numel() != 1:
            fail(f"{label}.forward returned shape {shape_text(v)}, expected a single number (a 0-d tensor)",
                  "reduce to one number: the mean" + (" over the batch" if ce else " over all N·C entries"))
        return v.reshape(())

    def param() -> None:
        pairs = ctx.make().param()
        if not isinstance(pairs, (list, tuple)) or len(pairs) != 0:
            fail(f"{label}.param() returned {pairs!r:.60}, expected [] (no parameters)")

    def forward() -> None:
        for n, c in shapes:
            pred, target = data(n, c)
            diagnose("the loss", value(ctx.make(), pred, target), ref(pred, target), f"on a batch of {n}",
                      atol=1e-12, rtol=1e-10, oracle="torch.nn.functional" + (".cross_entropy" if ce else ".mse_loss"))

    def gradcheck() -> None:
        for n, c in shapes:
            m, (pred, target) = ctx.make(), data(n, c)
            value(m, pred, target)
            grad = as_checked_tensor(m.backward(), f"{label}.backward()", (n, c)).clone()
            diagnose(f"dL/dprediction (what {label}.backward() returns)", grad,
                      numeric_gradient(lambda m=m, p=pred, t=target: float(m.forward(p, t)), pred),
                      f"on a batch of {n} (prediction {shape_text(pred)})")

    def autograd() -> None:
        n, c = shapes[1]
        m, (pred, target) = ctx.make(), data(n, c)
        value(m, pred, target)
        grad = as_checked_tensor(m.backward(), f"{label}.backward()", (n, c))
        _, (ap,) = autograd_gradients(lambda p: ref(p, target), [pred], None)
        diagnose("dL/dprediction", grad, ap, f"on a batch of {n}", atol=1e-10, rtol=1e-8,
                  oracle="torch.autograd would")

    def stable() -> None:
        pred = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 500.0], [-1000.0, -1000.0, 1000.0]],
                            dtype=F64)
        target = torch.tensor([1, 1, 0])
        m = ctx.make()
        v = m.forward(pred.clone(), target)
        v = as_checked_tensor(v, f"{label}.forward(logits of ±1000)")
        grad = as_checked_tensor(m.backward(), f"{label}.backward()", (3, 3))
        want, (ap,) = autograd_gradients(lambda p: ref(p, target), [pred], None)
        if not (torch.isfinite(v).all() and torch.isfinite(grad).all()):
            fail(f"for logits like ±1000 the loss is {float(v.reshape(-1)[0])} (torch: {float(want):g}) or its "
                  f"gradient is not finite", "exp overflows for large logits; the max shift of notebook 05 avoids it")
        diagnose("the loss for logits of ±1000", v.reshape(()), want, "", atol=1e-9, rtol=1e-9, oracle="torch would")
        diagnose("dL/dprediction for logits of ±1000", grad, ap, "", atol=1e-9, rtol=1e-9,
                  oracle="torch.autograd would")

    def errors() -> None:
        fresh = ctx.make()
        expect_raise(lambda: fresh.backward(), RuntimeError, f"{label}.backward() before any forward()",
                      "backward needs what forward cached; say so with a RuntimeError")
        n, c = shapes[1]
        pred, target = data(n, c)
        bad = target[:-1]
        expect_raise(lambda: ctx.make().forward(pred, bad), ValueError,
                      f"{label}.forward(prediction {shape_text(pred)}, target {shape_text(bad)})",
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
