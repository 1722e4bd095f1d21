"""The race's picture: one loss plot with a curve per racer, one small decision boundary each.   Notebook 10

The racers (race.py) are drawn in their rows' colours: curves on a log scale whose limits move in
steps (epochs 10, 20, 50, 100, ...; loss decades), the boundaries painted by colours.class_image
(k classes) with the training points on top. Axes, titles and the legend are drawn once per set of
racers or new limits; a frame blits only the curves, the boundaries and the points (still.Still).
``info(racer)`` is the line beside a racer's row: epochs, ms per epoch, test error, or why it stopped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .colours import MAX_CLASSES, class_colour, class_image
from .still import Still

COLOURS = ("#222222", "#CC79A7", "#E69F00", "#56B4E9")     # one per racer (the classes keep theirs)
GRID = 40                                                   # each small boundary: GRID × GRID


class RacePicture:
    """``image`` (the widget); ``show(data, racers, curve)`` draws a frame."""

    def __init__(self) -> None:
        """The axes, laid out once; curves, boundaries and points move."""
        self.still = Still((8.6, 4.4), "pg-race-plot", "688px")
        self.image, fig = self.still.image, self.still.fig
        fig.set_layout_engine("constrained")
        grid = fig.add_gridspec(2, 4, height_ratios=[1.3, 1.0])
        self.ax_loss = fig.add_subplot(grid[0, :])
        self.ax_small = [fig.add_subplot(grid[1, i]) for i in range(4)]
        ax = self.ax_loss
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        self.curves = [self.still.animate(ax.plot([], [], color=c, lw=1.6, gid=f"race-curve-{i + 1}")[0])
                       for i, c in enumerate(COLOURS)]
        self.pictures, self.dots = [], []
        for small in self.ax_small:
            small.set_xticks([])
            small.set_yticks([])
            self.pictures.append(self.still.animate(small.imshow(np.ones((GRID, GRID, 3)), origin="lower",
                                                                 extent=(0, 1, 0, 1), interpolation="bilinear")))
            self.dots.append([self.still.animate(small.plot([], [], "o", ms=1.3, mfc=class_colour(c), mec="none")[0])
                              for c in range(MAX_CLASSES)])
            small.set(xlim=(0, 1), ylim=(0, 1))
            small.set_title("Nesterov lr=0.1 m=0.9", fontsize=8)    # room for the longest label
        ax.set(xlim=(0, 1000), ylim=(1e-4, 10), ylabel="train loss")
        fig.get_layout_engine().execute(fig)
        fig.set_layout_engine("none")
        self._shown: tuple | None = None             # (data, racers, limits, curve) the background shows

    def _setup(self, data: Any, racers: list) -> None:
        """The artists for the racers now (their rows, labels and the data's points)."""
        x, y = data.raw["x_train"].numpy(), data.raw["y_train"].numpy()
        for i, small in enumerate(self.ax_small):
            racer = racers[i] if i < len(racers) else None
            small.set_visible(racer is not None)
            for artist in [self.pictures[i], *self.dots[i]]:
                artist.set_visible(racer is not None)
            if racer is not None:
                small.set_title(racer.label, fontsize=8, color=COLOURS[racer.row])
                for c, dots in enumerate(self.dots[i]):
                    dots.set_data(x[y == c, 0], x[y == c, 1])
        going = {r.row for r in racers}
        for i, curve in enumerate(self.curves):
            curve.set_visible(i in going)
        legend = self.ax_loss.get_legend()
        if legend is not None:
            legend.remove()
        if racers:
            handles = [self.curves[r.row] for r in racers]
            self.ax_loss.legend(handles, [r.label for r in racers], loc="upper right", fontsize=8)

    def show(self, data: Any, racers: list, curve: str) -> None:
        """Draw ``racers`` (race.Racer) training on ``data``; ``curve``: "train loss" or "test loss"."""
        key = "train_loss" if curve == "train loss" else "test_loss"
        low, high, last = np.inf, 0.0, 1
        for r in racers:
            h = r.run.history
            values = np.array([np.nan if v is None else v for v in getattr(h, key)], dtype=float)
            self.curves[r.row].set_data(h.epoch, values)
            finite = values[np.isfinite(values) & (values > 0)]
            if len(finite):
                low, high = min(low, finite.min()), max(high, finite.max())
            last = max(last, r.run.epoch)
        limits = (epoch_limit(last), (10 ** np.floor(np.log10(low)), 10 ** np.ceil(np.log10(high)))
                  if high > 0 else (1e-2, 1.0))
        same = self._shown is not None and self._shown[0] is data and self._shown[1] is racers
        full = not same or (limits, curve) != self._shown[2:]
        if not same:                                   # new racers or data (compared by identity)
            self._setup(data, racers)
        if full:
            self.ax_loss.set_xlim(0, limits[0])
            self.ax_loss.set_ylim(*limits[1])
            self.ax_loss.set_ylabel(curve)
        for i, r in enumerate(racers):
            self.pictures[i].set_data(class_image(r.run.boundary(GRID)))
        self.still.show(full=full)
        self._shown = (data, racers, limits, curve)


def info(r: Any) -> str:
    """The racer's line beside its row: epochs, ms per epoch, test error (or why it stopped)."""
    if r.message is not None:
        return f"<span style='color:#C00000'>{r.message.split(', then')[0]}</span>"
    h, ms = r.run.history, r.ms_per_epoch
    text = f"<b>{r.run.epoch}</b> epochs"
    if ms is not None:
        text += f" · {ms:.1f} ms/epoch"
    if h.test_error and h.test_error[-1] is not None:
        text += f" · test error {100 * h.test_error[-1]:.1f}%"
    return text


def epoch_limit(epoch: int) -> int:
    """The loss plot's last epoch: 10, 20, 50, 100, 200, ... (it moves in steps, not every epoch)."""
    step = 10
    while step < epoch:
        step = step * 2 if str(step)[0] in "15" else step * 5 // 2
    return step
