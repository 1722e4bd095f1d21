"""minidl.experiments: the committed full-grid CSV is what the code computes, and the module's parts.

The CSV (notebooks/results/versus_pytorch.csv) comes from `python -m minidl.lab.sweep --full --out notebooks/results`,
about 7 minutes; here a few of its rows are recomputed (shortened where a run is a prefix of
a longer one) and must come out the same: error counts exactly, losses to the CSV's 12 digits.
"""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from conftest import ROOT

from minidl import experiments as ex
from minidl.lab.experiments import Config
from minidl.lab.report import FIGURES, Results, table
from minidl.training.history import History

CSV = ROOT / "notebooks" / "results" / "versus_pytorch.csv"


@pytest.fixture(scope="module")
def results():
    assert CSV.is_file(), f"{CSV} is missing: run python -m minidl.lab.sweep --full --out notebooks/results"
    return Results.load(CSV)


def same_as_csv(results, config, seed, epochs=None):
    """Recompute config for seed (for `epochs`, default all) and compare every recorded epoch."""
    pair = ex.run_pair(config, seed, epochs=epochs)
    compared = 0
    for row in results.rows:
        if (Config(**{k: row[k] for k in ex.KEY_FIELDS}, epochs=1) != config.key or row["seed"] != seed
                or row["epoch"] > (epochs or config.epochs)):
            continue
        for fw, h in pair.items():
            e = row["epoch"]
            if e > len(h):
                assert row[f"{fw}_train_errors"] == -1 and 0 < row[f"{fw}_diverged"] <= e
                continue
            assert row[f"{fw}_train_errors"] == round(1000 * h.train_error[e - 1])
            assert row[f"{fw}_test_errors"] == round(1000 * h.test_error[e - 1])
            assert row[f"{fw}_train_loss"] == pytest.approx(h.train_loss[e - 1], rel=1e-10)
            assert row[f"{fw}_test_loss"] == pytest.approx(h.test_loss[e - 1], rel=1e-10)
        compared += 1
    assert compared >= 1
    return pair


# -- the committed results ------------------------------------------------------------------------------
def test_the_csv_holds_every_experiment_for_ten_seeds(results):
    for name, configs in ex.views().items():
        for c in configs:
            assert results.seeds(c) == list(ex.SEEDS), (name, c.name)
            for fw in ex.FRAMEWORKS:
                s = results.stat(c, fw, "test")
                assert s.n + s.diverged == 10


def test_every_stable_run_coincides_with_its_twin(results):
    """lr <= 0.1: the same error counts at every epoch, losses to 1e-9, the same divergence epoch
    (or, once, a twin that did not overflow but whose loss had blown up past 1e100 anyway).
    Above, rounding differences may grow until the two runs part: not asserted here."""
    runs = [r for r in results.runs() if r["lr"] <= 0.1]
    assert len(runs) > 1000
    for r in runs:
        if r["minidl_diverged"] == r["torch_diverged"] == 0:
            assert r["error_mismatch_epochs"] == 0 and r["max_rel_loss_diff"] <= ex.TWIN_TOL, r
        elif r["minidl_diverged"] != r["torch_diverged"]:
            survivor = "torch" if r["minidl_diverged"] else "minidl"
            rows = [x for x in results.rows if x["seed"] == r["seed"] and all(x[k] == r[k] for k in ex.KEY_FIELDS)]
            assert all(x[f"{survivor}_train_loss"] > 1e100 for x in rows), r


@pytest.mark.parametrize("config, seed, epochs", [
    (Config(loss="ce", epochs=250), 4, 20),                                          # 3. epochs: a prefix
    (Config(acts="tanh", lr=0.1, init="uniform", scale=1.0), 1, None),               # 2. learning rate
    (Config(lr=0.05, init="uniform", scale=1.0), 2, None),                           # 4. init: diverges
    (Config(acts="relu-relu-tanh", lr=0.05, epochs=250), 3, None),                   # 5. the table
    (Config(optimizer="adam", lr=1e-3, batch_size=1, epochs=20), 6, 1),              # 6. optimisers
    (Config(loss="ce", standardize=False, lr=0.3), 9, None),                         # 7. raw inputs
])
def test_csv_rows_are_reproduced(results, config, seed, epochs):
    torch.set_num_threads(1)
    same_as_csv(results, config, seed, epochs)


# -- the module -------------------------------------------------------------------------------------------
def test_config_checks_and_names():
    c = Config(acts="relu-relu-tanh", lr=0.05, init="uniform", scale=0.5, standardize=False)
    assert c.hidden == ["relu", "relu", "tanh"] and c.init_label == "U±0.5"
    assert c.name == "mse relu-relu-tanh sgd lr=0.05 bs=100 100ep U±0.5 raw"
    assert c.key == Config(acts="relu-relu-tanh", lr=0.05, init="uniform", scale=0.5, standardize=False, epochs=1)
    for bad, match in [(dict(loss="hinge"), "loss must be"), (dict(acts="relu-gelu-relu"), "acts must be"),
                       (dict(init="uniform"), "scale > 0 exactly"), (dict(scale=1.0), "scale > 0 exactly"),
                       (dict(init="orthogonal"), "init must be"), (dict(lr=0.0), "needs lr > 0"),
                       (dict(momentum=1.0), "0 <= momentum < 1")]:
        with pytest.raises(ValueError, match=match):
            Config(**bad)


def test_build_draws_seeded_weights_and_the_chosen_init():
    m0, _, _ = ex.build(Config(), 0)
    m0b, _, _ = ex.build(Config(), 0)
    m1, _, _ = ex.build(Config(), 1)
    assert torch.equal(m0[0].weight.data, m0b[0].weight.data) and not torch.equal(m0[0].weight.data, m1[0].weight.data)
    assert m0[0].weight.data.abs().max() <= 1 / math.sqrt(2) and m0[2].weight.data.abs().max() <= 1 / 5
    mu, crit, opt = ex.build(Config(loss="ce", optimizer="adam", lr=1e-3, init="uniform", scale=2.0), 0)
    assert 1.5 < mu[2].weight.data.abs().max() <= 2.0 and 1.0 < mu[2].bias.data.abs().max() <= 2.0
    assert type(crit).__name__ == "CrossEntropyLoss" and type(opt).__name__ == "Adam"
    mk, _, _ = ex.build(Config(init="kaiming_uniform"), 0)
    assert torch.all(mk[2].bias.data == 0) and mk[2].weight.data.abs().max() <= math.sqrt(6 / 25)
    mt, _, _ = ex.build(Config(acts="relu-relu-tanh"), 0)
    assert [type(m).__name__ for m in mt][1::2] == ["ReLU", "ReLU", "Tanh"]


def test_data_is_seeded_and_standardized_from_the_train_set():
    (x, y), (tx, ty) = ex.data(3)
    assert x.dtype == torch.float64 and x.shape == tx.shape == (1000, 2) and y.shape == (1000,)
    torch.testing.assert_close(x.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-12, rtol=0)
    (rx, ry), _ = ex.data(3, standardized=False)
    assert torch.equal(ry, y) and 0 <= rx.min() and rx.max() <= 1


def test_run_pair_coincides_and_a_shorter_run_is_a_prefix():
    long = ex.run_pair(Config(loss="ce", lr=0.1, momentum=0.5), 0, epochs=4)
    short = ex.run_pair(Config(loss="ce", lr=0.1, momentum=0.5), 0, epochs=2)
    assert long["minidl"].train_error[:2] == short["minidl"].train_error == short["torch"].train_error
    worst, mismatches = ex.agreement(long)
    assert worst < ex.TWIN_TOL and mismatches == 0
    assert (long["minidl"].config["step"], long["torch"].config["step"]) == ("compiled", "torch")  # through fit


def test_agreement_and_records_of_a_diverged_run():
    a, b = History(), History()
    for h, loss in ((a, 0.5), (b, 0.5 * (1 + 1e-6))):
        h.record(1, loss, 0.1, 0.2, 0.1, loss, 0.2)
        h.config.update(n_train=1000, n_test=1000)
    b.record(2, 0.4, 0.3, 0.3, 0.1, 0.4, 0.3)
    a.diverged = "diverged at epoch 2"
    worst, mismatches = ex.agreement({"minidl": a, "torch": b})
    assert worst == pytest.approx(1e-6, rel=1e-3) and mismatches == 0
    rows = ex.records(Config(epochs=5), 7, {"minidl": a, "torch": b}, [1, 2, 5])
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[1]["minidl_train_errors"] == -1 and math.isnan(rows[1]["minidl_train_loss"])
    assert rows[1]["torch_train_errors"] == 300 and rows[0]["minidl_diverged"] == 2 and rows[0]["torch_diverged"] == 0
    gone = History()
    gone.diverged = "diverged at epoch 1"
    rows = ex.records(Config(), 0, {"minidl": gone, "torch": gone}, [100])
    assert [(r["epoch"], r["minidl_diverged"], r["torch_test_errors"]) for r in rows] == [(1, 1, -1)]


def test_plan_trains_a_config_once_for_its_longest_read_off():
    views = ex.views()
    p = ex.plan([c for cs in views.values() for c in cs])
    assert p[Config(epochs=250)] == [20, 30, 40, 50, 60, 70, 80, 90, 100] + list(range(110, 251, 10))
    assert Config(epochs=100) not in p                       # momentum 0, MSE: read off the 250-epoch run
    assert len(p) == len({c.key for cs in views.values() for c in cs})
    quick = ex.views(quick=True)
    assert set(quick) == set(views) and all(len(quick[k]) < len(views[k]) or k == "table" for k in views)


def test_results_stat_best_lr_and_the_csv_round_trip(tmp_path):
    rows = []
    for lr, errors in ((0.1, (30, 50, 70)), (0.3, (10, 20, 30)), (1.0, (5, 5, -1))):
        for seed, e in enumerate(errors):
            row = dict.fromkeys(ex.COLUMNS, 0)
            row.update({k: getattr(Config(lr=lr), k) for k in ex.KEY_FIELDS}, run_epochs=100, seed=seed, epoch=100,
                       max_rel_loss_diff=0.0)
            for fw in ex.FRAMEWORKS:
                row.update({f"{fw}_train_errors": e, f"{fw}_test_errors": e, f"{fw}_train_loss": 0.1,
                            f"{fw}_test_loss": 0.1, f"{fw}_time": 1.5, f"{fw}_diverged": 50 if e < 0 else 0})
            rows.append(row)
    loaded = Results.load(ex.save_csv(rows, tmp_path / "r.csv"))
    assert loaded.rows[0] == rows[0]
    s = loaded.stat(Config(lr=0.1), "torch", "train")
    assert (s.mean, s.std, s.n, s.diverged) == (5.0, 2.0, 3, 0) and str(s) == "5.00 ± 2.00"
    assert loaded.stat(Config(lr=1.0), "minidl", "test").diverged == 1
    assert loaded.best_lr([Config(lr=lr) for lr in (0.1, 0.3, 1.0)]) == Config(lr=0.3)   # 1.0: a seed diverged
    with pytest.raises(KeyError, match="no runs of mse relu sgd lr=0.03"):
        loaded.stat(Config(lr=0.03), "minidl", "train")
    with pytest.raises(KeyError, match="epoch 50 of .* was not recorded"):
        loaded.stat(Config(lr=0.1, epochs=50), "minidl", "train")


def test_figures_and_table_from_the_committed_csv(results):
    views = ex.views()
    for name, configs in views.items():
        fig = FIGURES[name](results, configs)
        assert fig.axes and fig.get_suptitle().startswith(tuple("1234567"))
        plt.close(fig)
    text = table(results, views["table"][0]).splitlines()
    assert text[0] == "| framework | train error (%) | test error (%) | time (s) |" and len(text) == 4
    assert text[2].startswith("| minidl | ") and text[3].startswith("| torch | ")
    assert text[2].split("|")[2:4] == text[3].split("|")[2:4]           # same errors, seed by seed
