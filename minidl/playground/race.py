"""The race: 2–4 optimizers trained side by side on the same data, network and seed.   Notebook 10

    racer r:  Recipe_r = replace(app's Recipe, optimizer_r, lr_r, momentum_r)    (one MinidlRun each)

Everything but the optimizer comes from the app's controls (data, network, init, loss, batch size,
seed), so every racer starts from the same weights and draws the same batch order: the curves
differ only by the optimizer. The racers train round-robin, one slice each in turn (run.train with
``until``, as the app trains): each gets the same share of wall time, so a faster step runs more
epochs, and the time per epoch (ms) beside each racer says how much a configuration costs
(TensorFlow Playground issue #87). Slicing changes nothing (slices.py): a racer's History is that of
the same Recipe trained alone. A racer that diverges stops with its message; the others go on.

One training task in the app: starting the race stops the app's training (``stop_app``), and the
app's Play pauses the race (``pause``); a new run in the app (``reset``) rebuilds the racers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import ipywidgets as W
import numpy as np

from ..training.models import Recipe
from .colours import MAX_CLASSES, class_colour, class_image
from .controls import NESTEROV_MIN, OPTIMIZERS
from .run import MinidlRun
from .sections import Foldable, callback
from .settings import Settings, inside
from .state import Frame
from .still import Still

DEFAULTS = (("SGD", 0.1, 0.0), ("Momentum", 0.1, 0.9), ("Nesterov", 0.1, 0.9), ("Adam", 0.01, 0.0))
COLOURS = ("#222222", "#CC79A7", "#E69F00", "#56B4E9")     # one per racer (the classes keep theirs)
GRID = 40                                                   # each small boundary: GRID × GRID


def racer_recipe(base: Recipe, optimizer: str, lr: float, momentum: float) -> Recipe:
    """``base`` with the optimizer of a race row (an OPTIMIZERS name)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"Race: optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if optimizer in ("SGD", "Adam"):
        momentum = 0.0
    elif optimizer == "Nesterov":
        momentum = max(momentum, NESTEROV_MIN)
    return replace(base, optimizer="adam" if optimizer == "Adam" else "sgd", lr=lr, momentum=momentum,
                   nesterov=optimizer == "Nesterov")


@dataclass
class Racer:
    """One configuration in the race: its run, the wall time it trained and why it stopped."""

    label: str
    row: int                   # its row in the panel (and its colour)
    run: MinidlRun
    seconds: float = 0.0
    message: str | None = None

    @property
    def ms_per_epoch(self) -> float | None:
        return 1000 * self.seconds / self.run.epoch if self.run.epoch else None

    def probabilities(self) -> np.ndarray:
        """(GRID, GRID, k) class probabilities over the input square (two classes: from P(class 1))."""
        p = self.run.boundary(GRID)
        return np.stack([1 - p, p], axis=-1) if p.ndim == 2 else p


class Race(Foldable):
    """A Panel (panels.py): rows of (on, optimizer, lr, momentum), Start/Pause, one loss plot, small boundaries."""

    title = "Race: optimizers side by side"

    def __init__(self, recipe: Callable[[], Recipe], batch_size: Callable[[], int], *,
                 settings: Settings | None = None, clock: Callable[[], float] = time.perf_counter,
                 stop_app: Callable[[], None] = lambda: None, fps: float = 4.0, slice_seconds: float = 0.02):
        """recipe, batch_size: the app's controls, read when racers are built and at every slice;
        stop_app: stops the app's training (called before the race starts)."""
        self.recipe, self.batch_size, self.stop_app = recipe, batch_size, stop_app
        self.settings = settings or Settings()
        self.clock, self.fps, self.slice_seconds = clock, fps, slice_seconds
        self.data: Any = None
        self.racers: list[Racer] | None = None       # built when first needed after a reset
        self.running = False
        self._task: asyncio.Future | None = None
        self._last_draw = 0.0
        self.draws = 0
        self.rows = [self._row(i, *d) for i, d in enumerate(DEFAULTS)]
        self.start_button = W.Button(description="Start race", icon="flag-checkered", button_style="success")
        self.start_button.add_class("pg-race-start")
        self.start_button.on_click(self._on_start)
        self.curve = W.ToggleButtons(options=["train loss", "test loss"], value="train loss",
                                     style={"button_width": "90px"})
        self.curve.add_class("pg-race-curve")
        self.curve.observe(self._on_curve, names="value")
        self.status = self.message = W.HTML()         # sections.callback writes errors here
        self.status.add_class("pg-race-status")
        self._figure()
        self.widget = W.VBox([*[r["box"] for r in self.rows], W.HBox([self.start_button, self.curve]),
                              self.status, self.image])
        self.widget.add_class("pg-race")

    def _row(self, i: int, optimizer: str, lr: float, momentum: float) -> dict:
        on = W.Checkbox(True, indent=False, layout=W.Layout(width="24px"))
        opt = W.Dropdown(options=OPTIMIZERS, value=optimizer, layout=W.Layout(width="105px"))
        rate = W.FloatLogSlider(lr, base=10, min=-4, max=1, step=0.1, description="lr", readout_format=".3g",
                                style={"description_width": "20px"}, layout=W.Layout(width="210px"),
                                continuous_update=False)
        mom = W.FloatSlider(momentum, min=0.0, max=0.99, step=0.01, description="momentum",
                            style={"description_width": "initial"}, layout=W.Layout(width="235px"),
                            continuous_update=False, disabled=optimizer in ("SGD", "Adam"))
        info = W.HTML(layout=W.Layout(width="300px"))
        for w, css in ((on, "on"), (opt, "optimizer"), (rate, "lr"), (mom, "momentum"), (info, "info")):
            w.add_class(f"pg-race-{css}")
            w.add_class(f"pg-race-{css}-{i + 1}")
            if w is not info:
                w.observe(self._on_row, names="value")
        swatch = W.HTML(f"<span style='color:{COLOURS[i]};font-size:1.4em'>&#9632;</span>",
                        layout=W.Layout(width="16px"))
        return {"on": on, "optimizer": opt, "lr": rate, "momentum": mom, "info": info,
                "box": W.HBox([swatch, on, opt, rate, mom, info])}

    # -- the racers -------------------------------------------------------------------------------------
    def configurations(self) -> list[tuple[int, str, Recipe]]:
        """(row, label, Recipe) of the rows that are on."""
        base, out = self.recipe(), []
        for i, r in enumerate(self.rows):
            if r["on"].value:
                recipe = racer_recipe(base, r["optimizer"].value, r["lr"].value, r["momentum"].value)
                label = f"{r['optimizer'].value} lr={recipe.lr:.3g}"
                if r["optimizer"].value in ("Momentum", "Nesterov"):
                    label += f" m={recipe.momentum:.3g}"
                out.append((i, label, recipe))
        return out

    @inside
    def build(self) -> list[Racer]:
        """The racers from the rows and the app's controls, each at epoch 0 (built whole, then kept)."""
        if self.data is None:
            raise RuntimeError("Race: no data yet (reset(run) gives it)")
        racers = []
        for i, label, recipe in self.configurations():
            run = MinidlRun(self.data, recipe)
            run.slicer.clock = lambda: self.clock()
            racers.append(Racer(label, i, run))
        self.racers = racers
        return racers

    @inside
    def round(self, seconds: float | None = None) -> None:
        """One turn each for the racers still going: a slice of ``seconds`` (None: one whole epoch)."""
        if self.racers is None:
            self.build()
        for r in self.going:
            self.turn(r, seconds)

    @inside
    def turn(self, r: Racer, seconds: float | None = None) -> None:
        """Train racer ``r`` for a slice of ``seconds`` (None: one whole epoch); its time is counted."""
        start = time.perf_counter()
        until = None if seconds is None else self.clock() + seconds
        r.message = r.run.train(self.batch_size(), until=until)
        r.seconds += time.perf_counter() - start

    @property
    def going(self) -> list[Racer]:
        return [r for r in self.racers or [] if r.message is None]

    # -- one training task ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start (or resume) the race; the app's training stops first."""
        self.stop_app()
        if self.racers is None:
            self.build()
        if not self.going:
            self._say("every racer has stopped: change a row or Reset in the app to race again")
            return
        self.running = True
        if self._task is None:
            self._task = asyncio.ensure_future(self._loop())
        self._buttons()

    def pause(self) -> None:
        """Stop the race's task now (it trains nothing more) and draw where the racers are."""
        if self._stop():
            self.draw()

    def _stop(self) -> bool:
        """Cancel the race's task (True if there was one)."""
        self.running = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        self._buttons()
        return task is not None

    async def _loop(self) -> None:
        me = asyncio.current_task()
        try:
            while self.running and self.going:
                for r in self.going:                  # round-robin; the kernel is served after each slice
                    self.turn(r, self.slice_seconds)
                    await asyncio.sleep(0.001)
                if self.running and self.clock() - self._last_draw >= 1.0 / self.fps:
                    self.draw()
                    await asyncio.sleep(0.001)
        except asyncio.CancelledError:
            pass
        except Exception as e:
            self._say(f"Error: {type(e).__name__}: {e}")
        finally:
            if self._task is me:
                self._task = None
                self.running = False
                self._buttons()
                self.draw()

    def _buttons(self) -> None:
        b = self.start_button
        b.description, b.icon, b.button_style = (("Pause race", "pause", "info") if self.running
                                                 else ("Start race", "flag-checkered", "success"))

    def _say(self, text: str) -> None:
        self.status.value = f"<span style='color:#C00000'>{text}</span>" if text else ""

    # -- the panel --------------------------------------------------------------------------------------------
    def reset(self, run: Any) -> None:
        """A new run in the app: the race stops; racers are rebuilt (lazily) on its data and controls."""
        self._stop()
        self.data, self.racers = run.data, None
        self._say("")
        if self.open:
            self.draw()

    def refresh(self, run: Any, frame: Frame) -> None:
        """The app's picture moved on; the race draws from its own task (nothing to do)."""

    @callback
    def opened(self) -> None:
        if self.data is not None:
            self.draw()

    @callback
    def _on_start(self, _: Any = None) -> None:
        self.pause() if self.running else self.start()

    @callback
    def _on_row(self, change: dict) -> None:
        for r in self.rows:
            r["momentum"].disabled = r["optimizer"].value in ("SGD", "Adam")
        self._stop()
        self.racers = None                    # rebuilt from the rows, all from epoch 0
        self._say("")
        if self.open and self.data is not None:
            self.draw()

    @callback
    def _on_curve(self, _: Any = None) -> None:
        if self.open and self.racers is not None:
            self.draw()

    # -- the picture ---------------------------------------------------------------------------------------------
    def _figure(self) -> None:
        """The axes, laid out once; curves, boundaries and points move (still.Still blits them)."""
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
            small.set_title("Nesterov lr=0.1 m=0.9", fontsize=8)
        ax.set(xlim=(0, 1000), ylim=(1e-4, 10), ylabel="train loss")
        fig.get_layout_engine().execute(fig)
        fig.set_layout_engine("none")
        self._shown: tuple | None = None             # (data, racers, limits, curve) the background shows

    def _setup(self) -> None:
        """The artists for the racers now (their rows, labels and the data's points)."""
        x, y = self.data.raw["x_train"].numpy(), self.data.raw["y_train"].numpy()
        for i, small in enumerate(self.ax_small):
            racer = self.racers[i] if i < len(self.racers) else None
            small.set_visible(racer is not None)
            for artist in [self.pictures[i], *self.dots[i]]:
                artist.set_visible(racer is not None)
            if racer is not None:
                small.set_title(racer.label, fontsize=8, color=COLOURS[racer.row])
                for c, dots in enumerate(self.dots[i]):
                    dots.set_data(x[y == c, 0], x[y == c, 1])
        going = {r.row for r in self.racers}
        for i, curve in enumerate(self.curves):
            curve.set_visible(i in going)
        legend = self.ax_loss.get_legend()
        if legend is not None:
            legend.remove()
        if self.racers:
            handles = [self.curves[r.row] for r in self.racers]
            self.ax_loss.legend(handles, [r.label for r in self.racers], loc="upper right", fontsize=8)

    @inside
    def draw(self) -> None:
        """The loss curves and the small boundaries, as the racers are now."""
        if self.racers is None:
            self.build()
        key = "train_loss" if self.curve.value == "train loss" else "test_loss"
        low, high, last = np.inf, 0.0, 1
        for r in self.racers:
            h = r.run.history
            values = np.array([np.nan if v is None else v for v in getattr(h, key)], dtype=float)
            self.curves[r.row].set_data(h.epoch, values)
            finite = values[np.isfinite(values) & (values > 0)]
            if len(finite):
                low, high = min(low, finite.min()), max(high, finite.max())
            last = max(last, r.run.epoch)
        limits = (_epoch_limit(last), (10 ** np.floor(np.log10(low)), 10 ** np.ceil(np.log10(high)))
                  if high > 0 else (1e-2, 1.0))
        shown = (self.data, self.racers, limits, self.curve.value)
        same = self._shown is not None and self._shown[0] is self.data and self._shown[1] is self.racers
        full = not same or shown[2:] != self._shown[2:]
        if not same:                                   # new racers or data (compared by identity)
            self._setup()
        if full:
            self.ax_loss.set_xlim(0, limits[0])
            self.ax_loss.set_ylim(*limits[1])
            self.ax_loss.set_ylabel(self.curve.value)
        for i, r in enumerate(self.racers):
            self.pictures[i].set_data(class_image(r.probabilities()))
        texts = {r.row: self._info(r) for r in self.racers}
        for i, row in enumerate(self.rows):
            row["info"].value = texts.get(i, "")          # set once: the page never sees a blank in between
        self._last_draw = self.clock()
        self.still.show(full=full)
        self._shown = shown
        self.draws += 1

    @staticmethod
    def _info(r: Racer) -> str:
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


def _epoch_limit(epoch: int) -> int:
    """The loss plot's last epoch: 10, 20, 50, 100, 200, ... (it moves in steps, not every epoch)."""
    step = 10
    while step < epoch:
        step = step * 2 if str(step)[0] in "15" else step * 5 // 2
    return step
