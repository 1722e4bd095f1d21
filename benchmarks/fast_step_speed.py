"""The compiled step against the torch twin and the bare GEMMs, per training step, interleaved.

    .venv/bin/python benchmarks/fast_step_speed.py [--sizes S L] [--dtypes float32 float64] [--rounds 15]

steps.py's problems and steps (the ones run_all.py times), one thread. For each configuration the three
steps take turns, one epoch at a time (one step at a time for L) for --rounds rounds; every step is timed and
the medians give the ratios torch / fast (issue 11: ≥ 5 on S) and fast / GEMMs (≤ 2 on S, ≤ 1.05 on L).
Prints the load average: the machine is shared, so read the ratios, which compare runs interleaved in time.
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
from steps import DEFAULT_VARIANTS, fast_step, gemm_step, problem, torch_step  # noqa: E402

from minidl.training.data import batch_order  # noqa: E402

DTYPES = {"float32": torch.float32, "float64": torch.float64}
STEPS = {"fast": fast_step, "torch": torch_step, "GEMMs": gemm_step}


def measure(size: str, variant: str, dtype: str, rounds: int) -> dict[str, float]:
    p = problem(size, variant, DTYPES[dtype])
    steps = {name: make(p)[0] for name, make in STEPS.items()}
    gen = torch.Generator().manual_seed(2)
    times: dict[str, list[float]] = {name: [] for name in steps}
    order = batch_order(len(p.x), p.batch_size, True, gen)
    batches = [(p.x[i], p.target[i]) for i in order]
    if size == "L":
        batches = batches[:1]
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds + 1):
            names = list(steps) if r % 2 == 0 else list(reversed(steps))
            for name in names:
                for xb, tb in batches:
                    start = time.perf_counter()
                    steps[name](xb, tb)
                    if r > 0:                              # round 0 warms up
                        times[name].append(time.perf_counter() - start)
    finally:
        gc.enable()
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["S"])
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    ap.add_argument("--variants", nargs="+", default=None)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; load average at the start {os.getloadavg()}")
    print(f"{'config':28} {'fast':>10} {'torch':>10} {'GEMMs':>10} {'torch/fast':>11} {'fast/GEMMs':>11}")
    for size in args.sizes:
        for variant in args.variants or DEFAULT_VARIANTS[size]:
            for dtype in args.dtypes:
                m = measure(size, variant, dtype, args.rounds if size != "L" else max(3, args.rounds // 3))
                print(f"{size} {variant} {dtype:9} {m['fast'] * 1e6:10.1f} {m['torch'] * 1e6:10.1f} "
                      f"{m['GEMMs'] * 1e6:10.1f} {m['torch'] / m['fast']:10.2f}x {m['fast'] / m['GEMMs']:10.2f}x",
                      flush=True)
    print(f"load average at the end {os.getloadavg()} (times in µs, medians)")


if __name__ == "__main__":
    main()
