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
