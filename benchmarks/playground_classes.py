"""The cost of one playground frame with k classes, headless: capture, figure, confusion table.

    .venv/bin/python benchmarks/playground_classes.py [--frames 30] [--canvas image ipympl]

For k = 2..5 (spiral with k arms, cross-entropy, 2-25-25-25-k, x1 and x2) and then k = 5 with all seven
input features: trains 20 epochs, then times ``app.frame()`` (the model evaluated on the grid and the
points, the confusion matrix), ``views.update`` + ``views.draw`` (the blitted figure), the confusion
table's HTML, and a whole ``app.redraw()`` (which includes them, plus the PNG for canvas="image").
CPU milliseconds per frame (this process's), the median of ``--frames``; the load average is
printed. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from minidl.playground import Playground
from minidl.playground.confusion import confusion_html


def median_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.process_time()                # this process's CPU time: steadier on a loaded machine
        fn()
        times.append(1000 * (time.process_time() - start))
    return statistics.median(times)


def times(app: Playground, n: int) -> tuple[float, float, float, float]:
    """Median ms of: app.frame(), the figure (update + draw), the confusion table, a whole redraw."""
    frame = app.frame()

    def figure() -> None:
        app.views.update(frame)
        app.views.draw()
    return (median_ms(app.frame, n), median_ms(figure, n), median_ms(lambda: confusion_html(frame), n),
            median_ms(app.redraw, n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--canvas", nargs="+", default=["image", "ipympl"], choices=["ipympl", "image"])
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores; "
          f"median CPU ms per frame of {args.frames}")
    print(f"{'canvas':<7} {'k':>2} {'features':>8} {'frame()':>8} {'figure':>8} {'table':>6} {'redraw':>8}")
    for canvas in args.canvas:
        for k, all_features in ((2, False), (3, False), (4, False), (5, False), (5, True)):
            app = Playground(canvas=canvas)
            app.dataset.value = "spiral"
            app.classes.value = k
            app.loss.value = "cross-entropy"
            for box in app.features.values():
                box.value = box.value or all_features
            app.run.train(app.batch.value, epochs=20)
            row = times(app, args.frames)
            print(f"{canvas:<7} {k:>2} {len(app.feature_names()):>8} " + " ".join(f"{v:8.2f}" for v in row))
            app.close()


if __name__ == "__main__":
    main()
