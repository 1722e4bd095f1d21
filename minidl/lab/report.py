"""The results of minidl.experiments read back: statistics, figures, the table.    Notebook 11

``Results.load()`` reads the CSV; ``stat(config, framework, metric)`` gives the mean ± std over
seeds. Each ``plot_<experiment>(results, configs)`` takes the CSV rows (or a ``Results``) and the
experiment's Configs (``views()[name]``) and returns a matplotlib Figure. minidl is drawn with
solid lines and filled markers, its torch twin with dashed lines and larger open markers on
top, so where the two coincide you see one marker inside the other. Error bars: one sample
standard deviation over the seeds; a run that diverged is left out of its point, and a point
whose every seed diverged is an × above the panel (a point where some did says "k div.").
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .experiments import FRAMEWORKS, KEY_FIELDS, Config


# -- reading ----------------------------------------------------------------------------------------
def load_csv(path: str | Path) -> list[dict]:
    types = {f.name: f.type for f in fields(Config)}
    kinds = {"str": str, "float": float, "int": int, "bool": lambda s: s == "True"}
    with Path(path).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, v in r.items():
            kind = types.get(k, "float" if k.endswith(("loss", "time", "diff")) else "int")
            r[k] = kinds[kind](v)
    return rows


@dataclass
class Stat:
    """Mean and sample standard deviation over the seeds that did not diverge (n), and how many did."""

    mean: float
    std: float
    n: int
    diverged: int

    def __str__(self) -> str:
        return f"{self.mean:.2f} ± {self.std:.2f}" if self.n else "diverged"


class Results:
    """The CSV rows, indexed by run and epoch. Metrics: "train" and "test" (error, in %),
    "train_loss", "test_loss", "time" (seconds of fit, evaluation included), per framework."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self._at: dict[tuple, dict] = {}
        self._runs: dict[tuple, dict] = {}              # (run key, seed) -> its first row
        self._seeds: dict[Config, list[int]] = {}
        for r in rows:
            key = Config(**{k: r[k] for k in KEY_FIELDS}, epochs=1)
            self._at[(key, r["seed"], r["epoch"])] = r
            if (key, r["seed"]) not in self._runs:
                self._runs[(key, r["seed"])] = r
                self._seeds.setdefault(key, []).append(r["seed"])

    @classmethod
    def load(cls, path: str | Path) -> Results:
        return cls(load_csv(path))

    def seeds(self, config: Config) -> list[int]:
        return sorted(self._seeds.get(config.key, []))

    def runs(self) -> list[dict]:
        """One row per run (its run-level columns: *_diverged, max_rel_loss_diff, error_mismatch_epochs)."""
        return list(self._runs.values())

    def values(self, config: Config, framework: str, metric: str) -> list[float]:
        """One value per seed at epoch config.epochs; NaN where that run had diverged by then."""
        seeds = self.seeds(config)
        if not seeds:
            raise KeyError(f"Results: no runs of {config.name}")
        out = []
        for s in seeds:
            row = self._at.get((config.key, s, config.epochs))
            if row is None:
                first = self._runs[(config.key, s)]
                if not 0 < first[f"{framework}_diverged"] <= config.epochs:
                    raise KeyError(f"Results: epoch {config.epochs} of {config.name} (seed {s}) was not recorded")
                out.append(math.nan)
            elif metric in ("train", "test"):
                errors = row[f"{framework}_{metric}_errors"]
                out.append(math.nan if errors < 0 else errors / 10)              # of 1000 points, in %
            else:
                out.append(row[f"{framework}_{metric}"])
        return out

    def stat(self, config: Config, framework: str, metric: str) -> Stat:
        v = [x for x in self.values(config, framework, metric) if not math.isnan(x)]
        n = len(v)
        mean = sum(v) / n if n else math.nan
        std = math.sqrt(sum((x - mean) ** 2 for x in v) / (n - 1)) if n > 1 else (0.0 if n else math.nan)
        return Stat(mean, std, n, len(self.seeds(config)) - n)

    def best_lr(self, configs: Iterable[Config], framework: str = "minidl") -> Config:
        """The config with the lowest mean final train error (then train loss) among those where
        no seed diverged: the learning rate is chosen on the training set only."""
        ok = [c for c in configs if self.stat(c, framework, "train").diverged == 0]
        if not ok:
            raise ValueError("Results.best_lr: every learning rate diverged for some seed")
        return min(ok, key=lambda c: (round(self.stat(c, framework, "train").mean, 6),
                                      self.stat(c, framework, "train_loss").mean))


# -- drawing ----------------------------------------------------------------------------------------
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")     # Okabe-Ito
STYLE = {"minidl": dict(ls="-", marker="o", ms=5, mfc=None),
         "torch": dict(ls="--", marker="o", ms=10, mfc="none", alpha=0.8)}
METRIC_LABEL = {"train": "train error (%)", "test": "test error (%)", "time": "time of fit (s)"}


def _results(results: Any) -> Results:
    return results if isinstance(results, Results) else Results(results)


def _lines(ax: Any, res: Results, series: dict[str, list[Config]], x: Callable[[Config], float],
           metric: str) -> int:
    """One minidl line and one torch line per series, mean ± std at each x; the number of rows of ×."""
    top, rows = 0.0, set()
    for i, (label, configs) in enumerate(series.items()):
        for fw in FRAMEWORKS:
            stats = [res.stat(c, fw, metric) for c in configs]
            xs = np.array([x(c) for c in configs], dtype=float)
            mean = np.array([s.mean for s in stats])
            style = dict(STYLE[fw])
            if style["mfc"] is None:
                style["mfc"] = COLORS[i]
            ax.errorbar(xs, mean, yerr=[s.std for s in stats], color=COLORS[i], capsize=3, lw=1.4,
                        label=f"{label}, {fw}", **style)
            lost = [xv for xv, s in zip(xs, stats, strict=True) if s.n == 0]
            if lost:                                   # every seed diverged: an × above the panel
                rows.add(i)
                ax.plot(lost, [1.02 + 0.05 * i] * len(lost), "x", color=COLORS[i], ms=8, mew=2,
                        transform=ax.get_xaxis_transform(), clip_on=False)
            for xv, m, s in zip(xs, mean, stats, strict=True):
                if s.n and s.diverged and fw == "minidl":        # some seeds diverged: how many
                    ax.annotate(f"{s.diverged} div.", (xv, m), xytext=(4, 4 + 9 * i), textcoords="offset points",
                                fontsize=7, color=COLORS[i])
            top = max(top, np.nanmax(mean + [s.std for s in stats]) if np.isfinite(mean).any() else 0)
    ax.set_ylim(0, max(top * 1.08, 1))
    ax.set_ylabel(METRIC_LABEL[metric])
    ax.grid(alpha=0.3)
    return len(rows)


def _figure(res: Results, series: dict[str, list[Config]], x: Callable[[Config], float], xlabel: str,
            title: str, logx: bool = False, panels: dict[str, dict[str, list[Config]]] | None = None) -> Figure:
    panels = panels or {"": series}
    fig, axes = plt.subplots(len(panels), 2, figsize=(11, 0.6 + 3.6 * len(panels)), squeeze=False)
    for row, (name, ser) in zip(axes, panels.items(), strict=True):
        for ax, metric in zip(row, ("train", "test"), strict=True):
            crosses = _lines(ax, res, ser, x, metric)
            ax.set_xlabel(xlabel)
            ax.set_title(f"{name}{': ' if name else ''}{metric} error", fontsize=10, pad=6 + 9 * crosses)
            if logx:
                ax.set_xscale("log")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", fontsize=8, ncol=min(len(labels), 4), frameon=False)
    fig.suptitle(title + "\nmean ± std over seeds; solid: minidl, dashed open: PyTorch twin "
                 "(× above: every seed diverged; 'k div.': k seeds diverged, left out)", fontsize=10)
    fig.tight_layout(rect=(0, 0.035 * (1 + (len(labels) - 1) // 4) * 2 / len(panels), 1, 1))
    return fig


def _by(configs: Sequence[Config], field: str, name: Callable[[Any], str] = str) -> dict[str, list[Config]]:
    out: dict[str, list[Config]] = {}
    for c in configs:
        out.setdefault(name(getattr(c, field)), []).append(c)
    return out


LOSS = {"mse": "MSE", "ce": "cross-entropy"}.get


def plot_momentum(results: Any, configs: Sequence[Config]) -> Figure:
    return _figure(_results(results), _by(configs, "loss", LOSS), lambda c: c.momentum, "momentum",
                   "1. SGD momentum (lr 5e-3, batch 100, 100 epochs, ReLU)")


def plot_lr(results: Any, configs: Sequence[Config]) -> Figure:
    panels = {act: _by([c for c in configs if c.acts == act], "init_label",
                       lambda s: "default U±1/√n_in" if s == "default" else s) for act in ("relu", "tanh")}
    return _figure(_results(results), panels["relu"], lambda c: c.lr, "learning rate",
                   "2. learning rate (SGD, batch 100, 100 epochs, MSE) for three initialisations",
                   logx=True, panels={"ReLU": panels["relu"], "Tanh": panels["tanh"]})


def plot_epochs(results: Any, configs: Sequence[Config]) -> Figure:
    return _figure(_results(results), _by(configs, "loss", LOSS), lambda c: c.epochs, "epochs",
                   "3. training length (SGD lr 5e-3, batch 100, ReLU), read off one 250-epoch run per seed")


def plot_init(results: Any, configs: Sequence[Config]) -> Figure:
    res = _results(results)
    labels = list(dict.fromkeys(c.init_label for c in configs))
    fig = _figure(res, _by(configs, "lr", lambda lr: f"lr {lr:g}"), lambda c: labels.index(c.init_label),
                  "initialisation of weights and biases",
                  "4. initialisation (MSE, ReLU, SGD, batch 100, 100 epochs)")
    for ax in fig.axes:
        ax.set_xticks(range(len(labels)), [s.replace("_uniform", "") for s in labels], fontsize=8)
    return fig


def plot_optimizers(results: Any, configs: Sequence[Config]) -> Figure:
    def name(c: Config) -> str:
        what = "Adam" if c.optimizer == "adam" else "SGD + momentum 0.9" if c.momentum else "SGD"
        return f"{what}, batch {c.batch_size}, lr {c.lr:g}"
    series: dict[str, list[Config]] = {}
    for c in configs:
        series.setdefault(name(c), []).append(c)
    return _figure(_results(results), series, lambda c: c.epochs * 1000, "per-sample gradient evaluations (log scale)",
                   "6. optimisers at equal gradient evaluations (MSE, ReLU; one epoch = 1000)", logx=True)


def _bars(res: Results, groups: dict[str, Config], metrics: Sequence[str], title: str) -> Figure:
    width = 5.5 if len(groups) > 2 else 2.7
    fig, axes = plt.subplots(1, len(metrics), figsize=(width * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for j, fw in enumerate(FRAMEWORKS):
            stats: list[Stat] = [res.stat(c, fw, metric) for c in groups.values()]
            ax.bar(np.arange(len(groups)) + (j - 0.5) * 0.38, [s.mean for s in stats], 0.36,
                   yerr=[s.std for s in stats], capsize=3, label=fw, color=COLORS[j],
                   hatch=None if fw == "minidl" else "//", edgecolor="white", alpha=0.9)
        ax.set_xticks(range(len(groups)), list(groups), fontsize=8)
        ax.set_ylabel(METRIC_LABEL[metric])
        ax.grid(alpha=0.3, axis="y")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title + "\nmean ± std over seeds", fontsize=10)
    fig.tight_layout()
    return fig


def plot_table(results: Any, configs: Sequence[Config]) -> Figure:
    return _bars(_results(results), {"FC ReLU ×2 + Tanh": configs[0]}, ("train", "test", "time"),
                 "5. the ten-run table: MSE, SGD lr 0.05, batch 100, 250 epochs")


def best_factors(results: Any, configs: Sequence[Config]) -> dict[str, Config]:
    """Label -> the config at its best learning rate, for each input / activation / loss."""
    res, out = _results(results), {}
    for c in configs:
        label = f"{'std' if c.standardize else 'raw'}\n{c.acts}\n{LOSS(c.loss)}"
        if label not in out:
            out[label] = res.best_lr([d for d in configs if _group(d) == _group(c)])
    return {f"{k}\nlr {c.lr:g}": c for k, c in out.items()}


def _group(c: Config) -> tuple:
    return (c.standardize, c.acts, c.loss, c.epochs)


def plot_factors(results: Any, configs: Sequence[Config]) -> Figure:
    return _bars(_results(results), best_factors(results, configs), ("train", "test"),
                 "7. standardised / raw inputs, ReLU / Tanh, MSE / cross-entropy, each at its best learning rate\n"
                 "(SGD, batch 100, 100 epochs; lr picked on the mean train error)")


def table(results: Any, config: Config) -> str:
    """The ten-run table as Markdown: train %, test %, time (s), mean ± std per framework."""
    res = _results(results)
    lines = ["| framework | train error (%) | test error (%) | time (s) |", "|---|---|---|---|"]
    for fw in FRAMEWORKS:
        lines.append(f"| {fw} | " + " | ".join(str(res.stat(config, fw, m)) for m in ("train", "test", "time")) + " |")
    return "\n".join(lines)


FIGURES: dict[str, Callable[[Any, Sequence[Config]], Figure]] = {
    "momentum": plot_momentum, "lr": plot_lr, "epochs": plot_epochs, "init": plot_init, "table": plot_table,
    "optimizers": plot_optimizers, "factors": plot_factors,
}
