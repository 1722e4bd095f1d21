"""png.py: PNG bytes any decoder reads back pixel for pixel."""

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from minidl.playground.png import canvas_png, png


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (64, 17), (200, 301)])
def test_png_reads_back_pixel_for_pixel(shape, channels):
    rgb = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, channels), dtype=np.uint8)
    data = png(rgb)
    back = Image.open(io.BytesIO(data))
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and back.mode == "RGBA"[:channels] and back.size == shape[::-1]
    np.testing.assert_array_equal(np.asarray(back), rgb)


def test_a_figures_pixels_without_alpha():
    fig = Figure(figsize=(2, 1), dpi=50)
    FigureCanvasAgg(fig)
    fig.add_axes((0, 0, 1, 1)).plot([0, 1], [0, 1], color="red")
    fig.canvas.draw()
    back = np.asarray(Image.open(io.BytesIO(canvas_png(fig))))
    np.testing.assert_array_equal(back, np.asarray(fig.canvas.buffer_rgba())[..., :3])
    assert back.shape == (50, 100, 3)


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4, 3)), np.zeros((4, 4), np.uint8),
                                 [[1, 2, 3]]])
def test_anything_else_is_refused_in_one_line(bad):
    with pytest.raises(ValueError, match=r"^png: expected an \(H, W, 3\) or \(H, W, 4\) uint8 array, got "):
        png(bad)
