"""minidl's source inside the website: a highlighted page per module, and on each notebook page a box
linking the modules that notebook uses.

Why local pages rather than links to GitHub only: the site must read offline, and the learner should be one
click from the code next to the math. Like sphinx.ext.viewcode, but without autodoc: a page per file of
minidl/ (`_source/minidl/.../name.html`), each with a link to the same file on GitHub. Which modules a notebook
uses is found by scanning its code cells for `md.X.Y`, `minidl.x.y`, `from minidl.x import A` and resolving
each name on the imported package (`md.Linear` -> minidl.framework.layers), so a re-export is followed home.
"""

import ast
import functools
import html
import importlib
import inspect
import json
import pathlib
import re

import site_links
from docutils import nodes

ROOT = site_links.ROOT
PACKAGE = ROOT / "minidl"
PREFIX = "_source"
DOTTED = re.compile(r"\b(md|minidl)((?:\.[A-Za-z_]\w*)+)")


def module_of(dotted: str) -> str | None:
    """The module where `minidl.a.b.c` lives: the deepest module on the path, or the home of the object."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    home = obj.__name__
    for part in parts[1:]:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module(f"{home}.{part}")
            except ImportError:
                break
        if inspect.ismodule(obj):
            home = obj.__name__
        elif isinstance(getattr(obj, "__module__", None), str) and (inspect.isclass(obj) or callable(obj)):
            home = obj.__module__
            if not inspect.isclass(obj):
                break
        else:
            break
    return home if home.split(".")[0] == "minidl" else None


def _names(code: str) -> set[str]:
    """Every dotted minidl name a code cell mentions (`md` is `minidl`), imports included."""
    found = {"minidl" + rest for _, rest in DOTTED.findall(code)}
    try:
        tree = ast.parse("\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "minidl":
            found.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "minidl")
    return found


@functools.cache
def modules_used(notebook: pathlib.Path) -> tuple[str, ...]:
    """The minidl modules a notebook's code cells use, sorted, the package roots (`__init__`) left out."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    homes = {module_of(name) for cell in code for name in _names(cell)}
    files = {m: source_file(m) for m in homes if m}
    return tuple(sorted(m for m, path in files.items() if path and path.name != "__init__.py"))


def source_file(module: str) -> pathlib.Path | None:
    """The file of this repository that holds a minidl module (found by name, wherever minidl was imported from)."""
    base = ROOT.joinpath(*module.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def page_of(path: pathlib.Path) -> str:
    """The site page (no suffix) showing a file of minidl/: minidl/training/data.py -> _source/minidl/training/data."""
    return f"{PREFIX}/{path.relative_to(ROOT).with_suffix('').as_posix()}"


def collect_pages(app):
    """html-collect-pages: a highlighted page for every file of minidl/, and an index of them."""
    repo = site_links.repository()
    files = sorted(PACKAGE.rglob("*.py"))
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        code = app.builder.highlighter.highlight_block(path.read_text(encoding="utf-8"), "python", linenos=True)
        head = (f'<h1><code>{rel}</code></h1><p class="minidl-source-links"><a href="{site_links.blob(rel, repo)}">'
                f'{rel} on GitHub</a> · <a href="{"../" * rel.count("/")}index.html">every minidl file</a></p>')
        yield page_of(path), {"title": rel, "body": head + code}, "page.html"
    items = "".join(f'<li><a href="{page_of(p).removeprefix(PREFIX + "/")}.html"><code>{p.relative_to(ROOT).as_posix()}'
                    f"</code></a></li>" for p in files)
    yield f"{PREFIX}/index", {"title": "minidl source", "body": f"<h1>minidl source</h1><ul>{items}</ul>"}, "page.html"


def add_source_box(app, doctree):
    """doctree-read: under a notebook page's title, the minidl modules it uses, linked to their pages."""
    docname = app.env.docname
    if not docname.startswith("notebooks/"):
        return
    up = "../" * docname.count("/")
    links = []
    for module in modules_used(app.env.doc2path(docname).resolve()):
        href = f"{up}{page_of(source_file(module))}.html"
        links.append(f'<a class="minidl-source-link" href="{href}"><code>{html.escape(module)}</code></a>')
    if not links:
        return
    box = nodes.raw("", '<aside class="minidl-source"><b>minidl source used here:</b> ' + " · ".join(links)
                    + "</aside>", format="html")
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is not None and isinstance(section[0], nodes.title):
        section.insert(1, box)
