"""Editing the data by hand: clicks at data coordinates (both canvases), the pixel -> data mapping,
what a click adds or erases, and what happens to the run (it goes on training on the new points)."""

import asyncio
import concurrent.futures

import numpy as np
import pytest
import torch
from matplotlib.backend_bases import MouseEvent

from minidl.playground import Playground
from minidl.playground.editing import (
    ERASE,
    RADIUS,
    Edits,
    action,
    axes_position,
    classes,
    edit,
    modifiers,
    pixel_to_data,
)
from minidl.playground.run import Data, DataSpec


@pytest.fixture
def app():
    return Playground(canvas="image", query="")


def train_points(app):
    return app.run.data.raw["x_train"], app.run.data.raw["y_train"]


# -- the pure parts ------------------------------------------------------------------------------------
def test_pixel_to_data_maps_the_axes_box_and_flips_y():
    size, box = (200, 100), (0.1, 0.2, 0.5, 0.6)          # axes: x 20..120 px, y from the top 20..80 px
    assert pixel_to_data(20, 80, size, box) == pytest.approx((0.0, 0.0))
    assert pixel_to_data(120, 20, size, box) == pytest.approx((1.0, 1.0))
    assert pixel_to_data(70, 50, size, box) == pytest.approx((0.5, 0.5))
    assert pixel_to_data(45, 65, size, box, xlim=(-1, 1), ylim=(2, 4)) == pytest.approx((-0.5, 2.5))
    assert pixel_to_data(19, 50, size, box) is None and pixel_to_data(70, 81, size, box) is None


def test_pixel_to_data_agrees_with_matplotlib_on_the_app_figure(app):
    """The PNG's pixel of a data point (transData, y from the top) maps back to that point."""
    ax, fig = app.views.ax_boundary, app.views.fig
    size = (fig.bbox.width, fig.bbox.height)
    for x, y in [(0.1, 0.2), (0.5, 0.5), (0.93, 0.71), (0.0, 1.0)]:
        dx, dy = ax.transData.transform((x, y))
        assert pixel_to_data(dx, size[1] - dy, size, axes_position(ax, fig)) == pytest.approx((x, y), abs=1e-9)


def test_modifiers_from_matplotlib_and_from_the_dom():
    assert modifiers(["control"]) == {"ctrl"} and modifiers(["cmd"]) == {"meta"} and modifiers(["ctrl+shift"]) == \
        {"ctrl", "shift"}
    assert modifiers([None, ""]) == frozenset() and modifiers(None) == frozenset()
    assert modifiers({"shiftKey": True, "altKey": False, "ctrlKey": False, "metaKey": True}) == {"shift", "meta"}


def test_action_selected_next_class_and_erase():
    none = frozenset()
    assert action(1, 3, none) == 1
    assert action(1, 3, frozenset({"shift"})) == 2 and action(2, 3, frozenset({"alt"})) == 0
    assert action(0, 2, frozenset({"ctrl"})) == ERASE == action(0, 2, frozenset({"meta", "shift"}))
    assert action(ERASE, 2, none) == ERASE


def test_edit_adds_and_erases_the_nearest_only():
    x = torch.tensor([[0.1, 0.1], [0.5, 0.5], [0.52, 0.5]])
    y = torch.tensor([0, 1, 0])
    x2, y2 = edit(x, y, (0.3, 0.4), 1, cap=10)
    assert torch.equal(x2[:3], x) and x2[3].tolist() == pytest.approx([0.3, 0.4]) and y2.tolist() == [0, 1, 0, 1]
    x3, y3 = edit(x, y, (0.515, 0.5), ERASE, cap=10)           # the point at 0.52 is nearer than 0.5
    assert torch.equal(x3, x[:2]) and y3.tolist() == [0, 1]
    assert edit(x, y, (0.9, 0.9), ERASE, cap=10) is None        # nothing within RADIUS
    assert edit(x, y, (0.1 + 0.9 * RADIUS, 0.1), ERASE, cap=10)[1].tolist() == [1, 0]
    with pytest.raises(ValueError, match="the most the playground takes"):
        edit(x, y, (0.3, 0.3), 0, cap=3)


def test_classes_counts_the_labels_of_train_and_test():
    d = Data.make(DataSpec(points=200))
    assert classes(d) == 2
    d3 = Data({**d.raw, "y_test": torch.where(d.raw["y_test"] == 1, 2, 0)}, d.train, d.test, d.transform)
    assert classes(d3) == 3


# -- the app ---------------------------------------------------------------------------------------------
def test_a_click_adds_the_selected_class_there_and_training_goes_on(app):
    app.step_button.click()
    model, optim, history, transform = app.model, app.optim, app.history, app.transform
    n = len(train_points(app)[1])
    app.edit_class.value = 1
    assert app.edit(0.25, 0.75) is True
    x, y = train_points(app)
    assert len(y) == n + 1 and x[-1].tolist() == pytest.approx([0.25, 0.75]) and int(y[-1]) == 1
    assert app.model is model and app.optim is optim and app.history is history and app.transform is transform
    assert len(app.run.train_set[0]) == n + 1                      # what the compiled step trains on
    assert "edited by hand: " in app.edited.value and "(+1 −0)" in app.edited.value
    assert history.notes[-1] == "epoch 1: added a point of class 1 at (0.250, 0.750) by hand"
    app.step_button.click()
    assert app.epoch == 2 and app.history is history


def test_shift_click_adds_the_next_class_and_ctrl_click_erases_the_nearest_only(app):
    app.edit_class.value = 0
    app.edit(0.3, 0.3, frozenset({"shift"}))
    app.edit(0.31, 0.3)
    x, y = train_points(app)
    assert y[-2:].tolist() == [1, 0]
    before = x.clone()
    app.edit(0.309, 0.3, frozenset({"ctrl"}))                      # the class-0 point at 0.31 is the nearest
    x, y = train_points(app)
    assert len(x) == len(before) - 1 and torch.equal(x, before[:-1]) and int(y[-1]) == 1
    app.edit_class.value = ERASE                                   # the erase mode, no modifier
    app.edit(0.3, 0.3)
    assert torch.equal(train_points(app)[0], before[:-2])
    assert "(+2 −2)" in app.edited.value


def test_erase_with_nothing_near_changes_nothing(app):
    app.edit(0.5, 0.5)
    run, edits = app.run, app.edits
    grid = torch.cartesian_prod(torch.linspace(0, 1, 41), torch.linspace(0, 1, 41))
    distance = torch.cdist(grid, train_points(app)[0]).min(dim=1).values
    spot = grid[int(distance.argmax())].tolist()                   # the grid point farthest from every point
    assert float(distance.max()) > RADIUS
    assert app.edit(*spot, frozenset({"meta"})) is False
    assert app.run is run and app.edits is edits and "no training point within" in app.status.value


def test_a_failing_edit_changes_nothing_and_says_why(app, monkeypatch):
    run, n = app.run, len(train_points(app)[1])

    def broken(*_):
        raise RuntimeError("boom")
    monkeypatch.setattr(type(app.run), "with_train", broken)
    assert app.edit(0.5, 0.5) is False
    assert app.run is run and app.edits is None and len(train_points(app)[1]) == n
    assert "Could not edit the data: boom" in app.status.value and "C00000" in app.status.value


def test_reset_keeps_the_edits_new_data_drops_them(app):
    app.edit(0.2, 0.8)
    edited = train_points(app)[0].clone()
    app.reset_button.click()
    assert app.epoch == 0 and torch.equal(train_points(app)[0], edited)     # a new network, the same points
    assert "edited by hand" in app.edited.value
    app.regenerate.click()
    assert app.edits is None and len(train_points(app)[1]) == len(edited) - 1
    assert "edited by hand" not in app.edited.value


def test_edits_are_tied_to_the_data_they_were_made_from():
    spec = DataSpec(points=100)
    x, y = torch.zeros(3, 2), torch.tensor([0, 1, 0])
    e = Edits(spec, None, x, y)
    assert e.applies(spec, None) and e.applies(DataSpec(points=100, standardize=False), None)
    assert not e.applies(DataSpec(points=100, seed=1), None) and not e.applies(DataSpec(name="xor", points=100), None)
    csv = (torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]))
    e_csv = Edits(DataSpec(name="your CSV"), csv, x, y)
    assert e_csv.applies(DataSpec(name="your CSV"), csv) and not e_csv.applies(DataSpec(name="your CSV"), (*csv,))


def test_an_edit_while_training_keeps_the_one_task_going(app):
    async def scenario():
        app.play.click()
        task = app._task
        while app.epoch < 3:
            await asyncio.sleep(0.005)
        app.edit(0.5, 0.5)
        n = len(train_points(app)[1])
        epoch = app.epoch
        while app.epoch < epoch + 3:
            await asyncio.sleep(0.005)
        assert app._task is task and app.running
        app.play.click()
        while app._task is not None:
            await asyncio.sleep(0.005)
        return n, epoch
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        n, epoch = pool.submit(asyncio.run, scenario()).result()
    losses = app.history.train_loss
    assert len(app.run.train_set[0]) == n and len(losses) >= epoch + 3      # it trained on, with the new point,
    assert min(losses[epoch:]) < losses[0]   # and still learns: not the last epoch's loss alone, which the edit's
    # point can lift for an epoch or two (0.31 then 0.20 at epochs 57-58 of one loaded run, from 0.313 at epoch 1)


def test_the_image_canvas_click_lands_at_its_data_point(app):
    ax, fig = app.views.ax_boundary, app.views.fig
    dx, dy = ax.transData.transform((0.4, 0.6))
    app.edit_class.value = 1
    app.clicks.on_dom({"type": "click", "dataX": dx, "dataY": fig.bbox.height - dy, "shiftKey": True,
                       "altKey": False, "ctrlKey": False, "metaKey": False})
    x, y = train_points(app)
    assert x[-1].tolist() == pytest.approx([0.4, 0.6], abs=1e-6) and int(y[-1]) == 0    # shift: the next class
    n = len(y)
    app.clicks.on_dom({"type": "click", "dataX": 2.0, "dataY": 2.0})                   # the figure's corner
    assert len(train_points(app)[1]) == n


def test_a_matplotlib_click_on_the_boundary_axes_adds_a_point():
    """The ipympl path: button_press_event on the figure's canvas (here an Agg one: the same events)."""
    app = Playground(canvas="image", query="")
    app.clicks.connect_figure(app.views)
    canvas, ax = app.views.fig.canvas, app.views.ax_boundary
    n = len(train_points(app)[1])
    dx, dy = ax.transData.transform((0.7, 0.2))
    MouseEvent("button_press_event", canvas, dx, dy, button=1, modifiers={"alt"})._process()
    x, y = train_points(app)
    assert len(y) == n + 1 and x[-1].tolist() == pytest.approx([0.7, 0.2], abs=1e-6)
    assert int(y[-1]) == 1
    lx, ly = app.views.ax_loss.transData.transform((1, 1))
    MouseEvent("button_press_event", canvas, lx, ly, button=1)._process()               # not on the boundary
    assert len(train_points(app)[1]) == n + 1
    assert np.isfinite(app.frame().boundary).all()


def test_with_a_learners_classes_an_edit_builds_a_new_network_on_the_edited_points():
    from learner_framework import MSE, SGD, CrossEntropy, Linear, Module, ReLU, Sequential, Tanh
    classes_ = dict(Module=Module, Linear=Linear, ReLU=ReLU, Tanh=Tanh, MSE=MSE, CrossEntropy=CrossEntropy,
                    Sequential=Sequential, SGD=SGD)
    app = Playground(framework=classes_, canvas="image", query="")
    app.step_button.click()
    n = len(train_points(app)[1])
    assert app.edit(0.6, 0.4) is True
    x, y = train_points(app)
    assert len(y) == n + 1 and x[-1].tolist() == pytest.approx([0.6, 0.4]) and app.epoch == 0
    assert len(app.run.x) == n + 1 and "edited by hand" in app.edited.value
    app.step_button.click()
    assert app.epoch == 1
