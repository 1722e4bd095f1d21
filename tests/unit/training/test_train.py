"""fit / evaluate / History / build_mlp: the loop, its records, divergence, and the course results."""

import json
import re
import statistics

import pytest
import torch
from twin import epoch_orders

import minidl.training.train
from minidl.framework.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from minidl.framework.layers import Dropout, Linear
from minidl.framework.losses import CrossEntropyLoss, MSELoss, NLLLoss
from minidl.framework.module import Module, Parameter, Sequential
from minidl.framework.optim import SGD, Adam, AdamW, CosineAnnealingLR, RMSprop, StepLR
from minidl.training.data import batch_order, disk, one_hot, standardize
from minidl.training.history import History
from minidl.training.train import StopTraining, accuracy, build_mlp, evaluate, fit, log_line, predict


def course_data(seed=0, n=1000, standardized=True, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x, y = disk(n, generator=g, dtype=dtype)
    tx, ty = disk(n, generator=g, dtype=dtype)
    if standardized:
        x, tx, _, _ = standardize(x, tx)
    return (x, y), (tx, ty)


def setup(seed=0, activation="relu", lr=0.1, momentum=0.9, n=200, dtype=torch.float32):
    train, test = course_data(seed, n, dtype=dtype)
    torch.manual_seed(seed)
    model = build_mlp(activation=activation, dtype=dtype)
    return model, SGD(model.parameters(), lr=lr, momentum=momentum), train, test


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- History --------------------------------------------------------------------------------------
def test_fit_records_one_entry_per_epoch_in_every_list():
    model, opt, train, test = setup(n=200)
    h = fit(model, CrossEntropyLoss(), opt, train, test, epochs=4, batch_size=50, generator=0)
    assert len(h) == 4 and h.epoch == [1, 2, 3, 4]
    for name in ("train_loss", "train_error", "test_loss", "test_error", "time", "lr"):
        assert len(getattr(h, name)) == 4, name
    assert all(0 <= e <= 1 for e in h.train_error + h.test_error)
    assert h.time == sorted(h.time) and h.time[0] > 0
    assert h.lr == [0.1] * 4 and h.diverged is None
    assert h.config["batch_size"] == 50 and h.config["n_train"] == 200 and h.config["n_test"] == 200
    assert h.config["optimizer"]["name"] == "SGD" and h.config["optimizer"]["momentum"] == 0.9
    json.dumps(h.to_dict())                                  # config is JSON-ready
    assert re.fullmatch(r"History\(4 epochs, last: loss \S+, train error \S+%, test error \S+%\)", repr(h))


def test_without_a_test_set_the_test_lists_stay_empty():
    model, opt, train, _ = setup()
    h = fit(model, CrossEntropyLoss(), opt, train, epochs=2)
    assert h.test_loss == [] and h.test_error == [] and not h.has_test and len(h) == 2
    assert "test error" not in h.summary()


def test_history_json_round_trip(tmp_path):
    model, opt, train, test = setup()
    h = fit(model, MSELoss(), opt, train, test, epochs=3, generator=1)
    h.diverged = "diverged at epoch 4 (batch 2): ..."
    path = h.save(tmp_path / "h.json")
    assert [p.name for p in tmp_path.iterdir()] == ["h.json"]      # the temporary file is gone
    back = History.load(path)
    assert back == h and back.to_dict() == h.to_dict() and back.notes == h.notes
    assert History.from_dict(json.loads(json.dumps(h.to_dict()))) == h
    d = h.to_dict()
    d["epoch"].append(99)
    assert len(h.epoch) == 3                                        # to_dict is a copy


def test_history_load_and_from_dict_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="History.load: no file"):
        History.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not a History JSON file"):
        History.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="unknown key 'loss'"):
        History.from_dict({"loss": []})
    with pytest.raises(ValueError, match=r"'train_loss' has 1 entries, expected 2"):
        History.from_dict({"epoch": [1, 2], "train_loss": [0.5], "train_error": [0, 0], "time": [1, 2],
                           "lr": [0.1, 0.1]})
    with pytest.raises(TypeError, match="expected a dict"):
        History.from_dict([1, 2])
    with pytest.raises(TypeError, match="'lr' must be a list"):
        History.from_dict({"lr": 0.1})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        History().save(tmp_path / "no" / "h.json")
    assert repr(History()) == "History(no epochs yet)"


def test_history_is_plotted_by_viz_not_by_itself():
    """A History is data (training floor); its picture is minidl.viz.plot_history (tools floor)."""
    assert not hasattr(History, "plot")


def test_fit_continues_a_history_numbering_epochs_on():
    model, opt, train, test = setup()
    h = fit(model, CrossEntropyLoss(), opt, train, test, epochs=2, generator=0)
    opt.lr = 0.05
    h2 = fit(model, CrossEntropyLoss(), opt, train, test, epochs=3, generator=1, history=h)
    assert h2 is h and h.epoch == [1, 2, 3, 4, 5] and h.lr == [0.1, 0.1, 0.05, 0.05, 0.05]
    assert h.time == sorted(h.time)


def test_same_seed_same_run_and_one_batch_order_per_epoch_from_one_generator(monkeypatch):
    runs = []
    for _ in range(2):
        model, opt, train, test = setup()
        runs.append(fit(model, CrossEntropyLoss(), opt, train, test, epochs=3, generator=7))
    assert runs[0].train_loss == runs[1].train_loss and runs[0].test_error == runs[1].test_error
    orders = []

    def recording(*args, **kwargs):
        orders.append(batch_order(*args, **kwargs))
        return orders[-1]

    monkeypatch.setattr(minidl.training.train, "batch_order", recording)
    model, opt, train, test = setup()
    fit(model, CrossEntropyLoss(), opt, train, epochs=3, batch_size=64, generator=7)
    replay = epoch_orders(len(train[0]), 64, 3, seed=7)                # what a torch twin is fed
    assert len(orders) == 3 and [len(o) for o in orders] == [4, 4, 4]
    assert all(torch.equal(torch.cat(o), torch.cat(r)) for o, r in zip(orders, replay, strict=True))
    assert not torch.equal(orders[0][0], orders[1][0])                 # a new order every epoch


# -- callbacks, log, progress --------------------------------------------------------------------------
def test_callbacks_are_called_after_every_epoch_with_epoch_history_model():
    model, opt, train, test = setup()
    seen = []
    h = fit(model, CrossEntropyLoss(), opt, train, test, epochs=3,
            callbacks=[lambda e, hist, m: seen.append((e, len(hist), m))])
    assert seen == [(1, 1, model), (2, 2, model), (3, 3, model)] and len(h) == 3


@pytest.mark.parametrize("how", ["return", "raise"])
def test_a_callback_stops_training_cleanly(how):
    def stopper(epoch, history, model):
        if epoch == 2:
            if how == "raise":
                raise StopTraining
            return "stop"
        return None

    model, opt, train, test = setup()
    calls = []
    h = fit(model, CrossEntropyLoss(), opt, train, test, epochs=10,
            callbacks=[stopper, lambda e, hist, m: calls.append(e)])
    assert h.epoch == [1, 2] and h.diverged is None
    assert calls == ([1, 2] if how == "return" else [1])       # raising skips the later callbacks


def test_log_lines_every_k_epochs_in_the_course_format():
    lines = []
    model, opt, train, test = setup()
    h = fit(model, CrossEntropyLoss(), opt, train, test, epochs=6, log=lines.append, log_every=3)
    assert len(lines) == 2
    pattern = r"epoch +(\d+)  loss (\d+\.\d{4})  train error +(\d+\.\d\d)%  test error +(\d+\.\d\d)%"
    for line, epoch in zip(lines, (3, 6), strict=True):
        m = re.fullmatch(pattern, line)
        assert m, line
        assert int(m[1]) == epoch and float(m[2]) == pytest.approx(h.train_loss[epoch - 1], abs=5e-5)
        assert float(m[4]) == pytest.approx(100 * h.test_error[epoch - 1], abs=5e-3)
    assert log_line(10, 0.0412, 0.031, 0.039) == \
        "epoch   10  loss 0.0412  train error  3.10%  test error  3.90%"
    assert log_line(1, 0.5, 0.25) == "epoch    1  loss 0.5000  train error 25.00%"


def test_progress_bar_when_forced_on_and_off(capsys):
    model, opt, train, test = setup()
    fit(model, CrossEntropyLoss(), opt, train, test, epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "fit" in err and "3/3" in err and "100%" in err and "epoch" in err
    assert re.search(r"loss=\d\.\d{4}", err) and "test=" in err
    fit(model, CrossEntropyLoss(), opt, train, test, epochs=3, progress=False)
    fit(model, CrossEntropyLoss(), opt, train, test, epochs=3)        # auto: not a terminal here
    assert capsys.readouterr().err == ""


# -- targets -----------------------------------------------------------------------------------------
def test_mse_with_integer_labels_converts_to_one_hot_with_one_note():
    model, opt, train, test = setup(momentum=0.0)
    lines = []
    h = fit(model, MSELoss(), opt, train, test, epochs=2, log=lines.append, log_every=100, generator=3)
    note = f"fit: MSELoss with integer labels -> converted to one-hot targets ({len(train[0])}, 2)"
    assert h.notes == [note] and lines == [note]
    fit(model, MSELoss(), opt, train, test, epochs=1, history=h, log=lines.append, log_every=100)
    assert h.notes == [note] and lines == [note]                      # recorded once
    # the same run with explicit one-hot targets
    model2, opt2, _, _ = setup(momentum=0.0)
    h2 = fit(model2, MSELoss(), opt2, (train[0], one_hot(train[1], 2)), (test[0], one_hot(test[1], 2)),
             epochs=2, generator=3)
    assert h2.notes == [] and h2.train_loss == h.train_loss[:2] and h2.test_error == h.test_error[:2]


def test_cross_entropy_with_one_hot_targets_converts_to_indices_with_a_note():
    model, opt, train, test = setup()
    h = fit(model, CrossEntropyLoss(), opt, (train[0], one_hot(train[1], 2)), test, epochs=2, generator=3)
    assert h.notes == [f"fit: CrossEntropyLoss with one-hot targets -> converted to class indices "
                       f"by argmax ({len(train[0])},)"]
    model2, opt2, _, _ = setup()
    h2 = fit(model2, CrossEntropyLoss(), opt2, train, test, epochs=2, generator=3)
    assert h2.notes == [] and h2.train_loss == h.train_loss


def test_plus_minus_one_targets_with_mse_need_no_conversion():
    model, opt, train, test = setup()
    pm = (train[0], one_hot(train[1], 2, on=1.0, off=-1.0))
    h = fit(model, MSELoss(), opt, pm, test, epochs=2)
    assert h.notes == [f"fit (test set): MSELoss with integer labels -> converted to one-hot targets "
                       f"({len(test[0])}, 2)"]
    h = fit(model, MSELoss(), opt, pm, (test[0], one_hot(test[1], 2, off=-1.0)), epochs=1)
    assert h.notes == []
    loss, err = evaluate(model, MSELoss(), *pm)
    assert err == pytest.approx(1 - accuracy(model, *train)) and loss > 0


def test_bad_targets_are_reported():
    model, opt, train, _ = setup()
    x, y = train
    with pytest.raises(ValueError, match=r"fit: labels must be in \[0, 2\) for a model with 2 outputs"):
        fit(model, MSELoss(), opt, (x, y + 1), epochs=1)
    with pytest.raises(ValueError, match="fit: targets must be integer labels"):
        fit(model, CrossEntropyLoss(), opt, (x, y.float()), epochs=1)
    with pytest.raises(ValueError, match="x and y must have the same length"):
        fit(model, CrossEntropyLoss(), opt, (x, y[:-1]), epochs=1)


# -- divergence --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fast", [True, False], ids=["compiled", "readable"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_divergence_restores_the_start_of_the_epoch_and_training_can_go_on(activation, fast):
    model, opt, train, test = setup(activation=activation, n=1000)
    criterion = MSELoss()
    h = fit(model, criterion, opt, train, test, epochs=2, generator=0, fast=fast)
    before_model = model.state_dict()
    before_opt = [t.clone() for t in _tensors(opt.state_dict())]
    assert len(before_opt) >= len(model.parameters())                 # the momentum buffers
    opt.lr = 1e6
    lines = []
    h = fit(model, criterion, opt, train, test, epochs=5, history=h, log=lines.append, generator=1, fast=fast)
    assert h.diverged and lines[-1] == h.diverged
    assert re.match(r"diverged at epoch 3 \(batch \d+\): loss became (nan|inf); last finite loss", h.diverged)
    assert "learning rate too high" in h.diverged.lower() and "lr=1e+06" in h.diverged
    assert len(h) == 2                                                # the diverging epoch is not recorded
    assert h.config["step"] == ("compiled" if fast else "readable")
    assert all(torch.isfinite(p.data).all() for p in model.parameters())
    assert states_equal(model.state_dict(), before_model)
    assert all(torch.equal(a, b) for a, b in zip(before_opt, _tensors(opt.state_dict()), strict=True))
    assert opt.lr == 1e6                                              # as it was when the epoch started
    # lower the learning rate and go on: the same History, numbering continued
    opt.lr = 0.05
    h = fit(model, criterion, opt, train, test, epochs=2, history=h, fast=fast)
    assert h.diverged is None and h.epoch == [1, 2, 3, 4]
    assert any(n.startswith("before epoch 3: diverged at epoch 3") for n in h.notes)
    assert all(torch.isfinite(torch.tensor(h.train_loss)))


def _tensors(tree):
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for k in sorted(tree, key=str) for t in _tensors(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [t for v in tree for t in _tensors(v)]
    return []


class _Poisoner:
    """An SGD that writes inf into a weight after its last step of epoch 2: losses stay finite."""

    def __init__(self, model, steps_per_epoch):
        self.inner, self.model = SGD(model.parameters(), lr=0.01), model
        self.steps, self.per_epoch = 0, steps_per_epoch
        self.param_groups = self.inner.param_groups

    lr = property(lambda self: self.inner.lr)

    def step(self):
        self.inner.step()
        self.steps += 1
        if self.steps == 2 * self.per_epoch:
            self.model[0].weight.data[0, 0] = float("inf")

    def state_dict(self):
        return self.inner.state_dict()

    def load_state_dict(self, state):
        self.inner.load_state_dict(state)


def test_non_finite_parameters_with_finite_losses_are_caught_at_the_end_of_the_epoch():
    model, _, train, test = setup()
    opt = _Poisoner(model, steps_per_epoch=2)                         # 200 points, batches of 100
    seen = []
    h = fit(model, CrossEntropyLoss(), opt, train, test, epochs=4,
            callbacks=lambda e, hh, m: seen.append(m.state_dict()))
    assert h.epoch == [1] and seen and states_equal(model.state_dict(), seen[0])
    assert h.diverged.startswith("diverged at epoch 2 (last batch): the parameters became non-finite")


def test_check_finite_false_lets_a_divergence_run_on():
    model, opt, train, test = setup(n=1000)
    opt.lr = 1e6
    h = fit(model, MSELoss(), opt, train, test, epochs=3, check_finite=False)
    assert h.diverged is None and len(h) == 3 and not all(torch.isfinite(torch.tensor(h.train_loss)))


# -- the compiled step and the readable one --------------------------------------------------------------
def same_to_1e12(model, ref):
    """Every parameter of model within 1e-12 of ref's, relative to the largest entry (and it is not all zero)."""
    return all(float((p.data - q.data).abs().max()) <= 1e-12 * float(q.data.abs().max()) > 0
               for p, q in zip(model.parameters(), ref.parameters(), strict=True))


@pytest.mark.parametrize("loss, optimizer", [("mse", "sgd"), ("ce", "sgd"), ("mse", "adam"), ("ce", "adam")])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_fit_compiled_and_readable_give_the_same_run_in_float64(activation, loss, optimizer):
    """Identical error counts; losses and parameters equal to 1e-12 relative (the compiled step fuses
    log-softmax, sums by dot and matrix-vector products and fuses momentum's multiply-add: issue 11 allows
    it that rounding; minidl/training/fast.py)."""
    runs = []
    for fast in (True, False):
        model, _, train, test = setup(activation=activation, n=300, dtype=torch.float64)
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9) if optimizer == "sgd" else Adam(model.parameters(), lr=0.01)
        criterion = MSELoss() if loss == "mse" else CrossEntropyLoss()
        h = fit(model, criterion, opt, train, test, epochs=6, batch_size=64, generator=3, fast=fast)
        runs.append((h, model))
    (h, model), (r, ref) = runs
    assert (h.config["step"], r.config["step"]) == ("compiled", "readable")
    assert h.train_error == r.train_error and h.test_error == r.test_error
    for a, b in zip(h.train_loss + h.test_loss, r.train_loss + r.test_loss, strict=True):
        assert abs(a - b) <= 1e-12 * abs(b), (a, b)
    assert same_to_1e12(model, ref)
    assert h.train_loss[-1] < 0.8 * h.train_loss[0]                   # it did train


def test_fit_compiles_what_fast_supports_and_runs_the_rest_readable():
    train, test = course_data(0, 200)

    class Square(Module):                                            # a learner's own module
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, grad_output):
            return 2 * self.x * grad_output

    torch.manual_seed(0)
    models = {"compiled": build_mlp(), "readable (dropout)": build_mlp(dropout=0.2),
              "readable (own module)": Sequential(Linear(2, 8), Square(), Linear(8, 2))}
    for expected, model in models.items():
        h = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.05), train, test, epochs=2)
        assert h.config["step"] == expected.split()[0], expected
    model = build_mlp()
    h = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.05), train, epochs=1, fast=False)
    assert h.config["step"] == "readable"
    with pytest.raises(TypeError, match="fit: fast must be True or False, got 'yes'"):
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.05), train, epochs=1, fast="yes")


def test_fit_called_epoch_by_epoch_compiles_once_and_equals_one_call(monkeypatch):
    from minidl.training import fast as fast_module
    compiled = []
    real = fast_module.compile
    monkeypatch.setattr(fast_module, "compile", lambda *a: compiled.append(1) or real(*a))
    runs = []
    for per_call in (4, 1):
        model, opt, train, test = setup(dtype=torch.float64)
        g, h = torch.Generator().manual_seed(5), None
        for _ in range(4 // per_call):
            h = fit(model, MSELoss(), opt, train, test, epochs=per_call, generator=g, history=h)
        runs.append((h, model))
    assert len(compiled) == 2                                         # once per optimizer, not per call
    (a, ma), (b, mb) = runs
    assert a.train_loss == b.train_loss and a.test_error == b.test_error and a.epoch == b.epoch == [1, 2, 3, 4]
    assert all(torch.equal(p.data, q.data) for p, q in zip(ma.parameters(), mb.parameters(), strict=True))


# -- learning-rate schedules -------------------------------------------------------------------------------
SCHEDULED = {
    "sgd step": (lambda p: SGD(p, lr=0.1, momentum=0.9), lambda o: StepLR(o, 2, gamma=0.5)),
    "adam cosine": (lambda p: Adam(p, lr=0.01), lambda o: CosineAnnealingLR(o, 4, eta_min=1e-3)),
    "adamw cosine to 0": (lambda p: AdamW(p, lr=0.01, weight_decay=0.1), lambda o: CosineAnnealingLR(o, 3)),
    "rmsprop step": (lambda p: RMSprop(p, lr=3e-3, momentum=0.5), lambda o: StepLR(o, 3)),
}


@pytest.mark.parametrize("name", list(SCHEDULED))
def test_fit_with_a_schedule_compiled_and_readable_give_the_same_run_in_float64(name):
    """The compiled step reads the lr at every step, so the schedule reaches it too: the same run (to 1e-12
    relative: the compiled cross-entropy rounds its own way)."""
    make_opt, make_sched = SCHEDULED[name]
    runs = []
    for fast in (True, False):
        model, _, train, test = setup(n=300, dtype=torch.float64)
        opt = make_opt(model.parameters())
        sched = make_sched(opt)
        h = fit(model, CrossEntropyLoss(), opt, train, test, epochs=7, batch_size=64, generator=3, fast=fast,
                scheduler=sched)
        runs.append((h, model, sched))
    (h, model, sched), (r, ref, _) = runs
    assert (h.config["step"], r.config["step"]) == ("compiled", "readable")
    assert h.lr == r.lr and h.train_error == r.train_error and h.test_error == r.test_error
    for a, b in zip(h.train_loss + h.test_loss, r.train_loss + r.test_loss, strict=True):
        assert abs(a - b) <= 1e-12 * abs(b), (a, b)
    assert same_to_1e12(model, ref)
    # epoch e trains with the lr the schedule set after epoch e - 1; the optimizer is left with the next one
    alone = make_sched(make_opt([Parameter(torch.zeros(1))]))
    expected = [alone.get_last_lr()[0]] + [(alone.step(), alone.get_last_lr()[0])[1] for _ in range(7)]
    assert h.lr == expected[:7] and len(set(h.lr)) > 1
    assert sched.last_epoch == 7 and sched.get_last_lr() == [expected[7]] == [opt.lr]
    assert h.config["scheduler"]["name"] == type(sched).__name__


TWINS = {   # minidl optimizer and schedule, the same in torch
    "momentum step": (lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                      lambda o: StepLR(o, 3, gamma=0.3), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, gamma=0.3)),
    "rmsprop cosine": (lambda p: RMSprop(p, lr=3e-3, momentum=0.5, weight_decay=1e-3),
                       lambda p: torch.optim.RMSprop(p, lr=3e-3, momentum=0.5, weight_decay=1e-3),
                       lambda o: CosineAnnealingLR(o, 4, eta_min=1e-4),
                       lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 4, eta_min=1e-4)),
    "adamw cosine": (lambda p: AdamW(p, lr=0.01, weight_decay=0.1),
                     lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
                     lambda o: CosineAnnealingLR(o, 5), lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 5)),
}


@pytest.mark.parametrize("name", list(TWINS))
def test_fit_with_a_schedule_is_in_step_with_its_torch_twin(name):
    """md.fit with md.optim's schedule against fit's own loop (train.run) driving a torch.nn twin, torch.optim
    and torch.optim.lr_scheduler: the same lrs bit for bit, the same error counts, losses and weights to 1e-9."""
    from minidl.lab.reference import TorchStep, to_torch, torch_criterion, torch_optimizer
    from minidl.training.train import run
    make_opt, make_topt, make_sched, make_tsched = TWINS[name]
    model, _, train, test = setup(n=300, dtype=torch.float64)
    twin = to_torch(model)
    opt, topt = make_opt(model.parameters()), make_topt(list(twin.parameters()))
    made = torch_optimizer(opt, twin)                    # the lab's twin: the same class, the same hyperparameters
    assert type(made) is type(topt) and made.param_groups[0].keys() >= set(opt.param_groups[0]) and all(
        made.param_groups[0][k] == v for k, v in opt.param_groups[0].items() if k != "params")
    sched, tsched = make_sched(opt), make_tsched(topt)
    h = fit(model, CrossEntropyLoss(), opt, train, test, epochs=9, batch_size=64, generator=3, scheduler=sched)
    (x, y), (tx, ty) = train, test
    r = run(TorchStep(twin, torch_criterion(CrossEntropyLoss()), topt), (x, y, y), (tx, ty, ty), epochs=9,
            batch_size=64, shuffle=True, generator=3, callbacks=(), progress=False, log=None, log_every=1,
            history=History(), check_finite=True, model=twin, where="twin", scheduler=tsched)
    assert h.lr == r.lr and len(set(h.lr)) > 2 and sched.get_last_lr() == tsched.get_last_lr()
    assert h.train_error == r.train_error and h.test_error == r.test_error
    for a, b in zip(h.train_loss + h.test_loss, r.train_loss + r.test_loss, strict=True):
        assert abs(a - b) <= 1e-9, (a, b)
    weights = [p.data for p in model.parameters()]
    assert max(float((w - t.detach()).abs().max()) for w, t in zip(weights, twin.parameters(), strict=True)) <= 1e-9
    assert h.train_loss[-1] < 0.8 * h.train_loss[0]                   # it did train


def test_fit_with_a_schedule_equals_stepping_it_by_hand_after_each_epoch():
    """fit(epochs=6, scheduler=s) is fit(epochs=1) then s.step(), six times; and differs from no schedule."""
    runs = []
    for how in ("fit", "by hand", "none"):
        model, opt, train, test = setup(dtype=torch.float64)
        sched, g = StepLR(opt, 2, gamma=0.3), torch.Generator().manual_seed(7)
        if how == "fit":
            h = fit(model, MSELoss(), opt, train, test, epochs=6, generator=g, scheduler=sched)
        else:
            h = None
            for _ in range(6):
                h = fit(model, MSELoss(), opt, train, test, epochs=1, generator=g, history=h)
                if how == "by hand":
                    sched.step()
        runs.append((h, model))
    (a, ma), (b, mb), (c, mc) = runs
    assert a.lr == b.lr == [0.1, 0.1, 0.1 * 0.3, 0.1 * 0.3, 0.1 * 0.3 * 0.3, 0.1 * 0.3 * 0.3] and c.lr == [0.1] * 6
    assert a.train_loss == b.train_loss and a.test_error == b.test_error
    assert all(torch.equal(p.data, q.data) for p, q in zip(ma.parameters(), mb.parameters(), strict=True))
    assert not all(torch.equal(p.data, q.data) for p, q in zip(ma.parameters(), mc.parameters(), strict=True))


@pytest.mark.parametrize("fast", [True, False], ids=["compiled", "readable"])
def test_a_diverged_epoch_does_not_step_the_schedule_and_training_goes_on(fast):
    model, opt, train, test = setup(n=1000)
    sched = StepLR(opt, 1, gamma=1e3)                  # 0.1, then 100: epoch 2 diverges
    h = fit(model, MSELoss(), opt, train, test, epochs=4, generator=0, fast=fast, scheduler=sched)
    assert h.diverged and h.diverged.startswith("diverged at epoch 2") and h.epoch == [1]
    assert sched.last_epoch == 1 and opt.lr == sched.get_last_lr()[0] == pytest.approx(100.0)
    assert all(torch.isfinite(p.data).all() for p in model.parameters())
    opt.lr = 1e-4                                    # lower the lr by hand: the schedule goes on from it
    sched.gamma = 1e-3
    h = fit(model, MSELoss(), opt, train, test, epochs=2, generator=0, fast=fast, scheduler=sched, history=h)
    assert h.diverged is None and h.epoch == [1, 2, 3] and h.lr == [0.1, 1e-4, 1e-4 * 1e-3]


def test_fit_refuses_a_schedule_of_another_optimizer_or_torchs_before_anything_changes():
    model, opt, train, test = setup()
    other = StepLR(SGD(model.parameters(), lr=0.5), 1)
    tsched = torch.optim.lr_scheduler.StepLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), 1)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"fit: scheduler drives another optimizer than the one given to fit "
                                         r"\(make it with this one: StepLR\(optimizer, ...\)\)$"):
        fit(model, MSELoss(), opt, train, test, epochs=2, scheduler=other)
    with pytest.raises(TypeError, match=r"fit: scheduler must be None or a minidl schedule \(md.optim.StepLR, "
                                        r"md.optim.CosineAnnealingLR\), got StepLR$"):
        fit(model, MSELoss(), opt, train, test, epochs=2, scheduler=tsched)
    assert states_equal(model.state_dict(), before) and other.last_epoch == 0 and opt.lr == 0.1


# -- evaluate, predict, accuracy -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["train", "eval", "mixed"])
def test_evaluate_predict_accuracy_run_in_eval_mode_and_restore_the_modes(mode):
    torch.manual_seed(0)
    model = build_mlp(dropout=0.5)
    model.train(mode != "eval")
    if mode == "mixed":
        model[2].training = False
    modes = [m.training for m in model.modules()]
    (x, y), _ = course_data(0, 100)
    loss, err = evaluate(model, CrossEntropyLoss(), x, y)
    loss2, err2 = evaluate(model, CrossEntropyLoss(), x, y)
    assert (loss, err) == (loss2, err2)                              # no dropout: deterministic
    assert [m.training for m in model.modules()] == modes
    model.eval()
    out = model(x)
    model.train(mode != "eval")
    if mode == "mixed":
        model[2].training = False
    assert loss == pytest.approx(float(CrossEntropyLoss()(out, y)))
    assert err == int((out.argmax(1) != y).sum()) / len(y)
    assert torch.equal(predict(model, x), out.argmax(1)) and predict(model, x).dtype == torch.int64
    assert accuracy(model, x, y) == pytest.approx(1 - err) == accuracy(model, x, one_hot(y, 2))
    assert [m.training for m in model.modules()] == modes
    mse_loss, mse_err = evaluate(model, MSELoss(), x, y)             # labels -> one-hot, silently
    assert mse_err == err and mse_loss == pytest.approx(float(MSELoss()(out, one_hot(y, 2))))


def test_fit_trains_in_train_mode_with_dropout_and_measures_in_eval_mode():
    model = build_mlp(dropout=0.2)
    model.eval()
    modes = []
    train, test = course_data(0, 200)
    h = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train, test, epochs=2,
            callbacks=lambda e, hh, m: modes.append([mm.training for mm in m.modules()]))
    assert modes == [[True] * len(list(model.modules()))] * 2
    assert h.train_error[-1] == evaluate(model, CrossEntropyLoss(), *train)[1]


def test_fit_works_with_autograd_switched_off(no_grad):
    model, opt, train, test = setup()
    h = fit(model, MSELoss(), opt, train, test, epochs=2)
    assert len(h) == 2 and not torch.is_grad_enabled()


def test_fit_argument_errors():
    model, opt, train, test = setup()
    ce = CrossEntropyLoss()
    cases = [
        (dict(model=torch.zeros(2)), TypeError, "fit: model must be a minidl Module, got Tensor"),
        (dict(criterion="mse"), TypeError, "fit: criterion must be a minidl loss"),
        (dict(optimizer=None), TypeError, "fit: optimizer must have a step"),
        (dict(epochs=0), ValueError, "fit: epochs must be a positive int, got 0"),
        (dict(batch_size=1.5), ValueError, "fit: batch_size must be a positive int, got 1.5"),
        (dict(log_every=0), ValueError, "fit: log_every must be a positive int"),
        (dict(log="yes"), TypeError, "fit: log must be None or a callable"),
        (dict(history={}), TypeError, "fit: history must be a minidl History"),
        (dict(callbacks=[1]), TypeError, "fit: every callback must be callable, got int"),
        (dict(generator="seed"), TypeError, "fit: generator must be a torch.Generator"),
        (dict(train=train[0]), TypeError, r"fit train: expected an \(x, y\) pair"),
        (dict(test=(test[0][:, :1], test[1])), ValueError, r"Linear\(2, 25\) input"),
        (dict(train=(train[0][0], train[1])), ValueError, r"fit train: x must have shape \(N, D\)"),
    ]
    for change, error, message in cases:
        kwargs = {**dict(model=model, criterion=ce, optimizer=opt, train=train, test=test, epochs=1), **change}
        with pytest.raises(error, match=message):
            fit(**kwargs)


# -- build_mlp -----------------------------------------------------------------------------------------
def test_build_mlp_default_is_the_course_network():
    model = build_mlp()
    kinds = [type(m) for m in model]
    assert kinds == [Linear, ReLU, Linear, ReLU, Linear, ReLU, Linear]
    assert [(m.in_features, m.out_features) for m in model if isinstance(m, Linear)] == \
        [(2, 25), (25, 25), (25, 25), (25, 2)]
    assert sum(p.data.numel() for p in model.parameters()) == 75 + 650 + 650 + 52


@pytest.mark.parametrize("name, cls", [("relu", ReLU), ("tanh", Tanh), ("sigmoid", Sigmoid),
                                       ("leaky_relu", LeakyReLU)])
def test_build_mlp_activations_dropout_final_and_dtype(name, cls):
    model = build_mlp((2, 8, 3), activation=name, dropout=0.25, final_activation="softmax",
                      dtype=torch.float64)
    assert [type(m) for m in model] == [Linear, cls, Dropout, Linear, Softmax]
    assert model[2].p == 0.25 and model[0].weight.data.dtype == torch.float64
    assert [type(m) for m in build_mlp((3, 1), activation=cls)] == [Linear]
    model = build_mlp((2, 4, 4, 2), activation=lambda: LeakyReLU(0.2))
    assert model[1] is not model[3] and model[3].negative_slope == 0.2


def test_build_mlp_errors():
    with pytest.raises(ValueError, match="build_mlp: unknown activation 'gelu'; valid names: relu, leaky_relu, "
                                         "tanh, sigmoid"):
        build_mlp(activation="gelu")
    with pytest.raises(ValueError, match="build_mlp: unknown final_activation 'soft'.*log_softmax"):
        build_mlp(final_activation="soft")
    with pytest.raises(TypeError, match=r"not an instance \(ReLU\(\)\)"):
        build_mlp(activation=ReLU())
    with pytest.raises(TypeError, match="activation must be a name"):
        build_mlp(activation=3)
    with pytest.raises(TypeError, match="factory must return a minidl Module, got int"):
        build_mlp(activation=lambda: 3)
    for sizes in [(2,), (2, 0, 2), (2, 2.5), "22", 5]:
        with pytest.raises(ValueError, match="build_mlp: sizes must be at least 2 positive ints"):
            build_mlp(sizes)
    for p in (-0.1, 1.0, True):
        with pytest.raises(ValueError, match="build_mlp: dropout must be in"):
            build_mlp(dropout=p)


# -- the results the course asks for --------------------------------------------------------------------
def mean_test_error(activation, lr, momentum, epochs, seeds, criterion=MSELoss, standardized=True):
    errors = []
    for seed in seeds:
        train, test = course_data(seed, standardized=standardized)
        torch.manual_seed(seed)
        model = build_mlp(activation=activation)
        h = fit(model, criterion(), SGD(model.parameters(), lr=lr, momentum=momentum),
                train, test, epochs=epochs, batch_size=100, generator=seed)
        assert h.diverged is None and len(h) == epochs
        errors.append(h.test_error[-1])
    return statistics.mean(errors), errors


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_course_network_mse_sgd_momentum_reaches_5_percent_in_75_epochs(activation):
    mean, errors = mean_test_error(activation, lr=0.1, momentum=0.9, epochs=75, seeds=range(3))
    assert mean <= 0.05, errors


def test_course_network_cross_entropy_reaches_5_percent_in_75_epochs():
    mean, errors = mean_test_error("relu", lr=0.1, momentum=0.9, epochs=75, seeds=range(3),
                                   criterion=CrossEntropyLoss)
    assert mean <= 0.05, errors


def test_plain_sgd_standardized_reaches_5_percent_in_250_epochs():
    mean, errors = mean_test_error("relu", lr=0.1, momentum=0.0, epochs=250, seeds=range(3))
    assert mean <= 0.05, errors


def test_an_untrained_network_is_at_chance_level_so_the_targets_mean_something():
    mean, errors = mean_test_error("relu", lr=1e-6, momentum=0.0, epochs=1, seeds=range(3))
    assert mean >= 0.3, errors


def test_nll_loss_with_log_softmax_and_adam_train_too():
    train, test = course_data(0, 300)
    torch.manual_seed(0)
    model = build_mlp(final_activation="log_softmax")
    h = fit(model, NLLLoss(), Adam(model.parameters(), lr=1e-2), train, test, epochs=30, batch_size=50)
    assert h.test_error[-1] < 0.15 and isinstance(model, Sequential)


# -- the data is checked whole before the first step ----------------------------------------------------
def _poke(t, row, value):
    t = t.clone()
    t[row] = value
    return t


BAD_DATA = {   # name -> (criterion, change((x, y), (tx, ty)) -> (train, test), message)
    "CE label out of range in the last batch": (
        CrossEntropyLoss, lambda tr, te: ((tr[0], _poke(tr[1], 199, 2)), te),
        r"^fit: labels must be in \[0, 2\) for a model with 2 outputs, got 2 at row 199$"),
    "NLL negative label": (
        lambda: NLLLoss(), lambda tr, te: ((tr[0], _poke(tr[1], 57, -1)), te),
        r"^fit: labels must be in \[0, 2\) for a model with 2 outputs, got -1 at row 57$"),
    "CE test label out of range": (
        CrossEntropyLoss, lambda tr, te: (tr, (te[0], _poke(te[1], 3, 7))),
        r"^fit \(test set\): labels must be in \[0, 2\) for a model with 2 outputs, got 7 at row 3$"),
    "MSE label out of range": (
        MSELoss, lambda tr, te: ((tr[0], _poke(tr[1], 120, 5)), te),
        r"^fit: labels must be in \[0, 2\) for a model with 2 outputs, got 5 at row 120$"),
    "one NaN in the training x": (
        MSELoss, lambda tr, te: ((_poke(tr[0], 150, float("nan")), tr[1]), te),
        r"^fit train: x row 150 is not finite: \[nan, nan\]; fix or drop that row$"),
    "an inf in the test x": (
        MSELoss, lambda tr, te: (tr, (_poke(te[0], 9, float("inf")), te[1])),
        r"^fit test: x row 9 is not finite: \[inf, inf\]; fix or drop that row$"),
    "a NaN in one-hot MSE targets": (
        MSELoss, lambda tr, te: ((tr[0], _poke(one_hot(tr[1], 2), 33, float("nan"))), te),
        r"^fit train: y row 33 is not finite: \[nan, nan\]"),
    "a float64 target that overflows float32": (
        MSELoss, lambda tr, te: ((tr[0], _poke(one_hot(tr[1], 2, dtype=torch.float64), 4, 1e39)), te),
        r"^fit train: targets \(converted\) row 4 is not finite: \[inf, inf\]"),
    "one-hot targets with 3 columns for 2 outputs": (
        MSELoss, lambda tr, te: (tr, (te[0], one_hot(te[1], 3))),
        r"^fit \(test set\): targets must have one column per model output, \(N, 2\), got \(200, 3\)$"),
}


@pytest.mark.parametrize("fast", [True, False], ids=["compiled", "readable"])
@pytest.mark.parametrize("name", list(BAD_DATA))
def test_bad_data_anywhere_is_refused_before_the_first_step_naming_the_data_row(name, fast):
    make_criterion, change, message = BAD_DATA[name]
    model, opt, train, test = setup(n=200)
    train, test = change(train, test)
    before_model, before_opt = model.state_dict(), opt.state_dict()
    history = History()
    with pytest.raises(ValueError, match=message):
        fit(model, make_criterion(), opt, train, test, epochs=2, batch_size=50, history=history, fast=fast)
    assert states_equal(model.state_dict(), before_model)                  # no step was taken
    assert opt.state_dict()["state"] == before_opt["state"] == {} and len(history) == 0


def test_the_same_data_unbroken_does_train_so_the_refusals_above_are_not_vacuous():
    model, opt, train, test = setup(n=200)
    before = model.state_dict()
    fit(model, CrossEntropyLoss(), opt, train, test, epochs=1, batch_size=50)
    assert not states_equal(model.state_dict(), before)


@pytest.mark.parametrize("fast", [True, False], ids=["compiled", "readable"])
def test_a_divergence_on_non_finite_data_blames_the_data_not_the_learning_rate(fast):
    """run() (the loop the playground and the torch twin share) does not check the data up front;
    if a nan gets there, the divergence message names the data row instead of the learning rate."""
    from minidl.training.train import run, training_step
    model, opt, (x, y), _ = setup(n=200)
    x = _poke(x, 77, float("nan"))
    t = one_hot(y, 2)
    step = training_step(model, MSELoss(), opt, fast)
    h = run(step, (x, t, y), None, epochs=1, batch_size=50, shuffle=False, generator=0, callbacks=(),
            progress=False, log=None, log_every=1, history=History(), check_finite=True, model=model, where="run")
    assert h.diverged and "The data is not finite (train x row 77)" in h.diverged
    assert "learning rate" not in h.diverged.lower()
