"""The framework's rules: no autograd / torch.nn / torch.optim / torch.func, works with autograd off."""

import ast
import pathlib

import pytest
import torch

import minidl as md

PACKAGE = pathlib.Path(md.__file__).resolve().parent
FORBIDDEN = ("torch.autograd", "torch.nn", "torch.optim", "torch.func", "functorch")
FORBIDDEN_ATTRS = {"autograd", "nn", "optim", "func", "no_grad", "enable_grad", "inference_mode"}
# The lab corner (the torch twin, the experiments, the build track's oracles) may use torch.nn, torch.optim
# and autograd: it compares minidl with them. Nothing below it may.
LAB = "lab/"
# training/fast.py's step runs in torch.inference_mode(): not a use of autograd but a more complete way of
# switching it off (the ops skip autograd's dispatch layer; nothing is recorded, nothing saved).
ALLOWED_ATTRS = {"training/fast.py": {"inference_mode"}}


def violations(source: str, filename: str) -> list[str]:
    """Every forbidden import or torch.<forbidden> attribute use in one file (path relative to minidl/)."""
    found = []
    if filename.startswith(LAB):
        return found
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.startswith(FORBIDDEN):
                found.append(f"{filename}:{node.lineno} imports {name}")
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "torch"
                and node.attr in FORBIDDEN_ATTRS - ALLOWED_ATTRS.get(filename, set())):
            found.append(f"{filename}:{node.lineno} uses torch.{node.attr}")
        if isinstance(node, ast.Attribute) and node.attr in ("requires_grad_", "backward_hook"):
            found.append(f"{filename}:{node.lineno} uses .{node.attr}")
    return found


def test_framework_files_never_import_autograd_nn_optim_or_func():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 20, files
    problems = [v for f in files for v in violations(f.read_text(), f.relative_to(PACKAGE).as_posix())]
    assert problems == []


@pytest.mark.parametrize("snippet, expected", [
    ("import torch.nn as nn", "imports torch.nn"),
    ("from torch import autograd", "imports torch.autograd"),
    ("from torch.optim import SGD", "imports torch.optim"),
    ("import torch\ny = torch.func.grad(f)", "uses torch.func"),
    ("import torch\nwith torch.no_grad(): pass", "uses torch.no_grad"),
])
def test_the_import_checker_catches_violations(snippet, expected):
    assert any(expected in v for v in violations(snippet, "framework/layers.py"))
    assert any(expected in v for v in violations(snippet, "training/train.py"))


def test_only_fast_may_enter_inference_mode():
    snippet = "import torch\nwith torch.inference_mode(): pass"
    assert violations(snippet, "training/fast.py") == []
    assert any("uses torch.inference_mode" in v for v in violations(snippet, "framework/layers.py"))
    assert any("uses torch.no_grad" in v for v in violations("import torch\nwith torch.no_grad(): pass",
                                                             "training/fast.py"))


def test_only_the_lab_corner_may_use_torch_nn_and_autograd():
    assert violations("import torch.nn as nn\nimport torch.optim\n", "lab/reference.py") == []
    assert violations("import torch.nn as nn\n", "playground/app.py") != []
    assert violations("import torch.nn as nn\n", "labs.py") != []


def test_full_training_step_with_autograd_globally_off(no_grad):
    assert not torch.is_grad_enabled()
    torch.manual_seed(0)
    model = md.Sequential(md.Linear(2, 25), md.ReLU(), md.Linear(25, 25), md.Tanh(), md.Dropout(0.1),
                          md.Linear(25, 2))
    for criterion, target in [(md.MSELoss(), torch.rand(50, 2)),
                              (md.CrossEntropyLoss(), torch.randint(0, 2, (50,)))]:
        for opt in [md.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True),
                    md.Adam(model.parameters(), lr=1e-2)]:
            x = torch.rand(50, 2)
            before = [p.data.clone() for p in model.parameters()]
            loss = criterion(model(x), target)
            model.zero_grad()
            model.backward(criterion.backward())
            opt.step()
            assert torch.isfinite(loss) and not loss.requires_grad
            assert all(not torch.equal(b, p.data) for b, p in zip(before, model.parameters(), strict=True))
            assert all(not p.data.requires_grad for p in model.parameters())
