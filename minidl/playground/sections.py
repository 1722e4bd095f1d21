"""Whether a panel's section is open: a closed panel draws nothing.   Notebook 10

The app shows each panel (panels.py) in an Accordion of its own. A ``Foldable`` panel hears that
Accordion: ``open`` is True while it is expanded, and ``opened()`` is called when it opens (to draw
what it missed while closed). ``follow_sections(root, panels)`` connects every panel that is
Foldable to the Accordion that holds its widget, anywhere under ``root``.
"""

from __future__ import annotations

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
