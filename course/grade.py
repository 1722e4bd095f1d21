"""make grade: grade a folder of filled-in student notebooks with otter, each in a private run.

    for each submission (every .ipynb under SUBMISSIONS, sorted):
        copy it and its assignment's autograder zip into a private directory (sandbox.py)
        `otter run` there under a time limit: a fresh kernel, then public *and* hidden tests
        if otter could not finish (a cell killed the kernel, or the time ran out): find the cell at
            fault (fatal_cell.py: cell by cell, each under the per-cell limit, by default the whole
            run's) and grade again with that cell replaced by a `raise`; a grader.check
            cell at fault scores its question 0 and drops it. Only questions that needed the cell lose
            points. After MAX_ROUNDS, or with no single cell to blame, every question left scores 0.
    build/grades.csv: submission, assignment, one column per question, total, max, status
    stdout: one line per submission ending in <points>/<max>

    python -m course.grade SUBMISSIONS [--autograders build/autograder] [--out build/grades.csv]
                                       [--timeout 600] [--cell-timeout SECONDS] [--jobs 1]
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import json
import re
import shutil
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course.sandbox import private_dir, run_isolated

MAX_ROUNDS = 4
FATAL_CELL = Path(__file__).with_name("fatal_cell.py")
CHECK_CELL = re.compile(r"""^\s*\w+\.check\(\s*["'](\w+)["']\s*\)\s*$""")


@dataclass
class Autograder:
    """An otter autograder zip: its assignment name and each question's points, in order."""

    path: Path
    name: str
    points: dict[str, float]

    @classmethod
    def read(cls, path: Path) -> Autograder:
        from otter.test_files.ok_test import OKTestFile

        with zipfile.ZipFile(path) as z:
            name = json.loads(z.read("otter_config.json")).get("assignment_name") or path.stem
            points = {}
            for member in sorted(n for n in z.namelist() if re.fullmatch(r"tests/\w+\.py", n)):
                spec = _ok_test_spec(z.read(member).decode(), f"{path}:{member}")
                points[spec["name"]] = float(OKTestFile.from_spec(spec).possible)   # otter's own rule
        if not points:
            raise ValueError(f"{path}: expected tests/<question>.py in the autograder zip, got none")
        solutions = path.with_suffix(".ipynb")          # written next to it by editions.py
        if solutions.is_file():                          # then the columns follow the notebook
            order = [m.group(1) for c in nbformat.read(solutions, as_version=4).cells
                     if c.cell_type == "code" and (m := CHECK_CELL.match(c.source))]
            points = {q: points[q] for q in sorted(points, key=lambda q: (q not in order, order.index(q)
                                                                          if q in order else 0, q))}
        return cls(path, name, points)

    def without(self, questions: set[str], target: Path) -> Path:
        """A copy of the zip without these questions' tests (otter then neither runs nor scores them)."""
        with zipfile.ZipFile(self.path) as src, zipfile.ZipFile(target, "w") as dst:
            for item in src.infolist():
                if item.filename not in {f"tests/{q}.py" for q in questions}:
                    dst.writestr(item, src.read(item.filename))
        return target


def _ok_test_spec(text: str, where: str) -> dict:
    """The `test = {...}` dict of an OK-format otter test file."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["test"]:
            return ast.literal_eval(node.value)
    raise ValueError(f"{where}: expected an OK-format test file (test = {{...}}), got none")


@dataclass
class Grade:
    """One submission's result: points per question (None: not graded), and what went wrong."""

    submission: str
    autograder: Autograder | None
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    @property
    def max(self) -> float:
        return sum(self.autograder.points.values()) if self.autograder else 0.0

    def line(self) -> str:
        parts = [f"{self.submission:<28}"]
        if self.autograder:
            parts += [" ".join(f"{q} {_num(self.scores.get(q, 0))}/{_num(p)}"
                               for q, p in self.autograder.points.items())]
        parts += [f"({'; '.join(self.notes)})"] if self.notes else []
        return "  ".join(parts + [f"{_num(self.total)}/{_num(self.max)}"])


def _num(x: float) -> str:
    return f"{x:g}"


def grade_folder(folder: Path, autograders: list[Autograder], timeout: float, jobs: int = 1,
                 workroot: Path | None = None, echo=print, cell_timeout: float | None = None) -> list[Grade]:
    """Grade every notebook under folder; echo one line per submission, in order. timeout: seconds for a
    whole otter run; cell_timeout: seconds for one cell when finding the cell at fault (default: timeout)."""
    submissions = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not submissions:
        raise FileNotFoundError(f"course.grade: expected notebooks under {folder}, got none")
    workroot = Path(tempfile.mkdtemp(prefix="minidl-grade-", dir=workroot))
    try:
        def one(i_sub):
            i, sub = i_sub
            return grade_one(sub, sub.relative_to(folder).as_posix(), autograders, timeout,
                             workroot / f"s{i:04d}", cell_timeout)
        grades = []
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for g in pool.map(one, enumerate(submissions)):
                echo(g.line())
                grades.append(g)
        return grades
    finally:
        shutil.rmtree(workroot, ignore_errors=True)


def match(nb: nbformat.NotebookNode, path: Path, autograders: list[Autograder]) -> Autograder | None:
    """The autograder of the notebook's otter assignment name; else of its file name; else the only one."""
    name = nb.metadata.get("otter", {}).get("assignment_name")
    for ag in autograders:
        if ag.name == name:
            return ag
    for ag in autograders:
        if ag.path.stem == path.stem:
            return ag
    return autograders[0] if len(autograders) == 1 else None


def grade_one(path: Path, name: str, autograders: list[Autograder], timeout: float, work: Path,
              cell_timeout: float | None = None) -> Grade:
    """Grade one submission: otter run in a private directory, salvaging around a fatal cell.
    otter has no per-cell time limit (otter-grader#469), `otter run` no limit at all: a run is stopped after
    timeout seconds; the cell at fault is then found cell by cell, each allowed cell_timeout seconds."""
    start = time.perf_counter()
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:
        return Grade(name, None, notes=[f"not a readable notebook: {type(e).__name__}: {e}"])
    ag = match(nb, path, autograders)
    if ag is None:
        return Grade(name, None, notes=[f"no autograder for assignment "
                                        f"{nb.metadata.get('otter', {}).get('assignment_name')!r}"])
    grade = Grade(name, ag)
    dropped: set[str] = set()
    for round_ in range(MAX_ROUNDS):
        run_dir = private_dir(work / f"run{round_}", {})
        nbformat.write(nb, run_dir / path.name)
        ag.without(dropped, run_dir / "autograder.zip")
        out = Path(tempfile.mkdtemp(dir=work))               # outside the directory the learner's code sees
        run = run_isolated([sys.executable, "-m", "otter", "run", "-a", "autograder.zip", "-o", str(out),
                            "--no-logo", path.name], run_dir, timeout)
        results = out / "results.json"
        if run.returncode == 0 and results.is_file():
            for test in json.loads(results.read_text())["tests"]:
                if test.get("name") in ag.points and "score" in test:
                    grade.scores[test["name"]] = float(test["score"])
            break
        why = "time limit" if run.timed_out else f"otter exited {run.returncode}: {_last_line(run.output)}"
        fatal = locate(nb, path.name, cell_timeout or timeout, timeout, work / f"locate{round_}")
        if fatal.get("cell") is None:
            grade.notes.append(f"{why}; no single cell to blame ({fatal['reason']})")
            break
        i = fatal["cell"]
        check = CHECK_CELL.match(nb.cells[i].source)
        if check:                                     # the question's own public test is at fault
            dropped.add(check.group(1))
            nb.cells[i].source = f"# removed by the grader: {fatal['reason']}"
        else:
            nb.cells[i].source = f"raise RuntimeError({('removed by the grader: ' + fatal['reason'])!r})"
        nb.cells[i].outputs = []
        grade.notes.append(fatal["reason"])
    else:
        grade.notes.append(f"gave up after {MAX_ROUNDS} rounds")
    for q in ag.points:
        grade.scores.setdefault(q, 0.0)
    grade.seconds = time.perf_counter() - start
    return grade


def locate(nb: nbformat.NotebookNode, filename: str, cell_timeout: float, timeout: float, work: Path) -> dict:
    """Run fatal_cell.py on the notebook in its own private directory: cell_timeout seconds per cell, the
    whole run's timeout for the cells before the one at fault."""
    run_dir = private_dir(work, {})
    nbformat.write(nb, run_dir / filename)
    report = work.parent / f"{work.name}.json"
    run = run_isolated([sys.executable, str(FATAL_CELL), filename, str(cell_timeout), str(report)],
                       run_dir, timeout + cell_timeout + 60)
    if report.is_file():
        return json.loads(report.read_text())
    return {"cell": None, "reason": f"the locator failed: {_last_line(run.output)}"}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def write_csv(grades: list[Grade], target: Path) -> None:
    """One row per submission, one column per question (all assignments' questions, in order)."""
    questions = list(dict.fromkeys(q for g in grades if g.autograder for q in g.autograder.points))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["submission", "assignment", *questions, "total", "max", "status"])
    for g in grades:
        w.writerow([g.submission, g.autograder.name if g.autograder else "",
                    *[_num(g.scores[q]) if q in g.scores else "" for q in questions],
                    _num(g.total), _num(g.max), "; ".join(g.notes) or "ok"])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(buf.getvalue(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.grade", description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path)
    parser.add_argument("--autograders", type=Path, default=Path("build/autograder"))
    parser.add_argument("--out", type=Path, default=Path("build/grades.csv"))
    parser.add_argument("--timeout", type=float, default=600, help="seconds per submission run")
    parser.add_argument("--cell-timeout", type=float, default=None,
                        help="seconds per cell when finding the cell at fault (default: --timeout)")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        print(f"course.grade: expected a folder of submissions, got {args.submissions}", file=sys.stderr)
        return 2
    zips = sorted(args.autograders.glob("*.zip"))
    if not zips:
        print(f"course.grade: expected autograder zips in {args.autograders} (run make student), got none",
              file=sys.stderr)
        return 2
    start = time.perf_counter()
    grades = grade_folder(args.submissions, [Autograder.read(z) for z in zips], args.timeout, args.jobs,
                          cell_timeout=args.cell_timeout)
    write_csv(grades, args.out)
    print(f"{len(grades)} submissions graded in {time.perf_counter() - start:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
