"""The network diagram as a playground Panel: one Figure, live tiles and lines, hover and click.   Notebook 10

    DiagramPanel(canvas, settings)      # app.panels gets one; its section under the figure shows it

The picture is diagram.py's: one LineCollection holds every connection and one RGBA image every
tile (``diagram.mosaic``, copied into the rendered pixels a column strip at a time, like a figimage
without resampling), over a kept background (titles, names, legend: drawn once per architecture,
then blitted, as views.py does). Collapsed, the panel does nothing at all; expanded, it is drawn at
once and then at the app's redraws, at most every BUDGET × its own cost (training goes on).

A refresh comes in pieces (``refresh_steps``; the app runs one per turn of the event loop, so a
click waits for one piece, not a whole refresh): the tiles' values and the lines' styles; the lines
(~20 µs each with Agg, 1856 at 8 × 16: the costly piece), kept as a *lines layer*; the tiles and
highlights over that layer; the frame encoded for the page. A hover redraws only the last two.

The mouse (hover a line: its weight; click a tile: enlarged below, live) is diagram_events.py's.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any

import ipywidgets as W
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import diagram as D
from .colours import MAX_CLASSES, class_colour
from .diagram_events import ZOOM, DiagramEvents
from .panels import Steps, in_turns, run_now
from .png import canvas_png
from .sections import Foldable
from .settings import Settings

DPI = 80                                   # one layout unit per pixel
BUDGET = 4                                 # refresh at most every BUDGET × the last refresh's cost
FRAME_TASK = "diagram frame"              # the name of a skipped frame's task (it draws; it never trains)
LINES_PER_PIECE = 600                      # lines drawn between two turns of the event loop (~15 ms)


class DiagramPanel(DiagramEvents, Foldable):
    """The network diagram (panels.Panel): ``reset(run)``, ``refresh(run, frame)``; a Foldable:
    it draws only while its section is open, and at once when that opens."""

    title = "network diagram"

    def __init__(self, canvas: str = "image", settings: Settings | None = None):
        if canvas not in ("image", "ipympl"):
            raise ValueError(f"DiagramPanel: canvas must be 'image' or 'ipympl', got {canvas!r}")
        self.canvas, self.settings = canvas, settings or Settings()
        self.fig = Figure(dpi=DPI)
        self.image: W.Image | None = None
        if canvas == "ipympl":
            from ipympl.backend_nbagg import FigureManager

            from .views import ipympl_canvas
            with warnings.catch_warnings():        # ipympl 0.10's Toolbar trips a traitlets deprecation (views.py)
                warnings.simplefilter("ignore", DeprecationWarning)
                FigureManager(ipympl_canvas()(self.fig), 0)
            c = self.fig.canvas
            c.header_visible = c.footer_visible = c.resizable = c.toolbar_visible = False
            c.mpl_connect("motion_notify_event", self.on_mouse)
            c.mpl_connect("button_press_event", self.on_mouse)
            picture = c
        else:
            from ipyevents import Event
            FigureCanvasAgg(self.fig)
            self.image = picture = W.Image(format="png", layout=W.Layout(min_width="0px"))
            self.events = Event(source=self.image, watched_events=["click", "mousemove"], wait=40,
                                throttle_or_debounce="throttle", prevent_default_action=True)
            self.events.on_dom_event(self.on_image_event)
        picture.add_class("pg-diagram-canvas")
        self.fig.canvas.mpl_connect("draw_event", self._on_full_draw)
        self.note = W.HTML().add_class("pg-diagram-note")
        self.readout = W.HTML("hover a line to read its weight; click a tile to enlarge it").add_class(
            "pg-diagram-readout")
        self.zoom = W.Image(format="png", layout=W.Layout(width=f"{ZOOM}px", height=f"{ZOOM}px",
                                                          display="none")).add_class("pg-diagram-zoom")
        self.zoom_label = W.HTML().add_class("pg-diagram-zoom-label")
        self.widget = W.VBox([self.note, picture, self.readout, W.HBox([self.zoom, self.zoom_label])],
                             layout=W.Layout(overflow="auto"))       # a wide network scrolls sideways
        self.widget.add_class("pg-diagram")
        self.open = False
        self.run: Any = None
        self.lay: D.Layout | None = None
        self.tiles: list[np.ndarray] = []
        self.weights: list[np.ndarray] = []
        self.selected: D.Hit | None = None        # the enlarged tile
        self.hovered: D.Hit | None = None
        self.refreshes = self.full_draws = 0
        self.cost, self._next, self._pending = 0.0, 0.0, None    # the last refresh's seconds; the next's time
        self._stepping: asyncio.Future | None = None               # a skipped frame being drawn in turns
        self._drawing = False                                       # a refresh's pieces are under way
        self.live = False          # the app trains: frames follow (ipympl sends changed pixels, not whole frames)
        self._background: Any = None              # the static labels, kept; then with the lines over them:
        self._lines_background: Any = None
        self._lines_drawn = False                 # the lines of the current weights are in _lines_background
        self._pixels: tuple = ()                   # the figure's size in pixels when the background was kept

    # -- the Panel protocol ----------------------------------------------------------------------------
    def reset(self, run: Any) -> None:
        """A new run: drawn when the panel is (or gets) open."""
        self.run, self.lay = run, None

    def refresh(self, run: Any, frame: Any = None, live: bool = True) -> None:
        """Draw ``run`` now if the panel is open (``refresh_steps``, all its pieces at once)."""
        run_now(self.refresh_steps(run, frame, live))

    def refresh_steps(self, run: Any, frame: Any = None, live: bool = True) -> Steps:
        """Draw ``run`` if the panel is open, in pieces (panels.in_turns runs one per turn of the event loop):
        the values, mosaic and line styles; the lines, about LINES_PER_PIECE a piece; the tiles and highlights;
        the frame sent.
        Collapsed, nothing. While an asyncio loop runs (a kernel), frames come at most every BUDGET × the
        last one's cost (the diagram takes at most 1/BUDGET of the time: training goes on); a frame skipped
        is drawn when that time is up, unless another came first, so the last state is always shown."""
        if not self.open:
            return ()
        self.run, self.live = run, live
        wait = self._next - time.perf_counter()
        if self._drawing:                              # a frame being drawn in turns: this one after it
            self._defer(max(wait, 0.05))
            return ()
        if wait > 0 and self._defer(wait):
            return ()
        return self._timed(self._draw_run(run, live))

    def _timed(self, steps: Steps) -> Steps:
        """``steps``, their seconds (not the waits between them) kept as the cost of this refresh; while they
        run, ``_drawing`` (no second frame interleaves its pieces with theirs)."""
        busy, start, self._drawing = 0.0, time.perf_counter(), True
        try:
            for _ in steps:
                busy += time.perf_counter() - start
                yield
                start = time.perf_counter()
        finally:
            self._drawing = False
        self.cost = busy + time.perf_counter() - start
        self._next = time.perf_counter() + BUDGET * self.cost

    def _defer(self, wait: float) -> bool:
        """Draw in ``wait`` seconds (once, however many frames are skipped); False without an event loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._pending is None:
            self._pending = loop.call_later(wait, self._deferred)
        return True

    def _deferred(self) -> None:
        """The frame skipped: drawn in turns of the event loop, like the app's own."""
        self._pending = None
        if not self.open or self.run is None:
            return
        wait = self._next - time.perf_counter()
        if wait > 0 or self._drawing:                   # a refresh came in between: this one after its budget
            self._defer(max(wait, 0.05))
        else:
            frame = in_turns(self._guarded(self.refresh_steps(self.run, live=self.live)), self.settings)
            self._stepping = asyncio.get_running_loop().create_task(frame, name=FRAME_TASK)

    def _guarded(self, steps: Steps) -> Steps:
        """``steps``, each piece through ``guard``: an exception ends them as a red line in the readout."""
        pieces, done = iter(steps), object()
        while self.guard(lambda: next(pieces, done) is not done):
            yield

    def _draw_run(self, run: Any, live: bool) -> Steps:
        weights = run.weights()
        if weights is None:
            self.note.value = ("<span style='color:#666'>The diagram needs each Linear's weights as an (out, in) "
                               "matrix (the first pair of its param()); this network gives none.</span>")
            return
        sizes = D.sizes_of(weights)
        if self.lay is None or self.lay.sizes != sizes:
            self._build(D.layout(sizes))
        self.weights, self.tiles = weights, D.values(run, self.lay)
        self.mosaic = D.mosaic(self.lay, self.tiles)
        colours, widths, m = D.line_style(weights, self.lay)
        ends = np.cumsum(self.line_counts)[:-1]
        for lines, c, w in zip(self.lines, np.split(colours, ends), np.split(widths, ends), strict=True):
            lines.set_color(c)
            lines.set_linewidth(w)
        self.wmax.set_text(f"max |w| shown = {m:.3g}")
        self._lines_drawn = False
        yield
        if self._background is not None and self._pixels == tuple(self.fig.bbox.size):
            yield from self.lines_steps()                  # the costly pieces: every connection
            yield
        self.show_selection()
        if self.render(live):
            yield
            self.send()
        self.refreshes += 1

    def opened(self) -> None:
        """The section was expanded (sections.Foldable): draw the current run at once."""
        if self.run is not None:
            self.guard(lambda: self.refresh(self.run, live=False))

    def show(self, open: bool) -> None:
        """Open (draw the current run at once) or close the panel, as its section does."""
        self.open = bool(open)
        if self.open:
            self.opened()

    # -- the picture ----------------------------------------------------------------------------------
    def _build(self, lay: D.Layout) -> None:
        """Axes, artists and the static labels for ``lay`` (a new architecture)."""
        self.lay, self._background = lay, None
        self.selected = self.hovered = None
        self.fig.clear()
        self.fig.set_size_inches(lay.width / DPI, lay.height / DPI)
        if self.image is not None:
            self.image.layout.width = f"{lay.width}px"                 # its own pixels, not stretched
        ax = self.ax = self.fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, lay.width)
        ax.set_ylim(lay.height, 0)
        ax.set_axis_off()
        segments = [lay.segments(l) for l in range(lay.columns - 1)]
        self.line_counts = [len(segs) for segs in segments]          # (get_segments() rebuilds them: slow)
        self.lines = [LineCollection(segs, zorder=1, capstyle="round") for segs in segments]
        for lines in self.lines:                           # one per Linear layer: drawn a few per piece
            ax.add_collection(lines, autolim=False)
        self.mosaic = np.full((lay.height, lay.width, 4), 255, np.uint8)
        self.hover_line = ax.plot([], [], color="black", lw=1.6, zorder=3)[0]
        self.box = ax.add_patch(Rectangle((0, 0), D.TILE, D.TILE, fill=False, ec="black", lw=2, zorder=4,
                                          visible=False))
        self.wmax = ax.text(14 + 112 * 4, lay.height - D.BOTTOM + 22, "", va="center", fontsize=8)
        self.highlights = [self.hover_line, self.box, self.wmax]
        for artist in [*self.lines, *self.highlights]:
            artist.set_animated(True)
        self._labels(ax, lay)

    def _labels(self, ax: Any, lay: D.Layout) -> None:
        inputs = getattr(self.run, "input_names", ())
        for c, (corners, size) in enumerate(zip(lay.corners, lay.sizes, strict=True)):
            x = corners[0, 0] + D.TILE / 2
            title = "inputs" if c == 0 else "outputs" if c == lay.columns - 1 else f"layer {c}"
            ax.text(x, D.TOP - 16, title, ha="center", va="bottom", fontsize=9, weight="bold")
            ax.text(x, D.TOP - 15, f"{size} unit{'s' * (size > 1)}", ha="center", va="top", fontsize=7, color="#666")
            if size > len(corners):
                ax.text(x, corners[-1, 1] + D.TILE + 4, f"+{size - len(corners)} more", ha="center", va="top",
                        fontsize=8, color="#444")
            for u, (tx, ty) in enumerate(corners):
                if c == 0:
                    ax.text(tx - 4, ty + D.TILE / 2, D.unit_name(lay, 0, u, inputs), ha="right", va="center",
                            fontsize=9)
                elif c == lay.columns - 1:
                    ax.text(tx + D.TILE + 5, ty + D.TILE / 2, f"class {u}", ha="left", va="center", fontsize=9,
                            color=class_colour(u) if u < MAX_CLASSES else "black", weight="bold")
        y = lay.height - D.BOTTOM + 22                        # the legend: lines, then tiles
        for k, (w, text) in enumerate(((1.0, "w > 0"), (-1.0, "w < 0"), (0.25, "small |w|"))):
            x0 = 14 + 112 * k
            ax.plot([x0, x0 + 30], [y, y], color=D.CMAP(0.5 + 0.5 * w), lw=0.3 + 2.7 * abs(w))
            ax.text(x0 + 36, y, text, va="center", fontsize=8)
        ax.text(14 + 112 * 3, y, "line width ∝ |w|", va="center", fontsize=8)
        y += 22
        ax.imshow(np.linspace(0, 1, 64)[None], cmap=D.CMAP, extent=(84, 164, y + 5, y - 5), aspect="auto")
        ax.text(14, y, "tiles:  −max", va="center", fontsize=8)
        ax.text(168, y, "+max    a unit's value over the input square (each tile to its own max |value|)",
                va="center", fontsize=8)

    def draw(self, live: bool | None = None) -> None:
        """``render``, then ``send`` (``live``: the last refresh's). A hover redraws only this, not the lines;
        while a refresh is under way in pieces, nothing (its last piece draws the highlights as they are then)."""
        if self._drawing:
            return
        if self.render(self.live if live is None else live):
            self.send()

    def render(self, live: bool = False) -> bool:
        """The kept lines layer (drawn first if the weights changed), the tiles and highlights over it; or
        everything when new (ipympl sends that full draw at once). True if ``send`` has the frame to send."""
        canvas = self.fig.canvas
        canvas.live = live
        if self._background is None or self._pixels != tuple(self.fig.bbox.size):   # new, or a new dpi
            canvas.draw()                                   # -> _on_full_draw
            return self.image is not None
        if not self._lines_drawn:
            self._draw_lines()
        canvas.restore_region(self._lines_background)
        self._draw_moving()
        return True

    def send(self) -> None:
        """The rendered frame to the page: ipympl's diff frame, or the image's PNG (the encoding is the cost)."""
        if self.image is None:
            self.fig.canvas.blit(self.fig.bbox)
            return
        self.image.value = canvas_png(self.fig)

    def _on_full_draw(self, event: Any) -> None:
        self.full_draws += 1
        self._background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self._pixels = tuple(self.fig.bbox.size)
        self._draw_lines()
        self._draw_moving()

    def _draw_lines(self) -> None:
        """``lines_steps`` at once."""
        run_now(self.lines_steps())

    def lines_steps(self) -> Steps:
        """The static background, every connection over it (~20 µs a line with Agg), kept as the lines layer.
        In pieces of about LINES_PER_PIECE lines (a Linear layer's lines at a time): 8 × 16 has 1856."""
        canvas = self.fig.canvas
        canvas.restore_region(self._background)
        count = 0
        for i, (lines, n) in enumerate(zip(self.lines, self.line_counts, strict=True)):
            self.fig.draw_artist(lines)
            count += n
            if count >= LINES_PER_PIECE and i < len(self.lines) - 1:
                count = 0
                yield
        self._lines_background = canvas.copy_from_bbox(self.fig.bbox)
        self._lines_drawn = True

    def _draw_moving(self) -> None:
        """The tiles copied into the rendered pixels (resampled to the canvas's pixels only if its dpi is
        not DPI, as on a high-density screen), then the highlights."""
        pixels = np.asarray(self.fig.canvas.get_renderer().buffer_rgba())
        s = pixels.shape[0] / self.lay.height
        for x0, y0, x1, y1 in D.strips(self.lay):        # one strip per column: its tiles and the gaps between
            if s == 1:
                pixels[y0:y1, x0:x1] = self.mosaic[y0:y1, x0:x1]
                continue
            rows, cols = np.arange(round(y0 * s), round(y1 * s)), np.arange(round(x0 * s), round(x1 * s))
            pixels[np.ix_(rows, cols)] = self.mosaic[np.ix_((rows / s).astype(int), (cols / s).astype(int))]
        for artist in self.highlights:
            self.fig.draw_artist(artist)

    def guard(self, action: Any) -> Any:
        """Run ``action`` inside the app's torch settings: its result, or None when it raised (the exception
        a red line in the readout)."""
        with self.settings:
            try:
                return action()
            except Exception as e:
                line = str(e).splitlines()[0] if str(e) else ""
                self.readout.value = f"<span style='color:#C00000'>diagram: {type(e).__name__}: {line}</span>"
