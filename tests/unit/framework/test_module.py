"""The Module protocol: parameters, param(), accumulation, modes, state_dict, to(), repr, errors."""

import re

import pytest
import torch

import minidl as md


def net():
    torch.manual_seed(0)
    return md.Sequential(md.Linear(2, 3), md.ReLU(), md.Sequential(md.Linear(3, 2), md.Tanh()))


def test_parameters_are_found_recursively_in_order():
    model = net()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.0.weight", "2.0.bias"]
    assert [tuple(p.shape) for p in model.parameters()] == [(3, 2), (3,), (2, 3), (2,)]
    assert md.ReLU().parameters() == [] and md.ReLU().param() == []
    assert [n for n, _ in md.Linear(2, 2, bias=False).named_parameters()] == ["weight"]


def test_param_pairs_alias_the_live_tensors():
    model = net()
    pairs = model.param()
    assert len(pairs) == 4
    for (value, grad), p in zip(pairs, model.parameters(), strict=True):
        assert value is p.data and grad is p.grad
    pairs[0][0].add_(1.0)                                   # an optimizer updating in place
    assert torch.equal(model[0].weight.data, pairs[0][0])


def test_backward_twice_accumulates_twice_and_zero_grad_resets():
    model = net()
    x = torch.randn(4, 2)
    g = torch.randn(4, 2)
    model(x)
    model.backward(g)
    once = [p.grad.clone() for p in model.parameters()]
    model.backward(g)
    for p, g1 in zip(model.parameters(), once, strict=True):
        torch.testing.assert_close(p.grad, 2 * g1)
    assert any(g1.abs().sum() > 0 for g1 in once)
    model.zero_grad()
    assert all((p.grad == 0).all() for p in model.parameters())


def test_train_eval_propagate_to_children():
    model = md.Sequential(md.Linear(2, 2), md.Sequential(md.Dropout(0.5)))
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_sequential_container_api():
    model = net()
    assert len(model) == 3 and isinstance(model[0], md.Linear) and isinstance(model[-1], md.Sequential)
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Sequential"]
    head = model[:2]
    assert isinstance(head, md.Sequential) and len(head) == 2 and head[0] is model[0]
    model.append(md.Linear(2, 1))
    assert len(model) == 4 and model(torch.randn(5, 2)).shape == (5, 1)


def test_repr_reads_like_torch():
    text = repr(net())
    assert text == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=2, bias=True)\n"
        "    (1): Tanh()\n"
        "  )\n"
        ")")
    assert repr(md.Dropout(0.2)) == "Dropout(p=0.2)" and repr(md.MSELoss()) == "MSELoss()"
    assert repr(md.Parameter(torch.zeros(2, 3))) == "Parameter(shape=(2, 3), dtype=torch.float32)"


def test_state_dict_round_trip_copies_values():
    a, b = net(), net()
    for p in b.parameters():
        p.data.normal_()
    state = a.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.0.weight", "2.0.bias"]
    b.load_state_dict(state)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa.data, pb.data) and pa.data is not pb.data
    a[0].weight.data.add_(1.0)                             # the saved state is a copy
    assert not torch.equal(state["0.weight"], a[0].weight.data)


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("2.0.bias"), "missing key '2.0.bias'"),
    (lambda s: s.update(extra=torch.zeros(1)), "unexpected key 'extra'"),
    (lambda s: s.update({"0.weight": torch.zeros(2, 3)}),
     "key '0.weight': expected shape (3, 2), got (2, 3)"),
    (lambda s: s.update({"0.bias": [0.0, 0.0, 0.0]}), "key '0.bias': expected a tensor, got list"),
    # the last key is bad, so a load that copied as it went would already have changed three tensors
    (lambda s: s.update({"2.0.bias": torch.zeros(2, device="meta")}),
     "key '2.0.bias': expected a tensor on cpu, got meta"),
    (lambda s: s.update({"2.0.bias": torch.ones(2, dtype=torch.int64)}),
     "key '2.0.bias': expected a floating-point tensor like torch.float32, got torch.int64"),
    (lambda s: s.update({"2.0.bias": torch.ones(2, dtype=torch.complex64)}),
     "key '2.0.bias': expected a floating-point tensor like torch.float32, got torch.complex64"),
    (lambda s: s.update({"2.0.bias": torch.tensor([1e39, 0.0], dtype=torch.float64)}),
     "key '2.0.bias'[0]: 1e+39 does not fit in torch.float32 (it would become inf)"),
])
def test_failed_load_state_dict_names_the_key_and_changes_nothing(change, message):
    model = net()
    before = model.state_dict()
    state = {k: torch.full_like(v, 7.0) for k, v in before.items()}
    change(state)
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed by a failed load"


def test_load_state_dict_rejects_a_non_dict():
    with pytest.raises(TypeError, match="Sequential.load_state_dict: expected a dict of tensors, got list"):
        net().load_state_dict([1, 2])


def test_to_dtype_moves_parameters_and_gradients():
    model = net().to(torch.float64)
    assert all(p.data.dtype == torch.float64 and p.grad.dtype == torch.float64 for p in model.parameters())
    assert model(torch.randn(3, 2, dtype=torch.float64)).dtype == torch.float64
    assert model.float()(torch.randn(3, 2)).dtype == torch.float32
    model.to("cpu")
    with pytest.raises(TypeError, match="expected a floating dtype, got torch.int64"):
        model.to(torch.int64)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_follows_the_input_for_parameterless_modules(dtype):
    x = torch.randn(3, 4, dtype=dtype)
    for m in [md.ReLU(), md.Tanh(), md.Sigmoid(), md.LeakyReLU(), md.Softmax(), md.LogSoftmax()]:
        assert m(x).dtype == dtype and m.backward(torch.ones(3, 4, dtype=dtype)).dtype == dtype


# ---------------------------------------------------------------- errors: where, expected, got


def test_input_dtype_and_kind_errors():
    with pytest.raises(TypeError, match=r"Linear\(2, 3\) input: expected dtype torch.float32 .*got torch.float64"):
        md.Linear(2, 3)(torch.randn(4, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match="expected a floating-point tensor, got dtype torch.int64"):
        md.ReLU()(torch.ones(2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="ReLU input: expected a torch.Tensor, got list"):
        md.ReLU()([1.0, 2.0])


def test_input_device_error():
    layer = md.Linear(2, 3).to("meta")                    # a second device that every machine has
    with pytest.raises(ValueError, match=r"Linear\(2, 3\) input: expected device meta .*got cpu"):
        layer(torch.randn(4, 2))


@pytest.mark.parametrize("module", [md.Linear(2, 3), md.ReLU(), md.LeakyReLU(), md.Tanh(), md.Sigmoid(),
                                    md.Softmax(), md.LogSoftmax(), md.Dropout(), md.MSELoss(),
                                    md.NLLLoss(), md.CrossEntropyLoss()],
                         ids=lambda m: type(m).__name__)
def test_backward_before_forward(module):
    with pytest.raises(RuntimeError, match=rf"^{type(module).__name__}.backward\(\) called before forward\(\)$"):
        module.backward(torch.ones(1, 3)) if not isinstance(module, md.Loss) else module.backward()


@pytest.mark.parametrize("module", [md.Linear(2, 3), md.ReLU(), md.Tanh(), md.Softmax(), md.LogSoftmax(),
                                    md.Dropout(0.3)], ids=lambda m: type(m).__name__)
def test_grad_output_shape_must_match_the_last_output(module):
    out = module(torch.randn(4, 2))
    with pytest.raises(ValueError, match=re.escape(f"grad_output shape (4, 7) differs from the last "
                                                   f"output's shape {tuple(out.shape)}")):
        module.backward(torch.ones(4, 7))


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="Sequential: expected a minidl Module at position 1, got function"):
        md.Sequential(md.ReLU(), lambda x: x)


@pytest.mark.parametrize("factory, message", [
    (lambda: md.Linear(0, 3), "Linear: in_features must be a positive int, got 0"),
    (lambda: md.Linear(2, 2.5), "Linear: out_features must be a positive int, got 2.5"),
    (lambda: md.Dropout(1.0), r"Dropout: p must be in \[0, 1\), got 1.0"),
    (lambda: md.Dropout(-0.1), r"Dropout: p must be in \[0, 1\), got -0.1"),
    (lambda: md.LeakyReLU("0.1"), "LeakyReLU: negative_slope must be a number, got '0.1'"),
    (lambda: md.Softmax(dim=1.0), "Softmax: dim must be an int, got 1.0"),
    (lambda: md.MSELoss(reduction="avg"), r"MSELoss: reduction must be one of \('mean', 'sum'\), got 'avg'"),
    (lambda: md.Parameter([1.0]), "Parameter: expected a torch.Tensor, got list"),
    (lambda: md.Parameter(torch.ones(2, dtype=torch.long)), "expected a floating-point tensor"),
    (lambda: md.Buffer([1.0]), "Buffer: expected a torch.Tensor, got list"),
    (lambda: md.Buffer(torch.ones(2, dtype=torch.long)),
     "Buffer: expected a floating-point tensor, got dtype torch.int64"),
])
def test_constructor_errors(factory, message):
    with pytest.raises((ValueError, TypeError), match=message):
        factory()




def test_evaluating_sets_eval_mode_inside_and_restores_each_modules_own_flag_even_on_error():
    from minidl.framework.module import evaluating

    model = md.Sequential(md.Linear(2, 3), md.Dropout(0.5), md.Sequential(md.Dropout(0.2), md.Linear(3, 1)))
    model[2][0].eval()                                       # one sub-module in eval mode on purpose
    before = [m.training for m in model.modules()]
    with evaluating(model) as same:
        assert same is model and not any(m.training for m in model.modules())
    assert [m.training for m in model.modules()] == before
    with pytest.raises(RuntimeError, match="boom"), evaluating(model):
        raise RuntimeError("boom")
    assert [m.training for m in model.modules()] == before


def test_load_state_dict_converts_another_floating_precision_like_torch():
    model = net()
    state = {k: v.double() / 3 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert all(p.data.dtype == torch.float32 for p in model.parameters())
    assert all(torch.equal(v, state[k].float()) for k, v in model.state_dict().items())


def test_the_same_module_twice_in_a_sequential_is_refused_at_construction():
    lin = md.Linear(2, 2)
    with pytest.raises(ValueError, match=r"Sequential: the module at position 2 \(Linear\(in_features=2, "
                                         r"out_features=2, bias=True\)\) is already at position 0; a module keeps "
                                         r"one forward's cache"):
        md.Sequential(lin, md.Tanh(), lin)
    inner = md.Sequential(md.Linear(2, 2), md.ReLU())
    model = md.Sequential(inner, md.Tanh())
    with pytest.raises(ValueError, match="is already at position 0"):
        model.append(md.Sequential(inner[1]))                 # hidden one level down
    assert len(model) == 2                                     # refused before anything changed
    with pytest.raises(ValueError, match="is this Sequential itself"):
        model.append(model)


def test_a_parameter_shared_by_two_layers_is_correct_and_stepped_once():
    torch.manual_seed(0)
    a, b = md.Linear(3, 3, dtype=torch.float64), md.Linear(3, 3, dtype=torch.float64)
    b.weight = a.weight                                        # weight tying: two modules, one Parameter
    model = md.Sequential(a, md.Tanh(), b)
    assert len(model.parameters()) == 3 and sum(p is a.weight for p in model.parameters()) == 1
    report = md.gradcheck(model, torch.randn(4, 3, dtype=torch.float64))
    assert report.ok, report
    opt = md.SGD(model.parameters(), lr=0.1)
    before = a.weight.data.clone()
    model.zero_grad()
    model(torch.ones(1, 3, dtype=torch.float64))
    model.backward(torch.ones(1, 3, dtype=torch.float64))
    opt.step()
    torch.testing.assert_close(a.weight.data, before - 0.1 * a.weight.grad)


class Counter(md.Module):
    """A module with a buffer between its parameters, and a child: the state_dict order is torch's."""

    def __init__(self):
        super().__init__()
        self.scale = md.Parameter(torch.ones(2))
        self.total = md.Buffer(torch.zeros(2))
        self.shift = md.Parameter(torch.zeros(2))
        self.inner = md.Linear(2, 2)

    def forward(self, x):
        self.total.data += x.sum(dim=0)
        return self.inner(x * self.scale.data + self.shift.data)


def test_buffers_are_saved_loaded_and_moved_but_never_trained():
    model = md.Sequential(Counter(), md.Linear(2, 2))
    assert [n for n, _ in model.named_buffers()] == ["0.total"]
    assert list(model.state_dict()) == ["0.scale", "0.total", "0.shift", "0.inner.weight", "0.inner.bias",
                                        "1.weight", "1.bias"]
    assert all(not isinstance(p, md.Buffer) for p in model.parameters()) and len(model.parameters()) == 6
    model(torch.ones(3, 2))
    state = model.state_dict()
    assert torch.equal(state["0.total"], torch.full((2,), 3.0))
    other = md.Sequential(Counter(), md.Linear(2, 2))
    other.load_state_dict(state)
    assert torch.equal(other[0].total.data, torch.full((2,), 3.0))
    model.to(torch.float64)
    assert model[0].total.data.dtype == torch.float64
    assert repr(model[0].total) == "Buffer(shape=(2,), dtype=torch.float64)"
    with pytest.raises(ValueError, match="missing key '0.total'"):
        other.load_state_dict({k: v for k, v in state.items() if k != "0.total"})


def test_backward_parameters_gives_backwards_parameter_gradients_bitwise_and_returns_nothing():
    class Scale(md.Module):                              # a learner's module: only backward, no backward_parameters
        def forward(self, x):
            return 3.0 * x

        def backward(self, grad_output):
            return 3.0 * grad_output

    torch.manual_seed(0)
    f64 = torch.float64
    for model in (md.Sequential(md.Linear(2, 3, dtype=f64), md.ReLU(), md.Linear(3, 2, dtype=f64)),
                  md.Sequential(Scale(), md.Linear(2, 2, dtype=f64), md.Tanh()),
                  md.Sequential(md.Sequential(md.Linear(2, 3, dtype=f64), md.Tanh()), md.Linear(3, 2, dtype=f64))):
        x, g = torch.randn(4, 2, dtype=f64), torch.randn(4, 2, dtype=f64)
        model(x)
        assert model.backward(g).shape == (4, 2)
        full = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        assert model.backward_parameters(g) is None
        assert all(torch.equal(p.grad, f) for p, f in zip(model.parameters(), full, strict=True))
        assert all(f.abs().sum() > 0 for f in full)
    assert md.Sequential().backward_parameters(torch.ones(1)) is None


def test_backward_parameters_runs_a_sequential_subclasss_own_backward():
    class Clipped(md.Sequential):                        # a learner's: clips the gradient before the chain rule
        def backward(self, grad_output):
            return super().backward(grad_output.clamp(-0.1, 0.1))

    torch.manual_seed(0)
    model, x, g = Clipped(md.Linear(2, 3), md.Tanh()), torch.randn(4, 2), torch.randn(4, 3)
    model(x)
    model.backward(g)
    full = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.backward_parameters(g)
    assert all(torch.equal(p.grad, f) for p, f in zip(model.parameters(), full, strict=True))
