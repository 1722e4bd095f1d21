"""Epochs and redraws per second of the live playground, headless, default setup.

    .venv/bin/python benchmarks/playground_speed.py [--seconds 10]

Presses Play on ``Playground(canvas=...)`` (disk, 2-25-25-25-2, batch 100, MSE, SGD) for each
canvas, lets it train for the given time on an asyncio loop (as in a kernel) and prints epochs
per second and redraws per second, redraws included in the time. Asserts nothing.

Without a browser, ipympl also encodes every frame as a PNG data URL (its fallback for a page
that has not connected yet); in a page that work goes away, so its row is a lower bound.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import torch

from minidl.playground import Playground


async def measure(canvas: str, seconds: float) -> tuple[float, float]:
    app = Playground(canvas=canvas)
    epochs, redraws = app.epoch, app.redraws
    start = time.perf_counter()
    app.play.click()
    await asyncio.sleep(seconds)
    app.play.click()
    while app._task is not None:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - start
    return (app.epoch - epochs) / elapsed, (app.redraws - redraws) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    print(f"{'canvas':<8} {'epochs/s':>9} {'redraws/s':>10}   ({args.seconds:g} s of Play each)")
    for canvas in ("image", "ipympl"):
        eps, rps = asyncio.run(measure(canvas, args.seconds))
        print(f"{canvas:<8} {eps:9.1f} {rps:10.2f}")


if __name__ == "__main__":
    main()
