"""A new run is applied whole or refused whole (issue 12).

An upload, or a data or network control, that cannot be built into a run (data, network,
optimizer, its first picture) leaves the app exactly as it was: the same run object, its weights,
optimizer state and History, the picture, every control's value, training going on if it was,
and a one-line message saying why.
"""

import asyncio
import re

import pytest
import torch
from playground_async import run

from minidl.playground import Playground
from minidl.playground import run as run_module


def csv_rows(n):
    return ("x1,x2,label\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 2}\n" for i in range(n))).encode()


def controls(app):
    return {name: getattr(app, name).value for name in ("dataset", "points", "noise", "ratio", "layers",
                                                        "activation", "dropout", "init", "loss", "standardize",
                                                        "optimizer", "lr", "momentum", "batch", "seed")} | {
        "widths": [w.value for w in app.widths], "options": tuple(app.dataset.options),
        "display": [w.layout.display for w in app.widths]}


def state(app):
    """Everything a failed change must leave as it was (the picture too)."""
    optim = app.optim.state_dict()
    return {"run": app.run, "model": app.model, "csv": app.csv, "controls": controls(app),
            "weights": [p.data.clone() for p in app.model.parameters()],
            "optim_state": {i: {k: v.clone() for k, v in s.items()} for i, s in optim["state"].items()},
            "groups": optim["param_groups"],
            "history": (list(app.history.epoch), list(app.history.train_loss), list(app.history.test_error)),
            "raw": {k: v.clone() for k, v in app.raw.items()}, "picture": app.image.value, "redraws": app.redraws}


def assert_same(before, after):
    for key in ("run", "model", "csv"):
        assert after[key] is before[key], f"{key}: replaced"
    for key in ("controls", "groups", "history", "picture", "redraws"):
        assert after[key] == before[key], f"{key}: expected {before[key]!r:.200}, got {after[key]!r:.200}"
    for a, b in zip(before["weights"], after["weights"], strict=True):
        assert torch.equal(a, b), "weights changed"
    assert before["optim_state"].keys() == after["optim_state"].keys()
    for i, s in before["optim_state"].items():
        for k, v in s.items():
            assert torch.equal(v, after["optim_state"][i][k]), f"optimizer state {i}.{k} changed"
    for k, v in before["raw"].items():
        assert torch.equal(v, after["raw"][k]), f"data {k} changed"


def one_red_line(app, *parts):
    text = re.sub(r"<[^>]+>", "", app.status.value)
    assert "\n" not in text and all(p in text for p in parts), text
    return text


@pytest.fixture
def app():
    a = Playground(canvas="image")
    a.momentum.value = 0.5
    for _ in range(2):
        a.step()
    a.redraw()
    return a


def test_a_3_row_upload_is_refused_whole(app):
    """The repro: it said "Loaded" while the reset failed; the picture showed the CSV, training went on
    with the old data."""
    before = state(app)
    assert not app.load_csv_bytes(csv_rows(3), "three.csv")
    assert_same(before, state(app))
    one_red_line(app, "Could not use three.csv", "at least 2 rows")
    assert "Loaded" not in app.status.value
    assert app.step() and app.epoch == 3                  # and it trains on as before


def test_a_refused_upload_while_training_keeps_training_the_old_run(app):
    async def scenario():
        app.play.click()
        epoch = app.epoch
        while app.epoch < epoch + 2:
            await asyncio.sleep(0.01)
        old = app.run
        assert not app.load_csv_bytes(csv_rows(3), "three.csv")
        assert app.running and app._task is not None and app.run is old
        epoch = app.epoch
        while app.epoch < epoch + 2:
            await asyncio.sleep(0.01)
        app.pause()
        while app._task is not None:
            await asyncio.sleep(0.01)
    run(scenario())


@pytest.mark.parametrize("rows, why", [(3001, "more than 3000 rows"), (200_000, "more than 3000 rows")])
def test_an_upload_over_the_points_cap_is_refused(app, rows, why):
    """The repro: a 200 000-row upload was accepted and blocked the kernel 2.3 s a slice."""
    assert app.points.max == 3000
    before = state(app)
    assert not app.load_csv_bytes(csv_rows(rows), "big.csv")
    assert_same(before, state(app))
    text = one_red_line(app, "Could not use big.csv", why, "points slider")
    assert "max_rows" not in text                          # the playground's words, not the reader's advice


def test_an_upload_at_the_cap_is_used_whole(app):
    assert app.load_csv_bytes(csv_rows(3000), "max.csv")
    assert app.dataset.value == "your CSV" and app.epoch == 0 and app.status.value.startswith("Loaded max.csv")
    assert len(app.raw["x_train"]) + len(app.raw["x_test"]) == 3000
    assert app.points.disabled and app.noise.disabled      # the upload's own points: those sliders do nothing
    app.dataset.value = "disk"
    assert not app.points.disabled and len(app.raw["x_train"]) + len(app.raw["x_test"]) == app.points.value


@pytest.mark.parametrize("content, why", [
    (b"x1,x2\n0.1,0.2\n", "label"),
    (b"x1,x2,label\n0,0,0\n1,1,5\n0,1,1\n1,0,2\n0,0,3\n1,1,4\n", "up to 5 classes (labels 0 to 4), got labels up to 5"),
    (b"x1,x2,label\n0,0,0\n1,1,1\n0,1,1\n1,0,zero\n", "zero"),
])
def test_bad_uploads_change_nothing(app, content, why):
    before = state(app)
    assert not app.load_csv_bytes(content, "bad.csv")
    assert_same(before, state(app))
    one_red_line(app, "Could not use bad.csv", why)


def test_an_upload_of_three_classes_gets_three_outputs(app):
    rows = b"x1,x2,label\n" + b"".join(b"%d,%d,%d\n" % (i % 7, i % 5, i % 3) for i in range(60))
    assert app.load_csv_bytes(rows, "three.csv")
    assert app.run.classes == 3 and app.model[-1].weight.shape[0] == 3 and app.frame().boundary.shape[2] == 3
    assert app.classes.disabled and "your CSV's labels decide" in app.notes.value


def test_a_control_that_cannot_be_applied_is_set_back(app):
    """4 points with test fraction 0.9 leave no training point: the slider goes back, nothing else moves."""
    assert app.load_csv_bytes(csv_rows(4), "four.csv")
    app.step()
    before = state(app)
    app.ratio.value = 0.9
    assert app.ratio.value == 0.5
    assert_same(before, state(app))
    one_red_line(app, "Could not apply test fraction = 0.9 (kept 0.5)", "0 train samples")


def test_any_failure_while_building_sets_the_control_back(app, monkeypatch):
    """The class, not the example: whatever raises while a new run is built, the old one stays."""
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory (simulated)")
    before = state(app)
    monkeypatch.setattr(run_module.Data, "make", broken)
    for name, value in (("layers", 5), ("activation", "Tanh"), ("points", 200), ("dataset", "xor"),
                        ("optimizer", "Adam"), ("standardize", False)):
        old = getattr(app, name).value
        getattr(app, name).value = value
        assert getattr(app, name).value == old
        one_red_line(app, f"= {value!r} (kept {old!r})", "out of memory (simulated)")
        assert_same(before, state(app))
    assert not app.load_csv_bytes(csv_rows(10), "ten.csv")
    assert_same(before, state(app))
