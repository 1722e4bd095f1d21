"""A panel in its section: drawn only while open, its callbacks inside the app's settings.   Notebook 10

The app shows each panel (panels.py) in an Accordion of its own. A ``Foldable`` panel hears that
Accordion: ``open`` is True while it is expanded, and ``opened()`` is called when it opens (to draw
what it missed while closed). ``follow_sections(root, panels)`` connects every panel that is
Foldable to the Accordion that holds its widget, anywhere under ``root``. ``callback`` wraps a
panel's widget callback as the app's ``_guarded`` does: inside ``self.settings``, and an exception
becomes a one-line red message in the panel (``self.message``), never lost in the widget log.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import ipywidgets as W


class Foldable:
    """A panel that knows whether its section is open."""

    open = False

    def follow(self, section: W.Accordion) -> None:
        """Hear ``section`` (the Accordion showing this panel)."""
        def changed(change: dict) -> None:
            self.open = change["new"] is not None
            if self.open:
                self.opened()
        self.open = section.selected_index is not None
        section.observe(changed, names="selected_index")

    def opened(self) -> None:
        """The section was just expanded (draw now)."""


def callback(method: Callable) -> Callable:
    """A panel's widget callback: inside ``self.settings``; an exception is shown in ``self.message``."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.settings:
            try:
                return method(self, *args, **kwargs)
            except Exception as e:
                line = str(e).splitlines()[0] if str(e) else ""
                self.message.value = f"<span style='color:#C00000'>Error: {type(e).__name__}: {line}</span>"
    return wrapper


def follow_sections(root: W.Widget, panels: list[Any]) -> None:
    """Connect each Foldable panel to the Accordion under ``root`` whose first child is its widget."""
    owners = {id(p.widget): p for p in panels if isinstance(p, Foldable)}
    stack = [root]
    while stack:
        w = stack.pop()
        children = list(getattr(w, "children", ()))
        if isinstance(w, W.Accordion) and children and id(children[0]) in owners:
            owners[id(children[0])].follow(w)
        stack.extend(children)
