"""The network diagram's geometry and content: tiles, connections, and what a point hits.   Notebook 10

TensorFlow Playground's picture: a column of tiles per layer (the inputs, every hidden layer, the
outputs), each tile a unit's value over the input square, and a line from every unit to every unit
of the next layer, its colour the sign of the weight and its width |w|:

    tile (c, u)[i, j] = a_u of column c at grid point (x_j, y_i)        (state.unit_grid, UNIT_GRID²)
    line (l, j←i):  colour = cmap(½ + ½ w/m),  width = 0.3 + 2.7 |w|/m,   w = W_l[j, i],  m = max |W|

In *layout units* (one per grid point of a tile; a pixel at 80 dpi): x to the right, y down. A column
shows at most MAX_UNITS tiles; a wider layer says "+N more" and draws the lines of its shown units.
``hit`` is the one hit test of both canvases (diagram_panel.py maps ipympl's and the image's mouse
positions to layout units and asks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.colors import LinearSegmentedColormap

from ..tools.viz import STYLE
from .state import UNIT_GRID, unit_grid

MAX_UNITS = 16                     # tiles shown per column
TILE = UNIT_GRID                   # a tile's side: one layout unit per grid point
PITCH_Y = TILE + 8                 # tile to tile in a column
PITCH_X = 100                      # column to column
LEFT, RIGHT, TOP, BOTTOM = 44, 84, 34, 70     # margins: input names, class names, column titles, legend
FRAME = 150                        # the grey of a tile's frame (a unit that is 0 everywhere is white)
TOLERANCE = 3.0                    # how near (layout units) a point must be to a line to hit it
# TensorFlow Playground's colours: orange negative, white zero, blue positive (tiles and lines alike)
CMAP = LinearSegmentedColormap.from_list("diagram", [STYLE["class1"], "#FFFFFF", STYLE["class0"]])


@dataclass(frozen=True)
class Layout:
    """Where everything goes for a network of ``sizes`` units per column (inputs, hidden, outputs)."""

    sizes: tuple[int, ...]
    shown: tuple[int, ...]           # tiles drawn per column: min(size, MAX_UNITS)
    corners: tuple[np.ndarray, ...]  # per column: (shown, 2) the tiles' top-left corners (x, y)
    width: int
    height: int

    @property
    def columns(self) -> int:
        return len(self.sizes)

    def segments(self, l: int) -> np.ndarray:
        """(shown[l+1] · shown[l], 2, 2): the lines of Linear layer l (0-based), row j·shown[l] + i is j←i."""
        a = self.corners[l] + (TILE, TILE / 2)                    # right middle of the tiles of column l
        b = self.corners[l + 1] + (0, TILE / 2)                   # left middle of the tiles of column l + 1
        j, i = np.divmod(np.arange(len(b) * len(a)), len(a))
        return np.stack([a[i], b[j]], axis=1)


def layout(sizes: tuple[int, ...]) -> Layout:
    """The Layout of a network of ``sizes`` (at least an input and an output column, each >= 1 unit)."""
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"diagram.layout: expected at least two columns of >= 1 unit, got {tuple(sizes)}")
    shown = tuple(min(int(s), MAX_UNITS) for s in sizes)
    rows = max(shown) + (1 if max(sizes) > MAX_UNITS else 0)      # room for "+N more"
    height = TOP + rows * PITCH_Y + BOTTOM
    corners = []
    for c, n in enumerate(shown):
        top = TOP + (max(shown) - n) * PITCH_Y / 2                 # each column centred
        corners.append(np.stack([np.full(n, LEFT + c * PITCH_X, float), top + PITCH_Y * np.arange(n)], axis=1))
    width = max(LEFT + (len(sizes) - 1) * PITCH_X + TILE + RIGHT, 600)      # the legend fits
    return Layout(tuple(int(s) for s in sizes), shown, tuple(corners), int(width), int(height))


@dataclass(frozen=True)
class Hit:
    """What a point is on: a tile (column, unit) or a connection (Linear layer, to unit j, from unit i)."""

    kind: str            # "tile" or "weight"
    column: int          # the tile's column, or the Linear layer (0-based; it joins columns l and l + 1)
    unit: int            # the tile's unit, or j (the unit of column l + 1)
    source: int = -1     # i (the unit of column l) for a weight


def hit(lay: Layout, x: float, y: float) -> Hit | None:
    """The tile or connection at layout point (x, y), or None: tiles first, then the nearest line
    within TOLERANCE (between the two columns it joins)."""
    for c, corners in enumerate(lay.corners):
        inside = (corners[:, 0] <= x) & (x < corners[:, 0] + TILE) & (corners[:, 1] <= y) & (y < corners[:, 1] + TILE)
        if inside.any():
            return Hit("tile", c, int(np.argmax(inside)))
    l = int((x - LEFT - TILE) // PITCH_X)                          # the gap right of column l
    if not 0 <= l < lay.columns - 1:
        return None
    seg = lay.segments(l)
    a, d = seg[:, 0], seg[:, 1] - seg[:, 0]
    t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / (d ** 2).sum(axis=1), 0, 1)
    dist = np.hypot(a[:, 0] + t * d[:, 0] - x, a[:, 1] + t * d[:, 1] - y)
    k = int(np.argmin(dist))
    if dist[k] > TOLERANCE:
        return None
    j, i = divmod(k, lay.shown[l])
    return Hit("weight", l, j, i)


def unit_name(lay: Layout, column: int, unit: int, inputs: tuple[str, ...] = ()) -> str:
    """"x1", "layer 2, unit 5", "output 1 (class 0)": a tile's name (units 1-based, classes 0-based)."""
    if column == 0:
        return inputs[unit] if unit < len(inputs) else f"x{unit + 1}"
    if column == lay.columns - 1:
        return f"output {unit + 1} (class {unit})"
    return f"layer {column}, unit {unit + 1}"


def weight_text(lay: Layout, h: Hit, w: float, inputs: tuple[str, ...] = ()) -> str:
    """"w[2][5←3] = -0.412 (layer 1, unit 3 → layer 2, unit 5)": Linear layer 1-based, units 1-based."""
    return (f"w[{h.column + 1}][{h.unit + 1}←{h.source + 1}] = {w:+.3f}   "
            f"({unit_name(lay, h.column, h.source, inputs)} → {unit_name(lay, h.column + 1, h.unit, inputs)})")


def values(run: Any, lay: Layout) -> list[np.ndarray]:
    """Per column, (shown, UNIT_GRID, UNIT_GRID): the units' values over the input square (row = y, up):
    the network inputs (run.inputs), each hidden layer's activations (run.hidden), the outputs."""
    x = run.inputs(unit_grid())
    hidden = run.hidden(unit_grid(), lay.columns - 2) if lay.columns > 2 else []
    acts = [x, *hidden, run.forward(x)]
    if len(acts) != lay.columns:
        raise ValueError(f"diagram: expected {lay.columns - 2} hidden layers from the run, got {len(hidden)}")
    return [np.asarray(a[:, :n], dtype=float).T.reshape(n, UNIT_GRID, UNIT_GRID) for a, n in zip(acts, lay.shown,
                                                                                                   strict=True)]


def sizes_of(weights: list[np.ndarray]) -> tuple[int, ...]:
    """The units per column of a network with these Linear weights ((out, in) each, chained)."""
    if not weights or any(w.ndim != 2 for w in weights) or \
            any(a.shape[0] != b.shape[1] for a, b in zip(weights[:-1], weights[1:], strict=True)):
        raise ValueError(f"diagram: expected chained (out, in) weight matrices, got shapes "
                         f"{[tuple(w.shape) for w in weights]}")
    return (weights[0].shape[1], *[w.shape[0] for w in weights])


def line_style(weights: list[np.ndarray], lay: Layout) -> tuple[np.ndarray, np.ndarray, float]:
    """(colours (n, 4), widths (n,), m = max |w| shown) of every line, in the order of lay.segments(0), (1), ..."""
    shown = [w[:lay.shown[l + 1], :lay.shown[l]].ravel() for l, w in enumerate(weights)]
    w = np.nan_to_num(np.concatenate(shown), nan=0.0, posinf=0.0, neginf=0.0)
    m = float(np.abs(w).max()) if len(w) else 0.0
    s = w / (m or 1.0)
    return CMAP(0.5 + 0.5 * s), 0.3 + 2.7 * np.abs(s), m


def mosaic(lay: Layout, tiles: list[np.ndarray]) -> np.ndarray:
    """(height, width, 4) uint8 RGBA: every tile painted (each scaled to its own max |value|), the rest
    white, a grey frame around each tile: one image of all the tiles, copied into the picture a column
    strip at a time (``strips``)."""
    out = np.full((lay.height, lay.width, 4), 255, np.uint8)
    lut = (CMAP(np.linspace(0, 1, 256)) * 255).astype(np.uint8)
    for corners, maps in zip(lay.corners, tiles, strict=True):
        a = np.nan_to_num(maps, nan=0.0, posinf=0.0, neginf=0.0)             # a diverged run: blank tiles
        m = np.abs(a).max(axis=(1, 2), keepdims=True)
        idx = np.clip(np.rint((a[:, ::-1] / np.where(m > 0, m, 1.0) + 1) * 127.5), 0, 255).astype(np.intp)
        for (x, y), k in zip(corners.astype(int), idx, strict=True):
            out[y - 1:y + TILE + 1, x - 1:x + TILE + 1, :3] = FRAME
            out[y:y + TILE, x:x + TILE] = lut[k]
    return out


def strips(lay: Layout) -> list[tuple[int, int, int, int]]:
    """Per column, (x0, y0, x1, y1): the strip of the mosaic holding its tiles and their frames."""
    return [(int(c[0, 0]) - 1, int(c[0, 1]) - 1, int(c[0, 0]) + TILE + 1, int(c[-1, 1]) + TILE + 1)
            for c in lay.corners]
