"""The index page's series table: every notebook, grouped like the README, titled by its own first heading.

The titles come from the notebooks (their `# NN · Title` line), so the table cannot drift from the series; the
grouping is the README's: 00–12 the series, 13–15 the build track, 16–20 going deeper.
"""

import json
import pathlib

import site_links
from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes

NOTEBOOKS = site_links.ROOT / "notebooks"
GROUPS = [("The series", range(0, 13), "derive each piece, check it in numbers, draw it"),
          ("Build track", range(13, 16), "write the framework yourself, each stage checked"),
          ("Going deeper", range(16, 21), "what practitioners use next, derived and checked the same way")]


def title(notebook: pathlib.Path) -> str:
    """A notebook's title: its first markdown heading without the number ('The playground: train a network live')."""
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].split("·", 1)[-1].strip()
    raise ValueError(f"{notebook.name}: expected a '# NN · Title' heading, found none")


def _row(*cells) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += cell if isinstance(cell, nodes.Node) else nodes.paragraph("", cell)
        row += entry
    return row


class SeriesTable(Directive):
    """`{series-table}`: one table per group, a row per notebook: number, linked title, launch link."""

    def run(self):
        out = []
        repo = site_links.repository()
        notebooks = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
        for name, numbers, what in GROUPS:
            group = [nb for nb in notebooks if int(nb.name[:2]) in numbers]
            if not group:
                raise self.error(f"series-table: no notebook numbered {numbers.start:02d}–{numbers.stop - 1:02d}")
            out.append(nodes.rubric("", f"{name}: {what}"))
            body = nodes.tbody()
            for nb in group:
                link = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget=f"/notebooks/{nb.stem}",
                                             refexplicit=True, refwarn=True)
                link += nodes.inline("", title(nb))
                launch = nodes.reference("", "launch", refuri=site_links.binder(nb.name, repo))
                body += _row(nb.name[:2], nodes.paragraph("", "", link), nodes.paragraph("", "", launch))
            group_spec = nodes.tgroup(cols=3)
            for width in (6, 80, 14):
                group_spec += nodes.colspec(colwidth=width)
            head = nodes.thead()
            head += _row("#", "notebook", "run it live")
            group_spec += head
            group_spec += body
            out.append(nodes.table("", group_spec, classes=["minidl-series"]))
        return out
