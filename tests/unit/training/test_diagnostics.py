"""Diagnostics: the numbers against torch.autograd and against snapshots; training not disturbed."""

import json
import math

import pytest
import torch

from minidl.framework.activations import ReLU, Sigmoid, Tanh
from minidl.framework.layers import Dropout, Linear
from minidl.framework.losses import CrossEntropyLoss, MSELoss
from minidl.framework.module import Module, Parameter, Sequential
from minidl.framework.normalization import BatchNorm1d
from minidl.framework.optim import SGD, Adam
from minidl.training.data import disk
from minidl.training.diagnostics import Diagnostics, layers_of, update_ratio
from minidl.training.train import build_mlp, fit


def data(n=200, seed=0, dtype=torch.float32):
    return disk(n, generator=seed, dtype=dtype)


def run(fast, with_diag, optimizer="sgd", activation="tanh", dropout=False, epochs=4):
    """Train the course network; return (model, optimizer, history, diag or None)."""
    x, y = data()
    torch.manual_seed(0)
    model = build_mlp(activation=activation)
    if dropout:
        model = Sequential(*[m for layer in model for m in ([layer, Dropout(0.2)] if isinstance(layer, Tanh)
                                                             else [layer])])
    opt = SGD(model.parameters(), lr=0.2, momentum=0.9) if optimizer == "sgd" else Adam(model.parameters(), lr=0.01)
    criterion = CrossEntropyLoss()
    diag = Diagnostics(model, criterion, x[:50], y[:50]) if with_diag else None
    torch.manual_seed(1)                      # Dropout's masks come from the global generator
    h = fit(model, criterion, opt, (x, y), epochs=epochs, batch_size=20, generator=0, fast=fast,
            callbacks=[diag] if diag else [])
    return model, opt, h, diag


def tensors_of(state):
    if isinstance(state, torch.Tensor):
        return [state]
    if isinstance(state, dict):
        return [t for v in state.values() for t in tensors_of(v)]
    if isinstance(state, (list, tuple)):
        return [t for v in state for t in tensors_of(v)]
    return []


# -- training is not disturbed ----------------------------------------------------------------------------
@pytest.mark.parametrize("fast", [True, False], ids=["compiled", "readable"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_with_diagnostics_gives_bit_identical_weights_gradients_and_optimizer_state(fast, optimizer):
    a, opt_a, h_a, diag = run(fast, True, optimizer)
    b, opt_b, h_b, _ = run(fast, False, optimizer)
    assert h_a.config["step"] == h_b.config["step"] == ("compiled" if fast else "readable")
    assert len(diag.epoch) == 5 and diag.grad_norm["Linear 1 weight"][-1] > 0      # it did measure
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p.data, q.data) and torch.equal(p.grad, q.grad)
    sa, sb = tensors_of(opt_a.state_dict()), tensors_of(opt_b.state_dict())
    assert len(sa) == len(sb) > 0 and all(torch.equal(s, t) for s, t in zip(sa, sb, strict=True))
    assert h_a.train_loss == h_b.train_loss and h_a.train_error == h_b.train_error


def test_a_dropout_model_trains_the_same_with_diagnostics_eval_mode_draws_no_random_numbers():
    a, _, h_a, diag = run(True, True, dropout=True)
    b, _, h_b, _ = run(True, False, dropout=True)
    assert h_a.config["step"] == "readable" and "Dropout 1" in diag.act_std
    assert all(torch.equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert a.training and all(m.training for m in a.modules())               # train mode restored


def test_batchnorm_running_statistics_are_not_moved_by_the_probe():
    """The probe runs in eval mode: BatchNorm normalises with its running statistics and leaves them alone."""
    def train(watch):
        x, y = data()
        torch.manual_seed(0)
        model = Sequential(Linear(2, 8), BatchNorm1d(8), ReLU(), Linear(8, 2))
        criterion = CrossEntropyLoss()
        diag = Diagnostics(model, criterion, x[:30], y[:30]) if watch else None
        fit(model, criterion, SGD(model.parameters(), lr=0.1, momentum=0.9), (x, y), epochs=3, batch_size=20,
            generator=0, callbacks=[diag] if diag else [])
        return model, diag

    (a, diag), (b, _) = train(True), train(False)
    sa, sb = a.state_dict(), b.state_dict()
    assert "1.running_mean" in sa and not torch.equal(sa["1.running_mean"], torch.zeros(8))     # it trained
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert list(diag.grad_norm) == ["Linear 1 weight", "Linear 1 bias", "BatchNorm1d 1 weight", "BatchNorm1d 1 bias",
                                    "Linear 2 weight", "Linear 2 bias"]
    assert diag.grad_norm["BatchNorm1d 1 weight"][-1] > 0


def test_the_numbers_do_not_depend_on_which_step_trained():
    """The same numbers up to rounding: the compiled cross-entropy rounds its own way (fast.py), so float32 runs
    agree to a few ulps, not bit for bit."""
    compiled, readable = run(True, True)[3], run(False, True)[3]
    for key in ("act_mean", "act_std", "act_grad_norm", "grad_norm", "update_ratio", "loss"):
        ours, theirs = getattr(compiled, key), getattr(readable, key)
        pairs = [(a, b) for name in theirs for a, b in zip(ours[name], theirs[name], strict=True)] \
            if isinstance(theirs, dict) else list(zip(ours, theirs, strict=True))
        assert (ours.keys() == theirs.keys()) if isinstance(theirs, dict) else len(ours) == len(theirs), key
        assert pairs and all(a == pytest.approx(b, rel=1e-4, abs=1e-7, nan_ok=True) for a, b in pairs), key


def test_a_planted_leak_is_caught_not_restoring_the_gradients_changes_the_readable_state(monkeypatch):
    """Negative control for the tests above: a probe that forgets to restore p.grad is detected."""
    original = Diagnostics.probe

    def leaky(self):
        out = original(self)
        for p in self.model.parameters():
            p.grad.add_(1.0)
        return out

    monkeypatch.setattr(Diagnostics, "probe", leaky)
    a, b = run(False, True)[0], run(False, False)[0]
    assert not all(torch.equal(p.grad, q.grad) for p, q in zip(a.parameters(), b.parameters(), strict=True))


# -- the numbers, against torch.autograd (the oracle) ------------------------------------------------------
def torch_probe(model, criterion_name, x, y):
    """Layer outputs, dL/d(output) and dL/dθ with torch.autograd, from the model's own weights."""
    h, outputs = x, []
    weights = {}
    for name, layer in layers_of(model):
        if isinstance(layer, Linear):
            w = layer.weight.data.clone().requires_grad_(True)
            b = layer.bias.data.clone().requires_grad_(True)
            weights[f"{name} weight"], weights[f"{name} bias"] = w, b
            h = h @ w.T + b
        else:
            h = {Tanh: torch.tanh, Sigmoid: torch.sigmoid, ReLU: torch.relu}[type(layer)](h)
        h.retain_grad()
        outputs.append((name, h))
    if criterion_name == "mse":
        loss = ((h - torch.nn.functional.one_hot(y, h.shape[1]).to(h.dtype)) ** 2).mean()
    else:
        loss = torch.nn.functional.cross_entropy(h, y)
    loss.backward()
    return loss, outputs, weights


@pytest.mark.parametrize("criterion_name", ["mse", "cross_entropy"])
def test_activations_and_gradients_match_torch_autograd(criterion_name):
    x, y = data(64, seed=3, dtype=torch.float64)
    torch.manual_seed(3)
    model = Sequential(Linear(2, 7, dtype=torch.float64), Tanh(),
                       Sequential(Linear(7, 5, dtype=torch.float64), Sigmoid()), Linear(5, 3, dtype=torch.float64))
    y = y + (x[:, 0] > 0.8).long()                                   # three classes
    criterion = MSELoss() if criterion_name == "mse" else CrossEntropyLoss()
    diag = Diagnostics(model, criterion, x, y)
    loss, outputs, weights = torch_probe(model, criterion_name, x, y)
    assert [n for n, _ in outputs] == ["Linear 1", "Tanh 1", "Linear 2", "Sigmoid 1", "Linear 3"]
    assert diag.epoch == [0] and diag.loss[0] == pytest.approx(float(loss.detach()), rel=1e-12)
    for name, h in outputs:
        assert diag.act_mean[name][0] == pytest.approx(float(h.detach().mean()), rel=1e-12, abs=1e-15)
        assert diag.act_std[name][0] == pytest.approx(float(h.detach().std()), rel=1e-12)
        assert diag.act_grad_norm[name][0] == pytest.approx(float(h.grad.norm()), rel=1e-10)
    assert list(diag.grad_norm) == list(weights)
    for name, w in weights.items():
        assert diag.grad_norm[name][0] == pytest.approx(float(w.grad.norm()), rel=1e-10), name
    assert all(math.isnan(r[0]) for r in diag.update_ratio.values())


def test_the_gradients_are_the_probe_batchs_not_what_the_last_training_step_left():
    x, y = data(100)
    torch.manual_seed(0)
    model = build_mlp(activation="tanh")
    criterion = CrossEntropyLoss()
    diag = Diagnostics(model, criterion, x[:30], y[:30])
    fit(model, criterion, SGD(model.parameters(), lr=0.1), (x, y), epochs=1, batch_size=10, generator=0,
        fast=False, callbacks=diag)
    left = {name: float(p.grad.norm()) for name, p in diag.params}      # the last batch's gradient
    _, _, weights = torch_probe(model, "cross_entropy", x[:30], y[:30])
    for name, w in weights.items():
        assert diag.grad_norm[name][-1] == pytest.approx(float(w.grad.norm()), rel=1e-4), name
        assert diag.grad_norm[name][-1] != pytest.approx(left[name], rel=1e-3), name


# -- update ratios, against snapshots ----------------------------------------------------------------------
@pytest.mark.parametrize("fast", [True, False], ids=["compiled", "readable"])
def test_update_ratio_is_the_relative_change_over_each_epoch(fast):
    x, y = data()
    torch.manual_seed(0)
    model = build_mlp(activation="relu")
    criterion = CrossEntropyLoss()
    snapshots = [model.state_dict()]
    diag = Diagnostics(model, criterion, x[:40], y[:40])
    fit(model, criterion, SGD(model.parameters(), lr=0.1, momentum=0.9), (x, y), epochs=3, batch_size=25,
        generator=0, fast=fast, callbacks=[lambda e, h, m: snapshots.append(m.state_dict()), diag])
    assert diag.epoch == [0, 1, 2, 3] and len(snapshots) == 4
    names = dict(zip([n for n, _ in diag.params], snapshots[0], strict=True))   # "Linear 1 weight": "0.weight"
    for name, key in names.items():
        for e in (1, 2, 3):
            before, after = snapshots[e - 1][key], snapshots[e][key]
            expected = float((after - before).norm() / before.norm())
            assert diag.update_ratio[name][e] == pytest.approx(expected, rel=1e-6), (name, e)
            assert 0 < diag.update_ratio[name][e] < 1


def test_update_ratio_of_two_snapshots():
    before = torch.tensor([[3.0, 0.0], [0.0, 4.0]])                   # norm 5
    assert update_ratio(before, before + torch.tensor([[0.0, 0.3], [0.4, 0.0]])) == pytest.approx(0.1)
    assert update_ratio(before, before) == 0.0
    assert update_ratio(torch.zeros(3), torch.ones(3)) == math.inf     # a zero-initialised bias that moved
    assert math.isnan(update_ratio(torch.zeros(3), torch.zeros(3)))


# -- names, epochs, results --------------------------------------------------------------------------------
def test_layer_names_count_each_kind_and_flatten_nested_sequentials():
    model = Sequential(Linear(2, 3), ReLU(), Sequential(Linear(3, 3), ReLU(), Sequential(Linear(3, 2))))
    assert [n for n, _ in layers_of(model)] == ["Linear 1", "ReLU 1", "Linear 2", "ReLU 2", "Linear 3"]
    assert [m for _, m in layers_of(model)][2] is model[2][0]

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.w = Parameter(torch.ones(2, 2))

    assert [n for n, _ in layers_of(Net())] == ["Net 1"]


def test_a_model_that_is_not_a_sequential_is_one_layer_with_its_own_parameter_names():
    class Scale(Module):
        """y = x ⊙ s."""

        def __init__(self):
            super().__init__()
            self.s = Parameter(torch.tensor([2.0, -1.0]))

        def forward(self, x):
            self.x = x
            return x * self.s.data

        def backward(self, g):
            self.s.grad += (g * self._saved("x")).sum(dim=0)
            return g * self.s.data

    model = Scale()
    x, y = torch.tensor([[1.0, 2.0], [3.0, 1.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    diag = Diagnostics(model, MSELoss(), x, y)
    out = x * torch.tensor([2.0, -1.0])
    grad = (2 / 4 * (out - y) * x).sum(dim=0)                        # dL/ds of the mean of 4 squares
    assert list(diag.grad_norm) == ["Scale 1 s"]
    assert diag.grad_norm["Scale 1 s"][0] == pytest.approx(float(grad.norm()))
    assert diag.act_mean["Scale 1"][0] == pytest.approx(float(out.mean()))
    assert torch.equal(model.s.grad, torch.zeros(2))                 # restored


def test_epochs_continue_a_history_and_the_start_is_the_epoch_before():
    x, y = data()
    torch.manual_seed(0)
    model = build_mlp()
    criterion, opt = CrossEntropyLoss(), SGD(model.parameters(), lr=0.1)
    h = fit(model, criterion, opt, (x, y), epochs=3, generator=0)
    diag = Diagnostics(model, criterion, x[:20], y[:20])
    fit(model, criterion, opt, (x, y), epochs=2, generator=0, history=h, callbacks=diag)
    assert diag.epoch == [3, 4, 5] and all(len(v) == 3 for v in diag.act_std.values())
    assert repr(diag) == "Diagnostics(7 layers, 8 parameters, epochs 3..5, probe of 20 rows)"


def test_to_dict_is_plain_json_and_a_copy():
    diag = run(True, True, epochs=2)[3]
    d = diag.to_dict()
    assert set(d) == {"epoch", "loss", "act_mean", "act_std", "act_grad_norm", "grad_norm", "update_ratio"}
    assert json.loads(json.dumps(d).replace("NaN", "null"))["epoch"] == [0, 1, 2]
    d["grad_norm"]["Linear 1 weight"].append(1.0)
    assert len(diag.grad_norm["Linear 1 weight"]) == 3
    assert diag.last("act_std") == {name: v[-1] for name, v in diag.act_std.items()}


# -- bad input: one line, before anything changes ----------------------------------------------------------
CE = CrossEntropyLoss()
NAN_ROW = torch.full((1, 2), math.nan)


@pytest.mark.parametrize("make, error, message", [
    (lambda m, x, y: ("model", CE, x, y), TypeError, "Diagnostics: model must be a minidl Module, got str"),
    (lambda m, x, y: (m, "ce", x, y), TypeError, "Diagnostics: criterion must be a minidl loss"),
    (lambda m, x, y: (m, CE, x.tolist(), y), TypeError, "Diagnostics probe: x must be a torch.Tensor, got list"),
    (lambda m, x, y: (m, CE, x, y[:5]), ValueError, "Diagnostics probe: x and y must have the same length"),
    (lambda m, x, y: (m, CE, x, y + 2), ValueError, "Diagnostics probe: labels must be in [0, 2)"),
    (lambda m, x, y: (m, CE, x[:, :1], y), ValueError, "Linear(2, 25) input: expected shape (N, 2), got (10, 1)"),
    (lambda m, x, y: (m, CE, x.double(), y), TypeError, "Linear(2, 25) input: expected dtype torch.float32"),
    (lambda m, x, y: (m, CE, torch.cat([x[:3], NAN_ROW]), y[:4]), ValueError,
     "Diagnostics probe: x row 3 is not finite: [nan, nan]"),
])
def test_bad_input_is_refused_in_one_line_before_anything_changes(make, error, message):
    x, y = data(10)
    torch.manual_seed(0)
    model = build_mlp()
    for p in model.parameters():
        p.grad.fill_(0.5)
    before = [(p.data.clone(), p.grad.clone()) for p in model.parameters()]
    with pytest.raises(error) as e:
        Diagnostics(*make(model, x, y))
    assert str(e.value).startswith(message) and "\n" not in str(e.value)
    assert all(torch.equal(p.data, d) and torch.equal(p.grad, g)
               for p, (d, g) in zip(model.parameters(), before, strict=True))



class FirstColumn(Module):
    """y = x[:, 0]: outputs of shape (N,)."""

    def forward(self, x):
        return x[:, 0]


def test_a_model_whose_outputs_are_not_n_by_c_is_refused():
    x, y = data(10)
    with pytest.raises(ValueError) as e:
        Diagnostics(Sequential(Linear(2, 2), FirstColumn()), CE, x, y)
    assert str(e.value) == "Diagnostics: expected model outputs of shape (N, C), got (10,)"

def test_training_another_model_than_the_one_measured_is_refused():
    x, y = data(20)
    a, b = build_mlp(), build_mlp()
    diag = Diagnostics(a, CrossEntropyLoss(), x, y)
    with pytest.raises(RuntimeError, match=r"^Diagnostics: fit\(\) trains another model"):
        fit(b, CrossEntropyLoss(), SGD(b.parameters(), lr=0.1), (x, y), epochs=1, callbacks=diag)
    with pytest.raises(ValueError, match=r"^Diagnostics.last: key must be one of"):
        diag.last("grad")
