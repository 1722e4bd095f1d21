"""%%framework cells: run a cell and save it as one part of the learner's my_framework.py."""

from __future__ import annotations

import re
import sys

# -- the learner's file: cells that are both run and saved -------------------------------------------------------------
PART = re.compile(r"^# ---- part: (\S+) ----$", re.MULTILINE)


def _write_part(path: str, part: str, source: str) -> None:
    """Replace (or append) the part named ``part`` of the file at path, keeping the others in order."""
    import os

    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    parts: dict[str, str] = {}
    header = ""
    pieces = PART.split(text)
    if pieces:
        header = pieces[0]
        for name, body in zip(pieces[1::2], pieces[2::2], strict=False):
            parts[name] = body
    parts[part] = "\n" + source.strip("\n") + "\n\n\n"
    if not header.strip():
        header = ('"""The learner\'s own framework, written by the %%framework cells of notebook 13."""\n\n'
                  "import math\n\nimport torch\n\n\n")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(header + "".join(f"# ---- part: {name} ----{body}" for name, body in parts.items()).rstrip("\n")
                + "\n")
    os.replace(tmp, path)


def framework_magic(line: str, cell: str, *, path: str = "my_framework.py") -> None:
    """``%%framework <part>``: save the cell as that part of my_framework.py, then run it in the notebook."""
    part = line.strip() or "main"
    if not re.fullmatch(r"[A-Za-z_][\w-]*", part):
        raise ValueError(f"%%framework: expected a part name such as 'linear', got {line!r}")
    from IPython import get_ipython

    shell = get_ipython()
    filename = shell.compile.cache(cell)             # so tracebacks show the cell's lines
    code = compile(cell, filename, "exec")           # a syntax error stops here, before the file is touched
    _write_part(path, part, cell)
    exec(code, shell.user_ns)                        # noqa: S102 - the learner's own cell, as a normal cell runs it


def register_framework_magic(path: str = "my_framework.py") -> None:
    """Make ``%%framework <part>`` available in this IPython kernel (cells run, and saved to ``path``)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("register_framework_magic: needs an IPython kernel (a notebook)")
    shell.register_magic_function(lambda line, cell: framework_magic(line, cell, path=path),
                                  magic_kind="cell", magic_name="framework")


def framework_from_notebook(notebook: str, path: str = "my_framework.py") -> str:
    """Rebuild my_framework.py from the %%framework cells of a saved notebook (as last saved); return path."""
    import json

    with open(notebook, encoding="utf-8") as f:
        nb = json.load(f)
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and src.startswith("%%framework"):
            first, _, body = src.partition("\n")
            _write_part(path, first[len("%%framework"):].strip() or "main", body)
    return path


if __name__ == "__main__":                # pragma: no cover
    sys.exit("minidl.lab.build_checks is a library: from minidl.lab.build_checks import check")
