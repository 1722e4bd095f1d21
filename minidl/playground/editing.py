"""Edit the data by hand, as in ConvNetJS: a click on the decision boundary adds or erases a point.   Notebook 10

    click                   adds a training point of the class "click adds" shows, where it lands
    shift- or alt-click     adds one of the next class, (c + 1) mod k
    ctrl- or cmd-click      erases the nearest training point within RADIUS (as "click adds: erase" does)

The edited points are the run's training set from then on: the network, the optimizer and the
History are kept and training goes on (an epoch in progress starts again on the new points); the
standardisation stays the original one, so the network's inputs keep their meaning. ``Edits``
records the edited training set and the data it was made from: Reset keeps the edits (a new
network on the same points), new data (a data control, regenerate, an upload) drops them.

Both canvases: ipympl gives a Matplotlib click in data coordinates (``event.xdata``); the image
canvas gives, through ipyevents, the pixel of the PNG that was clicked, mapped to data
coordinates by ``pixel_to_data`` through the boundary Axes' position in the figure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from .run import Data, DataSpec
from .state import capture

RADIUS = 0.03                 # an erase click takes the nearest training point at most this far (data units)
ERASE = -1                    # the "click adds" value that makes a click erase
HELP = ("click the decision boundary: a point of this class; shift/alt-click: the next class; "
        "ctrl/cmd-click (or erase): remove the nearest")


def pixel_to_data(px: float, py: float, size: tuple[float, float], position: tuple[float, float, float, float],
                  xlim: tuple[float, float] = (0.0, 1.0), ylim: tuple[float, float] = (0.0, 1.0)
                  ) -> tuple[float, float] | None:
    """x = x₀ + (px/W − left)/width · (x₁ − x₀),  y = y₀ + (1 − py/H − bottom)/height · (y₁ − y₀).

    (px, py): the pixel clicked, from the image's top-left corner; size: the image (W, H) in pixels;
    position: the Axes' (left, bottom, width, height) as fractions of the figure (axes_position).
    None if the click is outside the Axes.
    """
    (w, h), (left, bottom, width, height) = size, position
    u, v = (px / w - left) / width, (1.0 - py / h - bottom) / height
    if not (-1e-9 <= u <= 1.0 + 1e-9 and -1e-9 <= v <= 1.0 + 1e-9):      # the edges, up to rounding
        return None
    u, v = min(max(u, 0.0), 1.0), min(max(v, 0.0), 1.0)
    return float(xlim[0] + u * (xlim[1] - xlim[0])), float(ylim[0] + v * (ylim[1] - ylim[0]))


def axes_position(ax: Any, fig: Any) -> tuple[float, float, float, float]:
    """The Axes' (left, bottom, width, height) as fractions of the whole figure (get_position is relative
    to its subfigure)."""
    return tuple(float(v) for v in ax.bbox.transformed(fig.transFigure.inverted()).bounds)


def modifiers(names: Any) -> frozenset[str]:
    """Modifier keys as "shift", "alt", "ctrl", "meta", from Matplotlib's names ("control", "cmd", "super",
    "ctrl+shift" ...) or a DOM event's flags (shiftKey, altKey, ctrlKey, metaKey)."""
    if isinstance(names, dict):
        return frozenset(k for k in ("shift", "alt", "ctrl", "meta") if names.get(f"{k}Key"))
    alias = {"control": "ctrl", "cmd": "meta", "super": "meta", "option": "alt"}
    out = set()
    for name in names or ():
        for part in str(name).lower().split("+"):
            part = alias.get(part, part)
            if part in ("shift", "alt", "ctrl", "meta"):
                out.add(part)
    return frozenset(out)


def action(selected: int, k: int, keys: frozenset[str]) -> int:
    """What a click does: ERASE, or the class it adds (k: the number of classes)."""
    if selected == ERASE or keys & {"ctrl", "meta"}:
        return ERASE
    return (selected + 1) % k if keys & {"shift", "alt"} else selected


def classes(d: Data) -> int:
    """k: the number of classes of the run's data (at least 2)."""
    return max(2, 1 + max(int(d.raw["y_train"].max()), int(d.raw["y_test"].max())))


@dataclass(frozen=True)
class Edits:
    """The training set edited by hand, and the data it was made from (spec, and the upload if any)."""

    spec: DataSpec
    csv: tuple[torch.Tensor, torch.Tensor] | None
    x: torch.Tensor                     # (N, 2) raw training points
    y: torch.Tensor                     # (N,) labels
    added: int = 0
    erased: int = 0

    def applies(self, spec: DataSpec, csv: tuple[torch.Tensor, torch.Tensor] | None) -> bool:
        """Made from these data? (standardising or not does not matter: the raw points are the same)"""
        same_csv = spec.name != "your CSV" or csv is self.csv
        return replace(spec, standardize=True) == replace(self.spec, standardize=True) and same_csv

    def text(self) -> str:
        counts = f" (+{self.added} −{self.erased})" if self.added or self.erased else ""
        return f"edited by hand: {len(self.y)} training points{counts}; Reset keeps them, new data drops them"



def apply(edits: Edits | None, spec: DataSpec, csv: tuple[torch.Tensor, torch.Tensor] | None, d: Data) -> Data:
    """``d`` with the edited training points, if the edits were made from these data."""
    return d.with_train(edits.x, edits.y) if edits is not None and edits.applies(spec, csv) else d


def edit(x: torch.Tensor, y: torch.Tensor, at: tuple[float, float], what: int, cap: int,
         radius: float = RADIUS) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The training set with a point of class ``what`` added at ``at``, or (what = ERASE) the nearest point
    within ``radius`` removed; None if there is none that close. At most ``cap`` points."""
    p = torch.tensor([at], dtype=x.dtype)
    if what == ERASE:
        if not len(x):
            return None
        d = (x - p).square().sum(dim=1)
        i = int(d.argmin())
        if float(d[i]) > radius ** 2:
            return None
        keep = torch.arange(len(x)) != i
        return x[keep], y[keep]
    if len(x) >= cap:
        raise ValueError(f"the training set has {len(x)} points, the most the playground takes ({cap}); "
                         f"erase some first (ctrl-click)")
    return torch.cat([x, p]), torch.cat([y, torch.tensor([what], dtype=y.dtype)])


class Clicks:
    """Sends clicks on the boundary picture to ``on_click(x, y, keys)``, from either canvas."""

    def __init__(self, on_click: Any):
        self.on_click = on_click
        self.views: Any = None
        self.event: Any = None             # the ipyevents.Event of the image canvas

    def connect_figure(self, views: Any) -> None:
        """ipympl (or any Matplotlib canvas): button presses on the boundary Axes, not while zooming or panning."""
        self.views = views
        views.fig.canvas.mpl_connect("button_press_event", self.on_press)

    def on_press(self, event: Any) -> None:
        if event.inaxes is not self.views.ax_boundary or event.xdata is None:
            return
        toolbar = getattr(self.views.fig.canvas, "toolbar", None)
        if toolbar is not None and str(getattr(toolbar, "mode", "")):
            return                                      # the toolbar's zoom or pan is on: its click
        keys = modifiers([*getattr(event, "modifiers", ()), event.key or ""])
        self.on_click(float(event.xdata), float(event.ydata), keys)

    def connect_image(self, image: Any, views: Any) -> None:
        """The image canvas: DOM clicks on the PNG (ipyevents), mapped to data coordinates."""
        from ipyevents import Event
        self.views = views
        self.event = Event(source=image, watched_events=["click"])
        self.event.on_dom_event(self.on_dom)

    def on_dom(self, event: dict) -> None:
        if "dataX" in event:                            # the pixel of the image itself, whatever its shown size
            px, py = event["dataX"], event["dataY"]
            bbox = self.views.fig.bbox
            size = (bbox.width, bbox.height)
        else:
            px, py = event["relativeX"], event["relativeY"]
            size = (event["boundingRectWidth"], event["boundingRectHeight"])
        ax, fig = self.views.ax_boundary, self.views.fig
        at = pixel_to_data(px, py, size, axes_position(ax, fig), ax.get_xlim(), ax.get_ylim())
        if at is not None:
            self.on_click(*at, modifiers(event))


# -- the app's side ------------------------------------------------------------------------------------------
def connect(app: Any) -> Clicks:
    """Clicks on the app's boundary picture go to ``app.edit``, on whichever canvas it uses."""
    clicks = Clicks(app.edit)
    if app.image is not None:
        clicks.connect_image(app.image, app.views)
    else:
        clicks.connect_figure(app.views)
    return clicks


def refresh_controls(app: Any) -> None:
    """After a new run: drop edits made from other data; "click adds" offers the run's classes 0..k-1."""
    if app.edits is not None and not app.edits.applies(app.data_spec(), app.csv):
        app.edits = None
    text = HELP if app.edits is None else app.edits.text()
    app.edited.value = f"<div style='color:#666;font-size:0.9em'>{text}</div>"
    options = [(str(c), c) for c in range(classes(app.run.data))] + [("erase", ERASE)]
    if list(app.edit_class.options) != options:
        value = app.edit_class.value
        app.edit_class.options = options
        app.edit_class.value = value if value in dict(options).values() else 0


def click(app: Any, x: float, y: float, keys: frozenset[str]) -> bool:
    """A click at data (x, y): the run trains on the edited points from now on (all or nothing)."""
    run, old = app.run, app.edits
    what = action(app.edit_class.value, classes(run.data), keys)
    raw = run.data.raw
    try:
        out = edit(raw["x_train"], raw["y_train"], (x, y), what, app.points.max)
        if out is None:
            app.status.value = f"no training point within {RADIUS} of ({x:.2f}, {y:.2f}) to erase"
            return False
        spec = app.data_spec()
        base = old if old is not None and old.applies(spec, app.csv) else Edits(spec, app.csv, *out)
        edits = replace(base, x=out[0], y=out[1], added=base.added + (what != ERASE),
                        erased=base.erased + (what == ERASE))
        try:
            new = run.with_train(*out)                   # the same network and optimizer: training goes on
        except NotImplementedError:                      # a learner's run: a new network on the edited points
            app.edits = edits
            try:
                new = app._make_run()
            finally:
                app.edits = old
        frame = capture(new, len(app.sizes) - 1, show_test=app.show_test.value)
    except Exception as e:
        app._refuse("Could not edit the data", e)
        return False
    what_text = "erased a point" if what == ERASE else f"added a point of class {what}"
    new.history.notes.append(f"epoch {new.epoch}: {what_text} at ({x:.3f}, {y:.3f}) by hand")
    app.edits = edits
    if new.history is run.history:
        app.run = new
        for panel in app.panels:
            panel.reset(new)
        refresh_controls(app)
        app.redraw(frame)
    else:
        app._install(new, frame)
    app.status.value = f"{what_text} at ({x:.2f}, {y:.2f}); {len(out[1])} training points"
    return True
