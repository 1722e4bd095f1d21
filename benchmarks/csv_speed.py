"""load_csv / parse_csv on a 1e6-row file: time and peak extra memory.

    .venv/bin/python benchmarks/csv_speed.py [--rows 1000000] [--repeats 3]

Writes the files to a temporary folder, then reads each ``--repeats`` times, every read in a fresh
Python process (so one read's memory cannot hide in another's) that has first parsed a 2-row CSV,
so torch's and numpy's one-time start-up allocations are not counted. Extra memory is the
process's peak resident set during the read minus its resident set just before (VmHWM after
resetting it through /proc/self/clear_refs, Linux); it counts the file's bytes (read by load_csv),
numpy's and torch's buffers alike.
Target (issue 12): under 2 s and under 3x the file size. The table gives the median time and the
largest peak. Asserts nothing: timings belong in benchmarks, never in tests.

  * ``plain \\n``           x1,x2,label with 6 decimals: numpy's C parser
  * ``\\r\\n endings``        the same with Windows line endings
  * ``parse_csv(bytes)``   the playground's upload path: the bytes are the caller's, not counted
  * ``text id column``     an extra first column of words, ignored: still numpy's C parser
  * ``R write.csv``        quoted row names and header ("","x1",...): the exact line-by-line reader
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
import torch
from minidl.training.csv_reader import load_csv, parse_csv

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
path, how = sys.argv[1], sys.argv[2]
data = open(path, "rb").read() if how == "bytes" else None
parse_csv(b"x1,x2,label\n0,0,0\n1,1,1\n")            # warm up: torch's and numpy's one-time allocations
parse_csv(b'"x1",x2,label\n0,0,0\n1,1,1\n')           # (thread pools, caches) are not the reader's
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                                   # VmHWM := VmRSS
before = status("VmRSS:")
t = time.perf_counter()
x, y = parse_csv(data, source=path) if how == "bytes" else load_csv(path)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "extra": status("VmHWM:") - before, "rows": len(x)}))
"""


def write(folder: Path, rows: int) -> dict[str, Path]:
    import numpy as np
    rng = np.random.default_rng(0)
    x, y = rng.random((rows, 2)), rng.integers(0, 2, rows)
    body = [f"{a:.6f},{b:.6f},{c}" for a, b, c in zip(*x.T.tolist(), y.tolist(), strict=True)]
    files = {"plain \\n": ("x1,x2,label", body, "\n"), "\\r\\n endings": ("x1,x2,label", body, "\r\n"),
             "text id column": ("id,x1,x2,label", [f"row{i},{r}" for i, r in enumerate(body)], "\n"),
             "R write.csv": ('"","x1","x2","label"', [f'"{i + 1}",{r}' for i, r in enumerate(body)], "\n")}
    paths = {}
    for k, (name, (header, lines, eol)) in enumerate(files.items()):
        paths[name] = folder / f"case{k}.csv"
        paths[name].write_bytes((eol.join([header, *lines]) + eol).encode())
    paths["parse_csv(bytes)"] = paths["plain \\n"]
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write(Path(tmp), args.rows)
        print(f"{args.rows:_} rows; median time of {args.repeats} fresh processes, largest peak extra memory\n")
        print(f"{'case':<18} {'file MB':>8} {'seconds':>8} {'extra MB':>9} {'x file':>7}")
        for name, path in paths.items():
            runs = []
            for _ in range(args.repeats):
                out = subprocess.run([sys.executable, "-c", CHILD, str(path),
                                      "bytes" if name.startswith("parse_csv") else "file"],
                                     capture_output=True, text=True, check=True)
                runs.append(json.loads(out.stdout))
            size = path.stat().st_size
            extra = max(r["extra"] for r in runs)
            print(f"{name:<18} {size / 1e6:>8.1f} {statistics.median(r['seconds'] for r in runs):>8.2f} "
                  f"{extra / 1e6:>9.1f} {extra / size:>7.2f}")


if __name__ == "__main__":
    main()
