"""minidl.viz: each plot draws the artists it promises, from numbers the test computes itself."""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

from minidl import (  # noqa: E402
    SGD,
    CrossEntropyLoss,
    Diagnostics,
    Dropout,
    LeakyReLU,
    Linear,
    Module,
    ReLU,
    Sequential,
    Tanh,
    build_mlp,
    fit,
    viz,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def disk(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g)
    return x, ((x - 0.5).norm(dim=1) < (2 * math.pi) ** -0.5).long()


def vertical_split(slope=1.0, dtype=torch.float32):
    """out1 - out0 = slope * (x1 - 0.5): class 1 right of x1 = 0.5, whatever the disk says."""
    model = Linear(2, 2, dtype=dtype)
    model.weight.data.copy_(torch.tensor([[0.0, 0.0], [slope, 0.0]]))
    model.bias.data.copy_(torch.tensor([0.0, -0.5 * slope]))
    return model


def by_gid(ax, gid):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) <= 1, gid
    return found[0] if found else None


def history(n=8, test=True, diverged=None):
    e = np.arange(1, n + 1)
    return SimpleNamespace(epoch=list(e), train_loss=list(1.0 / e), train_error=list(0.5 / e),
                           test_loss=list(1.2 / e) if test else [], test_error=list(0.6 / e) if test else [],
                           time=list(0.1 * e), diverged=diverged)


# -- decision_grid -------------------------------------------------------------------------------------
@pytest.mark.parametrize("output, expected", [
    ("softmax", lambda d: 1 / (1 + np.exp(-d))),
    ("scores", lambda d: np.clip((d + 1) / 2, 0, 1)),
])
def test_decision_grid_is_one_half_exactly_where_the_two_outputs_are_equal(output, expected):
    xx, yy, p = viz.decision_grid(vertical_split(slope=4.0), (0, 1, 0, 1), 5, output)
    assert xx.shape == yy.shape == p.shape == (5, 5)
    np.testing.assert_allclose(xx[0], [0.1, 0.3, 0.5, 0.7, 0.9])        # pixel centres
    np.testing.assert_allclose(yy[:, 0], [0.1, 0.3, 0.5, 0.7, 0.9])     # row i is the i-th y
    assert (p[:, 2] == 0.5).all()                                       # out1 == out0 at x1 = 0.5
    assert (p[:, :2] < 0.5).all() and (p[:, 3:] > 0.5).all()
    assert ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p, expected(4.0 * (xx - 0.5)), atol=1e-6)
    if output == "scores":
        assert p.min() == 0.0 and p.max() == 1.0                        # clamped outside |d| <= 1


@pytest.mark.parametrize("output, expected", [("softmax", lambda o: 1 / (1 + np.exp(-o))),
                                              ("scores", lambda o: np.clip(o, 0, 1))])
def test_decision_grid_with_one_output_column(output, expected):
    model = Linear(2, 1)
    model.weight.data.copy_(torch.tensor([[0.0, 3.0]]))                 # depends on x2 only: rows differ
    model.bias.data.fill_(-1.0)
    xx, yy, p = viz.decision_grid(model, (-1, 2, 0, 1), 7, output)
    np.testing.assert_allclose(p, expected(3.0 * yy - 1.0), atol=1e-6)
    assert np.all(np.diff(p[:, 0]) >= 0) and np.ptp(p[:, 0]) > 0 and (p == p[:, :1]).all()
    assert xx.min() > -1 and xx.max() < 2


def test_decision_grid_matches_a_float64_model_and_restores_every_modules_mode():
    seen = []

    class Spy(Module):
        def forward(self, x):
            seen.append((self.training, x.dtype))
            return x

    model = Sequential(vertical_split(dtype=torch.float64), Dropout(0.5), Spy())
    model.train()
    model[0].eval()                                   # mixed modes must come back as they were
    _, _, p = viz.decision_grid(model, resolution=9)
    assert p.dtype == np.float64 and p[0, 4] == 0.5   # no dropout: evaluated in eval mode
    assert seen == [(False, torch.float64)]
    assert [m.training for m in model.modules()] == [True, False, True, True]


def test_decision_grid_applies_the_transform_and_keeps_raw_coordinates():
    calls = []

    def to_signed(g):                                 # [0, 1] -> [-1, 1], as a standardisation would
        calls.append(g.dtype)
        return 2 * g - 1

    model = vertical_split()
    model.bias.data.zero_()                           # boundary at transformed 0, i.e. raw x1 = 0.5
    xx, _, p = viz.decision_grid(model, (0, 1, 0, 1), 5, transform=to_signed)
    assert calls == [torch.float32] and xx[0, 2] == 0.5 and (p[:, 2] == 0.5).all()
    with pytest.raises(TypeError, match="decision_grid: transform must return a torch.Tensor, got list"):
        viz.decision_grid(model, transform=lambda g: g.tolist())


# -- plot_decision_boundary ---------------------------------------------------------------------------
def test_decision_boundary_draws_heatmap_contour_points_and_counts_mistakes():
    (x, y), (tx, ty) = disk(60, seed=1), disk(40, seed=2)
    model = vertical_split()
    fig = viz.plot_decision_boundary(model, x, y, tx, ty, resolution=31)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.child_axes) == 1                # the colorbar moves with the plot
    assert ax.child_axes[0].get_ylabel() == "P(class 1)"
    im = by_gid(ax, "probability")
    assert im.get_array().shape == (31, 31) and tuple(im.get_extent()) == (0, 1, 0, 1)
    np.testing.assert_array_equal(im.get_array(), viz.decision_grid(model, (0, 1, 0, 1), 31)[2])
    contour = by_gid(ax, "boundary")
    assert isinstance(contour, ContourSet)
    vertices = np.concatenate([path.vertices for path in contour.get_paths()])
    assert len(vertices) > 0 and np.allclose(vertices[:, 0], 0.5, atol=1e-6)
    for name, labels in (("train", y), ("test", ty)):
        for c in (0, 1):
            assert len(by_gid(ax, f"{name}-{c}").get_offsets()) == int((labels == c).sum())
    wrong = [(x[:, 0] > 0.5).long() != y, (tx[:, 0] > 0.5).long() != ty]
    expected = torch.cat([x[wrong[0]], tx[wrong[1]]]).numpy()
    assert len(expected) > 5
    np.testing.assert_allclose(by_gid(ax, "mistakes").get_offsets(), expected, rtol=1e-6)
    rates = [100 * float(w.float().mean()) for w in wrong]
    assert ax.get_title() == f"train error {rates[0]:.1f}%,  test error {rates[1]:.1f}%"
    assert f"wrong ({len(expected)})" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_decision_boundary_rings_exactly_the_misclassified_points():
    x = torch.tensor([[0.2, 0.5], [0.8, 0.5], [0.3, 0.1], [0.9, 0.9]])
    y = torch.tensor([0, 0, 1, 1])                    # the split predicts 0, 1, 0, 1
    fig = viz.plot_decision_boundary(vertical_split(), x, y, resolution=10, title="toy", colorbar=False)
    ax = fig.axes[0]
    assert ax.child_axes == []                                          # colorbar=False
    np.testing.assert_allclose(by_gid(ax, "mistakes").get_offsets(), [[0.8, 0.5], [0.3, 0.1]])
    assert ax.get_title() == "toy\ntrain error 50.0%" and by_gid(ax, "test-0") is None
    fig = viz.plot_decision_boundary(vertical_split(), x, y, resolution=10, show_mistakes=False)
    assert by_gid(fig.axes[0], "mistakes") is None and by_gid(fig.axes[0], "train-1") is not None


def test_a_tie_is_class_0_as_argmax_and_one_output_column_thresholds_at_one_half():
    x = torch.tensor([[0.5, 0.7], [0.2, 0.3], [0.7, 0.3], [0.3, 0.3]])
    y = torch.tensor([1, 0, 1, 1])                    # the tie at x1 = 0.5 and the last point are wrong
    fig = viz.plot_decision_boundary(vertical_split(), x, y, resolution=6, colorbar=False)
    np.testing.assert_allclose(by_gid(fig.axes[0], "mistakes").get_offsets(), [[0.5, 0.7], [0.3, 0.3]])
    for output, bias in (("scores", 0.0), ("softmax", -0.5)):     # out = x1 (+ bias): class 1 if x1 > 0.5
        model = Linear(2, 1)
        model.weight.data.copy_(torch.tensor([[1.0, 0.0]]))
        model.bias.data.fill_(bias)
        fig = viz.plot_decision_boundary(model, x[1:], y[1:], output=output, resolution=6, colorbar=False)
        np.testing.assert_allclose(by_gid(fig.axes[0], "mistakes").get_offsets(), [[0.3, 0.3]])


def test_the_heatmap_is_drawn_the_right_way_up():
    model = Linear(2, 2)
    model.weight.data.copy_(torch.tensor([[0.0, 0.0], [0.0, 8.0]]))    # class 1 above x2 = 0.5
    model.bias.data.copy_(torch.tensor([0.0, -4.0]))
    x, y = torch.tensor([[0.02, 0.02]]), torch.tensor([0])
    fig = viz.plot_decision_boundary(model, x, y, resolution=20, colorbar=False, show_mistakes=False)
    fig.canvas.draw()
    ax, rgba = fig.axes[0], np.asarray(fig.canvas.buffer_rgba())
    height = rgba.shape[0]
    (xt, yt), (xb, yb) = ax.transAxes.transform([(0.5, 0.9), (0.5, 0.1)])
    top, bottom = rgba[height - int(yt), int(xt), :3].astype(int), rgba[height - int(yb), int(xb), :3].astype(int)
    assert top[0] > top[2] + 40 and bottom[2] > bottom[0] + 40       # orange (class 1) above, blue below


def test_decision_boundary_accepts_one_hot_targets_scores_and_a_float64_model_into_given_axes():
    x, y = disk(50)
    one_hot = torch.eye(2)[y]
    fig, ax = plt.subplots()
    model = vertical_split(dtype=torch.float64)
    assert viz.plot_decision_boundary(model, x, one_hot, ax=ax, output="scores", resolution=12) is fig
    fig.canvas.draw()
    expected = int(((x[:, 0] > 0.5).long() != y).sum())
    assert len(by_gid(ax, "mistakes").get_offsets()) == expected
    assert by_gid(ax, "probability").get_array().dtype == np.float64


def test_decision_boundary_in_a_shared_figure_keeps_its_legend_and_colorbar_inside_after_tight_layout():
    x, y = disk(40)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    viz.plot_decision_boundary(vertical_split(), x, y, x, y, ax=axes[0], resolution=10)
    viz.plot_history(history(), axes=axes[1:])
    fig.tight_layout()                                # one pass, as minidl's CLI does
    fig.canvas.draw()
    for artist in (axes[0].get_legend(), axes[0].child_axes[0]):
        box = artist.get_window_extent()
        assert box.y0 >= 0 and box.x1 <= axes[1].get_window_extent().x0, box


def test_decision_boundary_bounds_follow_data_outside_the_unit_square():
    x, y = disk(30)
    x = x * 4 - 2                                     # in [-2, 2]²
    fig = viz.plot_decision_boundary(vertical_split(), x, y, resolution=8, transform=lambda g: (g + 2) / 4)
    lo, hi = x.min(dim=0).values.numpy(), x.max(dim=0).values.numpy()
    pad = 0.05 * (hi - lo)
    expected = (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])
    np.testing.assert_allclose(by_gid(fig.axes[0], "probability").get_extent(), expected, rtol=1e-6)
    np.testing.assert_allclose(fig.axes[0].get_xlim(), expected[:2], rtol=1e-6)
    assert viz.data_bounds(torch.rand(20, 2)) == (0.0, 1.0, 0.0, 1.0)
    fig = viz.plot_decision_boundary(vertical_split(), x, y, resolution=8, bounds=(-3, 3, -1, 1))
    assert tuple(by_gid(fig.axes[0], "probability").get_extent()) == (-3, 3, -1, 1)


def test_decision_boundary_with_autograd_off_and_inputs_that_require_grad(no_grad):
    x, y = disk(20)
    fig = viz.plot_decision_boundary(vertical_split(), x, y, resolution=8)
    assert by_gid(fig.axes[0], "probability") is not None
    torch.set_grad_enabled(True)
    fig = viz.plot_decision_boundary(vertical_split(), x.clone().requires_grad_(), y, resolution=8)
    assert len(by_gid(fig.axes[0], "train-0").get_offsets()) == int((y == 0).sum())


def test_a_live_heatmap_updates_in_place_with_set_data():
    x, y = disk(20)
    model = vertical_split()
    fig = viz.plot_decision_boundary(model, x, y, resolution=16)
    im = by_gid(fig.axes[0], "probability")
    model.weight.data.neg_()
    model.bias.data.neg_()                            # the classes swap sides
    _, _, p = viz.decision_grid(model, im.get_extent(), 16)
    im.set_data(p)
    fig.canvas.draw()
    assert (im.get_array()[:, 0] > 0.5).all() and (im.get_array()[:, -1] < 0.5).all()


@pytest.mark.parametrize("call, error, message", [
    (lambda m, x, y: viz.plot_decision_boundary(m, x[:, :1], y), ValueError,
     r"plot_decision_boundary: x must have shape \(N, 2\), got \(10, 1\)"),
    (lambda m, x, y: viz.plot_decision_boundary(m, x, y[:9]), ValueError,
     r"y must hold one label per row of x: expected shape \(10,\) or \(10, C\), got \(9,\)"),
    (lambda m, x, y: viz.plot_decision_boundary(m, x, y + 1), ValueError, "labels 0 or 1, got 2 at index"),
    (lambda m, x, y: viz.plot_decision_boundary(m, x.tolist(), y), TypeError,
     "x must be a torch.Tensor, got list"),
    (lambda m, x, y: viz.plot_decision_boundary(m, x, y, x), ValueError, "give both x_test and y_test"),
    (lambda m, x, y: viz.plot_decision_boundary(m, x, y, x, y[:3]), ValueError, "y_test must hold one label"),
    (lambda m, x, y: viz.plot_decision_boundary(m, x, y, output="mse"), ValueError,
     r"output must be one of \('softmax', 'scores'\), got 'mse'"),
    (lambda m, x, y: viz.plot_decision_boundary(m, x, y, resolution=1), ValueError, "resolution must be an int"),
    (lambda m, x, y: viz.plot_decision_boundary(m, x, y, bounds=(1, 0, 0, 1)), ValueError,
     "bounds must be"),
    (lambda m, x, y: viz.plot_decision_boundary(m, x, y, ax="left"), TypeError, "ax must be a matplotlib Axes"),
    (lambda m, x, y: viz.plot_decision_boundary(m, x, y, transform=3), TypeError, "transform must be None"),
    (lambda m, x, y: viz.plot_decision_boundary(Linear(2, 3), x, y), ValueError,
     r"plot_decision_boundary: expected model outputs of shape \(N, 1\) or \(N, 2\), got \(40000, 3\)"),
    (lambda m, x, y: viz.decision_grid(m, output="probabilities"), ValueError, "decision_grid: output must be"),
    (lambda m, x, y: viz.decision_grid("model"), TypeError, "decision_grid: model must be a minidl Module"),
])
def test_decision_boundary_errors_say_where_what_and_what_came(call, error, message):
    x, y = disk(10)
    with pytest.raises(error, match=message):
        call(vertical_split(), x, y)


# -- plot_history --------------------------------------------------------------------------------------
def test_history_panels_curves_final_values_and_log_scale():
    h = history()
    fig = viz.plot_history(h)
    fig.canvas.draw()
    ax_loss, ax_err = fig.axes
    assert ax_loss.get_yscale() == "log" and ax_err.get_yscale() == "linear"
    np.testing.assert_allclose(by_gid(ax_loss, "test_loss").get_ydata(), h.test_loss)
    np.testing.assert_allclose(by_gid(ax_err, "train_error").get_ydata(), 100 * np.array(h.train_error))
    np.testing.assert_array_equal(by_gid(ax_err, "test_error").get_xdata(), h.epoch)
    assert [t.get_text() for t in ax_loss.get_legend().get_texts()] == ["train (final 0.125)", "test (final 0.15)"]
    assert [t.get_text() for t in ax_err.get_legend().get_texts()] == ["train (final 6.25%)",
                                                                       "test (final 7.50%)"]
    labels = [t.get_text() for t in ax_loss.get_yticklabels() + ax_loss.get_yticklabels(minor=True)]
    assert "0.2" in labels and "0.5" in labels and not any("10^" in s or "e-" in s for s in labels)
    assert by_gid(ax_loss, "diverged") is None and fig.get_suptitle() == ""
    assert viz.plot_history(h, log=False).axes[0].get_yscale() == "linear"


def test_history_dict_without_a_test_set_into_given_axes_with_a_title():
    h = vars(history(test=False))
    fig, axes = plt.subplots(1, 2)
    before = plt.get_fignums()
    assert viz.plot_history(h, axes=axes, title="run 1") is fig and plt.get_fignums() == before
    assert by_gid(axes[0], "test_loss") is None and by_gid(axes[1], "train_error") is not None
    assert len(axes[1].get_legend().get_texts()) == 1 and axes[0].get_title() == "run 1: loss"
    assert viz.plot_history(h, title="run 2").get_suptitle() == "run 2"


def test_history_marks_divergence_at_the_epoch_in_the_message():
    h = history(n=5, diverged="diverged at epoch 6 (batch 2): loss became nan. Learning rate too high?")
    h.train_loss[-1] = math.inf                       # non-finite values are left out, not an error
    fig = viz.plot_history(h)
    fig.canvas.draw()
    for ax in fig.axes:
        assert list(by_gid(ax, "diverged").get_xdata()) == [6, 6]
        assert "diverged at epoch 6" in [t.get_text() for t in ax.texts]
        assert ax.get_xlim()[1] > 6
    assert np.isnan(by_gid(fig.axes[0], "train_loss").get_ydata()[-1])
    h.diverged = "loss is nan"                        # no epoch in the message: the one after the last
    assert list(by_gid(viz.plot_history(h).axes[1], "diverged").get_xdata()) == [6, 6]


def test_an_empty_history_says_so():
    fig = viz.plot_history(history(n=0))
    fig.canvas.draw()
    assert all("no epochs yet" in [t.get_text() for t in ax.texts] for ax in fig.axes)


@pytest.mark.parametrize("h, kwargs, error, message", [
    (3, {}, TypeError, "plot_history: expected a History or a dict with keys"),
    ({"epoch": [1]}, {}, ValueError, "the history dict has no 'train_loss' key"),
    ({"epoch": [1, 2], "train_loss": [1.0], "train_error": [0.1, 0.1]}, {}, ValueError,
     "'train_loss' has 1 entries, expected 2 \\(one per epoch\\)"),
    (vars(history(n=2)) | {"test_error": [0.1]}, {}, ValueError, "'test_error' has 1 entries, expected 2 .*or none"),
    (history(), {"axes": "ab"}, TypeError, "axes must be two matplotlib Axes"),
])
def test_history_errors(h, kwargs, error, message):
    with pytest.raises(error, match=message):
        viz.plot_history(h, **kwargs)


# -- plot_diagnostics ----------------------------------------------------------------------------------
def diagnostics_dict(epochs=4, act_spread=2.0):
    """What Diagnostics.to_dict() gives for Linear-Tanh-Linear-Tanh-Linear, with made-up numbers."""
    e = np.arange(epochs + 1, dtype=float)
    layers = ["Linear 1", "Tanh 1", "Linear 2", "Tanh 2", "Linear 3"]
    params = [f"Linear {i} {kind}" for i in (1, 2, 3) for kind in ("weight", "bias")]
    act_std = {n: list(0.5 + 0.1 * i + (act_spread - 1) * 0.5 * (i == 3) + 0 * e) for i, n in enumerate(layers)}
    grad = {n: list(10.0 ** (-i) * (1 + e)) for i, n in enumerate(params)}
    ratio = {n: [math.nan] + list(1e-3 * (i + 1) * e[1:]) for i, n in enumerate(params)}
    return {"epoch": list(range(epochs + 1)), "loss": list(1 / (1 + e)), "act_mean": act_std,
            "act_std": act_std, "act_grad_norm": act_std, "grad_norm": grad, "update_ratio": ratio}


def test_diagnostics_panels_one_line_per_layer_with_the_rule_of_thumb():
    d = diagnostics_dict()
    fig = viz.plot_diagnostics(d)
    fig.canvas.draw()
    ax_act, ax_grad, ax_upd = fig.axes
    assert len(fig.axes) == 3 and fig.get_suptitle() == ""
    acts = [line.get_gid() for line in ax_act.get_lines()]
    assert acts == ["act_std:Tanh 1", "act_std:Tanh 2"]                      # the nonlinearities' outputs
    np.testing.assert_allclose(by_gid(ax_act, "act_std:Tanh 2").get_ydata(), d["act_std"]["Tanh 2"])
    assert [line.get_gid() for line in ax_grad.get_lines()] == [f"grad_norm:Linear {i} weight" for i in (1, 2, 3)]
    np.testing.assert_allclose(by_gid(ax_grad, "grad_norm:Linear 2 weight").get_ydata(),
                               d["grad_norm"]["Linear 2 weight"])
    np.testing.assert_array_equal(by_gid(ax_grad, "grad_norm:Linear 1 weight").get_xdata(), d["epoch"])
    upd = by_gid(ax_upd, "update_ratio:Linear 3 weight").get_ydata()
    assert np.isnan(upd[0]) and np.allclose(upd[1:], d["update_ratio"]["Linear 3 weight"][1:])
    rule = by_gid(ax_upd, "rule-of-thumb")
    assert list(rule.get_ydata()) == [1e-3, 1e-3]
    assert ax_act.get_yscale() == "linear" and ax_grad.get_yscale() == ax_upd.get_yscale() == "log"
    assert [ax.get_title() for ax in fig.axes] == ["activation std", "gradient norm ‖∂L/∂W‖",
                                                   "update / data  ‖ΔW‖ / ‖W‖ per epoch"]
    assert [t.get_text() for t in ax_grad.get_legend().get_texts()] == ["Linear 1", "Linear 2", "Linear 3"]
    assert [t.get_text() for t in ax_upd.get_legend().get_texts()] == ["1e-3 rule of thumb (per step)"]
    assert [t.get_text() for t in ax_act.get_legend().get_texts()] == ["Tanh 1", "Tanh 2"]
    for ax in fig.axes:                                                       # legends below the panels
        assert ax.get_legend().get_window_extent().y1 < ax.get_window_extent().y0
    colours = [line.get_color() for line in ax_grad.get_lines()]
    assert len(set(map(tuple, colours))) == 3                                  # one colour per depth


def test_diagnostics_from_a_real_run_bias_panels_given_axes_and_a_title():
    x, y = disk(60)
    torch.manual_seed(0)
    model = build_mlp([2, 6, 6, 2], activation="relu")
    diag = Diagnostics(model, CrossEntropyLoss(), x[:20], y[:20])
    fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), (x, y), epochs=3, batch_size=20, generator=0,
        callbacks=diag)
    fig, axes = plt.subplots(1, 3)
    before = plt.get_fignums()
    assert viz.plot_diagnostics(diag, params="bias", axes=axes) is fig and plt.get_fignums() == before
    assert [line.get_gid() for line in axes[1].get_lines()] == [f"grad_norm:Linear {i} bias" for i in (1, 2, 3)]
    np.testing.assert_allclose(by_gid(axes[2], "update_ratio:Linear 2 bias").get_ydata()[1:],
                               diag.update_ratio["Linear 2 bias"][1:])
    assert [line.get_gid() for line in axes[0].get_lines()] == ["act_std:ReLU 1", "act_std:ReLU 2"]
    assert axes[1].get_title() == "gradient norm ‖∂L/∂b‖"
    assert viz.plot_diagnostics(diag, title="run 1").get_suptitle() == "run 1"


def test_diagnostics_log_scale_for_a_wide_spread_zeros_on_the_floor_and_inf_left_out():
    d = diagnostics_dict(act_spread=100.0)
    d["grad_norm"]["Linear 1 weight"][2:4] = [0.0, 0.0]                     # a dead layer
    d["grad_norm"]["Linear 2 weight"][1] = math.inf
    fig = viz.plot_diagnostics(d)
    fig.canvas.draw()
    ax_act, ax_grad, ax_upd = fig.axes
    assert ax_act.get_yscale() == "log"
    line = by_gid(ax_grad, "grad_norm:Linear 1 weight")
    assert np.isnan(line.get_ydata()[2:4]).all() and np.isfinite(line.get_ydata()[[0, 1, 4]]).all()
    assert np.isnan(by_gid(ax_grad, "grad_norm:Linear 2 weight").get_ydata()[1])
    zero = by_gid(ax_grad, "grad_norm:Linear 1 weight:zero")
    assert list(zero.get_xdata()) == [2, 3] and np.array_equal(zero.get_color(), line.get_color())
    assert zero.get_ydata()[0] == ax_grad.get_ylim()[0] and zero.get_ydata()[0] < np.nanmin(line.get_ydata())
    assert by_gid(ax_grad, "grad_norm:Linear 2 weight:zero") is None and by_gid(ax_upd, "zero") is None
    assert [t.get_text() for t in ax_grad.get_legend().get_texts()][-1] == "exactly 0"
    d["act_std"]["Tanh 1"][0] = 0.0                                         # a zero: no log scale for the std
    assert viz.plot_diagnostics(d).axes[0].get_yscale() == "linear"
    only_linear = diagnostics_dict()
    only_linear["act_std"] = {"Linear 1": [1.0] * 5, "Linear 2": [2.0] * 5}  # no nonlinearity: every layer
    ax = viz.plot_diagnostics(only_linear).axes[0]
    assert [line.get_gid() for line in ax.get_lines()] == ["act_std:Linear 1", "act_std:Linear 2"]


def test_diagnostics_tick_labels_stay_inside_the_figure_with_a_title():
    """A linear panel from 0 to 17: with an automatic tick count the layout reserved room for "15" and
    then drew "17.5", cut at the figure's edge (the tick count changed with the height it was given)."""
    d = diagnostics_dict(epochs=20)
    d["act_std"] = {f"ReLU {k}": [std] + [0.0] * 20 for k, std in enumerate([0.46, 1.58, 5.31, 17.16], 1)}
    with matplotlib.rc_context({"figure.dpi": 72}):           # as the notebooks draw
        fig = viz.plot_diagnostics(d, title="exploding")
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        low, high = ax.get_ylim()
        shown = [t for t in ax.get_yticklabels() if t.get_text() and low <= t.get_position()[1] <= high]
        assert shown and min(t.get_window_extent(renderer).x0 for t in shown) >= 0


@pytest.mark.parametrize("d, kwargs, error, message", [
    (3, {}, TypeError, "plot_diagnostics: expected a minidl Diagnostics or its to_dict\\(\\), got int without 'epoch'"),
    ({"epoch": [0]}, {}, TypeError, "got dict without 'act_std'"),
    (diagnostics_dict() | {"epoch": [0, 1]}, {}, ValueError,
     "plot_diagnostics: act_std\\['Linear 1'\\] has 5 entries, expected 2 \\(one per epoch\\)"),
    (diagnostics_dict(), {"params": "gamma"}, ValueError,
     "plot_diagnostics: params must be one of \\['bias', 'weight'\\] \\(the parameters' names\\), got 'gamma'"),
    (diagnostics_dict(), {"params": 1}, TypeError, "plot_diagnostics: params must be a parameter name"),
    (diagnostics_dict(), {"axes": "abc"}, TypeError, "plot_diagnostics: axes must be three matplotlib Axes"),
])
def test_diagnostics_errors(d, kwargs, error, message):
    with pytest.raises(error, match=message):
        viz.plot_diagnostics(d, **kwargs)


# -- plot_dataset, plot_activation, style ----------------------------------------------------------------
def test_dataset_scatter_by_class_with_the_square_and_equal_aspect():
    x, y = disk(70)
    fig = viz.plot_dataset(x, y, title="disk")
    fig.canvas.draw()
    ax = fig.axes[0]
    for c in (0, 1):
        np.testing.assert_allclose(by_gid(ax, f"data-{c}").get_offsets(), x[y == c].numpy(), rtol=1e-6)
    assert by_gid(ax, "square").get_width() == 1 and ax.get_aspect() == 1.0 and ax.get_title() == "disk"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"class {c} ({int((y == c).sum())})"
                                                                   for c in (0, 1)]
    with pytest.raises(ValueError, match=r"plot_dataset: x must have shape \(N, 2\), got \(70, 2, 1\)"):
        viz.plot_dataset(x[..., None], y)


@pytest.mark.parametrize("activation, derivative", [
    ("relu", lambda x: (x > 0).astype(float)),
    (Tanh(), lambda x: 1 - np.tanh(x) ** 2),
    (LeakyReLU(0.1), lambda x: np.where(x > 0, 1.0, 0.1)),
])
def test_activation_plot_shows_the_function_and_the_derivative_from_backward(activation, derivative):
    ax = viz.plot_activation(activation).axes[0]
    x = by_gid(ax, "derivative").get_xdata()
    assert x.min() == -4 and x.max() == 4
    np.testing.assert_allclose(by_gid(ax, "derivative").get_ydata(), derivative(x), atol=1e-12)
    assert not isinstance(activation, str) or ax.get_title() == repr(ReLU())


def test_activation_errors():
    with pytest.raises(ValueError, match="plot_activation: unknown activation 'swish', expected one of"):
        viz.plot_activation("swish")
    with pytest.raises(TypeError, match="expected an activation name or a minidl Module, got int"):
        viz.plot_activation(3)
    with pytest.raises(ValueError, match="Linear is not element-wise"):
        viz.plot_activation(Linear(1, 2, dtype=torch.float64))


def test_plotting_leaves_matplotlib_global_settings_alone():
    before = matplotlib.rcParams.copy()
    x, y = disk(20)
    viz.plot_dataset(x, y)
    viz.plot_decision_boundary(vertical_split(), x, y, resolution=8)
    viz.plot_history(history())
    viz.plot_activation("sigmoid")
    viz.plot_diagnostics(diagnostics_dict())
    assert matplotlib.rcParams == before
    assert set(viz.STYLE) >= {"class0", "class1", "train", "test", "mistakes"}
