'''The instructor source: otter's markers inside each .ipynb (course/FORMAT.md has the rules).

    assignment   a raw cell starting `# ASSIGNMENT CONFIG`: otter assign makes its student edition
                 and autograder (questions, public and hidden tests, solution blocks: otter's v1 format)
    solution     code lines between `# BEGIN SOLUTION` and `# END SOLUTION` (or one line ending in
                 `# SOLUTION`), in any notebook; the student edition has the prompt in their place
    prompt       lines between `""" # BEGIN PROMPT` and `""" # END PROMPT`: a no-op string for the
                 instructor, the student's stub (`raise NotImplementedError("write ...: hint")`)
    solution md  a markdown cell tagged `solution`: dropped from the student edition

One file per notebook, outputs committed: nbval runs the instructor edition as it is, so its test
cells (plain asserts) check the solutions on every `make test`, and no second copy can drift.
'''

from __future__ import annotations

import copy
import re

import nbformat
from otter.assign.solutions import replace_solutions

ASSIGNMENT_CONFIG = re.compile(r"#\s+assignment\s+config\s*", re.IGNORECASE)   # otter's own pattern
SOLUTION_TAG = "solution"
_BEGIN = re.compile(r"\s*# BEGIN SOLUTION( NO PROMPT)?\s*$")
_END = re.compile(r"\s*# END SOLUTION\s*$")
_ONE_LINE = re.compile(r"(.*?)\s*# ?SOLUTION\s*$")
_PROMPT_MARK = re.compile(r".*# (BEGIN|END) PROMPT\s*$")


def is_assignment(nb: nbformat.NotebookNode) -> bool:
    """True if a raw cell starts with `# ASSIGNMENT CONFIG` (plain or in an ```otter fence)."""
    for cell in nb.cells:
        text = cell.source.strip()
        if text.startswith("```otter"):
            text = text[len("```otter"):].strip()
        if cell.cell_type in ("raw", "markdown") and ASSIGNMENT_CONFIG.match(text):
            return True
    return False


def has_solution(cell: nbformat.NotebookNode) -> bool:
    """A code cell with solution markers, or a markdown cell tagged `solution`."""
    if cell.cell_type == "markdown":
        return SOLUTION_TAG in cell.metadata.get("tags", [])
    return cell.cell_type == "code" and any(
        _BEGIN.match(line) or _ONE_LINE.match(line) for line in cell.source.splitlines())


def solution_lines(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, stripped line) of every code line a solution region hides, markers excluded."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        inside = False
        for n, line in enumerate(cell.source.splitlines(), 1):
            if _BEGIN.match(line):
                if inside:
                    raise ValueError(f"cell {i}, line {n}: expected # END SOLUTION, got a second BEGIN")
                inside = True
            elif _END.match(line):
                if not inside:
                    raise ValueError(f"cell {i}, line {n}: expected # BEGIN SOLUTION before, got END")
                inside = False
            elif inside and not _PROMPT_MARK.match(line) and line.strip():
                found.append((i, line.strip()))
            elif not inside and (m := _ONE_LINE.match(line)) and "=" in m.group(1):
                found.append((i, m.group(1).split("=", 1)[1].strip()))   # x = <hidden>  # SOLUTION
            elif not inside and m:
                found.append((i, m.group(1).strip()))
        if inside:
            raise ValueError(f"cell {i}: expected # END SOLUTION before the cell ends, got none")
    return found


def strip_solutions(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student copy of a notebook that is not an assignment: otter's own line rule applied to
    every code cell with markers (and their outputs cleared); markdown tagged `solution` dropped."""
    nb = copy.deepcopy(nb)
    cells = []
    for i, cell in enumerate(nb.cells):
        if not has_solution(cell):
            cells.append(cell)
        elif cell.cell_type == "code":
            solution_lines(nbformat.v4.new_notebook(cells=[cell]))      # one-line error if unbalanced
            try:
                cell.source = "\n".join(replace_solutions(cell.source.splitlines(), "python"))
            except AssertionError as e:
                raise ValueError(f"cell {i}: expected balanced solution markers, got {e}") from None
            cell.outputs, cell.execution_count = [], None
            cells.append(cell)
    nb.cells = cells
    return nb


def drop_solution_markdown(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove markdown cells tagged `solution` (otter keeps them outside its solution blocks)."""
    nb.cells = [c for c in nb.cells if not (c.cell_type == "markdown" and has_solution(c))]
    return nb
