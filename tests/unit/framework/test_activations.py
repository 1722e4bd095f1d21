"""The activations: errors and the one activation table (backward passes: test_gradients.py)."""

import pytest
import torch

import minidl as md


def test_softmax_dim_out_of_range():
    with pytest.raises(ValueError, match=r"Softmax\(dim=1\) input: expected at least 2 dimensions, got shape \(3,\)"):
        md.Softmax()(torch.randn(3))


def test_the_activation_table_is_the_one_every_floor_uses():
    from minidl.framework.activations import ACTIVATIONS
    from minidl.tools import cli

    assert ACTIVATIONS == {"relu": md.ReLU, "leaky_relu": md.LeakyReLU, "tanh": md.Tanh, "sigmoid": md.Sigmoid}
    assert [type(m).__name__ for m in md.build_mlp((2, 3, 3, 2), activation=["tanh", "sigmoid"])][1::2] == \
        ["Tanh", "Sigmoid"]
    choices = next(a.choices for a in cli.build_parser()._actions if "--activation" in a.option_strings)
    assert list(choices) == list(ACTIVATIONS)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_each_activation_matches_torch(name):
    from minidl.framework.activations import ACTIVATIONS

    x = torch.linspace(-4, 4, 81, dtype=torch.float64).reshape(9, 9)
    theirs = {"relu": torch.relu, "leaky_relu": torch.nn.functional.leaky_relu, "tanh": torch.tanh,
              "sigmoid": torch.sigmoid}[name]
    torch.testing.assert_close(ACTIVATIONS[name]()(x), theirs(x))


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_backward_multiplies_into_a_new_tensor_leaving_grad_output_and_the_cache_alone(name):
    """backward writes f' ⊙ dL/dy into the tensor derivative() returns: it must be a new one."""
    from minidl.framework.activations import ACTIVATIONS

    act = ACTIVATIONS[name]()
    x = torch.linspace(-2, 2, 12, dtype=torch.float64).reshape(3, 4)
    act(x)
    g = torch.randn(3, 4, dtype=torch.float64)
    g_before, saved_before = g.clone(), act.saved.clone()
    first = act.backward(g)
    second = act.backward(g)
    assert first is not g and first is not act.saved and torch.equal(first, second)
    assert torch.equal(g, g_before) and torch.equal(act.saved, saved_before)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_relu_backward_in_one_pass_is_derivative_times_grad_output(dtype):
    """ReLU's backward (one pass, torch's threshold_backward) gives derivative(y) ⊙ dL/dy, the kink (x = 0)
    included; a subclass's own derivative (a learner's) is used instead, as for every other activation."""
    x = torch.randn(64, 32, dtype=dtype)
    x[0, :8] = 0.0
    relu = md.ReLU()
    y = relu(x)
    g = torch.randn_like(x)
    assert torch.equal(relu.backward(g), relu.derivative(y) * g)
    assert torch.equal(relu.backward(g)[0, :8], torch.zeros(8, dtype=dtype))

    class HalfReLU(md.ReLU):
        def derivative(self, y):
            return 0.5 * y.sign()
    half = HalfReLU()
    half(x)
    assert torch.equal(half.backward(g), 0.5 * y.sign() * g)
