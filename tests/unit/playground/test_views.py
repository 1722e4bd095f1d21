"""Views draw a Frame (playground.state): moving artists blitted over a kept background."""

import dataclasses
import pathlib

import numpy as np
import pytest

from minidl.playground.state import GRID, UNIT_GRID, Frame
from minidl.playground.views import Views

ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "artifacts"


def frame(epochs=5, p=None, norms=(0.1, 0.2, 0.05), units=2, note=""):
    """p: P(class 1) (GRID, GRID), or class probabilities (GRID, GRID, k); default P(class 1) = x."""
    e = np.arange(1, epochs + 1, dtype=float)
    rng = np.random.default_rng(0)
    x = rng.random((50, 2))
    yy, xx = np.meshgrid(np.linspace(0, 1, GRID), np.linspace(0, 1, GRID), indexing="ij")
    return Frame(epoch=epochs, epochs=e, train_loss=1 / e, test_loss=1.2 / e, train_error=0.5 / e, test_error=0.6 / e,
                 note=note, boundary=two_classes(xx if p is None else p), train=(x, (x[:, 0] > 0.5).astype(int)),
                 test=None,
                 mistakes=x[:3], gradient_norms=tuple(norms),
                 units=tuple(rng.standard_normal((units, UNIT_GRID, UNIT_GRID)) for _ in range(2)))


def two_classes(p):
    return p if p.ndim == 3 else np.stack([1 - p, p], axis=2)


def pixels(views):
    return np.asarray(views.fig.canvas.buffer_rgba()).copy()


def test_a_frame_is_blitted_over_the_background_until_a_limit_moves():
    views = Views(3, canvas="image")
    views.update(frame(5))
    png = views.png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and views.full_draws == 1
    first = pixels(views)
    views.update(frame(6, p=1 - frame().boundary[:, :, 1]))                # same limits: only the moving artists
    views.draw()
    assert views.full_draws == 1 and not np.array_equal(first, pixels(views))
    views.update(frame(11))                     # the epoch axis grows 10 -> 20: that panel redrawn, not the figure
    views.draw()
    assert views.full_draws == 1 and views.panel_draws == 1 and views.ax_error.get_xlim() == (0.5, 20.5)
    views.fig.canvas.draw()                                        # the whole figure afresh (as a zoom does) ...
    full = pixels(views)
    views.draw()                                                   # ... and the blitted frame: the same pixels
    np.testing.assert_array_equal(pixels(views), full)
    views.update(frame(5))
    views.draw()                                                   # back to the first frame, pixel for pixel
    np.testing.assert_array_equal(pixels(views), first)
    assert views.full_draws == 2 and views.panel_draws == 2


def test_a_render_comes_in_pieces_a_panel_whose_limits_moved_in_one_of_its_own():
    """render_steps: each panel redrawn into the background is a piece; the moving artists the last; the
    pixels are those of a render done at once."""
    views = Views(3, canvas="image")
    views.update(frame(5))
    assert list(views.render_steps()) == [] and views.full_draws == 1 and not views.unsent   # a full draw: one piece
    views.update(frame(6))
    assert list(views.render_steps()) == [] and views.unsent          # same limits: the moving artists, one piece
    views.update(frame(300, norms=(3000.0, 0.2, 0.05)))               # epochs and gradient norms out of range
    assert views._stale == {"curves", "grad"}                           # 2 panels: loss and error axes; gradients
    pieces = iter(views.render_steps())
    next(pieces)
    assert views.panel_draws == 0 and not views.unsent               # the loss axes, then the loop's turn
    next(pieces)                                                      # the error axes
    next(pieces)
    assert views.panel_draws == 1                                     # the curves panel done; the gradients' axes
    assert list(pieces) == [] and views.unsent and views.panel_draws == 2   # then the moving artists
    stepped = pixels(views)
    views.fig.canvas.draw()                                           # the whole figure afresh: the same pixels
    np.testing.assert_array_equal(pixels(views), stepped)


def test_the_boundary_contour_units_and_bars_follow_the_frame():
    views = Views(3, canvas="image")
    f = frame(units=4, norms=(0.1, float("nan"), 3.0))
    views.update(f)
    segments = views.contour.get_segments()
    assert len(segments) == 1 and np.allclose(segments[0][:, 0], 0.5, atol=1 / GRID)   # p = x: the line x = 0.5
    assert [b.get_height() for b in views.bars] == pytest.approx([0.1, 1e-7, 3.0])   # nan: no bar
    mosaic = views.units.get_array()
    tiles = ~np.isnan(mosaic[:UNIT_GRID])                         # hidden layer 1: 4 of 6 tiles drawn
    assert tiles.any(axis=0).sum() == 4 * UNIT_GRID and np.nanmax(np.abs(mosaic)) == pytest.approx(1.0)
    views.update(frame(p=np.full((GRID, GRID), 0.9)))               # no boundary inside the square
    assert views.contour.get_segments() == []


def test_a_divergence_note_is_drawn_on_the_loss_curves():
    views = Views(2, canvas="image")
    views.update(frame(note="diverged at epoch 6"))
    assert views.diverged_text.get_text() == "diverged at epoch 6"


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_k_classes_are_painted_in_their_colours_with_a_line_where_the_arg_max_changes(k):
    from matplotlib.colors import to_rgb

    from minidl.playground.colours import class_colour, class_image
    yy, xx = np.meshgrid(np.linspace(0, 1, GRID), np.linspace(0, 1, GRID), indexing="ij")
    region = np.minimum((xx * k).astype(int), k - 1)                  # k vertical bands, class c in band c
    p = np.full((GRID, GRID, k), 0.02)
    np.put_along_axis(p, region[:, :, None], 1 - 0.02 * (k - 1), axis=2)
    f = frame(p=p)
    x, y = f.train[0], np.minimum((f.train[0][:, 0] * k).astype(int), k - 1)
    f = type(f)(**{**f.__dict__, "train": (x, y)})
    views = Views(3, canvas="image")
    views.update(f)
    np.testing.assert_array_equal(views.im.get_array(), class_image(p))
    segments = views.contour.get_segments()
    edges = sorted({round(float(np.median(s[:, 0])) * k) for s in segments})
    assert edges == list(range(1, k))                                  # a vertical line at each band's edge
    for c in range(k):
        line = views.train_pts[c]
        assert to_rgb(line.get_markerfacecolor()) == to_rgb(class_colour(c))
        np.testing.assert_array_equal(line.get_xdata(), x[y == c, 0])
    views.draw()
    rgb = pixels(views)[..., :3]
    ax = views.ax_boundary.get_window_extent()
    h = rgb.shape[0]
    row = rgb[int(h - (ax.y0 + ax.y1) / 2)]                            # the middle row of the boundary plot
    for c in range(k):                                                 # each band's centre: its pale colour
        col = int(ax.x0 + (c + 0.5) / k * ax.width)
        expected = class_image(p)[GRID // 2, int((c + 0.5) / k * GRID)]
        assert np.abs(row[col - 3:col + 4].astype(float) / 255 - expected).max(axis=1).min() < 0.03


@pytest.mark.parametrize("canvas", ["image", "ipympl"])
def test_a_long_divergence_note_is_wrapped_whole_inside_the_loss_plot(canvas):
    note = ("diverged at epoch 488 — lower the learning rate (lr=10) or the momentum, or use Adam, "
            "then Play again or Reset")
    views = Views(3, canvas=canvas)
    views.update(frame(note=note))
    png = views.png() if canvas == "image" else views.draw()
    text = views.diverged_text
    assert text.get_text().replace("\n", " ") == note                  # every word, in lines
    inside = text.get_window_extent(views.fig.canvas.get_renderer())
    box = views.ax_loss.bbox
    assert box.x0 <= inside.x0 and inside.x1 <= box.x1 and box.y0 <= inside.y0 and inside.y1 <= box.y1, \
        (inside, box)
    if canvas == "image":                                                 # to look at
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "views-divergence-note.png").write_bytes(png)


def test_the_rings_are_explained_on_the_picture():
    views = Views(2, canvas="image")
    assert "ringed: misclassified" in views.ax_boundary.get_title()


def test_ipympl_sends_a_frame_drawn_while_not_training_whole():
    """The page may drop a diff frame that arrives while it still decodes the one before; a frame drawn while
    not training (Step, Pause, divergence, Reset) is sent whole, so no stale pixels outlive it."""
    views = Views(3, canvas="ipympl")
    canvas = views.fig.canvas
    canvas.syncing_data_url = False                       # a page has connected
    sent = []
    canvas.send = lambda content, buffers=None: sent.append(canvas._current_image_mode) if buffers else None
    modes = []
    for epochs, live in ((5, False), (6, True), (7, True), (8, False)):
        views.update(frame(epochs, p=np.full((GRID, GRID), epochs / 10)))
        views.draw(live=live)
        modes.append(sent[-1])
    assert modes == ["full", "diff", "diff", "full"]


def test_the_loss_axis_labels_decades_only():
    views = Views(2, canvas="image")
    f = frame()
    views.update(dataclasses.replace(f, train_loss=0.5 * f.train_loss, test_loss=0.5 * f.test_loss))   # 0.1 to 1
    views.png()
    minor = [t.get_text() for t in views.ax_loss.yaxis.get_minorticklabels() if t.get_visible()]
    assert all(text == "" for text in minor), minor
