"""The cost of the playground's extra panels: one refresh of each, and a race round, in ms.

    .venv/bin/python benchmarks/panels_speed.py [--repeats 30]

Default setup (disk, 2-25-25-25-2, batch 100). Prints the median and the max over ``repeats`` of:
  * hidden space, closed: ``refresh`` while its section is collapsed (should be ~0);
  * hidden space, open: ``refresh`` (map 500 points + 15 + 15 grid lines, blit, PNG);
  * hidden space, new layer: a full draw (new axis labels and limits);
  * race, draw: the race's frame (4 loss curves, 4 boundaries 40x40, blit, PNG) as its task draws it;
  * race, slice: one racer's turn, a 20 ms slice (the race's task yields to the kernel after each).
Both wall-clock ms and CPU ms of this process (what the panel costs, whatever else runs). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from minidl.playground import Playground


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """(median wall ms, max wall ms, median cpu ms) of ``fn`` over ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(1000 * (time.perf_counter() - w))
        cpu.append(1000 * (time.process_time() - c))
    return statistics.median(wall), max(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    app = Playground(canvas="image")
    for _ in range(5):
        app.step()
    hs, race = app.hidden_space, app.race
    frame = app.frame()
    rows = []
    hs.open = False
    rows.append(("hidden space, closed: refresh", timed(lambda: hs.refresh(app.run, frame), args.repeats)))
    hs.open = True
    hs.refresh(app.run, frame)
    rows.append(("hidden space, open: refresh", timed(lambda: hs.refresh(app.run, frame), args.repeats)))
    layers = [0, 1, 2]

    def new_layer() -> None:
        layers.append(layers.pop(0))
        hs.layer.value = layers[0]
    rows.append(("hidden space, new layer (full draw)", timed(new_layer, max(args.repeats // 3, 3))))
    race.open = True
    race.build()
    race.round()
    race.draw()
    rows.append(("race, draw (its task's frame)", timed(race.draw, args.repeats)))
    turns = iter(race.racers * args.repeats)
    rows.append(("race, slice (one racer, 20 ms)", timed(lambda: race.turn(next(turns), race.slice_seconds),
                                                         4 * args.repeats)))
    print(f"load average {os.getloadavg()[0]:.2f} (wall ms are only meaningful on an idle machine)")
    print(f"{'':40s} {'median ms':>10s} {'max ms':>8s} {'cpu ms':>8s}")
    for name, (median, worst, cpu) in rows:
        print(f"{name:40s} {median:10.2f} {worst:8.2f} {cpu:8.2f}")
    print(f"race epochs after the slices: {[r.run.epoch for r in race.racers]}")


if __name__ == "__main__":
    main()
