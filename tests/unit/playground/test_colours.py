import numpy as np
import pytest

from minidl.playground.colours import CLASS_COLOURS, class_colour, class_image, pale_colours


def test_sure_pixels_take_the_pale_class_colour_and_unsure_ones_are_white():
    for k in range(2, 6):
        p = np.zeros((1, k + 1, k))
        p[0, np.arange(k), np.arange(k)] = 1.0             # pixel c: sure of class c
        p[0, k] = 1.0 / k                                  # the last: every class equally likely
        img = class_image(p)
        np.testing.assert_allclose(img[0, :k], pale_colours(k), atol=1e-12)
        np.testing.assert_allclose(img[0, k], np.ones(3), atol=1e-12)
        assert len(set(map(tuple, pale_colours(k)))) == k  # k different colours


def test_two_classes_fade_through_white_at_one_half():
    q = np.linspace(0, 1, 11)
    img = class_image(np.stack([1 - q, q], axis=-1)[None])
    np.testing.assert_allclose(img[0, 5], 1.0)
    assert (img[0, 0] != img[0, 10]).any()


def test_bad_shapes_and_classes_are_refused():
    with pytest.raises(ValueError, match=r"class_image: expected probabilities \(H, W, k\).*got shape \(3, 3\)"):
        class_image(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="got 6"):
        pale_colours(6)
    with pytest.raises(ValueError, match="got 5"):
        class_colour(len(CLASS_COLOURS))
