"""build_mlp and the one builder from names: Recipe -> (model, criterion, optimizer), and its code."""

import pytest
import torch

import minidl as md
from minidl.training.models import SCHEDULES, Recipe, build, build_scheduler, recipe_code


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


def _run(model, criterion, optimizer, scheduler, data, epochs=5):
    (x, y), (tx, ty) = data
    return md.fit(model, criterion, optimizer, (x, y), (tx, ty), epochs=epochs, batch_size=50, generator=2,
                  scheduler=scheduler, progress=False)


@pytest.mark.parametrize("optimizer, schedule", [("sgd", "step"), ("adam", "cosine"), ("sgd", "constant")])
def test_recipe_code_with_regularisation_and_a_schedule_runs_and_reproduces_the_run(optimizer, schedule):
    r = Recipe((2, 8, 8, 3), "tanh", loss="ce", optimizer=optimizer, lr=0.05, momentum=0.5, weight_decay=1e-3,
               l1=2e-4, schedule=schedule, step_size=2, gamma=0.3, t_max=4, dtype=torch.float64, seed=5)
    code = recipe_code(r)
    assert "weight_decay=0.001, l1=0.0002)" in code
    assert ("scheduler = " in code) == (schedule != "constant")
    data = [md.data.spiral(150, classes=3, generator=g, dtype=torch.float64) for g in (0, 1)]
    model, criterion, opt = build(r)
    h = _run(model, criterion, opt, build_scheduler(r, opt), data)
    scope = {"torch": torch, "md": md}
    exec(code, scope)
    h2 = _run(scope["model"], scope["criterion"], scope["optimizer"], scope.get("scheduler"), data)
    assert h.lr == h2.lr and h.train_loss == h2.train_loss and h.test_error == h2.test_error
    assert all(torch.equal(a, b) for a, b in zip(weights(model), weights(scope["model"]), strict=True))
    g = scope["optimizer"].param_groups[0]
    mine = opt.param_groups[0]
    assert (g["weight_decay"], g["l1"]) == (1e-3, 2e-4) == (mine["weight_decay"], mine["l1"])
    if schedule != "constant":
        assert h.lr[0] != h.lr[-1]                                  # the schedule did move the lr
    plain = recipe_code(Recipe())
    assert "weight_decay" not in plain and "l1" not in plain and "scheduler" not in plain


def test_build_scheduler_makes_the_named_schedule_on_the_optimizer():
    assert SCHEDULES == ("constant", "step", "cosine")
    _, _, opt = build(Recipe(seed=0))
    assert build_scheduler(Recipe(), opt) is None
    step = build_scheduler(Recipe(schedule="step", step_size=3, gamma=0.1), opt)
    assert isinstance(step, md.optim.StepLR) and (step.step_size, step.gamma) == (3, 0.1) and step.optimizer is opt
    cosine = build_scheduler(Recipe(schedule="cosine", t_max=7), opt)
    assert isinstance(cosine, md.optim.CosineAnnealingLR) and (cosine.T_max, cosine.eta_min) == (7, 0.0)
    with pytest.raises(ValueError, match="^build_scheduler: unknown schedule 'exp'; valid names: constant, step, "
                                         "cosine$"):
        build_scheduler(Recipe(schedule="exp"), opt)
    with pytest.raises(TypeError, match="^build_scheduler: expected a Recipe, got dict$"):
        build_scheduler({}, opt)


def test_weight_decay_and_l1_reach_both_optimizers_and_default_to_off():
    for name, kind in (("sgd", md.SGD), ("adam", md.Adam)):
        _, _, opt = build(Recipe(optimizer=name, weight_decay=0.01, l1=0.001))
        assert type(opt) is kind and (opt.param_groups[0]["weight_decay"], opt.param_groups[0]["l1"]) == (0.01, 0.001)
        _, _, opt = build(Recipe(optimizer=name))
        assert (opt.param_groups[0]["weight_decay"], opt.param_groups[0]["l1"]) == (0.0, 0.0)


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_k_class_networks_train_compiled_and_readable_alike(loss):
    """A 4-arm spiral, sizes[-1] = 4: one-hot MSE or cross-entropy, with L1 and L2; the compiled and the readable
    step give identical error counts, losses and parameters equal to 1e-12 relative (the compiled one rounds its
    own way; test_train's policy)."""
    data = [md.data.spiral(200, classes=4, generator=g, dtype=torch.float64) for g in (0, 1)]
    r = Recipe((2, 16, 16, 4), "tanh", loss=loss, optimizer="adam", lr=0.02, weight_decay=1e-3, l1=1e-4,
               dtype=torch.float64, seed=0)
    runs = []
    for fast in (True, False):
        model, criterion, opt = build(r)
        (x, y), (tx, ty) = data
        h = md.fit(model, criterion, opt, (x, y), (tx, ty), epochs=8, batch_size=40, generator=3, fast=fast,
                   progress=False)
        runs.append((h, model))
    (h, model), (ref_h, ref) = runs
    assert (h.config["step"], ref_h.config["step"]) == ("compiled", "readable")
    assert h.train_error == ref_h.train_error and h.test_error == ref_h.test_error
    for a, b in zip(h.train_loss + h.test_loss, ref_h.train_loss + ref_h.test_loss, strict=True):
        assert abs(a - b) <= 1e-12 * abs(b), (a, b)
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        assert float((p.data - q.data).abs().max()) <= 1e-12 * float(q.data.abs().max())
    assert h.train_loss[-1] < 0.98 * h.train_loss[0] and min(h.train_error) < 0.75   # it trains (chance: 3/4 wrong)
    predictions = md.predict(model, data[1][0])
    assert predictions.shape == (200,) and set(predictions.unique().tolist()) <= {0, 1, 2, 3}


@pytest.mark.parametrize("recipe, error, message", [
    (Recipe(weight_decay=-1e-3), ValueError, r"^build: weight_decay must be a finite number >= 0, got -0.001$"),
    (Recipe(l1=float("nan")), ValueError, r"^build: l1 must be a finite number >= 0, got nan$"),
    (Recipe(l1="0.1"), TypeError, r"^build: l1 must be a number, got str$"),
    (Recipe(schedule="linear"), ValueError, r"^build: unknown schedule 'linear'; valid names: constant, step, cosine$"),
    (Recipe(step_size=0), ValueError, r"^build: step_size must be a positive int, got 0$"),
    (Recipe(t_max=2.5), ValueError, r"^build: t_max must be a positive int, got 2.5$"),
    (Recipe(gamma=0.0), ValueError, r"^build: gamma must be a finite number > 0, got 0.0$"),
    (Recipe(gamma=float("inf")), ValueError, r"^build: gamma must be a finite number, got inf$"),
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
