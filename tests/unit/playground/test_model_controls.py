"""model_controls.py: classes, input features, L1/L2, the schedule and the stop conditions, in the app."""

import asyncio
import re

import pytest
from playground_async import run

from minidl.playground import Playground
from minidl.playground.model_controls import feature_css
from minidl.training.features import FEATURES


@pytest.fixture
def app():
    return Playground(canvas="image")




async def play_until_idle(app, timeout=60.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    app.play.click()
    await asyncio.sleep(0.01)
    while app._task is not None:
        assert loop.time() < end, "training did not stop"
        await asyncio.sleep(0.005)


def test_classes_apply_to_the_data_sets_that_take_them_and_set_the_outputs(app):
    assert app.classes.disabled and "classes: disk has two classes" in app.notes.value
    app.dataset.value = "spiral"
    assert not app.classes.disabled and "classes:" not in app.notes.value
    app.classes.value = 5
    assert app.sizes[-1] == 5 and app.run.classes == 5 and app.frame().boundary.shape[2] == 5
    assert app.confusion_view.value.count("pg-cm-cell") == 25
    app.loss.value = "cross-entropy"
    app.step()
    assert len(app.history.epoch) == 1 and app.frame().confusion.shape == (5, 5)
    app.dataset.value = "moons"                                     # two classes again
    assert app.classes.disabled and app.sizes[-1] == 2 and app.confusion_view.value.count("pg-cm-cell") == 4


def test_the_feature_checkboxes_set_the_first_layers_width(app):
    assert list(app.features) == list(FEATURES) and app.feature_names() == ("x1", "x2")
    assert {feature_css(n) for n in FEATURES} == {"feature-x1", "feature-x2", "feature-x1-2", "feature-x2-2",
                                                  "feature-x1-x2", "feature-sin-x1", "feature-sin-x2"}
    assert all(f"pg-{feature_css(n)}" in box._dom_classes for n, box in app.features.items())
    app.features["x1^2"].value = True
    app.features["sin(x2)"].value = True
    assert app.model[0].weight.shape == (25, 4) and app.run.data.width == 4
    assert app.status.value == ""
    app.step()
    assert app.epoch == 1


def test_turning_every_feature_off_is_refused_and_nothing_changes(app):
    app.features["x1"].value = False                                  # a new run, fed x2 alone
    assert app.feature_names() == ("x2",) and app.model[0].weight.shape == (25, 1)
    app.step()
    run_before, model, epoch = app.run, app.model, app.epoch
    app.features["x2"].value = False                                  # the last one: set back, one red line
    assert app.features["x2"].value is True and app.feature_names() == ("x2",)
    assert app.run is run_before and app.model is model and app.epoch == epoch == 1
    assert "Could not apply" in app.status.value and "at least one input feature" in app.status.value


def test_l1_and_l2_apply_live_to_the_optimizer(app):
    app.step()
    model, epoch = app.model, app.epoch
    app.l2.value = 1e-3
    app.l1.value = 1e-4
    group = app.optim.param_groups[0]
    assert group["weight_decay"] == 1e-3 and group["l1"] == 1e-4
    assert app.model is model and app.epoch == epoch                # live: no reset
    app.step()
    assert app.epoch == epoch + 1


def test_stop_at_epoch_n_pauses_there_exactly_with_a_message(app):
    app.stop_epoch.value = 7
    run(play_until_idle(app))
    assert app.epoch == 7 and not app.running and "stopped at epoch 7" in app.status.value
    run(play_until_idle(app))                                        # Play again: still stopped, nothing trains
    assert app.epoch == 7 and "stopped at epoch 7" in app.status.value
    app.stop_epoch.value = 9
    run(play_until_idle(app))
    assert app.epoch == 9


def test_stop_when_the_test_error_is_low_enough(app):
    app.stop_error.value = 20.0
    run(play_until_idle(app))
    h = app.history
    assert 100 * h.test_error[-1] <= 20.0 and all(100 * e > 20.0 for e in h.test_error[:-1])
    assert "test error" in app.status.value and not app.running


def test_the_time_per_epoch_is_shown_from_the_history(app):
    for _ in range(3):
        app.step()
    app.redraw()
    shown = float(re.search(r"([0-9.]+) ms/epoch", app.epoch_label.value).group(1))
    t = app.history.time
    assert shown == pytest.approx(1000 * (t[-1] - t[0]) / (len(t) - 1), abs=0.006)


def test_hammering_the_model_controls_while_training_leaves_one_task_and_a_consistent_state(app):
    import random
    rng = random.Random(0)
    changes = [(app.dataset, ["spiral", "gaussians", "disk", "xor"]), (app.classes, [2, 3, 4, 5]),
               *((box, [True, False]) for box in app.features.values()), (app.l1, [0.0, 1e-4, 0.01]),
               (app.l2, [0.0, 1e-3, 0.1]), (app.schedule, ["constant", "step", "cosine"]),
               (app.step_size, [1, 3, 50]), (app.t_max, [2, 10]), (app.stop_epoch, [0, 3, 40]),
               (app.stop_error, [0.0, 5.0]), (app.loss, ["MSE", "cross-entropy"])]

    async def scenario():
        for _ in range(200):
            if not app.running:
                app.play.click()
            widget, values = rng.choice(changes)
            widget.value = rng.choice(values)
            await asyncio.sleep(0)
            alive = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert len(alive) <= 1, alive
        app.pause()
        while app._task is not None:
            await asyncio.sleep(0.005)
    run(scenario())
    assert "Error" not in app.status.value, app.status.value
    assert app.feature_names() and app.model[0].weight.shape[1] == len(app.feature_names()) == app.run.data.width
    k = app.n_classes()
    assert app.model[-1].weight.shape[0] == k == app.run.classes
    frame = app.frame()
    assert frame.boundary.shape[2] == k and frame.confusion.shape == (k, k)
    group = app.optim.param_groups[0]
    assert (group["weight_decay"], group["l1"]) == (app.l2.value, app.l1.value)
    assert app.run.recipe.schedule == app.schedule.value


def test_the_schedule_steps_once_per_epoch_and_the_lr_readout_follows_it(app):
    assert app.step_size.layout.display == "none" and app.t_max.layout.display == "none"
    app.step()
    app.schedule.value = "step"                                     # a new run: the schedule counts from epoch 0
    assert app.epoch == 0 and app.step_size.layout.display is None and app.gamma.layout.display is None
    app.step_size.value = 2
    app.gamma.value = 0.5
    for _ in range(4):
        app.step()
    app.redraw()
    assert app.history.lr == pytest.approx([0.1, 0.1, 0.05, 0.05]) and app.run.lr == pytest.approx(0.025)
    assert "lr 0.025" in app.metrics.value and app.lr.value == pytest.approx(0.1)   # the slider: the base lr
    app.schedule.value = "cosine"
    assert app.t_max.layout.display is None and app.step_size.layout.display == "none"
