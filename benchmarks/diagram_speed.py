"""What the network diagram costs: ms per refresh, and the playground's epochs/s with it open and closed.

    .venv/bin/python benchmarks/diagram_speed.py [--seconds 10] [--canvas image ipympl]

Part 1: ``DiagramPanel.refresh`` timed alone (the app's redraw calls it once per frame when the
diagram's section is open), for the default network 2-25-25-25-2 (16 tiles shown per column) and
for 8 hidden layers of 16 units, with the blitted frame encoded as the canvas sends it (image: a
PNG; ipympl: its diff frame). Part 2: Play on the default setup for the given time with the
diagram closed, then open, as benchmarks/playground_speed.py measures it (wall clock and CPU
time; the load average is printed: other processes slow the wall clock). Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import torch

from minidl.playground import Playground


def refresh_ms(canvas: str, layers: int, width: int, repeats: int = 20) -> tuple[float, float]:
    """(ms per refresh by the wall clock, by CPU time) of the open diagram of an app with this network."""
    app = Playground(canvas=canvas)
    app.layers.value = layers
    for w in app.widths[:layers]:
        w.value = width
    app.diagram.show(True)
    app.diagram.fig.canvas.syncing_data_url = False      # ipympl: as if a page were connected (frames encoded)
    for _ in range(3):
        app.step()
    with app.settings:
        app.diagram.refresh(app.run)                    # the full draw, once per architecture
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            app.diagram.refresh(app.run)
            if canvas == "ipympl":
                app.diagram.fig.canvas.get_diff_image()  # what ipympl sends a connected page
        return (1000 * (time.perf_counter() - start) / repeats, 1000 * (time.process_time() - cpu) / repeats)


async def play(canvas: str, seconds: float, open_: bool) -> tuple[float, float, float]:
    """(epochs/s, epochs per CPU-s, redraws/s) of Play on the default setup, diagram open or closed."""
    app = Playground(canvas=canvas)
    app.diagram.show(open_)
    epochs, redraws = app.epoch, app.redraws
    start, cpu = time.perf_counter(), time.process_time()
    app.play.click()
    await asyncio.sleep(seconds)
    app.play.click()
    while app._task is not None:
        await asyncio.sleep(0.005)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return (app.epoch - epochs) / elapsed, (app.epoch - epochs) / cpu, (app.redraws - redraws) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--canvas", nargs="+", default=["image", "ipympl"], choices=["image", "ipympl"])
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{'canvas':<8} {'network':<18} {'ms/refresh':>11} {'cpu-ms/refresh':>15}")
    for canvas in args.canvas:
        for name, layers, width in (("2-25-25-25-2", 3, 25), ("8 × 16 hidden", 8, 16)):
            wall, cpu = refresh_ms(canvas, layers, width)
            print(f"{canvas:<8} {name:<18} {wall:11.1f} {cpu:15.1f}")
    print(f"\ndefault setup, {args.seconds:g} s of Play each")
    print(f"{'canvas':<8} {'diagram':<8} {'epochs/s':>9} {'epochs/cpu-s':>13} {'redraws/s':>10}")
    for canvas in args.canvas:
        for open_ in (False, True):
            rate, per_cpu, redraws = asyncio.run(play(canvas, args.seconds, open_))
            print(f"{canvas:<8} {'open' if open_ else 'closed':<8} {rate:9.1f} {per_cpu:13.1f} {redraws:10.2f}")


if __name__ == "__main__":
    main()
