"""The hosted first cell installs minidl with one pinned command on Colab or Kaggle and does nothing anywhere else;
every notebook carries that cell and its launch badges (etc/class/hosted_cell.py writes both)."""

import importlib.util
import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "etc" / "class" / "hosted_cell.py"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

spec = importlib.util.spec_from_file_location("hosted_cell", SCRIPT)
hosted_cell = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hosted_cell)

META = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REPOSITORY = META["urls"]["Repository"]              # the one home of the public address
TAG = f"v{META['version']}"


def pinned(home):
    """The hosted cell's two commands for a checkout folder ``home``: the collection at the tag, minidl from it."""
    return [("run", (["git", "clone", "--quiet", "--depth", "1", "--branch", TAG, REPOSITORY, str(home)],),
             {"check": True}),
            ("run", ([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", str(home)],), {"check": True})]


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """Every subprocess the cell starts, captured, none run; the home folder and chdir redirected into tmp_path;
    no hosted service unless a test makes one."""
    seen = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: seen.append(("run", a, k)))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: seen.append(("Popen", a, k)))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr("os.chdir", lambda p: seen.append(("chdir", p)))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    return seen


def run_cell():
    """Execute the hosted cell's code as a kernel would, in a fresh namespace; return that namespace."""
    namespace = {"__name__": "__main__"}
    exec(compile(hosted_cell.cell_source(), "<hosted-setup>", "exec"), namespace)
    return namespace


def test_on_colab_the_cell_fetches_the_tag_installs_from_it_and_moves_there(calls, monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    run_cell()
    home = tmp_path / f"minidl-{TAG}"
    expected = pinned(home) + [("chdir", str(home / "notebooks"))]
    assert calls == expected, f"hosted cell on Colab: expected clone, pip, chdir, got {calls}"
    assert capsys.readouterr() == ("", "")


def test_run_again_the_cell_reuses_the_checkout(calls, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    home = tmp_path / f"minidl-{TAG}"
    home.mkdir()                                     # a second notebook of the session: already cloned
    run_cell()
    assert calls == pinned(home)[1:] + [("chdir", str(home / "notebooks"))], f"second run: got {calls}"


def test_on_kaggle_the_cell_runs_the_same_commands(calls, monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    run_cell()
    home = tmp_path / f"minidl-{TAG}"
    assert calls == pinned(home) + [("chdir", str(home / "notebooks"))], f"hosted cell on Kaggle: got {calls}"


def test_on_your_own_machine_the_cell_does_nothing(calls, capsys):
    modules = set(sys.modules)
    namespace = run_cell()
    assert calls == [], f"hosted cell run locally: expected no subprocess, got {calls}"
    assert capsys.readouterr() == ("", ""), "hosted cell run locally: expected no output"
    assert set(sys.modules) == modules, f"hosted cell run locally imported {sorted(set(sys.modules) - modules)}"
    assert set(namespace) - {"__name__", "__builtins__"} == {"os", "sys"}    # modules every Python has loaded


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_carries_the_current_hosted_cell_and_badges(path):
    """Fails until `python etc/class/hosted_cell.py notebooks/*.ipynb` has been run over a changed notebook."""
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    first = code[0]
    assert "hosted-setup" in first["metadata"].get("tags", []), \
        f"{path.name}: expected the first code cell tagged 'hosted-setup', got tags {first['metadata'].get('tags')}"
    assert "".join(first["source"]) == hosted_cell.cell_source() and first["outputs"] == [], \
        f"{path.name}: the hosted cell is not the current one: run etc/class/hosted_cell.py"
    title = next(c for c in cells if c["cell_type"] == "markdown")
    assert hosted_cell.badges(path.name) in "".join(title["source"]).split("\n"), \
        f"{path.name}: the first markdown cell lacks the current launch badges: run etc/class/hosted_cell.py"


def test_the_badges_open_colab_first_binder_second_and_the_playground_in_voila():
    owner_name = REPOSITORY.removeprefix("https://github.com/")
    line = hosted_cell.badges("10_playground.ipynb")
    links = [part.split("](")[-1].rstrip(")") for part in line.split(") [")]
    assert links == [
        f"https://colab.research.google.com/github/{owner_name}/blob/main/notebooks/10_playground.ipynb",
        f"https://mybinder.org/v2/gh/{owner_name}/HEAD?labpath=notebooks/10_playground.ipynb",
        f"https://mybinder.org/v2/gh/{owner_name}/HEAD?urlpath=voila/render/notebooks/playground.ipynb",
    ], line
    assert "voila" not in hosted_cell.badges("00_welcome.ipynb")


def strip(path):
    """Take a notebook back to before the script: no hosted cell, no badge line, counts from 1 again."""
    nb = json.loads(path.read_text())
    nb["cells"] = [c for c in nb["cells"] if "hosted-setup" not in c["metadata"].get("tags", [])]
    for i, c in enumerate([c for c in nb["cells"] if c["cell_type"] == "code"], start=1):
        c["execution_count"] = i
    for c in nb["cells"]:
        if c["cell_type"] == "markdown" and any(hosted_cell.COLAB_BADGE in line for line in c["source"]):
            i = next(i for i, line in enumerate(c["source"]) if hosted_cell.COLAB_BADGE in line)
            del c["source"][i:i + 2]                                 # the badge line and the blank line after it
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return nb


def script(*args, cwd):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True)


def test_the_script_inserts_once_updates_in_place_and_check_says_what_is_stale(tmp_path):
    """On copies of 00 (title, then a markdown cell) and 13 (otter's raw config cell first)."""
    names = ["00_welcome.ipynb", "13_build_your_framework.ipynb"]
    before = {}
    for name in names:
        shutil.copy(ROOT / "notebooks" / name, tmp_path / name)
        before[name] = strip(tmp_path / name)

    check = script("--check", *names, cwd=tmp_path)
    assert check.returncode == 1 and check.stdout.splitlines() == [
        f"{n}: the launch badges or the 'hosted-setup' cell are missing or out of date" for n in names], check
    assert [json.loads((tmp_path / n).read_text()) for n in names] == list(before.values()), "--check changed a file"

    first = script(*names, cwd=tmp_path)
    assert first.returncode == 0 and first.stdout.splitlines() == [
        f"{n}: badges and 'hosted-setup' cell written" for n in names], first
    for name in names:
        old, new = before[name]["cells"], json.loads((tmp_path / name).read_text())["cells"]
        at = next(i for i, c in enumerate(old) if c["cell_type"] == "code")
        cell = new[at]
        assert cell["metadata"]["tags"] == ["hosted-setup"] and cell["execution_count"] == 1 and cell["outputs"] == []
        assert "torch.set_num_threads(1)" in "".join(new[at + 1]["source"])       # still the next code cell
        assert [c["execution_count"] for c in new if c["cell_type"] == "code"] == \
            list(range(1, 2 + sum(c["cell_type"] == "code" for c in old)))
        assert [c["outputs"] for c in new[at + 1:] if c["cell_type"] == "code"] == \
            [c["outputs"] for c in old[at:] if c["cell_type"] == "code"]        # outputs untouched
        assert new[:at] != old[:at] and len(new) == len(old) + 1                 # badges added, nothing else inserted
    assert json.loads((tmp_path / names[1]).read_text())["cells"][0]["source"][0] == "# ASSIGNMENT CONFIG\n"

    written = {n: (tmp_path / n).read_bytes() for n in names}
    again = script(*names, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == "", again                # idempotent: nothing to say
    assert {n: (tmp_path / n).read_bytes() for n in names} == written
    assert script("--check", *names, cwd=tmp_path).returncode == 0

    stale = (tmp_path / names[0]).read_text().replace(f'\\"{TAG}\\"', '\\"v0.0.1\\"')  # an older tag
    (tmp_path / names[0]).write_text(stale)
    assert script("--check", *names, cwd=tmp_path).stdout.splitlines() == [
        f"{names[0]}: the launch badges or the 'hosted-setup' cell are missing or out of date"]
    assert script(*names, cwd=tmp_path).stdout.splitlines() == [f"{names[0]}: badges and 'hosted-setup' cell written"]
    assert (tmp_path / names[0]).read_bytes() == written[names[0]]             # updated in place, counts kept
