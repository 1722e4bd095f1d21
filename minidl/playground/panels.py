"""The playground's extra views: a Panel is a widget beside the figure that follows the run.   Notebook 10

The app (app.py) keeps a list of panels (the network diagram, the hidden-space view, ...). Each one
is shown in its own collapsible section under the figure and hears two things:

  * ``reset(run)``: a new run was installed (new data or network): forget the old one;
  * ``refresh(run, frame)``: a new picture is drawn (the Frame of playground.state, and the run
    it was captured from); a collapsed or hidden panel may return at once, so it costs nothing.
    A panel whose drawing takes longer than a training slice may also offer ``refresh_steps(run,
    frame, live)``: the same work as an iterator that does one piece per ``next`` (a few tens of ms
    each); ``live``: the app is training, more frames follow soon.
    The app then runs one piece per turn of the event loop (``in_turns``), so that no piece keeps
    the kernel from a click for long; ``refresh`` is ``run_now(refresh_steps(...))``.

A panel reads the run and the frame and never changes them; what it needs from the controls it is
given when it is built.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from .state import Frame


class Panel(Protocol):
    """What the app asks of an extra view."""

    title: str              # the section's title
    widget: Any             # an ipywidgets.Widget

    def reset(self, run: Any) -> None: ...
    def refresh(self, run: Any, frame: Frame) -> None: ...


Steps = Iterable[None]            # work in pieces: each ``next`` does one piece


def run_now(steps: Steps, clock: Callable[[], float] = time.perf_counter) -> float:
    """Do every piece at once (a button, a test); the seconds it took."""
    start = clock()
    for _ in steps:
        pass
    return clock() - start


async def in_turns(steps: Steps, settings: AbstractContextManager | None = None,
                   clock: Callable[[], float] = time.perf_counter) -> float:
    """Do one piece per turn of the event loop, each inside ``settings`` (the app's torch settings);
    the seconds the pieces took, without the waits between them."""
    busy, pieces, done = 0.0, iter(steps), object()
    while True:
        start = clock()
        with settings if settings is not None else nullcontext():
            piece = next(pieces, done)
        busy += clock() - start
        if piece is done:
            return busy
        await asyncio.sleep(0)
