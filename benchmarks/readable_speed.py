"""The readable modules against the torch twin and the bare GEMMs on M and L, step by step.

    .venv/bin/python benchmarks/readable_speed.py [--sizes M,L] [--dtypes float32,float64] [--steps N]

Issue 11's target "readable modules not slower than torch on M and L in either dtype", measured
alone: the readable step (ReadableStep, what fit(..., fast=False) runs), the torch twin and the
GEMM floor of benchmarks/steps.py take turns step by step on the same batches (who goes first
rotates), 1 thread, garbage collector paused; the first two steps of each are a warm-up, the
table gives medians and torch / readable (>= 1: the readable step is not slower), of the wall
time (time.perf_counter) and of the CPU time of the thread (time.thread_time: on a shared
machine with more runnable processes than cores the wall time mostly measures waiting for a
core; the CPU time does not). The final losses are compared too. Prints; asserts nothing
(timings never decide a test).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from steps import DEFAULT_VARIANTS, FRAMEWORKS, problem  # noqa: E402

from minidl.training.data import batch_order  # noqa: E402

NAMES = ("minidl", "torch", "GEMMs")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
WARMUP = 2
STEPS = {"M": 60, "L": 12}          # per size (S: 60 too, e.g. as a smoke test)


def run(size: str, dtype: str, steps: int) -> dict[str, dict[str, float]]:
    """Median seconds per step of each of NAMES, wall and CPU, plus the relative loss difference
    readable vs torch."""
    p = problem(size, DEFAULT_VARIANTS[size][0], DTYPES[dtype])
    made = {name: FRAMEWORKS[name](p) for name in NAMES}
    gen = torch.Generator().manual_seed(2)
    batches: list[tuple[torch.Tensor, torch.Tensor]] = []
    while len(batches) < steps:
        batches += [(p.x[i], p.target[i]) for i in batch_order(len(p.x), p.batch_size, True, gen)]
    times: dict[str, list[float]] = {name: [] for name in NAMES}
    cpu: dict[str, list[float]] = {name: [] for name in NAMES}
    losses: dict[str, torch.Tensor] = {}
    gc.collect()
    gc.disable()
    try:
        for b in range(steps):
            for j in range(len(NAMES)):
                name = NAMES[(b + j) % len(NAMES)]
                start, start_cpu = time.perf_counter(), time.thread_time()
                losses[name] = made[name][0](*batches[b])
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.thread_time() - start_cpu)
    finally:
        gc.enable()
    loss_diff = abs(float(losses["minidl"]) - float(losses["torch"])) / abs(float(losses["torch"]))
    return {clock: {name: statistics.median(t[WARMUP:]) for name, t in table.items()} | {"loss_diff": loss_diff}
            for clock, table in (("wall", times), ("cpu", cpu))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="M,L")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"steps of each, the first {WARMUP} not timed (default: {STEPS})")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, load average at the start {os.getloadavg()}")
    print(f"{'problem':<22} {'clock':<5} {'readable':>10} {'torch':>10} {'GEMMs':>10} {'torch/readable':>15} "
          f"{'readable/GEMMs':>15} {'last loss Δ':>12}")
    for size in args.sizes.split(","):
        for dtype in args.dtypes.split(","):
            for clock, m in run(size, dtype, args.steps or STEPS.get(size, 60)).items():
                print(f"{size + ' ' + DEFAULT_VARIANTS[size][0] + ' ' + dtype:<22} {clock:<5} "
                      f"{m['minidl'] * 1e3:>8.1f}ms {m['torch'] * 1e3:>8.1f}ms {m['GEMMs'] * 1e3:>8.1f}ms "
                      f"{m['torch'] / m['minidl']:>14.3f}× {m['minidl'] / m['GEMMs']:>14.3f}× "
                      f"{m['loss_diff']:>12.1e}", flush=True)
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
