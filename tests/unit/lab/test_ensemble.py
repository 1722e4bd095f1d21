"""minidl.lab.ensemble: the seeds' twins trained at once are the twins fit_twin trains one by one."""

import pytest
import torch

from minidl.lab import experiments as ex
from minidl.lab.ensemble import fit_twins
from minidl.lab.experiments import Config
from minidl.lab.reference import to_torch, torch_criterion, torch_optimizer


def one_by_one(config, seeds, epochs):
    return [ex.trainers(config, s, epochs)["torch"]() for s in seeds]


def assert_same_runs(ours, theirs, rel=1e-12):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert len(a) == len(b) and a.diverged == b.diverged
        assert a.epoch == b.epoch and a.lr == b.lr
        assert a.train_error == b.train_error and a.test_error == b.test_error
        for key in ("train_loss", "test_loss"):
            for u, v in zip(getattr(a, key), getattr(b, key), strict=True):
                assert abs(u - v) <= rel * max(abs(u), abs(v)), (key, u, v)


@pytest.mark.parametrize("config, epochs", [
    (Config(), 3),                                                              # the course run
    (Config(loss="ce", acts="relu-relu-tanh", lr=0.1, momentum=0.9, standardize=False), 4),
    (Config(optimizer="adam", lr=1e-3, batch_size=7), 1),                      # a last batch of 6
])
def test_the_ensemble_trains_what_fit_twin_trains_seed_by_seed(config, epochs):
    torch.set_num_threads(1)
    seeds = (0, 1, 2)
    together = ex.twin_ensemble(config, seeds, epochs)()
    assert_same_runs(together, one_by_one(config, seeds, epochs))
    assert all(h.config["step"] == "torch ensemble" and h.config["n_train"] == 1000 for h in together)
    times = together[0].time
    assert all(0 < s < t for s, t in zip(times, times[1:], strict=False))


def test_a_seed_that_diverges_stops_alone_with_fit_twins_message():
    torch.set_num_threads(1)
    config, seeds = Config(lr=0.05, init="uniform", scale=1.0), (0, 1, 2)    # seeds 0 and 2 diverge at once
    together = ex.twin_ensemble(config, seeds, 5)()
    assert [h.diverged is not None for h in together] == [True, False, True]
    assert [len(h) for h in together] == [0, 5, 0]
    assert "diverged at epoch 1" in together[0].diverged
    assert_same_runs(together, one_by_one(config, seeds, 5))


def test_the_rows_of_run_seeds_are_run_pairs():
    config, seeds = Config(loss="ce", lr=0.03), (3, 4)
    for seed, pair in zip(seeds, ex.run_seeds(config, seeds, epochs=2), strict=True):
        alone = ex.run_pair(config, seed, epochs=2)
        assert pair["minidl"].train_loss == alone["minidl"].train_loss
        assert_same_runs([pair["torch"]], [alone["torch"]])


def parts(config, seeds):
    built = [ex.build(config, s) for s in seeds]
    sets = [ex.data(s) for s in seeds]
    twins = [to_torch(b[0]) for b in built]
    return twins, torch_criterion(built[0][1]), (lambda ps: torch_optimizer(built[0][2], ps, fused=True)), \
        [s[0] for s in sets], [s[1] for s in sets]


def test_the_twins_given_are_left_as_they_were():
    twins, crit, opt, trains, tests = parts(Config(), (0, 1))
    before = [[p.detach().clone() for p in t.parameters()] for t in twins]
    fit_twins(twins, crit, opt, trains, tests, epochs=1, batch_size=100, generators=[1, 2])
    for t, b in zip(twins, before, strict=True):
        assert all(torch.equal(p, q) for p, q in zip(t.parameters(), b, strict=True))
        assert all(p.grad is None for p in t.parameters())


def test_refusals_say_what_came():
    import torch.nn as nn

    twins, crit, opt, trains, tests = parts(Config(), (0, 1))
    kw = dict(epochs=1, batch_size=100)
    with pytest.raises(ValueError, match=r"fit_twins: needs as many twins, train sets, test sets and generators "
                                         r"\(at least one\), got 2, 2, 2, 1"):
        fit_twins(twins, crit, opt, trains, tests, generators=[1], **kw)
    with pytest.raises(ValueError, match=r"at least one\), got 0, 0, 0, 0"):
        fit_twins([], crit, opt, [], [], generators=[], **kw)
    short = [trains[0], (trains[1][0][:500], trains[1][1][:500])]
    with pytest.raises(ValueError, match=r"fit_twins: every train set must have one shape, got \[\(\(500, 2\), "
                                         r"\(500,\)\), \(\(1000, 2\), \(1000,\)\)\]"):
        fit_twins(twins, crit, opt, short, tests, generators=[1, 2], **kw)
    with pytest.raises(ValueError, match=r"fit_twins: every test set must have one shape, got \[\(\(999, 2\), "):
        fit_twins(twins, crit, opt, trains, [tests[0], (tests[1][0][:999], tests[1][1][:999])], generators=[1, 2], **kw)
    with pytest.raises(ValueError, match=r"fit_twins: batch_size must be a positive int, got 0"):
        fit_twins(twins, crit, opt, trains, tests, generators=[1, 2], epochs=1, batch_size=0)
    with pytest.raises(ValueError, match=r"fit_twins: epochs must be a positive int, got 1.5"):
        fit_twins(twins, crit, opt, trains, tests, generators=[1, 2], epochs=1.5, batch_size=100)
    dropped = [nn.Sequential(t, nn.Dropout(0.1)) for t in twins]
    with pytest.raises(TypeError, match=r"fit_twins: only layers that compute the same in train and eval mode can "
                                        r"be stacked \(Linear, the activations, LayerNorm\), got Dropout"):
        fit_twins(dropped, crit, opt, trains, tests, generators=[1, 2], **kw)


def test_torch_optimizer_takes_a_list_of_parameters_too():
    model, _, opt = ex.build(Config(optimizer="adam", lr=1e-3), 0)
    twin = to_torch(model)
    a, b = torch_optimizer(opt, twin), torch_optimizer(opt, list(twin.parameters()))
    assert a.param_groups[0]["params"] == b.param_groups[0]["params"] and a.defaults == b.defaults
