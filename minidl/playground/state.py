"""What one picture of the playground shows: a Frame, made by the app, drawn by the views.   Notebook 10

A Frame is a frozen snapshot in plain numpy: the curves of the History, the k class probabilities
over the input square (run.probabilities says how a network's outputs become them), the points and
the mistakes, the test set's confusion matrix and each class's error, the gradient norm of every
Linear layer and what the units of the first hidden layers respond to. The views read nothing
else, so they can be tested (and timed) on a Frame alone, and any network that answers the
questions of ``Network`` (minidl's modules or a learner's own) can be drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from ..training.history import History

GRID = 60           # the boundary heatmap: GRID × GRID model evaluations per frame
UNIT_GRID = 30      # each unit heatmap: UNIT_GRID × UNIT_GRID points
UNITS = 6           # unit heatmaps shown per hidden layer
UNIT_LAYERS = 2     # ... for the first two hidden layers


class Network(Protocol):
    """What a Frame asks of a training run (playground.run.Run answers it)."""

    history: History
    points: dict[str, tuple[np.ndarray, np.ndarray]]      # "train"/"test" -> (raw x (N, 2), labels (N,))
    classes: int                                          # k, the network's outputs

    def boundary(self, resolution: int) -> np.ndarray: ...              # P(class c), (res, res, k), row = y
    def predict(self, raw: np.ndarray) -> np.ndarray: ...               # classes of raw points (N,)
    def hidden(self, raw: np.ndarray, layers: int) -> list[torch.Tensor]: ...   # [(N, units)] per layer
    def gradient_norms(self) -> list[float] | None: ...                 # ‖∂L/∂W‖ per Linear, or None


@dataclass(frozen=True)
class Frame:
    """Everything one picture shows, in numpy (errors as fractions, losses as recorded)."""

    epoch: int
    epochs: np.ndarray                      # (E,) the epoch numbers, then one value per epoch:
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    note: str                               # shown on the loss curves (a divergence), or ""
    boundary: np.ndarray                    # (GRID, GRID, k) P(class c) at the pixel centres of [0, 1]²
    train: tuple[np.ndarray, np.ndarray]    # raw points (N, 2), labels (N,): the same arrays every frame
    test: tuple[np.ndarray, np.ndarray] | None   # None: test points hidden
    mistakes: np.ndarray                    # (K, 2) misclassified points shown
    gradient_norms: tuple[float, ...]       # one per Linear layer; nan where the framework gives none
    units: tuple[np.ndarray, ...]           # per hidden layer shown: (units, UNIT_GRID, UNIT_GRID)
    confusion: np.ndarray | None = None     # (k, k) test counts: row = true class, column = predicted
    class_error: np.ndarray | None = None   # (2, k) train and test error of each true class (nan: no points)

    @property
    def n_linear(self) -> int:
        return len(self.gradient_norms)

    @property
    def classes(self) -> int:
        return self.boundary.shape[2]


def unit_grid() -> np.ndarray:
    """(UNIT_GRID², 2): the points each unit heatmap is evaluated at, row = y as imshow draws it."""
    xs = np.linspace(0, 1, UNIT_GRID)
    gx, gy = np.meshgrid(xs, xs)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def capture(net: Network, n_linear: int, *, show_test: bool, note: str = "") -> Frame:
    """A Frame of ``net`` now (n_linear: its number of Linear layers)."""
    h = net.history
    train = net.points["train"]
    test = net.points["test"] if show_test else None
    k = net.classes
    predicted = {name: net.predict(x) for name, (x, _) in net.points.items()}
    shown = [("train", train)] + ([("test", test)] if test is not None else [])
    mistakes = [x[predicted[name] != y] for name, (x, y) in shown]
    counts = {name: confusion(y, predicted[name], k) for name, (_, y) in net.points.items()}
    norms = net.gradient_norms()
    acts = net.hidden(unit_grid(), UNIT_LAYERS)
    units = tuple(a[:, :UNITS].T.reshape(-1, UNIT_GRID, UNIT_GRID).numpy() for a in acts)
    return Frame(
        epoch=h.epoch[-1] if h.epoch else 0, epochs=np.asarray(h.epoch, dtype=float),
        train_loss=np.asarray(h.train_loss, dtype=float), test_loss=_column(h.test_loss),
        train_error=np.asarray(h.train_error, dtype=float), test_error=_column(h.test_error),
        note=note if h.diverged else "", boundary=net.boundary(GRID), train=train, test=test,
        mistakes=np.concatenate(mistakes) if mistakes else np.zeros((0, 2)),
        gradient_norms=tuple(math.nan for _ in range(n_linear)) if norms is None else tuple(norms),
        units=units, confusion=counts["test"],
        class_error=np.stack([class_error(counts[n]) for n in ("train", "test")]))


def confusion(labels: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """C[i, j] = #{n : labels_n = i and predicted_n = j}, (k, k) int: rows true, columns predicted."""
    return np.bincount(np.asarray(labels) * k + np.asarray(predicted), minlength=k * k).reshape(k, k)


def class_error(counts: np.ndarray) -> np.ndarray:
    """Each true class's error, 1 − C[i, i] / Σ_j C[i, j] (nan for a class without points)."""
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 1 - np.diag(counts) / np.maximum(total, 1), np.nan)


def _column(values: list) -> np.ndarray:
    return np.asarray([math.nan if v is None else v for v in values], dtype=float)
