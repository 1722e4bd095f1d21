"""The hidden-space view: the plane of two hidden units, the points and the input grid mapped there."""

import types

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from minidl.framework.module import evaluating
from minidl.playground import Playground
from minidl.playground.colours import class_colour
from minidl.playground.hidden_space import LINE_POINTS, LINES, HiddenSpace, follow_limits, grid_lines


@pytest.fixture
def app():
    app = Playground(canvas="image")
    for _ in range(3):
        app.step()
    return app


def section(app, panel):
    """The Accordion the app shows ``panel`` in."""
    stack = [app.widget]
    while stack:
        w = stack.pop()
        kids = list(getattr(w, "children", ()))
        if kids and kids[0] is panel.widget:
            return w
        stack.extend(kids)
    raise AssertionError("the panel is not in the app")


def direct(app, raw, layer):
    """The activations after hidden layer ``layer`` (1-based), through the model's modules one by one."""
    x = app.run.inputs(raw)
    with evaluating(app.model):
        for m in list(app.model)[:2 * layer]:          # Linear, activation per hidden layer (no dropout)
            x = m(x)
    return x.numpy()


def test_the_mapped_points_are_the_hidden_activations(app):
    hs = app.hidden_space
    hs.layer.value, hs.x.value, hs.y.value = 1, 4, 17             # hidden layer 2, units 5 and 18
    points, labels, _ = hs.mapped(app.run)
    x, y = app.run.points["train"]
    expected = direct(app, x, 2)[:, [4, 17]]
    np.testing.assert_allclose(points, expected, rtol=1e-5, atol=1e-6)
    assert np.array_equal(labels, y) and points.shape == (len(x), 2)
    assert np.ptp(points, axis=0).min() > 0                      # not a constant: the test can fail


def test_the_input_grid_is_mapped_line_by_line(app):
    grid = grid_lines()
    assert grid.shape == (2 * LINES, LINE_POINTS, 2)
    assert np.all(grid[:LINES, :, 1] == grid[:LINES, :1, 1])     # horizontal lines: y fixed
    assert np.all(grid[LINES:, :, 0] == grid[LINES:, :1, 0])     # vertical lines: x fixed
    assert grid.min() == 0 and grid.max() == 1
    hs = app.hidden_space
    hs.layer.value, hs.x.value, hs.y.value = 2, 0, 3
    _, _, lines = hs.mapped(app.run)
    expected = direct(app, grid.reshape(-1, 2), 3)[:, [0, 3]].reshape(lines.shape)
    np.testing.assert_allclose(lines, expected, rtol=1e-5, atol=1e-6)


def test_it_draws_only_while_its_section_is_open(app):
    hs = app.hidden_space
    accordion = section(app, hs)
    assert not hs.open and hs.draws == 0
    app.redraw()
    assert hs.draws == 0                                          # closed: refresh costs nothing
    accordion.selected_index = 0                                  # opened: drawn at once
    assert hs.open and hs.draws == 1 and hs.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    first = hs.image.value
    app.step()
    app.redraw()
    assert hs.draws == 2 and hs.image.value != first              # live while training
    hs.y.value = 5                                                # a new unit: redrawn
    assert hs.draws == 3
    accordion.selected_index = None
    app.redraw()
    assert hs.draws == 3


def test_reset_clamps_the_choices_to_the_new_network(app):
    hs = app.hidden_space
    hs.open = True
    hs.layer.value, hs.x.value, hs.y.value = 2, 24, 20             # hidden layer 3, units 25 and 21
    app.widths[0].value = 4                                       # layer 1 gets 4 units
    app.layers.value = 1                                          # one hidden layer: layer 3 is gone
    assert app.status.value == ""
    assert [v for _, v in hs.layer.options] == [0] and hs.layer.value == 0
    assert [v for _, v in hs.x.options] == [0, 1, 2, 3] and (hs.x.value, hs.y.value) == (3, 3)
    points, _, _ = hs.mapped(app.run)
    np.testing.assert_allclose(points[:, 0], direct(app, app.run.points["train"][0], 1)[:, 3], rtol=1e-5, atol=1e-6)
    app.layers.value = 0                                          # no hidden layer at all
    assert app.status.value == "" and hs.layer.options == () and hs.x.value is None
    assert "no hidden layer" in hs.note.value and hs.image.layout.display == "none"
    app.layers.value = 2                                          # back: the first units again
    assert (hs.layer.value, hs.x.value, hs.y.value) == (0, 0, 1) and hs.image.layout.display is None


def test_the_axes_follow_the_data_without_jumping():
    limits = follow_limits(None, 0.0, 1.0)
    assert limits == pytest.approx((-0.2, 1.2))
    assert follow_limits(limits, 0.05, 0.98) == limits            # small moves: the same limits
    grown = follow_limits(limits, 0.0, 1.5)                       # a point leaves: they grow at once
    assert grown[1] > 1.5 and grown[0] < 0
    assert follow_limits(grown, 0.1, 0.2) == pytest.approx((0.08, 0.22))   # the data fill < 1/3: they shrink
    dead = follow_limits(None, 0.0, 0.0)                          # a dead unit: a visible range still
    assert dead[1] - dead[0] == pytest.approx(0.04)


def test_k_classes_get_their_own_colours():
    """Never two classes assumed: three classes, three colours of colours.class_colour."""
    raw = np.random.default_rng(0).random((60, 2))
    labels = np.arange(60) % 3
    run = types.SimpleNamespace(points={"train": (raw, labels)}, epoch=7,
                                hidden=lambda r, n: [torch.as_tensor(np.c_[r, r.sum(1)], dtype=torch.float32)][:n])
    hs = HiddenSpace()
    hs.reset(run)
    hs.open = True
    hs.x.value, hs.y.value = 0, 2
    hs.draw()
    for c in range(3):
        xs, ys = hs.points[c].get_data()
        np.testing.assert_allclose(xs, raw[labels == c, 0], rtol=1e-6)
        np.testing.assert_allclose(ys, raw[labels == c].sum(1), rtol=1e-5)
        assert to_rgba(hs.points[c].get_markerfacecolor()) == to_rgba(class_colour(c))
    assert len(hs.points[3].get_data()[0]) == 0
    assert "epoch 7" in hs.note.value



def test_a_learners_network_gets_the_hidden_space_and_no_race():
    """The view asks only Run.hidden, so a learner's own classes (tests/learner_framework.py) work too."""
    import learner_framework as lf
    app = Playground(framework={name: getattr(lf, name) for name in
                                ("Module", "Linear", "ReLU", "Tanh", "MSE", "CrossEntropy", "Sequential", "SGD")},
                     canvas="image")
    assert app.race is None and app.panels == [app.diagram, app.hidden_space]
    app.step()
    hs = app.hidden_space
    hs.open = True
    hs.layer.value, hs.x.value, hs.y.value = 1, 2, 6
    points, _, _ = hs.mapped(app.run)
    layers = app.run.layers                                        # Linear, ReLU, Linear, ReLU, ...
    x = app.run.inputs(app.run.points["train"][0])
    for m in layers[:4]:
        x = m.forward(x)
    np.testing.assert_allclose(points, x[:, [2, 6]].numpy(), rtol=1e-5, atol=1e-6)
    drawn = hs.draws
    app.redraw()
    assert hs.draws == drawn + 1 and app.status.value == ""


def test_an_error_in_a_choice_is_one_red_line_in_the_panel(app, monkeypatch):
    hs = app.hidden_space
    hs.open = True
    monkeypatch.setattr(hs, "mapped", lambda run: (_ for _ in ()).throw(RuntimeError("broken\nsecond line")))
    hs.y.value = 4
    assert hs.note.value == "<span style='color:#C00000'>Error: RuntimeError: broken</span>"
