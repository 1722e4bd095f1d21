"""Epochs and redraws per second of the live playground, headless, default setup.

    .venv/bin/python benchmarks/playground_speed.py [--seconds 10] [--canvas image ipympl] [--step compiled readable]

Presses Play on ``Playground(canvas=...)`` (disk, 2-25-25-25-2, batch 100, MSE, SGD momentum) with
the step toggle on "compiled" (fit's default) or "readable", lets it train for the given time on an
asyncio loop (as in a kernel), presses Pause and prints epochs per second and redraws per second,
redraws included in the time. Asserts nothing.

Columns: ``epochs/s`` by the wall clock (what a user sees: only meaningful on an otherwise idle
machine, so the load average is printed too); ``epochs/cpu-s`` per second of this process's CPU
time (what the playground costs, whatever else runs); ``full/panel draws``: frames that re-rendered
the whole figure / one panel whose axis limits moved (the rest only redraw the moving artists over
a kept background).

Without a browser, ipympl keeps the last frame as a PNG data URL (its fallback for a page that has
not connected yet); the playground encodes it only for the frame drawn on Pause.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import torch

from minidl.playground import Playground


async def measure(canvas: str, step: str, seconds: float) -> dict[str, float]:
    app = Playground(canvas=canvas)
    app.step_kind.value = step
    epochs, redraws, full, panels = app.epoch, app.redraws, app.views.full_draws, app.views.panel_draws
    start, cpu = time.perf_counter(), time.process_time()
    app.play.click()
    await asyncio.sleep(seconds)
    app.play.click()
    while app._task is not None:
        await asyncio.sleep(0.005)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"epochs/s": (app.epoch - epochs) / elapsed, "epochs/cpu-s": (app.epoch - epochs) / cpu,
            "redraws/s": (app.redraws - redraws) / elapsed, "full draws": app.views.full_draws - full,
            "panel draws": app.views.panel_draws - panels,
            "test error": 100 * app.history.test_error[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--canvas", nargs="+", default=["ipympl", "image"], choices=["ipympl", "image"])
    parser.add_argument("--step", nargs="+", default=["compiled", "readable"], choices=["compiled", "readable"])
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    print(f"default setup, {args.seconds:g} s of Play each; load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{'canvas':<8} {'step':<9} {'epochs/s':>9} {'epochs/cpu-s':>13} {'redraws/s':>10} {'full/panel draws':>17} "
          f"{'test error':>11}")
    for canvas in args.canvas:
        for step in args.step:
            r = asyncio.run(measure(canvas, step, args.seconds))
            print(f"{canvas:<8} {step:<9} {r['epochs/s']:9.1f} {r['epochs/cpu-s']:13.1f} {r['redraws/s']:10.2f} "
                  f"{r['full draws']:10.0f} / {r['panel draws']:<4.0f} {r['test error']:10.1f}%")


if __name__ == "__main__":
    main()
