"""Initialisers draw exactly what torch.nn.init draws under the same seed."""

import math

import pytest
import torch

import minidl as md
from minidl import init


@pytest.mark.parametrize("shape", [(5, 7), (25, 2), (1, 1)])
@pytest.mark.parametrize("name, kwargs", [
    ("uniform_", dict(a=-0.3, b=0.7)), ("normal_", dict(mean=0.1, std=2.0)),
    ("xavier_uniform_", dict(gain=1.5)), ("xavier_normal_", {}),
    ("kaiming_uniform_", {}), ("kaiming_uniform_", dict(a=math.sqrt(5))),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu")),
    ("kaiming_normal_", dict(nonlinearity="tanh")), ("kaiming_normal_", dict(a=0.2, nonlinearity="leaky_relu")),
])
def test_same_draw_as_torch(name, kwargs, shape):
    ours, theirs = torch.empty(shape), torch.empty(shape)
    torch.manual_seed(7)
    result = getattr(init, name)(md.Parameter(ours), **kwargs)   # a Parameter works too
    torch.manual_seed(7)
    getattr(init, name)(ours, **kwargs)
    torch.manual_seed(7)
    getattr(torch.nn.init, name)(theirs, **kwargs)
    assert torch.equal(ours, theirs) and torch.equal(result, theirs)


@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("sigmoid", None), ("tanh", None),
                                                 ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                                 ("selu", None)])
def test_gains_equal_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


def test_linear_default_equals_torch_nn_linear():
    torch.manual_seed(1)
    theirs = torch.nn.Linear(30, 20)
    layer = md.Linear(30, 20)
    torch.manual_seed(1)
    init.linear_default_(layer)
    assert torch.equal(layer.weight.data, theirs.weight.detach()) and torch.equal(layer.bias.data, theirs.bias.detach())


def big():
    return md.Sequential(md.Linear(400, 300), md.ReLU(), md.Linear(300, 200))


def test_schemes_have_the_variances_they_promise():
    torch.manual_seed(0)
    m = init.initialize(big(), "uniform", scale=0.5)
    w = m[0].weight.data
    assert w.abs().max() <= 0.5 and abs(w.std() - 0.5 / math.sqrt(3)) < 0.01 and m[0].bias.data.abs().max() > 0.4
    m = init.initialize(big(), "normal", scale=2.0)
    assert abs(m[2].weight.data.std() - 2.0) < 0.05
    m = init.initialize(big(), "xavier_uniform", nonlinearity="linear")
    assert abs(m[0].weight.data.var() - 2 / 700) < 2e-4 and (m[0].bias.data == 0).all()
    m = init.initialize(big(), "kaiming_normal", nonlinearity="relu")
    assert abs(m[0].weight.data.var() - 2 / 400) < 3e-4
    m = init.initialize(big(), "kaiming_uniform", nonlinearity="relu")
    assert abs(m[2].weight.data.var() - 2 / 300) < 4e-4
    m = init.initialize(big(), "xavier_normal", nonlinearity="tanh")
    assert abs(m[2].weight.data.var() - (5 / 3) ** 2 * 2 / 500) < 5e-4
    m = init.initialize(big(), "zeros")
    assert all((p.data == 0).all() for p in m.parameters())
    torch.manual_seed(3)
    reference = big()
    m = big()
    torch.manual_seed(3)
    init.initialize(m, "default")
    assert all(torch.equal(p.data, q.data) for p, q in zip(m.parameters(), reference.parameters(), strict=True))


def test_kaiming_keeps_the_activation_scale_through_relu_layers():
    torch.manual_seed(0)

    def net():
        return md.Sequential(*[m for _ in range(10) for m in (md.Linear(256, 256), md.ReLU())])
    x = torch.randn(512, 256)
    deep = init.initialize(net(), "kaiming_normal", nonlinearity="relu")
    small = init.initialize(net(), "normal", scale=0.01)
    assert 0.3 < deep(x).pow(2).mean().sqrt() < 3.0           # stays O(1) after 10 layers
    assert small(x).pow(2).mean().sqrt() < 0.02               # shrinks to the biases' scale


@pytest.mark.parametrize("call, error, message", [
    (lambda: init.calculate_gain("gelu"), ValueError, "calculate_gain: unknown nonlinearity 'gelu'; expected one of"),
    (lambda: init.kaiming_uniform_(torch.empty(3, 3), mode="fan"), ValueError,
     "kaiming_uniform_: mode must be 'fan_in' or 'fan_out', got 'fan'"),
    (lambda: init.xavier_uniform_(torch.empty(3)), ValueError,
     r"fan_in_and_fan_out: needs a weight with at least 2 dimensions, got shape \(3,\)"),
    (lambda: init.uniform_([1.0]), TypeError, "uniform_: expected a Parameter or a tensor, got list"),
    (lambda: init.initialize(big(), "he"), ValueError, "initialize: unknown scheme 'he'; expected one of"),
    (lambda: init.initialize(big(), "uniform"), ValueError, "initialize: scheme 'uniform' needs scale > 0, got None"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
