"""Where the time of `python -m minidl.lab.sweep --full` goes: minidl's side and the torch twin's.

    .venv/bin/python benchmarks/sweep_time.py [--seeds 0] [--views lr,table] [--per-run-twin] [--out benchmarks/results]

Trains every run of the full grid for the given seeds (the full sweep trains seeds 0-9), one process,
one thread, as experiments.run_seeds does: each minidl run with fit(), and the twins of all ten
seeds at once (experiments.twin_ensemble; always the ten, since an ensemble of fewer seeds shares its
per-step overhead among fewer). It sums the CPU time (time.process_time, which a busy shared machine
disturbs less than the wall clock) of each side; the full sweep's time on 2 idle cores is then about
(minidl x 10 / len(seeds) + twins) / 2. With ``--per-run-twin`` the twins of the given seeds are
trained one at a time (experiments.trainers' fit_twin), as the sweep did before session 21. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from minidl.lab import experiments as E


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--per-run-twin", action="store_true", help="one fit_twin per run, not one ensemble")
    parser.add_argument("--views", default=",".join(E.views()), help="the experiments to time (default: all)")
    args = parser.parse_args()
    chosen = args.views.split(",")
    if unknown := [v for v in chosen if v not in E.views()]:
        parser.error(f"--views: expected names from {','.join(E.views())}, got {','.join(unknown)}")
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    load = os.getloadavg()
    views = {name: cs for name, cs in E.views().items() if name in chosen}
    runs = E.plan([c for cs in views.values() for c in cs])
    by_view = {name: set(E.plan(cs)) for name, cs in views.items()}
    cpu: dict[str, dict[str, float]] = {}
    wall = time.perf_counter()
    for config in runs:
        view = next(name for name, keys in by_view.items() if config in keys)
        side = cpu.setdefault(view, {"minidl": 0.0, "torch": 0.0, "runs": 0})
        for seed in seeds:
            trainers = E.trainers(config, seed)
            for fw in ("minidl", "torch") if args.per_run_twin else ("minidl",):
                t0 = time.process_time()
                trainers[fw]()
                side[fw] += time.process_time() - t0
            side["runs"] += 1
        if not args.per_run_twin:
            train = E.twin_ensemble(config, E.SEEDS)
            t0 = time.process_time()
            train()
            side["torch"] += (time.process_time() - t0) * len(seeds) / len(E.SEEDS)   # as if len(seeds)
    scale = 10 / len(seeds) / 2
    lines = ["| experiment | runs | minidl CPU s | torch twin CPU s | twin share |", "|---|---:|---:|---:|---:|"]
    for view, s in cpu.items():
        lines.append(f"| {view} | {s['runs']} | {s['minidl']:.1f} | {s['torch']:.1f} | "
                     f"{s['torch'] / (s['minidl'] + s['torch']):.0%} |")
    m, t = sum(s["minidl"] for s in cpu.values()), sum(s["torch"] for s in cpu.values())
    lines.append(f"| all | {sum(s['runs'] for s in cpu.values())} | {m:.1f} | {t:.1f} | {t / (m + t):.0%} |")
    estimate = (m + t) * scale / 60
    twins = "one fit_twin per run" if args.per_run_twin else "each config's ten seeds in one ensemble"
    whole = set(chosen) == set(E.views())
    what = "`python -m minidl.lab.sweep --full`" if whole else f"the experiments {', '.join(chosen)} of the full sweep"
    verdict = f"target ≤ 10: {'met' if estimate <= 10 else 'missed'}; " if whole else ""
    summary = (f"**{what}: about {estimate:.1f} minutes on 2 idle cores** "
               f"({verdict}estimated from the CPU time of seed(s) "
               f"{args.seeds} × 10 / {len(seeds)} / 2 workers; minidl's side {m * scale / 60:.1f} min, the torch "
               f"twins' {t * scale / 60:.1f} min ({twins}). Command: `.venv/bin/python benchmarks/sweep_time.py "
               f"{' '.join(sys.argv[1:])}` ({(time.perf_counter() - wall) / 60:.1f} min wall, load average at the "
               f"start {' '.join(f'{v:.2f}' for v in load)}).")
    print(summary, *lines, sep="\n")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "sweep.md").write_text("\n".join(["### The full sweep", "", summary, "", *lines]) + "\n")


if __name__ == "__main__":
    main()
