"""run.py: the data (k classes, input features of the standardised points), probabilities, the live settings."""

import numpy as np
import pytest
import torch

import minidl as md
from minidl.playground.run import Data, DataSpec, MinidlRun, probabilities, takes_classes
from minidl.tools.viz import decision_grid
from minidl.training.models import Recipe


def test_mse_scores_become_their_projection_on_the_simplex_which_for_two_classes_is_todays_map():
    torch.manual_seed(0)
    out = 2 * torch.randn(500, 2, dtype=torch.float64)
    p = probabilities(out, "scores")
    torch.testing.assert_close(p[:, 1], ((out[:, 1] - out[:, 0] + 1) / 2).clamp(0, 1))   # viz.decision_grid's
    for k in (3, 4, 5):
        out = 2 * torch.randn(500, k, dtype=torch.float64)
        p = probabilities(out, "scores")
        assert (p >= 0).all() and torch.allclose(p.sum(dim=1), torch.ones(500, dtype=torch.float64))
        assert torch.equal(p.argmax(dim=1), out.argmax(dim=1))                     # the predicted class is kept
        nearest = ((out - p) ** 2).sum(dim=1)              # no other distribution is nearer: try random ones
        other = torch.distributions.Dirichlet(torch.ones(k, dtype=torch.float64)).sample((500,))
        assert (nearest <= ((out - other) ** 2).sum(dim=1) + 1e-12).all()
    corner = torch.tensor([[0.0, 1.0, 0.0]])
    torch.testing.assert_close(probabilities(corner, "scores"), corner)           # a one-hot score is certain
    torch.testing.assert_close(probabilities(out, "softmax"), torch.softmax(out, dim=1))
    with pytest.raises(ValueError, match="probabilities: output must be 'softmax' or 'scores', got 'odds'"):
        probabilities(out, "odds")


def test_the_boundary_of_two_classes_is_the_map_drawn_before():
    run = MinidlRun(Data.make(DataSpec()), Recipe(seed=0))
    p = run.boundary(20)
    assert p.shape == (20, 20, 2) and np.allclose(p.sum(axis=2), 1)
    before = decision_grid(run.forward, (0, 1, 0, 1), 20, "scores", run.inputs)[2]
    np.testing.assert_allclose(p[:, :, 1], before, atol=1e-6)


@pytest.mark.parametrize("name,k", [("gaussians", 3), ("spiral", 5), ("disk", 2)])
def test_data_with_k_classes(name, k):
    d = Data.make(DataSpec(name, 500, classes=k))
    assert d.classes == k and takes_classes(name) == (name != "disk")
    assert set(d.raw["y_train"].tolist()) | set(d.raw["y_test"].tolist()) == set(range(k))
    run = MinidlRun(d, Recipe((2, 8, k), seed=0, loss="ce"))
    assert run.classes == k and run.boundary(10).shape == (10, 10, k)


def test_input_features_are_computed_from_the_standardised_points():
    names = ("x1", "x1^2", "x1*x2", "sin(x2)")
    d = Data.make(DataSpec(features=names))
    x = d.raw["x_train"]
    z, _, _, _ = md.data.standardize(x, d.raw["x_test"])
    assert d.width == 4
    torch.testing.assert_close(d.train[0], md.input_features(z, names))
    n = len(x)
    assert float(d.train[0][:, 1].mean()) == pytest.approx((n - 1) / n)  # x1² of a standardised x1 (std: n − 1)
    torch.testing.assert_close(d.transform(x), d.train[0])              # the views evaluate the same inputs
    raw = Data.make(DataSpec(features=names, standardize=False))
    torch.testing.assert_close(raw.train[0], md.input_features(x, names))
    with pytest.raises(ValueError, match="Data.make: expected at least one input feature, got none"):
        Data.make(DataSpec(features=()))


@pytest.mark.parametrize("schedule", ["step", "cosine"])
def test_the_lr_slider_sets_the_base_lr_of_a_schedule(schedule):
    recipe = Recipe(seed=0, schedule=schedule, step_size=2, gamma=0.5, t_max=6, lr=0.1)
    run, twin = (MinidlRun(Data.make(DataSpec(points=200)), recipe) for _ in range(2))
    run.train(100, epochs=3)
    assert run.base_lr == 0.1 and run.lr < 0.1
    before = run.lr
    run.set_lr(0.2)                                   # the base doubles: the lr in force doubles with it
    assert run.base_lr == 0.2 and run.lr == pytest.approx(2 * before)
    run.train(100, epochs=2)
    twin_recipe = Recipe(seed=0, schedule=schedule, step_size=2, gamma=0.5, t_max=6, lr=0.2)
    twin = MinidlRun(Data.make(DataSpec(points=200)), twin_recipe)
    twin.train(100, epochs=5)                          # the schedule with base 0.2 from the start: the same lrs now
    assert run.history.lr[3:] == pytest.approx(twin.history.lr[3:]) and run.lr == pytest.approx(twin.lr)
    assert run.changed_live == {"lr"}


@pytest.mark.parametrize("output", ["scores", "softmax"])
def test_a_row_with_non_finite_outputs_reads_as_uniform(output):
    """A diverging racer's network gave inf scores: the projection's support was 0 and gather(-1) raised."""
    out = torch.tensor([[float("inf"), 0.0, 1.0], [float("nan"), 0.0, 0.0], [2.0, 0.0, -1.0]])
    p = probabilities(out, output)
    assert torch.equal(p[:2], torch.full((2, 3), 1 / 3))
    assert torch.isfinite(p[2]).all() and abs(float(p[2].sum()) - 1) < 1e-6 and int(p[2].argmax()) == 0
