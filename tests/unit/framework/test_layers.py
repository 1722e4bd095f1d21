"""Linear and Dropout: shapes and errors (their backward passes: the case table in test_gradients.py)."""

import re

import pytest
import torch

import minidl as md


def test_linear_shape_error():
    with pytest.raises(ValueError, match=re.escape("Linear(2, 25) input: expected shape (N, 2), got (100, 3)")):
        md.Linear(2, 25)(torch.randn(100, 3))
    with pytest.raises(ValueError, match=re.escape("expected shape (N, 2), got (2,)")):
        md.Linear(2, 25)(torch.randn(2))


@pytest.mark.parametrize("n_in, n_out", [(2, 25), (25, 2), (30, 20)])
def test_linear_is_initialised_like_torch_nn_linear_by_the_one_default(n_in, n_out):
    torch.manual_seed(7)
    theirs = torch.nn.Linear(n_in, n_out)
    torch.manual_seed(7)
    mine = md.Linear(n_in, n_out)
    assert torch.equal(mine.weight.data, theirs.weight.detach()) and torch.equal(mine.bias.data, theirs.bias.detach())
    torch.manual_seed(7)
    again = md.Linear(n_in, n_out)
    torch.manual_seed(7)
    md.init.linear_default_(again)                      # the same draws: one home for the default
    assert torch.equal(again.weight.data, mine.weight.data) and torch.equal(again.bias.data, mine.bias.data)


def test_linear_without_bias_has_one_parameter_and_no_bias_gradient():
    layer = md.Linear(3, 2, bias=False)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    layer(torch.randn(4, 3))
    grad_x = layer.backward(torch.ones(4, 2))
    assert grad_x.shape == (4, 3) and layer.weight.grad.shape == (2, 3)


def test_linear_backward_without_input_grad_accumulates_the_same_parameter_gradients_and_returns_none():
    torch.manual_seed(0)
    layer, x, g = md.Linear(3, 4, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64), \
        torch.randn(5, 4, dtype=torch.float64)
    layer(x)
    assert layer.backward(g).shape == (5, 3)
    full = [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad()
    assert layer.backward(g, input_grad=False) is None
    assert all(torch.equal(p.grad, f) for p, f in zip(layer.parameters(), full, strict=True))
    layer.zero_grad()
    assert layer.backward_parameters(g) is None
    assert all(torch.equal(p.grad, f) for p, f in zip(layer.parameters(), full, strict=True))


def test_linear_backward_parameters_computes_no_input_gradient():
    """The point of input_grad=False: the product g W (dL/dx, a GEMM as large as dL/dW) is skipped."""
    from torch.overrides import TorchFunctionMode

    class Products(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.shapes = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            if getattr(func, "__name__", "") in ("__matmul__", "matmul", "mm", "addmm_", "addmm"):
                self.shapes.append(tuple(args[-1].shape))
            return func(*args, **(kwargs or {}))

    layer = md.Linear(3, 4)
    layer(torch.randn(5, 3))
    with Products() as full:
        layer.backward(torch.ones(5, 4))
    with Products() as params_only:
        layer.backward_parameters(torch.ones(5, 4))
    assert full.shapes == [(5, 3), (4, 3)]                # gᵀ x, then g W
    assert params_only.shapes == [(5, 3)]                 # gᵀ x only


def test_backward_parameters_runs_a_linear_subclasss_own_backward():
    """A learner's Linear with its own backward (notebook 02) is trained through that backward."""
    calls = []

    class Mine(md.Linear):
        def backward(self, grad_output):                  # no input_grad argument
            calls.append(grad_output.shape)
            x = self._saved("x")
            self.weight.grad += 2 * grad_output.T @ x     # deliberately not Linear's
            return grad_output @ self.weight.data

    torch.manual_seed(0)
    layer, x, g = Mine(3, 2), torch.randn(4, 3), torch.randn(4, 2)
    layer(x)
    layer.backward_parameters(g)
    assert calls == [(4, 2)]
    torch.testing.assert_close(layer.weight.grad, 2 * g.T @ x)
    assert (layer.bias.grad == 0).all()
