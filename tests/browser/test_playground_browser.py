"""A person opens the playground in JupyterLab and in Voilà, presses Play, moves the learning
rate, presses Pause, exports, makes it diverge and resets — in headless Chromium. Every request
stays on 127.0.0.1 and the console has no error and no version-mismatch warning. Screenshots go to
tests/artifacts/."""

import json
import pathlib
import re
import time
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

expect.set_options(timeout=60_000)
ARTIFACTS = pathlib.Path(__file__).resolve().parents[1] / "artifacts"
TOKEN = "minidl-test-token"          # the servers' token (tests/browser/conftest.py)


def epoch(page):
    text = page.locator(".pg-epoch").inner_text()
    return int(re.search(r"epoch (\d+)", text).group(1))


FRAME_JS = """() => { const el = document.querySelector('.pg-boundary');
    if (!el) return null;
    if (el.tagName === 'IMG') return el.src;                  // canvas="image": a PNG per frame
    const c = el.querySelector('canvas');                     // ipympl: the figure's <canvas>
    return c && c.width > 0 ? c.toDataURL() : null; }"""


def frame(page):
    """The decision-boundary picture as a data URL, whichever canvas the app uses."""
    return page.evaluate(FRAME_JS)


def restore(base, nb):
    """Put the committed notebook back on the server (the servers live for the session; a test that added a
    cell to its copy, which JupyterLab autosaves, must not leave a second app for the next test)."""
    content = json.loads((pathlib.Path(__file__).resolve().parents[2] / "notebooks" / nb).read_text())
    body = json.dumps({"type": "notebook", "format": "json", "content": content}).encode()
    request = urllib.request.Request(f"{base}/api/contents/{nb}?token={TOKEN}", data=body, method="PUT",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).close()


def lab_run_all(page, base, nb, shot):
    restore(base, nb)
    page.goto(f"{base}/lab/tree/{nb}?token={TOKEN}&reset")
    expect(page.locator("#jp-main-statusbar")).to_contain_text(re.compile(r"\(ipykernel\) \| Idle"),
                                                               timeout=120_000)
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.locator("li[data-command='editmenu:clear-all']").click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator("li[data-command='runmenu:run-all']").click()
    try:
        page.wait_for_function("""() => {
            if (document.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
                return true;
            const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
            return p.length > 0 && p.every(t => /^\\[\\d+\\]:$/.test(t)); }""", timeout=180_000)
    except PlaywrightTimeoutError:
        shot(f"FAILED-run-all-{nb[:-6]}")
        pytest.fail(f"Run All did not finish: {page.locator('.jp-InputPrompt').all_text_contents()}")
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.all_text_contents()


def shutdown_kernels(base):
    with urllib.request.urlopen(f"{base}/api/sessions?token={TOKEN}") as r:
        for s in json.load(r):
            urllib.request.urlopen(urllib.request.Request(
                f"{base}/api/sessions/{s['id']}?token={TOKEN}", method="DELETE")).close()


def report_rate(page, name, seconds=3.0):
    """Epochs per second as the page shows them, while training: written to tests/artifacts/, never asserted."""
    start, first = time.monotonic(), epoch(page)
    page.wait_for_timeout(seconds * 1000)
    rate = (epoch(page) - first) / (time.monotonic() - start)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "browser-epochs-per-second.txt", "a") as f:
        f.write(f"{name}: {rate:.1f} epochs/s shown in the page (kernel and Chromium on the same machine)\n")


def play_check_pause(page, shot, name):
    """Play: the epoch counter rises and the picture changes; lr slider moves; Pause: the counter stops."""
    app = page.locator(".pg-app").first
    expect(app).to_be_visible()
    app.scroll_into_view_if_needed()
    expect(page.locator(".pg-epoch").first).to_contain_text("epoch 0")
    try:
        page.wait_for_function(FRAME_JS)
    except PlaywrightTimeoutError:
        shot(f"FAILED-no-frame-{name}")
        html = page.evaluate("() => (document.querySelector('.pg-boundary') || {outerHTML: 'no .pg-boundary'})"
                             ".outerHTML.slice(0, 600)")
        pytest.fail(f"no decision-boundary frame appeared; the element: {html}")
    page.wait_for_timeout(500)                                        # let the first frame land
    before = frame(page)
    shot(f"{name}-before", app)

    page.locator(".pg-play").first.click()
    page.wait_for_function("() => /epoch ([1-9]\\d*)/.test(document.querySelector('.pg-epoch').innerText)")
    first = epoch(page)
    page.wait_for_function(f"() => +document.querySelector('.pg-epoch').innerText.match(/epoch (\\d+)/)[1] > {first}")
    page.wait_for_function(f"old => ({FRAME_JS})() !== old", arg=before)

    handle = page.locator(".pg-lr .noUi-handle").first                # learning rate: one step up, live
    handle.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator(".pg-lr .widget-readout").first).to_have_text("0.1259")
    rising = epoch(page)
    page.wait_for_function(f"() => +document.querySelector('.pg-epoch').innerText.match(/epoch (\\d+)/)[1] > {rising}")
    report_rate(page, name)

    page.locator(".pg-play").first.click()                            # Pause
    expect(page.locator(".pg-play").first).to_have_text(re.compile("Play"))
    page.wait_for_timeout(500)
    stopped = epoch(page)
    page.wait_for_timeout(1500)
    assert epoch(page) == stopped, "the epoch counter kept rising after Pause"
    assert stopped > first
    expect(page.locator(".pg-metrics").first).to_contain_text(re.compile(r"test error \d+\.\d%"))
    shot(f"{name}-after", app)
    return stopped


def watch(page):
    """Lists that fill while the page runs: requests to any host but 127.0.0.1, and console errors and warnings."""
    offsite, console = [], []
    page.on("request", lambda r: offsite.append(r.url) if urllib.parse.urlparse(r.url).hostname not in (
        "127.0.0.1", None) and not r.url.startswith(("data:", "blob:")) else None)
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("response", lambda r: console.append(f"http {r.status}: {r.url}") if r.status >= 400 else None)
    return offsite, console


MISMATCH = re.compile(r"version|mismatch|semver|satisf", re.I)


def check_the_page_was_quiet(offsite, console):
    assert offsite == [], f"requests left 127.0.0.1: {offsite}"
    mismatches = [m for m in console if MISMATCH.search(m)]
    assert mismatches == [], f"{len(mismatches)} version warnings in the console, e.g. {mismatches[:3]}"
    errors = [m for m in console if m.startswith(("error", "http"))]
    assert errors == [], f"console errors: {errors[:5]}"


def labels_read_well(page):
    """The controls say what they are and show numbers as written by hand; a button shows its whole label."""
    expect(page.locator(".pg-loss").first).to_contain_text("loss")
    expect(page.locator(".pg-lr .widget-readout").first).to_have_text("0.1")


def export_diverge_reset(page, shot, name, stopped):
    """Export after training; diverge (lr 10); Reset: the curves' axes and the Export box start again."""
    page.locator(".pg-app .lm-AccordionPanel-title, .pg-app .p-Accordion-title, .pg-app .jupyter-widget-Collapse-header"
                 ).filter(has_text="Export").first.click()
    button = page.locator(".pg-export").first
    button.click()
    code = page.locator(".pg-code textarea").first
    expect(code).to_have_value(re.compile(r"momentum=0\.9,"))
    assert "0000000" not in code.input_value(), code.input_value()
    expect(page.locator(".pg-download").first).to_contain_text(f"epoch {stopped}")
    clipped = button.evaluate("b => b.scrollWidth > b.clientWidth")
    assert not clipped, f"the export button's label is cut: {button.inner_text()!r}"
    shot(f"{name}-export")                                             # the page, scrolled to the export

    handle = page.locator(".pg-lr .noUi-handle").first                # 0.1259 -> 10: 19 steps of 10^0.1
    handle.focus()
    for _ in range(19):
        page.keyboard.press("ArrowRight")
    expect(page.locator(".pg-lr .widget-readout").first).to_have_text("10")
    page.locator(".pg-play").first.click()
    expect(page.locator(".pg-message").first).to_contain_text("diverged", timeout=60_000)
    expect(page.locator(".pg-message").first).to_contain_text("(lr=10)")       # the slider's value reached the run
    page.wait_for_timeout(800)                                        # the last frame lands
    shot(f"{name}-diverged", page.locator(".pg-boundary").first)

    page.locator(".pg-reset").first.click()
    expect(page.locator(".pg-epoch").first).to_contain_text("epoch 0")
    expect(code).to_have_value("")
    expect(page.locator(".pg-download").first).to_have_text("")
    page.wait_for_timeout(800)
    shot(f"{name}-reset", page.locator(".pg-boundary").first)


def press(page, css, key, times):
    handle = page.locator(f"{css} .noUi-handle").first
    handle.focus()
    for _ in range(times):
        page.keyboard.press(key)


def spiral_preset_rate(page, shot, name):
    """Notebook 10's heaviest preset, set as a person would (spiral, 4 layers of 32, Tanh, Adam, lr 0.01),
    trained for a while: its epochs per second go to tests/artifacts/browser-epochs-per-second.txt."""
    page.locator(".pg-dataset select").first.select_option("spiral")
    page.locator(".pg-activation select").first.select_option("Tanh")
    page.locator(".pg-optimizer select").first.select_option("Adam")
    press(page, ".pg-layers", "ArrowRight", 1)
    expect(page.locator(".pg-width-4").first).to_be_visible()
    for i in range(1, 5):
        press(page, f".pg-width-{i}", "ArrowRight", 7)
        expect(page.locator(f".pg-width-{i} .widget-readout").first).to_have_text("32")
    press(page, ".pg-lr", "ArrowLeft", 30)                           # 10 -> 0.01
    expect(page.locator(".pg-lr .widget-readout").first).to_have_text("0.01")
    page.wait_for_timeout(1000)                                        # the kernel has applied every change
    for attempt in range(3):          # on a loaded machine a width change may reach the kernel after Play, and
        page.locator(".pg-play").first.click()          # the new network it builds starts paused: Play again
        try:
            expect(page.locator(".pg-play").first).to_have_text(re.compile("Pause"), timeout=20_000)
            break
        except AssertionError:
            if attempt == 2:
                shot(f"FAILED-{name}-spiral", page.locator(".pg-app").first)
                raise
    try:
        page.wait_for_function("() => /epoch ([1-9]\\d*)/.test(document.querySelector('.pg-epoch').innerText)")
    except (AssertionError, PlaywrightTimeoutError):
        shot(f"FAILED-{name}-spiral", page.locator(".pg-app").first)
        raise
    report_rate(page, f"{name} spiral 4x32 Tanh Adam", seconds=5.0)
    page.locator(".pg-play").first.click()
    expect(page.locator(".pg-play").first).to_have_text(re.compile("Play"))
    shot(f"{name}-spiral", page.locator(".pg-boundary").first)


def test_playground_in_jupyterlab(page, lab_server, shot):
    offsite, console = watch(page)
    try:
        lab_run_all(page, lab_server, "playground.ipynb", shot)
        labels_read_well(page)
        stopped = play_check_pause(page, shot, "lab-playground")
        export_diverge_reset(page, shot, "lab-playground", stopped)
        shot("lab-playground-page")
        check_the_page_was_quiet(offsite, console)
    finally:
        shutdown_kernels(lab_server)


def test_activation_widget_renders_in_jupyterlab(page, lab_server, shot):
    try:
        lab_run_all(page, lab_server, "03_activations.ipynb", shot)
        dropdown = page.locator(".nb03-activation select").first
        expect(dropdown).to_be_visible()
        status = page.locator(".nb03-status").first
        for name in ("Sigmoid", "Tanh"):              # the kernel answers each choice
            dropdown.select_option(name)
            expect(status).to_contain_text(f"{name}: max")
        shot("lab-activations", page.locator(".nb03-plot").first)
    finally:
        shutdown_kernels(lab_server)


def test_playground_in_voila(page, voila_server, voila_server_without_ipympl, shot):
    """The app page (notebooks/playground.ipynb): the app and its help, no notebook internals; and where the
    page cannot draw ipympl's canvas, the app shows the figure as images by itself (fallback.py)."""
    offsite, console = watch(page)
    page.goto(f"{voila_server}/?token={TOKEN}", timeout=180_000)   # Voilà runs the notebook first
    expect(page.locator("h1").first).to_contain_text("minidl playground")
    labels_read_well(page)
    epochs = play_check_pause(page, shot, "voila-playground")
    assert epochs > 1
    export_diverge_reset(page, shot, "voila-playground", epochs)
    spiral_preset_rate(page, shot, "voila-playground")
    shot("voila-playground-page")
    text = page.locator("body").inner_text()
    for internal in ("def ", "_train_loop", "Run all", "make ", "self-check"):
        assert internal not in text, f"the app page shows notebook internals: {internal!r}"
    assert "ringed in black" in text and "Notebook 10" in text
    check_the_page_was_quiet(offsite, console)

    page.goto(f"{voila_server_without_ipympl}/?token={TOKEN}", timeout=180_000)
    image = page.locator("img.pg-boundary").first                    # in the canvas's place, after 8 s
    expect(image).to_be_visible()
    expect(page.locator(".pg-message").first).to_contain_text("shown as images")
    before = image.get_attribute("src")
    page.locator(".pg-step").first.click()
    expect(page.locator(".pg-epoch").first).to_contain_text("epoch 1")
    page.wait_for_function("old => document.querySelector('img.pg-boundary').src !== old", arg=before)
    shot("voila-playground-no-ipympl", page.locator(".pg-app").first)
