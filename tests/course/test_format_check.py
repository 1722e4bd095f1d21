"""course/format_check.py: each FORMAT.md rule it checks finds its problem, and the fixture and every
assignment notebook follow them."""

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from course.format_check import details_with_code, main, marker_problems, otter_test_problems, problems
from course.source import is_assignment

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/course/fixtures/build_mini.ipynb"
SERIES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))     # the numbered series (not the app page)


@pytest.mark.parametrize("text, found", [
    ("<details><summary>Solution</summary>\n\n```python\nx = 1\n```\n</details>", True),
    ("<details>\n<summary>Hint</summary>\n<pre>x = 1</pre></details>", True),
    ("<DETAILS><summary>Solution</summary>\n\n    x = 1\n", True),                 # unclosed, indented code
    ("<details><summary>Hint</summary>\nThink of the chain rule.\n</details>\n```python\nx = 1\n```", False),
    ("```python\nx = 1\n```", False),
])
def test_details_with_code(text, found):
    assert bool(details_with_code(new_notebook(cells=[new_markdown_cell(text)]))) is found


def test_a_stub_that_does_not_parse_is_named():
    nb = new_notebook(cells=[new_code_cell(
        "for i in range(3):\n    # BEGIN SOLUTION NO PROMPT\n    print(i)\n    # END SOLUTION\nx = 1")])
    assert marker_problems(nb) == ["cell 0, line 2: expected the student version to parse (add a prompt: "
                                   "raise NotImplementedError(...)), got expected an indented block after "
                                   "'for' statement on line 1"]
    nb.cells[0].source = nb.cells[0].source.replace("    # BEGIN SOLUTION NO PROMPT", "    # BEGIN SOLUTION")
    assert marker_problems(nb) == []


def test_unbalanced_markers_are_named():
    nb = new_notebook(cells=[new_code_cell("x = 1\n# END SOLUTION")])
    assert marker_problems(nb) == ["cell 0, line 2: expected # BEGIN SOLUTION before, got END"]


def test_otter_test_cells_must_be_silent():
    nb = new_notebook(cells=[
        new_raw_cell("# BEGIN TESTS"),
        new_code_cell("_ = opt.step()\nassert x == 1\ntorch.testing.assert_close(a, b)\n"
                      "for k in range(2):\n    opt.step()"),
        new_code_cell("# HIDDEN\nassert x == 1", outputs=[new_output("stream", text="hello")]),
        new_raw_cell("# END TESTS"),
        new_code_cell("opt.step()"),                                        # not a test cell
    ])
    assert otter_test_problems(nb) == [
        "cell 1, line 5: expected an assert or `_ = ...` in a test cell, got a bare expression `opt.step()`",
        "cell 2: expected a test cell without output, got 1 output(s)"]


@pytest.mark.parametrize("path", [FIXTURE] + [p for p in SERIES if is_assignment(nbformat.read(p, as_version=4))],
                         ids=lambda p: p.stem)
def test_assignments_follow_the_format(path):
    assert problems(path) == []


@pytest.mark.parametrize("path", SERIES, ids=lambda p: p.stem)
def test_series_markers_are_balanced_and_stubs_parse(path):
    assert marker_problems(nbformat.read(path, as_version=4)) == []


@pytest.mark.parametrize("path", SERIES, ids=lambda p: p.stem)
def test_no_solution_code_under_a_collapsed_block(path):
    """Issue 10, item 6: the instructor edition shows no solution one click away either."""
    assert details_with_code(nbformat.read(path, as_version=4)) == []


def test_the_series_has_its_exercises_marked():
    """Every notebook but the capstone (15, which trains the learner's own classes) has a solution region."""
    from course.source import solution_lines

    unmarked = [p.stem for p in SERIES if not solution_lines(nbformat.read(p, as_version=4))]
    assert unmarked == ["15_capstone"], unmarked


def test_cli_exit_status(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("<details>\n```\nx\n```\n</details>")]), bad)
    assert main([str(FIXTURE)]) == 0
    assert main([str(bad)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"{bad}, cell 0: expected no code under <details>, got a collapsed block with code")
