"""build_mlp and the one builder from names: Recipe -> (model, criterion, optimizer), and its code."""

import pytest
import torch

import minidl as md
from minidl.training.models import Recipe, build, recipe_code


def weights(model):
    return [p.data for p in model.parameters()]


def test_build_makes_the_course_setup_from_names():
    model, criterion, optimizer = build(Recipe(seed=0, momentum=0.9))
    torch.manual_seed(0)
    course = md.build_mlp((2, 25, 25, 25, 2), activation="relu")
    assert repr(model) == repr(course)
    assert all(torch.equal(a, b) for a, b in zip(weights(model), weights(course), strict=True))
    assert isinstance(criterion, md.MSELoss) and isinstance(optimizer, md.SGD)
    assert optimizer.param_groups[0]["momentum"] == 0.9 and optimizer.lr == 0.1
    assert all(a is b for a, b in zip(optimizer.param_groups[0]["params"], model.parameters(), strict=True))


def test_per_layer_activations_init_loss_optimizer_and_dtype():
    r = Recipe((2, 8, 8, 8, 3), ("relu", "relu", "tanh"), init="uniform", init_scale=0.5, loss="ce",
               optimizer="adam", lr=0.01, dtype=torch.float64, seed=3)
    model, criterion, optimizer = build(r)
    assert [type(m).__name__ for m in model][1::2] == ["ReLU", "ReLU", "Tanh"]
    assert all(p.data.dtype == torch.float64 and p.data.abs().max() <= 0.5 for p in model.parameters())
    assert isinstance(criterion, md.CrossEntropyLoss) and isinstance(optimizer, md.Adam) and optimizer.lr == 0.01


def test_recipe_code_builds_the_same_objects_when_run():
    r = Recipe((2, 6, 6, 2), ("tanh", "relu"), dropout=0.1, init="kaiming_uniform", loss="ce",
               optimizer="sgd", lr=0.05, momentum=0.8, nesterov=True, seed=11)
    model, _, _ = build(r)
    scope = {"torch": torch, "md": md}
    exec(recipe_code(r), scope)
    assert repr(scope["model"]) == repr(model)
    assert all(torch.equal(a, b) for a, b in zip(weights(scope["model"]), weights(model), strict=True))
    g = scope["optimizer"].param_groups[0]
    assert (g["momentum"], g["nesterov"], scope["optimizer"].lr) == (0.8, True, 0.05)
    assert isinstance(scope["criterion"], md.CrossEntropyLoss)


@pytest.mark.parametrize("recipe, error, message", [
    (Recipe(loss="hinge"), ValueError, "build: unknown loss 'hinge'; valid names: mse, ce"),
    (Recipe(optimizer="rmsprop"), ValueError, "build: unknown optimizer 'rmsprop'; valid names: sgd, adam"),
    (Recipe(activation=("relu", "tanh")), ValueError, r"build: expected 3 hidden activations .* got 2"),
    (Recipe(activation="gelu"), ValueError, "build_mlp: unknown activation 'gelu'"),
    (Recipe(lr=-0.1), ValueError, "build: lr must be a finite number >= 0, got -0.1"),
    (Recipe(momentum=1.5), ValueError, r"build: momentum must be a finite number in \[0, 1\], got 1.5"),
    ("sgd", TypeError, "build: expected a Recipe, got str"),
])
def test_build_errors_say_where_what_was_expected_and_what_came(recipe, error, message):
    with pytest.raises(error, match=message):
        build(recipe)


def test_build_mlp_takes_one_activation_name_per_hidden_layer():
    model = md.build_mlp((2, 4, 4, 2), activation=["sigmoid", "leaky_relu"])
    assert [type(m).__name__ for m in model] == ["Linear", "Sigmoid", "Linear", "LeakyReLU", "Linear"]
    with pytest.raises(ValueError, match=r"build_mlp: expected 2 activation names for sizes \(2, 4, 4, 2\), got 1"):
        md.build_mlp((2, 4, 4, 2), activation=["relu"])
