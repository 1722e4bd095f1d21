"""A blitted Agg picture: one full draw, then frames that redraw only the moving artists."""

import io

import numpy as np
from PIL import Image

from minidl.playground.still import Still


def pixels(still):
    return np.asarray(Image.open(io.BytesIO(still.image.value)).convert("RGB")).astype(int)


def red(p):
    return (p[..., 0] > 200) & (p[..., 1] < 60)


def rows(p):
    return np.nonzero(red(p).any(axis=1))[0]


def test_frames_redraw_the_moving_artists_over_a_kept_background():
    still = Still((3, 2), "pg-test", "300px")
    ax = still.fig.add_subplot()
    ax.set(xlim=(0, 1), ylim=(0, 1), title="kept")
    line = still.animate(ax.plot([0, 1], [0, 0.2], color="red", lw=3)[0])
    still.show()
    assert still.full_draws == 1 and "pg-test" in still.image._dom_classes
    first = pixels(still)
    line.set_data([0, 1], [0.8, 1.0])                              # it moves
    still.show()
    second = pixels(still)
    assert still.full_draws == 1 and still.frames == 2
    assert rows(second).mean() < rows(first).mean()                # higher up: no trace of the old line
    line.set_visible(False)
    still.show(full=True)
    assert still.full_draws == 2 and not red(pixels(still)).any()
