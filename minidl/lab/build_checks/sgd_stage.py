"""Stage sgd: 20 steps next to torch.optim.SGD, with and without momentum (torch's convention)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .core import StageContext, expect_raise, fail, randn_from


# -- SGD -------------------------------------------------------------------------------------------------------
def stage_sgd(ctx: StageContext) -> list[tuple[str, str, Callable[[], None]]]:
    import torch.optim as optim

    steps = 20
    shapes = [(3, 4), (4,)] if ctx.seed == 0 else [(2, 5), (5,)]
    start = [randn_from(ctx.g, *s) for s in shapes]
    noise = [[randn_from(ctx.g, *s) for s in shapes] for _ in range(steps)]

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
            fail(f"after {steps} step() calls the parameter tensors are unchanged",
                  "update the value tensors of the pairs in place (a new tensor bound to a name is lost)")
        if not same(mine, ref):
            t, k, d = first_difference(mine, ref)
            fail(f"with momentum 0, step {t} differs from torch.optim.SGD in parameter {k} (max |diff| {d:.3g})",
                  "θ ← θ − lr · gradient, for every pair")

    def momentum() -> None:
        lr, mu = 0.05, 0.9
        mine, ref = run_mine(lr, mu), run_torch(lr, mu)
        if same(mine, ref):
            return
        t, k, d = first_difference(mine, ref)
        where = f"with momentum {mu}, step {t} differs from torch.optim.SGD in parameter {k} (max |diff| {d:.3g})"
        if same(mine, run_torch(lr, 0.0)):
            fail(where, "your steps are plain SGD's: the momentum is ignored")
        ema_zero = run_rule(lr, lambda b, g: (1 - mu) * g if b is None else mu * b + (1 - mu) * g)
        ema_first = run_rule(lr, lambda b, g: g.clone() if b is None else mu * b + (1 - mu) * g)
        if same(mine, ema_zero) or same(mine, ema_first):
            fail(where, "your buffer is an exponential moving average (the gradient scaled by 1 − μ); "
                         "torch's convention does not scale the gradient (notebook 06)")
        fail(where, "the buffer b ← μ b + gradient of notebook 06, then θ ← θ − lr · b; one buffer per parameter, "
                     "kept between steps")

    def zero_grad() -> None:
        values = [s.clone() for s in start]
        grads = [torch.ones_like(s) for s in start]
        opt = ctx.make([[v, g] for v, g in zip(values, grads, strict=False)], 0.1)
        opt.zero_grad()
        if not all(bool((g == 0).all()) for g in grads):
            fail("after zero_grad() the gradient tensors the optimizer was given are not all zeros",
                  "zero them in place")

    def errors() -> None:
        pairs = [[s.clone(), torch.zeros_like(s)] for s in start]
        for kwargs in ({"lr": -0.1}, {"lr": 0.0}, {"lr": 0.1, "momentum": -0.5}, {"lr": 0.1, "momentum": 1.0}):
            shown = ", ".join(f"{k}={v}" for k, v in kwargs.items())
            expect_raise(lambda kwargs=kwargs: ctx.cls(pairs, **kwargs), ValueError, f"{ctx.name}(pairs, {shown})",
                          "check the hyperparameters in __init__: lr > 0, 0 ≤ momentum < 1")

    return [
        ("plain SGD", f"momentum 0: the same {steps} steps as torch.optim.SGD", plain),
        ("momentum", f"momentum 0.9: the same {steps} steps as torch.optim.SGD", momentum),
        ("zero_grad", "zero_grad() zeroes the gradients in place", zero_grad),
        ("errors", "lr ≤ 0 or momentum outside [0, 1): ValueError", errors),
    ]
