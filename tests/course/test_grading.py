"""make grade: full marks for the solutions, planted bugs lose exactly their questions, and a
submission that crashes, loops forever or deletes files scores 0 only where it is at fault.

Everything is graded in one call on one folder (grading spawns kernels): the `graded` fixture.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import nbformat
import pytest
from planted_bugs import ROOT, plant, rows_present

from course.editions import build
from course.grade import Autograder, grade_folder, write_csv
from course.source import is_assignment

FIXTURE = ROOT / "tests/course/fixtures/build_mini.ipynb"
# grading 18 submissions (22 otter runs, ~45 s each at load 7): 608 s at load 7-8 while the endless loop was located
# with TIMEOUT per cell, 534 s with CELL_TIMEOUT; 838 s in make test beside the hub (load 10-20). Machine shared.
pytestmark = pytest.mark.timeout(1500)
TIMEOUT = 150           # seconds per run; ~10 (idle) to ~20 (load 6), over 60 beside make test's other worker
CELL_TIMEOUT = 45       # seconds per cell when finding the cell at fault; the slowest (import torch) ~3 s idle, ~20
                        # at load 8. The endless loop spins for TIMEOUT + CELL_TIMEOUT (it was 2 * TIMEOUT)
BUGS = rows_present()
SABOTAGE = {            # appended to the solution cell of one question: (question, code)
    "adversarial_crash": ("linear", "import os; os._exit(1)"),
    "adversarial_loop": ("sgd_momentum", "import os; _ = os.nice(19)\nwhile True:\n    pass"),   # spins, as a
    # learner's loop does, at the lowest priority: it holds no core the rest of make test needs meanwhile
    "adversarial_delete": ("mse_backward", "import os, pathlib, shutil\n"
                                           "for f in os.listdir('.'):\n"
                                           "    if os.path.isfile(f):\n        os.remove(f)\n"
                                           "shutil.rmtree(pathlib.Path.home(), ignore_errors=True)"),
}


def bug_name(i: int, row) -> str:
    what = re.sub(r"\W+", "_", row[4])[:40]
    return f"bug{i:02d}_{Path(row[0]).stem}_{what}"


def sabotage(solutions: Path, question: str, code: str) -> nbformat.NotebookNode:
    """The solutions notebook with code appended to the answer cell right before grader.check(question)."""
    nb = nbformat.read(solutions, as_version=4)
    i = next(i for i, c in enumerate(nb.cells) if c.source.strip() == f'grader.check("{question}")')
    nb.cells[i - 1].source += "\n" + code
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grading")
    series = [p for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if is_assignment(nbformat.read(p, as_version=4))]
    notebooks = sorted({FIXTURE} | {ROOT / row[0] for row in BUGS} | set(series))     # every assignment
    build(notebooks, tmp / "build")
    ag = tmp / "build" / "autograder"
    subs = tmp / "submissions"
    subs.mkdir()
    (subs / "full.ipynb").write_bytes((ag / FIXTURE.name).read_bytes())
    (subs / "student_untouched.ipynb").write_bytes((tmp / "build" / "student" / FIXTURE.name).read_bytes())
    for name, (question, code) in SABOTAGE.items():
        nbformat.write(sabotage(ag / FIXTURE.name, question, code), subs / f"{name}.ipynb")
    for i, row in enumerate(BUGS):
        src = ROOT / row[0]
        nbformat.write(plant(src, ag / src.name, row[2], row[3]), subs / f"{bug_name(i, row)}.ipynb")
    for src in notebooks:
        if src != FIXTURE:
            (subs / f"full_{src.stem}.ipynb").write_bytes((ag / src.name).read_bytes())
    before = {p.name: p.read_bytes() for p in subs.iterdir()}
    home = tmp / "home"                       # if isolation failed, only this would be deleted
    home.mkdir()
    (home / "sentinel").write_text("still here")
    lines = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        grades = grade_folder(subs, [Autograder.read(z) for z in sorted(ag.glob("*.zip"))], TIMEOUT,
                              jobs=2, echo=lines.append, cell_timeout=CELL_TIMEOUT)
    write_csv(grades, tmp / "grades.csv")
    print("\n".join(lines))
    return {"grades": {Path(g.submission).stem: g for g in grades}, "lines": lines, "csv": tmp / "grades.csv",
            "subs": subs, "before": before, "home": home}


def full_marks_except(grade, questions: set[str]) -> None:
    points = grade.autograder.points
    assert set(questions) <= set(points), (questions, list(points))
    got = {q: grade.scores[q] for q in points}
    want = {q: 0.0 if q in questions else p for q, p in points.items()}
    assert got == want, f"{grade.submission}: {grade.notes}"


def test_the_solutions_get_full_marks(graded):
    for name, g in graded["grades"].items():
        if name.startswith("full"):
            full_marks_except(g, set())
            assert g.total == g.max > 0 and not g.notes


def test_the_untouched_student_edition_scores_nothing(graded):
    """No stub passes a test: the tests exercise the learner's code, not a pre-solved package."""
    g = graded["grades"]["student_untouched"]
    full_marks_except(g, set(g.autograder.points))


@pytest.mark.parametrize("i, row", list(enumerate(BUGS)), ids=[row[4] for row in BUGS])
def test_a_planted_bug_loses_exactly_its_question(graded, i, row):
    full_marks_except(graded["grades"][bug_name(i, row)], row[1])


def test_a_crashing_cell_costs_only_its_question(graded):
    g = graded["grades"]["adversarial_crash"]
    full_marks_except(g, {"linear"})
    assert any("killed the kernel" in n for n in g.notes), g.notes


def test_an_endless_loop_is_stopped_and_costs_only_its_question(graded):
    g = graded["grades"]["adversarial_loop"]
    full_marks_except(g, {"sgd_momentum"})
    assert any(f"ran over the {CELL_TIMEOUT:g} s time limit" in n for n in g.notes), g.notes


def test_deleting_files_hurts_only_the_submission_itself(graded):
    full_marks_except(graded["grades"]["adversarial_delete"], {"train"})     # its data file is gone
    assert {p.name: p.read_bytes() for p in graded["subs"].iterdir()} == graded["before"]
    assert (graded["home"] / "sentinel").read_text() == "still here"
    assert FIXTURE.with_name("points.csv").is_file()


def test_one_line_per_submission_and_one_csv_row(graded):
    grades = graded["grades"]
    assert len(graded["lines"]) == len(grades)
    for line, g in zip(graded["lines"], sorted(grades.values(), key=lambda g: g.submission), strict=True):
        assert line.startswith(g.submission) and line.endswith(f" {g.total:g}/{g.max:g}"), line
    with open(graded["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["submission"] for r in rows] == sorted(g.submission for g in grades.values())
    fixture_questions = list(grades["full"].autograder.points)
    assert fixture_questions == ["mse_backward", "linear", "sgd_momentum", "train"]     # notebook order
    for r in rows:
        g = grades[Path(r["submission"]).stem]
        assert float(r["total"]) == g.total and float(r["max"]) == g.max
        assert [float(r[q]) for q in g.autograder.points] == [g.scores[q] for q in g.autograder.points]


def test_no_grading_process_outlives_the_run(graded):
    import psutil

    from course.sandbox import MARK
    left = []
    for p in psutil.process_iter():
        try:
            if MARK in p.environ():
                left.append(p.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    assert not left


def test_grade_cli_needs_a_folder_and_autograders(tmp_path, capsys):
    from course.grade import main
    assert main([str(tmp_path / "missing")]) == 2
    assert "expected a folder of submissions, got" in capsys.readouterr().err
    assert main([str(tmp_path), "--autograders", str(tmp_path)]) == 2
    assert "expected autograder zips in" in capsys.readouterr().err
