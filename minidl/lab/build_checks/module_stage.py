"""Stage module: the protocol's base class (forward/backward raise, param() is [], zero_grad)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .core import StageContext, fail, randn_from


# -- Module -----------------------------------------------------------------------------------------------------
def stage_module(ctx: StageContext) -> list[tuple[str, str, Callable[[], None]]]:
    base = ctx.cls

    def param() -> None:
        pairs = ctx.make().param()
        if not isinstance(pairs, (list, tuple)) or len(pairs) != 0:
            fail(f"{ctx.name}().param() returned {pairs!r:.60}, expected [] (a module without parameters)")

    def abstract() -> None:
        m = ctx.make()
        for method, args in (("forward", (torch.ones(2, 3),)), ("backward", (torch.ones(2, 3),))):
            try:
                getattr(m, method)(*args)
            except NotImplementedError:
                continue
            except Exception as e:         # noqa: BLE001
                fail(f"{ctx.name}().{method}() raised {type(e).__name__}; a subclass must write it: expected "
                      f"NotImplementedError")
            fail(f"{ctx.name}().{method}() returned normally; expected NotImplementedError (subclasses write it)")

    def call() -> None:
        probe = type("Doubler", (base,), {"forward": lambda self, *inputs: sum(2 * t for t in inputs)})
        a, b = randn_from(ctx.g, 2, 3), randn_from(ctx.g, 2, 3)
        m = probe()
        got = m(a, b)
        if not isinstance(got, Tensor) or not torch.equal(got, 2 * a + 2 * b):
            fail(f"for a subclass, module(a, b) should return module.forward(a, b); got {type(got).__name__}",
                  "__call__ passes all its inputs on to forward")

    def zero_grad() -> None:
        w, gw = randn_from(ctx.g, 2, 2), torch.ones(2, 2)
        b, gb = randn_from(ctx.g, 2), torch.ones(2)
        probe = type("TwoParams", (base,), {"param": lambda self: [[w, gw], [b, gb]]})
        probe().zero_grad()
        if not (bool((gw == 0).all()) and bool((gb == 0).all())):
            fail("for a subclass whose param() gives two pairs, zero_grad() leaves non-zero gradients",
                  "zero every gradient tensor param() gives, in place")
        ctx.make().zero_grad()                   # no parameters: nothing to do, no error

    return [
        ("param", "param() is [] for a module without parameters", param),
        ("abstract", "forward and backward raise NotImplementedError in the base class", abstract),
        ("__call__", "module(*inputs) calls forward(*inputs)", call),
        ("zero_grad", "zero_grad() zeroes every gradient param() gives, in place", zero_grad),
    ]
