"""The compiled step against the torch twin and the bare GEMMs, per training step, interleaved.

    .venv/bin/python benchmarks/fast_step_speed.py [--sizes S L] [--dtypes float32 float64] [--rounds 40]
                                                   [--before REV]

steps.py's problems and steps (the ones run_all.py times), one thread. For each configuration the steps take
turns batch by batch (fast, torch, GEMMs, then the other way round) for --rounds epochs (one batch a round
on L, whose steps take a second); every step is timed and the medians give torch / fast (issue 11: ≥ 5 on S)
and fast / GEMMs (≤ 2 on S, ≤ 1.05 on L). ``--before REV`` adds minidl/training/fast.py as it was at git
revision REV, compiled the same way, to the turns: a before/after comparison in one process.
Prints the load average: the machine is shared, so read the ratios, which compare runs interleaved in time.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from steps import DEFAULT_VARIANTS, fast_step, gemm_step, problem, torch_step  # noqa: E402

from minidl.training.data import batch_order  # noqa: E402

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def fast_at(rev: str):
    """minidl/training/fast.py as it was at git revision rev, imported as a module of its own."""
    source = subprocess.run(["git", "show", f"{rev}:minidl/training/fast.py"], cwd=HERE.parent, check=True,
                            capture_output=True, text=True).stdout.replace("from ..framework", "from minidl.framework")
    path = Path(tempfile.mkdtemp()) / "fast_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("fast_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(size: str, variant: str, dtype: str, rounds: int, before) -> dict[str, float]:
    p = problem(size, variant, DTYPES[dtype])
    steps = {"fast": fast_step(p)[0], "torch": torch_step(p)[0], "GEMMs": gemm_step(p)[0]}
    if before is not None:
        steps["before"] = before.compile(*p.build()).step
    gen = torch.Generator().manual_seed(2)
    batches = [(p.x[i], p.target[i]) for i in batch_order(len(p.x), p.batch_size, True, gen)]
    times: dict[str, list[float]] = {name: [] for name in steps}
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds + 1):                       # round 0 warms up
            names = list(steps) if r % 2 == 0 else list(reversed(steps))
            for xb, tb in batches[:1] if size == "L" else batches:
                for name in names:
                    start = time.perf_counter()
                    steps[name](xb, tb)
                    if r > 0:
                        times[name].append(time.perf_counter() - start)
    finally:
        gc.enable()
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["S"])
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    ap.add_argument("--variants", nargs="+", default=None)
    ap.add_argument("--rounds", type=int, default=40, help="epochs on S; steps on L take a third of this")
    ap.add_argument("--before", metavar="REV", help="also time fast.py as it was at this git revision")
    args = ap.parse_args()
    torch.set_num_threads(1)
    before = fast_at(args.before) if args.before else None
    print(f"torch {torch.__version__}, 1 thread, medians of steps interleaved; load average at the start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for size in args.sizes:
        for variant in args.variants or DEFAULT_VARIANTS[size]:
            for dtype in args.dtypes:
                m = measure(size, variant, dtype, args.rounds if size != "L" else max(3, args.rounds // 3), before)
                line = (f"{size} {variant:8} {dtype:7}  fast {m['fast'] * 1e6:9.1f} µs  torch {m['torch'] * 1e6:9.1f}"
                        f"  GEMMs {m['GEMMs'] * 1e6:9.1f}  torch/fast {m['torch'] / m['fast']:5.2f}x"
                        f"  fast/GEMMs {m['fast'] / m['GEMMs']:5.2f}x")
                if before is not None:
                    line += (f"  | before {m['before'] * 1e6:9.1f} µs: torch/fast {m['torch'] / m['before']:5.2f}x"
                             f"  fast/GEMMs {m['before'] / m['GEMMs']:5.2f}x")
                print(line, flush=True)
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
