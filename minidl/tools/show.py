"""show_source: minidl's real code, highlighted, in a notebook (never a pasted copy)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path
from typing import Any


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


def show_source(obj: Any, *, docstring: bool = True) -> Source:
    """The source of a class, function or method as it is in the installed minidl.

    ``docstring=False`` drops the docstring of a function or method, to show just the code.
    """
    try:
        code = textwrap.dedent(inspect.getsource(obj)).rstrip()
        path = Path(inspect.getsourcefile(obj)).resolve()
        package = Path(__file__).resolve().parents[1]          # minidl/
        where = path.relative_to(package.parent).as_posix() if path.is_relative_to(package) else path.name
    except (TypeError, OSError) as e:
        raise TypeError(f"show_source: cannot find the source of {obj!r} ({e})") from e
    if not docstring:
        code = _without_docstring(code)
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
    return Source(code, title=f"{where}: {name}")
