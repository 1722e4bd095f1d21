"""confusion.py: the confusion matrix table: counts in place, shaded by their row's share, errors per class."""

import re

import numpy as np
import pytest

from minidl.playground.colours import class_colour
from minidl.playground.confusion import confusion_html
from minidl.playground.state import Frame


def frame(counts, errors):
    return Frame(epoch=1, epochs=np.ones(1), train_loss=np.ones(1), test_loss=np.ones(1), train_error=np.ones(1),
                 test_error=np.ones(1), note="", boundary=np.full((4, 4, len(counts)), 1 / len(counts)),
                 train=(np.zeros((0, 2)), np.zeros(0)), test=None, mistakes=np.zeros((0, 2)), gradient_norms=(),
                 units=(), confusion=np.asarray(counts), class_error=np.asarray(errors))


def test_the_table_has_a_row_per_true_class_and_a_column_per_prediction():
    counts = [[8, 2, 0], [1, 9, 0], [0, 0, 0]]
    html = confusion_html(frame(counts, [[0.1, 0.05, np.nan], [0.2, 0.1, np.nan]]))
    cells = re.findall(r"class='pg-cm-cell' style='[^']*background:rgba\(0,114,178,([0-9.]+)\)[^']*'>(\d+)</td>", html)
    assert [int(n) for _, n in cells] == [n for row in counts for n in row]            # row by row, as given
    shades = [float(a) for a, _ in cells]
    assert shades[0] == pytest.approx(0.85 * 0.8) and shades[4] == pytest.approx(0.85 * 0.9, abs=0.006)
    assert shades[6:] == [0.0, 0.0, 0.0]                                               # a class without points
    assert "10.0 | 20.0" in html and "5.0 | 10.0" in html and "– | –" in html
    assert all(class_colour(c) in html for c in range(3))


def test_a_frame_without_a_matrix_is_refused():
    f = frame([[1, 0], [0, 1]], [[0, 0], [0, 0]])
    with pytest.raises(ValueError, match="confusion_html: expected a Frame with confusion and class_error"):
        confusion_html(type(f)(**{**f.__dict__, "confusion": None}))
