"""The executed notebook series as a static website: `make site` -> build/site/index.html.

Sphinx + myst-nb, not Jupyter Book 2: Jupyter Book 2 is mystmd, a Node tool whose theme and templates are
fetched at build time, and this site must build offline from installed (pinned) packages. myst-nb reads the
notebooks in place (`site/notebooks` is a symlink to ../notebooks, made here when missing, never committed)
and does not execute them (`nb_execution_mode = "off"`): the committed outputs are the executed series, and
nbval checks them. Math is MathJax from sphinx-mathjax-offline (copied into _static/, no CDN); the markdown
cells' `$...$` and `$$...$$` are myst's dollarmath and amsmath.

The pieces, one idea a file in etc/class/:
  site_student.py  the notebooks are the instructor edition: solutions shown as their prompts, hidden tests out
  site_widgets.py  a widget becomes the still it showed (from the saved widget state) and a launch link
  site_sources.py  minidl's files as pages of the site, linked from each notebook that uses them
  site_series.py   the index's table, made from the notebooks' own titles
  site_inplace.py  the notebooks link, and links between notebooks kept inside the site
  site_links.py    Binder and GitHub addresses, from pyproject's [project.urls] Repository
"""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "etc" / "class"))

import site_inplace  # noqa: E402
import site_links  # noqa: E402
import site_series  # noqa: E402
import site_sources  # noqa: E402
import site_student  # noqa: E402, F401 (myst-nb imports it by name)
import site_widgets  # noqa: E402

site_inplace.link(HERE)                                # site/notebooks -> ../notebooks (made on a fresh clone)

project = "minidl"
author = "the minidl authors"
html_title = "minidl: a deep-learning framework you can read"

extensions = ["myst_nb", "sphinx-mathjax-offline"]
exclude_patterns = ["notebooks/results/**", "**/.ipynb_checkpoints", "_build"]

nb_execution_mode = "off"
nb_custom_formats = {".ipynb": "site_student.read"}    # what a learner may see: no solutions, no hidden tests
nb_ipywidgets_js = {}                                  # no widget JavaScript (it would come from a CDN)
nb_render_markdown_format = "myst"                     # text/markdown outputs may hold $math$ too
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]                    # the notebooks go from # to ###: their style

html_theme = "alabaster"
html_theme_options = {"page_width": "1320px", "sidebar_width": "220px", "show_relbars": True}
html_static_path = ["_static"]
html_css_files = ["minidl.css"]
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}
html_copy_source = False                               # no copies of the notebooks under _sources/
html_show_sourcelink = False
html_context = {"repository": site_links.repository()}


def setup(app):
    app.add_directive("series-table", site_series.SeriesTable)
    app.connect("doctree-read", site_inplace.relink)
    app.connect("doctree-read", site_widgets.replace_widgets)
    app.connect("doctree-read", site_sources.add_source_box)
    app.connect("html-collect-pages", site_sources.collect_pages)
