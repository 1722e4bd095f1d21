"""Every backward against central finite differences AND torch.autograd, in float64.

One case table lists every module and loss; one parametrized test checks each.
A planted wrong backward must fail the same check (negative controls).
"""

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl as md
from minidl.lab.reference import to_torch, torch_criterion

F64 = torch.float64


def mlp(act):
    return md.Sequential(md.Linear(3, 5), act, md.Linear(5, 4), md.Tanh(), md.Linear(4, 2))


def affine_random(norm):
    """A normalisation layer with a random γ and β: the default ones and zeros would hide a backward
    that forgets γ."""
    norm.weight.data.normal_()
    norm.bias.data.normal_()
    return norm


def batchnorm(features, training):
    """BatchNorm1d(features) with a random γ, β; in eval mode with running statistics from three batches."""
    bn = affine_random(md.BatchNorm1d(features))
    if not training:
        for _ in range(3):
            bn(torch.randn(8, features) * 2 + 1)
    return bn.train(training)


def refuses_one_row_like_torch(module, x):
    """A module with a BatchNorm1d in train mode on one row: refused, as torch refuses it."""
    with pytest.raises(ValueError, match="expected more than 1 value per channel when training"):
        module(x)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        to_torch(module)(x)


def batch_statistics(module):
    return any(isinstance(m, md.BatchNorm1d) and m.training for m in module.modules())


# name -> (module factory, input features); the input is (N, features)
MODULES = {
    "Linear": (lambda: md.Linear(3, 4), 3),
    "Linear(bias=False)": (lambda: md.Linear(3, 4, bias=False), 3),
    "ReLU": (md.ReLU, 4),
    "LeakyReLU": (lambda: md.LeakyReLU(0.2), 4),
    "Tanh": (md.Tanh, 4),
    "Sigmoid": (md.Sigmoid, 4),
    "Softmax": (md.Softmax, 4),
    "LogSoftmax": (md.LogSoftmax, 4),
    "Softmax(dim=0)": (lambda: md.Softmax(dim=0), 4),
    "Dropout(eval)": (lambda: md.Dropout(0.5).eval(), 4),
    "Sequential(ReLU MLP)": (lambda: mlp(md.ReLU()), 3),
    "Sequential(Sigmoid MLP)": (lambda: mlp(md.Sigmoid()), 3),
    "Sequential(nested)": (lambda: md.Sequential(md.Sequential(md.Linear(3, 3), md.LeakyReLU()),
                                                 md.Linear(3, 2), md.LogSoftmax()), 3),
    "BatchNorm1d(train)": (lambda: batchnorm(4, training=True), 4),
    "BatchNorm1d(eval)": (lambda: batchnorm(4, training=False), 4),
    "LayerNorm": (lambda: affine_random(md.LayerNorm(4)), 4),
    "Sequential(BatchNorm MLP)": (lambda: md.Sequential(md.Linear(3, 5), batchnorm(5, training=True), md.ReLU(),
                                                        md.Linear(5, 4), affine_random(md.LayerNorm(4)), md.Tanh(),
                                                        md.Linear(4, 2)), 3),
}

# name -> (loss factory, target maker(prediction))
LOSSES = {
    "MSELoss": (md.MSELoss, lambda p: torch.randn_like(p)),
    "MSELoss(sum)": (lambda: md.MSELoss(reduction="sum"), lambda p: torch.randn_like(p)),
    "NLLLoss": (md.NLLLoss, lambda p: torch.randint(0, p.shape[1], (p.shape[0],))),
    "NLLLoss(sum)": (lambda: md.NLLLoss(reduction="sum"), lambda p: torch.randint(0, p.shape[1], (p.shape[0],))),
    "CrossEntropyLoss": (md.CrossEntropyLoss, lambda p: torch.randint(0, p.shape[1], (p.shape[0],))),
    "CrossEntropyLoss(sum)": (lambda: md.CrossEntropyLoss(reduction="sum"),
                              lambda p: torch.randint(0, p.shape[1], (p.shape[0],))),
    "CrossEntropyLoss(probabilities)": (md.CrossEntropyLoss, lambda p: torch.softmax(torch.randn_like(p), 1)),
}

BATCH_SIZES = [1, 2, 7]


def autograd_grads(module, x, upstream):
    """The oracle: the torch.nn twin's gradients through autograd."""
    twin = to_torch(module)
    xt = x.clone().requires_grad_(True)
    with torch.enable_grad():
        out = twin(xt)
        out.backward(upstream)
    return xt.grad, {name: p.grad for name, p in twin.named_parameters()}


def assert_backward_matches_autograd(module, x, upstream):
    """After module's forward on x: backward(upstream)'s dL/dx and parameter gradients equal autograd's to 1e-12."""
    module.zero_grad()
    grad_x = module.backward(upstream)
    oracle_x, oracle_params = autograd_grads(module, x, upstream)
    torch.testing.assert_close(grad_x, oracle_x, rtol=1e-12, atol=1e-12)
    for pname, p in module.named_parameters():
        torch.testing.assert_close(p.grad, oracle_params[pname], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", BATCH_SIZES)
@pytest.mark.parametrize("name", list(MODULES))
def test_module_backward(name, n):
    factory, features = MODULES[name]
    torch.manual_seed(n)
    module = factory().to(F64)
    x = torch.randn(n, features, dtype=F64)
    if n == 1 and batch_statistics(module):               # one row has no batch variance
        refuses_one_row_like_torch(module, x)
        return
    report = md.gradcheck(module, x)                       # finite differences; raises on failure
    assert report.ok and len(report.rows) == 1 + len(module.parameters())

    assert_backward_matches_autograd(module, x, torch.randn_like(module(x)))


@pytest.mark.parametrize("n", BATCH_SIZES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_value_and_backward(name, n):
    factory, make_target = LOSSES[name]
    torch.manual_seed(n)
    criterion = factory()
    pred = torch.randn(n, 3, dtype=F64)
    target = make_target(pred)
    report = md.gradcheck(criterion, pred, target)
    assert report.ok and report.rows[0].name == "prediction"

    value = criterion(pred, target)
    grad = criterion.backward()
    predt = pred.clone().requires_grad_(True)
    with torch.enable_grad():
        expected = torch_criterion(criterion)(predt, target)
        expected.backward()
    assert value.dim() == 0
    torch.testing.assert_close(value, expected.detach(), rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(grad, predt.grad, rtol=1e-12, atol=1e-13)


def test_dropout_train_mode_backward_uses_the_forward_mask():
    torch.manual_seed(0)
    drop = md.Dropout(0.4)
    x = torch.randn(200, 5, dtype=F64)
    md.gradcheck(drop, x)                                  # same mask in every forward call
    y = drop(x)
    g = torch.randn_like(y)
    dx = drop.backward(g)
    mask = drop.mask
    assert set(torch.unique(mask).tolist()) <= {0.0, 1 / 0.6}
    torch.testing.assert_close(y, x * mask)
    torch.testing.assert_close(dx, g * mask)
    assert 0.3 < (mask == 0).double().mean() < 0.5        # ~p of the units dropped


def test_dropout_is_identity_in_eval_mode():
    drop = md.Dropout(0.9).eval()
    x = torch.randn(10, 3)
    assert drop(x) is x and drop.backward(x) is x


# ---------------------------------------------------------------- negative controls
class WrongTanh(md.Tanh):
    def derivative(self, y):
        return 1.0 - y                                    # planted bug: should be 1 - y²


class WrongLinear(md.Linear):
    def backward(self, grad_output):
        x = self._saved("x")
        self.weight.grad += grad_output.T @ x
        self.bias.grad += grad_output.mean(dim=0)         # planted bug: mean instead of sum
        return grad_output @ self.weight.data


def test_gradcheck_catches_a_wrong_input_gradient():
    with pytest.raises(md.GradcheckError) as err:
        md.gradcheck(WrongTanh(), torch.randn(4, 3, dtype=F64))
    assert err.value.report.rows[0].name == "input" and not err.value.report.rows[0].passed
    assert "FAILED" in str(err.value)


def test_gradcheck_catches_a_wrong_parameter_gradient_and_names_it():
    torch.manual_seed(0)
    report = md.gradcheck(WrongLinear(3, 2), torch.randn(5, 3, dtype=F64), raise_on_failure=False)
    by_name = {r.name: r.passed for r in report.rows}
    assert by_name == {"input": True, "weight": True, "bias": False}
    assert "bias" in str(report) and "NO" in str(report)


def test_autograd_oracle_catches_a_wrong_backward():
    torch.manual_seed(0)
    module = md.Sequential(md.Linear(3, 4), WrongTanh()).to(F64)
    x = torch.randn(5, 3, dtype=F64)
    upstream = torch.randn(5, 4, dtype=F64)
    module(x)
    grad_x = module.backward(upstream)
    twin = torch.nn.Sequential(to_torch(module[0]), torch.nn.Tanh())
    xt = x.clone().requires_grad_(True)
    with torch.enable_grad():
        twin(xt).backward(upstream)
    assert not torch.allclose(grad_x, xt.grad)


# ---------------------------------------------------------------- property tests
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 16), hidden=st.integers(1, 12), out=st.integers(1, 5),
       act=st.sampled_from([md.ReLU, md.Tanh, md.Sigmoid, md.LeakyReLU]))
def test_mlp_backward_shapes_and_values_match_autograd(n, hidden, out, act):
    torch.manual_seed(n * 100 + hidden)
    model = md.Sequential(md.Linear(2, hidden), act(), md.Linear(hidden, out)).to(F64)
    x = torch.randn(n, 2, dtype=F64)
    y = model(x)
    assert y.shape == (n, out) and y.dtype == F64
    g = torch.randn_like(y)
    model.zero_grad()
    dx = model.backward(g)
    assert dx.shape == x.shape
    oracle_x, oracle_p = autograd_grads(model, x, g)
    torch.testing.assert_close(dx, oracle_x, rtol=1e-12, atol=1e-12)
    for name, p in model.named_parameters():
        assert p.grad.shape == p.data.shape
        torch.testing.assert_close(p.grad, oracle_p[name], rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(scale=st.floats(1e-3, 1e4), n=st.integers(1, 8), c=st.integers(2, 6))
def test_softmax_family_is_stable_and_normalised(scale, n, c):
    torch.manual_seed(c)
    x = torch.randn(n, c, dtype=F64) * scale                # huge logits must not overflow
    s = md.Softmax()(x)
    logp = md.LogSoftmax()(x)
    assert torch.isfinite(s).all() and torch.isfinite(logp).all()
    torch.testing.assert_close(s.sum(1), torch.ones(n, dtype=F64))
    torch.testing.assert_close(logp, torch.log_softmax(x, 1), rtol=1e-12, atol=1e-12)
    y = torch.randint(0, c, (n,))
    value = md.CrossEntropyLoss()(x, y)
    torch.testing.assert_close(value, torch.nn.functional.cross_entropy(x, y), rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(x=st.lists(st.floats(-50, 50), min_size=1, max_size=20))
def test_activation_outputs_are_in_range(x):
    t = torch.tensor(x, dtype=F64).reshape(1, -1)
    assert (md.ReLU()(t) >= 0).all()
    assert (md.Sigmoid()(t) >= 0).all() and (md.Sigmoid()(t) <= 1).all()
    assert (md.Tanh()(t).abs() <= 1).all()
    torch.testing.assert_close(md.LeakyReLU(0.1)(t), torch.nn.functional.leaky_relu(t, 0.1))


# ---------------------------------------------------------------- caches modified in place
def _run_backward(module, x, upstream, change):
    """forward on x, then change(x, out) in place, then backward; (dx, parameter grads) or the error."""
    out = module(x)
    change(x, out)
    module.zero_grad()
    try:
        dx = module.backward(upstream)
    except RuntimeError as e:
        return e
    return dx, [p.grad.clone() for p in module.parameters()]


IN_PLACE = {"input": lambda x, out: x.mul_(3.0).add_(0.5), "output": lambda x, out: out.mul_(3.0).add_(0.5)}


@pytest.mark.parametrize("changed", list(IN_PLACE))
@pytest.mark.parametrize("name", list(MODULES))
def test_backward_refuses_a_cache_modified_in_place_or_gives_the_true_gradient(name, changed):
    """Never silently wrong: backward either raises (naming the module) or returns exactly the
    gradients of the values forward saw (a module that does not need what was changed)."""
    factory, features = MODULES[name]
    torch.manual_seed(0)
    module = factory().to(F64)
    x = torch.randn(4, features, dtype=F64)
    upstream = torch.randn_like(module(x))
    reference = _run_backward(module, x.clone(), upstream, lambda x, out: None)
    result = _run_backward(module, x.clone(), upstream, IN_PLACE[changed])
    if isinstance(result, RuntimeError):
        assert re.fullmatch(r"\w+(\(\d+, \d+\))?\.backward\(\): the tensor '\w+' cached by forward was modified "
                            r"in place since \(version \d+ -> \d+\); .*", str(result)), str(result)
    else:
        torch.testing.assert_close(result[0], reference[0], rtol=0, atol=0)
        for got, want in zip(result[1], reference[1], strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["Linear", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
                                  "Sequential(ReLU MLP)"])
def test_the_modules_whose_backward_needs_the_cache_do_raise(name):
    """The property above would pass if every backward ignored changes; these must detect one."""
    factory, features = MODULES[name]
    module = factory().to(F64)
    x = torch.randn(4, features, dtype=F64)
    upstream = torch.randn_like(module(x))
    changed = "input" if name in ("Linear", "LeakyReLU", "Sequential(ReLU MLP)") else "output"
    assert isinstance(_run_backward(module, x, upstream, IN_PLACE[changed]), RuntimeError)


def test_negative_control_without_the_version_check_linear_gives_a_wrong_gradient(monkeypatch):
    monkeypatch.setattr(md.Module, "_saved", lambda self, name: self.__dict__[name])
    module = md.Linear(2, 1).to(F64)
    x = torch.randn(5, 2, dtype=F64)
    reference = _run_backward(module, x.clone(), torch.ones(5, 1, dtype=F64), lambda x, out: None)
    result = _run_backward(module, x, torch.ones(5, 1, dtype=F64), IN_PLACE["input"])
    assert not isinstance(result, RuntimeError) and not torch.allclose(result[1][0], reference[1][0])


def test_issue_repro_linear_input_multiplied_in_place_after_forward():
    layer = md.Linear(2, 1)
    x = torch.randn(5, 2)
    layer(x)
    x.mul_(100)
    with pytest.raises(RuntimeError, match=r"^Linear\(2, 1\)\.backward\(\): the tensor 'x' cached by forward "
                                           r"was modified in place since \(version 0 -> 1\)"):
        layer.backward(torch.ones(5, 1))
    assert not layer.weight.grad.any()                    # nothing accumulated
    layer(x)                                              # a new forward records the new version
    layer.backward(torch.ones(5, 1))
    torch.testing.assert_close(layer.weight.grad, x.sum(0, keepdim=True))


def test_a_view_modified_in_place_is_detected_and_inference_tensors_still_work():
    base = torch.randn(6, 2)
    layer = md.Linear(2, 3)
    layer(base[:4])
    base[5].zero_()                                       # a view shares its base's version counter
    with pytest.raises(RuntimeError, match="modified in place"):
        layer.backward(torch.ones(4, 3))
    with torch.inference_mode():                          # no version counter: cached, not checked
        x = torch.randn(4, 2)
    layer(x)
    assert layer.backward(torch.ones(4, 3)).shape == (4, 2)


# ---------------------------------------------------------------- every module and loss on batches of 0, 1, 2 rows
# name -> factory(features, width): the module for inputs (N, features); every Module class minidl exports
SIZED_MODULES = {
    "Linear": lambda f, k: md.Linear(f, k),
    "Linear(bias=False)": lambda f, k: md.Linear(f, k, bias=False),
    "ReLU": lambda f, k: md.ReLU(),
    "LeakyReLU": lambda f, k: md.LeakyReLU(0.3),
    "Tanh": lambda f, k: md.Tanh(),
    "Sigmoid": lambda f, k: md.Sigmoid(),
    "Softmax": lambda f, k: md.Softmax(),
    "LogSoftmax": lambda f, k: md.LogSoftmax(),
    "Softmax(dim=0)": lambda f, k: md.Softmax(dim=0),
    "LogSoftmax(dim=0)": lambda f, k: md.LogSoftmax(dim=0),
    "Dropout(eval)": lambda f, k: md.Dropout(0.5).eval(),
    "Dropout(p=0, train)": lambda f, k: md.Dropout(0.0),
    "Sequential": lambda f, k: md.Sequential(md.Linear(f, k), md.Tanh(), md.Linear(k, 2), md.LogSoftmax()),
    "BatchNorm1d(train)": lambda f, k: batchnorm(f, training=True),
    "BatchNorm1d(eval)": lambda f, k: batchnorm(f, training=False),
    "LayerNorm": lambda f, k: affine_random(md.LayerNorm(f)),
}
SIZED_LOSSES = {
    "MSELoss": (md.MSELoss, lambda p: torch.randn_like(p)),
    "NLLLoss": (md.NLLLoss, lambda p: torch.randint(0, p.shape[1], (p.shape[0],))),
    "CrossEntropyLoss": (md.CrossEntropyLoss, lambda p: torch.randint(0, p.shape[1], (p.shape[0],))),
    "CrossEntropyLoss(probabilities)": (md.CrossEntropyLoss, lambda p: torch.softmax(torch.randn_like(p), 1)),
}


def test_the_empty_batch_tables_cover_every_exported_module_and_loss():
    exported = {v for v in vars(md).values() if isinstance(v, type) and issubclass(v, md.Module)}
    modules = {type(m) for f in SIZED_MODULES.values() for m in f(2, 3).modules()}
    losses = {f[0] for f in SIZED_LOSSES.values()}
    assert exported - {md.Module} - {c for c in exported if c.__name__ == "Loss"} <= modules | losses


def _one_line_value_error(err, start):
    message = str(err)
    assert message.startswith(start) and "\n" not in message, message


@settings(max_examples=12, deadline=None)
@given(n=st.sampled_from([0, 1, 2]), features=st.integers(1, 6), width=st.integers(1, 4), seed=st.integers(0, 99))
@pytest.mark.parametrize("name", list(SIZED_MODULES))
def test_every_module_on_0_1_2_rows_matches_torch_or_refuses_clearly(name, n, features, width, seed):
    torch.manual_seed(seed)
    module = SIZED_MODULES[name](features, width).to(F64)
    x = torch.randn(n, features, dtype=F64)
    try:
        out = module(x)
    except ValueError as e:                               # only an empty batch, or what torch refuses too
        _one_line_value_error(e, type(module).__name__)
        if n > 0:
            with pytest.raises(ValueError):
                to_torch(module)(x)
        return
    twin_out = to_torch(module)(x)
    assert out.shape == twin_out.shape
    torch.testing.assert_close(out, twin_out.detach(), rtol=1e-12, atol=1e-12)
    assert_backward_matches_autograd(module, x, torch.randn_like(out))


@settings(max_examples=12, deadline=None)
@given(n=st.sampled_from([0, 1, 2]), classes=st.integers(1, 5), seed=st.integers(0, 99),
       reduction=st.sampled_from(["mean", "sum"]))
@pytest.mark.parametrize("name", list(SIZED_LOSSES))
def test_every_loss_on_0_1_2_rows_matches_torch_or_refuses_clearly(name, n, classes, seed, reduction):
    factory, make_target = SIZED_LOSSES[name]
    torch.manual_seed(seed)
    criterion = factory(reduction=reduction)
    pred = torch.randn(n, classes, dtype=F64)
    target = make_target(pred)
    if n == 0 and reduction == "mean":                    # torch: nan; minidl: a clear error
        with pytest.raises(ValueError) as err:
            criterion(pred, target)
        _one_line_value_error(err.value, f"{type(criterion).__name__}: the mean over an empty batch")
        assert criterion.__dict__.get("grad") is None     # nothing cached by the failed call
        return
    value = criterion(pred, target)
    grad = criterion.backward()
    predt = pred.clone().requires_grad_(True)
    with torch.enable_grad():
        expected = torch_criterion(criterion)(predt, target)
        expected.backward()
    torch.testing.assert_close(value, expected.detach(), rtol=1e-12, atol=1e-12)
    assert grad.shape == pred.shape
    torch.testing.assert_close(grad, predt.grad, rtol=1e-12, atol=1e-12)


def test_issue_repro_mse_on_an_empty_batch_is_a_value_error_not_zero_division():
    with pytest.raises(ValueError, match=r"^MSELoss: the mean over an empty batch \(0 terms\) is undefined"):
        md.MSELoss()(torch.zeros(0, 2), torch.zeros(0, 2))
    assert md.MSELoss(reduction="sum")(torch.zeros(0, 2), torch.zeros(0, 2)) == 0
    with pytest.raises(ValueError, match=r"^CrossEntropyLoss prediction: expected shape \(N, C\) with at least one "
                                         r"class, got \(2, 0\)$"):
        md.CrossEntropyLoss()(torch.zeros(2, 0), torch.zeros(2, dtype=torch.long))
