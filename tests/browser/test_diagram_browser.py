"""The network diagram in a real browser (JupyterLab and Voilà): open its section, Play and see the tiles
change (pixels), click a tile and see it enlarged, hover a line and read its weight. Screenshots in
tests/artifacts/."""

import re

from playwright.sync_api import expect

from minidl.playground import diagram as D
from tests.browser.test_playground_browser import TOKEN, lab_run_all, shutdown_kernels

LAYOUT = D.layout((2, 25, 25, 25, 2))          # the default network's diagram

# the diagram's canvas (ipympl's <canvas>, or the image canvas's <img>) and, in layout units (x, y, w, h),
# the pixels of a region: [sum of weighted channel values, count of non-white pixels]
REGION_JS = """([root, x, y, w, h, width]) => {
    const el = document.querySelectorAll('.pg-app')[root].querySelector('.pg-diagram-canvas');
    let c = el.tagName === 'IMG' ? null : el.querySelector('canvas');
    if (el.tagName === 'IMG') {
        if (!el.naturalWidth) return null;
        c = document.createElement('canvas'); c.width = el.naturalWidth; c.height = el.naturalHeight;
        c.getContext('2d').drawImage(el, 0, 0);
    }
    if (!c || c.width === 0) return null;
    const s = c.width / width;
    const d = c.getContext('2d').getImageData(Math.round(x * s), Math.round(y * s), Math.round(w * s),
                                              Math.round(h * s)).data;
    let sum = 0, ink = 0;
    for (let k = 0; k < d.length; k += 4) { sum += d[k] + 2 * d[k + 1] + 3 * d[k + 2];
                                           if (d[k] + d[k + 1] + d[k + 2] < 720) ink++; }
    return [sum, ink]; }"""


def region(page, x, y, w, h, root=0):
    return page.evaluate(REGION_JS, [root, x, y, w, h, LAYOUT.width])


def tile_box(column, unit):
    x, y = LAYOUT.corners[column][unit]
    return float(x), float(y), D.TILE, D.TILE


def steady_point():
    """(x, y, hit): a point on a line between the inputs and layer 1 that hits that line even 1.5 units off
    (the browser delivers whole pixels)."""
    for a, b in LAYOUT.segments(0):
        for t in (0.3, 0.4, 0.6, 0.7):
            p = a + t * (b - a)
            hits = {D.hit(LAYOUT, *(p + d)) for d in [(0, 0), (1.5, 0), (-1.5, 0), (0, 1.5), (0, -1.5)]}
            if len(hits) == 1:
                h = hits.pop()
                if h is not None and h.kind == "weight":
                    return float(p[0]), float(p[1]), h
    raise AssertionError("no line of Linear 1 stands apart")


def check_diagram(page, shot, name, root=0):
    """Open app number ``root``'s diagram, Play, click a tile, hover a line; the pixels and the readouts answer."""
    app = page.locator(".pg-app").nth(root)
    epoch_js = f"document.querySelectorAll('.pg-app')[{root}].querySelector('.pg-epoch').innerText"
    expect(app).to_be_visible()
    app.get_by_text("network diagram", exact=True).first.click()
    diagram = app.locator(".pg-diagram").first
    expect(diagram).to_be_visible()
    diagram.scroll_into_view_if_needed()
    page.wait_for_function(f"() => {{ const r = ({REGION_JS})([{root}, ...{list(tile_box(1, 0))}, {LAYOUT.width}]);"
                           f" return r !== null && r[1] > 100; }}")      # layer 1, unit 1 painted (not blank)
    ink_lines = region(page, LAYOUT.corners[0][0][0] + D.TILE + 5, D.TOP, 50, LAYOUT.height - D.TOP - D.BOTTOM, root)
    assert ink_lines[1] > 200, f"no connections drawn between the inputs and layer 1: {ink_lines}"
    before = [region(page, *tile_box(c, 0), root) for c in (1, 2, 3, 4)]
    shot(f"{name}-diagram-open", diagram)

    play = app.locator(".pg-play").first
    play.click()                                                         # Play: the tiles change with training
    page.wait_for_function(f"() => /epoch ([1-9]\\d*)/.test({epoch_js})")
    page.wait_for_function(f"""() => {{ const r = ({REGION_JS})([{root}, ...{list(tile_box(3, 0))}, {LAYOUT.width}]);
        return r !== null && r[0] !== {before[2][0]}; }}""")
    play.click()                                                         # Pause
    expect(play).to_have_text(re.compile("Play"))
    assert int(re.search(r"epoch (\d+)", app.locator(".pg-epoch").inner_text()).group(1)) > 0
    page.wait_for_timeout(800)                                           # the last frame lands
    after = [region(page, *tile_box(c, 0), root) for c in (1, 2, 3, 4)]
    assert sum(a[0] != b[0] for a, b in zip(after, before, strict=True)) >= 3, (before, after)

    canvas = diagram.locator(".pg-diagram-canvas").first
    inner = canvas.locator("canvas").last if canvas.evaluate("e => e.tagName") != "IMG" else canvas
    s = inner.bounding_box()["width"] / LAYOUT.width                     # CSS pixels per layout unit
    x, y = LAYOUT.corners[1][2] + D.TILE / 2                             # click layer 1, unit 3
    inner.click(position={"x": x * s, "y": y * s})
    expect(diagram.locator(".pg-diagram-zoom-label")).to_contain_text("layer 1, unit 3")
    expect(diagram.locator(".pg-diagram-zoom")).to_be_visible()
    expect(diagram.locator(".pg-diagram-zoom-label")).to_contain_text(re.compile(r"values [+-]\d\.\d{3} … [+-]\d"))

    px, py, h = steady_point()
    inner.hover(position={"x": px * s, "y": py * s})
    readout = diagram.locator(".pg-diagram-readout")
    expect(readout).to_contain_text(re.compile(
        rf"w\[{h.column + 1}\]\[{h.unit + 1}←{h.source + 1}\] = [+-]\d+\.\d{{3}}"))
    shot(f"{name}-diagram-zoom-and-weight", diagram)


def test_diagram_in_jupyterlab(page, lab_server, shot):
    try:
        lab_run_all(page, lab_server, "playground.ipynb", shot)
        check_diagram(page, shot, "lab")                                 # ipympl (the default here)
        page.get_by_role("button", name="Click to add a cell.").click()  # a new cell: the image canvas
        expect(page.locator(".jp-Notebook .jp-CodeCell")).to_have_count(2)
        page.locator(".jp-Notebook .jp-CodeCell").last.locator(".cm-content").click()
        page.keyboard.type("Playground(canvas='image')")
        page.keyboard.press("Shift+Enter")
        expect(page.locator(".pg-app")).to_have_count(2)
        expect(page.locator(".pg-app").nth(1).locator("img.pg-diagram-canvas")).to_have_count(1)
        check_diagram(page, shot, "lab-image", root=1)
    finally:
        shutdown_kernels(lab_server)


def test_diagram_in_voila(page, voila_server, shot):
    page.goto(f"{voila_server}/?token={TOKEN}", timeout=180_000)
    check_diagram(page, shot, "voila")
    shot("voila-diagram-page")
