"""Epochs and redraws per second of the live playground, headless: the default setup and notebook 10's presets.

    .venv/bin/python benchmarks/playground_speed.py [--seconds 10] [--canvas image ipympl] [--step compiled readable]
    .venv/bin/python benchmarks/playground_speed.py --presets [--seconds 5] [--profile]
    .venv/bin/python benchmarks/playground_speed.py --pieces [--seconds 5]

Presses Play on ``Playground(canvas=...)`` (disk, 2-25-25-25-2, batch 100, MSE, SGD momentum) with
the step toggle on "compiled" (fit's default) or "readable", lets it train for the given time on an
asyncio loop (as in a kernel), presses Pause and prints epochs per second and redraws per second,
redraws included in the time. Asserts nothing.

Columns: ``epochs/s`` by the wall clock (what a user sees: only meaningful on an otherwise idle
machine, so the load average is printed too); ``epochs/cpu-s`` per second of this process's CPU
time (what the playground costs, whatever else runs); ``full/panel draws``: frames that re-rendered
the whole figure / one panel whose axis limits moved (the rest only redraw the moving artists over
a kept background).

``--presets``: one row per setup of notebook 10's "things to try" (ipympl canvas, compiled step), with where
the time goes: per redraw, the ms spent capturing the Frame (the model over the grids), updating the
artists and drawing; the rest of the wall time is training. (The divergence preset pauses at once and
measures nothing; the spiral preset is the issue's 26-58 epochs/s in Voilà.)

``--pieces``: the CPU ms of every callback the event loop runs while training (a training slice, one piece of
a redraw, a panel's piece): the longest time the kernel is busy before it can handle a click, with the network
diagram closed and open, for the default network and 8 hidden layers of 16 units.

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

PRESETS = {                                         # notebook 10, "Things to try": the controls each sets
    "default (disk 3x25 ReLU)": {},
    "1 too small: 1x2": {"layers": 1, "widths": [2]},
    "2 vanishing: 6 Sigmoid SGD": {"layers": 6, "activation": "Sigmoid", "optimizer": "SGD"},
    "2 then ReLU + Kaiming": {"layers": 6, "init": "Kaiming normal", "optimizer": "SGD"},
    "4 zero init": {"init": "zeros"},
    "5 spiral 4x32 Tanh Adam": {"dataset": "spiral", "layers": 4, "widths": [32] * 4, "activation": "Tanh",
                                "optimizer": "Adam", "lr": 0.01},
}


def apply(app: Playground, preset: dict) -> None:
    """Set the controls of ``preset`` (the hidden layers before their widths), as a person would."""
    for name, value in preset.items():
        if name == "widths":
            for slider, width in zip(app.widths, value, strict=False):
                slider.value = width
        else:
            getattr(app, name).value = value


def timed(app: Playground, times: dict[str, float]) -> None:
    """Wrap the app's capture, update and draw to add up their seconds in ``times``."""
    views = app.views
    parts = [(app, "frame", "capture"), (views, "update", "update"), (views, "send", "draw"), (views, "encode", "draw")]
    if views.canvas == "ipympl":
        parts.append((views.fig.canvas, "get_diff_image", "encode"))         # inside draw: the frame for the page
    render_steps = views.render_steps

    def timed_steps(*args, **kwargs):                  # a generator: its pieces timed one by one
        pieces = render_steps(*args, **kwargs)
        while True:
            start = time.process_time()
            piece = next(pieces, StopIteration)
            times["draw"] = times.get("draw", 0.0) + time.process_time() - start
            if piece is StopIteration:
                return
            yield
    views.render_steps = timed_steps
    for owner, name, key in parts:
        original = getattr(owner, name)

        def wrapper(*args, _original=original, _key=key, **kwargs):
            start = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                times[_key] = times.get(_key, 0.0) + time.process_time() - start
        setattr(owner, name, wrapper)


class Pieces:
    """The CPU time of every callback the asyncio loop runs (a training slice, a piece of a redraw, a
    widget message): how long the kernel is busy between two chances to handle a click."""

    def __init__(self) -> None:
        self.ms: list[float] = []

    def __enter__(self) -> Pieces:
        self.original = run_callback = asyncio.events.Handle._run

        def timed_run(handle: asyncio.events.Handle) -> None:
            start = time.process_time()
            run_callback(handle)
            self.ms.append(1000 * (time.process_time() - start))
        asyncio.events.Handle._run = timed_run
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self.original

    def summary(self) -> dict[str, float]:
        busy = sorted(m for m in self.ms if m >= 1.0)        # skip the loop's idle wake-ups
        if not busy:
            return {"pieces": 0, "p50": 0.0, "p95": 0.0, "max": 0.0}
        return {"pieces": len(busy), "p50": busy[len(busy) // 2], "p95": busy[int(0.95 * (len(busy) - 1))],
                "max": busy[-1]}


async def measure(canvas: str, step: str, seconds: float, preset: dict | None = None,
                  page: bool = False, diagram: bool = False) -> dict[str, float]:
    """page: as if a browser had connected to the ipympl canvas (every frame's diff PNG encoded, sent nowhere).
    diagram: with the network diagram's section open."""
    app = Playground(canvas=canvas)
    app.step_kind.value = step
    apply(app, preset or {})
    if page and canvas == "ipympl":
        for fig in (app.views.fig, app.diagram.fig):
            fig.canvas.syncing_data_url = False
            fig.canvas.send = lambda *args, **kwargs: None
    if diagram:
        app.diagram.show(True)
    times: dict[str, float] = {}
    timed(app, times)
    pieces = Pieces().__enter__()
    epochs, redraws, full, panels = app.epoch, app.redraws, app.views.full_draws, app.views.panel_draws
    start, cpu = time.perf_counter(), time.process_time()
    app.play.click()
    await asyncio.sleep(seconds)
    app.play.click()
    while app._task is not None:
        await asyncio.sleep(0.005)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    pieces.__exit__()
    n, drawing = max(app.redraws - redraws, 1), sum(v for k, v in times.items() if k != "encode")
    return {"epochs/s": (app.epoch - epochs) / elapsed, "epochs/cpu-s": (app.epoch - epochs) / cpu,
            "redraws/s": (app.redraws - redraws) / elapsed, "full draws": app.views.full_draws - full,
            "panel draws": app.views.panel_draws - panels,
            "test error": 100 * app.history.test_error[-1],
            "ms/epoch": 1000 * (cpu - drawing) / max(app.epoch - epochs, 1),     # CPU: training and the loop
            **{f"piece {k}": v for k, v in pieces.summary().items()},
            **{f"ms {k}": 1000 * v / n for k, v in times.items()}}


def presets(seconds: float, profile: bool) -> None:
    """A row per preset. CPU milliseconds: per epoch of training, per redraw for capture / update / draw (encode:
    the diff PNG for the page, part of draw). bound: the epochs/s one core gives at 5 redraws/s,
    (1 s - 5 x redraw) / epoch, what an idle machine shows."""
    print(f"notebook 10's presets, ipympl canvas as with a page connected, compiled step, {seconds:g} s of Play each; "
          f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{'preset':<28} {'epochs/s':>9} {'epochs/cpu-s':>13} {'redraws/s':>10} {'ms/epoch':>9} {'ms capture':>11} "
          f"{'ms update':>10} {'ms draw':>8} {'(encode)':>9} {'bound':>7} {'piece p95':>10} {'max':>6}")
    for name, preset in PRESETS.items():
        if profile:
            import cProfile
            import pstats
            profiler = cProfile.Profile()
            profiler.enable()
        r = asyncio.run(measure("ipympl", "compiled", seconds, preset, page=True))
        redraw = r.get("ms capture", 0) + r.get("ms update", 0) + r.get("ms draw", 0)
        bound = (1000 - 5 * redraw) / r["ms/epoch"]
        print(f"{name:<28} {r['epochs/s']:9.1f} {r['epochs/cpu-s']:13.1f} {r['redraws/s']:10.2f} {r['ms/epoch']:9.2f} "
              f"{r.get('ms capture', 0):11.1f} {r.get('ms update', 0):10.1f} {r.get('ms draw', 0):8.1f} "
              f"{r.get('ms encode', 0):9.1f} {bound:7.0f} {r['piece p95']:10.1f} {r['piece max']:6.1f}")
        if profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(18)


DEEP = {"layers": 8, "widths": [16] * 8}                 # the diagram's largest readable network


def pieces(seconds: float) -> None:
    """The longest the kernel stays busy between two chances to handle a click, with the network diagram
    closed and open: CPU ms of each callback the loop runs (training slices, redraw pieces), p50/p95/max."""
    print(f"pieces of work between two turns of the event loop (CPU ms), {seconds:g} s of Play each, compiled step, "
          f"a page connected; load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"on {os.cpu_count()} cores")
    print(f"{'canvas':<8} {'network':<22} {'diagram':<8} {'epochs/s':>9} {'redraws/s':>10} {'pieces':>7} "
          f"{'p50':>6} {'p95':>6} {'max':>6}")
    for canvas in ("ipympl", "image"):
        for network, preset in (("2-25-25-25-2 (default)", {}), ("8 x 16 hidden", DEEP)):
            for diagram in (False, True):
                r = asyncio.run(measure(canvas, "compiled", seconds, preset, page=True, diagram=diagram))
                print(f"{canvas:<8} {network:<22} {'open' if diagram else 'closed':<8} {r['epochs/s']:9.1f} "
                      f"{r['redraws/s']:10.2f} {r['piece pieces']:7.0f} {r['piece p50']:6.1f} {r['piece p95']:6.1f} "
                      f"{r['piece max']:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--canvas", nargs="+", default=["ipympl", "image"], choices=["ipympl", "image"])
    parser.add_argument("--step", nargs="+", default=["compiled", "readable"], choices=["compiled", "readable"])
    parser.add_argument("--presets", action="store_true", help="a row per preset of notebook 10's things to try")
    parser.add_argument("--profile", action="store_true", help="with --presets: cProfile's top functions per preset")
    parser.add_argument("--pieces", action="store_true",
                        help="the longest pieces of work between turns of the event loop, diagram closed and open")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    if args.pieces:
        pieces(args.seconds)
        return
    if args.presets:
        presets(args.seconds, args.profile)
        return
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
