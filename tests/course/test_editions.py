"""make student: the student edition is generated, hides every solution and hidden test, and runs
top to bottom with the stubs in place."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course.editions import build, notebooks_in, support_files
from course.grade import _ok_test_spec
from course.source import has_solution, is_assignment, solution_lines, strip_solutions

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/course/fixtures/build_mini.ipynb"
SERIES = notebooks_in([ROOT / "notebooks"])
TEXT = {".py", ".txt", ".md", ".csv", ".json", ".yml", ".yaml"}
ASSIGNMENTS = [FIXTURE] + [p for p in SERIES if is_assignment(nbformat.read(p, as_version=4))]
WITH_STUBS = ASSIGNMENTS + [p for p in SERIES if p not in ASSIGNMENTS       # every notebook that has one
                            and any(has_solution(c) for c in nbformat.read(p, as_version=4).cells)]


@pytest.fixture(scope="module")
def built() -> Path:
    """`make student` on the series and the fixture, into a temporary folder inside build/ (so that,
    as with make student, a notebook can still find the repository's files above it)."""
    (ROOT / "build").mkdir(exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="test-editions-", dir=ROOT / "build"))
    try:
        build(SERIES + [FIXTURE], out)
        yield out
    finally:
        shutil.rmtree(out, ignore_errors=True)


def code_of(line: str) -> str:
    """A line without its indentation and inline comment (`x = 1  # why` -> `x = 1`)."""
    return line.split("  #")[0].strip()


def secret_lines(instructor: nbformat.NotebookNode) -> set[str]:
    """Lines only a solution region has, 6+ characters. A line the instructor edition also shows outside
    its solutions (in given code, or in the output of a cell without one, e.g. minidl's own source
    displayed with show_source) is no secret."""
    hidden = {code_of(line) for _, line in solution_lines(instructor)}
    unmarked = [c for c in instructor.cells if not has_solution(c)]
    public = lines_of(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=c.get("outputs", []))
                                                      for c in unmarked]))
    for cell in instructor.cells:
        inside = False
        for line in cell.source.splitlines():
            if re.match(r"\s*# BEGIN SOLUTION", line):
                inside = True
            elif re.match(r"\s*# END SOLUTION", line):
                inside = False
            elif not inside and not line.rstrip().endswith("# SOLUTION"):
                public.add(code_of(line))
    return {line for line in hidden - public if len(line) >= 6}


def lines_of(student: nbformat.NotebookNode, extra_files: list[Path] = ()) -> set[str]:
    """Every line the learner can see: cell sources, outputs, the tests in the metadata, other files."""
    texts = [c.source for c in student.cells]
    texts += [str(o.get("text", "")) + json.dumps(o.get("data", {}), ensure_ascii=False)
              for c in student.cells for o in c.get("outputs", [])]
    texts += [case["code"] for t in student.metadata.get("otter", {}).get("tests", {}).values()
              for suite in t.get("suites", []) for case in suite["cases"]]
    texts += [f.read_text(errors="replace") for f in extra_files]
    return {code_of(re.sub(r"^\s*(>>>|\.\.\.) ", "", line))
            for text in texts for part in text.split("\\n") for line in part.splitlines()}


def leaks(instructor: nbformat.NotebookNode, student: nbformat.NotebookNode, extra_files=()) -> set[str]:
    """Secret lines the student edition shows, line for line."""
    return secret_lines(instructor) & lines_of(student, extra_files)


def test_make_student_writes_every_notebook_and_the_files_they_need(built):
    for src in SERIES + [FIXTURE]:
        assert (built / "student" / src.name).is_file(), src.name
    for src in ASSIGNMENTS:
        assert (built / "autograder" / f"{src.stem}.zip").is_file(), src.name
        assert (built / "autograder" / src.name).is_file(), src.name
    assert (built / "student" / "points.csv").read_bytes() == (FIXTURE.parent / "points.csv").read_bytes()
    tracked = support_files(ROOT / "notebooks")
    assert tracked, "the series ships data and figures (notebooks/results/)"
    for f in tracked:
        assert (built / "student" / f.relative_to(ROOT / "notebooks")).is_file(), f
    copied = {f.relative_to(built / "student") for f in (built / "student").rglob("*") if f.is_file()}
    expected = ({f.relative_to(ROOT / "notebooks") for f in tracked} | {Path("points.csv")}
                | {Path(p.name) for p in SERIES + [FIXTURE]})
    assert copied - expected <= {Path(".OTTER_LOG"), Path(".editions.json")}, "only tracked files"


@pytest.mark.parametrize("src", SERIES + [FIXTURE], ids=lambda p: p.stem)
def test_no_solution_line_appears_in_the_student_edition(built, src):
    instructor = nbformat.read(src, as_version=4)
    student = nbformat.read(built / "student" / src.name, as_version=4)
    others = [f for f in (built / "student").rglob("*") if f.is_file() and f.suffix in TEXT]
    assert not leaks(instructor, student, others)


def test_the_leak_check_finds_a_leak():
    """Negative control: the instructor notebook itself, as a "student edition", leaks every secret."""
    instructor = nbformat.read(FIXTURE, as_version=4)
    assert len(secret_lines(instructor)) >= 8
    assert leaks(instructor, instructor) == secret_lines(instructor)


@pytest.mark.parametrize("src", ASSIGNMENTS, ids=lambda p: p.stem)
def test_hidden_tests_stay_out_of_the_student_edition(built, src):
    student = nbformat.read(built / "student" / src.name, as_version=4)
    assert student.metadata["otter"]["tests"], "public tests travel in the student notebook's metadata"
    cases = []
    with zipfile.ZipFile(built / "autograder" / f"{src.stem}.zip") as z:
        for name in z.namelist():
            if name.startswith("tests/"):
                spec = _ok_test_spec(z.read(name).decode(), name)
                cases += [case for suite in spec["suites"] for case in suite["cases"]]
    def lines(hidden):
        return {code_of(line[4:]) for c in cases if c["hidden"] == hidden for line in c["code"].splitlines()}
    secret = lines(True) - lines(False)
    assert secret, "the assignment has hidden tests that differ from its public ones"
    assert not secret & lines_of(student)


@pytest.mark.parametrize("src", WITH_STUBS, ids=lambda p: p.stem)
def test_student_edition_runs_to_the_end_with_stubs(built, src):
    """No cell raises, no kernel dies; every public check reports the stub as not implemented."""
    path = built / "student" / src.name
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    checks = [c for c in nb.cells if c.cell_type == "code" and "grader.check(" in c.source]
    assert checks or src not in ASSIGNMENTS
    for cell in checks:
        shown = json.dumps(cell.outputs)
        not_yet = "NotImplementedError" in shown or "not implemented yet" in shown
        assert not_yet and "write " in shown, cell.source
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert all(o.output_type != "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    if src == FIXTURE:
        assert "not implemented yet: write " in json.dumps(last.outputs)


def test_a_rebuild_keeps_the_learners_work(tmp_path):
    out, lines = tmp_path / "build", []
    build([FIXTURE], out, echo=lines.append)
    mine, data = out / "student" / FIXTURE.name, out / "student" / "points.csv"
    mine.write_text(mine.read_text().replace("raise NotImplementedError", "return 0  # my work"))
    data.unlink()
    build([FIXTURE], out, echo=lines.append)
    assert "# my work" in mine.read_text() and data.is_file()
    assert lines == [f"kept {mine}: changed since make student wrote it (delete it to regenerate)"]
    mine.unlink()
    build([FIXTURE], out, echo=lines.append)
    assert "# my work" not in mine.read_text() and len(lines) == 1


def test_a_plain_notebook_keeps_its_prompts_and_loses_its_solutions():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('def f(x):\n    """ # BEGIN PROMPT\n    raise NotImplementedError("write f")\n'
                                  '    """ # END PROMPT\n    # BEGIN SOLUTION NO PROMPT\n    return 2 * x\n'
                                  '    # END SOLUTION', outputs=[nbformat.v4.new_output("stream", text="4")]),
        nbformat.v4.new_code_cell("y = 3 * x  # SOLUTION\nprint(y)"),
        nbformat.v4.new_markdown_cell("The answer is 2x.", metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("f(2)", outputs=[nbformat.v4.new_output("stream", text="4")]),
    ])
    student = strip_solutions(nb)
    assert [c.source for c in student.cells] == [
        'def f(x):\n    raise NotImplementedError("write f")', "y = ...\nprint(y)", "f(2)"]
    assert student.cells[0].outputs == [] and student.cells[2].outputs    # only solution cells cleared


def test_unbalanced_markers_are_an_error_naming_the_cell():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# BEGIN SOLUTION\nx = 1")])
    with pytest.raises(ValueError, match=r"^cell 0: expected # END SOLUTION"):
        strip_solutions(nb)
