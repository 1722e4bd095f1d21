"""Editing the data by hand and sharing a setup, in headless Chromium: clicks on the decision boundary
add and erase points (ipympl canvas, then the image canvas through ipyevents), "copy setup" then
"apply" restores the controls; in Voilà the URL's query sets the controls, and ?setup= the edited data."""

import re
import urllib.parse

from playwright.sync_api import expect

from minidl.playground.editing import axes_position
from minidl.playground.views import Views
from tests.browser.test_playground_browser import FRAME_JS, TOKEN, lab_run_all, shutdown_kernels


def boundary_spot(box, x, y, n_linear=4):
    """The page position of data point (x, y) on a boundary picture drawn in ``box`` (the app's layout)."""
    views = Views(n_linear, "image")
    views.draw()                                  # imshow's equal aspect shrinks the Axes when drawn
    left, bottom, width, height = axes_position(views.ax_boundary, views.fig)
    fx, fy = left + x * width, bottom + y * height
    return box["x"] + fx * box["width"], box["y"] + (1 - fy) * box["height"]


PIXELS_JS = "el => el.tagName === 'IMG' ? el.src : el.toDataURL()"     # the picture: a PNG, or ipympl's canvas


def edited(app):
    return app.locator(".pg-edited").first


def click_with(page, key, at):
    page.keyboard.down(key)
    try:
        page.mouse.click(*at)
    finally:
        page.keyboard.up(key)


def click_and_check(page, app, target, shot, name):
    """Click, shift-click, ctrl-click on the boundary picture ``target``: +1, +1 (next class), -1 points."""
    target.scroll_into_view_if_needed()
    handle = target.element_handle()
    before = handle.evaluate(PIXELS_JS)
    page.mouse.click(*boundary_spot(target.bounding_box(), 0.15, 0.85))
    expect(edited(app)).to_contain_text(re.compile(r"edited by hand: \d+ training points \(\+1 −0\)"))
    page.wait_for_function(f"([el, old]) => ({PIXELS_JS})(el) !== old", arg=[handle, before])   # the point drawn
    click_with(page, "Shift", boundary_spot(target.bounding_box(), 0.85, 0.15))     # the message moved it
    expect(edited(app)).to_contain_text("(+2 −0)")
    expect(app.locator(".pg-message").first).to_contain_text("added a point of class 1 at (0.85, 0.15)")
    shot(f"{name}-added", target)
    click_with(page, "Control", boundary_spot(target.bounding_box(), 0.15, 0.85))
    expect(edited(app)).to_contain_text("(+2 −1)")
    expect(app.locator(".pg-message").first).to_contain_text("erased a point at (0.15, 0.85)")
    return int(re.search(r"(\d+) training points", edited(app).inner_text()).group(1))


def test_edit_and_share_in_jupyterlab(page, lab_server, shot):
    try:
        lab_run_all(page, lab_server, "playground.ipynb", shot)
        app = page.locator(".pg-app").first
        expect(app).to_be_visible()
        page.wait_for_function(FRAME_JS)
        canvas = app.locator(".pg-boundary canvas").first                     # ipympl: the figure
        n = click_and_check(page, app, canvas, shot, "lab-edit")
        assert n == 501                                                       # 500 training points + 1

        app.get_by_text("Share this setup", exact=True).first.click()
        app.locator(".pg-share").first.click()
        setup = app.locator(".pg-setup textarea").first
        expect(setup).to_have_value(re.compile(r"^md1\.[A-Za-z0-9_-]+$"))
        app.locator(".pg-dataset select").first.select_option("xor")          # changes the data: edits dropped
        expect(edited(app)).not_to_contain_text("edited by hand")
        handle = app.locator(".pg-lr .noUi-handle").first
        handle.focus()
        page.keyboard.press("ArrowLeft")
        expect(app.locator(".pg-lr .widget-readout").first).to_have_text(re.compile(r"^0\.07943$"))
        app.locator(".pg-setup-apply").first.click()
        expect(app.locator(".pg-message").first).to_have_text("setup applied")
        expect(app.locator(".pg-dataset select").first).to_have_value("disk")
        expect(app.locator(".pg-lr .widget-readout").first).to_have_text(re.compile(r"^0\.10*$"))
        expect(edited(app)).to_contain_text("edited by hand: 501 training points")
        page.evaluate("() => document.querySelector('.pg-app').scrollIntoView()")
        shot("lab-share-applied")

        # the image canvas (no front-end extension): clicks come through ipyevents
        page.locator(".jp-Cell .jp-InputPrompt").last.click()
        page.keyboard.press("Escape")
        page.keyboard.press("b")
        page.keyboard.press("Enter")
        page.keyboard.type('app2 = Playground(canvas="image"); app2')
        page.keyboard.press("Shift+Enter")
        app2 = page.locator(".pg-app").nth(1)
        image = app2.locator("img.pg-boundary").first
        expect(image).to_be_visible()
        n2 = click_and_check(page, app2, image, shot, "lab-edit-image")
        assert n2 == 501
    finally:
        shutdown_kernels(lab_server)


def test_url_sets_up_the_app_in_voila(page, voila_server, shot):
    page.goto(f"{voila_server}/?token={TOKEN}&dataset=spiral&lr=0.03&layers=4", timeout=180_000)
    app = page.locator(".pg-app").first
    expect(app).to_be_visible()
    expect(app.locator(".pg-dataset select").first).to_have_value("spiral")
    expect(app.locator(".pg-lr .widget-readout").first).to_have_text("0.03162")
    expect(app.locator(".pg-layers .widget-readout").first).to_have_text("4")
    page.wait_for_function(FRAME_JS)
    page.evaluate("() => document.querySelector('.pg-app').scrollIntoView()")
    shot("voila-url-spiral")
    canvas = app.locator(".pg-boundary canvas").first
    canvas.scroll_into_view_if_needed()
    page.mouse.click(*boundary_spot(canvas.bounding_box(), 0.5, 0.5, n_linear=5))
    expect(edited(app)).to_contain_text("(+1 −0)")
    count = re.search(r"(\d+) training points", edited(app).inner_text()).group(1)

    app.get_by_text("Share this setup", exact=True).first.click()
    app.locator(".pg-share").first.click()
    setup = app.locator(".pg-setup textarea").first
    expect(setup).to_have_value(re.compile(r"^md1\."))
    text = setup.input_value()

    page.goto(f"{voila_server}/?token={TOKEN}&setup={urllib.parse.quote(text)}", timeout=180_000)
    app = page.locator(".pg-app").first
    expect(app).to_be_visible()
    expect(app.locator(".pg-dataset select").first).to_have_value("spiral")
    expect(app.locator(".pg-lr .widget-readout").first).to_have_text("0.03162")
    expect(edited(app)).to_contain_text(f"edited by hand: {count} training points")
    page.wait_for_function(FRAME_JS)
    page.evaluate("() => document.querySelector('.pg-app').scrollIntoView()")
    shot("voila-url-setup")
