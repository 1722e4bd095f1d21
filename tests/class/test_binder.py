"""Binder builds from binder/ alone: a fresh virtual environment made from exactly those files runs notebook 00.

How this differs from mybinder.org (repo2docker), honestly:
* repo2docker makes a conda environment with the Python of runtime.txt and its own Jupyter stack, in a container;
  here it is `python3.11 -m venv` (no --system-site-packages: a missing dependency must show) on this machine.
* PyTorch's CPU index in requirements.txt is unreachable here (only PyPI is): pip is told not to wait for it
  (one retry, a 5 s timeout; the name does not even resolve, so each try fails at once) and finds the very same
  file, torch-2.13.0+cpu for Python 3.11, on this machine's disk (pip's configured find-links). The pin
  `torch==2.13.0+cpu` is resolved as on Binder; only where the wheel comes from differs.
* The repository is a copy of the files git tracks or would track (a clone, as repo2docker starts from), so the
  editable install and the notebook's run write nothing into the work tree.
* pip's cache is the user's, as for any pip run: warm after the first build. `--no-compile` spares the .pyc files
  of every installed module (half of pip's CPU time here); it changes what is installed, not which versions.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"


def pins(path):
    """{normalised name: version} of the `name==version` lines of a requirements or constraints file."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.split("#")[0].strip())
        if m:
            out[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return out


def test_binder_pins_are_the_constraints_and_cover_what_postbuild_does_not_install():
    binder, constraints = pins(BINDER / "requirements.txt"), pins(ROOT / "constraints.txt")
    differ = {n: (v, constraints.get(n)) for n, v in binder.items() if v.split("+")[0] != constraints.get(n)}
    assert not differ, f"binder/requirements.txt: expected constraints.txt's pins, got (binder, constraints) {differ}"
    assert binder["torch"] == constraints["torch"] + "+cpu", "binder/requirements.txt: expected the +cpu torch"
    import tomllib
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = meta["dependencies"] + meta["optional-dependencies"]["notebooks"]
    names = {re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", r).group(0)).lower() for r in needed}
    missing = names - set(binder)
    assert not missing, f"binder/requirements.txt: postBuild installs minidl --no-deps, expected all of {needed}, " \
                        f"missing {missing}"


def test_runtime_and_postbuild_are_what_repo2docker_expects():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    commands = [line for line in (BINDER / "postBuild").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert commands[0] == "set -e", f"binder/postBuild: expected `set -e` first, got {commands[0]!r}"
    assert os.access(BINDER / "postBuild", os.X_OK), "binder/postBuild: expected an executable file"


def copy_of_the_repository(dest):
    """The files a clone would hold (tracked, or new and not ignored), with their working-tree content."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def clean_env(venv):
    """This process's environment without its own venv or Jupyter settings, the new venv first on PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "VIRTUAL_ENV", "PYTHON", "CONDA")) and k != "MPLBACKEND"}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(PIP_RETRIES="1", PIP_TIMEOUT="5", PIP_DEFAULT_TIMEOUT="5", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def step(what, cmd, **kwargs):
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    tail = (done.stdout + done.stderr)[-3000:]
    assert done.returncode == 0, f"binder build, {what}: expected exit 0, got {done.returncode}:\n{tail}"
    return done.stdout + done.stderr


RUN_NOTEBOOK = """
import pathlib, sys
import nbformat
from nbclient import NotebookClient
path, out = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
probe = "import sys, minidl, torch; print(sys.executable, minidl.__file__, torch.__version__)"
nb.cells.append(nbformat.v4.new_code_cell(probe))                # which Python, minidl and torch ran it
here = {"metadata": {"path": pathlib.Path(path).parent}}            # the notebook's folder, as Jupyter runs it
NotebookClient(nb, timeout=300, kernel_name="python3", resources=here).execute()
nbformat.write(nb, out)
"""


def test_a_venv_built_from_binder_alone_runs_notebook_00(tmp_path):
    runtime = (BINDER / "runtime.txt").read_text().strip()            # python-3.11
    python = shutil.which(runtime.replace("-", ""))
    assert python, f"binder/runtime.txt asks for {runtime}: expected {runtime.replace('-', '')} on PATH, found none"
    repo, venv = tmp_path / "repo", tmp_path / "venv"
    copy_of_the_repository(repo)
    step("venv", [python, "-m", "venv", str(venv)])
    env = clean_env(venv)
    step("pip install -r binder/requirements.txt", [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                                                    "--no-compile", "-r", "binder/requirements.txt"], cwd=repo, env=env)
    step("binder/postBuild", ["bash", "binder/postBuild"], cwd=repo, env=env)

    settings = venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert json.loads(settings.read_text()) == json.loads((ROOT / "etc" / "jupyterlab-overrides.json").read_text())
    voila = venv / "etc" / "jupyter" / "jupyter_server_config.d" / "voila.json"      # what enables ?urlpath=voila
    assert json.loads(voila.read_text())["ServerApp"]["jpserver_extensions"] == {"voila.server_extension": True}

    out = tmp_path / "00_executed.ipynb"
    step("notebook 00", [str(venv / "bin" / "python"), "-c", RUN_NOTEBOOK,
                         str(repo / "notebooks" / "00_welcome.ipynb"), str(out)], cwd=repo, env=env)
    cells = json.loads(out.read_text())["cells"]
    errors = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"notebook 00 in the Binder venv: {errors[0]['ename']}: {errors[0]['evalue']}"
    probe = "".join(cells[-1]["outputs"][0]["text"]).split()
    assert probe == [str(venv / "bin" / "python"), str(repo / "minidl" / "__init__.py"), "2.13.0+cpu"], probe
