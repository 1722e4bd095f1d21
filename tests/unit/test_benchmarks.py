"""The benchmark scripts keep working, and what they check holds. Nothing here looks at a time.

`make bench` takes minutes; these tests run its --quick mode on the course network only, and
read the committed results that notebook 12 and the README quote.
"""

import csv
import json
import subprocess
import sys

import pytest
from conftest import ROOT

BENCH = ROOT / "benchmarks"
FRAMEWORKS = ["minidl", "minidl.fast", "torch", "GEMMs"]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run(*args, timeout=300):
    return subprocess.run([sys.executable, str(BENCH / "run_all.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, check=True)


def test_quick_run_trains_all_four_steps_to_the_same_place(tmp_path):
    done = run("--quick", "--sizes", "S", "--dtypes", "float64", "--threads", "1", "--no-memory", "--rounds", "2",
               "--out", str(tmp_path))
    assert "wrote" in done.stdout
    rows = read_csv(tmp_path / "speed.csv")
    assert [(r["variant"], r["framework"], r["rounds"]) for r in rows] == \
        [(v, f, "2") for v in ("mse-sgd", "mse-adam", "ce-sgd") for f in FRAMEWORKS]
    rounds = read_csv(tmp_path / "speed_rounds.csv")             # every round's row; the table: their medians
    assert [(r["round"], r["variant"], r["framework"]) for r in rounds] == \
        [(k, v, f) for k in "12" for v in ("mse-sgd", "mse-adam", "ce-sgd") for f in FRAMEWORKS]
    for r in rows:
        times = sorted(float(x["median_step_s"]) for x in rounds if (x["variant"], x["framework"]) ==
                       (r["variant"], r["framework"]))
        assert float(r["median_step_s"]) == pytest.approx(sum(times) / 2, rel=1e-12)
    for r in rows:
        assert float(r["median_step_s"]) > 0 and int(r["steps_timed"]) > 0
        if r["framework"] != "GEMMs":            # the same loss as the torch twin, in float64
            assert float(r["rel_loss_diff_vs_torch"]) <= 1e-9, r
        if r["framework"] == "minidl.fast":      # and the fast step the readable one, to 1e-12 (it rounds its
            assert float(r["params_rel_diff_vs_minidl"]) <= 1e-12, r      # own way on small layers)
    table = (tmp_path / "results.md").read_text()
    assert "| S 2-25-25-25-2 | mse-sgd | float64 | 1 |" in table and "Machine:" in table
    line = next(x for x in table.splitlines() if x.startswith("| S mse-sgd float64: compiled step ≤ 2× the bare GEMMs"))
    ratios = []
    for k in "12":
        t = {x["framework"]: float(x["median_step_s"]) for x in rounds if (x["round"], x["variant"]) == (k, "mse-sgd")}
        ratios.append(t["minidl.fast"] / t["GEMMs"])
    assert f"| {sum(ratios) / 2:.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) |" in line, line   # the median of the
    with pytest.raises(subprocess.CalledProcessError) as refused:                          # rounds' ratios
        run("--quick", "--rounds", "0", "--out", str(tmp_path))
    assert "--rounds must be at least 1, got 0" in refused.value.stderr


@pytest.mark.parametrize("framework", ["minidl", "minidl.fast", "torch"])
def test_memory_probe_reports_a_peak(framework):
    done = run("--memory-child", "S", "mse-sgd", "float64", framework)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["peak_kb"] >= result["baseline_kb"] > 0


def test_committed_results_cover_every_configuration_and_agree_with_torch():
    rows = read_csv(BENCH / "results" / "speed.csv")
    configs = {(r["size"], r["variant"], r["dtype"], r["threads"]) for r in rows}
    expected = {(s, v, d, t) for s, variants in (("S", ("mse-sgd", "mse-adam", "ce-sgd")), ("M", ("mse-sgd",)),
                                                  ("L", ("ce-sgd",)))
                for v in variants for d in ("float32", "float64") for t in ("1",)}
    assert configs == expected
    tolerance = {"float32": 1e-3, "float64": 1e-9}
    for r in rows:
        if r["framework"] != "GEMMs":
            assert float(r["rel_loss_diff_vs_torch"]) <= tolerance[r["dtype"]], r
    memory = read_csv(BENCH / "results" / "memory.csv")
    assert {(r["size"], r["dtype"], r["framework"]) for r in memory} == \
        {(s, d, f) for s in "SML" for d in ("float32", "float64") for f in ("minidl", "minidl.fast", "torch")}
    markdown = (BENCH / "results" / "results.md").read_text()
    assert markdown.count("| L 1024-2048-2048-10 |") == 4          # the step table and the epoch table, 2 dtypes
    for target in ("≥ 5× the torch twin", "≤ 2× the bare GEMMs", "not slower than torch", "≤ 1.05× the bare GEMMs",
                   "peak memory", "idiomatic torch loop", "minidl.lab.sweep --full"):
        assert target in markdown, target                              # every target of issue 11, measured


def test_fit_speed_prints_md_fit_against_the_torch_loop_and_writes_its_row(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH / "fit_speed.py"), "--epochs", "2", "--repeats", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=ROOT, check=True)
    rows = {line.split("|")[1].strip(): line.split("|")[2:] for line in done.stdout.splitlines()
            if line.startswith("| md.fit") or line.startswith("| torch loop")}
    assert set(rows) == {"md.fit", "md.fit(fast=False)", "torch loop"}, done.stdout
    assert rows["md.fit"][-2] == rows["md.fit(fast=False)"][-2]          # the same run, compiled or readable
    written = (tmp_path / "fit_speed.md").read_text()
    assert "faster than the idiomatic torch loop" in written and "benchmarks/fit_speed.py --epochs 2" in written


def test_readable_speed_prints_torch_over_readable_for_both_clocks():
    done = subprocess.run([sys.executable, str(BENCH / "readable_speed.py"), "--sizes", "S", "--dtypes", "float64",
                           "--steps", "4"], capture_output=True, text=True, timeout=300, cwd=ROOT, check=True)
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("S mse-sgd float64")]
    assert [r[3] for r in rows] == ["wall", "cpu"], done.stdout
    for r in rows:
        assert float(r[-3].rstrip("×")) > 0 and float(r[-1]) <= 1e-9, r   # a ratio; the same loss as torch
    assert "load average at the start" in done.stdout


def test_sweep_time_splits_an_experiment_between_minidl_and_the_twins(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH / "sweep_time.py"), "--views", "table", "--seeds", "0",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=ROOT, check=True)
    written = (tmp_path / "sweep.md").read_text()
    assert "the experiments table of the full sweep" in written and "ten seeds in one ensemble" in written
    row = next(line for line in done.stdout.splitlines() if line.startswith("| table |")).split("|")
    assert row[2].strip() == "1" and float(row[3]) > 0 and float(row[4]) > 0, done.stdout   # 1 run, both sides timed
    refused = subprocess.run([sys.executable, str(BENCH / "sweep_time.py"), "--views", "lr,nope"],
                             capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert refused.returncode == 2 and "--views: expected names from momentum,lr," in refused.stderr
    assert refused.stderr.rstrip().endswith("got nope"), refused.stderr
