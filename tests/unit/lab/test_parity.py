"""In step with PyTorch: a whole minidl training run equals its torch.nn + torch.optim + autograd twin.

Same seed, data, initial weights (minidl.reference.to_torch) and batch order (tests/twin.py replays
the batch_order() calls fit() makes); float64. Per epoch: identical error counts on train and test,
and the mean batch loss and the test loss equal to 1e-9; at the end, equal weights.
"""

import pytest
import torch
from twin import epoch_orders, run_twin

from minidl.framework.losses import CrossEntropyLoss, MSELoss
from minidl.framework.optim import SGD, Adam
from minidl.lab.reference import to_torch, torch_criterion, torch_optimizer
from minidl.training.data import disk, one_hot, standardize
from minidl.training.train import build_mlp, fit

TOL = 1e-9
OPTIMIZERS = {
    "sgd": lambda params: SGD(params, lr=0.1),
    "momentum": lambda params: SGD(params, lr=0.1, momentum=0.9),
    "adam": lambda params: Adam(params, lr=0.01),
}


def experiment(loss, optimizer, *, seed=0, n_train=1000, n_test=1000, activation="relu"):
    """The course setup in float64: data, model, criterion, optimizer and the twin of all three."""
    g = torch.Generator().manual_seed(seed)
    x, y = disk(n_train, generator=g, dtype=torch.float64)
    tx, ty = disk(n_test, generator=g, dtype=torch.float64)
    x, tx, _, _ = standardize(x, tx)
    torch.manual_seed(seed)
    model = build_mlp(activation=activation, dtype=torch.float64)
    criterion = MSELoss() if loss == "mse" else CrossEntropyLoss()
    if loss == "mse":
        y, ty = one_hot(y, 2, dtype=torch.float64), one_hot(ty, 2, dtype=torch.float64)
    opt = OPTIMIZERS[optimizer](model.parameters())
    twin = to_torch(model)                           # copies of the initial weights
    return model, criterion, opt, (x, y), (tx, ty), (twin, torch_criterion(criterion), torch_optimizer(opt, twin))


def compare(history, ref, n_train, n_test):
    """The largest absolute difference of the losses; the error counts must be identical."""
    assert [round(e * n_train) for e in history.train_error] == ref["train_errors"]
    assert [round(e * n_test) for e in history.test_error] == ref["test_errors"]
    diffs = [abs(a - b) for key in ("train_loss", "test_loss")
             for a, b in zip(getattr(history, key), ref[key], strict=True)]
    return max(diffs)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_a_training_run_is_in_step_with_its_torch_twin(loss, optimizer):
    epochs, seed = 15, 3
    model, criterion, opt, train, test, (twin, tcrit, topt) = experiment(loss, optimizer, seed=seed)
    history = fit(model, criterion, opt, train, test, epochs=epochs, batch_size=100, generator=seed)
    ref = run_twin(twin, tcrit, topt, train, test, epoch_orders(len(train[0]), 100, epochs, seed))
    assert len(history) == epochs and history.diverged is None
    assert history.train_error[-1] < history.train_error[0] or history.train_error[0] < 0.05   # it learns
    worst = compare(history, ref, len(train[0]), len(test[0]))
    assert worst <= TOL, f"largest loss difference {worst:.3g}"
    for p, tp in zip(model.parameters(), twin.parameters(), strict=True):
        assert (p.data - tp.detach()).abs().max() <= TOL


def test_in_step_with_a_ragged_last_batch_and_tanh():
    """500 points in batches of 64: the last batch has 52; the mean loss weights each batch equally."""
    epochs, seed = 10, 5
    model, criterion, opt, train, test, (twin, tcrit, topt) = experiment(
        "ce", "momentum", seed=seed, n_train=500, n_test=300, activation="tanh")
    history = fit(model, criterion, opt, train, test, epochs=epochs, batch_size=64, generator=seed)
    ref = run_twin(twin, tcrit, topt, train, test, epoch_orders(500, 64, epochs, seed))
    assert compare(history, ref, 500, 300) <= TOL


def test_negative_control_a_different_batch_order_is_caught():
    """The comparison can fail: feed the twin another epoch order and the losses part."""
    epochs, seed = 3, 3
    model, criterion, opt, train, test, (twin, tcrit, topt) = experiment("mse", "momentum", seed=seed)
    history = fit(model, criterion, opt, train, test, epochs=epochs, generator=seed)
    ref = run_twin(twin, tcrit, topt, train, test, epoch_orders(len(train[0]), 100, epochs, seed + 1))
    diffs = [abs(a - b) for a, b in zip(history.train_loss, ref["train_loss"], strict=True)]
    assert max(diffs) > 1e-6
