"""Epochs per second of minidl.train.fit on the course setup (1000 points, batches of 100, 2-25-25-25-2).

    python benchmarks/fit_speed.py [--epochs 300] [--threads 1]

Two ways the playground can drive training: one long fit() call, and fit(epochs=1) called
again and again with the same History (what a live widget loop does). Prints a table; asserts
nothing (timings belong in benchmarks, never in tests).
"""

from __future__ import annotations

import argparse
import time

import torch

from minidl.training.data import disk, one_hot, standardize
from minidl.framework.losses import CrossEntropyLoss, MSELoss
from minidl.framework.optim import SGD, Adam
from minidl.training.train import build_mlp, fit


def measure(loss: str, optimizer: str, epochs: int, per_call: int) -> float:
    g = torch.Generator().manual_seed(0)
    x, y = disk(1000, generator=g)
    tx, ty = disk(1000, generator=g)
    x, tx, _, _ = standardize(x, tx)
    if loss == "mse":
        criterion, y, ty = MSELoss(), one_hot(y, 2), one_hot(ty, 2)
    else:
        criterion = CrossEntropyLoss()
    torch.manual_seed(0)
    model = build_mlp()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9) if optimizer == "sgd" else \
        Adam(model.parameters(), lr=1e-3)
    history = fit(model, criterion, opt, (x, y), (tx, ty), epochs=3, generator=g, progress=False)  # warm up
    start = time.perf_counter()
    for _ in range(epochs // per_call):
        fit(model, criterion, opt, (x, y), (tx, ty), epochs=per_call, generator=g, history=history,
            progress=False)
    return (epochs // per_call) * per_call / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's; 1 is steadier on a busy machine)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'loss':<5} {'optimizer':<9} {'calls':<22} {'epochs/s':>9} {'ms/epoch':>9}")
    for loss in ("mse", "ce"):
        for optimizer in ("sgd", "adam"):
            for per_call, label in ((args.epochs, f"fit(epochs={args.epochs})"), (1, "fit(epochs=1) repeated")):
                rate = measure(loss, optimizer, args.epochs, per_call)
                print(f"{loss:<5} {optimizer:<9} {label:<22} {rate:9.0f} {1000 / rate:9.2f}")


if __name__ == "__main__":
    main()
