"""export.py: the exported code replays features, k classes, L1/L2 and the schedule (the same History);
the data as CSV (x1,x2,label,split) reads back to the very same points."""

import base64
import re

import numpy as np
import pytest
import torch

import minidl as md
from minidl.playground import Playground
from minidl.playground.export import csv_link, data_csv


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


def all_points(app):
    r = app.run.data.raw
    return torch.cat([r["x_train"], r["x_test"]]), torch.cat([r["y_train"], r["y_test"]])


def test_the_csv_reads_back_bit_for_bit_with_load_csv(tmp_path):
    app = Playground(canvas="image", query="")
    app.edit(0.123456789, 0.987654321)                     # edited points are exported too
    text = app.data_csv()
    lines = text.splitlines()
    assert lines[0] == "x1,x2,label,split" and len(lines) == 1 + len(all_points(app)[1])
    assert lines[1].endswith(",train") and lines[-1].endswith(",test")
    assert sum(line.endswith(",train") for line in lines) == len(app.run.data.raw["y_train"])
    path = tmp_path / "data.csv"
    path.write_text(text)
    x, y = md.data.load_csv(path)
    want_x, want_y = all_points(app)
    assert x.dtype == want_x.dtype and torch.equal(x, want_x) and torch.equal(y, want_y)


def test_the_upload_control_reads_the_export_back_to_the_same_points():
    app = Playground(canvas="image", query="")
    app.dataset.value = "moons"
    x, y = all_points(app)
    other = Playground(canvas="image", query="")
    assert other.load_csv_bytes(app.data_csv().encode(), "export.csv")
    ox, oy = all_points(other)
    lo, hi = x.min(dim=0).values, x.max(dim=0).values       # the upload rescales to [0, 1]² (min-max)
    order, other_order = (torch.from_numpy(np.lexsort((p[:, 1].numpy(), p[:, 0].numpy()))) for p in (x, ox))
    assert torch.allclose(ox[other_order], ((x - lo) / (hi - lo))[order], atol=1e-6)
    assert torch.equal(oy[other_order], y[order])


def test_the_download_link_carries_the_csv():
    app = Playground(canvas="image", query="")
    link = csv_link(app.run)
    b64 = re.search(r"href='data:text/csv;base64,([^']+)'", link).group(1)
    assert base64.b64decode(b64).decode() == data_csv(app.run) and "1000 points" in link
    app.export_button.click()
    assert "data:text/csv;base64," in app.download.value and "minidl_playground_data.csv" in app.download.value
