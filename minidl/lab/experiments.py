"""minidl versus PyTorch: the course experiments over ten seeds, each run beside its torch twin.  Notebook 11

Every run trains a minidl model with ``fit()`` and its torch.nn + torch.optim twin with
``reference.fit_twin()`` on the same data, initial weights and batch order, in float64:
seed s draws the disk data from ``torch.Generator(s)``, the weights after
``torch.manual_seed(1000 + s)`` and the batch order from generator ``2000 + s``. The sweep trains
a config's ten twins at once (``run_seeds``: ``ensemble.fit_twins``, the same twins stacked in one
vmapped torch model, the same numbers to ~1e-12), in less than half the time of ten fit_twin calls.

    python -m minidl.lab.sweep --full --out notebooks/results    # the full grid: CSV + figures
    python -m minidl.lab.sweep --quick                           # 2 seeds, short runs, a temporary folder
    python -m minidl.lab.sweep --full --plot-only --out notebooks/results   # figures again from the CSV

A ``Config`` is a run without its seed; an experiment (a *view*, see ``views()``) is a list of
Configs. Configs that differ only in ``epochs`` are trained once, for the longest, and read off
at every epoch a view asks for: epoch e of fit() never depends on how many epochs follow.
Reading the CSV back (statistics, figures, the table): ``minidl.lab.report``; the command line:
``minidl.lab.sweep``.

The CSV has one row per run and recorded epoch: the Config's fields but epochs, ``run_epochs``,
``seed``, ``epoch``, then per framework the mean batch loss, the train / test error *counts*
(of 1000; -1 once diverged), the test loss, the cumulative time, and the epoch it diverged in
(0: never); ``max_rel_loss_diff`` and ``error_mismatch_epochs`` compare the two over the whole
run. Up to lr 0.1 they agree to rounding; at 0.3 and 1, near the edge of stability, last-bit
differences (cross-entropy and Tanh backward passes are not grouped exactly like autograd's)
can grow until some runs part ways (notebook 11).
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch

from ..framework import init as md_init
from ..framework.activations import ACTIVATIONS
from ..framework.module import Sequential
from ..training.data import disk, standardize
from ..training.history import History
from ..training.models import Recipe
from ..training.models import build as build_from
from ..training.serialization import atomic_write
from ..training.train import fit

DTYPE = torch.float64
SEEDS = tuple(range(10))
QUICK_SEEDS = (0, 1)
FRAMEWORKS = ("minidl", "torch")
ACTS = {name: ACTIVATIONS[name] for name in ("relu", "tanh")}     # the two the grid sweeps
LRS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)        # experiment 2, log-spaced
FACTOR_LRS = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)                         # experiment 7: a subset
TWIN_TOL = 1e-9            # the largest relative loss difference between a run and its twin (float64)


@dataclass(frozen=True)
class Config:
    """One training run, apart from its seed. The defaults are the course's: MSE, ReLU, SGD lr 5e-3."""

    loss: str = "mse"                    # "mse" (one-hot targets) or "ce"
    acts: str = "relu"                   # the three hidden activations: "relu", "tanh", "relu-relu-tanh"
    optimizer: str = "sgd"               # "sgd" or "adam"
    lr: float = 5e-3
    momentum: float = 0.0
    batch_size: int = 100
    epochs: int = 100
    init: str = "default"                # a minidl.init.SCHEMES name
    scale: float = 0.0                   # a for U[-a, a] ("uniform") or the std ("normal")
    standardize: bool = True             # inputs standardized with the train set's mean and std

    def __post_init__(self) -> None:
        where = f"Config({self.name})"
        if self.loss not in ("mse", "ce") or self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"{where}: loss must be 'mse' or 'ce' and optimizer 'sgd' or 'adam'")
        if len(self.hidden) != 3 or any(a not in ACTS for a in self.hidden):
            raise ValueError(f"{where}: acts must be one of {list(ACTS)} or three joined by '-', got {self.acts!r}")
        if self.init not in md_init.SCHEMES or (self.init in ("uniform", "normal")) != (self.scale > 0):
            raise ValueError(f"{where}: init must be in {md_init.SCHEMES}, with scale > 0 exactly for "
                             f"'uniform' / 'normal'; got init={self.init!r}, scale={self.scale!r}")
        if not (self.lr > 0 and 0 <= self.momentum < 1 and self.batch_size >= 1 and self.epochs >= 1):
            raise ValueError(f"{where}: needs lr > 0, 0 <= momentum < 1, batch_size >= 1 and epochs >= 1")

    @property
    def hidden(self) -> list[str]:
        names = self.acts.split("-")
        return names * 3 if len(names) == 1 else names

    @property
    def key(self) -> Config:
        """The run this config is read off: the same config, epochs aside."""
        return replace(self, epochs=1)

    @property
    def init_label(self) -> str:
        return {"uniform": f"U±{self.scale:g}", "normal": f"N(0,{self.scale:g}²)"}.get(self.init, self.init)

    @property
    def name(self) -> str:
        opt = f"{self.optimizer} lr={self.lr:g}" + (f" m={self.momentum:g}" if self.momentum else "")
        raw = "" if self.standardize else " raw"
        return f"{self.loss} {self.acts} {opt} bs={self.batch_size} {self.epochs}ep {self.init_label}{raw}"


# -- one run and its twin -------------------------------------------------------------------------
def data(seed: int, standardized: bool = True, n: int = 1000) -> tuple[tuple, tuple]:
    """(x, y) train and test: n + n disk points from torch.Generator(seed), float64, integer labels."""
    g = torch.Generator().manual_seed(seed)
    (x, y), (tx, ty) = disk(n, generator=g, dtype=DTYPE), disk(n, generator=g, dtype=DTYPE)
    if standardized:
        x, tx, _, _ = standardize(x, tx)
    return (x, y), (tx, ty)


def build(config: Config, seed: int) -> tuple[Sequential, Any, Any]:
    """The 2-25-25-25-2 model (weights after torch.manual_seed(1000 + seed)), criterion, optimizer."""
    return build_from(Recipe(activation=tuple(config.hidden), init=config.init,
                             init_scale=config.scale if config.scale > 0 else None, loss=config.loss,
                             optimizer=config.optimizer, lr=config.lr, momentum=config.momentum,
                             dtype=DTYPE, seed=1000 + seed))


def trainers(config: Config, seed: int, epochs: int | None = None) -> dict[str, Callable[[], History]]:
    """The run and its twin, built and ready: {"minidl": train, "torch": train}, each a call returning its History.

    Both start from the same weights (the twin is ``reference.to_torch`` of the minidl model) and
    see the same data and batch order. The twin's optimizer uses torch's fused update (``fused=True``:
    one kernel for all parameters, half the time of the multi-tensor one; float64 runs agree with torch's
    CPU default to 1e-12, tests/unit/lab/test_reference.py).
    ``epochs`` overrides config.epochs (a shorter run is a prefix of the longer one).
    """
    from .reference import fit_twin, to_torch, torch_criterion, torch_optimizer

    train, test = data(seed, config.standardize)
    model, criterion, opt = build(config, seed)
    twin = to_torch(model)
    tcrit, topt = torch_criterion(criterion), torch_optimizer(opt, twin, fused=True)
    kw = dict(epochs=epochs or config.epochs, batch_size=config.batch_size, generator=2000 + seed)
    return {"minidl": lambda: fit(model, criterion, opt, train, test, progress=False, **kw),
            "torch": lambda: fit_twin(twin, tcrit, topt, train, test, **kw)}


def twin_ensemble(config: Config, seeds: Sequence[int], epochs: int | None = None) -> Callable[[], list[History]]:
    """The torch twins of config's runs for these seeds, built and ready to train all at once: a call
    returning their Histories, one per seed, as ``trainers(config, seed)["torch"]`` would (same data,
    weights, batch order, fused optimizer; ``ensemble.fit_twins``: one vmapped model, same numbers to ~1e-12)."""
    from .ensemble import fit_twins
    from .reference import to_torch, torch_criterion, torch_optimizer

    sets = [data(seed, config.standardize) for seed in seeds]
    built = [build(config, seed) for seed in seeds]
    _, criterion, opt = built[0]
    return lambda: fit_twins([to_torch(b[0]) for b in built], torch_criterion(criterion),
                             lambda params: torch_optimizer(opt, params, fused=True), [s[0] for s in sets],
                             [s[1] for s in sets], epochs=epochs or config.epochs, batch_size=config.batch_size,
                             generators=[2000 + seed for seed in seeds])


def run_seeds(config: Config, seeds: Sequence[int], epochs: int | None = None) -> list[dict[str, History]]:
    """run_pair for every seed, the twins trained together (``twin_ensemble``): the sweep's unit of work.

    The ten twins of a config take less than half the time of ten fit_twin runs (a twin's step is torch's
    per-operation overhead, which one vmapped step shares among the seeds); each History's ``time`` is then
    its share of the ensemble's.
    """
    runs = [trainers(config, seed, epochs)["minidl"]() for seed in seeds]
    return [{"minidl": run, "torch": twin} for run, twin in zip(runs, twin_ensemble(config, seeds, epochs)(),
                                                                 strict=True)]


def run_pair(config: Config, seed: int, epochs: int | None = None) -> dict[str, History]:
    """Train minidl and its torch twin from the same weights (``trainers``); {"minidl": History, "torch": History}.

    Which one runs first alternates with the seed, so a busy machine slows both alike.
    """
    runs = trainers(config, seed, epochs)
    out = {fw: runs[fw]() for fw in (FRAMEWORKS if seed % 2 == 0 else FRAMEWORKS[::-1])}
    return {fw: out[fw] for fw in FRAMEWORKS}


def agreement(pair: dict[str, History]) -> tuple[float, int]:
    """(largest relative difference of the train and test losses, number of epochs whose error
    counts differ), over the epochs both runs completed."""
    a, b = pair["minidl"], pair["torch"]
    worst, mismatches = 0.0, 0
    for i in range(min(len(a), len(b))):
        for key in ("train_loss", "test_loss"):
            u, v = getattr(a, key)[i], getattr(b, key)[i]
            worst = max(worst, abs(u - v) / max(abs(u), abs(v), 1e-300))
        mismatches += (a.train_error[i], a.test_error[i]) != (b.train_error[i], b.test_error[i])
    return worst, mismatches


# -- the experiments -------------------------------------------------------------------------------
def views(quick: bool = False) -> dict[str, list[Config]]:
    """Experiment name -> its Configs. quick: a few grid points and a tenth of the epochs."""
    pick = (lambda xs, *keep: [x for i, x in enumerate(xs) if i in keep or i - len(xs) in keep]) if quick \
        else (lambda xs, *keep: list(xs))
    losses = ("mse", "ce")
    inits_lr = [("default", 0.0), ("uniform", 1.0), ("normal", 1.0)]
    inits = [("default", 0.0), ("kaiming_uniform", 0.0), ("xavier_uniform", 0.0)] + \
        [("uniform", a) for a in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)]
    v = {
        "momentum": [Config(loss=lo, momentum=m) for lo in losses
                     for m in pick((0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), 0, -1)],
        "lr": [Config(acts=a, lr=lr, init=i, scale=s) for a in ("relu", "tanh") for i, s in pick(inits_lr, 0, 1)
               for lr in pick(LRS, 4, 8)],
        "epochs": [Config(loss=lo, epochs=e) for lo in losses for e in pick(range(20, 251, 10), 0, -1)],
        "init": [Config(lr=lr, init=i, scale=s) for lr in (5e-3, 0.05) for i, s in pick(inits, 0, 3, -3)],
        "table": [Config(acts="relu-relu-tanh", lr=0.05, epochs=250)],
        "optimizers": [Config(batch_size=b, momentum=m, optimizer=o, lr=lr, epochs=e)
                       for o, b, m, lr in (("sgd", 1, 0.0, 5e-3), ("sgd", 2, 0.0, 5e-3), ("sgd", 1, 0.9, 5e-3),
                                           ("adam", 1, 0.0, 1e-3))
                       for e in pick(range(1, 21), 0)],
        "factors": [Config(loss=lo, acts=a, standardize=s, lr=lr) for s in (True, False) for a in ("relu", "tanh")
                    for lo in losses for lr in pick(FACTOR_LRS, 3, 4)],
    }
    if quick:
        v = {k: [replace(c, epochs=max(1, c.epochs // 10)) for c in cs] for k, cs in v.items()}
    return {k: list(dict.fromkeys(cs)) for k, cs in v.items()}


def plan(configs: Iterable[Config]) -> dict[Config, list[int]]:
    """The runs to train: run key (epochs = the longest asked) -> the epochs to record."""
    runs: dict[Config, set[int]] = {}
    for c in configs:
        runs.setdefault(c.key, set()).add(c.epochs)
    return {replace(k, epochs=max(e)): sorted(e) for k, e in runs.items()}


# -- CSV rows ---------------------------------------------------------------------------------------
KEY_FIELDS = [f.name for f in fields(Config) if f.name != "epochs"]
METRICS = ("train_loss", "train_errors", "test_loss", "test_errors", "time")
COLUMNS = KEY_FIELDS + ["run_epochs", "seed", "epoch"] + [f"{fw}_{m}" for fw in FRAMEWORKS for m in METRICS] \
    + [f"{fw}_diverged" for fw in FRAMEWORKS] + ["max_rel_loss_diff", "error_mismatch_epochs"]


def records(config: Config, seed: int, pair: dict[str, History], epochs: Sequence[int]) -> list[dict]:
    """CSV rows of one run: the recorded epochs either framework completed (a run that diverged
    before any of them keeps one row, at the epoch it diverged, with empty metrics)."""
    worst, mismatches = agreement(pair)
    diverged = {fw: (len(h) + 1 if h.diverged else 0) for fw, h in pair.items()}
    done = max(len(h) for h in pair.values())
    wanted = [e for e in epochs if e <= done] or [min(d for d in diverged.values() if d)]
    rows = []
    for e in wanted:
        row = {k: getattr(config, k) for k in KEY_FIELDS}
        row.update(run_epochs=config.epochs, seed=seed, epoch=e, max_rel_loss_diff=worst,
                   error_mismatch_epochs=mismatches)
        for fw, h in pair.items():
            n_train, n_test = h.config.get("n_train", 1000), h.config.get("n_test", 1000)
            ok = e <= len(h)
            row[f"{fw}_train_loss"] = h.train_loss[e - 1] if ok else math.nan
            row[f"{fw}_test_loss"] = h.test_loss[e - 1] if ok else math.nan
            row[f"{fw}_train_errors"] = round(h.train_error[e - 1] * n_train) if ok else -1
            row[f"{fw}_test_errors"] = round(h.test_error[e - 1] * n_test) if ok else -1
            row[f"{fw}_time"] = h.time[e - 1] if ok else math.nan
            row[f"{fw}_diverged"] = diverged[fw]
        rows.append(row)
    return rows


def _job(args: tuple[Config, tuple[int, ...], list[int]]) -> list[dict]:
    config, seeds, epochs = args
    torch.set_num_threads(1)
    return [row for seed, pair in zip(seeds, run_seeds(config, seeds), strict=True)
            for row in records(config, seed, pair, epochs)]


def _cost(config: Config) -> float:
    return config.epochs * (1000 / config.batch_size + 2) * (1.5 if config.optimizer == "adam" else 1.0)


def run_all(configs: Iterable[Config], seeds: Sequence[int] = SEEDS, workers: int = 2,
            log: Any = print) -> list[dict]:
    """Train every planned run for every seed (``run_seeds``: one job per config, longest first, in
    ``workers`` processes); the rows."""
    seeds = tuple(seeds)
    jobs = sorted(((c, seeds, e) for c, e in plan(configs).items()), key=lambda j: -_cost(j[0]))
    total, done, rows, start = sum(_cost(j[0]) for j in jobs), 0.0, [], time.perf_counter()
    log(f"{len(jobs)} configs x {len(seeds)} seeds (x2 frameworks) in {workers} process(es)")
    if workers <= 1:
        results = map(_job, jobs)
    else:
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
        results = pool.map(_job, jobs)
    try:
        for i, (job, result) in enumerate(zip(jobs, results, strict=True), 1):
            rows += result
            done += _cost(job[0])
            spent = time.perf_counter() - start
            if i % 10 == 0 or i == len(jobs):
                log(f"[{i}/{len(jobs)}] {spent:.0f}s, about {spent * (total / done - 1):.0f}s to go")
    finally:
        if workers > 1:
            pool.shutdown(cancel_futures=True)
    return sorted(rows, key=lambda r: ([str(r[k]) for k in KEY_FIELDS], r["seed"], r["epoch"]))


def save_csv(rows: list[dict], path: str | Path) -> Path:
    """The rows as CSV (floats to 12 significant digits), written atomically."""
    text = io.StringIO()
    w = csv.DictWriter(text, COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.12g}" if isinstance(v, float) and k not in KEY_FIELDS else v)
                    for k, v in r.items()})
    return atomic_write(path, text.getvalue().encode("utf-8"), "save_csv")
