"""export.py: the exported code replays features, k classes, L1/L2 and the schedule: the same History."""

import pytest
import torch

from minidl.playground import Playground


def replay(app):
    app.export_button.click()
    namespace = {}
    exec(compile(app.code.value, "<export>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("schedule,loss,optimizer", [("step", "cross-entropy", "Momentum"), ("cosine", "MSE", "Adam"),
                                                     ("constant", "MSE", "SGD")])
def test_the_exported_code_reproduces_a_run_with_every_model_control(schedule, loss, optimizer):
    app = Playground(canvas="image")
    app.dataset.value = "spiral"
    app.classes.value = 3
    app.points.value = 300
    for name in ("x1^2", "x1*x2", "sin(x2)"):
        app.features[name].value = True
    app.loss.value = loss
    app.optimizer.value = optimizer
    app.lr.value = 0.01 if optimizer == "Adam" else 0.1
    app.schedule.value = schedule
    app.step_size.value = 2
    app.gamma.value = 0.5
    app.t_max.value = 4
    app.l2.value = 1e-3
    app.l1.value = 1e-4
    assert app.status.value == ""
    for _ in range(6):
        app.step()
    h = app.history
    if schedule == "step":
        assert h.lr == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    elif schedule == "cosine":                                     # half a cosine to 0 at epoch 4, then back up
        assert h.lr[4] == pytest.approx(0.0, abs=1e-12) and h.lr[2] == pytest.approx(0.005)
    ns = replay(app)
    code = app.code.value
    assert "classes=3" in code and "x_train = torch.stack" in code
    assert "weight_decay=0.001" in code and "l1=0.0001" in code
    assert ("scheduler=scheduler" in code) == (schedule != "constant") and "# note" not in code
    replayed = ns["history"]
    for series in ("train_loss", "test_loss", "train_error", "test_error", "lr"):
        assert getattr(replayed, series) == pytest.approx(getattr(h, series), rel=1e-5), series
    for p, q in zip(ns["model"].parameters(), app.model.parameters(), strict=True):
        torch.testing.assert_close(p.data, q.data)


def test_live_changes_are_exported_as_the_last_values_with_a_note():
    app = Playground(canvas="image")
    app.schedule.value = "step"
    app.step()
    app.l2.value = 1e-4
    app.lr.value = 0.05
    app.step()
    code = replay(app) and app.code.value
    assert "# note: L2, lr changed while training; this replays the last values" in code
    assert "lr=0.05" in code and "weight_decay=0.0001" in code
