"""The network diagram (diagram.py: layout, tiles, lines, hit test) and its panel (diagram_panel.py), headless.

Mouse events are synthesised as each canvas delivers them: matplotlib MouseEvents on the ipympl canvas,
ipyevents messages (dataX, dataY in the PNG's pixels) on the image canvas.
"""

import asyncio
import sys
import time
import types

import ipywidgets as W
import numpy as np
import pytest
import torch
from learner_framework import MSE, SGD, Linear, Module, ReLU, Sequential
from matplotlib.backend_bases import MouseEvent
from playground_async import run

from minidl.playground import Playground
from minidl.playground import diagram as D
from minidl.playground.controls import MAX_LAYERS
from minidl.playground.diagram_panel import DiagramPanel
from minidl.playground.state import UNIT_GRID, unit_grid


@pytest.fixture
def app():
    return Playground(canvas="image")


def opened(app):
    app.diagram.show(True)
    return app.diagram


def pixels(panel):
    return np.asarray(panel.fig.canvas.buffer_rgba())


def line_widths(panel):
    """Every line's width, in the order of lay.segments(0), (1), ... (one LineCollection per Linear layer)."""
    return np.concatenate([c.get_linewidths() for c in panel.lines])


def line_colours(panel):
    return np.concatenate([c.get_colors() for c in panel.lines])


def centre(panel, column, unit):
    return panel.lay.corners[column][unit] + D.TILE / 2


def on_line(panel_or_layout, l, j, i, apart=0.3):
    """A point on the line j←i of Linear layer l that no other line passes within apart · TOLERANCE of
    (lines cross: a point where two meet is on both)."""
    lay = getattr(panel_or_layout, "lay", panel_or_layout)
    seg = lay.segments(l)
    k = j * lay.shown[l] + i
    a, b = seg[k]
    others = np.delete(seg, k, axis=0)
    for t in np.linspace(0.05, 0.95, 91):
        p = a + t * (b - a)
        s = np.linspace(0, 1, 200)[:, None, None]
        pts = others[None, :, 0] + s * (others[None, :, 1] - others[None, :, 0])     # (200, n, 2)
        if np.hypot(*(pts - p).transpose(2, 0, 1)).min() > apart * D.TOLERANCE:
            return p
    raise AssertionError(f"no point of line {j}←{i} of Linear {l} is apart from the others")


class Stub:
    """A run with 3 inputs (features), one hidden layer of 4 units and 4 classes: nothing assumes 2 and 2."""

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.w = [torch.randn(4, 3, generator=g), torch.randn(4, 4, generator=g)]
        self.input_names = ("x1", "x2", "x1²")

    def inputs(self, raw):
        x = torch.as_tensor(raw, dtype=torch.float32)
        return torch.cat([x, x[:, :1] ** 2], dim=1)

    def hidden(self, raw, layers):
        return [torch.tanh(self.inputs(raw) @ self.w[0].T)][:layers]

    def forward(self, x):
        return torch.tanh(x @ self.w[0].T) @ self.w[1].T

    def weights(self):
        return [w.numpy() for w in self.w]


# -- layout and hit test ------------------------------------------------------------------------------
def test_layout_centres_columns_and_caps_them_at_16_tiles():
    lay = D.layout((2, 25, 3, 5))
    assert lay.shown == (2, 16, 3, 5) and lay.columns == 4
    assert [len(c) for c in lay.corners] == [2, 16, 3, 5]
    middle = [c[:, 1].mean() for c in lay.corners]
    assert np.allclose(middle, middle[1])                                   # every column centred on the same line
    assert np.all(np.diff(lay.corners[1][:, 1]) == D.PITCH_Y)
    assert lay.segments(1).shape == (3 * 16, 2, 2)
    a, b = lay.segments(0)[1 * 2 + 0]                                       # unit 2 of layer 1 <- x1
    np.testing.assert_allclose(a, lay.corners[0][0] + (D.TILE, D.TILE / 2))
    np.testing.assert_allclose(b, lay.corners[1][1] + (0, D.TILE / 2))
    wide = D.layout((2, *[16] * MAX_LAYERS, 2))
    assert wide.columns == 10 and wide.width > lay.width and wide.height < lay.height   # no "+N more" row
    with pytest.raises(ValueError, match=r"layout: expected at least two columns of >= 1 unit, got \(2, 0, 2\)"):
        D.layout((2, 0, 2))


def test_hit_finds_tiles_lines_and_nothing():
    lay = D.layout((2, 5, 2))
    x, y = lay.corners[1][3] + 2
    assert D.hit(lay, x, y) == D.Hit("tile", 1, 3)
    for l, j, i in ((0, 4, 1), (0, 0, 0), (1, 1, 3), (1, 0, 4)):
        p = on_line(lay, l, j, i, apart=2.0)
        a, b = lay.segments(l)[j * lay.shown[l] + i]
        n = np.array([a[1] - b[1], b[0] - a[0]]) / np.hypot(*(b - a))       # the line's unit normal
        assert D.hit(lay, *p) == D.hit(lay, *(p + 0.8 * D.TOLERANCE * n)) == D.Hit("weight", l, j, i)
        assert D.hit(lay, *(p + 1.5 * D.TOLERANCE * n)) != D.Hit("weight", l, j, i)     # beyond TOLERANCE
    assert D.hit(lay, 1, 1) is None and D.hit(lay, lay.width - 2, lay.height - 2) is None


def test_names_and_the_weight_readout():
    lay = D.layout((2, 5, 5, 3))
    assert [D.unit_name(lay, 0, 1), D.unit_name(lay, 2, 4), D.unit_name(lay, 3, 2)] == \
        ["x2", "layer 2, unit 5", "output 3 (class 2)"]
    assert D.weight_text(lay, D.Hit("weight", 1, 4, 2), -0.41234) == \
        "w[2][5←3] = -0.412   (layer 1, unit 3 → layer 2, unit 5)"
    assert D.unit_name(lay, 0, 1, ("x1", "sin x1")) == "sin x1"


# -- what it shows --------------------------------------------------------------------------------------
def test_tiles_are_the_units_values_at_the_grid_points(app):
    run = app.run
    lay = D.layout(D.sizes_of(run.weights()))
    tiles = D.values(run, lay)
    x = run.inputs(unit_grid())
    hidden = run.hidden(unit_grid(), 3)
    assert [t.shape for t in tiles] == [(2, UNIT_GRID, UNIT_GRID)] + [(16, UNIT_GRID, UNIT_GRID)] * 3 + \
        [(2, UNIT_GRID, UNIT_GRID)]
    np.testing.assert_allclose(tiles[0][1].ravel(), x[:, 1].numpy(), rtol=1e-6)      # x2 over the square
    np.testing.assert_allclose(tiles[2][5].ravel(), hidden[1][:, 5].numpy(), rtol=1e-6)
    np.testing.assert_allclose(tiles[4][1].ravel(), run.forward(x)[:, 1].numpy(), rtol=1e-6)
    m = D.mosaic(lay, tiles)                                                # x2 grows upwards: blue at the top
    (cx, cy), top, bottom = lay.corners[0][1].astype(int), 0, D.TILE - 1
    assert m[cy + top, cx + 15, 2] > m[cy + top, cx + 15, 0] and m[cy + bottom, cx + 15, 0] > m[cy + bottom, cx + 15, 2]


def test_the_panel_paints_the_tiles_and_lines_follow_the_weights(app):
    panel = opened(app)
    assert panel.refreshes == 1 and panel.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    x0, y0, x1, y1 = D.strips(panel.lay)[2]
    np.testing.assert_array_equal(pixels(panel)[y0:y1, x0:x1], panel.mosaic[y0:y1, x0:x1])
    w = app.model[2].weight.data                                            # Linear 2: layer 1 -> layer 2
    k = 3 * 16 + 5 + 2 * 16                                                 # line 4←6 of Linear 2, after Linear 1's 32
    w[3, 5] = 0.0
    panel.refresh(app.run)
    assert line_widths(panel)[k] == pytest.approx(0.3)            # 0: the thinnest, white
    np.testing.assert_allclose(line_colours(panel)[k][:3], 1.0, atol=0.02)
    before = panel.image.value
    w[3, 5] = -5.0                                                          # the largest: widest, orange
    panel.refresh(app.run)
    assert line_widths(panel)[k] == pytest.approx(3.0)
    np.testing.assert_allclose(line_colours(panel)[k], D.CMAP(0.0), atol=1e-6)
    assert "max |w| shown = 5" in panel.wmax.get_text() and panel.image.value != before
    w[3, 5] = 5.0
    panel.refresh(app.run)
    np.testing.assert_allclose(line_colours(panel)[k], D.CMAP(1.0), atol=1e-6)


def test_on_a_high_density_screen_the_tiles_are_scaled_with_the_figure(app):
    """ipympl doubles the figure's dpi where a CSS pixel is two device pixels: the tiles follow."""
    panel = opened(app)
    panel.fig.set_dpi(2 * panel.fig.dpi)
    panel.draw()
    big = pixels(panel)
    assert big.shape[:2] == (2 * panel.lay.height, 2 * panel.lay.width) and panel.full_draws == 2
    x0, y0, x1, y1 = D.strips(panel.lay)[1]
    np.testing.assert_array_equal(big[2 * y0:2 * y1:2, 2 * x0:2 * x1:2], panel.mosaic[y0:y1, x0:x1])
    np.testing.assert_array_equal(big[2 * y0 + 1:2 * y1:2, 2 * x0 + 1:2 * x1:2], panel.mosaic[y0:y1, x0:x1])


def test_any_number_of_inputs_and_classes():
    panel = DiagramPanel("image")
    stub = Stub()
    panel.reset(stub)
    panel.show(True)
    assert panel.lay.sizes == (3, 4, 4) and [len(t) for t in panel.tiles] == [3, 4, 4]
    np.testing.assert_allclose(panel.tiles[0][2].ravel(), unit_grid()[:, 0] ** 2, rtol=1e-6)
    texts = [t.get_text() for t in panel.ax.texts]
    assert {"x1²", "class 3", "outputs", "layer 1"} <= set(texts)
    panel.point(*centre(panel, 0, 2))
    assert "x1²" in panel.readout.value


# -- the mouse, on both canvases ---------------------------------------------------------------------------
def test_hover_a_line_reads_its_weight_on_the_image_canvas(app):
    panel = opened(app)
    x, y = on_line(panel, 1, 2, 7)
    panel.on_image_event({"type": "mousemove", "dataX": x, "dataY": y})      # PNG pixels = layout units at 80 dpi
    w = app.model[2].weight.data[2, 7].item()
    assert f"w[2][3←8] = {w:+.3f}" in panel.readout.value
    np.testing.assert_allclose(panel.hover_line.get_xydata(), panel.lay.segments(1)[2 * 16 + 7])
    panel.on_image_event({"type": "mousemove", "dataX": 2, "dataY": 2})
    assert "w[" not in panel.readout.value and len(panel.hover_line.get_xydata()) == 0


def test_click_a_tile_enlarges_it_and_it_stays_live(app):
    panel = opened(app)
    x, y = centre(panel, 2, 4)
    panel.on_image_event({"type": "click", "dataX": x, "dataY": y})
    assert panel.selected == D.Hit("tile", 2, 4) and panel.zoom.layout.display is None
    assert "layer 2, unit 5" in panel.zoom_label.value and panel.zoom.value[:8] == b"\x89PNG\r\n\x1a\n"
    a = panel.tiles[2][4]
    assert f"values {a.min():+.3f} … {a.max():+.3f}" in panel.zoom_label.value
    np.testing.assert_allclose(panel.box.get_xy(), panel.lay.corners[2][4])
    before = panel.zoom.value
    for _ in range(3):
        app.step()
    app.redraw()
    assert panel.zoom.value != before                                       # the enlarged tile follows training


def test_the_ipympl_canvas_answers_matplotlibs_mouse_events():
    app = Playground(canvas="ipympl")
    panel = opened(app)
    canvas = panel.fig.canvas
    x, y = on_line(panel, 0, 9, 1)
    px, py = panel.ax.transData.transform((x, y))                           # display coordinates, y up
    MouseEvent("motion_notify_event", canvas, px, py)._process()
    assert f"w[1][10←2] = {app.model[0].weight.data[9, 1].item():+.3f}" in panel.readout.value
    px, py = panel.ax.transData.transform(centre(panel, 4, 1))
    MouseEvent("button_press_event", canvas, px, py, button=1)._process()
    assert panel.selected == D.Hit("tile", 4, 1) and "output 2 (class 1)" in panel.zoom_label.value


def test_one_hit_test_for_both_canvases():
    """The same layout point, delivered by each canvas, hits the same thing."""
    image, ipympl = Playground(canvas="image"), Playground(canvas="ipympl")
    a, b = opened(image), opened(ipympl)
    for x, y in (centre(a, 1, 3), on_line(a, 2, 0, 4), (5, 5)):
        a.on_image_event({"type": "mousemove", "dataX": x, "dataY": y})
        px, py = b.ax.transData.transform((x, y))
        MouseEvent("motion_notify_event", b.fig.canvas, px, py)._process()
        assert a.readout.value.split("=")[0] == b.readout.value.split("=")[0]


# -- cost, caps, runs -----------------------------------------------------------------------------------------
def test_collapsed_it_costs_nothing(app):
    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"a collapsed diagram asked the run for {name}")
    panel = app.diagram
    assert not panel.open
    panel.refresh(Untouchable(), None)
    app.step()
    app.redraw()
    assert panel.refreshes == 0 and panel.full_draws == 0 and panel.image.value == b""


def test_in_a_kernel_it_takes_at_most_a_share_of_the_time_and_draws_the_last_state(app):
    """Under an event loop, a refresh sooner than BUDGET × the last one's cost is put off, then drawn once."""
    panel = opened(app)
    assert panel.refreshes == 1 and panel.cost > 0

    async def scenario():
        panel._next = time.perf_counter() + 1.0           # as if the last refresh cost 0.25 s
        for _ in range(2):
            app.step()
            app.redraw()
        assert panel.refreshes == 1 and panel._pending is not None      # put off, once
        await asyncio.sleep(1.5)
        assert panel.refreshes == 2 and panel._pending is None
    run(scenario())
    np.testing.assert_allclose(panel.tiles[1][0].ravel(), app.run.hidden(unit_grid(), 1)[0][:, 0].numpy(), rtol=1e-6)


def count_line_draws(panel):
    """How often the lines (the costly artist) are rendered from now on."""
    calls = {"lines": 0}
    draw_artist = panel.fig.draw_artist

    def counting(artist):
        calls["lines"] += any(artist is c for c in panel.lines)
        return draw_artist(artist)
    panel.fig.draw_artist = counting
    return calls


@pytest.mark.parametrize("canvas", ["image", "ipympl"])
def test_a_refresh_comes_in_pieces_and_the_lines_are_drawn_once_per_weights(canvas):
    """values | lines | tiles and highlights | the frame sent: a kernel gets a turn between the pieces; the
    result is the picture of a refresh done at once; a hover redraws the tiles over the kept lines only."""
    app = Playground(canvas=canvas)
    panel = opened(app)
    app.step()
    calls, sent = count_line_draws(panel), []
    send = panel.send
    panel.send = lambda: (sent.append(1), send())[1]
    steps = iter(panel.refresh_steps(app.run))
    next(steps)
    assert calls["lines"] == 0 and not sent                            # piece 1: values, mosaic, line styles
    next(steps)
    n = len(panel.lines)                                               # a LineCollection per Linear layer
    assert n == 4 and calls["lines"] == n and not sent                 # piece 2: the lines (576 < LINES_PER_PIECE)
    assert list(steps) == [None] and sent == [1] and calls["lines"] == n   # pieces 3 and 4: tiles; the frame sent
    assert panel.refreshes == 2 and panel.cost > 0
    stepped = pixels(panel).copy()
    panel.refresh(app.run)                                            # the same weights, all at once
    np.testing.assert_array_equal(pixels(panel), stepped)
    assert calls["lines"] == 2 * n
    x, y = on_line(panel, 1, 2, 7)
    panel.point(x, y)                                                 # a hover: highlight, no lines redrawn
    assert calls["lines"] == 2 * n and len(panel.hover_line.get_xydata()) == 2


def test_eight_layers_of_sixteen_draw_their_lines_in_pieces(app):
    """1856 lines (~20 µs each): a piece about every LINES_PER_PIECE, each Linear layer's lines whole."""
    app.layers.value = 8
    for w in app.widths[:8]:
        w.value = 16
    panel = opened(app)
    calls = count_line_draws(panel)
    counts = []
    for _ in panel.lines_steps():
        counts.append(calls["lines"])
    counts.append(calls["lines"])
    sizes = [len(c.get_segments()) for c in panel.lines]
    assert sizes == [32] + [256] * 7 + [32] and counts == [4, 7, 9]       # 800 | 768 | 288 lines
    assert panel._lines_drawn


def test_two_refreshes_never_interleave_their_pieces(app):
    """A refresh asked for while another is half done waits for it: none of its pieces run in between."""
    panel = opened(app)
    first = iter(panel.refresh_steps(app.run))
    next(first)
    assert panel._drawing
    assert list(panel.refresh_steps(app.run)) == []                  # no loop here: nothing to put off, nothing done
    assert panel.refreshes == 1
    list(first)
    assert panel.refreshes == 2 and not panel._drawing

    async def scenario():                                             # in a kernel: drawn after the first, in turns
        panel._next = 0.0                                             # (not put off for its budget)
        first = iter(panel.refresh_steps(app.run))
        next(first)
        assert list(panel.refresh_steps(app.run)) == [] and panel._pending is not None
        list(first)
        loop = asyncio.get_running_loop()
        end = loop.time() + 10
        while panel.refreshes < 4 and loop.time() < end:
            await asyncio.sleep(0.01)
    run(scenario())
    assert panel.refreshes == 4 and not panel._drawing


def test_the_section_opens_and_closes_the_diagram(app):
    stack, sections = [app.widget], []
    while stack:                                          # wherever the layout puts it
        w = stack.pop()
        stack.extend(getattr(w, "children", ()))
        sections += [w] if isinstance(w, W.Accordion) and app.diagram.widget in w.children else []
    [accordion] = sections
    assert accordion.titles[0] == "network diagram" and "pg-diagram" in app.diagram.widget._dom_classes
    threads = torch.get_num_threads()
    accordion.selected_index = 0
    assert app.diagram.open and app.diagram.refreshes == 1 and torch.get_num_threads() == threads
    app.redraw()
    assert app.diagram.refreshes == 2
    accordion.selected_index = None
    app.redraw()
    assert not app.diagram.open and app.diagram.refreshes == 2


def test_eight_layers_of_sixteen_and_wider_layers(app):
    assert app.layers.max == MAX_LAYERS == 8 and len(app.widths) == 8
    app.layers.value = 8
    for w in app.widths:
        w.value = 16
    panel = opened(app)
    assert panel.lay.sizes == (2, *[16] * 8, 2)
    assert sum(len(c.get_segments()) for c in panel.lines) == 2 * 16 * 2 + 7 * 256
    app.widths[3].value = 40
    assert panel.lay.shown[4] == 16 and "+24 more" in [t.get_text() for t in panel.ax.texts]
    assert "Error" not in app.status.value and app.step()


def test_a_learners_network_is_drawn_from_its_param_pairs(monkeypatch):
    module = types.ModuleType("learner_framework")
    module.__dict__.update(dict(Module=Module, Linear=Linear, ReLU=ReLU, MSE=MSE, Sequential=Sequential, SGD=SGD))
    monkeypatch.setitem(sys.modules, "learner_framework", module)
    app = Playground(framework=module, canvas="image")
    panel = opened(app)
    first = app.run.layers[0].param()[0][0]
    weights = app.run.weights()
    assert panel.lay.sizes == (2, 25, 25, 25, 2) and weights[0].shape == (25, 2)
    np.testing.assert_array_equal(weights[0], first if first.shape == (25, 2) else first.T)
    x, y = on_line(panel, 0, 3, 1)
    panel.point(x, y)
    assert f"= {weights[0][3, 1]:+.3f}" in panel.readout.value


def test_a_network_without_weights_gets_a_note_not_an_error():
    panel = DiagramPanel("image")
    stub = Stub()
    stub.weights = lambda: None
    panel.reset(stub)
    panel.show(True)
    assert "needs each Linear's weights" in panel.note.value and panel.refreshes == 0


def test_canvas_is_checked():
    with pytest.raises(ValueError, match=r"DiagramPanel: canvas must be 'image' or 'ipympl', got 'svg'"):
        DiagramPanel("svg")
