"""What every control shows is what trains and what Export writes (issue 12).

One sweep sets every control to its edge values (min, max, and the values that switch behaviour:
momentum 0, each optimizer, Nesterov with momentum 0, each activation, init, loss and dataset, an
upload), one after another without a Reset, and after each change compares with the controls:
the live optimizer's hyperparameters, the network's layers, the loss, the data, the batch size
the next epoch uses, the step that runs, and the optimizer, network and loss of the exported code
(executed).
"""

import math

import pytest
import torch

import minidl as md
from minidl.playground import Playground
from minidl.playground.controls import ACTIVATIONS, INITS, NESTEROV_MIN
from minidl.playground.run import Data
from minidl.training.models import build

CSV = ("x1,x2,label\n" + "\n".join(f"{i % 7},{(i * 3) % 5},{int(i % 7 > 3)}" for i in range(60)) + "\n").encode()


def expected_layers(app):
    """The layers the controls ask for: (kind, details) in order."""
    sizes, out = app.sizes, []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        out.append(("Linear", a, b))
        if i < len(sizes) - 2:
            out.append((app.activation.value,))
            if app.dropout.value > 0:
                out.append(("Dropout", app.dropout.value))
    return out


def layers_of(model):
    out = []
    for m in model:
        name = type(m).__name__
        out.append((name, m.in_features, m.out_features) if name == "Linear" else
                   (name, m.p) if name == "Dropout" else (name,))
    return out


def expected_optimizer(app):
    kind = app.optimizer.value
    if kind == "Adam":
        return md.Adam, {"lr": app.lr.value}
    return md.SGD, {"lr": app.lr.value, "momentum": 0.0 if kind == "SGD" else app.momentum.value,
                    "nesterov": kind == "Nesterov"}


def check_optimizer(where, optim, app):
    cls, hyper = expected_optimizer(app)
    assert type(optim) is cls, f"{where}: expected {cls.__name__}, got {type(optim).__name__}"
    got = {k: optim.param_groups[0][k] for k in hyper}
    assert got == pytest.approx(hyper, rel=1e-12), f"{where}: expected {hyper}, got {got}"


def check(app, tmp_path):
    """Everything the controls say, against the live run and the exported code."""
    assert app.momentum.disabled == (app.optimizer.value in ("SGD", "Adam"))
    check_optimizer("live optimizer", app.optim, app)
    assert layers_of(app.model) == expected_layers(app)
    loss = md.MSELoss if app.loss.value == "MSE" else md.CrossEntropyLoss
    assert type(app.criterion) is loss
    fresh = Data.make(app.data_spec(), app.csv)
    for k, v in fresh.raw.items():
        assert torch.equal(app.raw[k], v), f"data {k}: not what the data controls make"
    if app.epoch == 0:                                   # just reset: the initial weights of the recipe
        model, _, _ = build(app.recipe())
        for p, q in zip(model.parameters(), app.model.parameters(), strict=True):
            assert torch.equal(p.data, q.data), "initial weights: not those of the controls' recipe"

    batches = app.run.slicer.batches                     # the next epoch: the batch size shown
    app.step()
    n = len(app.train_data[0])
    if not app.history.diverged:
        assert app.run.slicer.batches - batches == math.ceil(n / app.batch.value)
    compiled = app.step_kind.value == "compiled" and app.run.why_not_compiled is None
    assert app.history.config["step"] == ("compiled" if compiled else "readable")

    if app.dataset.value == "your CSV":
        (tmp_path / "your.csv").write_bytes(CSV)
    namespace = {}
    exec(compile(app.export_code(), "<export>", "exec"), namespace)
    check_optimizer("exported optimizer", namespace["optimizer"], app)
    assert layers_of(namespace["model"]) == expected_layers(app)
    assert type(namespace["criterion"]) is loss


SWEEP = [
    ("optimizer", "Momentum"), ("momentum", 0.0), ("momentum", 0.9),     # the repro: 0 -> 0.9
    ("momentum", 0.99), ("momentum", 0.0),
    ("optimizer", "Nesterov"), ("momentum", 0.99), ("momentum", 0.0),    # Nesterov with momentum 0
    ("optimizer", "SGD"), ("momentum", 0.5),                             # SGD: the slider is off
    ("optimizer", "Adam"), ("momentum", 0.3),
    ("optimizer", "Momentum"), ("optimizer", "Nesterov"), ("optimizer", "Momentum"),
    ("lr", 1e-4), ("lr", 10.0), ("lr", 0.1),
    ("batch", 1), ("batch", 1000), ("batch", 100),
    ("step_kind", "readable"), ("step_kind", "compiled"),
    ("layers", 0), ("layers", 6), ("widths", 1), ("widths", 64), ("layers", 1), ("layers", 3),
    *[("activation", a) for a in ACTIVATIONS], ("activation", "ReLU"),
    ("loss", "cross-entropy"), ("loss", "MSE"),
    ("dropout", 0.8), ("step_kind", "readable"), ("step_kind", "compiled"), ("dropout", 0.0),
    *[("init", i) for i in INITS], ("init", "torch default"),
    ("standardize", False), ("standardize", True),
    *[("dataset", d) for d in md.data.DATASETS], ("dataset", "disk"),
    ("points", 100), ("points", 3000), ("points", 1000),
    ("noise", 0.5), ("noise", 0.0),
    ("ratio", 0.1), ("ratio", 0.9), ("ratio", 0.5),
    ("seed", 10**6), ("seed", 0),
    ("upload", CSV), ("momentum", 0.0), ("optimizer", "Nesterov"), ("dataset", "disk"), ("dataset", "your CSV"),
]


def test_every_control_at_every_edge_is_what_trains_and_what_export_writes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                          # the exported code of an upload reads your.csv
    app = Playground(canvas="image")
    check(app, tmp_path)
    for name, value in SWEEP:
        if name == "upload":
            assert app.load_csv_bytes(value, "mine.csv"), app.status.value
        elif name == "widths":
            app.widths[app.layers.value - 1].value = value
        else:
            getattr(app, name).value = value
        assert "Error" not in app.status.value and "Could not" not in app.status.value, (name, value, app.status.value)
        if app.optimizer.value == "Nesterov":
            assert app.momentum.value >= NESTEROV_MIN     # the slider never shows a momentum SGD refuses
        check(app, tmp_path)


def test_momentum_from_zero_applies_live_and_export_writes_it(tmp_path):
    """The repro: momentum slider 0 -> 0.9 left the optimizer at 0 (and Export wrote 0)."""
    app = Playground(canvas="image")
    app.momentum.value = 0.0
    app.step()
    model = app.model
    app.momentum.value = 0.9
    assert app.model is model and app.optim.param_groups[0]["momentum"] == 0.9
    app.step()
    assert "momentum_buffer" in app.optim.state[app.model.parameters()[0]]     # the step used it
    assert "momentum=0.9" in app.export_code()


def test_nesterov_with_the_slider_at_zero_shows_and_uses_the_minimum():
    app = Playground(canvas="image")
    app.momentum.value = 0.0
    app.optimizer.value = "Nesterov"
    assert app.momentum.value == NESTEROV_MIN and app.momentum.min == NESTEROV_MIN
    assert app.optim.param_groups[0]["momentum"] == NESTEROV_MIN and app.optim.param_groups[0]["nesterov"]
    app.optimizer.value = "Momentum"
    assert app.momentum.min == 0.0
    app.momentum.value = 0.0
    assert app.optim.param_groups[0]["momentum"] == 0.0


def test_a_learners_sgd_gets_the_momentum_from_zero_live():
    from tests.unit.playground.test_learner import CLASSES
    app = Playground(framework=CLASSES, canvas="image")
    app.momentum.value = 0.0
    assert app.optim.momentum == 0.0
    app.momentum.value = 0.9
    assert app.optim.momentum == 0.9 and "momentum=0.9" in app.export_code()
    app.optimizer.value = "SGD"
    assert app.optim.momentum == 0.0 and app.momentum.disabled
    app.momentum.value = 0.5
    assert app.optim.momentum == 0.0


def test_the_browsers_float_noise_never_reaches_the_run_or_the_export():
    """A slider moved in the browser sends min + k·step in floating point (0.9000000000000001): the run and
    Export get the value on the slider's grid, as its readout shows it."""
    app = Playground(canvas="image")
    app.noise.value = 0.30000000000000004
    app.ratio.value = 0.30000000000000004
    app.dropout.value = 0.15000000000000002
    app.momentum.value = 0.9000000000000001
    app.lr.value = 10 ** (-2 + 1e-15)
    assert app.data_spec().noise == 0.3 and app.data_spec().test_fraction == 0.3
    assert app.recipe().dropout == 0.15 and app.recipe().momentum == 0.9 and app.recipe().lr == 0.01
    assert app.optim.param_groups[0]["momentum"] == 0.9 and app.optim.lr == 0.01     # set live, too
    code = app.export_code()
    assert "momentum=0.9," in code and "noise=0.3," in code and "lr=0.01," in code, code
    assert "00000" not in code, code


def test_as_shown_drops_the_float_noise_and_nothing_else():
    import ipywidgets as W

    from minidl.playground.controls import as_shown
    log = W.FloatLogSlider(0.1, base=10, min=-4, max=1, step=0.1)
    assert as_shown(log, 0.010000000000000002) == 0.01 and as_shown(log, 0.05) == 0.05      # off the grid: as set
    assert as_shown(log, 10 ** 0.3) == pytest.approx(10 ** 0.3, rel=1e-12)
    linear = W.FloatSlider(0.5, min=0.1, max=0.9, step=0.05)
    assert as_shown(linear, 0.35000000000000003) == 0.35 and as_shown(linear) == 0.5


def test_the_loss_toggle_says_it_is_the_loss():
    assert Playground(canvas="image").loss.description == "loss"
