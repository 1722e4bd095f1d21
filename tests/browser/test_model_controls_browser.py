"""The model controls in a real page (JupyterLab and Voilà, headless Chromium): spiral with 4 classes,
an input feature, cross-entropy, stop at epoch N, Play: training stops there by itself, the boundary
shows the 4 classes' colours, the confusion matrix is a 4×4 table. Screenshots go to tests/artifacts/."""

import base64
import io
import re

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from minidl.playground.colours import pale_colours
from tests.browser.test_playground_browser import ARTIFACTS, FRAME_JS, TOKEN, epoch, lab_run_all, shutdown_kernels

STOP = 200
K = 4


def class_shares(data_url):
    """The share of the boundary plot's pixels in each class's pale colour (colours.pale_colours: a sure region)."""
    png = base64.b64decode(data_url.split(",", 1)[1])
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float) / 255
    h, w, _ = rgb.shape
    crop = rgb[int(0.02 * h):int(0.53 * h), int(0.06 * w):int(0.47 * w)].reshape(-1, 3)   # the boundary axes
    return [float((np.abs(crop - c).max(axis=1) < 0.05).mean()) for c in pale_colours(K)]


def set_readout(page, css, value):
    """Type a value into a slider's editable readout (as a person would), Enter applies it."""
    readout = page.locator(f"{css} .widget-readout").first
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def model_controls_scenario(page, shot, name):
    app = page.locator(".pg-app").first
    expect(app).to_be_visible()
    app.scroll_into_view_if_needed()
    page.wait_for_function(FRAME_JS)
    expect(page.locator(".pg-classes input, .pg-classes .slider-container").first).to_be_attached()
    assert page.locator(".pg-confusion .pg-cm-cell").count() == 4            # disk: 2 classes

    page.locator(".pg-dataset select").first.select_option("spiral")
    expect(page.locator(".pg-notes").first).not_to_contain_text("classes:")   # spiral takes k
    set_readout(page, ".pg-classes", K)
    expect(page.locator(".pg-confusion .pg-cm-cell")).to_have_count(K * K)
    page.locator(".pg-feature-x1-2 input").first.check()
    page.locator(".pg-loss button", has_text="cross-entropy").first.click()
    stop = page.locator(".pg-stop-epoch input").first
    stop.fill(str(STOP))
    stop.press("Enter")
    expect(page.locator(".pg-message").first).to_have_text("")               # every change applied
    expect(page.locator(".pg-epoch").first).to_contain_text("epoch 0")
    page.wait_for_timeout(500)
    before = page.evaluate(FRAME_JS)

    page.locator(".pg-play").first.click()
    expect(page.locator(".pg-message").first).to_contain_text(f"stopped at epoch {STOP}", timeout=120_000)
    expect(page.locator(".pg-play").first).to_have_text(re.compile("Play"))
    # the message comes with the step that stopped; the epoch label with the last frame, drawn just after
    expect(page.locator(".pg-epoch").first).to_contain_text(re.compile(rf"epoch {STOP}\b"))
    page.wait_for_timeout(1000)
    assert epoch(page) == STOP, "training went on past the stop condition"
    expect(page.locator(".pg-epoch").first).to_contain_text("ms/epoch")
    page.wait_for_function("old => (" + FRAME_JS + ")() !== old", arg=before)
    page.wait_for_timeout(1000)                                                # the last frame lands

    shares = class_shares(page.evaluate(FRAME_JS))
    (ARTIFACTS / f"{name}-class-shares.txt").write_text(
        f"{name}: share of the boundary plot in each of the {K} classes' colours after {STOP} epochs: "
        + ", ".join(f"{s:.3f}" for s in shares) + "\n")
    assert all(s > 0.03 for s in shares), shares                               # 4 colours on the boundary
    counts = [int(t) for t in page.locator(".pg-confusion .pg-cm-cell").all_inner_texts()]
    assert len(counts) == K * K and sum(counts) > 0
    diagonal = sum(counts[i * K + i] for i in range(K))
    assert diagonal > 0.7 * sum(counts), counts                                # mostly right after training
    shot(f"{name}-model-controls", app)
    shot(f"{name}-confusion", page.locator(".pg-confusion").first)


def test_model_controls_in_jupyterlab(page, lab_server, shot):
    try:
        lab_run_all(page, lab_server, "playground.ipynb", shot)
        model_controls_scenario(page, shot, "lab")
    finally:
        shutdown_kernels(lab_server)


def test_model_controls_in_voila(page, voila_server, shot):
    page.goto(f"{voila_server}/?token={TOKEN}", timeout=180_000)
    model_controls_scenario(page, shot, "voila")
