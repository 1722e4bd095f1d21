"""The experiments' command line: run the grid, write the CSV and the figures where --out says.  Notebook 11

    python -m minidl.lab.sweep --full --out notebooks/results    # 10 seeds, the whole grid
    python -m minidl.lab.sweep --quick                           # 2 seeds, short runs, a temporary folder
    python -m minidl.lab.sweep --full --plot-only --out DIR      # the figures again from DIR's CSV

Its own file so that the runs (experiments) and the reading back (report) need not import each other.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .experiments import QUICK_SEEDS, SEEDS, run_all, save_csv, views
from .report import FIGURES, Results, load_csv


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m minidl.lab.sweep", description=__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--full", action="store_true", help="10 seeds, the whole grid")
    mode.add_argument("--quick", action="store_true", help="2 seeds, a few grid points, a tenth of the epochs")
    p.add_argument("--plot-only", action="store_true", help="no training: redraw the figures from the CSV")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the CSV and figures (required with --full; --quick: a temporary folder)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--only", nargs="+", choices=list(views()), help="run only these experiments")
    a = p.parse_args(argv)
    if a.full and a.out is None:
        p.error("--full needs --out DIR (the committed results live in notebooks/results)")
    out = a.out or Path(tempfile.gettempdir()) / "minidl_experiments_quick"
    path = out / ("versus_pytorch_quick.csv" if a.quick else "versus_pytorch.csv")
    if a.full and a.only and not a.plot_only and path.exists():
        p.error(f"--only would replace the full grid's CSV {str(path)!r} by a part of it; pass another --out DIR")
    out.mkdir(parents=True, exist_ok=True)
    chosen = {k: v for k, v in views(a.quick).items() if not a.only or k in a.only}
    if a.plot_only:
        rows = load_csv(path)
    else:
        t0 = time.perf_counter()
        rows = run_all([c for cs in chosen.values() for c in cs], QUICK_SEEDS if a.quick else SEEDS, a.workers)
        save_csv(rows, path)
        print(f"wrote {path} ({len(rows)} rows) in {time.perf_counter() - t0:.0f}s")
    results = Results(rows)
    for name in chosen:
        fig = FIGURES[name](results, chosen[name])
        fig.savefig(out / f"{path.stem}_{name}.png", dpi=110)
        print(f"wrote {out / f'{path.stem}_{name}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
