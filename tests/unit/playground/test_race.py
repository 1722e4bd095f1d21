"""The race: optimizers trained side by side on the app's data and seed, one training task in the app.

Time is faked where slices matter: the clock advances 1 ms each time it is read (slices.py's tests do
the same), so a slice of 5 ms is a handful of batches and epochs are cut in the middle.
"""

import asyncio
import random
import re

import numpy as np
import pytest
import torch
from playground_async import FakeClock, run

import minidl as md
from minidl.playground import Playground
from minidl.playground.race import DEFAULTS, racer_recipe
from minidl.training.models import Recipe, build


@pytest.fixture
def app():
    app = Playground(canvas="image")
    app.points.value = 400                                   # 200 training points: quick epochs
    return app


def others(app):
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]


def test_the_racers_share_data_seed_and_initial_weights(app):
    race = app.race
    racers = race.build()
    assert [r.label for r in racers] == ["SGD lr=0.1", "Momentum lr=0.1 m=0.9", "Nesterov lr=0.1 m=0.9",
                                         "Adam lr=0.01"]
    assert all(r.run.data is app.run.data for r in racers)
    first = racers[0].run.model.parameters()
    for r in racers[1:]:
        for p, q in zip(first, r.run.model.parameters(), strict=True):
            assert torch.equal(p.data, q.data)
        assert torch.equal(r.run.generator.get_state(), racers[0].run.generator.get_state())
    for p, q in zip(first, app.model.parameters(), strict=True):       # the app's seed: the app's weights
        assert torch.equal(p.data, q.data)
    kinds = [(type(r.run.optim).__name__, r.recipe.momentum if hasattr(r, "recipe") else None) for r in racers]
    assert [k for k, _ in kinds] == ["SGD", "SGD", "SGD", "Adam"]
    assert [r.run.recipe.nesterov for r in racers] == [False, False, True, False]
    assert [r.run.recipe.momentum for r in racers] == [0.0, 0.9, 0.9, 0.0]
    assert all(r.run.recipe.sizes == app.recipe().sizes for r in racers)


def test_each_racers_history_is_that_of_fit_alone(app):
    """Round-robin slices cut epochs in the middle; each racer still records what fit records alone."""
    app.batch.value = 10
    race = app.race
    race.clock = FakeClock()
    race.build()
    cuts = 0
    while min(r.run.epoch for r in race.racers) < 3:
        race.round(0.005)
        cuts += sum(r.run.slicer.epoch is not None for r in race.racers)
    assert cuts > 10                                               # slices did end inside epochs
    for r in race.racers:
        recipe = r.run.recipe
        model, criterion, optim = build(recipe)
        d = app.run.data
        alone = md.fit(model, criterion, optim, d.train, d.test, epochs=r.run.epoch, batch_size=10,
                       generator=recipe.seed, progress=False)
        assert r.run.history.train_loss == alone.train_loss, r.label
        assert r.run.history.test_error == alone.test_error, r.label
    losses = [r.run.history.train_loss[-1] for r in race.racers]
    assert len(set(losses)) == 4                                  # the optimizers do differ


def test_start_pause_and_resume(app):
    race = app.race

    async def scenario():
        race.start_button.click()
        assert race.running and race.start_button.description == "Pause race"
        while min(r.run.epoch for r in race.racers) < 2:
            await asyncio.sleep(0.01)
        race.start_button.click()                                  # Pause race
        assert not race.running and race._task is None and race.start_button.description == "Start race"
        stopped = [r.run.epoch for r in race.racers]
        await asyncio.sleep(0.1)
        assert [r.run.epoch for r in race.racers] == stopped
        race.start_button.click()                                  # resume where they were
        while min(r.run.epoch for r in race.racers) <= max(stopped):
            await asyncio.sleep(0.01)
        race.pause()
        await asyncio.sleep(0.01)
        assert others(app) == []
        return stopped
    stopped = run(scenario())
    assert all(r.run.epoch > s for r, s in zip(race.racers, stopped, strict=True))
    assert app.epoch == 0                                         # the app's run did not train
    assert all("epochs ·" in row["info"].value and "ms/epoch" in row["info"].value for row in race.rows)


def test_the_race_and_the_app_never_train_together(app):
    race = app.race

    async def scenario():
        app.play.click()
        await asyncio.sleep(0.05)
        assert app.running
        race.start_button.click()                                  # the race stops the app first
        assert race.running and not app.running and app._task is None
        paused_at = app.epoch
        while min(r.run.epoch for r in race.racers) < 2:
            await asyncio.sleep(0.01)
        assert app.epoch == paused_at and len(others(app)) == 1
        app.step_button.click()                                    # Step stops it too
        assert not race.running and race._task is None and not app.running
        race.start_button.click()
        assert race.running
        app.play.click()                                           # Play stops the race
        assert app.running and not race.running and race._task is None
        await asyncio.sleep(0.05)
        app.pause()
        while app._task is not None:
            await asyncio.sleep(0.005)
    run(scenario())


def test_200_random_changes_leave_exactly_one_training_task(app):
    race, rng = app.race, random.Random(0)
    actions = [
        lambda: app.play.click(), lambda: race.start_button.click(), lambda: app.step_button.click(),
        lambda: app.reset_button.click(), lambda: setattr(app.lr, "value", rng.choice([0.01, 0.1, 0.3])),
        lambda: setattr(app.widths[0], "value", rng.choice([3, 8, 25])),
        lambda: setattr(app.layers, "value", rng.choice([0, 1, 2, 3])),
        lambda: setattr(race.rows[rng.randrange(4)]["lr"], "value", rng.choice([0.01, 0.1, 1.0])),
        lambda: setattr(race.rows[rng.randrange(4)]["on"], "value", rng.random() < 0.7),
        lambda: setattr(race.rows[rng.randrange(4)]["optimizer"], "value", rng.choice(["SGD", "Nesterov", "Adam"])),
        lambda: setattr(app.batch, "value", rng.choice([10, 100])),
        lambda: app.hidden_space.layer.options and setattr(app.hidden_space.layer, "value",
                                                           app.hidden_space.layer.options[-1][1]),
    ]

    async def scenario():
        trained_together = 0
        for _ in range(200):
            rng.choice(actions)()
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            assert not (app.running and race.running)
            assert app._task is None or race._task is None
            assert len(others(app)) <= 1, others(app)
            trained_together += app.running and race.running
        app.pause()
        race.pause()
        while app._task is not None:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.01)
        assert others(app) == []
    run(scenario())
    assert "Error" not in app.status.value and "Error" not in race.status.value


def test_a_racer_that_diverges_stops_and_the_others_go_on(app):
    race = app.race
    race.rows[0]["lr"].value = 10.0                                # SGD at lr 10 on MSE diverges
    race.build()
    for _ in range(6):
        race.round()
    sgd, rest = race.racers[0], race.racers[1:]
    assert sgd.message is not None and "diverged" in sgd.message
    stopped_at = sgd.run.epoch
    before = [r.run.epoch for r in rest]
    race.round()
    assert sgd.run.epoch == stopped_at and [r.run.epoch for r in rest] == [b + 1 for b in before]
    race.draw()
    assert re.search(r"diverged at epoch \d+ — lower the learning rate \(lr=10\)</span>", race.rows[0]["info"].value)
    assert "epochs" in race.rows[1]["info"].value


def test_a_new_run_in_the_app_rebuilds_the_racers(app):
    race = app.race
    race.build()
    race.round()
    assert race.racers[0].run.epoch == 1
    app.widths[0].value = 7                                       # a new network in the app
    assert race.racers is None
    race.build()
    assert all(r.run.recipe.sizes[1] == 7 and r.run.epoch == 0 for r in race.racers)
    race.rows[3]["on"].value = False                              # a row off: three racers
    assert race.racers is None and len(race.build()) == 3
    race.open = True                                              # open: a new run is drawn at once
    race.draw()
    app.seed.value = 5                                            # new data
    assert app.status.value == "" and race.racers is not None and race.racers[0].run.data is app.run.data
    assert race.rows[0]["info"].value.startswith("<b>0</b> epochs")
    dots = race.picture.dots[0][0].get_data()[0]
    assert np.array_equal(dots, app.run.points["train"][0][app.run.points["train"][1] == 0, 0])


def test_the_picture_shows_a_curve_per_racer(app):
    race = app.race
    race.open = True
    race.rows[2]["on"].value = False
    race.build()
    for _ in range(3):
        race.round()
    race.draw()
    shown = [c for c in race.picture.curves if c.get_visible()]
    assert len(shown) == 3 and all(len(c.get_xdata()) == 3 for c in shown)
    assert [t.get_text() for t in race.picture.ax_loss.get_legend().get_texts()] == [
        "SGD lr=0.1", "Momentum lr=0.1 m=0.9", "Adam lr=0.01"]
    assert sum(a.get_visible() for a in race.picture.ax_small) == 3
    assert race.picture.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    pictures = [p.get_array() for p in race.picture.pictures[:3]]
    assert not np.allclose(pictures[0], pictures[2])               # each racer its own boundary


def test_a_row_becomes_a_recipe():
    base = Recipe(seed=3)
    r = racer_recipe(base, "Nesterov", 0.05, 0.0)
    assert (r.optimizer, r.lr, r.nesterov, r.seed) == ("sgd", 0.05, True, 3) and r.momentum > 0
    assert racer_recipe(base, "Adam", 0.01, 0.9).momentum == 0.0
    assert len(DEFAULTS) == 4
    with pytest.raises(ValueError, match="Race: optimizer must be one of"):
        racer_recipe(base, "RMSprop", 0.1, 0.0)


def test_a_race_that_cannot_start_says_why_and_nothing_trains(app, monkeypatch):
    race = app.race
    monkeypatch.setattr(race, "build", lambda: (_ for _ in ()).throw(ValueError("no racers\nmore")))
    race.start_button.click()
    assert race.status.value == "<span style='color:#C00000'>Error: ValueError: no racers</span>"
    assert not race.running and race._task is None and race.start_button.description == "Start race"
