"""The app leaves the kernel's global settings as it found them (issue 12).

tests/conftest.py runs everything with one thread; here the kernel is set to values the app would
not choose (two threads, float64 default, grad off, a seeded global RNG) before an app is created,
trained (Step, Play, Dropout drawing masks, a reset that seeds, an upload, an export) and closed.
"""

import asyncio

import matplotlib
import pytest
import torch
from playground_async import run

from minidl.playground import Playground


def kernel():
    return {"threads": torch.get_num_threads(), "dtype": torch.get_default_dtype(), "grad": torch.is_grad_enabled(),
            "rng": torch.get_rng_state(), "rc": dict(matplotlib.rcParams)}


@pytest.fixture
def foreign_kernel():
    saved = kernel()
    torch.set_num_threads(2)
    torch.set_default_dtype(torch.float64)
    torch.set_grad_enabled(False)
    torch.manual_seed(1234)
    yield
    torch.set_num_threads(saved["threads"])
    torch.set_default_dtype(saved["dtype"])
    torch.set_grad_enabled(saved["grad"])
    torch.set_rng_state(saved["rng"])


def use_the_app():
    app = Playground(canvas="image")
    app.step_button.click()
    app.dropout.value = 0.2                      # a reset (seeds the weights), Dropout draws masks
    app.step()

    async def scenario():
        app.play.click()
        while app.epoch < 3:
            await asyncio.sleep(0.005)
        app.play.click()
        while app._task is not None:
            await asyncio.sleep(0.005)
    run(scenario())
    assert app.load_csv_bytes(b"x1,x2,label\n" + b"".join(b"%d,%d,%d\n" % (i % 7, i % 5, i % 2) for i in range(40)))
    app.step()
    app.export_code()
    return app


def test_creating_training_and_closing_an_app_changes_no_global_setting(foreign_kernel):
    before = kernel()
    app = use_the_app()
    assert app.model.parameters()[0].data.dtype == torch.float32     # the app's own dtype all the same
    app.close()
    after = kernel()
    for key in ("threads", "dtype", "grad", "rc"):
        assert after[key] == before[key], f"{key}: expected {before[key]!r:.100}, got {after[key]!r:.100}"
    assert torch.equal(after["rng"], before["rng"]), "the global RNG state changed"
    assert app._task is None and app.widget.comm is None


def test_the_apps_training_does_not_depend_on_the_kernels_random_draws():
    """Its RNG is its own: the kernel drawing numbers between two steps changes no Dropout mask."""
    apps = [Playground(canvas="image") for _ in range(2)]
    for app in apps:
        app.dropout.value = 0.3
        app.step()
    torch.rand(1000)                             # the kernel draws between the steps of one app only
    for app in apps:
        app.step()
    for p, q in zip(apps[0].model.parameters(), apps[1].model.parameters(), strict=True):
        assert torch.equal(p.data, q.data)
