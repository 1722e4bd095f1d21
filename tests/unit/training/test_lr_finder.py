"""lr_range_test: the geometric schedule, the smoothed loss, the stop on divergence, the restoration
of model and optimizer, the argument errors, and a suggested lr that trains the disk network."""

import math

import pytest
import torch

import minidl as md
from minidl.framework.layers import Linear
from minidl.framework.losses import CrossEntropyLoss, MSELoss
from minidl.framework.module import Module, Sequential
from minidl.framework.optim import SGD, Adam
from minidl.training.data import disk, standardize, train_val_test_split
from minidl.training.lr_finder import LRRangeTest, lr_range_test, lr_schedule
from minidl.training.train import build_mlp, evaluate, fit


def disk_problem(n=1000, seed=0):
    """The disk, split, standardised with the training set's statistics."""
    x, y = disk(n, generator=seed)
    split = train_val_test_split(x, y, generator=seed + 1)
    x_train, x_val, _, _ = standardize(split.train[0], split.val[0])
    return (x_train, split.train[1]), (x_val, split.val[1])


def snapshot(model, optimizer):
    """Everything the test must give back: values, grads, modes, optimizer state and hyperparameters."""
    params = [(p.data.clone(), p.grad.clone()) for p in model.parameters()]
    modes = [m.training for m in model.modules()]
    state = optimizer.state_dict()
    return params, modes, state


def same_snapshot(a, b):
    (pa, ma, sa), (pb, mb, sb) = a, b
    if ma != mb or len(pa) != len(pb):
        return False
    if not all(torch.equal(x, y) and torch.equal(gx, gy) for (x, gx), (y, gy) in zip(pa, pb, strict=True)):
        return False
    if sa["param_groups"] != sb["param_groups"] or sa["state"].keys() != sb["state"].keys():
        return False
    for i in sa["state"]:
        s, t = sa["state"][i], sb["state"][i]
        if s.keys() != t.keys():
            return False
        for k in s:
            if isinstance(s[k], torch.Tensor) != isinstance(t[k], torch.Tensor):
                return False
            if not (torch.equal(s[k], t[k]) if isinstance(s[k], torch.Tensor) else s[k] == t[k]):
                return False
    return True


# -- the schedule -----------------------------------------------------------------------------------
@pytest.mark.parametrize("start, end, steps", [(1e-5, 10.0, 100), (0.1, 0.2, 2), (1e-3, 1e3, 7)])
def test_the_schedule_is_geometric_from_start_to_end(start, end, steps):
    lrs = lr_schedule(start, end, steps)
    assert len(lrs) == steps
    assert lrs[0] == start and math.isclose(lrs[-1], end, rel_tol=1e-12)
    ratio = (end / start) ** (1 / (steps - 1))
    for a, b in zip(lrs, lrs[1:], strict=False):                    # a constant ratio: equal steps on a log axis
        assert math.isclose(b / a, ratio, rel_tol=1e-12)
    assert all(math.isclose(lr, start * (end / start) ** (k / (steps - 1)), rel_tol=1e-15)
               for k, lr in enumerate(lrs))


def test_the_test_sets_every_group_to_the_schedule_one_lr_per_batch():
    """A recording optimizer: step k sees lr_k in each of its two groups."""
    torch.manual_seed(0)
    model = build_mlp((2, 5, 2))
    first, second = model.parameters()[:2], model.parameters()[2:]
    seen = []

    class Recording(SGD):
        def step(self):
            seen.append([g["lr"] for g in self.param_groups])
            super().step()

    opt = Recording([{"params": first}, {"params": second, "lr": 0.5}], lr=0.1)
    x, y = disk(64, generator=3)
    r = lr_range_test(model, CrossEntropyLoss(), opt, (x, y), start=1e-4, end=1e-2, steps=9, batch_size=16,
                      diverge=1e9)
    expected = lr_schedule(1e-4, 1e-2, 9)
    assert r.lrs == expected and r.stopped is None and len(r.losses) == len(r.raw) == 9
    assert seen == [[lr, lr] for lr in expected]
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]       # given back


# -- the smoothed loss -------------------------------------------------------------------------------
def test_the_losses_are_the_bias_corrected_moving_average_of_the_batch_losses():
    train, _ = disk_problem(400)
    torch.manual_seed(1)
    model = build_mlp()
    beta = 0.9
    r = lr_range_test(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), train, steps=30,
                      batch_size=50, smooth=beta, generator=0)
    avg = 0.0
    for k, (raw, smoothed) in enumerate(zip(r.raw, r.losses, strict=True)):
        avg = beta * avg + (1 - beta) * raw
        assert math.isclose(smoothed, avg / (1 - beta ** (k + 1)), rel_tol=1e-12), k
    assert r.losses[0] == pytest.approx(r.raw[0], rel=1e-12)     # bias-corrected: not (1 − β) · raw[0]
    assert r.best_lr == r.lrs[r.losses.index(min(r.losses))] and r.suggested == r.best_lr / 10


def test_smooth_zero_records_the_raw_batch_losses_and_they_are_the_readable_steps_losses():
    """smooth = 0: no averaging; the raw losses are those of the same batches trained by hand."""
    train, _ = disk_problem(300)
    torch.manual_seed(2)
    model, twin = build_mlp(), build_mlp()
    twin.load_state_dict(model.state_dict())
    r = lr_range_test(model, CrossEntropyLoss(), SGD(model.parameters(), lr=1.0, momentum=0.9), train,
                      start=1e-3, end=1.0, steps=12, batch_size=64, smooth=0.0, diverge=1e9, generator=5)
    assert r.losses == r.raw
    g = torch.Generator().manual_seed(5)
    opt, crit, by_hand, order = SGD(twin.parameters(), lr=1.0, momentum=0.9), CrossEntropyLoss(), [], []
    for lr in r.lrs:
        if not order:
            order = md.data.batch_order(len(train[0]), 64, True, g)
        rows = order.pop(0)
        opt.lr = lr
        by_hand.append(float(crit(twin(train[0][rows]), train[1][rows])))
        twin.zero_grad()
        twin.backward(crit.backward())
        opt.step()
    assert r.raw == by_hand


# -- divergence ---------------------------------------------------------------------------------------
def test_it_stops_when_the_smoothed_loss_exceeds_diverge_times_the_lowest():
    train, _ = disk_problem(600)
    torch.manual_seed(0)
    model = build_mlp()
    r = lr_range_test(model, MSELoss(), SGD(model.parameters(), lr=0.1, momentum=0.9), train,
                      start=1e-4, end=1e4, steps=200, batch_size=50, generator=0)
    assert r.stopped is not None and r.stopped.startswith("diverged at lr")
    assert len(r.lrs) < 200                                          # ended early
    assert r.lrs == lr_schedule(1e-4, 1e4, 200)[:len(r.lrs)]
    assert r.losses[-1] > 4 * min(r.losses)                          # the last one recorded crossed the line
    assert all(s <= 4 * min(r.losses[:k + 1]) for k, s in enumerate(r.losses[:-1]))   # no earlier one did
    assert all(math.isfinite(s) for s in r.losses)


def test_a_non_finite_batch_loss_stops_the_test_without_recording_it():
    """A huge learning rate on a wide net: the loss overflows to inf / nan within a few steps."""
    train, _ = disk_problem(400)
    torch.manual_seed(0)
    model = build_mlp((2, 200, 200, 2))
    opt = SGD(model.parameters(), lr=0.1)
    before = snapshot(model, opt)
    r = lr_range_test(model, MSELoss(), opt, train, start=1e6, end=1e30, steps=50, batch_size=50,
                      diverge=1e300, generator=0)
    assert r.stopped is not None and "batch loss became" in r.stopped
    assert all(math.isfinite(v) for v in r.raw + r.losses) and len(r.lrs) == len(r.losses) < 50
    assert same_snapshot(before, snapshot(model, opt))


# -- restoration ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make_opt", [lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
                                      lambda ps: Adam(ps, lr=1e-3)], ids=["sgd-momentum", "adam"])
def test_model_and_optimizer_are_given_back_bit_for_bit_even_after_training_and_a_divergence(make_opt):
    train, _ = disk_problem(400)
    torch.manual_seed(3)
    model = build_mlp(dropout=0.1)
    opt = make_opt(model.parameters())
    fit(model, CrossEntropyLoss(), opt, train, epochs=2, batch_size=50, generator=0)  # state to give back
    model.eval()                                                     # a mode to give back
    model.parameters()[0].grad += 1.5                                 # and a gradient
    before = snapshot(model, opt)
    r = lr_range_test(model, CrossEntropyLoss(), opt, train, start=1e-4, end=1e3, steps=80, batch_size=50,
                      generator=1)
    assert len(r.lrs) > 10                                            # it did train the model for a while
    assert same_snapshot(before, snapshot(model, opt))


def test_the_snapshot_comparison_sees_a_change():
    """Negative control for the test above: one changed value anywhere makes the snapshots differ."""
    torch.manual_seed(3)
    model = build_mlp()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    train, _ = disk_problem(200)
    fit(model, CrossEntropyLoss(), opt, train, epochs=1, batch_size=50, generator=0)
    before = snapshot(model, opt)
    for change in (lambda: model.parameters()[1].data.__setitem__(0, 7.0),
                   lambda: model.parameters()[1].grad.__setitem__(0, 7.0),
                   lambda: model.eval(),
                   lambda: next(iter(opt.state.values()))["momentum_buffer"].__setitem__(0, 7.0),
                   lambda: setattr(opt, "lr", 0.2)):
        change()
        assert not same_snapshot(before, snapshot(model, opt))
        before = snapshot(model, opt)


def test_restored_even_when_a_step_raises():
    """A module that fails in its 5th forward pass: the error goes through, the model comes back."""

    class FailsLater(Module):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            if self.calls == 6:                       # the 1st call measures the output width
                raise RuntimeError("planted failure")
            return x

        def backward(self, grad_output):
            return grad_output

    torch.manual_seed(0)
    model = Sequential(Linear(2, 2), FailsLater())
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = snapshot(model, opt)
    x, y = disk(100, generator=0)
    with pytest.raises(RuntimeError, match="planted failure"):
        lr_range_test(model, CrossEntropyLoss(), opt, (x, y), start=1e-2, end=10.0, steps=20, batch_size=10)
    assert same_snapshot(before, snapshot(model, opt))


# -- the suggestion trains the disk network ------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_the_suggested_lr_trains_the_disk_network_better_than_a_decade_and_two_decades_off(seed):
    train, val = disk_problem(1500, seed=seed)
    torch.manual_seed(seed)
    model = build_mlp()
    initial = model.state_dict()
    r = lr_range_test(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1, momentum=0.9), train,
                      steps=200, batch_size=50, generator=seed)
    assert 1e-3 < r.suggested < 1.0, r                                  # a sensible range for this problem

    def val_error(lr):
        model.load_state_dict(initial)                                  # the same start for every lr
        opt = SGD(model.parameters(), lr=lr, momentum=0.9)
        fit(model, CrossEntropyLoss(), opt, train, epochs=20, batch_size=50, generator=seed)
        return evaluate(model, CrossEntropyLoss(), *val)[1]

    good, small, large = val_error(r.suggested), val_error(r.suggested / 100), val_error(r.best_lr * 10)
    assert good < 0.10, (good, r)                                       # trains well (chance: ~50 %)
    assert good + 0.05 < small and good + 0.05 < large, (good, small, large)


# -- arguments ---------------------------------------------------------------------------------------------
def valid_call():
    torch.manual_seed(0)
    model = build_mlp((2, 4, 2))
    return model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1, momentum=0.9), disk(20, generator=0)


@pytest.mark.parametrize("change, error, message", [
    (dict(start=0.0), ValueError, r"^lr_range_test: start must be > 0, got 0\.0$"),
    (dict(start=-1e-3), ValueError, r"^lr_range_test: start must be > 0, got -0\.001$"),
    (dict(start="1e-5"), TypeError, r"^lr_range_test: start must be a number, got str$"),
    (dict(end=math.inf), ValueError, r"^lr_range_test: end must be a finite number, got inf$"),
    (dict(start=1.0, end=0.5), ValueError, r"^lr_range_test: end must be > start=1, got 0\.5$"),
    (dict(steps=1), ValueError, r"^lr_range_test: steps must be an int >= 2, got 1$"),
    (dict(steps=10.0), ValueError, r"^lr_range_test: steps must be an int >= 2, got 10\.0$"),
    (dict(batch_size=0), ValueError, r"^lr_range_test: batch_size must be a positive int, got 0$"),
    (dict(smooth=1.0), ValueError, r"^lr_range_test: smooth must be in \[0, 1\), got 1\.0$"),
    (dict(smooth=-0.1), ValueError, r"^lr_range_test: smooth must be in \[0, 1\), got -0\.1$"),
    (dict(diverge=1.0), ValueError, r"^lr_range_test: diverge must be > 1 \(a multiple of the lowest loss\), "
                                    r"got 1\.0$"),
    (dict(diverge=math.nan), ValueError, r"^lr_range_test: diverge must be a finite number, got nan$"),
    (dict(generator="seed"), TypeError, r"^lr_range_test: generator must be a torch\.Generator, an int seed "
                                        r"or None, got str$"),
])
def test_bad_arguments_are_refused_in_one_line_before_anything_changes(change, error, message):
    model, crit, opt, train = valid_call()
    before = snapshot(model, opt)
    with pytest.raises(error, match=message):
        lr_range_test(model, crit, opt, train, **change)
    assert same_snapshot(before, snapshot(model, opt))


def test_bad_objects_and_data_are_refused_before_anything_changes():
    model, crit, opt, (x, y) = valid_call()
    before = snapshot(model, opt)
    cases = [
        (dict(model="net"), TypeError, r"^lr_range_test: model must be a minidl Module, got str$"),
        (dict(criterion=None), TypeError, r"^lr_range_test: criterion must be a minidl loss .*got NoneType$"),
        (dict(optimizer=object()), TypeError, r"^lr_range_test: optimizer must be a minidl Optimizer .*got object$"),
        (dict(train=x), TypeError, r"^lr_range_test train: expected an \(x, y\) pair of tensors, got Tensor$"),
        (dict(train=(x, y[:5])), ValueError, r"^lr_range_test train: x and y must have the same length"),
        (dict(train=(x, y + 2)), ValueError, r"^lr_range_test: labels must be in \[0, 2\) for a model with 2 "
                                             r"outputs, got [23] at row 0$"),
        (dict(train=(x.index_fill(0, torch.tensor([3]), math.nan), y)), ValueError,
         r"^lr_range_test: train x row 3 is not finite$"),
    ]
    for change, error, message in cases:
        args = dict(model=model, criterion=crit, optimizer=opt, train=(x, y)) | change
        with pytest.raises(error, match=message):
            lr_range_test(args["model"], args["criterion"], args["optimizer"], args["train"])
        assert same_snapshot(before, snapshot(model, opt)), change



class FirstColumn(Module):
    """y = x[:, 0]: outputs of shape (N,), which no loss of the range test takes."""

    def forward(self, x):
        return x[:, 0]

    def backward(self, grad):
        return torch.zeros(len(grad), 2).index_copy_(1, torch.tensor([0]), grad[:, None])


def test_a_model_whose_outputs_are_not_n_by_c_is_named_by_the_range_test_not_by_fit():
    torch.manual_seed(0)
    model = Sequential(Linear(2, 2), FirstColumn())
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"^lr_range_test: expected model outputs of shape \(N, C\), got \(1,\)$"):
        lr_range_test(model, CrossEntropyLoss(), opt, disk(20, generator=0))

def test_the_first_batch_loss_already_infinite_is_a_clear_error():
    model, crit, opt, (x, y) = valid_call()
    model.parameters()[-1].data.fill_(1e38)                              # outputs overflow float32
    model.parameters()[-2].data.fill_(1e38)
    before = snapshot(model, opt)
    with pytest.raises(RuntimeError, match=r"^lr_range_test: the first batch loss was not finite at lr 1e-05; "):
        lr_range_test(model, MSELoss(), opt, (x, y))
    assert same_snapshot(before, snapshot(model, opt))


def test_steepest_and_repr():
    r = LRRangeTest(lrs=[0.001, 0.01, 0.1, 1.0, 10.0], losses=[1.0, 0.9, 0.3, 0.25, 2.0],
                    raw=[1.0, 0.9, 0.3, 0.25, 2.0], best_lr=1.0, suggested=0.1, stopped=None)
    assert r.steepest == 0.01                     # (0.3 − 1.0) / ln 100: the most negative central slope
    assert repr(r) == ("LRRangeTest(5 steps, lr 0.001 .. 10; lowest smoothed loss 0.25 at lr 1; "
                       "suggested lr 0.1; tried all 5 lrs)")
    with pytest.raises(ValueError, match=r"^LRRangeTest.steepest: needs at least 3 steps, the test took 2$"):
        LRRangeTest([0.1, 1.0], [1.0, 2.0], [1.0, 2.0], 0.1, 0.01, "diverged").steepest  # noqa: B018


def test_exported_from_the_package():
    assert md.lr_range_test is lr_range_test and md.LRRangeTest is LRRangeTest
