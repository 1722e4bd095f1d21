"""The argument checks every floor shares: one home for "where: expected ..., got ...".

Each check raises with one line saying where, what was expected and what came, and returns the
checked value, so callers write ``n = positive_int(n, "n", where)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor


def shape_text(t: Tensor | tuple[int, ...] | torch.Size) -> str:
    """(100, 3) for a tensor or a shape, as error messages print it; (5,) for one dimension."""
    shape = tuple(t.shape if isinstance(t, Tensor) else t)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def int_at_least(value: Any, name: str, where: str, minimum: int = 1) -> int:
    """``value`` if it is an int (not a bool) >= minimum, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{where}: {name} must be an int >= {minimum}, got {value!r}")
    return value


def positive_int(value: Any, name: str, where: str) -> int:
    """``value`` if it is an int >= 1, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive int, got {value!r}")
    return value


def finite_number(value: Any, name: str, where: str, low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a float if it is a finite number in [low, high]; ValueError if not, TypeError for a non-number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or not low <= value <= high:
        bounds = "" if (low, high) == (-math.inf, math.inf) else \
            f" in [{low:g}, {high:g}]" if math.isfinite(high) else f" >= {low:g}"
        raise ValueError(f"{where}: {name} must be a finite number{bounds}, got {value!r}")
    return float(value)


def tensor_like(value: Any, like: Tensor, where: str) -> Tensor:
    """A copy of ``value`` in ``like``'s dtype, to be copied into ``like`` (loading a state dict).

    Refused, before anything changes: a non-tensor, another shape, another number kind (int, bool,
    complex: no silent cast), another device, a finite value that overflows ``like``'s dtype.
    Another floating precision is converted, as torch does.
    """
    if not isinstance(value, Tensor):
        raise TypeError(f"{where}: expected a tensor, got {type(value).__name__}")
    if value.shape != like.shape:
        raise ValueError(f"{where}: expected shape {shape_text(like)}, got {shape_text(value)}")
    if not value.is_floating_point():
        raise TypeError(f"{where}: expected a floating-point tensor like {like.dtype}, got {value.dtype} "
                        f"(no silent cast between number kinds)")
    if value.device != like.device:
        raise ValueError(f"{where}: expected a tensor on {like.device}, got {value.device}")
    new = value.to(like.dtype, copy=True)
    bad = torch.isfinite(value) & ~torch.isfinite(new)
    if bad.any():
        i = tuple(int(k) for k in bad.nonzero()[0])
        raise ValueError(f"{where}{list(i)}: {float(value[i]):g} does not fit in {like.dtype} "
                         f"(it would become {float(new[i])})")
    return new


def as_generator(seed: torch.Generator | int | None, where: str) -> torch.Generator | None:
    """A torch.Generator from a seed (int), a generator (kept), or None (torch's global one)."""
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, int) and not isinstance(seed, bool):
        return torch.Generator().manual_seed(seed)
    raise TypeError(f"{where}: generator must be a torch.Generator, an int seed or None, got {type(seed).__name__}")
