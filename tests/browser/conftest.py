"""JupyterLab and Voilà servers for the browser tests: 127.0.0.1 only, a token, stopped by the fixture.

Adapted from ../shared/recipes/browser-tests. The browser is Debian's chromium (`make browser`);
Playwright never downloads its own.
"""

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "tests" / "artifacts"
ETC = ROOT / "etc" / "jupyter"                # the app page's Voilà template and settings
TOKEN = "minidl-test-token"          # test_playground_browser.py uses the same


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)     # the server and the kernels it started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _serve(tmp, args, ready_path, notebooks, any_http_status=False, timeout=120, env=None):
    root = tmp / "root"
    root.mkdir()
    for nb in notebooks:                          # serve copies: the server may autosave
        shutil.copy(NOTEBOOKS / nb, root / nb)
    settings = {"@jupyterlab/apputils-extension/notification":
                {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
                "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}
    for plugin, value in settings.items():
        f = tmp / "settings" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
           "IPYTHONDIR": str(tmp / "ipython"), "JUPYTER_PLATFORM_DIRS": "1", **(env or {})}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "server.log"
    proc = subprocess.Popen([sys.executable, "-m", *args, "--no-browser", f"--port={port}"], cwd=root, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{args[0]} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + ready_path, timeout=3) as r:
                if r.status == 200:
                    return proc, base
        except urllib.error.HTTPError:
            if any_http_status:
                return proc, base
        except OSError:
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"{args[0]} not ready in {timeout}s:\n{log.read_text()[-3000:]}")
        time.sleep(0.25)


LAB_NOTEBOOKS = ["10_playground.ipynb", "03_activations.ipynb", "playground.ipynb"]


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    args = ["jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={TOKEN}",
            f"--ServerApp.root_dir={tmp / 'root'}", "--ServerApp.terminals_enabled=False",
            "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    proc, base = _serve(tmp, args, f"/api/status?token={TOKEN}", LAB_NOTEBOOKS)
    yield base
    _stop(proc)


@pytest.fixture(scope="session")
def voila_server(tmp_path_factory):
    """The app page, as `make playground` serves it: notebooks/playground.ipynb with the minidl template
    (etc/jupyter/voila/templates/minidl: no stylesheet from a CDN), found through JUPYTER_PATH, and the settings
    of etc/jupyter/voila.json (only the widget extensions the app uses), found through JUPYTER_CONFIG_PATH."""
    args = ["voila", "playground.ipynb", "--Voila.ip=127.0.0.1", f"--token={TOKEN}"]
    proc, base = _serve(tmp_path_factory.mktemp("voila"), args, "/voila/static/", ["playground.ipynb"],
                        any_http_status=True, env={"JUPYTER_PATH": str(ETC), "JUPYTER_CONFIG_PATH": str(ETC)})
    yield base
    _stop(proc)


@pytest.fixture(scope="session")
def voila_server_without_ipympl(tmp_path_factory):
    """The app page in a Voilà that lacks ipympl's front end (jupyter-matplotlib left out of the extensions it
    loads), as on a server where only the Python package is installed: the app must switch to images."""
    allow = json.dumps(["@voila-dashboards/widgets-manager8", "@jupyter-widgets/jupyterlab-manager", "ipyevents"])
    args = ["voila", "playground.ipynb", "--Voila.ip=127.0.0.1", f"--token={TOKEN}",
            f"--VoilaConfiguration.extension_allowlist={allow}"]
    proc, base = _serve(tmp_path_factory.mktemp("voila-no-ipympl"), args, "/voila/static/", ["playground.ipynb"],
                        any_http_status=True, env={"JUPYTER_PATH": str(ETC), "JUPYTER_CONFIG_PATH": str(ETC)})
    yield base
    _stop(proc)


@pytest.fixture
def shot(page):
    """Save a screenshot under tests/artifacts/ (a test artifact: look at it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name, locator=None):
        path = ARTIFACTS / f"{name}.png"
        (locator or page).screenshot(path=path)
        return path
    return take
