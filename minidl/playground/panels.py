"""The playground's extra views: a Panel is a widget beside the figure that follows the run.   Notebook 10

The app (app.py) keeps a list of panels (the network diagram, the hidden-space view, ...). Each one
is shown in its own collapsible section under the figure and hears two things:

  * ``reset(run)``: a new run was installed (new data or network): forget the old one;
  * ``refresh(run, frame)``: a new picture is drawn (the Frame of playground.state, and the run
    it was captured from); a collapsed or hidden panel may return at once, so it costs nothing.

A panel reads the run and the frame and never changes them; what it needs from the controls it is
given when it is built.
"""

from __future__ import annotations

from typing import Any, Protocol

from .state import Frame


class Panel(Protocol):
    """What the app asks of an extra view."""

    title: str              # the section's title
    widget: Any             # an ipywidgets.Widget

    def reset(self, run: Any) -> None: ...
    def refresh(self, run: Any, frame: Frame) -> None: ...
