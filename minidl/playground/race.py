"""The race: 2–4 optimizers trained side by side on the same data, network and seed.   Notebook 10

    racer r:  Recipe_r = replace(app's Recipe, optimizer_r, lr_r, momentum_r)    (one MinidlRun each)

Everything but the optimizer comes from the app's controls (data, network, init, loss, batch size,
seed), so every racer starts from the same weights and draws the same batch order: the curves
differ only by the optimizer. The racers train round-robin, one slice each in turn (run.train with
``until``, as the app trains): each gets the same share of wall time, so a faster step runs more
epochs, and the time per epoch (ms) beside each racer says how much a configuration costs
(TensorFlow Playground issue #87). Slicing changes nothing (slices.py): a racer's History is that of
the same Recipe trained alone (without dropout: Dropout's masks come from the app's one global RNG,
which the racers' turns share). A racer that diverges stops with its message; the others go on.

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

from ..training.models import Recipe
from .controls import NESTEROV_MIN, OPTIMIZERS
from .race_picture import COLOURS, RacePicture, info
from .run import MinidlRun
from .sections import Foldable, callback
from .settings import Settings, inside
from .state import Frame

DEFAULTS = (("SGD", 0.1, 0.0), ("Momentum", 0.1, 0.9), ("Nesterov", 0.1, 0.9), ("Adam", 0.01, 0.0))


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
        self.picture = RacePicture()
        self.widget = W.VBox([*[r["box"] for r in self.rows], W.HBox([self.start_button, self.curve]),
                              self.status, self.picture.image])
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
        """Stop the race's task now (it trains nothing more) and draw where the racers are, then show
        "Start race": the page gets the final numbers before the button says the race has stopped."""
        self._stop(draw=True)

    def _stop(self, draw: bool = False) -> bool:
        """Cancel the race's task (True if there was one); ``draw``: draw the racers first if it ran."""
        self.running = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            if draw:
                self.draw()
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
    @inside
    def draw(self) -> None:
        """The loss curves and the small boundaries (race_picture), and each racer's line beside its row."""
        if self.racers is None:
            self.build()
        self.picture.show(self.data, self.racers, self.curve.value)
        texts = {r.row: info(r) for r in self.racers}
        for i, row in enumerate(self.rows):
            row["info"].value = texts.get(i, "")          # set once: the page never sees a blank in between
        self._last_draw = self.clock()
        self.draws += 1
