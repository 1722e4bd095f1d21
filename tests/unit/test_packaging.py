"""pyproject.toml, constraints.txt and environment.yml agree; the README's commands exist; its example runs."""

import contextlib
import io
import pathlib
import re

import tomllib
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def name_of(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {name_of(r) for r in reqs}


def pins(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            out[name_of(name)] = version.strip()
    return out


def test_constraints_pin_every_dependency_and_torch_is_the_cpu_release():
    constraints = pins((ROOT / "constraints.txt").read_text().splitlines())
    assert pyproject_names() <= set(constraints), pyproject_names() - set(constraints)
    assert constraints["torch"] == "2.13.0"


def test_environment_yml_lists_the_same_packages_and_versions():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    env_pins = pins(pip_section)
    constraints = pins((ROOT / "constraints.txt").read_text().splitlines())
    assert set(env_pins) == pyproject_names(), set(env_pins) ^ pyproject_names()
    assert env_pins == {k: v for k, v in constraints.items() if k in env_pins}
    assert "-e ." in pip_section


def test_readme_quick_start_commands_are_make_targets():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ["lab", "test", "playground", "bench"]:
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_five_line_example_prints_what_the_readme_says():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Five lines of Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    promised = re.search(r"print\(history\)\s+# (History\(.*\))", block).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {})
    assert out.getvalue().strip() == promised
