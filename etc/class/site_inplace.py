"""The notebooks are read in place: `site/notebooks` is a symlink to the repository's notebooks/, never a copy.

Sphinx resolves symlinks when it turns a relative link into a document name, so a notebook's link to
`09_regularisation_and_dropout.ipynb` would point at /…/notebooks/09_… outside the site; `relink` maps such a
target back to the document `notebooks/09_…` before references are resolved.
"""

import pathlib

import site_links
from sphinx import addnodes

NOTEBOOKS = site_links.ROOT / "notebooks"


def link(srcdir: pathlib.Path) -> None:
    """Make `srcdir/notebooks` point at the repository's notebooks/ (a fresh clone has no link yet)."""
    here = srcdir / "notebooks"
    if not here.is_symlink() and not here.exists():
        try:
            here.symlink_to(pathlib.Path("..") / "notebooks", target_is_directory=True)
        except FileExistsError:                        # a build started at the same moment made it
            pass
    if not (here.is_symlink() and here.resolve() == NOTEBOOKS.resolve()):
        raise RuntimeError(f"{here} exists and is not a link to {NOTEBOOKS}: remove it, make site links it")


def relink(app, doctree):
    """doctree-read: links between notebooks, resolved through the symlink, point back into the site."""
    real = NOTEBOOKS.resolve().as_posix() + "/"
    for ref in doctree.findall(addnodes.pending_xref):
        target = ref.get("reftarget", "")
        if ref.get("refdomain") == "doc" and target.startswith(real):
            ref["reftarget"] = "notebooks/" + target.removeprefix(real)
