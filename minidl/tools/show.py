"""show_source: minidl's real code, highlighted, in a notebook (never a pasted copy)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from minidl.framework import checks as _checks

# Calls that only check arguments: self._check_input(...), check_grad(...), and the shared checks.
_CHECK_FUNCTIONS = {n for n in vars(_checks) if not n.startswith("_") and callable(getattr(_checks, n))
                    and n not in {"shape_text"}}


class Source:
    """Source code that renders as a highlighted Python block in Jupyter and as plain text elsewhere."""

    def __init__(self, code: str, title: str = ""):
        self.code, self.title = code, title

    def _repr_markdown_(self) -> str:
        head = f"**{self.title}**\n\n" if self.title else ""
        return f"{head}```python\n{self.code}\n```"

    def __repr__(self) -> str:
        return self.code

    def __str__(self) -> str:
        return self.code


def _without_docstring(code: str) -> str:
    """The code of one def/class with its docstring lines removed."""
    node = ast.parse(code).body[0]
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        lines = code.splitlines()
        del lines[body[0].lineno - 1:body[0].end_lineno]
        code = "\n".join(lines)
    return code


def _call_name(node: ast.AST) -> str:
    func = node.func if isinstance(node, ast.Call) else None
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is_check(stmt: ast.stmt) -> bool:
    """An argument check: ``if bad: raise ...`` (no else), a loop of such checks, or a bare call of a
    check function (``self._check_input(x)``, ``positive_int(...)``) whose result is not used."""
    if isinstance(stmt, ast.Raise):
        return True
    if isinstance(stmt, ast.If):
        return not stmt.orelse and all(_is_check(s) for s in stmt.body)
    if isinstance(stmt, ast.For):
        return not stmt.orelse and all(_is_check(s) for s in stmt.body)
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        name = _call_name(stmt.value)
        return name.lstrip("_").startswith("check") or name in _CHECK_FUNCTIONS
    return False


def _runs(body: list[ast.stmt], keep: Any) -> list[list[ast.stmt]]:
    """Maximal runs of consecutive statements of ``body`` for which ``keep(stmt)`` is false."""
    runs: list[list[ast.stmt]] = []
    current: list[ast.stmt] = []
    for stmt in body:
        if keep(stmt):
            if current:
                runs.append(current)
            current = []
        else:
            current.append(stmt)
    return runs + ([current] if current else [])


def _start(stmt: ast.stmt) -> int:
    """The first line of a statement, its decorators included (1-based)."""
    return min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])


def _replace(lines: list[str], runs: list[tuple[int, int, str]]) -> list[str]:
    """Lines with each (first, last, marker) range (1-based, inclusive) replaced by the marker line."""
    for first, last, marker in sorted(runs, reverse=True):
        indent = lines[first - 1][:len(lines[first - 1]) - len(lines[first - 1].lstrip())]
        lines[first - 1:last] = [indent + marker]
    return lines


def _has_docstring(node: ast.AST) -> bool:
    body = getattr(node, "body", [])
    return bool(body) and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
        and isinstance(body[0].value.value, str)


def _stmt_name(stmt: ast.stmt) -> str:
    """A method's name, an assignment's target (state_kinds), or the kind of statement."""
    if hasattr(stmt, "name"):
        return stmt.name
    targets = getattr(stmt, "targets", None) or [getattr(stmt, "target", None)]
    return ", ".join(ast.unparse(t) for t in targets if t is not None) or type(stmt).__name__.lower()


def _select_methods(code: str, methods: Sequence[str], where: str) -> str:
    """A class's source with only its docstring and the named methods; the rest one marker line per run."""
    node = ast.parse(code).body[0]
    if not isinstance(node, ast.ClassDef):
        raise TypeError(f"{where}: methods= applies to a class, got the source of a {type(node).__name__}")
    defined = [s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    missing = [m for m in methods if m not in defined]
    if missing:
        raise ValueError(f"{where}: expected methods of {node.name} ({', '.join(defined)}), got {', '.join(missing)}")
    body = node.body[1:] if _has_docstring(node) else node.body
    runs = _runs(body, lambda s: isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name in methods)
    markers = [(_start(r[0]), r[-1].end_lineno,
                "# … not shown: " + ", ".join(_stmt_name(s) for s in r) + " …")
               for r in runs]
    return "\n".join(_replace(code.splitlines(), markers))


def _fold_checks(code: str) -> str:
    """The code with each run of argument checks at the top level of a function's body replaced by one
    '# … argument checks (n lines) …' line (a raise inside the logic, e.g. in an else, stays)."""
    markers = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for run in _runs(node.body, lambda s: not _is_check(s)):
                first, last = _start(run[0]), run[-1].end_lineno
                n = last - first + 1
                markers.append((first, last, f"# … argument checks ({n} line{'s' if n > 1 else ''}) …"))
    return "\n".join(_replace(code.splitlines(), markers))


def _squeeze_blank_lines(code: str) -> str:
    out: list[str] = []
    for line in code.splitlines():
        if not (line.strip() == "" and out and out[-1].strip() == ""):
            out.append(line)
    return "\n".join(out)


def show_source(obj: Any, *, docstring: bool = True, methods: Sequence[str] | None = None,
                fold_checks: bool = False) -> Source:
    """The source of a class, function or method as it is in the installed minidl.

    ``docstring=False`` drops the docstring of a function or method, to show just the code.
    ``methods=["forward", "backward"]`` shows a class's docstring and those methods only (the others
    become one "# … not shown: __init__, … …" line). ``fold_checks=True`` replaces each run of
    argument checks (``if bad: raise``, ``self._check_input(x)``) by "# … argument checks (n lines) …",
    so the math-bearing lines come first; the full source is one ``show_source(obj)`` away.
    """
    try:
        code = textwrap.dedent(inspect.getsource(obj)).rstrip()
        path = Path(inspect.getsourcefile(obj)).resolve()
        package = Path(__file__).resolve().parents[1]          # minidl/
        where = path.relative_to(package.parent).as_posix() if path.is_relative_to(package) else path.name
    except (TypeError, OSError) as e:
        raise TypeError(f"show_source: cannot find the source of {obj!r} ({e})") from e
    if methods is not None:
        code = _select_methods(code, list(methods), "show_source")
    if not docstring:
        code = _without_docstring(code)
    if fold_checks:
        code = _fold_checks(code)
    code = _squeeze_blank_lines(code)
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
    return Source(code, title=f"{where}: {name}")
