"""A small Agg figure shown as a PNG in an ipywidgets.Image, redrawn by blitting.   Notebook 10

The panels' pictures (the hidden space, the race) change a few artists per frame while their axes,
ticks, labels and titles stay put. As views.py does for the main figure: a *full draw* renders
everything but the ``moving`` artists (they are ``animated``) and keeps the result as a
background; a frame restores it and draws only the moving artists on top. ``show(full=True)``
asks for a full draw (limits, labels or the artists' set changed).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .png import canvas_png


class Still:
    """``fig`` (Agg), ``image`` (the widget); ``animate(artist)`` marks it moving; ``show()`` draws a frame."""

    def __init__(self, figsize: tuple[float, float], css: str, width: str, dpi: int = 80):
        self.fig = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(self.fig)
        self.image = W.Image(format="png", layout=W.Layout(width="100%", max_width=width))
        self.image.add_class(css)
        self.moving: list[Any] = []
        self._background: Any = None
        self.full_draws = self.frames = 0

    def animate(self, artist: Any) -> Any:
        artist.set_animated(True)
        self.moving.append(artist)
        return artist

    def show(self, full: bool = False) -> None:
        """Render a frame (everything if ``full`` or never drawn) and put its PNG in ``image``."""
        canvas = self.fig.canvas
        if full or self._background is None:
            canvas.draw()                                  # the animated artists are left out
            self._background = canvas.copy_from_bbox(self.fig.bbox)
            self.full_draws += 1
        else:
            canvas.restore_region(self._background)
        for artist in self.moving:
            if artist.get_visible():
                self.fig.draw_artist(artist)
        self.image.value = canvas_png(self.fig)
        self.frames += 1
