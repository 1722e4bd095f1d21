"""The hidden-space view: the data as one hidden layer sees it (ConvNetJS's transformation view).   Notebook 10

    x ∈ [0, 1]²  ↦  (h_i(x), h_j(x)),    h = a(W_L ⋯ a(W_1 x + b_1) ⋯ + b_L)   (hidden layer L)

Units i and j of hidden layer L (after its activation) make a plane. The training points are drawn
there in their classes' colours, and so is the input square's grid (LINES horizontal and LINES
vertical lines): where the lines crowd the layer squeezes the plane, where they cross it folds it.
The output layer is straight, so a well-trained last hidden layer shows the classes pulled apart.
The axes follow the data with hysteresis (``follow_limits``): they grow as soon as a point leaves
them and shrink only when the data fill less than a third of them, so they do not jump every frame.
Drawn only while its section is open (sections.Foldable).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import numpy as np
from matplotlib.collections import LineCollection

from .colours import MAX_CLASSES, class_colour
from .sections import Foldable, callback
from .settings import Settings, inside
from .state import Frame
from .still import Still

LINES = 15            # grid lines of the input square, each way
LINE_POINTS = 40      # points along each grid line
ALL = 10**6           # "every hidden layer" for Run.hidden


def grid_lines() -> np.ndarray:
    """(2·LINES, LINE_POINTS, 2): LINES horizontal lines of [0, 1]², then LINES vertical ones."""
    s, t = np.linspace(0, 1, LINES), np.linspace(0, 1, LINE_POINTS)
    horizontal = np.stack(np.broadcast_arrays(t[None, :], s[:, None]), axis=-1)     # x runs, y fixed
    vertical = horizontal[..., ::-1]
    return np.concatenate([horizontal, vertical])


def follow_limits(limits: tuple[float, float] | None, lo: float, hi: float) -> tuple[float, float]:
    """Axis limits for data in [lo, hi]: ``limits`` kept while they hold the data and the data fill a
    third of them, else the data with 20% room each side (a dead unit's constant still gets 0.1)."""
    if limits is not None and limits[0] <= lo and hi <= limits[1] and hi - lo >= (limits[1] - limits[0]) / 3:
        return limits
    room = 0.2 * max(hi - lo, 0.1)
    return (lo - room, hi + room)


class HiddenSpace(Foldable):
    """A Panel (panels.py): pick a hidden layer and two of its units; the plane they make."""

    title = "Hidden space: the data as a hidden layer sees it"

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.run: Any = None
        self.widths: list[int] = []                  # units per hidden layer of self.run
        self.limits: dict[str, tuple[float, float] | None] = {"x": None, "y": None}
        self.draws = 0
        self._quiet = False                          # options being set by reset: no redraw per change
        s = {"description_width": "40px"}
        self.layer = W.Dropdown(description="layer", style=s, layout=W.Layout(width="160px"))
        self.x = W.Dropdown(description="x", style=s, layout=W.Layout(width="140px"))
        self.y = W.Dropdown(description="y", style=s, layout=W.Layout(width="140px"))
        for w, css in ((self.layer, "layer"), (self.x, "x"), (self.y, "y")):
            w.add_class(f"pg-hidden-{css}")
            w.observe(self._on_choice, names="value")
        self.note = self.message = W.HTML()           # sections.callback writes errors here
        self.note.add_class("pg-hidden-note")
        self.still = Still((5.0, 4.6), "pg-hidden-plot", "420px")
        self.image = self.still.image
        self.widget = W.VBox([W.HBox([self.layer, self.x, self.y]), self.note, self.image])
        self.widget.add_class("pg-hidden")
        self.ax = self.still.fig.add_subplot()
        self.still.fig.subplots_adjust(left=0.14, right=0.97, bottom=0.11, top=0.93)
        self.lines = self.still.animate(LineCollection([], colors="#a0a0a0", linewidths=0.6))
        self.ax.add_collection(self.lines, autolim=False)
        self.points = [self.still.animate(self.ax.plot([], [], "o", ms=3.2, mfc=class_colour(c), mec="white",
                                                       mew=0.3)[0]) for c in range(MAX_CLASSES)]
        self._drawn: tuple | None = None                 # what the background shows: limits and labels

    # -- the panel ---------------------------------------------------------------------------------------
    @inside
    def reset(self, run: Any) -> None:
        """A new run: the layer and unit choices clamped to its network (no error if they are gone),
        the axes forgotten."""
        self.run = run
        self.widths = [a.shape[1] for a in run.hidden(np.full((1, 2), 0.5), ALL)]
        old = self.layer.value
        self._quiet = True
        try:
            self.layer.options = [(f"hidden {i + 1}", i) for i in range(len(self.widths))]
            self.layer.value = min(old or 0, len(self.widths) - 1) if self.widths else None
            self._unit_options()
        finally:
            self._quiet = False
        self.limits = {"x": None, "y": None}          # the app's redraw follows: refresh draws

    def refresh(self, run: Any, frame: Frame) -> None:
        self.run = run
        if self.open:
            self.draw()

    @callback
    def opened(self) -> None:
        if self.run is not None:
            self.draw()

    def _unit_options(self) -> None:
        width = self.widths[self.layer.value] if self.widths else 0
        for w, default in ((self.x, 0), (self.y, 1)):
            old = w.value
            w.options = [(f"unit {j + 1}", j) for j in range(width)]
            w.value = (min(old, width - 1) if old is not None else min(default, width - 1)) if width else None

    @callback
    def _on_choice(self, change: dict) -> None:
        if self._quiet:
            return
        if change["owner"] is self.layer:
            self._quiet = True
            try:
                self._unit_options()
            finally:
                self._quiet = False
        self.limits = {"x": None, "y": None}
        if self.open and self.run is not None:
            self.draw()

    # -- the picture -------------------------------------------------------------------------------------
    def mapped(self, run: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(points (N, 2), labels (N,), lines (2·LINES, LINE_POINTS, 2)): the training points and the
        input grid mapped to (h_x, h_y) of the chosen layer."""
        x, labels = run.points["train"]
        grid = grid_lines()
        layer, i, j = self.layer.value, self.x.value, self.y.value
        h = run.hidden(np.concatenate([x, grid.reshape(-1, 2)]), layer + 1)[layer][:, [i, j]].numpy()
        return h[:len(x)], labels, h[len(x):].reshape(grid.shape)

    @inside
    def draw(self) -> None:
        """Map and draw (the run's network as it is now)."""
        if not self.widths:
            self.note.value = "<i>no hidden layer: the network maps the input square straight to the outputs</i>"
            self.image.layout.display = "none"
            return
        self.image.layout.display = None
        points, labels, lines = self.mapped(self.run)
        for c, line in enumerate(self.points):
            chosen = points[labels == c]
            line.set_data(chosen[:, 0], chosen[:, 1])
        self.lines.set_segments(list(lines))
        both = np.concatenate([points, lines.reshape(-1, 2)])
        both = both[np.isfinite(both).all(axis=1)]
        for axis, column in (("x", 0), ("y", 1)):
            lo, hi = (float(both[:, column].min()), float(both[:, column].max())) if len(both) else (0.0, 1.0)
            self.limits[axis] = follow_limits(self.limits[axis], lo, hi)
        layer, i, j = self.layer.value + 1, self.x.value + 1, self.y.value + 1
        drawn = (self.limits["x"], self.limits["y"], layer, i, j)
        if drawn != self._drawn:                      # new limits or labels: a full draw
            self.ax.set_xlim(*self.limits["x"])
            self.ax.set_ylim(*self.limits["y"])
            self.ax.set_xlabel(f"unit {i} of hidden layer {layer}")
            self.ax.set_ylabel(f"unit {j} of hidden layer {layer}")
            self.ax.set_title(f"hidden layer {layer}: the points and the input square's grid", fontsize=9)
        self.still.show(full=drawn != self._drawn)
        self._drawn = drawn
        self.note.value = (f"epoch {self.run.epoch}: each grey line is a straight line of the input square "
                           f"as units {i} and {j} of hidden layer {layer} see it")
        self.draws += 1
