"""Training in slices of a few tens of milliseconds, whatever the data size.   Notebook 10

The playground trains through minidl's one loop, ``training.train.run`` (as fit does), which
thinks in whole epochs. An epoch can be long (3000 points with batch size 1: thousands of
steps), so a slice may end *inside* an epoch: ``Slicer.train`` wraps the step fit would take in
a ``SlicedStep`` that, once the slice's time is up, ends the call by raising ``SliceOver`` after
the batch in hand. The next call finishes that epoch:

  * the batch order is drawn again from the generator state the epoch started with: the same order;
  * the batches already taken are not taken again: their losses, kept, are handed back;
  * the snapshot is the one from the epoch's start, so a divergence still undoes the whole epoch.

So a sliced run takes exactly the steps, and records exactly the History, of an unsliced one
(tests/unit/playground/test_slices.py). The measurements at the end of an epoch (the error on
all training and test points) are not sliced: the playground caps its data (3000 points).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch


class SliceOver(Exception):
    """Raised by SlicedStep.step when the slice's time is up (never leaves Slicer.train)."""


@dataclass
class Epoch:
    """An epoch in progress: where it started, and the losses of the batches taken so far."""

    generator_state: torch.Tensor      # before its batch order was drawn
    snapshot: Any                      # the step's snapshot at its start (for a divergence)
    step: Any                          # the step that took the snapshot (and can restore it)
    batch_size: int
    losses: list[torch.Tensor] = field(default_factory=list)


class SlicedStep:
    """A training step (train.ReadableStep, CompiledStep, a learner's) that can stop mid-epoch.

    training.train.run asks it what it asks any step; everything but ``step``, ``snapshot`` and
    ``restore`` goes to the wrapped step.
    """

    def __init__(self, inner: Any, slicer: Slicer, until: float | None, batch_size: int):
        self.inner, self.slicer, self.until, self.batch_size = inner, slicer, until, batch_size
        self.taken = 0                 # batches computed in this call
        self.position = 0              # the next batch of the epoch

    def __getattr__(self, name: str) -> Any:          # measure, error, train, finite, lr, kind
        return getattr(self.inner, name)

    def snapshot(self) -> Any:
        """Called by run() at an epoch's start, before it draws the batch order."""
        s, g = self.slicer, self.slicer.generator
        self.position = 0
        if s.epoch is not None:                        # resume: the same order, the same snapshot
            g.set_state(s.epoch.generator_state)
        else:
            state = g.get_state()
            s.epoch = Epoch(state, self.inner.snapshot(), self.inner, self.batch_size)
        return s.epoch.snapshot

    def restore(self, snapshot: Any) -> None:
        epoch = self.slicer.epoch
        (epoch.step if epoch is not None else self.inner).restore(snapshot)
        self.slicer.epoch = None                      # the diverged epoch is over

    def step(self, xb: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
        epoch = self.slicer.epoch
        i, self.position = self.position, self.position + 1
        if i < len(epoch.losses):                      # taken in an earlier slice
            return epoch.losses[i]
        if self.until is not None and self.taken and self.slicer.clock() >= self.until:
            raise SliceOver
        loss = self.inner.step(xb, tb)
        epoch.losses.append(loss)
        self.taken += 1
        self.slicer.batches += 1
        return loss


class Slicer:
    """Runs training.train.run a slice at a time; ``epoch`` is the epoch in progress, or None."""

    def __init__(self, generator: torch.Generator, clock: Callable[[], float]):
        self.generator, self.clock = generator, clock
        self.epoch: Epoch | None = None
        self.batches = 0               # batches computed, all slices (tests count them)

    @property
    def batch_size(self) -> int | None:
        """The batch size of the epoch in progress (a new one applies from the next epoch)."""
        return None if self.epoch is None else self.epoch.batch_size

    def train(self, loop: Callable[..., Any], step: Any, batch_size: int, epochs: int,
              until: float | None) -> None:
        """``loop(step, batch_size, epochs, callbacks)`` (a call of training.train.run) until the
        clock passes ``until`` (None: ``epochs`` whole epochs, the one in progress finished first)."""
        batch_size = self.batch_size or batch_size
        sliced = SlicedStep(step, self, until, batch_size)

        def epoch_done(*_: Any) -> str | None:
            self.epoch = None
            return "stop" if until is not None and self.clock() >= until else None
        try:
            loop(sliced, batch_size, epochs, [epoch_done])
        except SliceOver:
            pass
