"""md.fit against the idiomatic torch loop doing the same per-epoch work, on the course setup.

    .venv/bin/python benchmarks/fit_speed.py [--epochs 75] [--repeats 7] [--dtype float32] [--threads 1] [--out DIR]

Course setup: disk, 1000 train + 1000 test points (standardized), 2-25-25-25-2 ReLU, MSE against
one-hot targets, SGD lr 0.1 momentum 0.9, batches of 100, and every epoch the mean train loss, the
train error, the test loss and the test error (what fit's History records). Three whole runs from
the same initial weights take turns, ``--repeats`` times, who goes first rotating:

  * ``md.fit``                 fit(...), fast by default (the compiled step)
  * ``md.fit(fast=False)``     the readable step
  * ``torch loop``             torch.nn + autograd + torch.optim, written the idiomatic way
                               (randperm, x[idx], zero_grad/backward/step, loss.item(), eval under no_grad)

The table gives the median whole-run time of each and the ratios. It also prints the epochs/s of
fit(epochs=1) called again and again with one History (what a live widget does). Asserts nothing:
timings belong in benchmarks, never in tests.
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

from minidl.framework.losses import MSELoss
from minidl.framework.optim import SGD
from minidl.lab.reference import to_torch
from minidl.training.data import disk, one_hot, standardize
from minidl.training.train import build_mlp, fit


def course(dtype: torch.dtype) -> tuple:
    g = torch.Generator().manual_seed(0)
    (x, y), (tx, ty) = disk(1000, generator=g, dtype=dtype), disk(1000, generator=g, dtype=dtype)
    x, tx, _, _ = standardize(x, tx)
    return x, y, tx, ty


def minidl_run(data: tuple, epochs: int, dtype: torch.dtype, fast: bool) -> tuple[float, list]:
    x, y, tx, ty = data
    torch.manual_seed(0)
    model = build_mlp((2, 25, 25, 25, 2), activation="relu", dtype=dtype)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    start = time.perf_counter()
    h = fit(model, MSELoss(), opt, (x, one_hot(y, 2, dtype=dtype)), (tx, one_hot(ty, 2, dtype=dtype)),
            epochs=epochs, batch_size=100, generator=0, progress=False, fast=fast)
    return time.perf_counter() - start, h.test_error


def torch_run(data: tuple, epochs: int, dtype: torch.dtype) -> tuple[float, list]:
    """The loop a PyTorch user writes, with the same per-epoch records as fit's History."""
    x, y, tx, ty = data
    torch.manual_seed(0)
    model = to_torch(build_mlp((2, 25, 25, 25, 2), activation="relu", dtype=dtype))   # the same weights
    t, tt = one_hot(y, 2, dtype=dtype), one_hot(ty, 2, dtype=dtype)
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(0)
    history = []
    start = time.perf_counter()
    with torch.enable_grad():
        for _ in range(epochs):
            model.train()
            perm, total, batches = torch.randperm(len(x), generator=g), 0.0, 0
            for i in range(0, len(x), 100):
                idx = perm[i:i + 100]
                optimizer.zero_grad()
                loss = criterion(model(x[idx]), t[idx])
                loss.backward()
                optimizer.step()
                total, batches = total + loss.item(), batches + 1
            model.eval()
            with torch.no_grad():
                train_error = (model(x).argmax(dim=1) != y).float().mean().item()
                out = model(tx)
                test_loss = criterion(out, tt).item()
                test_error = (out.argmax(dim=1) != ty).float().mean().item()
            history.append((total / batches, train_error, test_loss, test_error))
    return time.perf_counter() - start, [h[3] for h in history]


def widget_rate(data: tuple, epochs: int, dtype: torch.dtype) -> float:
    x, y, tx, ty = data
    torch.manual_seed(0)
    model = build_mlp(dtype=dtype)
    opt, g, h = SGD(model.parameters(), lr=0.1, momentum=0.9), torch.Generator().manual_seed(0), None
    t, tt = one_hot(y, 2, dtype=dtype), one_hot(ty, 2, dtype=dtype)
    h = fit(model, MSELoss(), opt, (x, t), (tx, tt), epochs=2, generator=g, progress=False)   # warm up
    start = time.perf_counter()
    for _ in range(epochs):
        fit(model, MSELoss(), opt, (x, t), (tx, tt), epochs=1, generator=g, history=h, progress=False)
    return epochs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=75)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: steadier on a busy machine)")
    parser.add_argument("--out", type=Path, default=None, help="also write fit_speed.md there (benchmarks/results)")
    args = parser.parse_args()
    load = os.getloadavg()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    data = course(dtype)
    runs = {"md.fit": lambda: minidl_run(data, args.epochs, dtype, True),
            "md.fit(fast=False)": lambda: minidl_run(data, args.epochs, dtype, False),
            "torch loop": lambda: torch_run(data, args.epochs, dtype)}
    for run in runs.values():                                  # warm up: lazy initialisations, caches
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    errors = {}
    names = list(runs)
    gc.collect()
    gc.disable()
    try:
        for r in range(args.repeats):
            for name in names[r % 3:] + names[:r % 3]:
                seconds, errors[name] = runs[name]()
                times[name].append(seconds)
    finally:
        gc.enable()
    med = {name: statistics.median(ts) for name, ts in times.items()}
    lines = [f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.dtype}; course setup, "
             f"{args.epochs} epochs, median of {args.repeats} interleaved whole runs", "",
             "| run | whole run | ms/epoch | torch loop / this | final test error |", "|---|---:|---:|---:|---:|"]
    for name in names:
        lines.append(f"| {name} | {med[name]:.3f} s | {1000 * med[name] / args.epochs:.2f} | "
                     f"{med['torch loop'] / med[name]:.2f}× | {100 * errors[name][-1]:.2f}% |")
    ratio = med["torch loop"] / med["md.fit"]
    lines += ["", f"fit(epochs=1) called again and again (a live widget): {widget_rate(data, 200, dtype):.0f} epochs/s"]
    print("\n".join(lines))
    if args.out:
        command = " ".join([".venv/bin/python benchmarks/fit_speed.py", *sys.argv[1:]])
        target = (f"**md.fit, course setup, whole run: {ratio:.2f}× faster than the idiomatic torch loop** "
                  f"(target ≥ 4×: {'met' if ratio >= 4 else 'missed'}). Command: `{command}`; load average at "
                  f"the start {' '.join(f'{v:.2f}' for v in load)}.")
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "fit_speed.md").write_text("\n".join(["### md.fit against the idiomatic torch loop", "",
                                                           target, "", *lines]) + "\n")


if __name__ == "__main__":
    main()
