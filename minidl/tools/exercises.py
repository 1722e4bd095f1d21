"""Checkers for the notebooks' "Your turn" exercises.

They say exactly what is wrong: which tensor, which index, the expected and the actual
value. They print a verdict and return True/False instead of raising, so an unfinished
exercise never stops "Run all".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor


def _as_dict(value: Any, names: Sequence[str] | None) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    values = list(value) if isinstance(value, (tuple, list)) else [value]
    names = list(names) if names is not None else \
        (["result"] if len(values) == 1 else [f"result[{i}]" for i in range(len(values))])
    if len(values) != len(names):
        return {"__count__": (len(names), len(values))}
    return dict(zip(names, values, strict=True))


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def diagnose(name: str, actual: Any, expected: Tensor, atol: float, rtol: float) -> str | None:
    """None if ``actual`` matches ``expected``; otherwise one line saying what is wrong."""
    if actual is None or actual is Ellipsis:
        return f"{name}: not computed yet (got {actual!r}); expected a tensor of shape {_shape(expected)}"
    if not isinstance(actual, Tensor):
        return f"{name}: expected a torch.Tensor of shape {_shape(expected)}, got {type(actual).__name__}"
    if actual.shape != expected.shape:
        hint = ""
        if actual.dim() == 2 and _shape(actual) == _shape(expected)[::-1]:
            hint = " (transposed?)"
        elif actual.numel() == expected.numel():
            hint = " (right size, wrong shape: a reshape or a missing keepdim?)"
        elif expected.dim() == actual.dim() + 1 or actual.dim() == expected.dim() + 1:
            hint = " (a sum over the wrong dimension, or a missing one?)"
        return f"{name}: shape {_shape(actual)}, expected {_shape(expected)}{hint}"
    a, e = actual.detach().to(torch.float64), expected.detach().to(torch.float64)
    if not torch.isfinite(a).all():
        i = tuple(int(k) for k in (~torch.isfinite(a)).nonzero()[0])
        return f"{name}{list(i)}: got {float(a[i])}, expected {float(e[i]):.6g}"
    bad = (a - e).abs() > atol + rtol * e.abs()
    if not bad.any():
        return None
    i = tuple(int(k) for k in bad.nonzero()[0])
    where = f"{name}{list(i)}" if i else name
    hint = ""
    if torch.allclose(a, -e, atol=atol, rtol=rtol):
        hint = " — every entry has the wrong sign"
    elif (e.abs() > 0).any():
        ratio = a[e.abs() > 0] / e[e.abs() > 0]
        if torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-6) and float(ratio[0]) != 0:
            hint = f" — everything is {float(ratio[0]):.4g}× too large (a missing or extra factor?)"
    return (f"{where}: expected {float(e[i]):.6f}, got {float(a[i]):.6f} "
            f"({int(bad.sum())} of {bad.numel()} entries wrong){hint}")


def check(answer: Any, expected: Any, *, names: Sequence[str] | None = None, atol: float = 1e-8,
          rtol: float = 1e-6, quiet: bool = False) -> bool:
    """Compare an answer (a tensor, a tuple of tensors or a dict) with the expected one.

    Prints ✓ or one ✗ line per wrong tensor, and returns whether everything matched.
    """
    exp = _as_dict(expected, names)
    got = _as_dict(answer, list(exp))
    if "__count__" in got:
        want, came = got["__count__"]
        lines = [f"✗ expected {want} results ({', '.join(exp)}), got {came}"]
    else:
        lines = [f"✗ {msg}" for n, e in exp.items()
                 if (msg := diagnose(n, got.get(n), e, atol, rtol)) is not None]
    if not quiet:
        if lines:
            print("\n".join(lines))
        else:
            err = max(float((got[n].detach().double() - e.double()).abs().max()) if e.numel() else 0.0
                      for n, e in exp.items())
            print(f"✓ {', '.join(exp)}: correct (largest difference {err:.1e})")
    return not lines


def check_function(fn: Callable[..., Any], reference: Callable[..., Any],
                   make_inputs: Callable[[torch.Generator], tuple], *, names: Sequence[str] | None = None,
                   trials: int = 3, atol: float = 1e-8, rtol: float = 1e-6) -> bool:
    """Call the learner's ``fn`` and the ``reference`` on the same random inputs, ``trials`` times.

    ``make_inputs(generator)`` returns the argument tuple; trial 0 should use a batch of one.
    An exception in the learner's code is reported, not raised.
    """
    for trial in range(trials):
        gen = torch.Generator().manual_seed(trial)
        args = make_inputs(gen)
        expected = reference(*[a.clone() if isinstance(a, Tensor) else a for a in args])
        try:
            answer = fn(*[a.clone() if isinstance(a, Tensor) else a for a in args])
        except Exception as e:                      # the learner's code: report, don't crash
            print(f"✗ your function raised {type(e).__name__}: {e}")
            return False
        if not check(answer, expected, names=names, atol=atol, rtol=rtol, quiet=True):
            shapes = ", ".join(str(_shape(a)) for a in args if isinstance(a, Tensor))
            print(f"✗ trial {trial + 1} of {trials}, inputs of shapes {shapes}:")
            check(answer, expected, names=names, atol=atol, rtol=rtol)
            return False
    print(f"✓ correct on {trials} random inputs ({', '.join(_as_dict(expected, names))})")
    return True
