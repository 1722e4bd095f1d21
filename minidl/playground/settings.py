"""The app's own torch settings, swapped in while its code runs and out when it returns.   Notebook 10

The playground wants one thread (its matrices are tiny: a second thread only spin-waits), float32
as the default dtype and its own random numbers (the seeded initial weights, the
Dropout masks). The kernel around it may want anything else, so ``Settings`` is entered by every
way into the app (a widget callback, a training slice, a public method) and leaves, on exit, the
kernel's thread count, default dtype, grad mode and global RNG state exactly as they were. The
app's RNG state is kept between entries: a run seeded once goes on drawing its own numbers.
Nested entries (a callback calling a public method) swap only once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch


class Settings:
    """``with settings:`` the app's torch settings; the kernel's afterwards (re-entrant)."""

    def __init__(self) -> None:
        self.depth = 0
        self.rng: torch.Tensor | None = None       # the app's global-RNG state between entries
        self.kernel: tuple | None = None

    def __enter__(self) -> Settings:
        self.depth += 1
        if self.depth == 1:
            self.kernel = (torch.get_num_threads(), torch.get_default_dtype(), torch.is_grad_enabled(),
                           torch.get_rng_state())
            if self.kernel[0] != 1:
                torch.set_num_threads(1)
            torch.set_default_dtype(torch.float32)
            if self.rng is not None:
                torch.set_rng_state(self.rng)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.depth -= 1
        if self.depth == 0:
            threads, dtype, grad, rng = self.kernel
            self.rng = torch.get_rng_state()
            if threads != 1:
                torch.set_num_threads(threads)
            torch.set_default_dtype(dtype)
            torch.set_grad_enabled(grad)
            torch.set_rng_state(rng)
            self.kernel = None


def inside(method: Callable) -> Callable:
    """A method of an object with ``settings`` that runs inside them."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.settings:
            return method(self, *args, **kwargs)
    return wrapper
