"""The live playground: TensorFlow Playground inside Jupyter, on minidl.       Notebook 10

    from minidl.playground import Playground
    Playground()                      # in a notebook cell, or `make playground` (Voilà)

Training runs as one asyncio task started by Play. It trains in slices of a few tens of
milliseconds (minidl's training loop, as fit runs it: the compiled step, or the readable one with
the *step* toggle; a slice may end inside an epoch, see slices.py), redraws at most ``fps`` times
a second, drawing at most a third of the time while a frame every 0.25 s allows it (half when frames
are slower still: a loaded machine gets fewer frames, not fewer epochs), and then yields to the
kernel, so Pause, the learning-rate slider and every other control are handled while it trains.
A frame is drawn in pieces too (capture and update | render | encode | each open panel's pieces),
with the kernel's turn between them: a click never waits for more than one piece.
There is never more than one task: Play while it runs does nothing, Reset cancels it. A control
that changes the data or the network pauses and resets; the learning rate, the momentum and the
step apply live, the batch size from the next epoch.
Divergence pauses and says so; Reset recovers. Nothing trains until Play or Step is pressed, so
"Run all" and Voilà never start training.

All or nothing. What a control shows is what trains (and what Export writes): a new run (data,
network, optimizer, History, its first picture) is built whole before it replaces the old one;
if it cannot be built (an upload too small to split, a learner's class that raises), the old run
stays, training goes on as before, the control goes back to its old value and the message says
why in one line. Uploads are capped at the points slider's maximum. The app leaves the kernel's
torch settings (threads, default dtype, grad mode, global RNG) as it found them (settings.py).

Files, one idea each: app.py (the training task and the callbacks), controls.py (the widgets) and
model_controls.py (classes, input features, L1/L2, schedule, stop), run.py (data, network, History:
what trains), slices.py, settings.py, learner.py (a learner's own classes:
``Playground(framework=my_framework)``), state.py (the Frame a picture shows), views.py (the
figure), colours.py (k classes' colours), confusion.py (the confusion matrix), export.py (code,
weights, data CSV), editing.py (clicks edit the data), share.py (the setup string, the URL query),
fallback.py (images where ipympl cannot draw), png.py (frames as PNG, fast); the panels under the figure (panels.py,
sections.py, still.py): diagram.py + diagram_panel.py + diagram_events.py (the network diagram),
hidden_space.py (the data as a hidden layer sees it), race.py + race_picture.py (optimizers racing).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import sys
import time
import traceback
from dataclasses import replace
from typing import Any

import torch

from ..training import data
from . import editing, export, fallback, share
from .colours import MAX_CLASSES
from .confusion import confusion_html
from .controls import NESTEROV_MIN, Controls, as_shown
from .diagram_panel import DiagramPanel
from .hidden_space import HiddenSpace
from .learner import Framework, LearnerRun
from .panels import Panel, Steps, in_turns, run_now
from .race import Race
from .run import Data, DataSpec, MinidlRun, Run
from .sections import follow_sections
from .settings import Settings, inside
from .state import Frame, capture
from .views import Views


def auto_canvas() -> str:
    """The canvas "auto" picks: "image" where ipympl's front end is broken or absent, else "ipympl".

    Broken: Google Colab (its kernel has imported ``google.colab``), whose front end stopped drawing ipympl
    figures in 2025 (googlecolab/colabtools #5155, #5425) while core widgets, an Image among them, still work.
    Absent: ipympl not installed (the hosted first cell of the notebooks does not install it).
    """
    if "google.colab" in sys.modules:
        return "image"
    return "ipympl" if importlib.util.find_spec("ipympl") else "image"


def _guarded(method: Any) -> Any:
    """Run a widget callback inside the app's settings; an exception goes to the app's log and
    message, never vanishes."""
    @functools.wraps(method)
    def wrapper(self: Playground, *args: Any, **kwargs: Any) -> Any:
        with self.settings:
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
                 canvas: str = "auto", query: str | None = None):
        """canvas: "ipympl" (the Figure's own canvas widget, zoom and pan), "image" (PNG frames in an
        ipywidgets.Image, no front-end extension needed) or "auto" (see auto_canvas). query: a URL query
        string that sets controls (share.py; None: Voilà's QUERY_STRING, if any)."""
        if canvas == "auto":
            canvas = auto_canvas()
        if canvas not in ("ipympl", "image"):
            raise ValueError(f"Playground: canvas must be 'auto', 'ipympl' or 'image', got {canvas!r}")
        self.framework = None if framework is None else Framework.of(framework)
        self.canvas = canvas
        self.fps, self.slice_seconds = fps, slice_seconds
        self.settings = Settings()          # one thread, float32, the app's RNG: only while the app's code runs
        self.clock = time.perf_counter      # what slices are timed with (a test may fake it)
        self._applying = False              # a control set back by the app: its observer does nothing
        self.running = False
        self._task: asyncio.Future | None = None
        self._last_draw = 0.0
        self._draw_seconds = 0.0            # what the last redraw took (self.clock)
        self._rate_mark = (0.0, 0)          # (time, epoch) when Play was pressed: the epochs/s shown
        self.last_epoch_time = 0.0          # when the last epoch finished (time.monotonic, the asyncio clock)
        self.redraws = 0
        self.csv: tuple[torch.Tensor, torch.Tensor] | None = None
        self.edits: editing.Edits | None = None     # the training set edited by hand (editing.py)
        self.message = ""
        self._build_controls()
        self.views: Views | None = None
        self.run: Run | None = None
        self.panels: list[Panel] = []       # extra views beside the figure (panels.py); each feature adds its own
        self.diagram = DiagramPanel(canvas, self.settings)
        self.panels.append(self.diagram)
        self.hidden_space = HiddenSpace(self.settings)
        self.panels.append(self.hidden_space)
        self.race: Race | None = None       # the race builds minidl Recipes: not with a learner's classes
        if self.framework is None:
            self.race = Race(self.recipe, lambda: self.batch.value, settings=self.settings, clock=lambda: self.clock(),
                             stop_app=self._stop_task)
            self.panels.append(self.race)
        try:
            self.reset()
        except Exception as e:                      # a learner's unfinished class: say so in one line
            if self.framework is None:
                raise
            line = str(e).splitlines()[0] if str(e) else ""
            raise RuntimeError(f"Playground(framework={self.framework.name}): your classes failed while building and "
                               f"drawing the network: {type(e).__name__}: {line}") from e
        self.widget = self._layout(self.image if self.image is not None else self.views.fig.canvas)
        follow_sections(self.widget, self.panels)   # a closed panel draws nothing
        self.clicks = editing.connect(self)        # clicks on the boundary add or erase points
        self._apply_query(share.query_string() if query is None else query)
        fallback.watch(self)                # a page that cannot draw the ipympl canvas gets images (fallback.py)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Stop training and close every widget of the app (the kernel forgets them)."""
        self._stop_task()
        self._pause_panels()
        stack = [self.widget]
        while stack:
            w = stack.pop()
            stack.extend(getattr(w, "children", ()))
            w.close()

    # -- what trains -----------------------------------------------------------------------------------
    @property
    def output_mode(self) -> str:
        return self.run.output

    def _make_run(self, spec: DataSpec | None = None, csv: tuple[torch.Tensor, torch.Tensor] | None = None) -> Run:
        """A new run from the controls (spec, csv: other data); nothing in the app changes."""
        spec, csv = spec or self.data_spec(), csv if csv is not None else self.csv
        d = editing.apply(self.edits, spec, csv, Data.make(spec, csv))
        sizes = (d.width, *self.sizes[1:-1], d.classes)          # the data's features in, its classes out
        if self.framework is None:
            new: Run = MinidlRun(d, replace(self.recipe(), sizes=sizes), readable=self.step_kind.value == "readable")
        else:
            new = LearnerRun(d, self.framework, sizes, self.activation.value, self.loss.value, as_shown(self.lr),
                             self._momentum(), self.seed.value)
        new.slicer.clock = lambda: self.clock()
        return new

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

    @inside
    def reset(self) -> None:
        """Stop training, rebuild data, model and optimizer from the controls, redraw. All or nothing:
        if the new run cannot be built or drawn, the exception propagates and nothing has changed."""
        self._install(self._make_run())

    def _install(self, new: Run, frame: Frame | None = None) -> None:
        """Replace the run by ``new`` (its first picture drawn first: a failure changes nothing)."""
        n_linear = len(self.sizes) - 1
        frame = frame or capture(new, n_linear, show_test=self.show_test.value)
        self._stop_task()
        self.run = new
        self.message = ""
        for i, w in enumerate(self.widths):
            w.layout.display = None if i < self.layers.value else "none"
        csv = self.dataset.value == "your CSV"
        self.points.disabled = self.noise.disabled = csv        # the upload's own points: no sampling
        self._sync_momentum()
        if self.views is None:
            self.views = Views(n_linear, self.canvas)
        elif len(self.views.bars) != n_linear:
            self.views.rebuild(n_linear)          # the same Figure (and canvas widget), new axes
        self.status.value = ""
        self.sync_model_controls(self.framework is not None)
        self.code.value = self.download.value = ""        # an export describes the run it was made from
        self.notes.value = self.notes_for(self.run)
        editing.refresh_controls(self)
        for panel in self.panels:
            panel.reset(new)
        self.redraw(frame)

    def _sync_momentum(self) -> None:
        """The momentum slider: off for SGD and Adam; for Nesterov at least NESTEROV_MIN (what SGD accepts)."""
        kind = self.optimizer.value
        self.momentum.disabled = kind in ("SGD", "Adam")
        self.momentum.min = NESTEROV_MIN if kind == "Nesterov" else 0.0    # a value below moves up: observed

    def _set_back(self, widget: Any, value: Any) -> None:
        """Give ``widget`` ``value`` without its observer resetting anything."""
        self._applying = True
        try:
            widget.value = value
        finally:
            self._applying = False

    def _refuse(self, what: str, e: Exception) -> None:
        """One red line: what was not applied, and why (the exception's first line)."""
        self.log.append_stdout(traceback.format_exc())
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        self.status.value = f"<span style='color:#C00000'>{what}: {why}</span>"

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

    @inside
    def step(self, until: float | None = None) -> bool:
        """Train one epoch (finishing the one in progress), or batches until ``self.clock()`` passes
        ``until``; False if it diverged (training is then paused and the message shown)."""
        message = self.run.train(self.batch.value, until=until, stop=lambda h: self.stop_reason(h) is not None)
        if message is not None:
            self.running = False
            self.message = message
            self.status.value = f"<span style='color:#C00000'><b>{self.message}</b></span>"
            return False
        self._pause_if_stopped()
        return True

    def _pause_if_stopped(self) -> bool:
        """A stop condition holds (model_controls.stop_reason): pause and say why."""
        reason = self.stop_reason(self.history)
        if reason is not None and self.running:
            self.running = False
            self.status.value = f"<span style='color:#0B6E4F'><b>{reason}</b></span>"
        return reason is not None

    async def _train_loop(self) -> None:
        me = asyncio.current_task()
        drawn = False                               # the last frame drawn here (Pause), not in `finally`
        try:
            while self.running:
                while self.running:
                    now = self.clock()
                    if self.step(until=min(now + self.slice_seconds, self._last_draw + self._draw_interval())):
                        self.last_epoch_time = time.monotonic()
                    await asyncio.sleep(0.001)      # let the kernel handle Pause, sliders, ... first
                    if self.running and self.clock() - self._last_draw >= self._draw_interval():
                        self._draw_seconds = await in_turns(self._redraw_steps(), self.settings, self.clock)
                        await asyncio.sleep(0.001)
                self._buttons()
                await in_turns(self._redraw_steps(), self.settings, self.clock)   # the last frame, in pieces
                drawn = True                        # (Play pressed meanwhile: train on)
        except asyncio.CancelledError:
            drawn = False
        except Exception as e:
            drawn = False
            self.running = False
            self._error(e)
        finally:
            if self._task is me:
                self._task = None
                self.running = False
                self._buttons()
                if not drawn:
                    self._redraw_guarded()           # the last frame (a learner's forward may raise)

    def _draw_interval(self) -> float:
        """Seconds from one redraw's start to the next: 1/fps, or 3× what the last one took if longer, but
        at most 0.25 s (4 frames a second) unless that leaves training less than half the time."""
        d = self._draw_seconds
        return max(1.0 / self.fps, min(3 * d, max(0.25, 2 * d)))

    def start(self) -> None:
        """Play: start the training task unless one is running already or a stop condition holds
        (a panel that trains, the race, is paused first)."""
        self._pause_panels()
        self.running = True
        if self._pause_if_stopped():
            self._buttons()
            return
        if self._task is None:
            self._rate_mark = (self.clock(), self.epoch)
            self._task = asyncio.ensure_future(self._train_loop())
        self._buttons()

    def pause(self) -> None:
        self.running = False
        self._buttons()

    def _pause_panels(self) -> None:
        """Exactly one training task: a panel that trains (the race) stops before the app trains."""
        for panel in self.panels:
            if hasattr(panel, "pause"):
                panel.pause()

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
        self._pause_panels()
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
    def _on_structure(self, change: Any = None) -> None:
        """A data or network control changed: a new run, or (if it cannot be built) the control set back."""
        if self._applying:
            return
        try:
            self.reset()
        except Exception as e:
            if change is None:
                raise
            widget = change["owner"]
            self._set_back(widget, change["old"])
            name = getattr(widget, "description", "") or "control"
            self._refuse(f"Could not apply {name} = {change['new']!r} (kept {change['old']!r})", e)

    @_guarded
    def _on_lr(self, change: Any) -> None:
        if self._applying:
            return
        if not self.run.set_lr(as_shown(self.lr, change["new"])):        # live: the next step uses it
            self.status.value = "your SGD keeps no attribute lr: the learning rate applies at Reset"

    @_guarded
    def _on_momentum(self, change: Any) -> None:
        if self._applying:
            return
        if self.run is None or self.momentum.disabled or self.optimizer.value not in ("Momentum", "Nesterov"):
            return                                    # SGD and Adam have none; a new run reads the slider
        if not self.run.set_momentum(as_shown(self.momentum, change["new"])):  # live: the next step uses it
            self.status.value = "your SGD keeps no attribute momentum: the momentum applies at Reset"

    @_guarded
    def _on_step_kind(self, change: Any) -> None:
        if isinstance(self.run, MinidlRun) and not self._applying:
            self.run.readable = change["new"] == "readable"     # live: the next slice uses it
            self._rate_mark = (self.clock(), self.epoch)

    @_guarded
    def _on_upload(self, change: Any) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        name = f.get("name", "upload.csv") if isinstance(f, dict) else getattr(f, "name", "upload.csv")
        content = f["content"] if isinstance(f, dict) else f.content
        self.load_csv_bytes(bytes(content), name)

    @inside
    def load_csv_bytes(self, content: bytes, name: str = "upload.csv") -> bool:
        """Use an uploaded CSV (x1,x2,label), whole or not at all: the new data and network are built
        (and drawn) first; a file that cannot be used gets a one-line message and nothing changes."""
        cap = self.points.max                               # the generated data's cap
        try:
            try:
                x, y = data.parse_csv(content, source=name, max_rows=cap)
            except ValueError as e:
                if "more than max_rows=" not in str(e):
                    raise
                raise ValueError(f"more than {cap} rows: the playground takes at most {cap} points "
                                 f"(the points slider's maximum); upload a sample") from None
            if int(y.max()) >= MAX_CLASSES:
                raise ValueError(f"the playground draws up to {MAX_CLASSES} classes (labels 0 to {MAX_CLASSES - 1}), "
                                 f"got labels up to {int(y.max())}")
            lo, hi = x.min(dim=0).values, x.max(dim=0).values
            csv = ((x - lo) / (hi - lo).clamp(min=1e-12), y)       # drawn in the unit square
            new = self._make_run(replace(self.data_spec(), name="your CSV"), csv)
            frame = capture(new, len(self.sizes) - 1, show_test=self.show_test.value)
        except Exception as e:
            self._refuse(f"Could not use {name}", e)
            return False
        self.csv = csv
        self._applying = True                                      # the dataset control follows, no reset
        try:
            if "your CSV" not in self.dataset.options:
                self.dataset.options = [*data.DATASETS, "your CSV"]
            self.dataset.value = "your CSV"
        finally:
            self._applying = False
        self._install(new, frame)
        self.status.value = f"Loaded {name}: {len(x)} points (inputs rescaled to [0, 1]²)."
        return True

    def _error(self, e: Exception) -> None:
        self.running = False
        self.status.value = f"<span style='color:#C00000'>Error: {type(e).__name__}: {e} (see Log)</span>"
        self.log.append_stdout(traceback.format_exc())

    # -- the picture -------------------------------------------------------------------------------------------
    @inside
    def frame(self) -> Frame:
        """What the picture shows now (playground.state)."""
        return capture(self.run, len(self.sizes) - 1, show_test=self.show_test.value, note=self.message)

    @inside
    def redraw(self, frame: Frame | None = None) -> None:
        """Draw the picture and the open panels now (Step, Reset, a control)."""
        self._draw_seconds = run_now(self._redraw_steps(frame), self.clock)

    def _redraw_steps(self, frame: Frame | None = None) -> Steps:
        """The redraw in pieces of a few tens of ms (the training loop runs one per turn of the event loop,
        panels.in_turns): capture and update; render; encode or send, and the labels; each panel's pieces."""
        if self.views is None:
            return
        self._last_draw = self.clock()
        run, views = self.run, self.views
        frame = frame or self.frame()
        views.update(frame)
        self.confusion_view.value = confusion_html(frame)
        yield
        if self.run is not run:                   # a Reset between the pieces drew the new run already
            return
        yield from views.render_steps(live=self.running)
        if self.image is not None or views.unsent:
            yield
            if self.run is not run:
                return
            if self.image is not None:
                self.image.value = views.encode()
            else:
                views.send()                      # ipympl: the changed pixels go to the page
        self._labels()
        for panel in self.panels:
            if self.run is not run:
                return
            steps = getattr(panel, "refresh_steps", None)
            if steps is None:
                panel.refresh(run, frame)
            else:
                yield from steps(run, frame, live=self.running)
            yield

    def _labels(self) -> None:
        """The epoch, epochs/s, ms/epoch and the last metrics above the picture."""
        self.redraws += 1
        h = self.history
        rate = ""
        if self.running and self.epoch > self._rate_mark[1]:
            rate = f"&ensp;{(self.epoch - self._rate_mark[1]) / (self._last_draw - self._rate_mark[0]):.0f} epochs/s"
        if len(h.time) >= 2:                      # training time per epoch, from the History's time column
            last = h.time[-min(len(h.time), 11):]
            rate += f"&ensp;{1000 * (last[-1] - last[0]) / (len(last) - 1):.2f} ms/epoch"
        self.epoch_label.value = f"<span style='font-size:1.3em'><b>epoch {self.epoch}</b></span>{rate}&emsp;"
        if h.epoch:
            self.metrics.value = (f"train loss {h.train_loss[-1]:.4f} · test loss {h.test_loss[-1]:.4f} · "
                                  f"train error {100 * h.train_error[-1]:.1f}% · "
                                  f"test error {100 * h.test_error[-1]:.1f}% · lr {self.run.lr:.4g}")
        else:
            self.metrics.value = "press Play or Step to train"

    # -- export ------------------------------------------------------------------------------------------------
    @inside
    def export_code(self) -> str:
        """Python that reproduces the current run, to the last epoch."""
        return export.code(self.data_spec(), self.run, self.batch.value)

    @inside
    def weights_bytes(self) -> bytes:
        return export.weights(self.run)

    @_guarded
    def _on_export(self, _: Any = None) -> None:
        self.code.value = self.export_code()
        self.download.value = export.download_link(self.run) + "<br>" + export.csv_link(self.run)

    # -- edit and share (editing.py, share.py) -----------------------------------------------------------------
    @_guarded
    def edit(self, x: float, y: float, keys: frozenset[str] = frozenset()) -> bool:
        """A click on the boundary at data (x, y) with modifier ``keys``: add or erase a training point."""
        return editing.click(self, x, y, keys)

    @inside
    def data_csv(self) -> str:
        """The run's points as CSV: x1,x2,label,split (md.data.load_csv and the upload read it back)."""
        return export.data_csv(self.run)

    @inside
    def setup_string(self) -> str:
        """A string that restores every control, the seed and the data (share.py)."""
        return share.setup_of(self)

    @inside
    def apply_setup(self, text: str) -> None:
        """Apply a setup string whole, or raise a ValueError and change nothing."""
        ignored = share.apply_setup(self, text)
        self.status.value = "setup applied" + (f"; ignored (no such control): {', '.join(ignored)}" if ignored else "")

    @_guarded
    def _on_share(self, _: Any = None) -> None:
        try:
            self.setup.value = self.setup_string()
        except ValueError as e:                       # over share.MAX_CHARS
            self._refuse("Setup not copied", e)

    @_guarded
    def _on_setup_apply(self, _: Any = None) -> None:
        try:
            self.apply_setup(self.setup.value)
        except ValueError as e:
            self._refuse("Setup not applied", e)

    @inside
    def _apply_query(self, query: str) -> None:
        try:
            ignored = share.apply_query(self, query)
        except ValueError as e:
            self._refuse("The URL's setup was not applied; the app starts with its defaults", e)
            return
        self.status.value = share.query_note(query, ignored)
