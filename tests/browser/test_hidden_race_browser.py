"""The hidden-space view and the race in a real browser (JupyterLab and Voilà): open both panels, Play
changes the hidden-space picture; Start race pauses the app, draws a curve per racer, and the epochs
beside each racer rise. Screenshots go to tests/artifacts/."""

import re

from playwright.sync_api import expect

from tests.browser.test_playground_browser import TOKEN, lab_run_all, shutdown_kernels

RACERS = ("#222222", "#CC79A7", "#E69F00", "#56B4E9")     # race_picture.COLOURS: one per racer

SRC_JS = "sel => { const el = document.querySelector(sel + ' img') || document.querySelector('img' + sel); " \
         "return el && el.src ? el.src : null; }"

# pixels of each racer's colour in the loss plot (the top 55% of the race picture)
COUNT_JS = """async colours => {
    const img = document.querySelector('img.pg-race-plot');
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = Math.round(img.naturalHeight * 0.55);
    const g = c.getContext('2d'); g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const rgb = colours.map(h => [1, 3, 5].map(i => parseInt(h.slice(i, i + 2), 16)));
    const n = rgb.map(() => 0);
    for (let p = 0; p < d.length; p += 4)
        rgb.forEach((q, k) => { if (Math.abs(d[p] - q[0]) + Math.abs(d[p + 1] - q[1]) + Math.abs(d[p + 2] - q[2]) < 40)
            n[k]++; });
    return n; }"""


def src(page, css):
    return page.evaluate(SRC_JS, css)


def racer_epochs(page):
    for i in range(1, 5):
        expect(page.locator(f".pg-race-info-{i}").first).to_contain_text("epochs")
    return [int(re.search(r"(\d+) epochs", page.locator(f".pg-race-info-{i}").first.inner_text()).group(1))
            for i in range(1, 5)]


def panels_check(page, shot, name):
    app = page.locator(".pg-app").first
    expect(app).to_be_visible()
    expect(page.locator(".pg-epoch").first).to_contain_text("epoch 0")
    page.get_by_text("Hidden space: the data as a hidden layer sees it").first.click()
    page.get_by_text("Race: optimizers side by side").first.click()
    page.wait_for_function(SRC_JS, arg=".pg-hidden-plot")
    page.wait_for_function(SRC_JS, arg=".pg-race-plot")
    expect(page.locator(".pg-hidden-layer select").first).to_have_value(re.compile(r"\d"))
    page.locator(".pg-hidden-layer select").first.select_option(label="hidden 2")
    page.locator(".pg-hidden-y select").first.select_option(label="unit 3")
    expect(page.locator(".pg-hidden-note").first).to_contain_text("units 1 and 3 of hidden layer 2")
    page.wait_for_timeout(500)
    before = src(page, ".pg-hidden-plot")
    shot(f"{name}-hidden-before", page.locator(".pg-hidden").first)

    page.locator(".pg-play").first.click()                           # Play: the hidden space moves with training
    page.wait_for_function("() => /epoch ([1-9]\\d*)/.test(document.querySelector('.pg-epoch').innerText)")
    page.wait_for_function(f"old => ({SRC_JS})('.pg-hidden-plot') !== old", arg=before)
    expect(page.locator(".pg-hidden-note").first).not_to_contain_text("epoch 0:")
    shot(f"{name}-hidden-training", page.locator(".pg-hidden").first)

    baseline = page.evaluate(COUNT_JS, list(RACERS))                 # epoch 0: legend and titles only
    page.locator(".pg-race-start").first.click()                     # the race pauses the app
    expect(page.locator(".pg-race-start").first).to_have_text(re.compile("Pause race"))
    expect(page.locator(".pg-play").first).to_have_text(re.compile("Play"))
    page.wait_for_function("() => /(\\d+) epochs/.test(document.querySelector('.pg-race-info-4').innerText)")
    first = racer_epochs(page)
    page.wait_for_function("""first => [1, 2, 3, 4].every(i => +document.querySelector('.pg-race-info-' + i)
                                 .innerText.match(/(\\d+) epochs/)[1] > first[i - 1] + 5)""", arg=first)
    app_epoch = page.locator(".pg-epoch").first.inner_text()
    page.wait_for_timeout(1000)
    counts = page.evaluate(COUNT_JS, list(RACERS))
    assert all(c > b + 40 for c, b in zip(counts, baseline, strict=True)), (baseline, counts)   # 4 curves drawn
    assert page.locator(".pg-epoch").first.inner_text() == app_epoch, "the app trained during the race"
    shot(f"{name}-race", page.locator(".pg-race").first)

    page.locator(".pg-play").first.click()                           # Play stops the race
    expect(page.locator(".pg-race-start").first).to_have_text(re.compile("Start race"))
    stopped = racer_epochs(page)
    page.wait_for_timeout(1000)
    assert racer_epochs(page) == stopped
    page.locator(".pg-play").first.click()
    expect(page.locator(".pg-play").first).to_have_text(re.compile("Play"))
    page.locator(".pg-race").first.scroll_into_view_if_needed()
    shot(f"{name}-panels-page")


def test_hidden_space_and_race_in_jupyterlab(page, lab_server, shot):
    try:
        lab_run_all(page, lab_server, "playground.ipynb", shot)
        panels_check(page, shot, "lab")
    finally:
        shutdown_kernels(lab_server)


def test_hidden_space_and_race_in_voila(page, voila_server, shot):
    page.goto(f"{voila_server}/?token={TOKEN}", timeout=180_000)
    panels_check(page, shot, "voila")
