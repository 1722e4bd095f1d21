"""The playground's controls: the widgets, their layout, and what they say.   Notebook 10

``Controls`` is the widget half of ``Playground`` (app.py): it builds every control (each with a
``pg-<name>`` CSS class, which the browser tests use), lays them out, and reads them as a
DataSpec (the data) and a Recipe (the network, loss and optimizer: the one builder from names).
With a learner's framework, the controls it does not cover are left out or disabled, and
``notes_for`` says why in one line each. The callbacks (``_on_*``) are the app's.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from ..framework.activations import ACTIVATIONS as ACTIVATIONS_BY_NAME
from ..training import data
from ..training.models import Recipe
from .learner import LOSSES, Framework
from .model_controls import ModelControls
from .run import DataSpec
from .share import MAX_CHARS

ACTIVATIONS = {cls.__name__: name for name, cls in ACTIVATIONS_BY_NAME.items()}   # shown name -> name
INITS = {"torch default": ("default", None), "Kaiming uniform": ("kaiming_uniform", None),
         "Kaiming normal": ("kaiming_normal", None), "Xavier uniform": ("xavier_uniform", None),
         "Xavier normal": ("xavier_normal", None), "uniform ±1": ("uniform", 1.0),
         "normal σ=1": ("normal", 1.0), "zeros": ("zeros", None)}
OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "Adam")
BATCHES = (1, 5, 10, 25, 50, 100, 250, 500, 1000)
MAX_LAYERS = 8
STEPS = ("compiled", "readable")       # fit(fast=True) / fit(fast=False)
SETUP_HELP = ("copy setup writes here a string that restores every control, the seed and the data (at most "
              f"{MAX_CHARS:,} characters); paste one and press apply. In Voilà, open the page with ?setup=<string>, "
              "or ?dataset=spiral&lr=0.03 ...")
NESTEROV_MIN = 0.01                    # the momentum slider's minimum for Nesterov (SGD refuses 0 with it)


def as_shown(slider: W.Widget, value: float | None = None) -> float:
    """A float slider's value (or ``value`` from its change) without the browser's float noise: a slider moved
    in the page sends min + k·step in floating point (0.9000000000000001); rounded to 12 significant digits it is
    the value its readout shows (0.9). A value set from Python (0.05 on the log slider) stays as it is. What the
    controls give a run and what Export writes."""
    return float(f"{float(slider.value if value is None else value):.12g}")


def _wide() -> W.Layout:
    return W.Layout(width="310px")          # a Layout each: hiding one widget must not hide its siblings


class Controls(ModelControls):
    """The widgets of the app; ``framework`` (a learner's, or None) decides which options exist."""

    framework: Framework | None
    canvas: str

    # -- controls -----------------------------------------------------------------------------------
    def _w(self, widget: W.Widget, css: str, observe: Any = None) -> W.Widget:
        widget.add_class(f"pg-{css}")
        self.registry[css], self.defaults[css] = widget, getattr(widget, "value", None)   # share.py reads them
        if observe is not None:
            widget.observe(observe, names="value")
        return widget

    def _build_controls(self) -> None:
        s = {"description_width": "90px"}
        reset = self._on_structure
        self.registry: dict[str, W.Widget] = {}      # every control under its pg-name (share.py)
        self.defaults: dict[str, Any] = {}
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
        self.loss = self._w(W.ToggleButtons(options=losses, value=losses[0], description="loss", style={
            "button_width": "100px", "description_width": "90px"}), "loss", reset)
        self.standardize = self._w(W.Checkbox(True, description="standardise inputs", indent=False), "standardize",
                                   reset)
        self.optimizer = self._w(W.Dropdown(options=OPTIMIZERS if fw is None else OPTIMIZERS[:2], value="Momentum",
                                            description="optimizer", style=s, layout=_wide()), "optimizer", reset)
        self.lr = self._w(W.FloatLogSlider(0.1, base=10, min=-4, max=1, step=0.1, description="learning rate",
                                           readout_format=".4", style=s, layout=_wide()),   # d3 ~.4g: 0.01, 0.1259
                            "lr", self._on_lr)
        self.momentum = self._w(W.FloatSlider(0.9, min=0.0, max=0.99, step=0.01, description="momentum",
                                              style=s, layout=_wide()), "momentum", self._on_momentum)
        self.batch = self._w(W.SelectionSlider(options=BATCHES, value=100, description="batch size", style=s,
                                               layout=_wide()), "batch")
        self.step_kind = self._w(W.ToggleButtons(options=STEPS, value="compiled", description="step", style={
            "button_width": "80px", "description_width": "90px"}, tooltips=[
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
                                 self._redraw_guarded)
        self.epoch_label = self._w(W.HTML(), "epoch")
        self.metrics = self._w(W.HTML(), "metrics")
        self.status = self._w(W.HTML(), "message")
        self.notes = self._w(W.HTML(), "notes")          # why a control is disabled
        self.image = W.Image(format="png", layout=W.Layout(width="100%", max_width="688px")) \
            if self.canvas == "image" else None
        self.log = self._w(W.Output(layout=W.Layout(max_height="160px", overflow="auto")), "log")
        self.export_button = self._w(W.Button(description="Export code and weights", icon="download",
                                              layout=W.Layout(width="auto")), "export")    # the whole label
        self.export_button.on_click(self._on_export)
        self.code = self._w(W.Textarea(layout=W.Layout(width="100%", height="240px")), "code")
        self.download = self._w(W.HTML(), "download")
        self._build_model_controls()             # classes, features, L1/L2, schedule, stop (model_controls.py)
        self.edit_class = self._w(W.ToggleButtons(options=[("0", 0), ("1", 1), ("erase", -1)], value=0,
                                                  description="click adds", style={"button_width": "60px",
                                                  "description_width": "90px"}), "edit-class")
        self.edited = self._w(W.HTML(), "edited")           # "edited by hand: ..." (editing.py)
        self.share_button = self._w(W.Button(description="copy setup", icon="share-alt"), "share")
        self.setup = self._w(W.Textarea(placeholder=SETUP_HELP, layout=W.Layout(width="100%", height="80px")), "setup")
        self.setup_apply = self._w(W.Button(description="apply", icon="check"), "setup-apply")
        self.share_button.on_click(self._on_share)
        self.setup_apply.on_click(self._on_setup_apply)
        if fw is not None:
            self.dropout.disabled = self.init.disabled = self.step_kind.disabled = True
            self.step_kind.value = "readable"

    def _layout(self, picture: W.Widget) -> W.Widget:
        """The app: controls on the left, the toolbar, numbers and ``picture`` on the right."""
        def box(title: str, *children: W.Widget) -> W.Widget:
            return W.VBox([W.HTML(f"<b>{title}</b>"), *children])
        network = "Network" if self.framework is None else f"Network: your classes ({self.framework.name})"
        more_data, more_network, more_training = self.model_boxes()
        controls = W.VBox([
            box("Data", self.dataset, *more_data, self.points, self.noise, self.ratio,
                W.HBox([self.regenerate, self.upload]), self.edit_class, self.edited),
            box(network, *more_network, self.layers, *self.widths, self.activation, self.dropout, self.init, self.loss,
                self.standardize),
            box("Training", self.optimizer, self.lr, self.momentum, self.batch, self.step_kind, self.seed,
                *more_training),
            self.notes,
        ], layout=W.Layout(width="330px"))
        toolbar = W.HBox([self.play, self.step_button, self.reset_button, self.show_test])
        picture = self._w(picture, "boundary")
        panels = [W.Accordion([p.widget], titles=[p.title]) for p in getattr(self, "panels", [])]
        picture_row = W.HBox([picture, self.confusion_view], layout=W.Layout(flex_flow="row wrap"))
        main = W.VBox([toolbar, W.HBox([self.epoch_label, self.metrics]), self.status, picture_row, *panels,
                       W.Accordion([W.VBox([self.export_button, self.download, self.code])], titles=["Export"]),
                       W.Accordion([W.VBox([W.HBox([self.share_button, self.setup_apply]), self.setup])],
                                   titles=["Share this setup"]),
                       W.Accordion([self.log], titles=["Log"])], layout=W.Layout(flex="1 1 700px"))
        app = W.HBox([controls, main], layout=W.Layout(flex_flow="row wrap"))   # narrow page: figure below
        app.add_class("pg-app")
        return app

    @property
    def sizes(self) -> tuple[int, ...]:
        return (len(self.feature_names()), *[w.value for w in self.widths[:self.layers.value]], self.n_classes())

    def data_spec(self) -> DataSpec:
        return DataSpec(self.dataset.value, self.points.value, as_shown(self.noise), as_shown(self.ratio),
                        self.seed.value, self.standardize.value, self.classes.value, self.feature_names())

    def _momentum(self) -> float:
        """The momentum the optimizer gets: the slider's for Momentum and Nesterov (which moves the
        slider up to NESTEROV_MIN, app._sync_momentum), none for SGD and Adam (the slider is off)."""
        kind = self.optimizer.value
        if kind in ("SGD", "Adam"):
            return 0.0
        return max(as_shown(self.momentum), NESTEROV_MIN) if kind == "Nesterov" else as_shown(self.momentum)

    def recipe(self) -> Recipe:
        """The controls' model, init, loss and optimizer as a Recipe (the one builder from names)."""
        scheme, scale = INITS[self.init.value]
        kind = self.optimizer.value
        return Recipe(tuple(self.sizes), ACTIVATIONS[self.activation.value], dropout=as_shown(self.dropout),
                      init=scheme, init_scale=scale, loss="mse" if self.loss.value == "MSE" else "ce",
                      optimizer="adam" if kind == "Adam" else "sgd", lr=as_shown(self.lr), momentum=self._momentum(),
                      nesterov=kind == "Nesterov", seed=self.seed.value, **self.training_fields())

    def notes_for(self, run: Any) -> str:
        """One line per control that cannot do what it shows for ``run``, and why (HTML)."""
        fw = self.framework
        lines = self.model_notes(None if fw is None else fw.name)
        if fw is None:
            why = run.why_not_compiled
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
        return "".join(f"<div style='color:#666;font-size:0.9em'>{line}</div>" for line in lines if line)
