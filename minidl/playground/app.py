"""The live playground: TensorFlow Playground inside Jupyter, on minidl.       Notebook 10

    from minidl.playground import Playground
    Playground()                      # in a notebook cell, or `make playground` (Voilà)

Training runs as one asyncio task started by Play. It trains in slices of a few tens of
milliseconds (whole epochs, one ``minidl.fit`` call a slice: the compiled step, or the readable
one with the *step* toggle), redraws at most ``fps`` times a second and then yields to the kernel, so Pause, the learning-rate slider and every other control are
handled while it trains. There is never more than one task: Play while it runs does nothing,
Reset cancels it. A control that changes the data or the network pauses and resets; the
learning rate and the momentum apply live. Divergence pauses and says so; Reset recovers.
Nothing trains until Play or Step is pressed, so "Run all" and Voilà never start training.

Files: app.py (controls, the training task), run.py (data, network, History: what trains),
learner.py (a learner's own classes: ``Playground(framework=my_framework)``), state.py (the
Frame a picture shows), views.py (the figure), export.py (code and weights).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import time
import traceback
from typing import Any

import ipywidgets as W
import numpy as np
import torch

from ..framework.activations import ACTIVATIONS as ACTIVATIONS_BY_NAME
from ..training import data
from ..training.models import Recipe
from . import export
from .learner import LOSSES, Framework, LearnerRun
from .run import Data, DataSpec, MinidlRun, Run
from .state import UNIT_LAYERS, Frame, capture
from .views import Views

ACTIVATIONS = {cls.__name__: name for name, cls in ACTIVATIONS_BY_NAME.items()}   # shown name -> name
INITS = {"torch default": ("default", None), "Kaiming uniform": ("kaiming_uniform", None),
         "Kaiming normal": ("kaiming_normal", None), "Xavier uniform": ("xavier_uniform", None),
         "Xavier normal": ("xavier_normal", None), "uniform ±1": ("uniform", 1.0),
         "normal σ=1": ("normal", 1.0), "zeros": ("zeros", None)}
OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "Adam")
BATCHES = (1, 5, 10, 25, 50, 100, 250, 500, 1000)
MAX_LAYERS = 6
STEPS = ("compiled", "readable")       # fit(fast=True) / fit(fast=False)


def _wide() -> W.Layout:
    return W.Layout(width="310px")          # a Layout each: hiding one widget must not hide its siblings


def _guarded(method: Any) -> Any:
    """Run a widget callback; an exception goes to the app's log and message, never vanishes."""
    @functools.wraps(method)
    def wrapper(self: Playground, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as e:
            self._error(e)
    return wrapper


class Playground:
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
        self.reset()
        self.widget = self._layout()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- controls -----------------------------------------------------------------------------------
    def _w(self, widget: W.Widget, css: str, observe: Any = None) -> W.Widget:
        widget.add_class(f"pg-{css}")
        if observe is not None:
            widget.observe(observe, names="value")
        return widget

    def _build_controls(self) -> None:
        s = {"description_width": "90px"}
        reset = self._on_structure
        fw = self.framework
        self.dataset = self._w(W.Dropdown(options=list(data.DATASETS), value="disk", description="data",
                                          style=s, layout=_wide()), "dataset", reset)
        self.upload = self._w(W.FileUpload(accept=".csv", multiple=False, description="your CSV"), "upload",
                              self._on_upload)
        self.points = self._w(W.IntSlider(1000, 100, 3000, 100, description="points", style=s, layout=_wide(),
                                          continuous_update=False), "points", reset)
        self.noise = self._w(W.FloatSlider(0.0, min=0.0, max=0.5, step=0.01, description="noise", style=s,
                                           layout=_wide(), continuous_update=False), "noise", reset)
        self.ratio = self._w(W.FloatSlider(0.5, min=0.1, max=0.9, step=0.05, description="test fraction",
                                           style=s, layout=_wide(), continuous_update=False), "ratio", reset)
        self.regenerate = self._w(W.Button(description="regenerate", icon="refresh"), "regenerate")
        self.regenerate.on_click(self._on_regenerate)
        self.layers = self._w(W.IntSlider(3, 0, MAX_LAYERS, description="hidden layers", style=s, layout=_wide(),
                                          continuous_update=False), "layers", reset)
        self.widths = [self._w(W.IntSlider(25, 1, 64, description=f"width {i + 1}", style=s, layout=_wide(),
                                           continuous_update=False), f"width-{i + 1}", reset)
                       for i in range(MAX_LAYERS)]
        acts = list(ACTIVATIONS) if fw is None else list(fw.activations)
        self.activation = self._w(W.Dropdown(options=acts, value="ReLU" if "ReLU" in acts else acts[0],
                                             description="activation", style=s, layout=_wide()), "activation", reset)
        self.dropout = self._w(W.FloatSlider(0.0, min=0.0, max=0.8, step=0.05, description="dropout", style=s,
                                             layout=_wide(), continuous_update=False), "dropout", reset)
        self.init = self._w(W.Dropdown(options=list(INITS), value="torch default", description="init",
                                       style=s, layout=_wide()), "init", reset)
        losses = ["MSE", "cross-entropy"] if fw is None else list(fw.losses)
        self.loss = self._w(W.ToggleButtons(options=losses, value=losses[0], style={"button_width": "100px"}),
                            "loss", reset)
        self.standardize = self._w(W.Checkbox(True, description="standardise inputs", indent=False), "standardize",
                                   reset)
        self.optimizer = self._w(W.Dropdown(options=OPTIMIZERS if fw is None else OPTIMIZERS[:2], value="Momentum",
                                            description="optimizer", style=s, layout=_wide()), "optimizer", reset)
        self.lr = self._w(W.FloatLogSlider(0.1, base=10, min=-4, max=1, step=0.1, description="learning rate",
                                           readout_format=".4g", style=s, layout=_wide()), "lr", self._on_lr)
        self.momentum = self._w(W.FloatSlider(0.9, min=0.0, max=0.99, step=0.01, description="momentum",
                                              style=s, layout=_wide()), "momentum", self._on_momentum)
        self.batch = self._w(W.SelectionSlider(options=BATCHES, value=100, description="batch size", style=s,
                                               layout=_wide()), "batch")
        self.step_kind = self._w(W.ToggleButtons(options=STEPS, value="compiled", description="step", style={
            "button_width": "95px", "description_width": "90px"}, tooltips=[
            "fit(fast=True): the same step compiled into preallocated buffers (minidl.training.fast)",
            "fit(fast=False): the modules' own forward and backward, the code the notebooks derive"]),
            "step-kind", self._on_step_kind)
        self.seed = self._w(W.BoundedIntText(0, min=0, max=10**6, description="seed", style=s,
                                             layout=W.Layout(width="200px")), "seed", reset)
        self.play = self._w(W.Button(description="Play", icon="play", button_style="success"), "play")
        self.step_button = self._w(W.Button(description="Step", icon="step-forward"), "step")
        self.reset_button = self._w(W.Button(description="Reset", icon="undo", button_style="warning"), "reset")
        self.play.on_click(self._on_play)
        self.step_button.on_click(self._on_step)
        self.reset_button.on_click(self._on_reset)
        self.show_test = self._w(W.Checkbox(False, description="show test points", indent=False), "show-test",
                                 lambda _: self.redraw())
        self.epoch_label = self._w(W.HTML(), "epoch")
        self.metrics = self._w(W.HTML(), "metrics")
        self.status = self._w(W.HTML(), "message")
        self.notes = self._w(W.HTML(), "notes")          # why a control is disabled
        self.image = W.Image(format="png", layout=W.Layout(width="100%", max_width="688px")) \
            if self.canvas == "image" else None
        self.log = self._w(W.Output(layout=W.Layout(max_height="160px", overflow="auto")), "log")
        self.export_button = self._w(W.Button(description="Export code and weights", icon="download"), "export")
        self.export_button.on_click(self._on_export)
        self.code = self._w(W.Textarea(layout=W.Layout(width="100%", height="240px")), "code")
        self.download = self._w(W.HTML(), "download")
        if fw is not None:
            self.dropout.disabled = self.init.disabled = self.step_kind.disabled = True
            self.step_kind.value = "readable"

    def _layout(self) -> W.Widget:
        def box(title: str, *children: W.Widget) -> W.Widget:
            return W.VBox([W.HTML(f"<b>{title}</b>"), *children])
        network = "Network" if self.framework is None else f"Network: your classes ({self.framework.name})"
        controls = W.VBox([
            box("Data", self.dataset, self.points, self.noise, self.ratio, W.HBox([self.regenerate, self.upload])),
            box(network, self.layers, *self.widths, self.activation, self.dropout, self.init, self.loss,
                self.standardize),
            box("Training", self.optimizer, self.lr, self.momentum, self.batch, self.step_kind, self.seed),
            self.notes,
        ], layout=W.Layout(width="330px"))
        toolbar = W.HBox([self.play, self.step_button, self.reset_button, self.show_test])
        picture = self._w(self.image if self.image is not None else self.views.fig.canvas, "boundary")
        main = W.VBox([toolbar, W.HBox([self.epoch_label, self.metrics]), self.status, picture,
                       W.Accordion([W.VBox([self.export_button, self.download, self.code])], titles=["Export"]),
                       W.Accordion([self.log], titles=["Log"])], layout=W.Layout(flex="1 1 700px"))
        app = W.HBox([controls, main], layout=W.Layout(flex_flow="row wrap"))   # narrow page: figure below
        app.add_class("pg-app")
        return app

    # -- what trains -----------------------------------------------------------------------------------
    @property
    def sizes(self) -> tuple[int, ...]:
        return (2, *[w.value for w in self.widths[:self.layers.value]], 2)

    @property
    def output_mode(self) -> str:
        return self.run.output

    def data_spec(self) -> DataSpec:
        return DataSpec(self.dataset.value, self.points.value, self.noise.value, self.ratio.value, self.seed.value,
                        self.standardize.value)

    def _momentum(self) -> float:
        kind = self.optimizer.value
        self.momentum.disabled = kind in ("SGD", "Adam")
        momentum = {"SGD": 0.0, "Adam": 0.0}.get(kind, self.momentum.value)
        return 0.5 if kind == "Nesterov" and momentum == 0 else momentum      # Nesterov needs momentum > 0

    def recipe(self) -> Recipe:
        """The controls' model, init, loss and optimizer as a Recipe (the one builder from names)."""
        scheme, scale = INITS[self.init.value]
        kind = self.optimizer.value
        return Recipe(tuple(self.sizes), ACTIVATIONS[self.activation.value], dropout=self.dropout.value,
                      init=scheme, init_scale=scale, loss="mse" if self.loss.value == "MSE" else "ce",
                      optimizer="adam" if kind == "Adam" else "sgd", lr=self.lr.value, momentum=self._momentum(),
                      nesterov=kind == "Nesterov", seed=self.seed.value)

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
        self._show_notes()
        self.redraw()

    def _show_notes(self) -> None:
        """One line per control that cannot do what it shows, and why."""
        fw, lines = self.framework, []
        if fw is None:
            why = self.run.why_not_compiled
            if why is not None:
                lines.append(f"step: fit runs the readable step for this network ({why.split(';')[0]})")
        else:
            name = fw.name
            missing = [a for a in ACTIVATIONS if a not in fw.activations]
            lines.append(f"activation: {', '.join(missing)} not in {name}" if missing else "")
            lines.append(f"loss: {'/'.join(c for k, c in LOSSES.items() if k not in fw.losses)} not in {name}"
                         if len(fw.losses) < len(LOSSES) else "")
            lines += [f"optimizer: Nesterov and Adam not in {name} (its SGD has momentum)",
                      f"dropout: {name} has no Dropout", f"init: {name}'s Linear draws its own initial weights",
                      "step: your classes train with the readable step (the compiled one is minidl's)"]
        self.notes.value = "".join(f"<div style='color:#666;font-size:0.9em'>{line}</div>" for line in lines if line)

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
                self.redraw()

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

    def mistakes(self, x_raw: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        x = x_raw.numpy()
        return x[self.run.predict(x) != y.numpy()]

    def gradient_norms(self) -> list[float] | None:
        return self.run.gradient_norms()

    def unit_activations(self, grid: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the activations after the first hidden Linear layers, over ``grid`` (raw points)."""
        return self.run.hidden(grid, UNIT_LAYERS)

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
