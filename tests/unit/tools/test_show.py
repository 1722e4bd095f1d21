"""show_source: minidl's real source, titled with its path in the package (the floors show)."""

import pytest

import minidl as md
from minidl.lab import experiments
from minidl.tools.show import show_source


@pytest.mark.parametrize("obj, title", [
    (md.Linear, "minidl/framework/layers.py: Linear"),
    (md.Linear.backward, "minidl/framework/layers.py: Linear.backward"),
    (md.fit, "minidl/training/train.py: fit"),
    (experiments.run_pair, "minidl/lab/experiments.py: run_pair"),
])
def test_the_title_is_the_path_inside_the_package(obj, title):
    assert show_source(obj).title == title


def test_without_docstring_drops_only_the_docstring():
    full, bare = show_source(md.gradcheck), show_source(md.gradcheck, docstring=False)
    assert '"""' in full.code and '"""' not in bare.code and bare.code.startswith("def gradcheck(")
    assert len(bare.code.splitlines()) < len(full.code.splitlines())


def test_objects_without_source_are_refused_in_one_line():
    with pytest.raises(TypeError, match="show_source: cannot find the source of 3"):
        show_source(3)


def test_methods_shows_the_docstring_and_those_methods_only():
    code = show_source(md.Linear, methods=["forward", "backward"]).code
    assert code.startswith("class Linear(Module):\n    \"\"\"Affine map  y = x Wᵀ + b.")
    assert "def forward(" in code and "def backward(" in code
    assert "def __init__(" not in code and "def extra_repr(" not in code
    assert "    # … not shown: __init__, reset_parameters …" in code
    assert code.rstrip().endswith("# … not shown: backward_parameters, _name, extra_repr …")
    assert code.index("def forward(") < code.index("def backward(")


def test_fold_checks_replaces_argument_checks_by_one_line_each_run():
    full, folded = show_source(md.Linear).code, show_source(md.Linear, fold_checks=True).code
    assert "raise ValueError" in full and "self._check_input(x" in full and "self._check_grad(" in full
    assert "raise" not in folded and "_check_input" not in folded and "_check_grad" not in folded
    assert "        # … argument checks (3 lines) …" in folded          # __init__'s for/if/raise
    assert folded.count("# … argument checks (1 line) …") == 2         # forward's and backward's
    for line in ("self.x = x", "x = self._saved(\"x\")", "self.bias.grad += grad_output.sum(dim=0)",
                 "return grad_output @ self.weight.data"):
        assert line in folded                                           # the math stays
    assert len(folded.splitlines()) < len(full.splitlines())


def test_fold_checks_keeps_code_that_merely_contains_a_raise():
    def f(x, items):
        """y = 2x."""
        if x < 0:
            raise ValueError("f: x must be >= 0")
        if x > 1:
            x = 1
        else:
            raise ValueError("never")
        for item in items:
            x += item
        return 2 * x

    f.__module__ = __name__
    folded = show_source(f, fold_checks=True, docstring=False).code
    assert "# … argument checks (2 lines) …" in folded
    assert "if x > 1:" in folded and "raise ValueError(\"never\")" in folded   # an if with an else is logic
    assert "for item in items:" in folded and folded.rstrip().endswith("return 2 * x")


def test_methods_refuses_names_the_class_does_not_define():
    with pytest.raises(ValueError, match=r"show_source: expected methods of Linear \(__init__, .*\), got forwrd"):
        show_source(md.Linear, methods=["forwrd"])
    with pytest.raises(TypeError, match="show_source: methods= applies to a class, got the source of a FunctionDef"):
        show_source(md.gradcheck, methods=["forward"])


class _Optimizer:
    """θ ← θ − lr ∇θ."""

    state_kinds = {"momentum_buffer": "tensor"}

    def __init__(self, lr):
        if lr <= 0:
            raise ValueError(f"_Optimizer: lr must be > 0, got {lr}")
        self.lr = lr

    def step(self, theta, grad):
        return theta - self.lr * grad


def test_a_class_attribute_not_shown_is_named_by_its_target():
    code = show_source(_Optimizer, methods=["step"]).code
    assert "    # … not shown: state_kinds, __init__ …" in code and "def step(self, theta, grad):" in code
    assert "raise" not in code and "self.lr = lr" not in code
    folded = show_source(_Optimizer, methods=["__init__"], fold_checks=True).code
    assert "        # … argument checks (2 lines) …\n        self.lr = lr" in folded
