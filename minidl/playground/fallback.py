"""The image canvas when the page cannot draw ipympl's: noticed from the page itself.   Notebook 10

app.auto_canvas chooses "image" where ipympl's front end is known to be missing or broken before
anything is shown (Colab; ipympl not installed). A page can still lack it where the kernel cannot
tell: ipympl installed in the kernel, but not the jupyter-matplotlib extension in the JupyterLab or
Voilà that shows the notebook. Such a page draws every core widget of the app, but for the figure
an error box ("model not found"), and the app looks dead.

The page says so. A widget whose ``_view_count`` is a number has it counted by the page (ipywidgets
updates it as views are made and removed), and ipympl's front end tells the kernel when it has drawn
its canvas (its "initialized" message, after which ``syncing_data_url`` is False). ``watch(app)``
counts the views of the Play button: ``delay`` seconds after it first shows, a canvas never
initialized means the page could not draw it (its error box does not say so to the kernel), and
``to_image(app)`` puts an ``ipywidgets.Image`` of the same figure in its place (the image canvas,
app.py) — the learner does nothing. Headless (tests, nbval) no view is ever counted: nothing changes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ipywidgets as W

from .views import Views


def watch(app: Any, delay: float = 8.0) -> None:
    """Count the page's views of ``app.play`` and of the ipympl canvas; switch to the image canvas if the
    page shows the app but, ``delay`` seconds later, not the canvas (8 s: a loaded machine or page can take
    3 s to draw a canvas it can draw)."""
    if app.canvas != "ipympl":
        return
    app.play._view_count = 0

    def shown(change: dict) -> None:
        if change["old"] == 0 and change["new"]:
            asyncio.get_event_loop().call_later(delay, check)

    def check() -> None:
        if app.canvas == "ipympl" and app.play._view_count and app.views.fig.canvas.syncing_data_url:
            to_image(app)
    app.play.observe(shown, names="_view_count")


def to_image(app: Any) -> None:
    """Swap the app's ipympl canvas for an Image showing the same figure as PNG frames, in the same place."""
    old = app.views.fig.canvas
    image = W.Image(format="png", layout=W.Layout(width="100%", max_width="688px"))
    image.add_class("pg-boundary")
    stack = [app.widget]
    while stack:                                        # the box that shows the canvas
        box = stack.pop()
        children = list(getattr(box, "children", ()))
        if old in children:
            box.children = [image if c is old else c for c in children]
            break
        stack.extend(children)
    app.views = Views(len(app.views.bars), "image")
    app.canvas, app.image = "image", image
    app.redraw()
    old.close()
    app.status.value = "this page cannot draw ipympl's canvas (its extension is missing): the figure is shown " \
                       "as images instead"
