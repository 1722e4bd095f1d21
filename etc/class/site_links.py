"""Where the website's links point: the repository, a notebook on Binder, a minidl file on GitHub.

The public address has one home, `[project.urls] Repository` in pyproject.toml; everything here is derived
from it, so moving the repository means changing that one line.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def repository(pyproject: pathlib.Path = ROOT / "pyproject.toml") -> str:
    """The repository's public address, read from `[project.urls] Repository`."""
    text = pyproject.read_text(encoding="utf-8")
    try:
        import tomllib
        url = tomllib.loads(text).get("project", {}).get("urls", {}).get("Repository")
    except ImportError:                                                   # Python 3.10: no tomllib
        found = re.search(r'^Repository\s*=\s*"([^"]+)"', text, re.MULTILINE)
        url = found and found.group(1)
    if not url or not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/?", url):
        raise ValueError(f"{pyproject}: [project.urls] Repository: expected https://github.com/<owner>/<repo>, "
                         f"got {url!r}")
    return url.rstrip("/")


def binder(notebook: str, repo: str | None = None) -> str:
    """The Binder address that opens `notebook` (a file name in notebooks/) in JupyterLab."""
    owner_name = (repo or repository()).removeprefix("https://github.com/")
    return f"https://mybinder.org/v2/gh/{owner_name}/HEAD?labpath=notebooks/{notebook}"


def blob(path: str, repo: str | None = None) -> str:
    """The GitHub page of a file of the repository (`path` relative to its root), on main."""
    return f"{repo or repository()}/blob/main/{path}"
