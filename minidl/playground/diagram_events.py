"""The network diagram's mouse: hover a line for its weight, a tile for its name; click a tile to enlarge it.

One hit test (diagram.hit, in layout units) for both canvases; each maps its own positions to layout units:
  * ipympl: matplotlib's motion_notify_event / button_press_event carry data coordinates (= layout units);
  * image: an ipyevents.Event on the Image sends dataX, dataY in the PNG's pixels (y down), mapped back
    through the axes' transform (so a figure drawn at another dpi maps too).
The enlarged tile is an ipywidgets.Image of the tile's values, upscaled; it follows the training.
``DiagramEvents`` is the mouse half of diagram_panel.DiagramPanel, which owns the figure and widgets.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from . import diagram as D

ZOOM = 200                                 # the enlarged tile's side in pixels


class DiagramEvents:
    """Mouse handlers and the enlarged view; the panel provides lay, ax, fig, run, tiles, weights, widgets."""

    lay: D.Layout | None
    ax: Any
    fig: Any
    run: Any
    tiles: list[np.ndarray]
    weights: list[np.ndarray]
    selected: D.Hit | None
    hovered: D.Hit | None
    readout: Any
    zoom: Any
    zoom_label: Any
    hover_line: Any
    box: Any

    def on_mouse(self, event: Any) -> None:
        """ipympl: a matplotlib MouseEvent (motion or button press) in data coordinates = layout units."""
        if self.lay is not None and event.inaxes is self.ax and event.xdata is not None:
            self.guard(lambda: self.point(event.xdata, event.ydata, event.name == "button_press_event"))

    def on_image_event(self, event: dict) -> None:
        """The image canvas: an ipyevents message with dataX, dataY in the PNG's pixels (y down)."""
        if self.lay is None or "dataX" not in event:
            return
        height = self.fig.bbox.height
        x, y = self.ax.transData.inverted().transform((event["dataX"], height - event["dataY"]))
        self.guard(lambda: self.point(x, y, event.get("type") == "click"))

    def point(self, x: float, y: float, click: bool = False) -> D.Hit | None:
        """The pointer at layout point (x, y): read out what it is on; a click on a tile enlarges it."""
        h = D.hit(self.lay, x, y)
        inputs = getattr(self.run, "input_names", ())
        if click and h is not None and h.kind == "tile":
            self.selected = h
        self.hovered = h if h is not None and h.kind == "weight" else None
        if h is None:
            self.readout.value = "hover a line to read its weight; click a tile to enlarge it"
        elif h.kind == "weight":
            w = float(self.weights[h.column][h.unit, h.source])
            self.readout.value = f"<code>{D.weight_text(self.lay, h, w, inputs)}</code>"
        else:
            a = self.tiles[h.column][h.unit]
            self.readout.value = (f"<b>{D.unit_name(self.lay, h.column, h.unit, inputs)}</b>: values "
                                  f"{a.min():+.3f} … {a.max():+.3f} (click to enlarge)")
        self.show_selection()
        self.draw()
        return h

    def show_selection(self) -> None:
        """The hovered line, the enlarged tile's frame and its enlarged view, from the current values."""
        h, lay = self.hovered, self.lay
        self.hover_line.set_data(*(lay.segments(h.column)[h.unit * lay.shown[h.column] + h.source].T
                                   if h is not None else ([], [])))
        s = self.selected
        self.box.set_visible(s is not None)
        if s is None or not self.tiles:
            return
        self.box.set_xy(lay.corners[s.column][s.unit])
        a = self.tiles[s.column][s.unit]
        m = float(np.abs(a).max()) or 1.0
        rgb = (D.CMAP(0.5 + 0.5 * np.nan_to_num(a[::-1]) / m)[..., :3] * 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(rgb).resize((ZOOM, ZOOM), Image.BILINEAR).save(buffer, format="png", compress_level=1)
        self.zoom.value = buffer.getvalue()
        self.zoom.layout.display = None
        name = D.unit_name(lay, s.column, s.unit, getattr(self.run, "input_names", ()))
        self.zoom_label.value = (f"<div style='padding-left:12px'><b>{name}</b><br>"
                                 f"values {a.min():+.3f} … {a.max():+.3f} over the input square<br>"
                                 f"<span style='color:#666'>x₁ to the right, x₂ up; orange negative, white 0, "
                                 f"blue positive</span></div>")
