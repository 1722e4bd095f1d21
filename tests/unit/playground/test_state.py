"""state.py: a Frame of k classes: probabilities, the confusion matrix and each class's error."""

import numpy as np
import pytest

from minidl.playground.run import Data, DataSpec, MinidlRun
from minidl.playground.state import GRID, capture, class_error, confusion
from minidl.training.models import Recipe


def test_confusion_counts_pairs_and_class_error_is_one_minus_the_diagonal_share():
    y = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    p = np.array([0, 1, 1, 1, 2, 2, 2, 0, 2])
    c = confusion(y, p, 4)
    expected = np.zeros((4, 4), dtype=int)
    for a, b in zip(y, p, strict=True):
        expected[a, b] += 1
    np.testing.assert_array_equal(c, expected)
    e = class_error(c)
    np.testing.assert_allclose(e[:3], [0.5, 1 / 3, 0.25])
    assert np.isnan(e[3])                                           # class 3 has no points


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_a_frame_of_k_classes(k):
    run = MinidlRun(Data.make(DataSpec("spiral", 600, classes=k, seed=1)), Recipe((2, 16, k), loss="ce", seed=0))
    run.train(50)
    frame = capture(run, 2, show_test=False)
    assert frame.boundary.shape == (GRID, GRID, k) and frame.classes == k
    np.testing.assert_allclose(frame.boundary.sum(axis=2), 1, atol=1e-5)
    x, y = run.points["test"]
    predicted = run.predict(x)
    direct = np.array([[np.sum((y == i) & (predicted == j)) for j in range(k)] for i in range(k)])
    np.testing.assert_array_equal(frame.confusion, direct)
    assert frame.confusion.sum() == len(y)
    xt, yt = run.points["train"]
    wrong = run.predict(xt) != yt
    np.testing.assert_allclose(frame.class_error[0], [wrong[yt == c].mean() for c in range(k)])
    np.testing.assert_allclose(frame.class_error[1], [(predicted != y)[y == c].mean() for c in range(k)])
