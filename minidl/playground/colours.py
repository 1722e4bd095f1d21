"""The colours of k classes, and a probability map painted in them.   Notebook 10

    class_image(p)[i, j] = white + Σ_c p[i, j, c] · (pale_c − white) · s(max_c p[i, j, c])

Each pixel mixes the classes' pale colours by their probabilities, and fades to white where
the network is unsure: s(m) = (m − 1/k)/(1 − 1/k) is 0 when every class has 1/k and 1 when
one class has them all. With two classes this is the blue–white–orange map the playground
always drew (P(class 1) = ½ is white). Points are drawn on top in the full colours.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb

from ..tools.viz import STYLE

MAX_CLASSES = 5
# Okabe–Ito (colour-blind safe): blue and orange as everywhere in minidl, then green, vermilion, purple
CLASS_COLOURS = (STYLE["class0"], STYLE["class1"], "#009E73", "#D55E00", "#CC79A7")
PALE = 0.45                                              # how much white is mixed into the heatmap colours


def class_colour(c: int) -> str:
    """The full colour of class c (points, curves, the confusion matrix's labels)."""
    if not 0 <= c < MAX_CLASSES:
        raise ValueError(f"class_colour: expected a class in [0, {MAX_CLASSES}), got {c}")
    return CLASS_COLOURS[c]


def pale_colours(k: int) -> np.ndarray:
    """(k, 3) RGB in [0, 1]: the classes' colours mixed with PALE white (the points stay visible on them)."""
    if not 2 <= k <= MAX_CLASSES:
        raise ValueError(f"pale_colours: expected 2 to {MAX_CLASSES} classes, got {k}")
    return np.array([(1 - PALE) * np.array(to_rgb(c)) + PALE for c in CLASS_COLOURS[:k]])


def class_image(p: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB in [0, 1] from class probabilities p (H, W, k) (rows summing to 1)."""
    if p.ndim != 3 or not 2 <= p.shape[2] <= MAX_CLASSES:
        raise ValueError(f"class_image: expected probabilities (H, W, k) with 2 <= k <= {MAX_CLASSES}, "
                         f"got shape {tuple(p.shape)}")
    k = p.shape[2]
    colour = p @ pale_colours(k)                           # the probability-weighted colour
    sure = (p.max(axis=2, keepdims=True) - 1 / k) / (1 - 1 / k)
    return np.clip(1 + sure * (colour - 1), 0, 1)          # white where unsure
