"""The playground driven headless: buttons clicked, sliders set, the asyncio task awaited."""

import asyncio
import base64
import importlib.util
import io
import re
import sys
import types

import numpy as np
import pytest
import torch
from playground_async import run

import minidl as md
from minidl.playground import Playground
from minidl.playground.app import auto_canvas
from minidl.playground.views import Views


@pytest.fixture
def app():
    """PNG frames in an ipywidgets.Image: each frame can be read back and compared."""
    return Playground(canvas="image")




async def until_idle(app, timeout=10.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while app._task is not None:
        assert loop.time() < end, "the training task did not stop"
        await asyncio.sleep(0.005)


def test_nothing_trains_until_asked(app):
    assert app.epoch == 0 and app._task is None and not app.running
    assert app.metrics.value == "press Play or Step to train"
    assert app.image.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_step_trains_one_epoch_and_updates_the_numbers(app):
    app.step_button.click()
    assert app.epoch == 1 and "epoch 1" in app.epoch_label.value
    assert re.search(r"train loss \d\.\d{4} · test loss \d\.\d{4} · train error [\d.]+% · test error [\d.]+%",
                     app.metrics.value)


def test_play_trains_and_the_loss_falls_on_the_disk(app):
    async def scenario():
        app.play.click()
        assert app.play.description == "Pause" and app._task is not None
        while app.epoch < 40:
            await asyncio.sleep(0.01)
        app.play.click()
        await until_idle(app)
    run(scenario())
    h = app.history
    assert app.play.description == "Play"
    assert h.train_loss[-1] < 0.5 * h.train_loss[0] and h.test_error[-1] < 0.15
    assert app.redraws >= 2


def test_pause_is_honoured_at_the_next_slice(app):
    """A Pause arriving from the kernel (a scheduled callback) stops training before another epoch.

    Training yields to the event loop after every slice (slice_seconds, 0.03 s by default, so a
    Pause waits at most one slice and one redraw: well within 0.2 s); once the Pause callback has
    run, no further epoch may train. Asserted by counting epochs, not by timing them.
    """
    epochs_when_paused = []
    pause = app.pause

    def counting_pause():
        epochs_when_paused.append(app.epoch)
        pause()

    async def scenario():
        loop = asyncio.get_running_loop()
        for k in range(4):
            app.start()
            loop.call_later(0.2 + 0.04 * k, counting_pause)
            await until_idle(app)
            assert app.epoch == epochs_when_paused[-1]   # nothing trained after the Pause ran
            await asyncio.sleep(0.1)
            assert app.epoch == epochs_when_paused[-1]   # and nothing trains later either
    run(scenario())
    # the first Pause may land inside the first epoch on a loaded machine; by the last, epochs have trained
    assert len(epochs_when_paused) == 4 and epochs_when_paused[-1] > 0
    assert epochs_when_paused == sorted(epochs_when_paused)


def test_hammering_the_controls_never_runs_two_tasks(app):
    async def scenario():
        tasks = set()
        for k in range(100):
            app.play.click()
            if app._task is not None:
                tasks.add(app._task)
            if k % 7 == 0:
                app.lr.value = 0.05 if k % 2 else 0.1
            if k % 25 == 0:
                app.step_button.click()
            await asyncio.sleep(0)
        alive = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert len(alive) <= 1, alive
        app.pause()
        await until_idle(app)
        await asyncio.sleep(0.01)
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
        return tasks
    run(scenario())
    assert app.status.value == "" or "Error" not in app.status.value


def test_learning_rate_applies_live_without_a_reset(app):
    async def scenario():
        app.play.click()
        while app.epoch < 5:
            await asyncio.sleep(0.01)
        model = app.model
        app.lr.value = 0.01
        assert app.optim.lr == pytest.approx(0.01) and app.model is model and app.running
        epoch = app.epoch
        while app.epoch < epoch + 3:
            await asyncio.sleep(0.01)
        app.pause()
        await until_idle(app)
    run(scenario())
    assert app.history.lr[0] == pytest.approx(0.1) and app.history.lr[-1] == pytest.approx(0.01)


def test_architecture_controls_pause_and_reset(app):
    async def scenario():
        app.play.click()
        while app.epoch < 3:
            await asyncio.sleep(0.01)
        app.layers.value = 2
        assert not app.running and app._task is None and app.epoch == 0
        app.widths[0].value = 7
        app.widths[1].value = 5
        await asyncio.sleep(0.05)
    run(scenario())
    assert [tuple(p.shape) for p in app.model.parameters()] == [(7, 2), (7,), (5, 7), (5,), (2, 5), (2,)]
    assert app.widths[2].layout.display == "none" and app.widths[1].layout.display is None
    app.layers.value = 0
    assert [tuple(p.shape) for p in app.model.parameters()] == [(2, 2), (2,)]
    app.step()
    assert app.epoch == 1


def test_every_option_builds_and_trains(app):
    for name in ["xor", "gaussians", "spiral", "circles", "moons"]:
        app.dataset.value = name
        app.step()
    app.activation.value = "Tanh"
    app.dropout.value = 0.2
    app.init.value = "Kaiming normal"
    app.loss.value = "cross-entropy"
    for opt in ["SGD", "Nesterov", "Adam", "Momentum"]:
        app.optimizer.value = opt
        app.step()
    assert isinstance(app.optim, md.SGD) and app.optim.param_groups[0]["momentum"] == 0.9
    app.standardize.value = False
    app.batch.value = 25
    app.step()
    assert app.epoch == 1 and app.output_mode == "softmax"


def test_divergence_pauses_with_a_message_and_reset_recovers(app):
    app.optimizer.value = "SGD"
    app.lr.value = 10.0
    app.activation.value = "ReLU"

    async def scenario():
        app.play.click()
        await until_idle(app)
    run(scenario())
    assert not app.running and app.history.diverged
    assert re.search(r"diverged at epoch \d+ — lower the learning rate", app.status.value)
    assert all(torch.isfinite(p.data).all() for p in app.model.parameters())
    app.lr.value = 0.1
    app.reset_button.click()
    assert app.status.value == "" and app.epoch == 0
    for _ in range(5):
        assert app.step()


def test_regenerate_draws_new_data(app):
    before = app.raw["x_train"].clone()
    app.regenerate.click()
    assert app.seed.value == 1 and not torch.equal(before, app.raw["x_train"])


def test_a_bad_csv_gets_a_message_and_a_good_one_is_used(app):
    assert not app.load_csv_bytes(b"x1,x2\n0.1,0.2\n", "bad.csv")
    assert "Could not use bad.csv" in app.status.value and "label" in app.status.value
    assert app.dataset.value == "disk"
    rows = "\n".join(f"{i % 7},{(i * 3) % 5},{int(i % 7 > 3)}" for i in range(60))
    assert app.load_csv_bytes(("x1,x2,label\n" + rows).encode(), "mine.csv")
    assert app.dataset.value == "your CSV" and len(app.raw["x_train"]) + len(app.raw["x_test"]) == 60
    assert float(app.raw["x_train"].max()) <= 1.0 and "Loaded mine.csv" in app.status.value
    app.step()


def test_errors_in_callbacks_appear_in_the_app(app, monkeypatch):
    def boom():
        raise RuntimeError("kaboom")
    monkeypatch.setattr(app, "step", boom)
    app.step_button.click()
    assert "Error: RuntimeError: kaboom" in app.status.value
    assert "kaboom" in "".join(o.get("text", "") for o in app.log.outputs)


def test_export_code_reproduces_the_run(app):
    for _ in range(3):
        app.step()
    app.export_button.click()
    namespace = {}
    exec(compile(app.code.value, "<export>", "exec"), namespace)
    for p, q in zip(namespace["model"].parameters(), app.model.parameters(), strict=True):
        torch.testing.assert_close(p.data, q.data)
    assert namespace["history"].test_error == pytest.approx(app.history.test_error)


def test_weights_download_is_a_state_dict(app, tmp_path):
    app.step()
    app.export_button.click()
    b64 = re.search(r"base64,([A-Za-z0-9+/=]+)'", app.download.value).group(1)
    path = tmp_path / "w.pt"
    path.write_bytes(base64.b64decode(b64))
    state = md.load(path)
    assert list(state) == [n for n, _ in app.model.named_parameters()]
    assert torch.equal(state["0.weight"], app.model[0].weight.data)
    assert torch.load(io.BytesIO(app.weights_bytes()), weights_only=True).keys() == state.keys()


def test_the_frame_holds_gradient_norms_units_and_mistakes(app):
    app.step()
    norms = app.run.gradient_norms()
    assert len(norms) == 4 and all(n > 0 for n in norms)
    acts = app.run.hidden(torch.rand(10, 2).numpy(), 2)
    assert [tuple(a.shape) for a in acts] == [(10, 25), (10, 25)] and all((a >= 0).all() for a in acts)
    assert app.model.training                        # restored after the eval-mode pass
    frame = app.frame()
    assert frame.gradient_norms == tuple(norms) and frame.epoch == 1 and frame.test is None
    assert [u.shape for u in frame.units] == [(6, 30, 30), (6, 30, 30)]
    x, y = app.raw["x_train"], app.raw["y_train"]
    wrong = md.predict(app.model, app.transform(x)) != y
    np.testing.assert_array_equal(frame.mistakes, x[wrong].numpy())
    app.show_test.value = True
    assert app.frame().test[0] is app.run.points["test"][0]


def test_two_playgrounds_do_not_pile_up_pyplot_figures():
    import matplotlib.pyplot as plt
    before = len(plt.get_fignums())
    Playground(), Playground()
    assert len(plt.get_fignums()) == before


def test_the_default_canvas_is_ipympl_and_its_frames_change_as_it_trains():
    """With ipympl the Figure's own canvas is the widget; fig.canvas.draw() renders every frame.

    Without a front-end (as here) ipympl keeps the last frame as a PNG data URL: read it back.
    """
    from ipympl.backend_nbagg import Canvas

    app = Playground()
    assert app.canvas == "ipympl" and app.image is None
    canvas = app.views.fig.canvas
    assert isinstance(canvas, Canvas) and "pg-boundary" in canvas._dom_classes
    assert canvas in app.widget.children[1].children[3].children  # shown in the app, once (beside the confusion)
    n_axes = len(app.views.fig.axes)
    first, redraws = canvas._data_url, app.redraws
    prefix, png = first.split(",", 1)
    assert prefix == "data:image/png;base64" and base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    for _ in range(5):
        app.step_button.click()
    assert app.redraws > redraws and canvas._data_url != first
    app.layers.value = 1                                           # a new architecture: same canvas, new axes
    assert app.views.fig.canvas is canvas and len(app.views.bars) == 2
    assert len(app.views.fig.axes) == n_axes                      # rebuilt, not piled up


def test_an_unknown_canvas_is_refused():
    with pytest.raises(ValueError, match="canvas must be 'auto', 'ipympl' or 'image', got 'svg'"):
        Playground(canvas="svg")
    with pytest.raises(ValueError, match="Views: canvas must be 'image' or 'ipympl', got 'svg'"):
        Views(2, canvas="svg")


def test_auto_draws_png_frames_on_colab_whose_ipympl_front_end_is_broken(monkeypatch):
    """A kernel that has imported google.colab gets the image canvas, though ipympl is installed here."""
    assert importlib.util.find_spec("ipympl") is not None, "ipympl missing: this test could not tell the two apart"
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    app = Playground()
    assert app.canvas == "image" and app.image is not None
    assert app.image in app.widget.children[1].children[3].children and app.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.delitem(sys.modules, "google.colab")
    assert auto_canvas() == "ipympl"


def test_auto_falls_back_to_the_image_canvas_without_ipympl(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ipympl" else find_spec(name, *a))
    assert auto_canvas() == "image"


# -- the compiled / readable toggle ------------------------------------------------------------------------------
def test_the_step_toggle_chooses_fits_compiled_or_readable_step_live(app):
    assert app.step_kind.value == "compiled" and "step:" not in app.notes.value
    app.step()
    assert app.history.config["step"] == "compiled"
    model = app.model
    app.step_kind.value = "readable"                         # live: no reset
    app.step()
    assert app.model is model and app.epoch == 2 and app.history.config["step"] == "readable"
    twin = Playground(canvas="image")                        # the other order: readable, then compiled
    twin.step_kind.value = "readable"
    twin.step()
    twin.step_kind.value = "compiled"
    twin.step()
    assert twin.history.config["step"] == "compiled"
    for series in ("train_loss", "test_loss", "train_error", "test_error"):   # the same step, either way
        assert getattr(twin.history, series) == pytest.approx(getattr(app.history, series), rel=1e-6)


def test_a_network_the_compiled_step_does_not_cover_says_so(app):
    app.dropout.value = 0.2
    app.step()
    assert app.history.config["step"] == "readable"
    assert "step: fit runs the readable step for this network" in app.notes.value and "Dropout" in app.notes.value


def test_the_speed_is_shown_while_training(app):
    async def scenario():
        app.play.click()
        while app.redraws < 3 or app.epoch < 5:
            await asyncio.sleep(0.01)
        label = app.epoch_label.value
        app.play.click()
        await until_idle(app)
        return label
    label = run(scenario())
    assert re.search(r"epoch \d+</b></span>&ensp;\d+ epochs/s", label), label
    assert "epochs/s" not in app.epoch_label.value                 # paused: no rate


def test_a_new_run_clears_the_export_and_restarts_the_curves_axes():
    """After Reset (or a divergence, then Reset) nothing of the old run shows: the Export box is empty
    and the epoch axis starts again at 10."""
    app = Playground(canvas="image")
    for _ in range(25):
        app.step()
    app.redraw()
    app.export_button.click()
    assert "epochs=25" in app.code.value and "epoch 25" in app.download.value
    assert app.views.ax_error.get_xlim()[1] == 50.5
    app.optimizer.value = "SGD"                                    # a new run, too
    app.lr.value = 10.0
    while app.step():
        pass
    app.redraw()
    assert app.message.startswith("diverged")
    app.export_button.click()
    app.reset_button.click()
    assert app.epoch == 0 and app.code.value == "" and app.download.value == ""
    assert app.views.ax_error.get_xlim() == (0.5, 10.5) and app.views.ax_loss.get_xlim() == (0.5, 10.5)


def test_a_slow_redraw_leaves_more_of_the_time_to_training():
    """A frame that takes 0.1 s (a loaded machine): the next starts 0.25 s after it (4 frames a second, drawing
    40% of the time), not 0.2 s (fps 5: half). Time is faked: the clock moves 1 ms a read, 0.1 s a frame."""
    app = Playground(canvas="image")
    clock = {"t": app._last_draw}                 # the first frame was drawn on the real clock

    def tick():
        clock["t"] += 0.001
        return clock["t"]
    app.clock = tick
    starts, encode = [], app.views.encode

    def slow_encode():
        starts.append(clock["t"])
        clock["t"] += 0.1
        return encode()
    app.views.encode = slow_encode

    async def scenario():
        app.start()
        loop = asyncio.get_running_loop()
        end = loop.time() + 60
        while len(starts) < 4 and loop.time() < end:
            await asyncio.sleep(0.01)
        app.pause()
        await until_idle(app)
    run(scenario())
    gaps = [b - a for a, b in zip(starts[:3], starts[1:4], strict=True)]
    assert len(gaps) == 3 and min(gaps) >= 0.25 - 1e-6, gaps            # (sums of float ticks)


def test_a_page_that_shows_the_app_but_not_the_ipympl_canvas_gets_the_image_canvas():
    """No jupyter-matplotlib in the page's JupyterLab or Voilà: the page counts a view of Play but never
    initializes the canvas; after the delay the figure is an Image in its place, and the app trains and draws."""
    from minidl.playground import fallback

    async def scenario():
        app = Playground(canvas="ipympl")
        fallback.watch(app, delay=0.05)                # (the app watches with 8 s)
        old = app.views.fig.canvas
        app.play._view_count = 1                       # what the page sends when it shows the button
        await asyncio.sleep(0.3)
        return app, old
    app, old = run(scenario())
    assert app.canvas == "image" and app.image is not None and "pg-boundary" in app.image._dom_classes
    boxes, found = [app.widget], []
    while boxes:
        box = boxes.pop()
        found += [c for c in getattr(box, "children", ()) if c is app.image or c is old]
        boxes.extend(getattr(box, "children", ()))
    assert found == [app.image]                        # in the canvas's place, the canvas gone
    app.step_button.click()
    assert app.epoch == 1 and app.image.value[:8] == b"\x89PNG\r\n\x1a\n" and "images instead" in app.status.value


def test_a_page_that_shows_the_ipympl_canvas_keeps_it():
    from minidl.playground import fallback

    async def scenario():
        app = Playground(canvas="ipympl")
        fallback.watch(app, delay=0.05)
        app.views.fig.canvas.syncing_data_url = False  # ipympl's front end drew it ("initialized")
        app.play._view_count = 1
        await asyncio.sleep(0.3)
        return app
    app = run(scenario())
    assert app.canvas == "ipympl" and app.image is None


def test_a_divergence_after_a_mid_epoch_lr_change_keeps_the_sliders_lr(app):
    """Seen in Voilà: Pause inside an epoch, lr slider to 10, Play: the divergence restored the epoch's snapshot,
    taken before the slider moved, so the optimizer went back to lr 0.126 while the slider showed 10."""
    app.batch.value = 1                                   # 500 steps an epoch: a short slice ends inside it
    app.step(until=app.clock() + 0.005)
    assert app.run.slicer.epoch is not None, "the slice did not end inside the epoch"
    app.lr.value = 10.0
    for _ in range(5):
        if not app.step():
            break
    assert "diverged" in app.message and "(lr=10)" in app.message, app.message
    assert app.optim.lr == 10.0 and app.optim.param_groups[0]["momentum"] == 0.9


def test_while_training_a_redraw_leaves_the_kernel_turns_between_its_pieces():
    """The training loop draws a frame in pieces (update | render | encode | each panel's pieces) with a turn of
    the event loop between them: a click (here a task's tick) is handled within one piece, not one frame."""
    app = Playground(canvas="image")
    app.diagram.show(True)
    log = []
    for owner, name in ((app.views, "update"), (app.views, "encode"), (app.diagram, "send")):
        original = getattr(owner, name)

        def logged(*args, _original=original, _name=name, **kwargs):
            log.append(_name)
            return _original(*args, **kwargs)
        setattr(owner, name, logged)

    async def ticks():
        while True:
            log.append("tick")
            await asyncio.sleep(0)

    async def scenario():
        ticker = asyncio.ensure_future(ticks())
        app.start()
        loop = asyncio.get_running_loop()
        end = loop.time() + 60
        while log.count("send") < 2 and loop.time() < end:
            await asyncio.sleep(0.01)
        app.pause()
        await until_idle(app)
        ticker.cancel()
    run(scenario())
    frame = log[log.index("update"):]
    frame = frame[:frame.index("send") + 1]                 # one frame: the app's pieces, then the diagram's
    assert frame.count("tick") >= 4, frame                  # update | render | encode | values | lines | tiles | send
    assert frame.index("update") < frame.index("encode") < frame.index("send")


def test_a_reset_between_the_pieces_of_a_redraw_ends_it():
    app = Playground(canvas="image")
    encoded = []
    encode = app.views.encode
    app.views.encode = lambda: (encoded.append(1), encode())[1]
    pieces = app._redraw_steps()
    next(pieces)                                            # the old run's frame captured and set
    app.reset()                                             # a new run, drawn at once
    assert encoded == [1]
    assert list(pieces) == [] and encoded == [1]            # the old frame's remaining pieces: none
