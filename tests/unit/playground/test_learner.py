"""Playground(framework=...): a learner's own classes, trained and drawn by the playground.

The learner's classes are tests/learner_framework.py (the course protocol, as notebook 13's solutions
write it; shared with the build-track checks' tests); it imports nothing from minidl, so the playground
is tested on classes it did not write. CLASSES leaves out Sigmoid and LogSoftmax on purpose.
"""

import asyncio
import math
import re
import sys
import types

import numpy as np
import pytest
import torch
from learner_framework import MSE, SGD, CrossEntropy, Linear, Module, ReLU, Sequential, Tanh
from playground_async import run

from minidl.playground import Playground
from minidl.playground.learner import Framework, LearnerRun

CLASSES = dict(Module=Module, Linear=Linear, ReLU=ReLU, Tanh=Tanh, MSE=MSE, CrossEntropy=CrossEntropy,
               Sequential=Sequential, SGD=SGD)


@pytest.fixture
def mine(monkeypatch):
    """The classes above as an importable module, as notebook 13's my_framework.py is."""
    module = types.ModuleType("learner_framework")
    module.__dict__.update(CLASSES)
    monkeypatch.setitem(sys.modules, "learner_framework", module)
    return module




# -- it trains, as minidl would ----------------------------------------------------------------------------
def test_the_learners_classes_train_exactly_like_minidls_readable_step(mine):
    """Same seed, same initial draws (U(±1/√in), weight then bias), same batch order: the learner's
    network follows minidl's readable run epoch by epoch."""
    app = Playground(framework=mine, canvas="image")
    ref = Playground(canvas="image")
    ref.step_kind.value = "readable"
    assert isinstance(app.run, LearnerRun) and app.model.__class__ is Sequential
    assert app.step_kind.value == "readable" and app.step_kind.disabled
    for _ in range(5):
        assert app.step() and ref.step()
    np.testing.assert_allclose(app.history.train_loss, ref.history.train_loss, rtol=1e-5)
    np.testing.assert_allclose(app.history.test_loss, ref.history.test_loss, rtol=1e-5)
    assert app.history.test_error == pytest.approx(ref.history.test_error, abs=2e-3)
    for (value, _), p in zip(app.model.param(), ref.model.parameters(), strict=True):
        torch.testing.assert_close(value, p.data, rtol=1e-4, atol=1e-5)


def test_play_trains_the_learners_network_and_shows_everything(mine):
    app = Playground(framework=mine, canvas="image")

    async def scenario():
        app.play.click()
        while app.epoch < 30:
            await asyncio.sleep(0.01)
        app.play.click()
        while app._task is not None:
            await asyncio.sleep(0.005)
    run(scenario())
    h = app.history
    assert h.train_loss[-1] < 0.5 * h.train_loss[0] and h.test_error[-1] < 0.15 and "Error" not in app.status.value
    frame = app.frame()
    p1 = frame.boundary[:, :, 1]                                   # P(class 1)
    assert frame.boundary.shape == (60, 60, 2) and 0 <= p1.min() < 0.5 < p1.max() <= 1
    assert len(frame.gradient_norms) == 4 and all(0 < n < math.inf for n in frame.gradient_norms)
    assert [u.shape for u in frame.units] == [(6, 30, 30), (6, 30, 30)]
    assert app.image.value[:8] == b"\x89PNG\r\n\x1a\n" and app.redraws >= 2


def test_cross_entropy_tanh_and_live_learning_rate(mine):
    app = Playground(framework=mine, canvas="image")
    app.loss.value = "cross-entropy"
    app.activation.value = "Tanh"
    app.optimizer.value = "SGD"
    assert app.output_mode == "softmax" and isinstance(app.criterion, CrossEntropy)
    assert isinstance(app.run.layers[1], Tanh) and app.optim.momentum == 0.0
    app.step()
    app.lr.value = 0.05
    assert app.optim.lr == pytest.approx(0.05)
    app.step()
    assert app.history.lr == pytest.approx([0.1, 0.05])


def test_controls_the_learner_did_not_write_are_disabled_with_a_note(mine):
    app = Playground(framework=mine, canvas="image")
    assert list(app.activation.options) == ["ReLU", "Tanh"]            # no Sigmoid, no LeakyReLU written
    assert list(app.optimizer.options) == ["SGD", "Momentum"]
    assert app.dropout.disabled and app.init.disabled and app.step_kind.disabled
    notes = app.notes.value
    for line in ("activation: LeakyReLU, Sigmoid not in learner_framework",
                 "optimizer: Nesterov and Adam not in learner_framework",
                 "dropout: learner_framework has no Dropout",
                 "init: learner_framework's Linear draws its own initial weights",
                 "step: your classes train with the readable step"):
        assert line in notes, notes
    only_mse = types.SimpleNamespace(**{k: v for k, v in CLASSES.items() if k != "CrossEntropy"})
    app = Playground(framework=only_mse, canvas="image")
    assert list(app.loss.options) == ["MSE"] and "loss: CrossEntropy not in my_framework" in app.notes.value


@pytest.mark.parametrize("missing, named", [("SGD", "missing SGD"), ("Linear", "missing Linear"),
                                            ("MSE CrossEntropy", "missing a loss (MSE or CrossEntropy)"),
                                            ("ReLU Tanh", "missing an activation (ReLU, Tanh or Sigmoid)")])
def test_a_framework_without_a_needed_class_is_refused_in_one_line(missing, named):
    classes = {k: v for k, v in CLASSES.items() if k not in missing.split()}
    with pytest.raises(TypeError) as info:
        Playground(framework=classes, canvas="image")
    message = str(info.value)
    assert "\n" not in message and message.startswith("Playground(framework=my_framework): expected classes")
    assert message.endswith(named)


class SGDStub(SGD):
    def __init__(self, params, lr, momentum=0.0):
        raise NotImplementedError("write SGD.__init__: ValueError for lr <= 0 ...\nsecond line")


class TanhStub(Tanh):
    def forward(self, x):
        raise NotImplementedError("write Tanh.forward: compute y = tanh(x)")


def test_an_unfinished_class_the_network_needs_is_named_in_one_line():
    with pytest.raises(RuntimeError) as info:
        Playground(framework={**CLASSES, "SGD": SGDStub}, canvas="image")
    assert str(info.value) == ("Playground(framework=my_framework): your classes failed while building and drawing "
                               "the network: NotImplementedError: write SGD.__init__: ValueError for lr <= 0 ...")
    with pytest.raises(RuntimeError, match=r"drawing the network: NotImplementedError: write Tanh.forward"):
        Playground(framework={**CLASSES, "ReLU": TanhStub}, canvas="image")     # forward runs for the first picture


def test_a_dict_of_classes_works_too():
    assert Framework.of(CLASSES).losses == ("MSE", "cross-entropy")


# -- broken learner code: visible, never a crash -----------------------------------------------------------------
class LinearAscends(Linear):
    """A planted bug: the weight gradient with the wrong sign (gradient *ascent* on W)."""

    def backward(self, grad_output):
        self.grad_weight -= grad_output.T @ self.x
        self.grad_bias += grad_output.sum(dim=0)
        return grad_output @ self.weight


class LinearStub(Linear):
    def backward(self, grad_output):
        raise NotImplementedError("write Linear.backward: accumulate dL/dW and dL/db, return dL/dx")


def test_a_wrong_backward_diverges_visibly_and_the_app_keeps_working():
    """Gradient ascent on W, the default settings: the loss blows up within a few epochs; the app
    pauses with the message, the diverging epoch undone, and still answers Play and Reset."""
    app = Playground(framework={**CLASSES, "Linear": LinearAscends}, canvas="image")

    async def play_until_idle():
        app.play.click()
        while app._task is not None:
            await asyncio.sleep(0.01)
    run(play_until_idle())
    h = app.history
    assert re.search(r"diverged at epoch \d+ — lower the learning rate \(lr=0.1\) or check your backward",
                     app.status.value), app.status.value
    assert h.diverged and len(h.train_loss) < 10 and all(math.isfinite(v) for v in h.train_loss)
    assert all(torch.isfinite(v).all() for v, _ in app.model.param())          # the diverging epoch undone
    assert not app.running and app._task is None and "Error" not in app.status.value
    run(play_until_idle())                                       # Play again: diverges again, no crash
    assert "diverged at epoch" in app.status.value and "Error" not in app.status.value
    app.reset_button.click()
    assert app.epoch == 0 and app.status.value == ""


def test_an_unfinished_backward_is_reported_in_the_app():
    app = Playground(framework={**CLASSES, "Linear": LinearStub}, canvas="image")
    app.step_button.click()
    assert "Error: NotImplementedError: write Linear.backward" in app.status.value
    assert "write Linear.backward" in "".join(o.get("text", "") for o in app.log.outputs)
    assert app.epoch == 0 and not app.running
    app.show_test.value = True                                     # still draws
    assert app.image.value[:8] == b"\x89PNG\r\n\x1a\n"


# -- export ------------------------------------------------------------------------------------------------------
def test_exported_code_replays_the_run_with_the_learners_classes(mine):
    app = Playground(framework=mine, canvas="image")
    for _ in range(3):
        app.step()
    app.export_button.click()
    code = app.code.value
    assert "import learner_framework as F" in code and "F.Sequential(F.Linear(2, 25), F.ReLU()," in code
    namespace = {}
    exec(compile(code, "<export>", "exec"), namespace)
    for (value, _), (mine_value, _) in zip(namespace["model"].param(), app.model.param(), strict=True):
        torch.testing.assert_close(value, mine_value)
    state = torch.load(__import__("io").BytesIO(app.weights_bytes()), weights_only=True)
    assert list(state) == ["0.0", "0.1", "2.0", "2.1", "4.0", "4.1", "6.0", "6.1"]
    assert torch.equal(state["6.1"], app.run.layers[6].bias)


# -- k classes and input features with the learner's classes ---------------------------------------------
@pytest.mark.parametrize("loss", ["MSE", "cross-entropy"])
def test_the_learners_network_takes_k_classes_and_input_features(mine, loss):
    app = Playground(framework=mine, canvas="image")
    assert app.l1.disabled and app.l2.disabled and app.schedule.disabled
    assert "L1, L2, lr schedule: learner_framework's SGD has none" in app.notes.value
    app.dataset.value = "gaussians"
    app.classes.value = 4
    app.loss.value = loss
    app.features["x1*x2"].value = True
    assert app.status.value == "" and app.run.sizes == (3, 25, 25, 25, 4)
    if loss == "MSE":                                              # one-hot targets of width k
        assert tuple(app.run.t.shape) == (len(app.run.x), 4) and app.run.t.sum(dim=1).eq(1).all()
    for _ in range(3):
        app.step()
    frame = app.frame()
    assert frame.boundary.shape == (60, 60, 4) and frame.confusion.shape == (4, 4)
    assert frame.confusion.sum() == len(app.run.points["test"][1])
    app.export_button.click()
    assert "classes=4" in app.code.value and "x_train = torch.stack" in app.code.value
    if loss == "MSE":
        assert "md.data.one_hot(y_train, 4)" in app.code.value
