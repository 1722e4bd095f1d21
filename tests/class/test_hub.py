"""A class on JupyterHub (issue 15): five learners on a real hub, in headless Chromium.

The fixture installs the proxy (configurable-http-proxy, `npm ci` from etc/class/hub/package-lock.json, cached
in build/class/hub-proxy/), makes a bare git repository of this checkout's HEAD, and starts JupyterHub on
127.0.0.1 with etc/class/hub/jupyterhub_config.py: a shared password, SimpleLocalProcessSpawner, a home per
learner under a temp dir, every single-user server this venv's `jupyterhub-singleuser` (minidl installed in it
in editable mode). Why not real Unix users: this venv's python is a symlink into /root/.pyenv, and /root is
mode 700, so a server run as another Unix user could not start it (docs/classroom.md).

Each learner, in their own browser context: opens the nbgitpuller link, logs in (the hub starts their server), gets
the collection pulled into their home and lands in JupyterLab on notebook 00, runs it all; then opens notebook
10, runs the cell that makes the playground and presses Play - one learner after another, each ~10 s of training,
so that no two playgrounds share the two cores. Measured (never asserted): RSS of each learner's
server + kernels at idle after notebook 00 and at its peak, the CPU share of a training playground. Written to
build/class/hub-measurements.json and .md, and printed; docs/classroom.md sizes a class from them.
"""

import asyncio
import json
import os
import pathlib
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import psutil
import pytest
import tomllib
from chromium import ARGS, CHROMIUM, require_chromium

ROOT = pathlib.Path(__file__).resolve().parents[2]
HUB_ETC = ROOT / "etc" / "class" / "hub"
PROXY_DIR = ROOT / "build" / "class" / "hub-proxy"          # npm ci --prefix here; kept between runs
OUT = ROOT / "build" / "class" / "hub-measurements"         # .json and .md
DOC = ROOT / "docs" / "classroom.md"
ARTIFACTS = ROOT / "tests" / "artifacts"                     # screenshots of a failed session
LEARNERS = ["ada", "alan", "grace", "emmy", "kurt"]
PASSWORD = "minidl-class-" + secrets.token_hex(4)
PLAY_SECONDS = 10.0                                           # training measured per learner
NB00 = "notebooks/00_welcome.ipynb"
NB10 = "notebooks/10_playground.ipynb"
COMMAND = ".venv/bin/python -m pytest tests/class/test_hub.py -x -q -s --durations=5"

# a hang guard: the hub and the class session took 242 s on the last landing and 347 s in make test beside the
# grading test (load 13-20); 600 s is the project's default (pyproject.toml)
pytestmark = pytest.mark.timeout(600)


def nbgitpuller_link(hub_url, repo, branch="main", notebook=NB00):
    """The link an instructor hands out: log in, start the server, pull `repo` into ~/<its name>/
    (nbgitpuller merges on later clicks, never overwriting the learner's edits), open `notebook` in JupyterLab."""
    target = repo.rstrip("/").split("/")[-1]
    query = urllib.parse.urlencode({"repo": repo, "branch": branch, "urlpath": f"lab/tree/{target}/{notebook}"},
                                   quote_via=urllib.parse.quote, safe="")
    return f"{hub_url}/hub/user-redirect/git-pull?{query}"


def repository_url():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


# -- the hub ------------------------------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proxy_command():
    """configurable-http-proxy from the npm registry, exactly as package-lock.json pins it (cached)."""
    binary = PROXY_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
    lock = (HUB_ETC / "package-lock.json").read_bytes()
    cached = PROXY_DIR / "package-lock.json"
    if binary.exists() and cached.exists() and cached.read_bytes() == lock:
        return binary
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm not found: the hub's proxy is installed from the npm registry (Node.js >= 20 with npm)")
    shutil.rmtree(PROXY_DIR, ignore_errors=True)
    PROXY_DIR.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(HUB_ETC / name, PROXY_DIR / name)
    run = subprocess.run([npm, "ci", "--prefix", str(PROXY_DIR), "--no-audit", "--no-fund"],
                         capture_output=True, text=True, timeout=300)
    if run.returncode != 0 or not binary.exists():
        shutil.rmtree(PROXY_DIR, ignore_errors=True)
        pytest.fail(f"npm ci of the proxy failed ({run.returncode}):\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return binary


def _git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


class Hub:
    def __init__(self, url, state, token, repo, head, log):
        self.url, self.state, self.token, self.repo, self.head, self.log = url, state, token, repo, head, log
        self.user_tokens = {}

    def api(self, path, method="GET", body=None, token=None):
        """The hub's REST API as the admin test service (or with `token`): (status, parsed JSON or None)."""
        return http(f"{self.url}/hub/api{path}", token or self.token, method, body)

    def home(self, name):
        return self.state / "home" / name

    def server_pid(self, name):
        status, user = self.api(f"/users/{name}")
        assert status == 200, (status, user)
        return user["servers"][""]["state"]["pid"]


def http(url, token, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"token {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, None
    except OSError:                                   # not listening (yet)
        return 0, None


def _lab_settings(home):
    """Every cell in the DOM (the test reads prompts), no news toast: as an instructor's skeleton home would."""
    settings = {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
                "@jupyterlab/apputils-extension/notification":
                    {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}}
    for plugin, value in settings.items():
        f = home / ".jupyter" / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))


def _stop(hub_proc):
    """SIGTERM to the hub (it stops the proxy and every single-user server), then whatever it started that is
    still alive - servers, kernels, the proxy - is killed by pid."""
    try:
        started = psutil.Process(hub_proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        started = []
    if hub_proc.poll() is None:
        hub_proc.send_signal(signal.SIGTERM)
        try:
            hub_proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            hub_proc.kill()
            hub_proc.wait(timeout=10)
    for p in started:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    gone, alive = psutil.wait_procs(started, timeout=10)
    for p in alive:
        p.kill()
    psutil.wait_procs(alive, timeout=10)
    return [p.pid for p in started]


def _running(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def hub():
    proxy = _proxy_command()
    state = pathlib.Path(tempfile.mkdtemp(prefix="minidl-hub-"))
    proc = None
    try:
        repo = state / "minidl"                                 # bare repository of HEAD, branch main
        _git("init", "-q", "--bare", "-b", "main", str(repo))
        head = _git("rev-parse", "HEAD", cwd=ROOT)            # this commit, even if HEAD moves meanwhile
        _git("push", "-q", str(repo), f"{head}:refs/heads/main", cwd=ROOT)
        for name in LEARNERS:
            _lab_settings(state / "home" / name)
        port = _free_port()
        token = secrets.token_hex(32)
        env = {**os.environ, "MINIDL_HUB_DIR": str(state), "MINIDL_HUB_PORT": str(port),
               "MINIDL_HUB_HUB_PORT": str(_free_port()), "MINIDL_HUB_PROXY_API_PORT": str(_free_port()),
               "MINIDL_HUB_PROXY": str(proxy), "MINIDL_HUB_PASSWORD": PASSWORD,
               "MINIDL_HUB_LEARNERS": ",".join(LEARNERS), "MINIDL_HUB_SERVICE_TOKEN": token,
               "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(32)}
        log = state / "hub.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(HUB_ETC / "jupyterhub_config.py")],
                                    cwd=state, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        h = Hub(f"http://127.0.0.1:{port}", state, token, f"file://{repo}", head, log)
        deadline = time.monotonic() + 90
        while http(f"{h.url}/hub/api/", token)[0] != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.25)
        for name in LEARNERS:
            status, tok = h.api(f"/users/{name}/tokens", "POST", {"note": "class test", "expires_in": 1800})
            assert status == 201, (status, tok)
            h.user_tokens[name] = tok["token"]
        yield h
    finally:
        pids = _stop(proc) if proc is not None else []
        leftover = [p for p in pids if _running(p)]
        shutil.rmtree(state, ignore_errors=True)
        assert not leftover, f"processes the hub started still run: {leftover}"


# -- measuring ----------------------------------------------------------------------------------------------

def _tree(pid):
    """A learner's single-user server and everything under it (kernels, their subprocesses)."""
    p = psutil.Process(pid)
    return [p, *p.children(recursive=True)]


def _kernels(pid):
    return [p for p in _tree(pid)[1:] if "ipykernel_launcher" in " ".join(p.cmdline())]


def _rss_mb(pid):
    total = 0
    for p in _tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def _pss_mb(pid):
    """Proportional set size: a page shared by k processes (torch's libraries in two kernels) counts 1/k."""
    total = 0
    for p in _tree(pid):
        try:
            total += p.memory_full_info().pss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def _cpu_seconds(procs):
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _machine_busy_seconds():
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)


def _our_browser():
    """This test's Chromium processes (under its Playwright driver, a child of this process)."""
    return [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name()]


def _kernel_of(hub, name, path):
    """The kernel process of the notebook at `path` in learner `name`'s server (sessions API, learner's token)."""
    status, sessions = http(f"{hub.url}/user/{name}/api/sessions", hub.user_tokens[name])
    assert status == 200, status
    kid = next(s["kernel"]["id"] for s in sessions if s["path"] == path)
    return next(p for p in _kernels(hub.server_pid(name)) if f"kernel-{kid}.json" in " ".join(p.cmdline()))


# -- the learners, in the browser ---------------------------------------------------------------------------

STDERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
ALL_RUN = """() => {
    if (document.querySelector(`STDERR`)) return true;
    const p = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
        .map(e => e.textContent.trim());
    return p.length > 0 && p.every(t => /^\\[\\d+\\]:$/.test(t)); }""".replace("STDERR", STDERR)
EPOCH_JS = ("() => +((document.querySelector('.pg-epoch') || {innerText: ''}).innerText"
            ".match(/epoch (\\d+)/) || [0, -1])[1]")


async def _kernel_idle(page):
    from playwright.async_api import expect
    await expect(page.locator("#jp-main-statusbar")).to_contain_text(re.compile(r"\(ipykernel\) \| Idle"),
                                                                      timeout=180_000)


async def _menu(page, menu, command):
    await page.get_by_role("menuitem", name=menu, exact=True).click()
    await page.locator(f"li[data-command='{command}']").click()


async def learner_setup(browser, hub, name, link, log):
    """Log in through the nbgitpuller link, launch the server, pull, run notebook 00 in JupyterLab."""
    t0 = time.monotonic()
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(link, timeout=120_000)          # not logged in: the login page; then the hub spawns the
                                                    # server (user-redirect goes through /hub/spawn), nbgitpuller
                                                    # pulls and redirects to notebook 00 in JupyterLab
    await page.fill("#username_input", name)
    await page.fill("#password_input", PASSWORD)
    await page.click("#login_submit")
    await page.wait_for_url(re.compile(rf"/user/{name}/lab/tree/minidl/{NB00}"), timeout=180_000)
    pulled = time.monotonic()
    await _kernel_idle(page)
    await _menu(page, "Edit", "editmenu:clear-all")
    await _menu(page, "Run", "runmenu:run-all")
    await page.wait_for_function(ALL_RUN, timeout=240_000)
    errors = await page.locator(STDERR).all_text_contents()
    ticks = await page.locator(".jp-OutputArea-output").filter(has_text="✓").count()
    log(f"{name}: pulled in {pulled - t0:.0f} s, notebook 00 run in {time.monotonic() - pulled:.0f} s")
    return {"context": context, "page": page, "nb00_errors": errors, "nb00_ticks": ticks,
            "seconds_to_pull": pulled - t0, "seconds_nb00": time.monotonic() - pulled}


async def open_playground(hub, name, learner):
    """Open notebook 10 from JupyterLab's file browser, clear its saved outputs, run the cell that makes the app."""
    from playwright.async_api import expect
    page = learner["page"]
    await page.locator(".jp-DirListing-item", has_text="10_playground.ipynb").dblclick()
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    await expect(page.locator(".lm-TabBar-tab.lm-mod-current", has_text="10_playground")).to_be_visible(
        timeout=120_000)
    await _kernel_idle(page)
    await _menu(page, "Edit", "editmenu:clear-all")
    cell = panel.locator(".jp-CodeCell").filter(has_text="app = Playground()").first     # the app's cell
    await cell.locator(".jp-InputPrompt").click()                         # select it (command mode)
    await expect(cell).to_have_class(re.compile(r"\bjp-mod-active\b"))
    await _menu(page, "Run", "runmenu:run")                               # Run Selected Cell
    await expect(page.locator(".pg-epoch").first).to_contain_text("epoch 0", timeout=180_000)
    await expect(page.locator(".pg-play").first).to_be_visible()


async def play(hub, name, learner, log):
    """Press Play, measure ~PLAY_SECONDS of training alone (kernel CPU per wall second, RSS), press Pause."""
    from playwright.async_api import expect
    page = learner["page"]
    kernel = _kernel_of(hub, name, f"minidl/{NB10}")
    server = psutil.Process(hub.server_pid(name))
    await page.locator(".pg-play").first.click()
    await expect(page.locator(".pg-play").first).to_have_text(re.compile("Pause"))
    await page.wait_for_function(f"() => ({EPOCH_JS})() >= 1", timeout=60_000)
    browser = _our_browser()
    e0, t0, k0, s0 = await page.evaluate(EPOCH_JS), time.monotonic(), _cpu_seconds([kernel]), _cpu_seconds([server])
    m0, b0 = _machine_busy_seconds(), _cpu_seconds(browser)
    peak = 0.0
    while time.monotonic() - t0 < PLAY_SECONDS:
        await asyncio.sleep(1.0)
        peak = max(peak, _rss_mb(server.pid))
    e1, t1, k1, s1 = await page.evaluate(EPOCH_JS), time.monotonic(), _cpu_seconds([kernel]), _cpu_seconds([server])
    m1, b1 = _machine_busy_seconds(), _cpu_seconds(browser)
    await page.locator(".pg-play").first.click()                          # Pause
    await expect(page.locator(".pg-play").first).to_have_text(re.compile("Play"))
    wall = t1 - t0
    log(f"{name}: epochs {e0} -> {e1} in {wall:.1f} s, kernel CPU {(k1 - k0) / wall:.2f} s/s, "
        f"Chromium {(b1 - b0) / wall:.2f} s/s, machine busy {(m1 - m0) / wall:.2f} of {psutil.cpu_count()} cores")
    return {"epoch_start": e0, "epoch_end": e1, "wall_seconds": wall, "epochs_per_second": (e1 - e0) / wall,
            "kernel_cpu_share": (k1 - k0) / wall, "server_cpu_share": (s1 - s0) / wall,
            "browser_cpu_share": (b1 - b0) / wall,       # this test's Chromium, drawing the frames
            "machine_busy_cores": (m1 - m0) / wall,      # everything: kernel, server, Chromium, other jobs
            "peak_rss_mb_training": peak}


async def probe_other_server(learner, hub, other):
    """Learner's own browser (their cookies) asks for `other`'s JupyterLab and contents API."""
    page, request = learner["page"], learner["context"].request
    api = await request.get(f"{hub.url}/user/{other}/api/contents", max_redirects=10)
    lab = await page.goto(f"{hub.url}/user/{other}/lab", timeout=60_000)
    return {"api_status": api.status, "lab_status": lab.status, "lab_url": page.url,
            "lab_text": (await page.locator("body").inner_text())[:300]}


async def class_session(hub, log):
    from playwright.async_api import async_playwright
    link = nbgitpuller_link(hub.url, hub.repo)
    result = {"link": link, "learners": {name: {} for name in LEARNERS}, "phases": {}}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            t = time.monotonic()
            learners = dict(zip(LEARNERS, await asyncio.gather(
                *(learner_setup(browser, hub, name, link, log) for name in LEARNERS)), strict=True))
            result["phases"]["login, pull, notebook 00 (five at once)"] = time.monotonic() - t
            await asyncio.sleep(3)                                        # idle: outputs sent, kernels quiet
            for name in LEARNERS:
                pid = hub.server_pid(name)
                r = result["learners"][name]
                r.update({k: v for k, v in learners[name].items() if k not in ("context", "page")})
                r["server_pid"] = pid
                r["kernels_after_nb00"] = len(_kernels(pid))
                r["idle_rss_mb_after_nb00"] = _rss_mb(pid)
                r["idle_pss_mb_after_nb00"] = _pss_mb(pid)

            t = time.monotonic()
            await asyncio.gather(*(open_playground(hub, name, learners[name]) for name in LEARNERS))
            result["phases"]["open notebook 10, run the app (five at once)"] = time.monotonic() - t
            await asyncio.sleep(2)
            for name in LEARNERS:
                pid = hub.server_pid(name)
                result["learners"][name]["idle_rss_mb_with_playground"] = _rss_mb(pid)
                result["learners"][name]["idle_pss_mb_with_playground"] = _pss_mb(pid)

            t = time.monotonic()
            for name in LEARNERS:                                         # Play one learner after another
                result["learners"][name].update(await play(hub, name, learners[name], log))
            result["phases"]["Play, ~10 s each, one after another"] = time.monotonic() - t

            a, b = LEARNERS[0], LEARNERS[1]
            result["cookie_probe"] = {"from": a, "to": b, **await probe_other_server(learners[a], hub, b)}
        except Exception:                                                 # a failure, not a cancel (Ctrl-C)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for i, context in enumerate(browser.contexts):             # what each learner saw, for the failure
                for page in context.pages:
                    try:
                        await page.screenshot(path=ARTIFACTS / f"hub-FAILED-context-{i}.png", timeout=10_000)
                    except Exception:
                        pass
            raise
        finally:
            await browser.close()
    return result


def _print_and_write(result):
    rows = result["learners"]
    summary = {
        "idle_rss_mb_after_nb00": {"max": max(r["idle_rss_mb_after_nb00"] for r in rows.values()),
                                   "mean": sum(r["idle_rss_mb_after_nb00"] for r in rows.values()) / len(rows)},
        "peak_rss_mb": max(max(r["peak_rss_mb_training"], r["idle_rss_mb_with_playground"]) for r in rows.values()),
        "kernel_cpu_share_training": {"max": max(r["kernel_cpu_share"] for r in rows.values()),
                                      "mean": sum(r["kernel_cpu_share"] for r in rows.values()) / len(rows)},
        "server_plus_kernel_cpu_share_training": max(r["kernel_cpu_share"] + r["server_cpu_share"]
                                                     for r in rows.values()),
        "pss_mb_with_playground_max": max(r["idle_pss_mb_with_playground"] for r in rows.values()),
        "machine_busy_cores_while_training": {"min": min(r["machine_busy_cores"] for r in rows.values()),
                                              "max": max(r["machine_busy_cores"] for r in rows.values())},
    }
    report = {"command": COMMAND, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
              "machine": {"cores": psutil.cpu_count(), "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
                          "python": platform.python_version()},
              "learners": rows, "summary": summary, "phases_seconds": result["phases"],
              "cookie_probe": result["cookie_probe"],
              "notes": ["memory in MiB (2**20 bytes); RSS summed over the learner's jupyterhub-singleuser "
                        "process and everything under it (kernels); a shared library page counts once per process "
                        "mapping it, so the sum overstates a cgroup's charge (PSS splits shared pages)",
                        "idle after notebook 00: one kernel (notebook 00's); with playground: two kernels",
                        "CPU share: CPU seconds of the playground kernel per wall second while it was the only "
                        "playground training; machine_busy_cores says how busy the machine was meanwhile "
                        "(the kernel, Chromium drawing its frames, anything else running)"]}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.with_suffix(".json").write_text(json.dumps(report, indent=2, default=float))
    lines = ["# Five learners on one JupyterHub: measurements", "", f"`{COMMAND}`, {report['when']}, "
             f"{report['machine']['cores']} cores, {report['machine']['ram_gib']} GiB", "",
             "| learner | RSS (PSS) idle after 00, MiB | RSS (PSS) with playground, MiB | RSS peak training, MiB "
             "| kernel CPU share training | server CPU share | Chromium CPU share | machine busy, cores | epochs/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['idle_rss_mb_after_nb00']:.0f} ({r['idle_pss_mb_after_nb00']:.0f}) "
                     f"| {r['idle_rss_mb_with_playground']:.0f} ({r['idle_pss_mb_with_playground']:.0f}) "
                     f"| {r['peak_rss_mb_training']:.0f} | {r['kernel_cpu_share']:.2f} | {r['server_cpu_share']:.2f} "
                     f"| {r['browser_cpu_share']:.2f} | {r['machine_busy_cores']:.2f} | {r['epochs_per_second']:.0f} |")
    lines += ["", "Phases (s): " + ", ".join(f"{k}: {v:.0f}" for k, v in result["phases"].items())]
    OUT.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))
    print("summary:", json.dumps(summary, default=float))


class _Session(threading.Thread):
    """The class session in a thread and event loop of its own (Playwright's async API), independent of
    pytest-playwright's sync loop; cancel() stops it from the outside (a timeout, Ctrl-C): the browser closes."""

    def __init__(self, hub):
        super().__init__(daemon=True)
        self.hub, self.result, self.error = hub, None, None
        self.done = threading.Event()    # not join()/is_alive(): a Ctrl-C inside join() marks a running thread
        self.loop = asyncio.new_event_loop()                                  # stopped (Python 3.11)
        self.task = self.loop.create_task(class_session(hub, lambda m: print(m, flush=True)))

    def run(self):
        try:
            self.result = self.loop.run_until_complete(self.task)
        except BaseException as e:      # noqa: B036 - handed to the main thread
            self.error = e
        finally:
            self.loop.close()
            self.done.set()

    def wait(self):
        try:
            while not self.done.wait(0.5):
                pass
        except BaseException:
            self.cancel()
            raise

    def cancel(self):
        if not self.done.is_set():
            self.loop.call_soon_threadsafe(self.task.cancel)
            self.done.wait(60)


@pytest.fixture(scope="module")
def classroom(hub):
    """The five learners' session, run once; its results are asserted by the tests below."""
    require_chromium()
    session = _Session(hub)
    session.start()
    session.wait()
    if session.error is not None:
        print(f"hub log, last lines:\n{hub.log.read_text()[-3000:]}")
        raise session.error
    _print_and_write(session.result)
    return session.result


# -- the tests ----------------------------------------------------------------------------------------------

def test_five_distinct_servers(hub, classroom):
    rows = classroom["learners"]
    pids = {name: hub.server_pid(name) for name in LEARNERS}
    assert len(set(pids.values())) == 5, pids
    status, users = hub.api("/users")
    urls = {u["name"]: u["servers"][""]["url"] for u in users if u["name"] in LEARNERS}
    assert urls == {name: f"/user/{name}/" for name in LEARNERS}
    for name in LEARNERS:
        server = psutil.Process(pids[name])
        assert "jupyterhub-singleuser" in " ".join(server.cmdline())
        assert server.environ()["HOME"] == str(hub.home(name))
        assert pathlib.Path(server.cwd()) == hub.home(name)
        assert rows[name]["kernels_after_nb00"] >= 1, "notebook 00's kernel did not run in the learner's server"
        for k in _kernels(pids[name]):                # every kernel is this venv's python, under the learner's server
            assert pathlib.Path(k.cmdline()[0]).parent == pathlib.Path(sys.executable).parent


def test_each_home_has_the_pulled_collection(hub, classroom):
    for name in LEARNERS:
        clone = hub.home(name) / "minidl"
        assert (clone / NB00).is_file() and (clone / NB10).is_file() and (clone / "minidl" / "__init__.py").is_file()
        assert _git("rev-parse", "HEAD", cwd=clone) == hub.head
        assert _git("remote", "get-url", "origin", cwd=clone) == hub.repo


def test_notebook_00_ran_in_each_server(classroom):
    for name, r in classroom["learners"].items():
        assert r["nb00_errors"] == [], (name, r["nb00_errors"])
        assert r["nb00_ticks"] >= 1, f"{name}: notebook 00's checker printed no ✓"


def test_play_trains_in_each_server(classroom):
    for name, r in classroom["learners"].items():
        assert r["epoch_end"] > r["epoch_start"] >= 1, (name, r)
        assert r["kernel_cpu_share"] > 0, (name, r)              # in that learner's kernel


def test_a_learner_cannot_reach_another_learners_server(hub, classroom):
    a, b = LEARNERS[0], LEARNERS[1]
    token_a = hub.user_tokens[a]
    status, listing = http(f"{hub.url}/user/{a}/api/contents", token_a)
    assert status == 200 and [c["name"] for c in listing["content"]] == ["minidl"], listing
    for other in LEARNERS[1:]:
        assert http(f"{hub.url}/user/{other}/api/contents", token_a)[0] == 403
        assert http(f"{hub.url}/user/{other}/api/sessions", token_a)[0] == 403
        assert hub.api(f"/users/{other}", token=token_a)[0] in (403, 404)
    for path in (f"../{b}", f"%2E%2E/{b}", f"..%2F{b}", str(hub.home(b))):   # outside the server's root dir
        status, body = http(f"{hub.url}/user/{a}/api/contents/{path}", token_a)
        assert status in (400, 403, 404), (path, status, body)
    probe = classroom["cookie_probe"]                             # a's browser, a's cookies
    assert probe["api_status"] == 403, probe
    assert probe["lab_status"] == 403 and not probe["lab_url"].startswith(f"{hub.url}/user/{b}/"), probe


def test_measurements_written(classroom):
    report = json.loads(OUT.with_suffix(".json").read_text())
    assert set(report["learners"]) == set(LEARNERS)
    for r in report["learners"].values():
        assert r["idle_rss_mb_after_nb00"] > 0 and r["kernel_cpu_share"] > 0


def test_the_doc_hands_out_the_link_this_test_follows():
    """docs/classroom.md's link is the one nbgitpuller_link builds for the repository in pyproject.toml."""
    link = nbgitpuller_link("https://hub.example.org", repository_url())
    assert link in DOC.read_text(), link
