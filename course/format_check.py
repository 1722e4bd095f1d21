"""Checks a notebook against course/FORMAT.md; `python -m course.format_check NOTEBOOK ...`.

    details       no <details> block with code in a markdown cell (a collapsed solution is still visible)
    markers       BEGIN/END SOLUTION balanced; the student version of every code cell still parses
    test cells    (assignments) no outputs and no bare expressions: otter turns each test cell into a
                  doctest whose expected output is the cell's committed output, so a stray value fails it
Each problem is one line: `path, cell i[, line n]: expected ..., got ...`. Exit status 1 if any.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat
from otter.assign.solutions import replace_solutions

from course.source import has_solution, is_assignment, solution_lines

DETAILS = re.compile(r"<details\b.*?(?:</details\s*>|\Z)", re.IGNORECASE | re.DOTALL)
CODE_IN_HTML = re.compile(r"```|~~~|<pre\b|<code\b|^(?: {4}|\t)\S", re.IGNORECASE | re.MULTILINE)
BLOCK = re.compile(r"#\s+(BEGIN|END)\s+(TESTS|QUESTION|SOLUTION|PROMPT)\b", re.IGNORECASE)


def details_with_code(nb: nbformat.NotebookNode) -> list[str]:
    """Markdown cells whose <details> block holds code."""
    return [f"cell {i}: expected no code under <details>, got a collapsed block with code"
            for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
            and any(CODE_IN_HTML.search(block) for block in DETAILS.findall(c.source))]


def marker_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Unbalanced solution markers; student versions of code cells that no longer parse."""
    try:
        solution_lines(nb)
    except ValueError as e:
        return [str(e)]
    problems = []
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and has_solution(c):
            stub = "\n".join(line for line in replace_solutions(c.source.splitlines(), "python")
                             if not line.lstrip().startswith(("%", "!")))
            try:
                ast.parse(stub)
            except SyntaxError as e:
                problems.append(f"cell {i}, line {e.lineno}: expected the student version to parse "
                                f"(add a prompt: raise NotImplementedError(...)), got {e.msg}")
    return problems


def otter_test_cells(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    """(index, cell) of every code cell inside an otter `# BEGIN TESTS` ... `# END TESTS` block."""
    found, inside = [], False
    for i, c in enumerate(nb.cells):
        m = BLOCK.match(c.source.strip()) if c.cell_type == "raw" else None
        if m and m.group(2).upper() == "TESTS":
            inside = m.group(1).upper() == "BEGIN"
        elif inside and c.cell_type == "code":
            found.append((i, c))
    return found


def otter_test_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Test cells with outputs or with a bare expression (its value would be doctest output)."""
    problems = []
    for i, c in otter_test_cells(nb):
        if c.get("outputs"):
            problems.append(f"cell {i}: expected a test cell without output, got {len(c.outputs)} output(s)")
        for node in ast.walk(ast.parse(c.source)):
            if isinstance(node, ast.Expr) and not _silent(node.value):
                problems.append(f"cell {i}, line {node.lineno}: expected an assert or `_ = ...` in a test "
                                f"cell, got a bare expression `{ast.unparse(node)[:60]}`")
    return problems


def _silent(value: ast.expr) -> bool:
    """Docstrings and assert-style calls (assert_close, ...) print nothing."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return True
    func = value.func if isinstance(value, ast.Call) else None
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name.startswith("assert")


def problems(path: Path) -> list[str]:
    """Every FORMAT.md problem of one notebook, each prefixed with its path."""
    nb = nbformat.read(path, as_version=4)
    found = details_with_code(nb) + marker_problems(nb)
    if is_assignment(nb):
        found += otter_test_problems(nb)
    return [f"{path}, {p}" for p in found]


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    found = [p for path in paths for p in problems(path)]
    print("\n".join(found) if found else f"{len(paths)} notebooks follow course/FORMAT.md")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
