"""The live playground: TensorFlow Playground inside Jupyter, on minidl.       Notebook 10

    from minidl.playground import Playground
    Playground()                      # in a notebook cell, or `make playground` (Voilà)

Training runs as one asyncio task started by Play. It trains in slices of a few tens of
milliseconds (whole epochs, one ``minidl.fit`` call a slice: the compiled step, or the readable
one with the *step* toggle), redraws at most ``fps`` times a second and then yields to the
kernel, so Pause, the learning-rate slider and every other control are handled while it trains.
There is never more than one task: Play while it runs does nothing, Reset cancels it. A control
that changes the data or the network pauses and resets; the learning rate, the momentum and the
step apply live. Divergence pauses and says so; Reset recovers. Nothing trains until Play or
Step is pressed, so "Run all" and Voilà never start training.

Files, one idea each: app.py (the training task and the callbacks), controls.py (the widgets),
run.py (data, network, History: what trains), learner.py (a learner's own classes:
``Playground(framework=my_framework)``), state.py (the Frame a picture shows), views.py (the
figure), export.py (code and weights).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import time
import traceback
from typing import Any

import torch

from ..training import data
from . import export
from .controls import Controls
from .learner import Framework, LearnerRun
from .run import Data, MinidlRun, Run
from .state import Frame, capture
from .views import Views


def _guarded(method: Any) -> Any:
    """Run a widget callback; an exception goes to the app's log and message, never vanishes."""
    @functools.wraps(method)
    def wrapper(self: Playground, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as e:
            self._error(e)
    return wrapper


class Playground(Controls):
    """The widget app. ``app.widget`` is the ipywidgets tree; a notebook displays ``app`` itself.

    ``framework``: a learner's own classes (a module such as ``my_framework``, a namespace or a dict
    with Linear, Sequential, SGD, activations and losses in the course protocol; see learner.py):
    the network is built from them and trained with their readable step; controls they do not
    cover are disabled, each with a one-line note.
    """

    def __init__(self, *, framework: Any = None, fps: float = 5.0, slice_seconds: float = 0.03,
                 canvas: str = "auto"):
        """canvas: "ipympl" (the Figure's own canvas widget, zoom and pan), "image" (PNG frames in an
        ipywidgets.Image, no front-end extension needed) or "auto" (ipympl where it is installed)."""
        torch.set_num_threads(1)          # tiny matrices: a 2nd thread only spin-waits (2-60x slower)
        if canvas == "auto":
            canvas = "ipympl" if importlib.util.find_spec("ipympl") else "image"
        if canvas not in ("ipympl", "image"):
            raise ValueError(f"Playground: canvas must be 'auto', 'ipympl' or 'image', got {canvas!r}")
        self.framework = None if framework is None else Framework.of(framework)
        self.canvas = canvas
        self.fps, self.slice_seconds = fps, slice_seconds
        self.running = False
        self._task: asyncio.Future | None = None
        self._last_draw = 0.0
        self._rate_mark = (0.0, 0)          # (time, epoch) when Play was pressed: the epochs/s shown
        self.last_epoch_time = 0.0          # when the last epoch finished (time.monotonic, the asyncio clock)
        self.redraws = 0
        self.csv: tuple[torch.Tensor, torch.Tensor] | None = None
        self.message = ""
        self._build_controls()
        self.views: Views | None = None
        try:
            self.reset()
        except Exception as e:                      # a learner's unfinished class: say so in one line
            if self.framework is None:
                raise
            line = str(e).splitlines()[0] if str(e) else ""
            raise RuntimeError(f"Playground(framework={self.framework.name}): your classes failed while building and "
                               f"drawing the network: {type(e).__name__}: {line}") from e
        self.widget = self._layout(self.image if self.image is not None else self.views.fig.canvas)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- what trains -----------------------------------------------------------------------------------
    @property
    def output_mode(self) -> str:
        return self.run.output

    def _make_run(self) -> Run:
        d = Data.make(self.data_spec(), self.csv)
        if self.framework is None:
            return MinidlRun(d, self.recipe(), readable=self.step_kind.value == "readable")
        return LearnerRun(d, self.framework, self.sizes, self.activation.value, self.loss.value, self.lr.value,
                          self._momentum(), self.seed.value)

    # the run's parts, by their old names
    model = property(lambda self: self.run.model)
    criterion = property(lambda self: self.run.criterion)
    optim = property(lambda self: self.run.optim)
    history = property(lambda self: self.run.history)
    generator = property(lambda self: self.run.generator)
    raw = property(lambda self: self.run.data.raw)
    train_data = property(lambda self: self.run.data.train)
    test_data = property(lambda self: self.run.data.test)
    transform = property(lambda self: self.run.data.transform)

    def reset(self) -> None:
        """Stop training, rebuild data, model and optimizer from the controls, redraw."""
        self._stop_task()
        for i, w in enumerate(self.widths):
            w.layout.display = None if i < self.layers.value else "none"
        self.run = self._make_run()
        self.message = ""
        n_linear = len(self.sizes) - 1
        if self.views is None:
            self.views = Views(n_linear, self.canvas)
        elif len(self.views.bars) != n_linear:
            self.views.rebuild(n_linear)          # the same Figure (and canvas widget), new axes
        self.status.value = ""
        self.notes.value = self.notes_for(self.run)
        self.redraw()

    def _stop_task(self) -> None:
        self.running = False
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._buttons()

    # -- training -------------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        return self.run.epoch

    def step(self, until: float | None = None) -> bool:
        """Train one epoch (or whole epochs until time.perf_counter() passes ``until``); False if it
        diverged (training is then paused and the message shown)."""
        message = self.run.train(self.batch.value, until=until)
        if message is not None:
            self.running = False
            self.message = message
            self.status.value = f"<span style='color:#C00000'><b>{self.message}</b></span>"
            return False
        return True

    async def _train_loop(self) -> None:
        me = asyncio.current_task()
        try:
            while self.running:
                now = time.perf_counter()
                if self.step(until=min(now + self.slice_seconds, self._last_draw + 1.0 / self.fps)):
                    self.last_epoch_time = time.monotonic()
                await asyncio.sleep(0.001)          # let the kernel handle Pause, sliders, ... first
                if self.running and time.perf_counter() - self._last_draw >= 1.0 / self.fps:
                    self.redraw()
                    await asyncio.sleep(0.001)
        except asyncio.CancelledError:
            pass
        except Exception as e:
            self.running = False
            self._error(e)
        finally:
            if self._task is me:
                self._task = None
                self.running = False
                self._buttons()
                self._redraw_guarded()               # the last frame (a learner's forward may raise)

    def start(self) -> None:
        """Play: start the training task unless one is running already."""
        self.running = True
        if self._task is None:
            self._rate_mark = (time.perf_counter(), self.epoch)
            self._task = asyncio.ensure_future(self._train_loop())
        self._buttons()

    def pause(self) -> None:
        self.running = False
        self._buttons()

    def _buttons(self) -> None:
        self.play.description, self.play.icon = ("Pause", "pause") if self.running else ("Play", "play")
        self.play.button_style = "info" if self.running else "success"

    # -- callbacks ---------------------------------------------------------------------------------------
    @_guarded
    def _on_play(self, _: Any = None) -> None:
        self.pause() if self.running else self.start()

    @_guarded
    def _on_step(self, _: Any = None) -> None:
        self.pause()
        self.step()
        self.redraw()

    @_guarded
    def _redraw_guarded(self, _: Any = None) -> None:
        self.redraw()

    @_guarded
    def _on_reset(self, _: Any = None) -> None:
        self.reset()

    @_guarded
    def _on_regenerate(self, _: Any = None) -> None:
        self.seed.value = self.seed.value + 1         # observing seed resets

    @_guarded
    def _on_structure(self, _: Any = None) -> None:
        self.reset()

    @_guarded
    def _on_lr(self, change: Any) -> None:
        if not self.run.set_lr(change["new"]):        # live: the next step uses it
            self.status.value = "your SGD keeps no attribute lr: the learning rate applies at Reset"

    @_guarded
    def _on_momentum(self, change: Any) -> None:
        if not self.momentum.disabled:
            self.run.set_momentum(change["new"])

    @_guarded
    def _on_step_kind(self, change: Any) -> None:
        if isinstance(self.run, MinidlRun):
            self.run.readable = change["new"] == "readable"     # live: the next slice uses it
            self._rate_mark = (time.perf_counter(), self.epoch)

    @_guarded
    def _on_upload(self, change: Any) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        name = f.get("name", "upload.csv") if isinstance(f, dict) else getattr(f, "name", "upload.csv")
        content = f["content"] if isinstance(f, dict) else f.content
        self.load_csv_bytes(bytes(content), name)

    def load_csv_bytes(self, content: bytes, name: str = "upload.csv") -> bool:
        """Use an uploaded CSV (x1,x2,label); a bad file gets a message in the app, nothing else changes."""
        try:
            x, y = data.parse_csv(content, source=name)
            if int(y.max()) > 1:
                raise ValueError(f"{name}: the playground draws two classes (labels 0 and 1), got labels up to "
                                 f"{int(y.max())}")
        except ValueError as e:
            self.status.value = f"<span style='color:#C00000'>Could not use {name}: {e}</span>"
            return False
        lo, hi = x.min(dim=0).values, x.max(dim=0).values
        self.csv = ((x - lo) / (hi - lo).clamp(min=1e-12), y)       # drawn in the unit square
        if "your CSV" not in self.dataset.options:
            self.dataset.options = [*data.DATASETS, "your CSV"]
        if self.dataset.value == "your CSV":
            self.reset()
        else:
            self.dataset.value = "your CSV"                          # observing it resets
        self.status.value = f"Loaded {name}: {len(x)} points (inputs rescaled to [0, 1]²)."
        return True

    def _error(self, e: Exception) -> None:
        self.running = False
        self.status.value = f"<span style='color:#C00000'>Error: {type(e).__name__}: {e} (see Log)</span>"
        self.log.append_stdout(traceback.format_exc())

    # -- the picture -------------------------------------------------------------------------------------------
    def frame(self) -> Frame:
        """What the picture shows now (playground.state)."""
        return capture(self.run, len(self.sizes) - 1, show_test=self.show_test.value, note=self.message)

    def redraw(self) -> None:
        if self.views is None:
            return
        self._last_draw = time.perf_counter()
        self.views.update(self.frame())
        if self.image is not None:
            self.image.value = self.views.png()
        else:
            self.views.draw(live=self.running)    # ipympl: the changed pixels go to the page
        self.redraws += 1
        h = self.history
        rate = ""
        if self.running and self.epoch > self._rate_mark[1]:
            rate = f"&ensp;{(self.epoch - self._rate_mark[1]) / (self._last_draw - self._rate_mark[0]):.0f} epochs/s"
        self.epoch_label.value = f"<span style='font-size:1.3em'><b>epoch {self.epoch}</b></span>{rate}&emsp;"
        if h.epoch:
            self.metrics.value = (f"train loss {h.train_loss[-1]:.4f} · test loss {h.test_loss[-1]:.4f} · "
                                  f"train error {100 * h.train_error[-1]:.1f}% · "
                                  f"test error {100 * h.test_error[-1]:.1f}%")
        else:
            self.metrics.value = "press Play or Step to train"

    # -- export ------------------------------------------------------------------------------------------------
    def export_code(self) -> str:
        """Python that reproduces the current run, to the last epoch."""
        return export.code(self.data_spec(), self.run, self.batch.value)

    def weights_bytes(self) -> bytes:
        return export.weights(self.run)

    @_guarded
    def _on_export(self, _: Any = None) -> None:
        self.code.value = self.export_code()
        self.download.value = export.download_link(self.run)
