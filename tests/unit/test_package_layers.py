"""The package's floors: imports only go down, never in a circle, and no private name crosses a file.

    framework (1)  <-  training (2)  <-  tools (3)  <-  playground (4), lab (4)

A file may import from its own floor and the floors below; playground and lab, both on the top
floor, do not import each other. minidl/__init__.py (the public names, from every floor) and
__main__.py sit above them all. Every import counts, also one inside a function: a lazy import
up a floor is still an upward dependency. Each rule has a negative control below.
"""

import ast
import pathlib

import pytest

import minidl as md

PACKAGE = pathlib.Path(md.__file__).resolve().parent
FLOORS = {"framework": 1, "training": 2, "tools": 3, "playground": 4, "lab": 4}
TOP = ("minidl", "minidl.__main__")


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool = False) -> list[tuple[str, list[str], int]]:
    """(imported minidl module, names taken from it, line) for every import in a file, lazy ones too."""
    found = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "minidl"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "minidl":
                continue
            names = [a.name for a in node.names]
            if node.module is None or target in SUBPACKAGES:     # `from . import data`: modules, not names
                found += [(f"{target}.{n}", [], node.lineno) for n in names]
            else:
                found.append((target, names, node.lineno))
    return found


def floor(module: str) -> tuple[int, str]:
    """(floor number, sub-package) of a minidl module; the package root is above every floor."""
    parts = module.split(".")
    if module in TOP or len(parts) < 2:
        return 99, ""
    return FLOORS[parts[1]], parts[1]


def problems_in(source: str, module: str, is_package: bool = False) -> list[str]:
    found = []
    mine, my_pkg = floor(module)
    for target, names, line in imports(source, module, is_package):
        theirs, their_pkg = floor(target)
        if theirs > mine or (theirs == mine and their_pkg != my_pkg):
            found.append(f"{module}:{line} imports {target} ({their_pkg or 'the package root'}) "
                         f"from floor {my_pkg}: imports only go down")
        private = [n for n in names if n.startswith("_")]
        if private and target != module:
            found.append(f"{module}:{line} imports private {', '.join(private)} from {target}")
    return found


SOURCES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
SUBPACKAGES = {module_name(p) for p in PACKAGE.rglob("__init__.py")}


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in SOURCES}
    for m, path in SOURCES.items():
        for target, _, _ in imports(path.read_text(), m, path.name == "__init__.py"):
            if target in SOURCES and target != m:
                edges[m].add(target)
    return edges


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search with colours)."""
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        colour[m] = 1
        stack.append(m)
        for n in sorted(edges.get(m, ())):
            if colour.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in colour and (found := visit(n)):
                return found
        colour[m] = 2
        stack.pop()
        return None

    for m in sorted(edges):
        if m not in colour and (found := visit(m)):
            return found
    return None


def test_every_file_is_on_a_floor():
    for m in SOURCES:
        assert m in TOP or m.split(".")[1] in FLOORS, f"{m}: not in a floor's sub-package ({', '.join(FLOORS)})"


def test_imports_only_go_down_and_no_private_name_crosses_a_file():
    problems = [p for m, path in SOURCES.items() if m not in TOP
                for p in problems_in(path.read_text(), m, path.name == "__init__.py")]
    assert problems == []


def test_no_import_cycles():
    assert cycle(graph()) is None


@pytest.mark.parametrize("module, snippet, expected", [
    ("minidl.training.history", "def plot():\n    from ..tools.viz import plot_history\n", "imports only go down"),
    ("minidl.framework.layers", "from minidl.training.data import disk\n", "imports only go down"),
    ("minidl.playground.app", "from ..lab.reference import to_torch\n", "imports only go down"),
    ("minidl.training.train", "from .data import _rng\n", "imports private _rng"),
    ("minidl.tools.cli", "from ..framework.module import _shape, Module\n", "imports private _shape"),
])
def test_the_layer_checker_catches_violations(module, snippet, expected):
    assert any(expected in p for p in problems_in(snippet, module))


def test_the_layer_checker_allows_going_down_and_sideways_within_a_sub_package():
    assert problems_in("from ..framework.module import Module\nfrom .data import disk\n",
                       "minidl.training.train") == []
    assert problems_in("from .views import Views\nfrom ..tools import viz\n", "minidl.playground.app") == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
