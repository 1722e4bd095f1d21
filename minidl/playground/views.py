"""The playground's pictures: one matplotlib Figure, artists made once, updated in place.  Notebook 10

Panels: the decision boundary (probability heatmap, 0.5 contour, train/test points, mistakes),
loss and error curves, the gradient norm of every Linear layer, and what each unit of the
first hidden layers responds to over the input square. One Figure for the app's lifetime
(never in pyplot, so no figures pile up); a change of architecture rebuilds its axes in place.

Two ways to show it, the same artists and the same ``draw()`` either way:
  * ``canvas="ipympl"`` (the default where ipympl is installed, as ``%matplotlib widget`` does):
    the Figure's canvas *is* the widget; ``fig.canvas.draw()`` renders with Agg and pushes the
    changed pixels to the page; the toolbar zooms and pans.
  * ``canvas="image"``: the Figure is rendered with Agg into a PNG that an ``ipywidgets.Image``
    shows (a frame replaces the last without flicker): no front-end extension needed at all.
"""

from __future__ import annotations

import io
import math
import warnings
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ..tools.viz import STYLE, decision_grid

GRID = 60           # heatmap resolution: 60 × 60 model evaluations per frame
UNITS = 6           # unit heatmaps shown per hidden layer
UNIT_LAYERS = 2     # ... for the first two hidden layers


class Views:
    """Owns the Figure and its artists; ``update(app)`` refreshes them from the app's state."""

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
        self.rebuild(n_linear)

    def rebuild(self, n_linear: int) -> None:
        """Axes and artists for a network of n_linear Linear layers, in the same Figure."""
        self.fig.clear()
        self.fig.set_layout_engine("constrained")
        top, bottom = self.fig.subfigures(2, 1, height_ratios=[2.0, 1.25])
        left, right = top.subfigures(1, 2, width_ratios=[1.0, 1.05])
        self.ax_boundary = left.subplots()
        self.ax_loss, self.ax_error = right.subplots(2, 1, sharex=True)
        grad_fig, self.units_fig = bottom.subfigures(1, 2, width_ratios=[1.0, 2.0])
        self.ax_grad = grad_fig.subplots()
        self.unit_axes = self.units_fig.subplots(UNIT_LAYERS, UNITS, squeeze=False)
        self._setup(n_linear)

    def _setup(self, n_linear: int) -> None:
        ax = self.ax_boundary
        cmap = _two_class_cmap()
        self.im = ax.imshow(np.full((GRID, GRID), 0.5), origin="lower", extent=(0, 1, 0, 1), cmap=cmap,
                            vmin=0, vmax=1, interpolation="bilinear")
        self.contour = None
        kw = dict(s=12, edgecolors="white", linewidths=0.3)
        self.train_pts = ax.scatter([], [], marker="o", **kw)
        self.test_pts = ax.scatter([], [], marker="^", **kw)
        self.mistakes = ax.scatter([], [], s=36, facecolors="none", edgecolors=STYLE["mistakes"], linewidths=0.9)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="$x_1$", ylabel="$x_2$")
        ax.set_title("decision boundary", fontsize=10)

        for axis, name in ((self.ax_loss, "loss"), (self.ax_error, "error %")):
            axis.set_ylabel(name)
            axis.grid(alpha=0.3)
        self.ax_loss.set_yscale("log")
        self.ax_error.set_xlabel("epoch")
        self.loss_lines = [self.ax_loss.plot([], [], color=STYLE[k], label=k)[0] for k in ("train", "test")]
        self.error_lines = [self.ax_error.plot([], [], color=STYLE[k], label=k)[0] for k in ("train", "test")]
        self.ax_loss.legend(loc="upper right", fontsize=8)
        self.diverged_text = self.ax_loss.text(0.02, 0.05, "", transform=self.ax_loss.transAxes,
                                               color=STYLE["diverged"], fontsize=9)

        self.bars = self.ax_grad.bar(range(1, n_linear + 1), np.ones(n_linear), color="#56B4E9")
        self.ax_grad.set_yscale("log")
        self.ax_grad.set_ylim(1e-6, 1e2)
        self.ax_grad.set_xticks(range(1, n_linear + 1))
        self.ax_grad.set_xlabel("Linear layer")
        self.ax_grad.set_title("gradient norm ‖∂L/∂W‖", fontsize=10)

        self.unit_images = []
        for row in self.unit_axes:
            for axis in row:
                axis.set_axis_off()                # no ticks to lay out: a cheaper frame
                self.unit_images.append(axis.imshow(np.zeros((GRID // 2, GRID // 2)), origin="lower",
                                                    extent=(0, 1, 0, 1), cmap="RdBu_r", vmin=-1, vmax=1))
        self.units_fig.suptitle("what the units of hidden layers 1 (top) and 2 respond to over the input square",
                           fontsize=9)

    # -- refresh --------------------------------------------------------------------------------------
    def update(self, app: Any) -> None:
        model, raw = app.model, app.raw
        transform = app.transform
        _, _, p = decision_grid(model, (0, 1, 0, 1), GRID, app.output_mode, transform)
        self.im.set_data(p)
        if self.contour is not None:
            self.contour.remove()
        xs = np.linspace(0.5 / GRID, 1 - 0.5 / GRID, GRID)
        self.contour = self.ax_boundary.contour(xs, xs, p, levels=[0.5], colors=STYLE["boundary"],
                                                linewidths=1.2) if p.min() < 0.5 < p.max() else None

        self._points(self.train_pts, raw["x_train"], raw["y_train"])
        show_test = app.show_test.value
        self._points(self.test_pts, raw["x_test"] if show_test else None, raw["y_test"])
        wrong = [app.mistakes(raw["x_train"], raw["y_train"])]
        if show_test:
            wrong.append(app.mistakes(raw["x_test"], raw["y_test"]))
        pts = np.concatenate(wrong) if wrong else np.zeros((0, 2))
        self.mistakes.set_offsets(pts if len(pts) else np.zeros((0, 2)))

        h = app.history
        for lines, train, test in ((self.loss_lines, h.train_loss, h.test_loss),
                                   (self.error_lines, h.train_error, h.test_error)):
            scale = 100.0 if lines is self.error_lines else 1.0
            lines[0].set_data(h.epoch, np.asarray(train) * scale)
            lines[1].set_data(h.epoch[:len(test)], np.asarray(test) * scale)
        for axis in (self.ax_loss, self.ax_error):
            axis.relim()
            axis.autoscale_view()
        if h.epoch:
            self.ax_error.set_xlim(0.5, max(h.epoch[-1], 10) + 0.5)
        self.diverged_text.set_text(app.message if h.diverged else "")

        norms = app.gradient_norms()
        for bar, norm in zip(self.bars, norms, strict=False):
            bar.set_height(max(norm, 1e-7))
        top = max([n for n in norms if math.isfinite(n)] + [1e-6])
        self.ax_grad.set_ylim(1e-6, max(1e2, top * 3))

        grid = torch.from_numpy(_unit_grid()).to(model.parameters()[0].data.dtype)
        acts = app.unit_activations(grid)
        for k, image in enumerate(self.unit_images):
            layer, unit = divmod(k, UNITS)
            axis = image.axes
            if layer < len(acts) and unit < acts[layer].shape[1]:
                a = acts[layer][:, unit].reshape(GRID // 2, GRID // 2).numpy()
                scale = float(np.abs(a).max()) or 1.0
                image.set_data(a / scale)
                axis.set_visible(True)
            else:
                axis.set_visible(False)

    @staticmethod
    def _points(artist: Any, x: torch.Tensor | None, y: torch.Tensor) -> None:
        if x is None:
            artist.set_offsets(np.zeros((0, 2)))
            return
        artist.set_offsets(x.numpy())
        artist.set_color([STYLE["class1"] if v else STYLE["class0"] for v in y.tolist()])

    def draw(self) -> None:
        """Render the Figure; with ipympl this also sends the new frame to the page."""
        self.fig.canvas.draw()
        if self.fig.get_layout_engine() is not None:      # lay out once, then keep the positions
            self.fig.set_layout_engine("none")

    def png(self) -> bytes:
        """Render with Agg and encode fast (zlib level 1): a frame costs tens of ms, not hundreds."""
        self.draw()
        canvas = self.fig.canvas
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3]).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


_CANVAS: Any = None


def _ipympl_canvas() -> Any:
    """ipympl's Canvas, fit to live inside a layout (ipympl issue #472).

    Displayed on its own, a Canvas records its first frame (as a data URL) and its size while
    IPython displays it; inside a VBox it never is, and the page then draws a frame that is not
    there yet, fails, and leaves the canvas 0×0. So this one records both at every frame drawn
    before the page has connected (and stores the data URL whole: ipympl 0.10 stores bare base64).
    """
    global _CANVAS
    if _CANVAS is None:
        from ipympl.backend_nbagg import Canvas

        class AppCanvas(Canvas):
            def send_binary(self, data: Any) -> None:
                super().send_binary(data)
                if self.syncing_data_url:
                    if self._data_url and not self._data_url.startswith("data:"):
                        self._data_url = "data:image/png;base64," + self._data_url
                    dpi = self.figure.get_dpi()
                    self._size = (self.figure.get_figwidth() * dpi, self.figure.get_figheight() * dpi)
        _CANVAS = AppCanvas
    return _CANVAS


def _unit_grid() -> np.ndarray:
    xs = np.linspace(0, 1, GRID // 2)
    gx, gy = np.meshgrid(xs, xs)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def _two_class_cmap() -> Any:
    from matplotlib.colors import LinearSegmentedColormap, to_rgb
    light = [0.55 * np.array(to_rgb(STYLE[k])) + 0.45 for k in ("class0", "class1")]   # pastel: points stay visible
    return LinearSegmentedColormap.from_list("pg", [light[0], (1, 1, 1), light[1]])
