"""BatchNorm1d and LayerNorm: exact parity with torch.nn (outputs, gradients, running statistics over
many steps, eval mode) in float64; argument errors; buffers in state_dict, save and load; a failed
call changes nothing; autograd off; fit() with a BatchNorm1d runs the readable step and trains."""

import re

import pytest
import torch

import minidl as md
from minidl import fast
from minidl.framework.normalization import normalize, normalize_backward
from minidl.lab.reference import fit_twin, to_torch, torch_criterion, torch_optimizer

F64 = torch.float64
EXACT = {"rtol": 1e-12, "atol": 1e-12}


def random_affine(norm):
    norm.weight.data.normal_()
    norm.bias.data.normal_()
    return norm


def both(module, x, upstream):
    """(minidl's output, dL/dx, parameter grads), the same from the torch twin through autograd, and the twin."""
    twin = to_torch(module)
    module.zero_grad()
    out = module(x)
    grad_x = module.backward(upstream)
    xt = x.clone().requires_grad_(True)
    with torch.enable_grad():
        out_t = twin(xt)
        out_t.backward(upstream)
    ours = (out, grad_x, *(p.grad.clone() for p in module.parameters()))
    theirs = (out_t.detach(), xt.grad, *(p.grad for p in twin.parameters()))
    return ours, theirs, twin


def assert_all_close(ours, theirs, **tolerance):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, **(tolerance or EXACT))


# ---------------------------------------------------------------- parity with torch.nn
@pytest.mark.parametrize("momentum", [0.1, 0.5, 0.0, 1.0])
def test_batchnorm_matches_torch_step_by_step_running_statistics_included(momentum):
    torch.manual_seed(0)
    bn = random_affine(md.BatchNorm1d(5, eps=1e-3, momentum=momentum, dtype=F64))
    twin = to_torch(bn)
    for step, n in enumerate([2, 7, 3, 16, 2, 9]):                  # ragged batch sizes, N = 2 included
        x = torch.randn(n, 5, dtype=F64) * (1 + step) + step        # shifting statistics
        g = torch.randn(n, 5, dtype=F64)
        bn.zero_grad()
        y, dx = bn(x), None
        dx = bn.backward(g)
        xt = x.clone().requires_grad_(True)
        twin.zero_grad()
        with torch.enable_grad():
            yt = twin(xt)
            yt.backward(g)
        assert_all_close((y, dx, bn.weight.grad, bn.bias.grad, bn.running_mean.data, bn.running_var.data),
                         (yt.detach(), xt.grad, twin.weight.grad, twin.bias.grad, twin.running_mean, twin.running_var))
    assert not torch.equal(bn.running_mean.data, torch.zeros(5, dtype=F64)) or momentum == 0.0
    bn.eval()
    twin.eval()
    x = torch.randn(4, 5, dtype=F64)
    ours, theirs, _ = both(bn, x, torch.randn(4, 5, dtype=F64))
    assert_all_close(ours, theirs)


def test_batchnorm_running_statistics_are_the_formula_with_the_unbiased_variance():
    bn = md.BatchNorm1d(3, momentum=0.25, dtype=F64)
    x = torch.randn(6, 3, dtype=F64) * 2 + 1
    bn(x)
    torch.testing.assert_close(bn.running_mean.data, 0.25 * x.mean(0), **EXACT)
    torch.testing.assert_close(bn.running_var.data, 0.75 + 0.25 * x.var(0, unbiased=True), **EXACT)
    normalised = bn(x)                                              # train mode: biased batch variance
    torch.testing.assert_close(normalised, (x - x.mean(0)) / (x.var(0, unbiased=False) + 1e-5).sqrt(), **EXACT)


def test_batchnorm_eval_mode_uses_the_running_statistics_and_does_not_update_them():
    torch.manual_seed(1)
    bn = random_affine(md.BatchNorm1d(4, dtype=F64))
    for _ in range(5):
        bn(torch.randn(10, 4, dtype=F64) * 3 + 2)
    before = bn.state_dict()
    bn.eval()
    x = torch.randn(6, 4, dtype=F64)
    y = bn(x)
    expected = (x - before["running_mean"]) / (before["running_var"] + bn.eps).sqrt() * bn.weight.data + bn.bias.data
    torch.testing.assert_close(y, expected, **EXACT)
    for k, v in bn.state_dict().items():
        assert torch.equal(v, before[k]), k
    g = torch.randn(6, 4, dtype=F64)
    torch.testing.assert_close(bn.backward(g), g * bn.weight.data / (before["running_var"] + bn.eps).sqrt(), **EXACT)
    torch.testing.assert_close(bn(x[2:3]), y[2:3], **EXACT)              # each row on its own: one row works
    bn.train()
    assert not torch.allclose(bn(x), y)                                  # train mode: the batch's statistics


def test_batchnorm_backward_follows_the_mode_forward_ran_in():
    torch.manual_seed(2)
    bn = random_affine(md.BatchNorm1d(3, dtype=F64))
    x, g = torch.randn(5, 3, dtype=F64), torch.randn(5, 3, dtype=F64)
    reference = md.BatchNorm1d(3, dtype=F64)
    reference.load_state_dict(bn.state_dict())
    reference(x)
    expected = reference.backward(g)
    bn(x)
    bn.eval()                                                            # switched between forward and backward
    torch.testing.assert_close(bn.backward(g), expected, rtol=0, atol=0)


@pytest.mark.parametrize("shape, normalized_shape", [((6, 4), 4), ((6, 4), (4,)), ((5, 3, 4), (3, 4)),
                                                     ((2, 5, 3, 4), (4,)), ((3, 4), (3, 4)), ((4,), 4),
                                                     ((1, 1), 1)])
def test_layernorm_matches_torch(shape, normalized_shape):
    torch.manual_seed(3)
    ln = random_affine(md.LayerNorm(normalized_shape, eps=1e-4, dtype=F64))
    x = torch.randn(*shape, dtype=F64) * 4 + 3
    for mode in (True, False):                                           # no running statistics: the same
        ln.train(mode)
        ours, theirs, _ = both(ln, x, torch.randn(*shape, dtype=F64))
        assert_all_close(ours, theirs)
    report = md.gradcheck(ln, x)
    assert report.ok and report.max_abs_error < 1e-7


def test_layernorm_is_batchnorm_over_the_other_axis():
    """LayerNorm of x equals BatchNorm1d (train mode, γ = 1, β = 0) of xᵀ, transposed back; so do the gradients."""
    torch.manual_seed(4)
    x, g = torch.randn(6, 5, dtype=F64), torch.randn(6, 5, dtype=F64)
    ln, bn = md.LayerNorm(5, dtype=F64), md.BatchNorm1d(6, dtype=F64)
    torch.testing.assert_close(ln(x), bn(x.T).T, **EXACT)
    torch.testing.assert_close(ln.backward(g), bn.backward(g.T).T, **EXACT)


def test_the_shared_backward_is_autograd_of_normalize_for_any_axes():
    torch.manual_seed(5)
    x, g = torch.randn(4, 3, 5, dtype=F64), torch.randn(4, 3, 5, dtype=F64)
    for dims in [(0,), (-1,), (1, 2), (0, 2)]:
        x_hat, inv_std, _, _ = normalize(x, dims, 1e-5)
        xt = x.clone().requires_grad_(True)
        with torch.enable_grad():
            normalize(xt, dims, 1e-5)[0].backward(g)
        torch.testing.assert_close(normalize_backward(g, x_hat, inv_std, dims), xt.grad, **EXACT)


@pytest.mark.parametrize("factory, features", [(lambda: md.BatchNorm1d(4), 4), (lambda: md.LayerNorm(4), 4)])
def test_gradients_accumulate_and_float32_works(factory, features):
    torch.manual_seed(6)
    module = random_affine(factory())
    x, g = torch.randn(8, features), torch.randn(8, features)
    module(x)
    module.backward(g)
    once = [p.grad.clone() for p in module.parameters()]
    module.backward(g)
    for p, first in zip(module.parameters(), once, strict=True):
        torch.testing.assert_close(p.grad, 2 * first)
    ours, theirs, _ = both(module, x, g)
    assert ours[0].dtype == torch.float32
    assert_all_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_everything_works_with_autograd_globally_off():
    torch.manual_seed(7)
    with torch.set_grad_enabled(False):
        model = md.Sequential(md.Linear(3, 4), md.BatchNorm1d(4), md.ReLU(), md.LayerNorm(4), md.Linear(4, 2)).double()
        x = torch.randn(9, 3, dtype=F64)
        y = model(x)
        assert not y.requires_grad
        model.zero_grad()
        dx = model.backward(torch.ones_like(y))
        assert dx.shape == x.shape and all(p.grad.abs().sum() > 0 for p in model.parameters()[:2])
        assert md.gradcheck(model, x).ok
        model.eval()
        assert md.gradcheck(model, x).ok


def test_largest_gradcheck_error_of_the_normalisation_layers_is_rounding_noise():
    torch.manual_seed(8)
    cases = [(random_affine(md.BatchNorm1d(4)), (7, 4)), (random_affine(md.BatchNorm1d(4)).eval(), (7, 4)),
             (random_affine(md.LayerNorm(4)), (7, 4)), (random_affine(md.LayerNorm((2, 3))), (5, 2, 3)),
             (random_affine(md.BatchNorm1d(3)), (2, 3))]
    worst = max(md.gradcheck(m, torch.randn(*shape, dtype=F64) * 2 + 1).max_abs_error for m, shape in cases)
    assert worst < 1e-7, worst


# ---------------------------------------------------------------- a planted bug is caught
class ConstantStatistics(md.BatchNorm1d):
    """The classic mistake: the eval formula in train mode (μ_B and σ_B treated as constants)."""

    def backward(self, grad_output):
        x_hat, inv_std = self._saved("x_hat"), self._saved("inv_std")
        self.weight.grad += (grad_output * x_hat).sum(0)
        self.bias.grad += grad_output.sum(0)
        return grad_output * self.weight.data * inv_std


def test_gradcheck_catches_a_backward_that_ignores_the_batch_statistics():
    torch.manual_seed(9)
    report = md.gradcheck(random_affine(ConstantStatistics(3)), torch.randn(6, 3, dtype=F64), raise_on_failure=False)
    assert {r.name: r.passed for r in report.rows} == {"input": False, "weight": True, "bias": True}
    assert md.gradcheck(random_affine(ConstantStatistics(3)).eval(), torch.randn(6, 3, dtype=F64)).ok


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("factory, error, message", [
    (lambda: md.BatchNorm1d(0), ValueError, "BatchNorm1d: num_features must be a positive int, got 0"),
    (lambda: md.BatchNorm1d(2.0), ValueError, "BatchNorm1d: num_features must be a positive int, got 2.0"),
    (lambda: md.BatchNorm1d(True), ValueError, "BatchNorm1d: num_features must be a positive int, got True"),
    (lambda: md.BatchNorm1d(3, eps=0), ValueError, "BatchNorm1d: eps must be > 0 (it keeps 1/√(σ² + ε) finite"),
    (lambda: md.BatchNorm1d(3, eps=-1e-5), ValueError, "BatchNorm1d: eps must be a finite number >= 0, got -1e-05"),
    (lambda: md.BatchNorm1d(3, eps=float("nan")), ValueError, "BatchNorm1d: eps must be a finite number >= 0"),
    (lambda: md.BatchNorm1d(3, momentum=1.5), ValueError,
     "BatchNorm1d: momentum must be a finite number in [0, 1], got 1.5"),
    (lambda: md.BatchNorm1d(3, momentum=None), TypeError, "BatchNorm1d: momentum must be a number, got NoneType"),
    (lambda: md.LayerNorm(0), ValueError, "LayerNorm: normalized_shape must be a positive int, got 0"),
    (lambda: md.LayerNorm((3, 0)), ValueError, "LayerNorm: normalized_shape must be a positive int, got 0"),
    (lambda: md.LayerNorm(()), ValueError,
     "LayerNorm: normalized_shape must be a positive int or a non-empty tuple of them, got ()"),
    (lambda: md.LayerNorm("4"), ValueError,
     "LayerNorm: normalized_shape must be a positive int or a non-empty tuple of them, got '4'"),
    (lambda: md.LayerNorm(4, eps="small"), TypeError, "LayerNorm: eps must be a number, got str"),
])
def test_constructor_errors(factory, error, message):
    with pytest.raises(error, match="^" + re.escape(message)):
        factory()


@pytest.mark.parametrize("module, x, error, message", [
    (md.BatchNorm1d(3), torch.randn(4, 2), ValueError, "BatchNorm1d(3) input: expected shape (N, 3), got (4, 2)"),
    (md.BatchNorm1d(3), torch.randn(4, 3, 5), ValueError, "BatchNorm1d(3) input: expected shape (N, 3), got (4, 3, 5)"),
    (md.BatchNorm1d(3), torch.ones(4, 3, dtype=torch.long), TypeError,
     "BatchNorm1d(3) input: expected a floating-point tensor, got dtype torch.int64"),
    (md.BatchNorm1d(3), torch.randn(4, 3, dtype=F64), TypeError,
     "BatchNorm1d(3) input: expected dtype torch.float32 (the parameters' dtype), got torch.float64"),
    (md.BatchNorm1d(3), torch.randn(1, 3), ValueError,
     "BatchNorm1d(3) input: expected more than 1 value per channel when training, got shape (1, 3) "
     "(use a batch of 2 or more, or eval mode)"),
    (md.BatchNorm1d(3), torch.randn(0, 3), ValueError,
     "BatchNorm1d(3) input: expected more than 1 value per channel when training, got shape (0, 3)"),
    (md.LayerNorm(3), torch.randn(4, 2), ValueError, "LayerNorm((3,)) input: expected shape (..., 3), got (4, 2)"),
    (md.LayerNorm((2, 3)), torch.randn(4, 3), ValueError,
     "LayerNorm((2, 3)) input: expected shape (..., 2, 3), got (4, 3)"),
    (md.LayerNorm((2, 3)), torch.randn(3), ValueError, "LayerNorm((2, 3)) input: expected shape (..., 2, 3), got (3,)"),
    (md.LayerNorm(3), [1.0, 2.0, 3.0], TypeError, "LayerNorm((3,)) input: expected a torch.Tensor, got list"),
])
def test_input_errors_name_the_layer(module, x, error, message):
    with pytest.raises(error, match="^" + re.escape(message)):
        module(x)


def test_one_row_in_eval_mode_is_fine_and_torch_refuses_one_row_in_train_mode_too():
    bn = md.BatchNorm1d(3)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        to_torch(bn)(torch.randn(1, 3))
    assert bn.eval()(torch.randn(1, 3)).shape == (1, 3)
    assert bn(torch.randn(0, 3)).shape == (0, 3)


@pytest.mark.parametrize("module", [md.BatchNorm1d(3), md.LayerNorm(3)])
def test_backward_errors(module):
    name = module._name()
    with pytest.raises(RuntimeError, match=re.escape(f"{type(module).__name__}.backward() called before forward()")):
        module.backward(torch.ones(4, 3))
    module(torch.randn(4, 3))
    with pytest.raises(ValueError, match=re.escape(f"{name}.backward(): grad_output shape (4, 2) differs from the "
                                                   f"last output's shape (4, 3)")):
        module.backward(torch.ones(4, 2))
    assert all(not p.grad.any() for p in module.parameters())               # nothing accumulated


def test_repr_reads_like_torch():
    assert repr(md.BatchNorm1d(3)) == "BatchNorm1d(3, eps=1e-05, momentum=0.1)"
    assert repr(md.LayerNorm((2, 3), eps=1e-6)) == "LayerNorm((2, 3), eps=1e-06)"
    assert repr(to_torch(md.BatchNorm1d(3))).startswith("BatchNorm1d(3, eps=1e-05, momentum=0.1")
    assert repr(to_torch(md.LayerNorm((2, 3), eps=1e-6))).startswith("LayerNorm((2, 3), eps=1e-06")


# ---------------------------------------------------------------- a failed call changes nothing
def snapshot(module):
    return ({k: v.clone() for k, v in module.state_dict().items()}, [p.grad.clone() for p in module.parameters()])


def assert_unchanged(module, before):
    state, grads = snapshot(module)
    assert list(state) == list(before[0])
    for k in state:
        assert torch.equal(state[k], before[0][k]), f"{k} changed"
    for g, g0 in zip(grads, before[1], strict=True):
        assert torch.equal(g, g0)


@pytest.mark.parametrize("bad", [torch.randn(1, 3, dtype=F64), torch.randn(0, 3, dtype=F64),
                                 torch.randn(5, 2, dtype=F64), torch.randn(5, 3)])
def test_a_failed_forward_leaves_the_statistics_and_the_cache_as_they_were(bad):
    torch.manual_seed(10)
    bn = random_affine(md.BatchNorm1d(3, dtype=F64))
    x, g = torch.randn(5, 3, dtype=F64), torch.randn(5, 3, dtype=F64)
    bn(x)
    expected = bn.backward(g)
    bn.zero_grad()
    before = snapshot(bn)
    with pytest.raises((ValueError, TypeError)):
        bn(bad)
    assert_unchanged(bn, before)
    torch.testing.assert_close(bn.backward(g), expected, rtol=0, atol=0)    # the last good forward's cache


@pytest.mark.parametrize("factory", [lambda: md.BatchNorm1d(3), lambda: md.LayerNorm(3)])
def test_a_failed_backward_accumulates_nothing_and_a_cache_changed_in_place_is_refused(factory):
    module = random_affine(factory().double())
    x, g = torch.randn(5, 3, dtype=F64), torch.randn(5, 3, dtype=F64)
    module(x)
    before = snapshot(module)
    with pytest.raises(ValueError):
        module.backward(g[:4])
    assert_unchanged(module, before)
    for name in ("x_hat", "inv_std"):
        module(x)
        before = snapshot(module)
        getattr(module, name).mul_(2.0)                                    # a cache changed in place
        with pytest.raises(RuntimeError, match=re.escape(f"{module._name()}.backward(): the tensor '{name}' cached "
                                                         f"by forward was modified in place since")):
            module.backward(g)
        assert_unchanged(module, before)
    module(x)
    x.mul_(3.0)                                                            # the input: not needed by backward
    module.backward(g)


def test_a_failed_load_state_dict_leaves_the_running_statistics():
    bn = md.BatchNorm1d(3)
    bn(torch.randn(6, 3))
    before = snapshot(bn)
    state = {k: torch.full_like(v, 7.0) for k, v in bn.state_dict().items()}
    state["running_var"] = torch.ones(4)
    with pytest.raises(ValueError, match=re.escape("key 'running_var': expected shape (3,), got (4,)")):
        bn.load_state_dict(state)
    assert_unchanged(bn, before)
    del state["running_var"]
    with pytest.raises(ValueError, match="missing key 'running_var'"):
        bn.load_state_dict(state)
    assert_unchanged(bn, before)


# ---------------------------------------------------------------- buffers: state_dict, save, load, to
def test_the_running_statistics_are_buffers_saved_and_loaded_but_never_trained(tmp_path):
    torch.manual_seed(11)
    model = md.Sequential(md.Linear(2, 4), md.BatchNorm1d(4), md.ReLU(), md.LayerNorm(4), md.Linear(4, 2))
    twin_keys = [k for k in to_torch(model).state_dict() if not k.endswith("num_batches_tracked")]
    assert list(model.state_dict()) == twin_keys == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "3.weight", "3.bias",
        "4.weight", "4.bias"]
    assert [n for n, _ in model.named_parameters()] == [k for k in twin_keys if "running" not in k]
    assert [n for n, _ in model.named_buffers()] == ["1.running_mean", "1.running_var"]
    opt = md.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        out = model(torch.randn(16, 2) * 3 + 1)
        model.zero_grad()
        model.backward(torch.ones_like(out))
        opt.step()
    assert not torch.equal(model[1].running_mean.data, torch.zeros(4))
    md.save(model, tmp_path / "bn.pt")
    loaded = md.load(tmp_path / "bn.pt")
    torch.manual_seed(12)
    fresh = md.Sequential(md.Linear(2, 4), md.BatchNorm1d(4), md.ReLU(), md.LayerNorm(4), md.Linear(4, 2))
    fresh.load_state_dict(loaded)
    x = torch.randn(5, 2)
    model.eval()
    fresh.eval()
    assert torch.equal(fresh(x), model(x))                                 # eval mode: the running statistics
    for (k, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    twin = to_torch(fresh)                                                 # torch reads the same state
    torch.testing.assert_close(twin(x), model(x), rtol=1e-6, atol=1e-6)


def test_to_moves_the_buffers_and_the_state_dict_holds_copies():
    bn = md.BatchNorm1d(3)
    bn(torch.randn(4, 3))
    state = bn.state_dict()
    bn.double()
    assert bn.running_mean.data.dtype == bn.running_var.data.dtype == F64
    assert bn(torch.randn(4, 3, dtype=F64)).dtype == F64
    assert not torch.equal(bn.state_dict()["running_mean"].float(), state["running_mean"])   # a copy, not a view


# ---------------------------------------------------------------- fit() with a BatchNorm1d
def disk_run(batchnorm=True, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    (x, y), (tx, ty) = md.data.disk(400, generator=g, dtype=dtype), md.data.disk(400, generator=g, dtype=dtype)
    torch.manual_seed(seed)
    layers = [md.Linear(2, 16)] + ([md.BatchNorm1d(16)] if batchnorm else []) + [md.ReLU(), md.Linear(16, 2)]
    model = md.Sequential(*layers).to(dtype)
    criterion = md.CrossEntropyLoss()
    return model, criterion, md.SGD(model.parameters(), lr=0.1, momentum=0.9), (x, y), (tx, ty)


def test_fit_with_a_batchnorm_runs_the_readable_step_and_trains():
    model, criterion, optimizer, train, test = disk_run()
    reason = fast.supports(model, criterion, optimizer)
    assert reason is not None and "module 1 (BatchNorm1d) is not supported" in reason
    h = md.fit(model, criterion, optimizer, train, test, epochs=20, batch_size=50, generator=0)
    assert h.config["step"] == "readable" and h.diverged is None
    # measured: loss 0.73 -> 0.22, test error 4% (eval mode, running statistics; 50% is chance)
    assert h.train_loss[-1] < 0.5 * h.train_loss[0] and h.test_error[-1] < 0.15, (h.train_loss, h.test_error)
    assert model.training and not torch.equal(model[1].running_var.data, torch.ones(16))
    assert md.fast.supports(*disk_run(batchnorm=False)[:3]) is None          # the control: compiled without it


def test_fit_with_a_batchnorm_equals_the_torch_twin_run():
    """A whole run in float64: minidl's readable step against torch.nn.BatchNorm1d + autograd; the error rates
    (eval mode, from the running statistics) and the losses coincide."""
    model, criterion, optimizer, train, test = disk_run(seed=3, dtype=F64)
    twin = to_torch(model)
    t_crit, t_opt = torch_criterion(criterion), torch_optimizer(optimizer, twin)
    h = md.fit(model, criterion, optimizer, train, test, epochs=6, batch_size=64, generator=5)
    t = fit_twin(twin, t_crit, t_opt, train, test, epochs=6, batch_size=64, generator=5)
    assert t.train_error == h.train_error and t.test_error == h.test_error
    torch.testing.assert_close(torch.tensor(t.train_loss + t.test_loss), torch.tensor(h.train_loss + h.test_loss),
                               **EXACT)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, twin.state_dict()[k], **EXACT)
