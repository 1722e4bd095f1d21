"""Training slices stay short whatever the data size, and slicing changes nothing (issue 12).

Time is faked: the app's clock advances 1 ms each time it is read, and the step reads it once per
batch, so "a slice of 30 ms" is "at most 31 batches". Nothing here measures real time.
"""

import asyncio
import math

import torch
from playground_async import FakeClock, run

from minidl.playground import Playground


def big_app(**controls):
    """3000 points (the cap), 2700 training points, batch size 1: 2700 steps an epoch."""
    app = Playground(canvas="image")
    app.points.value, app.ratio.value, app.batch.value = 3000, 0.1, 1
    for name, value in controls.items():
        getattr(app, name).value = value
    return app


def test_a_long_epoch_is_trained_in_short_slices_with_the_same_result():
    sliced, whole = big_app(), big_app()
    sliced.clock = FakeClock()
    per_slice = []
    while sliced.epoch < 1:
        before = sliced.run.slicer.batches
        sliced.step(until=sliced.clock() + sliced.slice_seconds)
        per_slice.append(sliced.run.slicer.batches - before)
    assert max(per_slice) <= 31 and len(per_slice) >= math.ceil(2700 / 31), per_slice[:5]
    assert sum(per_slice[:-1]) < 2700 <= sum(per_slice)  # the last slice went on into epoch 2
    sliced.step()                                         # Step: finishes epoch 2, in progress
    assert sliced.epoch == 2
    whole.step()
    whole.step()
    assert sliced.history.train_loss == whole.history.train_loss
    assert sliced.history.test_error == whole.history.test_error
    for p, q in zip(sliced.model.parameters(), whole.model.parameters(), strict=True):
        assert torch.equal(p.data, q.data)


def test_a_divergence_found_after_many_slices_undoes_the_whole_epoch():
    sliced, whole = big_app(lr=10.0, optimizer="SGD"), big_app(lr=10.0, optimizer="SGD")
    sliced.clock = FakeClock()
    start = [p.data.clone() for p in sliced.model.parameters()]
    slices = 0
    while sliced.run.slicer.epoch is not None or slices == 0:
        ok = sliced.step(until=sliced.clock() + sliced.slice_seconds)
        slices += 1
    assert slices > 1 and not ok and sliced.epoch == 0
    assert not whole.step()
    for p, q, s in zip(sliced.model.parameters(), whole.model.parameters(), start, strict=True):
        assert torch.equal(p.data, q.data) and torch.equal(p.data, s)
    assert "diverged at epoch 1" in sliced.status.value


def test_play_trains_in_short_slices_and_pause_stops_at_once():
    """The repro: 2.3 s a slice and 1.8 s to Pause with a large upload. Now the largest data the app
    accepts, batch size 1, readable step: every slice at most 31 batches, none after Pause."""
    app = big_app(step_kind="readable")
    app.clock = FakeClock()
    sizes, step = [], app.step

    def counting_step(until=None):
        before = app.run.slicer.batches
        result = step(until=until)
        sizes.append(app.run.slicer.batches - before)
        return result
    app.step = counting_step

    async def scenario():
        app.play.click()
        while len(sizes) < 20:
            await asyncio.sleep(0)
        app.play.click()                                  # Pause
        done = app.run.slicer.batches
        while app._task is not None:
            await asyncio.sleep(0.001)
        return done
    done = run(scenario())
    assert app.run.slicer.batches == done                 # no batch after Pause
    assert 0 < max(sizes) <= 31 and app.epoch == 0, sizes
    batches = app.run.slicer.batches
    app.batch.value = 100                                 # the epoch in progress keeps its batch size
    app.step()                                            # Step finishes the epoch in progress
    assert app.epoch == 1 and app.run.slicer.batches - batches == 2700 - batches
