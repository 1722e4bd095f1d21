"""The playground's model controls: classes, input features, L1/L2, the lr schedule, stop conditions.   Notebook 10

A mixin of ``Controls`` (controls.py), built with the other widgets, each with a ``pg-<name>`` CSS class:

  * ``classes`` (pg-classes), k = 2..5, for the data sets that draw k classes (data.CLASSES:
    gaussians with k blobs, spiral with k arms); disabled for the others, with a note. The
    network has k outputs: cross-entropy on the labels, or MSE on one-hot targets of width k.
  * one checkbox per input feature (pg-feature-x1, -x2, -x1-2, -x2-2, -x1-x2, -sin-x1, -sin-x2),
    as in TensorFlow Playground: the network's inputs are input_features(standardised points)
    (run.Data), the first Linear has one input per feature. All off is refused (set back).
  * ``l2`` and ``l1`` (pg-l2, pg-l1): rates from TensorFlow Playground's list, 0 = off; they apply
    live to the optimizer's param_groups (weight_decay, l1), and to a new run through the Recipe.
  * ``schedule`` (pg-schedule): constant, step (pg-step-size epochs, pg-gamma) or cosine
    (pg-t-max epochs), models.build_scheduler's, stepped once per epoch by the loop as fit does;
    a change starts a new run (the schedule counts epochs from the run's start). The lr slider
    sets the base lr (run.MinidlRun.set_lr).
  * stop conditions: ``stop_epoch`` (pg-stop-epoch: pause after epoch N, 0 = off) and
    ``stop_error`` (pg-stop-error: pause once the test error is at most X %, 0 = off); checked
    at the end of every epoch inside the training loop, so training stops exactly there.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as W

from ..training.features import DEFAULT, FEATURES
from ..training.history import History
from .colours import MAX_CLASSES
from .run import takes_classes

RATES = (0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1)    # TensorFlow Playground's list
SCHEDULES = ("constant", "step", "cosine")


def feature_css(name: str) -> str:
    """The CSS class of a feature's checkbox: pg-feature-x1, ..., pg-feature-x1-2 (x1^2), pg-feature-sin-x1."""
    slug = name.replace("^", "-").replace("*", "-").replace("(", "-").replace(")", "")
    return f"feature-{slug}"


class ModelControls:
    """The widgets above; ``self._w`` (controls.py) adds the CSS class and the observer."""

    dataset: W.Dropdown
    csv: Any

    def _build_model_controls(self) -> None:
        s = {"description_width": "90px"}
        structure = self._on_structure
        self.classes = self._w(W.IntSlider(2, 2, MAX_CLASSES, description="classes", style=s,
                                           layout=W.Layout(width="310px"), continuous_update=False),
                               "classes", structure)
        self.features = {name: self._w(W.Checkbox(name in DEFAULT, description=f.formula, indent=False,
                                                  layout=W.Layout(width="72px")), feature_css(name), structure)
                         for name, f in FEATURES.items()}
        options = [("off", 0.0)] + [(f"{r:g}", r) for r in RATES[1:]]
        self.l2 = self._w(W.Dropdown(options=options, value=0.0, description="L2 rate", style=s,
                                     layout=W.Layout(width="200px")), "l2", self._on_regularisation)
        self.l1 = self._w(W.Dropdown(options=options, value=0.0, description="L1 rate", style=s,
                                     layout=W.Layout(width="200px")), "l1", self._on_regularisation)
        self.schedule = self._w(W.Dropdown(options=SCHEDULES, value="constant", description="lr schedule",
                                           style=s, layout=W.Layout(width="200px")), "schedule", structure)
        self.step_size = self._w(W.BoundedIntText(50, min=1, max=10**6, description="every (epochs)", style=s,
                                                  layout=W.Layout(width="200px")), "step-size", structure)
        self.gamma = self._w(W.BoundedFloatText(0.5, min=0.01, max=1.0, step=0.05, description="× gamma",
                                                style=s, layout=W.Layout(width="200px")), "gamma", structure)
        self.t_max = self._w(W.BoundedIntText(200, min=1, max=10**6, description="T_max (epochs)", style=s,
                                              layout=W.Layout(width="200px")), "t-max", structure)
        self.stop_epoch = self._w(W.BoundedIntText(0, min=0, max=10**6, description="stop at epoch", style=s,
                                                   layout=W.Layout(width="200px")), "stop-epoch")
        self.stop_error = self._w(W.BoundedFloatText(0.0, min=0.0, max=100.0, step=0.5,
                                                     description="stop: err ≤ %", style=s,
                                                     tooltip="pause once the test error is at most "
                                                     "this many % (0: off)",
                                                     layout=W.Layout(width="200px")), "stop-error")
        self.confusion_view = self._w(W.HTML(layout=W.Layout(min_width="200px", margin="20px 0 0 8px")),
                                      "confusion")                       # confusion.py: beside the figure

    # -- what they say ------------------------------------------------------------------------------------
    def n_classes(self) -> int:
        """k: the slider's for a data set that takes it, the labels' for an upload, else 2."""
        if self.dataset.value == "your CSV" and self.csv is not None:
            return max(2, int(self.csv[1].max()) + 1)
        return self.classes.value if takes_classes(self.dataset.value) else 2

    def feature_names(self) -> tuple[str, ...]:
        return tuple(name for name, box in self.features.items() if box.value)

    def training_fields(self) -> dict[str, Any]:
        """The Recipe's regularisation and schedule fields (models.Recipe)."""
        return dict(weight_decay=self.l2.value, l1=self.l1.value, schedule=self.schedule.value,
                    step_size=self.step_size.value, gamma=self.gamma.value, t_max=self.t_max.value)

    def stop_reason(self, history: History) -> str | None:
        """Why training should pause now (a stop condition holds), or None."""
        if not history.epoch:
            return None
        if self.stop_epoch.value and history.epoch[-1] >= self.stop_epoch.value:
            return f"stopped at epoch {history.epoch[-1]}: 'stop at epoch' is {self.stop_epoch.value}"
        error = history.test_error[-1] if history.test_error else math.nan
        if self.stop_error.value and 100 * error <= self.stop_error.value:
            return (f"stopped at epoch {history.epoch[-1]}: test error {100 * error:.1f}% ≤ "
                    f"{self.stop_error.value:g}% ('stop at test error')")
        return None

    def sync_model_controls(self, learner: bool) -> None:
        """Enable what applies: classes for the data sets that take k, the schedule's own parameters;
        a learner's framework has no L1, L2 or schedule (its SGD has none)."""
        self.classes.disabled = not takes_classes(self.dataset.value)
        kind = self.schedule.value
        self.step_size.layout.display = self.gamma.layout.display = None if kind == "step" else "none"
        self.t_max.layout.display = None if kind == "cosine" else "none"
        if learner:
            self.l1.disabled = self.l2.disabled = self.schedule.disabled = True

    def model_notes(self, learner_name: str | None) -> list[str]:
        """One line per model control that cannot do what it shows, and why."""
        lines = []
        if self.classes.disabled:
            what = "your CSV's labels decide" if self.dataset.value == "your CSV" else \
                f"{self.dataset.value} has two classes"
            lines.append(f"classes: {what} (k classes: gaussians, spiral)")
        if learner_name is not None:
            lines.append(f"L1, L2, lr schedule: {learner_name}'s SGD has none")
        return lines

    def model_boxes(self) -> tuple[list[W.Widget], list[W.Widget], list[W.Widget]]:
        """The extra rows of the data box, the network box and the training box."""
        features = W.HBox([W.HTML("<span style='width:90px;display:inline-block'>features</span>"),
                           W.HBox(list(self.features.values()), layout=W.Layout(flex_flow="row wrap",
                                                                                width="220px"))])
        return ([self.classes], [features], [self.l2, self.l1, self.schedule, self.step_size, self.gamma, self.t_max,
                             self.stop_epoch, self.stop_error])

    # -- callbacks (the app's) ------------------------------------------------------------------------------
    def _on_regularisation(self, change: Any) -> None:
        """L1 or L2 changed: live, the next step uses it (a new run reads the controls)."""
        if self._applying or self.run is None or not hasattr(self.run, "set_regularisation"):
            return
        with self.settings:
            self.run.set_regularisation(self.l2.value, self.l1.value)
