"""The series as a website: built the way `make site` builds it, served on 127.0.0.1, read in headless Chromium.

A reader of the site sees the math typeset, the figures, a still and a "launch to play" link where a widget was,
and the minidl source each notebook uses, one click away; the page loads nothing from outside the site and logs
no error. The build runs once per module (its time is printed, never asserted); screenshots go to
tests/artifacts/site-*.png.
"""

import functools
import html
import html.parser
import http.server
import json
import pathlib
import re
import subprocess
import sys
import threading
import time
import urllib.parse

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "etc" / "class"), str(ROOT)]           # the site's helpers; course/ (not installed)
import hosted_cell  # noqa: E402
import site_links  # noqa: E402

from course.source import SOLUTION_TAG, solution_lines  # noqa: E402

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "tests" / "artifacts"
VIEW = "application/vnd.jupyter.widget-view+json"
BUILD = ["-m", "sphinx", "-q", "-W", "--keep-going", "-b", "html"]       # the Makefile's `site:` flags


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from the repository into a temporary folder (warnings are errors)."""
    out = tmp_path_factory.mktemp("site")
    start = time.monotonic()
    run = subprocess.run([sys.executable, *BUILD, "-d", str(out / "doctrees"), "site", str(out / "html")],
                         cwd=ROOT, capture_output=True, text=True)
    if run.returncode:
        pytest.fail(f"sphinx exited {run.returncode}:\n{run.stderr[-3000:]}")
    print(f"\nsite built in {time.monotonic() - start:.1f} s")
    return out / "html"


@pytest.fixture(scope="module")
def server(site):
    """A static file server for the built site on a free 127.0.0.1 port, shut down after the module."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def reader(page, server):
    """The page with every request outside 127.0.0.1 aborted and recorded, console errors recorded."""
    outside, errors = [], []

    def route(r):
        url = urllib.parse.urlsplit(r.request.url)
        if url.scheme == "data" or url.hostname == "127.0.0.1":
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))

    def open_(path):
        page.goto(f"{server}/{path}", wait_until="load")
        page.evaluate("() => window.MathJax ? MathJax.startup.promise : null")   # typesetting done
        return page
    yield open_
    assert outside == [], f"requests left 127.0.0.1: {outside}"
    assert errors == [], f"console errors: {errors}"


def shot(page, name, locator=None):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if locator is not None:
        locator.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / f"site-{name}.png")


def check_math(page):
    """Every math element typeset by MathJax, none in error, no raw $$ or $\\command$ left in the prose."""
    counts = page.evaluate("""() => ({
        math: document.querySelectorAll('.math').length,
        typeset: [...document.querySelectorAll('.math')].filter(m => m.querySelector('mjx-container')).length,
        errors: document.querySelectorAll('mjx-merror').length})""")
    assert counts["math"] > 0 and counts["typeset"] == counts["math"] and counts["errors"] == 0, counts
    prose = page.evaluate("""() => { const b = document.querySelector('div.body').cloneNode(true);
        b.querySelectorAll('pre, code, .highlight, .cell_output').forEach(e => e.remove()); return b.textContent; }""")
    assert "$$" not in prose
    assert not re.search(r"\$[^$\n]*\\[A-Za-z]+[^$\n]*\$", prose), re.search(r"\$[^$\n]*\\[A-Za-z]+[^$\n]*\$", prose)


def check_figures(page, at_least):
    """The notebook's output images (and widget stills) loaded: each has a natural width."""
    widths = page.evaluate("() => [...document.querySelectorAll('div.cell_output img, figure.minidl-widget-still img')]"
                           ".map(i => i.naturalWidth)")
    assert len(widths) >= at_least and all(w > 0 for w in widths), widths


def check_sources(page, server, expected):
    """The source box links every expected module; each link is a page of the site holding that file."""
    links = page.evaluate("() => [...document.querySelectorAll('aside.minidl-source a')].map(a => a.href)")
    names = page.locator("aside.minidl-source a").all_text_contents()
    assert set(expected) <= set(names), names
    for href in links:
        assert href.startswith(server + "/_source/minidl/"), href
        answer = page.request.get(href)
        assert answer.status == 200, (href, answer.status)
        rel = href.removeprefix(server + "/_source/").removesuffix(".html") + ".py"
        assert site_links.blob(rel) in answer.text(), f"{href}: no link to {site_links.blob(rel)}"
        first_def = next(line for line in (ROOT / rel).read_text().splitlines() if line.startswith(("def ", "class ")))
        assert first_def.split("(")[0].split(":")[0].split()[1] in answer.text(), f"{href}: {first_def!r} not shown"


def test_index_lists_the_series_grouped_with_launch_links(reader):
    page = reader("index.html")
    groups = page.locator("p.rubric").all_text_contents()
    assert [g.split(":")[0] for g in groups] == ["The series", "Build track", "Going deeper"], groups
    rows = page.evaluate("""() => [...document.querySelectorAll('table.minidl-series tbody tr')].map(tr =>
        [tr.cells[0].textContent.trim(), tr.cells[1].querySelector('a').getAttribute('href'),
         tr.cells[2].querySelector('a').href])""")
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [r[0] for r in rows] == [n[:2] for n in notebooks]
    assert [r[1] for r in rows] == [f"notebooks/{n.removesuffix('.ipynb')}.html" for n in notebooks]
    assert [r[2] for r in rows] == [site_links.binder(n) for n in notebooks]
    assert "make lab" in page.locator("div.body").inner_text()
    shot(page, "index")


def test_log_softmax_page_math_figures_and_source(reader, server):
    page = reader("notebooks/05_log_softmax_and_cross_entropy.html")
    check_math(page)
    check_figures(page, at_least=3)
    check_sources(page, server, ["minidl.framework.losses", "minidl.framework.activations"])
    shot(page, "05-math", page.locator("div.math").first)
    page.locator("aside.minidl-source a", has_text="minidl.framework.losses").click()
    page.wait_for_load_state("load")
    assert page.locator("div.highlight").count() == 1
    assert "class CrossEntropyLoss" in page.locator("div.body").inner_text()
    shot(page, "source-losses")


def test_training_page_widget_still_and_launch_link(reader, server):
    page = reader("notebooks/04_mse_and_training.html")
    check_math(page)
    check_figures(page, at_least=4)
    still = page.locator("figure.minidl-widget-still")
    assert still.count() == 1
    assert still.locator("img").count() >= 1
    assert still.locator("a.minidl-launch").get_attribute("href") == site_links.binder("04_mse_and_training.ipynb")
    check_sources(page, server, ["minidl.framework.losses", "minidl.training.train"])
    shot(page, "04-widget", still)


def test_playground_page_is_a_still_of_the_app(reader, server):
    page = reader("notebooks/10_playground.html")
    still = page.locator("figure.minidl-widget-still")
    assert still.count() == 1
    check_figures(page, at_least=1)
    assert still.locator("a.minidl-launch").get_attribute("href") == site_links.binder("10_playground.ipynb")
    assert page.locator(f'script[type="{VIEW}"], script[type="application/vnd.jupyter.widget-state+json"]').count() == 0
    check_sources(page, server, ["minidl.playground.app"])
    shot(page, "10-playground", still)


class _Refs(html.parser.HTMLParser):
    """What a page loads by itself: script, stylesheet, image, frame and media addresses."""

    def __init__(self):
        super().__init__()
        self.loads = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and set((a.get("rel") or "").split()) & {"stylesheet", "preload", "icon", "modulepreload"}:
            self.loads.append(a.get("href") or "")
        elif tag in ("script", "img", "iframe", "source", "video", "audio", "embed"):
            self.loads.append(a.get("src") or "")


def test_every_page_loads_only_from_the_site_and_every_widget_is_a_still(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 21
    for path in pages:
        refs = _Refs()
        refs.feed(path.read_text(encoding="utf-8"))
        remote = [u for u in refs.loads if re.match(r"(https?:)?//", u)]
        assert remote == [], f"{path.relative_to(site)} loads {remote}"
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        views = sum(VIEW in o.get("data", {}) for c in cells for o in c.get("outputs", []))
        text = (site / "notebooks" / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert text.count('<figure class="minidl-widget-still">') == views, nb.name
        assert VIEW not in text, nb.name
        assert '<aside class="minidl-source">' in text, f"{nb.name}: no minidl source box"


@pytest.fixture(scope="module")
def hosted_site(tmp_path_factory):
    """A site of notebook 10 as etc/class/hosted_cell.py leaves it: a hosted-setup cell and three launch badges."""
    tmp = tmp_path_factory.mktemp("hosted")
    (tmp / "src" / "notebooks").mkdir(parents=True)
    for name in ("10_playground.ipynb",):
        nb = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
        hosted_cell.update(nb, name)
        (tmp / "src" / "notebooks" / name).write_text(json.dumps(nb), encoding="utf-8")
    (tmp / "src" / "index.md").write_text("# notebook 10\n\n```{toctree}\n:glob:\n\nnotebooks/*\n```\n")
    # no -W: its links to the other notebooks dangle here
    run = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", "-c", str(ROOT / "site"),
                          str(tmp / "src"), str(tmp / "html")], cwd=ROOT, capture_output=True, text=True)
    if run.returncode:
        pytest.fail(f"sphinx exited {run.returncode}:\n{run.stderr[-3000:]}")
    return tmp / "html"


def test_hosted_setup_cell_hidden_and_badges_kept_as_links(hosted_site):
    for name in ("10_playground",):
        text = (hosted_site / "notebooks" / f"{name}.html").read_text(encoding="utf-8")
        assert hosted_cell.FIRST_LINE.split(":")[0].lstrip("# ") not in text, f"{name}: the hosted-setup cell shows"
        assert "google.colab" not in text, f"{name}: the hosted-setup cell shows"
        refs = _Refs()
        refs.feed(text)
        remote = [u for u in refs.loads if re.match(r"(https?:)?//", u)]
        assert remote == [], f"{name}: loads {remote} (a badge image?)"
        for label, url in [("Open in Colab", "https://colab.research.google.com/github/"),
                           ("Launch on Binder", site_links.binder(f"{name}.ipynb")),
                           ("Playground as a Voilà app", "https://mybinder.org/v2/gh/")]:
            assert re.search(f'<a class="reference external" href="{re.escape(url)}[^"]*">'
                             f'<span class="minidl-badge-text">{label}</span></a>', text), f"{name}: no {label} link"


def _code(line: str) -> str:
    return line.split("  #")[0].strip()


def secrets(nb: dict) -> set[str]:
    """Lines (6+ characters) only a solution region, a `solution` markdown cell or a hidden test has: the
    instructor edition shows them nowhere else (not in given code, not in the outputs of other cells)."""
    cells = [c | {"source": "".join(c["source"])} for c in nb["cells"]]
    hidden = {_code(line) for _, line in solution_lines(nbformat.from_dict({**nb, "cells": cells}))}
    seen = set()
    for c in (c for c in cells if c["cell_type"] != "raw"):       # otter's raw marker cells: never shown
        inside = False
        secret_cell = (SOLUTION_TAG in c["metadata"].get("tags", []) and c["cell_type"] == "markdown"
                       or c["source"].lstrip().startswith("# HIDDEN"))
        for line in c["source"].splitlines():
            inside = inside or bool(re.match(r"\s*# BEGIN SOLUTION", line))
            (hidden if secret_cell or inside or line.rstrip().endswith("# SOLUTION") else seen).add(_code(line))
            inside = inside and not re.match(r"\s*# END SOLUTION", line)
        if not re.search(r"# (BEGIN|END) SOLUTION|# SOLUTION\s*$", c["source"], re.MULTILINE) and not secret_cell:
            for o in c.get("outputs", []):
                text = "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                seen.update(_code(line) for line in text.splitlines())
    return {line for line in hidden - seen if len(line) >= 6}


def test_no_solution_or_hidden_test_is_published(site):
    found = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        secret = secrets(json.loads(path.read_text(encoding="utf-8")))
        page = re.sub(r"<[^>]+>", "", (site / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8"))
        shown = {_code(html.unescape(line)) for line in page.splitlines()}
        found[path.stem] = len(secret)
        assert not secret & shown, f"{path.name}: the site shows {sorted(secret & shown)[:3]}"
    assert found["13_build_your_framework"] > 50 and found["02_linear_layer"] > 0, found   # the check has teeth
