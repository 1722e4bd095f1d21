"""The site shows what a learner may see: each solution replaced by its prompt, the hidden tests left out.

notebooks/ is the instructor edition (course/FORMAT.md): solutions inside `# BEGIN SOLUTION` regions, otter's
raw marker cells, hidden tests (`# HIDDEN`) that `make grade` relies on. A public website of it as it is would
publish all of them. So myst-nb reads every notebook through `read`: course.source.strip_solutions, the student
edition's own rule (a solution region becomes its prompt, that cell's outputs are cleared, markdown tagged
`solution` is dropped), then otter's raw cells and the hidden test cells are dropped. Every other cell and
output is the executed series as committed: a checker's ✓ shows what a right answer prints.
"""

import sys

import nbformat
import site_links

sys.path.insert(0, str(site_links.ROOT))                 # course/ is the repository's, not an installed package
from course.source import strip_solutions  # noqa: E402

HIDDEN = "# HIDDEN"


def public(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as the site shows it: solutions -> prompts, no raw otter cells, no hidden tests."""
    nb = strip_solutions(nb)
    nb.cells = [c for c in nb.cells if c.cell_type != "raw"
                and not (c.cell_type == "code" and c.source.lstrip().startswith(HIDDEN))]
    return nb


def read(text: str) -> nbformat.NotebookNode:
    """myst-nb's reader for .ipynb (`nb_custom_formats`): the public notebook of an instructor notebook's text."""
    return public(nbformat.reads(text, as_version=4))
