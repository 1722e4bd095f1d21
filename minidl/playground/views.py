"""The playground's pictures: one matplotlib Figure drawing a Frame (playground.state).   Notebook 10

Panels: the decision boundary (the k class probabilities painted by colours.class_image, the line
where the arg-max class changes, train/test points in colours.class_colour, mistakes), loss and
error curves, the gradient norm of every Linear layer, and what each unit of the first hidden
layers responds to over the input square (the confusion matrix is a table beside it: confusion.py).
One Figure for the app's lifetime (never in pyplot, so no figures pile up); a change of
architecture rebuilds its axes in place.

A frame is cheap because most of the Figure does not change: axes, ticks, labels and titles are
rendered once (a *full draw*) and kept as a background; every frame restores that background and
draws only the artists that move (they are ``animated``: a full draw leaves them to us) — this is
matplotlib's blitting. The whole figure is drawn for the first frame, a new architecture and a
zoom/pan from the toolbar; when axis limits move (the curves' in steps: 10, 20, 50, 100 ...
epochs, loss decades; the gradient norms' decades) only that panel is redrawn into the
background. ``update(frame)`` sets the artists, ``draw()`` renders (``render``) and sends it (``send``),
``png()`` renders and encodes it (``encode``). ``render_steps`` is ``render`` in pieces (a panel's
axes redrawn into the background, tens of ms each, then the moving artists), which the app's
training loop runs one per turn of the event loop (panels.in_turns).

Two ways to show it, the same artists either way:
  * ``canvas="ipympl"`` (the default where ipympl is installed, as ``%matplotlib widget`` does):
    the Figure's canvas *is* the widget; a frame goes to the page as the pixels that changed;
    the toolbar zooms and pans.
  * ``canvas="image"``: the Figure is rendered with Agg into a PNG that an ``ipywidgets.Image``
    shows (a frame replaces the last without flicker): no front-end extension needed at all.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from typing import Any

import contourpy
import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from ..tools.viz import STYLE
from .colours import MAX_CLASSES, class_colour, class_image
from .panels import Steps, run_now
from .png import canvas_png, png
from .state import GRID, UNIT_GRID, UNIT_LAYERS, UNITS, Frame

CENTRES = (np.arange(GRID) + 0.5) / GRID          # the boundary's pixel centres (viz.decision_grid)


class Views:
    """Owns the Figure and its artists; ``update(frame)`` refreshes them, ``draw()`` renders."""

    def __init__(self, n_linear: int, canvas: str = "image", figsize: tuple[float, float] = (8.6, 7.2),
                 dpi: int = 80):
        if canvas not in ("image", "ipympl"):
            raise ValueError(f"Views: canvas must be 'image' or 'ipympl', got {canvas!r}")
        self.canvas = canvas
        self.fig = Figure(figsize=figsize, dpi=dpi)
        if canvas == "ipympl":
            from ipympl.backend_nbagg import FigureManager
            with warnings.catch_warnings():        # ipympl 0.10's Toolbar trips a traitlets deprecation
                warnings.simplefilter("ignore", DeprecationWarning)
                FigureManager(_ipympl_canvas()(self.fig), 0)   # the canvas is a DOMWidget; + toolbar
            c = self.fig.canvas
            c.header_visible = c.footer_visible = c.resizable = False
            c.toolbar_position = "right"
        else:
            FigureCanvasAgg(self.fig)
        self.fig.canvas.mpl_connect("draw_event", self._on_full_draw)
        self.full_draws = self.panel_draws = 0           # whole figure / one panel re-rendered
        self.rebuild(n_linear)

    def rebuild(self, n_linear: int) -> None:
        """Axes and artists for a network of n_linear Linear layers, in the same Figure."""
        self.fig.clear()
        self.fig.set_layout_engine("constrained")
        top, bottom = self.fig.subfigures(2, 1, height_ratios=[2.0, 1.25])
        left, right = top.subfigures(1, 2, width_ratios=[1.0, 1.05], facecolor="white")
        self.ax_boundary = left.subplots()
        self.ax_loss, self.ax_error = right.subplots(2, 1, sharex=True)
        grad_fig, self.units_fig = bottom.subfigures(1, 2, width_ratios=[1.0, 2.0], facecolor="white")
        self._panels = {"curves": right, "grad": grad_fig}     # opaque: each can be redrawn on its own
        self.ax_grad = grad_fig.subplots()
        self.ax_units = self.units_fig.subplots()
        self._setup(n_linear)
        self.ax_error.set_xlim(0.5, 20000.5)              # lay out once, room for the widest tick labels,
        self.ax_loss.set_ylim(1e-5, 10)                   # then keep the positions: a full draw stays cheap
        self.fig.get_layout_engine().execute(self.fig)
        self.fig.set_layout_engine("none")
        self._background: Any = None
        self._limits: dict[str, tuple] = {}
        self._stale: set[str] = set()                    # panels whose axes limits moved
        self.unsent = False                              # a frame rendered but not yet sent (render_steps)
        self._train_points: np.ndarray | None = None
        self._test_points: np.ndarray | None = None

    def _setup(self, n_linear: int) -> None:
        ax = self.ax_boundary
        self.im = ax.imshow(np.ones((GRID, GRID, 3)), origin="lower", extent=(0, 1, 0, 1), interpolation="bilinear")
        self.contour = LineCollection([], colors=STYLE["boundary"], linewidths=1.2)
        ax.add_collection(self.contour, autolim=False)
        def markers(marker: str, cls: int) -> Any:     # Line2D markers: stamped, far cheaper than a scatter
            return ax.plot([], [], marker, ms=3.6, mfc=class_colour(cls), mec="white", mew=0.3)[0]
        self.train_pts = [markers("o", c) for c in range(MAX_CLASSES)]
        self.test_pts = [markers("^", c) for c in range(MAX_CLASSES)]
        self.mistakes = ax.plot([], [], "o", ms=6.5, mfc="none", mec=STYLE["mistakes"], mew=0.9)[0]
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="$x_1$", ylabel="$x_2$")
        ax.set_title("decision boundary  (○ ringed: misclassified)", fontsize=10)

        for axis, name in ((self.ax_loss, "loss"), (self.ax_error, "error %")):
            axis.set_ylabel(name)
            axis.yaxis.set_label_coords(-0.16, 0.5)     # fixed: it must not move when its panel is redrawn
            axis.grid(alpha=0.3)
        self.ax_loss.set_yscale("log")
        self.ax_loss.yaxis.set_minor_formatter(NullFormatter())    # one decade: no 6e-1 labels over "loss"
        self.ax_error.set_xlabel("epoch")
        self.loss_lines = [self.ax_loss.plot([], [], color=STYLE[k], label=k)[0] for k in ("train", "test")]
        self.error_lines = [self.ax_error.plot([], [], color=STYLE[k], label=k)[0] for k in ("train", "test")]
        self.ax_loss.legend(loc="upper right", fontsize=8)
        self.diverged_text = self.ax_loss.text(0.02, 0.05, "", transform=self.ax_loss.transAxes, va="bottom",
                                               color=STYLE["diverged"], fontsize=9, linespacing=1.1,
                                               bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})

        self.bars = list(self.ax_grad.bar(range(1, n_linear + 1), np.ones(n_linear), color="#56B4E9"))
        self.ax_grad.set_yscale("log")
        self.ax_grad.set_xticks(range(1, n_linear + 1))
        self.ax_grad.set_xlabel("Linear layer")
        self.ax_grad.set_title("gradient norm ‖∂L/∂W‖", fontsize=10)

        self.ax_units.set_axis_off()               # no ticks to lay out: a cheaper frame
        cmap = colormaps["RdBu_r"].with_extremes(bad="white")  # nan: the gaps, and units the layer lacks
        self.units = self.ax_units.imshow(np.full(MOSAIC, np.nan), origin="upper", cmap=cmap, vmin=-1, vmax=1,
                                          interpolation="nearest")
        self.units_fig.suptitle("what the units of hidden layers 1 (top) and 2 respond to over the input square",
                                fontsize=9)
        self.moving = [self.im, self.contour, *self.train_pts, *self.test_pts, self.mistakes, *self.loss_lines,
                       *self.error_lines, self.diverged_text, *self.bars, self.units]
        for artist in self.moving:
            artist.set_animated(True)

    # -- refresh --------------------------------------------------------------------------------------
    def update(self, frame: Frame) -> None:
        """Set every artist from ``frame``; the limits they need decide whether the next draw is full."""
        p = frame.boundary
        self.im.set_data(class_image(p))
        self.contour.set_segments(_contour(p))

        if frame.train[0] is not self._train_points:          # new points only after a reset
            self._train_points = frame.train[0]
            _points(self.train_pts, *frame.train)
        test = None if frame.test is None else frame.test[0]
        if test is not self._test_points:                     # shown or hidden, or new points
            self._test_points = test
            _points(self.test_pts, *(frame.test or (np.zeros((0, 2)), np.zeros(0))))
        self.mistakes.set_data(frame.mistakes[:, 0], frame.mistakes[:, 1])

        e = frame.epochs
        self.loss_lines[0].set_data(e, frame.train_loss)
        self.loss_lines[1].set_data(e[:len(frame.test_loss)], frame.test_loss)
        self.error_lines[0].set_data(e, 100 * frame.train_error)
        self.error_lines[1].set_data(e[:len(frame.test_error)], 100 * frame.test_error)
        self.diverged_text.set_text(self._wrap(frame.note))

        norms = frame.gradient_norms
        for bar, norm in zip(self.bars, norms, strict=False):
            bar.set_height(max(norm, 1e-7) if math.isfinite(norm) else 1e-7)

        self.units.set_data(_mosaic(frame.units))

        losses = np.concatenate([frame.train_loss, frame.test_loss])
        limits = {"curves": (_epoch_limit(e[-1] if len(e) else 0), _decades(losses[np.isfinite(losses) & (losses > 0)]),
                             _percent_limit(100 * np.concatenate([frame.train_error, frame.test_error]))),
                  "grad": _decades(np.array([n for n in norms if math.isfinite(n) and n > 0]), low=1e-6, high=1e2)}
        self._stale |= {k for k, v in limits.items() if self._limits.get(k) != v}
        self._limits = limits
        (epochs, loss, percent), grad = limits["curves"], limits["grad"]
        self.ax_error.set_xlim(0.5, epochs + 0.5)
        self.ax_loss.set_ylim(*loss)
        self.ax_error.set_ylim(0, percent)
        self.ax_grad.set_ylim(*grad)

    def _wrap(self, note: str) -> str:
        """``note`` in lines that fit the loss plot's width (9-pt characters average about 0.6 em)."""
        chars = self.ax_loss.bbox.width / (0.6 * 9 * self.fig.dpi / 72) - 2
        return textwrap.fill(note, width=max(int(chars), 20))

    def draw(self, live: bool = False) -> None:
        """Render the Figure (``render``), then with ipympl send the frame to the page (``send``)."""
        if self.render(live):
            self.send()

    def render(self, live: bool = False) -> bool:
        """``render_steps`` at once; False if nothing is left for ``send``."""
        run_now(self.render_steps(live))
        return self.unsent

    def render_steps(self, live: bool = False) -> Steps:
        """Restore the background and draw the moving artists, or draw it all when the background changed
        (ipympl: that full draw is sent at once; ``unsent`` says whether ``send`` has work). In pieces: each
        panel whose limits moved is redrawn into the background in a piece of its own (an axis with its
        labels is tens of ms), then the moving artists. ``live``: more frames follow at once (ipympl
        without a page then skips its data-URL copy)."""
        canvas = self.fig.canvas
        canvas.live = live
        self.unsent = False
        if self._background is None:
            canvas.draw()                                # -> _on_full_draw: background, then the artists
            return
        if self._stale:                                   # new limits: redraw those panels into the background
            canvas.restore_region(self._background)
            renderer = canvas.get_renderer()
            for name in [n for n in self._panels if n in self._stale]:     # in a fixed order
                yield from self._panel_steps(self._panels[name], renderer)
                self.panel_draws += 1
            self._background = canvas.copy_from_bbox(self.fig.bbox)
            self._stale.clear()
        canvas.restore_region(self._background)
        self._draw_moving()
        self.unsent = True

    @staticmethod
    def _panel_steps(panel: Any, renderer: Any) -> Steps:
        """SubFigure.draw for ``panel``, an Axes (with its ticks and labels: tens of ms) per piece: its
        background, then its artists by zorder."""
        panel.patch.draw(renderer)
        for artist in sorted((a for a in panel.get_children() if a is not panel.patch and not a.get_animated()),
                             key=lambda a: a.get_zorder()):
            artist.draw(renderer)
            yield
        panel.stale = False

    def send(self) -> None:
        """ipympl: the rendered frame's changed pixels to the page (encoding them is most of the cost)."""
        if self.canvas == "ipympl":
            self.fig.canvas.blit(self.fig.bbox)

    def _on_full_draw(self, event: Any) -> None:
        """After every full draw (ours, or the toolbar's zoom and pan): keep it, add the moving artists."""
        self.full_draws += 1
        self._stale.clear()
        self._background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self._draw_moving()

    def _draw_moving(self) -> None:
        for artist in self.moving:
            self.fig.draw_artist(artist)

    def png(self) -> bytes:
        """Render with Agg and encode fast (zlib level 1)."""
        self.render()
        return self.encode()

    def encode(self) -> bytes:
        """The rendered pixels as a PNG (png.py: fast)."""
        return canvas_png(self.fig)


def _points(lines: list[Any], x: np.ndarray, y: np.ndarray) -> None:
    """Each class's points into its line (classes beyond the data's: none)."""
    for cls, line in enumerate(lines):
        line.set_data(x[y == cls, 0], x[y == cls, 1])


GAP = 3                                                    # pixels between unit heatmaps
MOSAIC = (UNIT_LAYERS * (UNIT_GRID + GAP) - GAP, UNITS * (UNIT_GRID + GAP) - GAP)


def _mosaic(units: tuple[np.ndarray, ...]) -> np.ndarray:
    """One image of every unit heatmap (row: hidden layer; y up in each tile), each scaled to [-1, 1]:
    one image to draw instead of twelve."""
    out = np.full(MOSAIC, np.nan)
    for layer, maps in enumerate(units[:UNIT_LAYERS]):
        for unit, a in enumerate(maps[:UNITS]):
            r, c = layer * (UNIT_GRID + GAP), unit * (UNIT_GRID + GAP)
            out[r:r + UNIT_GRID, c:c + UNIT_GRID] = a[::-1] / (float(np.abs(a).max()) or 1.0)
    return out


def _contour(p: np.ndarray) -> list[np.ndarray]:
    """Where the arg-max class changes, as polylines (contourpy: what ax.contour uses, without a new artist):
    the 0 level of m_c = p_c − max_{c' ≠ c} p_c', the edge of class c's region, for every class c
    (k = 2: class 1 alone, m₁ = 2 P(class 1) − 1, the 0.5 level of P(class 1); the regions' shared
    edges are drawn once from each side)."""
    k = p.shape[2]
    lines: list[np.ndarray] = []
    for c in range(1, 2) if k == 2 else range(k):
        margin = p[:, :, c] - np.delete(p, c, axis=2).max(axis=2)
        if margin.min() < 0 < margin.max():
            lines += contourpy.contour_generator(CENTRES, CENTRES, margin).lines(0.0)
    return lines


def _epoch_limit(epoch: float) -> int:
    """The x-axis end: 10, 20, 50, 100, 200, ... the first at or above ``epoch``."""
    limit = 10
    while limit < epoch:
        limit = limit * 5 // 2 if str(limit)[0] == "2" else limit * 2
    return limit


def _decades(values: np.ndarray, low: float | None = None, high: float | None = None) -> tuple[float, float]:
    """Log-axis limits: whole decades around ``values`` (at least [low, high] when given)."""
    if not len(values):
        return (low or 1e-2, high or 1.0)
    lo, hi = 10.0 ** math.floor(math.log10(values.min())), 10.0 ** math.ceil(math.log10(values.max() * 1.5))
    lo, hi = min(lo, hi / 10), max(hi, lo * 10)
    return (min(lo, low) if low else lo, max(hi, high) if high else hi)


def _percent_limit(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if len(finite) else 50.0
    return next(v for v in (5, 10, 20, 30, 40, 50, 60, 80, 100, 1e9) if top * 1.05 <= v)


_CANVAS: Any = None


def _ipympl_canvas() -> Any:
    """ipympl's Canvas, fit to live inside a layout (ipympl issue #472).

    Displayed on its own, a Canvas records its first frame (as a data URL) and its size while
    IPython displays it; inside a VBox it never is, and the page then draws a frame that is not
    there yet, fails, and leaves the canvas 0×0. So this one records both at every frame drawn
    before the page has connected (the data URL stored whole, as ipympl 0.10 does not, and encoded
    fast: zlib level 1), except frames drawn while training, which the next one replaces. Its diff
    frames (what a connected page receives) are encoded at zlib level 1 too.

    A frame drawn while not training (Step, Pause, a divergence, Reset) goes whole, not as a diff: the page
    decodes frames asynchronously and drops one when the next arrives first (two frames a few ms apart: the
    last live frame and the one on a divergence), and every later diff would then leave that frame's pixels
    stale (the old run's axes and bars after a Reset). The whole frame repaints every pixel.
    """
    global _CANVAS
    if _CANVAS is None:
        from ipympl.backend_nbagg import Canvas

        class AppCanvas(Canvas):
            live = False                                  # set by Views.draw: another frame follows soon

            def get_diff_image(self) -> bytes | None:
                """matplotlib's webagg diff frame (the pixels that changed since the last frame sent), encoded
                fast (png.py: rows unfiltered, zlib level 1); nothing at all while training with no page to send
                it to."""
                if not self._png_is_old or (self.syncing_data_url and self.live):
                    return None
                buff = np.asarray(self.get_renderer().buffer_rgba()).view(np.uint32).squeeze(2)
                if self._force_full or not self.live or buff.shape != self._last_buff.shape or \
                        (buff.view(np.uint8).reshape(*buff.shape, 4)[:, :, 3] != 255).any():
                    self.set_image_mode("full")
                    output = buff
                else:
                    self.set_image_mode("diff")
                    output = np.where(buff != self._last_buff, buff, 0)
                self._last_buff, self._force_full, self._png_is_old = buff.copy(), False, False
                return png(output.view(np.uint8).reshape(*output.shape, 4))       # png.py: fast

            def send_binary(self, data: Any) -> None:
                if self.syncing_data_url and not self.live:   # no page yet: keep the frame as a data URL
                    import base64
                    pixels = self._last_buff.view(dtype=np.uint8).reshape((*self._last_buff.shape, 4))
                    self._data_url = "data:image/png;base64," + base64.b64encode(png(pixels)).decode()
                    dpi = self.figure.get_dpi()
                    self._size = (self.figure.get_figwidth() * dpi, self.figure.get_figheight() * dpi)
                self.send({"data": '{"type": "binary"}'}, buffers=[data])
        _CANVAS = AppCanvas
    return _CANVAS


def ipympl_canvas() -> Any:
    """The app's ipympl Canvas class (see _ipympl_canvas), for its other figures (the network diagram)."""
    return _ipympl_canvas()
