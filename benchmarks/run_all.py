"""minidl against its torch.nn + autograd + torch.optim twin, side by side.   make bench

    .venv/bin/python benchmarks/run_all.py [--quick] [--sizes S,M,L] [--dtypes float32,float64]
                                           [--threads 1] [--rounds 3] [--no-memory] [--out DIR]

For each problem (S: the course network, M: 2-512-512-512-2, L: 1024-2048-2048-10), dtype and
thread count, four steps train in one process on identical data, initial weights and batch
order: the readable minidl modules, minidl.fast, the torch twin, and the bare matrix products of
a step (the floor). They take turns epoch by epoch (step by step for L; who goes first rotates), every step is timed
with time.perf_counter, the first two steps of each are a warm-up, and the table gives medians.
The whole set of configurations is measured ``--rounds`` times, round after round, so that a slow
stretch of this shared machine falls on one round of a configuration rather than on all of it;
each time is the median over the rounds, each target's ratio the median of the rounds' ratios (each a
comparison of steps that ran interleaved), with its range.
Python's garbage collector is paused while timing, as timeit does. At the end the final losses
and parameters are compared: speed must not cost correctness.

Peak memory is measured in a fresh subprocess per problem, dtype and framework: the resident set
size high-water mark (Linux VmHWM, reset through /proc/self/clear_refs) during model building
and a few training steps, minus the resident size just before (after imports and data). torch
keeps no CPU allocator statistics and tracemalloc does not see torch's allocations, hence RSS.

Writes speed.csv (one row per configuration and framework, over the rounds), speed_rounds.csv (a row
per round), memory.csv and results.md to benchmarks/results/ (--quick: .../quick/).
Prints tables; asserts nothing (timings never decide a test).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from steps import DEFAULT_VARIANTS, FRAMEWORKS, VARIANTS, problem  # noqa: E402

from minidl.training.data import batch_order  # noqa: E402

HERE = Path(__file__).resolve().parent
DTYPES = {"float32": torch.float32, "float64": torch.float64}
WARMUP = 2                       # steps of each framework not timed
TOLERANCE = {"float32": 1e-3, "float64": 1e-9}   # relative difference of the final losses


# -- timing --------------------------------------------------------------------------------------------------
def schedule(names: list[str], n_batches: int, epoch: int, per_step: bool) -> list[tuple[int, str]]:
    """(batch, framework) in the order they run: the frameworks take turns, epoch by epoch, or step
    by step when steps are long (L: seconds each), and who goes first rotates."""
    k = epoch % len(names)
    if per_step:
        return [(b, names[(b + j + k) % len(names)]) for b in range(n_batches) for j in range(len(names))]
    return [(b, name) for name in names[k:] + names[:k] for b in range(n_batches)]


def time_config(size: str, variant: str, dtype: str, threads: int, quick: bool) -> list[dict]:
    """Train the four steps side by side; one result row per framework."""
    torch.set_num_threads(threads)
    p = problem(size, variant, DTYPES[dtype], quick)
    names = list(FRAMEWORKS)
    steps = {name: FRAMEWORKS[name](p) for name in names}
    gen = torch.Generator().manual_seed(2)
    step_times: dict[str, list[float]] = {n: [] for n in names}
    epoch_times: dict[str, list[float]] = {n: [] for n in names}
    last_loss: dict[str, float] = {}
    gc.collect()
    gc.disable()
    try:
        for epoch in range(p.epochs):
            batches = [(p.x[i], p.target[i]) for i in batch_order(len(p.x), p.batch_size, True, gen)]
            times: dict[str, list[float]] = {n: [] for n in names}
            losses: dict[str, list] = {n: [] for n in names}
            for b, name in schedule(names, len(batches), epoch, per_step=size == "L"):
                start = time.perf_counter()
                losses[name].append(steps[name][0](*batches[b]))
                times[name].append(time.perf_counter() - start)
            for name in names:
                step_times[name] += times[name]
                epoch_times[name].append(sum(times[name]))
                if losses[name][0] is not None:
                    last_loss[name] = float(torch.stack(losses[name]).mean())
    finally:
        gc.enable()
    params = {name: steps[name][1]() for name in names}
    rows = []
    for name in names:
        timed = step_times[name][WARMUP:] or step_times[name]
        epochs = epoch_times[name][1:] or epoch_times[name]
        loss = last_loss.get(name)
        rows.append(dict(size=size, variant=variant, dtype=dtype, threads=threads, framework=name,
                         sizes="-".join(map(str, p.sizes)), batch_size=p.batch_size, epochs=p.epochs,
                         steps_timed=len(timed), median_step_s=statistics.median(timed),
                         median_epoch_s=statistics.median(epochs),
                         final_loss="" if loss is None else loss,
                         rel_loss_diff_vs_torch="" if loss is None else
                         abs(loss - last_loss["torch"]) / abs(last_loss["torch"]),
                         params_bitwise_equal_to_minidl="" if name == "GEMMs" else
                         all(torch.equal(a, b) for a, b in zip(params[name], params["minidl"], strict=True)),
                         params_rel_diff_vs_minidl="" if name == "GEMMs" else
                         max(float((a - b).abs().max()) / max(float(b.abs().max()), 1e-300)
                             for a, b in zip(params[name], params["minidl"], strict=True))))
    return rows


# -- memory ----------------------------------------------------------------------------------------------------
def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(size: str, variant: str, dtype: str, framework: str, steps: int = 3) -> None:
    """(In a fresh process) print {"baseline_kb", "peak_kb"} around building and training."""
    torch.set_num_threads(1)
    tiny = problem("XS", variant, DTYPES[dtype])          # a warm-up: torch's lazy initialisations
    step, _ = FRAMEWORKS[framework](tiny)                 # (autograd engine, kernels) are not training
    for i in batch_order(len(tiny.x), tiny.batch_size, True, 0)[:2]:
        step(tiny.x[i], tiny.target[i])
    p = problem(size, variant, DTYPES[dtype])
    batches = [(p.x[i], p.target[i]) for i in batch_order(len(p.x), p.batch_size, True, 2)[:steps]]
    gc.collect()
    baseline = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")          # reset the high-water mark to the current RSS
    step, _ = FRAMEWORKS[framework](p)
    for xb, tb in batches:
        step(xb, tb)
    print(json.dumps({"baseline_kb": baseline, "peak_kb": _status_kb("VmHWM")}))


def measure_memory(size: str, variant: str, dtype: str, framework: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--memory-child", size, variant, dtype, framework],
                         capture_output=True, text=True, check=True).stdout
    kb = json.loads(out.strip().splitlines()[-1])
    return dict(size=size, variant=variant, dtype=dtype, framework=framework,
                baseline_mb=kb["baseline_kb"] / 1024, peak_mb=kb["peak_kb"] / 1024,
                peak_above_baseline_mb=(kb["peak_kb"] - kb["baseline_kb"]) / 1024)


# -- reporting ------------------------------------------------------------------------------------------------
def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    blas = "MKL" if torch.backends.mkl.is_available() else "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "blas": blas,
            "python": platform.python_version(), "date": datetime.date.today().isoformat(),
            "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else \
        f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def speed_table(rows: list[dict], per: str = "step") -> list[str]:
    key = "median_step_s" if per == "step" else "median_epoch_s"
    lines = ["| problem | loss, optimizer | dtype | threads | minidl | minidl.fast | torch | GEMMs | "
             "torch / fast | fast / GEMMs | torch / minidl | same loss |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for config in _configs(rows):
        t = {r["framework"]: r for r in config}
        s = {name: r[key] for name, r in t.items()}
        same = all(r["rel_loss_diff_vs_torch"] != "" and r["rel_loss_diff_vs_torch"] <= TOLERANCE[r["dtype"]]
                   for name, r in t.items() if name != "GEMMs")
        bitwise = t["minidl.fast"]["params_bitwise_equal_to_minidl"]
        apart = "≡ minidl" if bitwise else f"vs minidl {t['minidl.fast']['params_rel_diff_vs_minidl']:.0e}"
        diff = max(t[n]["rel_loss_diff_vs_torch"] for n in ("minidl", "minidl.fast"))
        r0 = config[0]
        lines.append(f"| {r0['size']} {r0['sizes']} | {r0['variant']} | {r0['dtype']} | {r0['threads']} | "
                     f"{fmt_time(s['minidl'])} | {fmt_time(s['minidl.fast'])} | {fmt_time(s['torch'])} | "
                     f"{fmt_time(s['GEMMs'])} | **{s['torch'] / s['minidl.fast']:.2f}×** | "
                     f"{s['minidl.fast'] / s['GEMMs']:.2f}× | {s['torch'] / s['minidl']:.2f}× | "
                     f"{'yes' if same else 'NO'} (Δ {diff:.0e}; fast {apart}) |")
    return lines


def memory_table(rows: list[dict]) -> list[str]:
    lines = ["| problem | dtype | minidl | minidl.fast | torch | fast / torch |", "|---|---|---:|---:|---:|---:|"]
    for config in _configs(rows, ("size", "variant", "dtype")):
        m = {r["framework"]: r["peak_above_baseline_mb"] for r in config}
        lines.append(f"| {config[0]['size']} | {config[0]['dtype']} | {m['minidl']:.1f} MB | "
                     f"{m['minidl.fast']:.1f} MB | {m['torch']:.1f} MB | {m['minidl.fast'] / m['torch']:.2f} |")
    return lines


def combine(rounds: list[dict]) -> list[dict]:
    """One row per configuration and framework from the rows of every round: the median over the
    rounds of the step and epoch medians, the steps timed in all, the worst loss and parameter differences."""
    rows = []
    for config in _configs(rounds, ("size", "variant", "dtype", "threads", "framework")):
        row = {k: v for k, v in config[-1].items() if k != "round"}
        row.update(rounds=len(config), steps_timed=sum(r["steps_timed"] for r in config),
                   median_step_s=statistics.median(r["median_step_s"] for r in config),
                   median_epoch_s=statistics.median(r["median_epoch_s"] for r in config))
        for key, worst in (("rel_loss_diff_vs_torch", max), ("params_rel_diff_vs_minidl", max),
                           ("params_bitwise_equal_to_minidl", all)):
            if row[key] != "":
                row[key] = worst(r[key] for r in config)
        rows.append(row)
    return rows


def targets_table(speed: list[dict], memory: list[dict], rounds: list[dict] | None = None) -> list[str]:
    """Issue 11's per-step and memory targets, each with its measured value (1 thread): the median over the
    rounds of each round's ratio (the two steps of a ratio ran interleaved in the same round, so a round's
    ratio is a paired comparison that the machine's drift between rounds does not enter), and in brackets
    its range over the rounds. Without the rounds' rows: the ratio of the step medians."""
    lines = ["| target | measured (range over the rounds) | met |", "|---|---|---|"]
    by = {(r["size"], r["variant"], r["dtype"], r["threads"], r["framework"]): r["median_step_s"] for r in speed}
    per_round: dict[tuple, list[float]] = {}
    for r in rounds or []:
        per_round.setdefault((r["size"], r["variant"], r["dtype"], r["threads"], r["framework"]),
                             []).append(r["median_step_s"])

    def add(what: str, value: float, ok: bool, fmt: str = "{:.2f}×", spread: list[float] | None = None) -> None:
        span = f" ({min(spread):.2f}–{max(spread):.2f})" if spread and len(spread) > 1 else ""
        lines.append(f"| {what} | {fmt.format(value)}{span} | {'yes' if ok else '**no**'} |")

    def ratio(key: tuple, a: str, b: str) -> tuple[float, list[float]]:
        paired = [u / v for u, v in zip(per_round.get(key + (a,), []), per_round.get(key + (b,), []), strict=True)]
        return (statistics.median(paired) if paired else by[key + (a,)] / by[key + (b,)]), paired

    order = lambda k: ("SML".index(k[0]) if k[0] in "SML" else 9, list(VARIANTS).index(k[1]), k[2])
    for size, variant, dtype, _, _ in sorted((k for k in by if k[3] == 1 and k[4] == "torch"), key=order):
        key = (size, variant, dtype, 1)
        if size == "S":
            v, r = ratio(key, "torch", "minidl.fast")
            add(f"S {variant} {dtype}: compiled step ≥ 5× the torch twin", v, v >= 5, spread=r)
            v, r = ratio(key, "minidl.fast", "GEMMs")
            add(f"S {variant} {dtype}: compiled step ≤ 2× the bare GEMMs", v, v <= 2, spread=r)
        else:
            v, r = ratio(key, "torch", "minidl")
            add(f"{size} {variant} {dtype}: readable modules not slower than torch (torch / readable ≥ 1)",
                v, v >= 1, spread=r)
        if size == "L":
            v, r = ratio(key, "minidl.fast", "GEMMs")
            add(f"L {variant} {dtype}: compiled step ≤ 1.05× the bare GEMMs", v, v <= 1.05, spread=r)
    for config in _configs(memory, ("size", "variant", "dtype")):
        mb = {r["framework"]: r["peak_above_baseline_mb"] for r in config}
        ratio = mb["minidl.fast"] / mb["torch"]
        add(f"{config[0]['size']} {config[0]['dtype']}: peak memory of what fit runs (compiled) ≤ the twin's",
            ratio, ratio <= 1, "{:.2f} of the twin's")
    return lines


def _configs(rows: list[dict], keys: tuple[str, ...] = ("size", "variant", "dtype", "threads")) -> list[list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return list(groups.values())


def write(out: Path, rounds: list[dict], memory: list[dict], info: dict, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    speed = combine(rounds)
    for name, rows in (("speed.csv", speed), ("speed_rounds.csv", rounds), ("memory.csv", memory)):
        if rows:
            with open(out / name, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
    md = [
        "# minidl benchmarks: minidl, minidl.fast and the torch.nn + autograd twin",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores; torch {info['torch']} ({info['blas']}), "
        f"Python {info['python']}; {info['date']}. Load average at the start: {info['load_average']} "
        f"(a shared machine: read the ratios, which compare runs interleaved in time).",
        "",
        f"Command: `{command}` ({info['minutes']:.1f} minutes).",
        "",
        "Method: the four steps train in one process on identical data, initial weights and batch order, "
        "taking turns epoch by epoch (step by step for L, whose steps take seconds); each step is timed "
        "(time.perf_counter), the first "
        f"{WARMUP} of each are a warm-up, the table gives the median over the rest; the whole set is measured "
        f"{info['rounds']} time(s), round after round: each time below is the median over the rounds, each "
        "target the median over the rounds of that round's ratio, with its range in brackets (speed_rounds.csv "
        "has every round). *minidl*: the readable "
        "step (`fit(..., fast=False)`, training.train.ReadableStep); *minidl.fast*: the compiled step `fit` runs "
        "by default (training.train.training_step, i.e. `fast.compile(model, criterion, optimizer).step`); "
        "*torch*: torch.nn + autograd + torch.optim with torch's defaults; *GEMMs*: only the matrix products "
        "of a step (forward x Wᵀ, backward gᵀx and g W per layer, g W skipped for the first layer), the floor. "
        "*same loss*: every framework's final epoch loss within "
        f"{TOLERANCE['float32']:g} (float32) / {TOLERANCE['float64']:g} (float64) of torch's, relatively; "
        "Δ is the largest relative difference; *fast vs minidl*: the largest difference between the fast "
        "and the readable step's parameters at the end, relative to the largest parameter (*≡*: bitwise equal; "
        "the compiled step rounds its own way, see minidl/training/fast.py).",
        "",
        "## Issue 11's targets (per step, 1 thread; memory)",
        "",
        *targets_table(speed, memory, rounds),
        "",
        *_extra(out),
        "## Time per training step (median)",
        "",
        *speed_table(speed, "step"),
        "",
        "## Time per epoch (median, training steps only)",
        "",
        *speed_table(speed, "epoch"),
        "",
    ]
    if memory:
        md += ["## Peak memory (resident set size above the process's size after imports and data)", "",
               "Each framework in its own fresh process, one thread: two steps on a tiny network first (so "
               "that one-time library initialisation is not counted), then build the model and optimizer "
               "and train 3 steps; peak VmHWM minus VmRSS before. It counts the parameters, gradients, "
               "optimizer state, activations and allocator caching.", "", *memory_table(memory), ""]
    (out / "results.md").write_text("\n".join(md))


def _extra(out: Path) -> list[str]:
    """The whole-run targets, measured by their own commands (fit_speed.py, the sweep): their files."""
    lines = []
    for name in ("fit_speed.md", "sweep.md"):
        if (out / name).exists():
            lines += [(out / name).read_text().strip(), ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: tiny epoch counts")
    parser.add_argument("--sizes", default="S,M,L")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--threads", default="1",
                        help="comma-separated thread counts (the targets are for 1 thread; on a shared 2-core "
                             "machine 2 threads measure the neighbours' load more than minidl)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="how many times to measure the whole set, round after round (default 3; --quick: 1)")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    start, info = time.perf_counter(), machine()
    out = args.out or HERE / "results" / ("quick" if args.quick else "")
    sizes, dtypes = args.sizes.split(","), args.dtypes.split(",")
    threads = [int(t) for t in args.threads.split(",")]
    print(f"{info['cpu']}, {info['cores']} cores, torch {info['torch']}, load {info['load_average']}")
    info["rounds"] = args.rounds or (1 if args.quick else 3)
    speed, memory = [], []
    for round_ in range(1, info["rounds"] + 1):
        for size in sizes:
            for variant in DEFAULT_VARIANTS[size]:
                for dtype in dtypes:
                    for th in threads:
                        rows = [{**r, "round": round_} for r in time_config(size, variant, dtype, th, args.quick)]
                        speed += rows
                        print(f"round {round_}", speed_table(rows)[-1], flush=True)
    if not args.no_memory:
        for size in sizes:
            for dtype in dtypes:
                memory += [measure_memory(size, DEFAULT_VARIANTS[size][0], dtype, fw)
                           for fw in ("minidl", "minidl.fast", "torch")]
                print(memory_table(memory[-3:])[-1], flush=True)
    info["minutes"] = (time.perf_counter() - start) / 60
    write(out, speed, memory, info, " ".join([".venv/bin/python benchmarks/run_all.py", *sys.argv[1:]]))
    print(f"wrote {out}/results.md, speed.csv, memory.csv in {info['minutes']:.1f} minutes")


if __name__ == "__main__":
    main()
