"""compare_gradients (exact / close / WRONG per tensor) and when_ready (demos on unfinished classes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .core import F64, shape_text


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
        shown = f"{name:<{width}}  {shape_text(ref):<9}"
        if got is None or not isinstance(got, Tensor):
            result.rows.append((name, "missing", float("nan"), None))
            lines.append(f"{shown} missing (got {type(got).__name__})")
            continue
        if got.shape != ref.shape:
            result.rows.append((name, "WRONG", float("nan"), None))
            lines.append(f"{shown} WRONG shape {shape_text(got)}, expected {shape_text(ref)}")
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
