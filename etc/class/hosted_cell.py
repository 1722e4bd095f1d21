"""Give every notebook its launch badges and its hosted first cell, from one place (issue 15).

    python etc/class/hosted_cell.py notebooks/*.ipynb           insert or update, one line per notebook changed
    python etc/class/hosted_cell.py --check notebooks/*.ipynb   exit 1 listing the notebooks that are not current

What it writes, idempotently:

* In the first markdown cell (a new one if the notebook has none before its first code cell), right under the
  title, one line of badges: "Open in Colab" first, Binder (JupyterLab) second, and for notebook 10 a third that
  opens the playground as a Voilà app on Binder (``notebooks/playground.ipynb``, the app page: the app and a few
  lines of help, no notebook internals). The line is found again by the Colab badge's image address.
* Nothing in the app page itself (``playground.ipynb``): it is served by Voilà where minidl is installed, and a
  badge there would be an image fetched from a public server.
* A first code cell, tagged ``hosted-setup`` (cell id ``hosted-setup``) and starting with a comment that names
  this script, placed just before the notebook's first code cell (so after otter's ``# ASSIGNMENT CONFIG`` raw
  cell in 13 and 14, and ``torch.set_num_threads(1)`` stays in the next code cell). On a hosted service it clones
  the collection at the pinned tag (once), runs one ``pip install`` of minidl from that checkout and moves the
  kernel into its ``notebooks/`` folder, where the files some notebooks read beside them are (11 and 12 read
  ``results/``, 10 and 15 use the ``my_framework.py`` that notebook 13 writes); everywhere else it does nothing:
  no output, no module imported (``os`` and ``sys`` are loaded in every Python before any cell runs).
  Inserting it shifts the execution counts of the code cells by one: a top-to-bottom run gives exactly that,
  since the cell has no output.

The repository's address is read from ``[project.urls] Repository`` in pyproject.toml, its one home.

Why the install command is what it is (the complaint learners make most about hosted notebooks is "it no longer
runs there" after a pinned install fought the service's own packages: d2l #2474, #2546, #2659):

* Detected, not asked: ``google.colab`` in ``sys.modules`` (every Colab kernel has imported it before the first
  cell runs), or Kaggle's ``KAGGLE_KERNEL_RUN_TYPE`` in the environment.
* What the service already has is kept. Colab and Kaggle ship torch (a CUDA build, several GB: reinstalling it
  costs minutes and the disk), numpy, matplotlib, tqdm, pillow and ipywidgets. So minidl is installed with
  ``--no-deps``: its own ``torch>=2.13`` would otherwise make pip replace the service's torch whenever that is
  older, and a numpy or matplotlib reinstalled under a running kernel needs a runtime restart (ipympl #587).
* What must match is pinned, and only that. The notebooks must run against the minidl they were written for:
  the repository at the tag of pyproject's version (``v0.1.0``), so the command changes only when the version
  does (and ``--check`` then says which notebooks to regenerate). The widget packages must match the *front
  end* that draws them, and on a hosted service that front end is the service's own (Colab's widget manager,
  not JupyterLab): the ipywidgets the service preinstalls is the one its front end speaks, so pinning ours
  (8.1.5, which matches jupyterlab_widgets 3.0.13) would be exactly the install that breaks it
  (Colab rendered no checkbox with ipywidgets 8.0: colabtools #3020). The playground uses core widgets only
  there: ipympl's front end is broken on Colab (colabtools #5155, #5425), so ``Playground(canvas="auto")``
  draws PNG frames in an ``ipywidgets.Image`` (minidl/playground/app.py) and ipympl is not installed.
* Assumptions, to check when the repository is published: the tag ``v<version>`` exists (the badges open
  ``main``, so between releases a notebook on main may need what the tag lacks: tag a release before pointing
  a class at the badges), and the service can reach GitHub and PyPI (Kaggle: "Internet on").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
TAG = "hosted-setup"
CELL_ID = "hosted-setup"
BADGES_ID = "launch-badges"
FIRST_LINE = "# Hosted setup (written by etc/class/hosted_cell.py): on Colab or Kaggle, fetch minidl at its tag."
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
VOILA_BADGE = "https://img.shields.io/badge/playground-Voil%C3%A0%20on%20Binder-579ACA?logo=jupyter"
PLAYGROUND = "10_playground.ipynb"
APP_PAGE = "playground.ipynb"             # what the Voilà badge opens; left alone (see above)


def project(root: Path = ROOT) -> tuple[str, str, str]:
    """(owner, name, version) from pyproject.toml: ``[project.urls] Repository`` and ``[project] version``."""
    meta = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    url = meta.get("urls", {}).get("Repository", "")
    m = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", url)
    if not m:
        raise ValueError(f"pyproject.toml [project.urls] Repository: expected https://github.com/<owner>/<name>, "
                         f"got {url!r}")
    return m.group(1), m.group(2), meta["version"]


def checkout(root: Path = ROOT) -> str:
    """Where the hosted cell puts the collection: ``~/minidl-v<version>`` (one folder per pinned tag)."""
    return f"~/minidl-v{project(root)[2]}"


def install_commands(root: Path = ROOT) -> list[list[str]]:
    """The two commands the hosted cell runs, pinned to the tag of pyproject's version: clone the collection
    (the notebook's neighbours: results/, my_framework.py from notebook 13), then pip-install minidl from it
    without dependencies. ``HOME`` stands for the checkout folder, ``PYTHON`` for ``sys.executable``."""
    owner, name, version = project(root)
    return [["git", "clone", "--quiet", "--depth", "1", "--branch", f"v{version}",
             f"https://github.com/{owner}/{name}", "HOME"],
            ["PYTHON", "-m", "pip", "install", "--quiet", "--no-deps", "HOME"]]


def cell_source(root: Path = ROOT) -> str:
    """The hosted cell's code: on Colab or Kaggle the collection at the pinned tag, minidl installed from it and
    the kernel moved into its notebooks/ folder; nothing anywhere else."""
    def args(command: list[str]) -> str:
        return ", ".join({"HOME": "home", "PYTHON": "sys.executable"}.get(a, f'"{a}"') for a in command)
    clone, install = install_commands(root)
    return (f"{FIRST_LINE}\n"
            "# Anywhere else (your machine, Binder, a hub) it does nothing: minidl is installed there already.\n"
            "import os, sys\n"
            'if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:\n'
            "    import subprocess\n"
            f'    home = os.path.expanduser("{checkout(root)}")   # the collection at the tag: notebooks, data\n'
            "    if not os.path.isdir(home):\n"
            f"        subprocess.run([{args(clone[:-2])},\n"
            f"                        {args(clone[-2:])}], check=True)\n"
            f"    subprocess.run([{args(install)}], check=True)\n"
            '    os.chdir(os.path.join(home, "notebooks"))      # the files a notebook reads beside it are here')


def badges(notebook: str, root: Path = ROOT) -> str:
    """The markdown line of launch badges for ``notebooks/<notebook>``."""
    owner, name, _ = project(root)
    colab = f"https://colab.research.google.com/github/{owner}/{name}/blob/main/notebooks/{notebook}"
    binder = f"https://mybinder.org/v2/gh/{owner}/{name}/HEAD"
    line = (f"[![Open in Colab]({COLAB_BADGE})]({colab}) "
            f"[![Launch on Binder]({BINDER_BADGE})]({binder}?labpath=notebooks/{notebook})")
    if notebook == PLAYGROUND:
        line += f" [![Playground as a Voilà app]({VOILA_BADGE})]({binder}?urlpath=voila/render/notebooks/{APP_PAGE})"
    return line


def _with_badges(text: str, line: str) -> str:
    """``text`` with its badge line replaced by ``line``, or ``line`` inserted as a paragraph under its title."""
    lines = text.split("\n")
    for i, old in enumerate(lines):
        if COLAB_BADGE in old:
            return "\n".join(lines[:i] + [line] + lines[i + 1:])
    title = next((i for i, old in enumerate(lines) if old.startswith("# ")), None)
    if title is None:
        return "\n".join([line, ""] + lines)
    at = title + 2 if lines[title + 1:title + 2] == [""] else title + 1
    block = ([] if lines[at - 1] == "" else [""]) + [line] + ([""] if at < len(lines) else [])
    return "\n".join(lines[:at] + block + lines[at:])


def _text(cell: dict) -> str:
    return "".join(cell["source"])


def _lines(text: str) -> list[str]:
    """A cell's source as .ipynb files store it (nbformat's own split)."""
    return text.splitlines(keepends=True)


def update(nb: dict, notebook: str, root: Path = ROOT) -> bool:
    """Bring the badges and the hosted cell of ``nb`` (the notebook named ``notebook``, as its JSON) up to date;
    True if anything changed."""
    cells = nb["cells"]
    codes = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    hosted = [i for i in codes if TAG in cells[i]["metadata"].get("tags", [])]
    if len(hosted) > 1:
        raise ValueError(f"{notebook}: expected at most one cell tagged {TAG!r}, got {len(hosted)} (cells {hosted})")
    changed = False
    first_code = codes[0] if codes else len(cells)

    md = next((i for i in range(first_code) if cells[i]["cell_type"] == "markdown"), None)
    line = badges(notebook, root)
    if md is None:
        top = next((i for i in range(first_code) if cells[i]["cell_type"] != "raw"), first_code)
        cells.insert(top, {"cell_type": "markdown", "id": BADGES_ID, "metadata": {}, "source": _lines(line)})
        first_code += 1
        hosted = [i + 1 for i in hosted]
        changed = True
    elif (new := _with_badges(_text(cells[md]), line)) != _text(cells[md]):
        cells[md]["source"] = _lines(new)
        changed = True

    source = cell_source(root)
    if hosted:
        cell = cells[hosted[0]]
        if hosted[0] != first_code:
            raise ValueError(f"{notebook}: expected the {TAG!r} cell to be the first code cell, "
                             f"got it at cell {hosted[0]} after a code cell at {first_code}")
        if _text(cell) != source or cell["outputs"]:
            cell["source"], cell["outputs"] = _lines(source), []
            changed = True
        return changed
    for c in cells:
        if c["cell_type"] == "code" and c.get("execution_count") is not None:
            c["execution_count"] += 1
    cells.insert(first_code, {"cell_type": "code", "execution_count": 1, "id": CELL_ID,
                              "metadata": {"tags": [TAG]}, "outputs": [], "source": _lines(source)})
    return True


def write(nb: dict) -> str:
    """The notebook's file text, as nbformat writes it (so an unchanged cell keeps its bytes)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 listing the stale notebooks")
    args = parser.parse_args(argv)
    stale = []
    for path in args.notebooks:
        if path.name == APP_PAGE:
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        if not update(nb, path.name):
            continue
        stale.append(path)
        if args.check:
            print(f"{path}: the launch badges or the {TAG!r} cell are missing or out of date")
        else:
            path.write_text(write(nb), encoding="utf-8")
            print(f"{path}: badges and {TAG!r} cell written")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
