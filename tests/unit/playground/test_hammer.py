"""The hammer (issue 14): 200 random changes of every control of the app and its panels while it trains
leave exactly one training task and a run that is what the controls show.

Every widget with a pg-* class is found in the app's widget tree, so a control added later is hammered
too; sliders get values across their range, buttons are clicked (Play, Step, Reset, the race, copy/apply
setup), the panels' sections are opened and closed."""

import asyncio
import random

import ipywidgets as W
from playground_async import run

from minidl.framework.layers import Linear
from minidl.framework.optim import Adam
from minidl.playground import Playground
from minidl.playground.controls import as_shown
from minidl.playground.diagram_panel import FRAME_TASK

LEFT_ALONE = {"pg-upload", "pg-code", "pg-log", "pg-setup"}   # a file dialog; text boxes (tested in test_share)


def controls(app):
    """(pg-name, widget) of every control under app.widget that a person can change or click."""
    found, stack = [], [app.widget]
    while stack:
        w = stack.pop()
        stack.extend(getattr(w, "children", ()))
        names = [c for c in getattr(w, "_dom_classes", ()) if c.startswith("pg-")]
        if names and names[0] not in LEFT_ALONE and (isinstance(w, W.Button) or hasattr(w, "value")) \
                and not isinstance(w, (W.HTML, W.Label, W.Image, W.Output, W.Textarea)):
            found.append((names[0], w))
    return found


def sections(app):
    out, stack = [], [app.widget]
    while stack:
        w = stack.pop()
        stack.extend(getattr(w, "children", ()))
        if isinstance(w, W.Accordion):
            out.append(w)
    return out


def change(rng, w):
    """A random value a person could give ``w`` (the widget clamps or refuses what it must)."""
    if isinstance(w, W.Button):
        w.click()
    elif isinstance(w, (W.Dropdown, W.ToggleButtons, W.SelectionSlider, W.RadioButtons)):
        option = rng.choice(list(w.options))
        w.value = option[1] if isinstance(option, tuple) else option
    elif isinstance(w, W.Checkbox):
        w.value = not w.value
    elif isinstance(w, W.FloatLogSlider):
        w.value = w.base ** rng.uniform(w.min, w.max)
    elif isinstance(w, (W.IntSlider, W.BoundedIntText, W.IntText)):
        lo, hi = getattr(w, "min", 0), getattr(w, "max", 100)
        w.value = rng.randint(lo, min(hi, lo + 60))
    elif isinstance(w, (W.FloatSlider, W.BoundedFloatText, W.FloatText)):
        w.value = rng.uniform(getattr(w, "min", 0.0), getattr(w, "max", 1.0))


def test_200_random_changes_of_every_control_leave_one_task_and_a_consistent_run():
    app = Playground(canvas="image", query="")
    rng = random.Random(14)
    hammered = set()

    async def scenario():
        for k in range(200):
            if k % 10 == 0:
                section = rng.choice(sections(app))
                section.selected_index = None if section.selected_index == 0 else 0
            if not app.running and rng.random() < 0.3:
                app.play.click()
            name, widget = rng.choice(controls(app))
            if k % 20 == 0 and app.race is not None:            # the collisions that matter, for sure:
                name, widget = "pg-race-start", app.race.start_button   # the race while the app trains,
            elif k % 20 == 1:
                name, widget = "pg-play", app.play                # Play while the race runs
            if widget.disabled:
                continue
            hammered.add(name)
            change(rng, widget)
            for _ in range(rng.choice([0, 0, 1, 3])):
                await asyncio.sleep(0.002)                     # let a slice or a race turn run
            # the app's task or the race's, never both (a cancelled one ends at its next await, training nothing;
            # a diagram frame drawn in turns is a task too, that draws and never trains)
            alive = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.cancelling()
                     and t.get_name() != FRAME_TASK]
            assert len(alive) <= 1, (name, alive)
        app.pause()
        if app.race is not None:
            app.race.pause()
        while app._task is not None or (app.race is not None and app.race._task is not None):
            await asyncio.sleep(0.005)
    run(scenario())

    assert len(hammered) >= 30, sorted(hammered)                 # the hammer reached most controls
    assert "Error" not in app.status.value, app.status.value
    d = app.run.data
    assert d.classes == app.n_classes() and d.width == len(app.feature_names())
    linears = [m for m in app.model if isinstance(m, Linear)]
    hidden = [w.value for w in app.widths[:app.layers.value]]
    assert [m.weight.shape[1] for m in linears] == [d.width, *hidden]
    assert [m.weight.shape[0] for m in linears] == [*hidden, d.classes]
    assert isinstance(app.optim, Adam) == (app.optimizer.value == "Adam")
    assert app.run.base_lr == as_shown(app.lr)
    group = app.optim.param_groups[0]
    assert (group["weight_decay"], group["l1"]) == (app.l2.value, app.l1.value)
    frame = app.frame()                                          # and it still draws
    assert frame.boundary.shape[2] == d.classes
    app.redraw(frame)
