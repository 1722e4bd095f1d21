"""minidl.lab.build_checks: correct learner classes pass every stage; each planted bug fails, named.

The reference ("solution") classes below follow the learner's protocol (EE-559) and are written here,
not imported from minidl: the checks must judge the classes they are given, so a test that passed an
already-solved minidl class would prove nothing. Each planted bug changes one line of a solution.
"""

import json

import pytest
import torch
from learner_framework import (  # the reference solutions, shared with the playground's tests
    MSE,
    SGD,
    SOLUTIONS,
    CrossEntropy,
    Linear,
    LogSoftmax,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    same_shape,
)

from minidl.lab.build_checks import (
    STAGES,
    CheckResult,
    check,
    compare_gradients,
    framework_from_notebook,
    when_ready,
)


# -- every stage: the solutions pass ------------------------------------------------------------------------------
def test_every_stage_has_a_solution_here():
    assert set(SOLUTIONS) == set(STAGES)


@pytest.mark.parametrize("stage", sorted(SOLUTIONS))
@pytest.mark.parametrize("seed", [0, 7])
def test_the_solution_passes_every_property(stage, seed, capsys):
    result = check(stage, *SOLUTIONS[stage], seed=seed)
    out = capsys.readouterr().out
    assert result, f"{stage} (seed {seed}): {result.message}"
    assert isinstance(result, CheckResult) and result.failed is None and len(result.passed) >= 4
    assert out.count("✓") == len(result.passed) and "✗" not in out


def test_sequential_with_the_learners_own_modules(capsys):
    result = check("sequential", Sequential, Linear, ReLU)
    assert result and result.passed[-1] == "your modules"
    assert "✓ sequential · your modules" in capsys.readouterr().out


def test_quiet_prints_nothing(capsys):
    assert check("linear", Linear, quiet=True)
    assert capsys.readouterr().out == ""


def test_check_leaves_the_callers_dtype_and_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check("linear", Linear, quiet=True)
    assert torch.get_default_dtype() == torch.float32
    assert torch.equal(torch.rand(3), expected)


# -- the planted bugs: each fails, naming the property ----------------------------------------------------------------
class LinearOverwrites(Linear):
    def backward(self, grad_output):
        self.grad_weight = grad_output.T @ self.x                  # = instead of +=
        self.grad_bias += grad_output.sum(dim=0)
        return grad_output @ self.weight


class LinearOverwritesInPlace(Linear):
    def backward(self, grad_output):
        self.grad_weight.copy_(grad_output.T @ self.x)             # in place, but still an overwrite
        self.grad_bias.copy_(grad_output.sum(dim=0))
        return grad_output @ self.weight


class LinearBiasMean(Linear):
    def backward(self, grad_output):
        self.grad_weight += grad_output.T @ self.x
        self.grad_bias += grad_output.mean(dim=0)                  # mean instead of sum
        return grad_output @ self.weight


class LinearParamCopies(Linear):
    def param(self):
        return [[self.weight.clone(), self.grad_weight.clone()], [self.bias.clone(), self.grad_bias.clone()]]


class LinearRebindsGradient(Linear):
    def backward(self, grad_output):
        self.grad_weight = self.grad_weight + grad_output.T @ self.x   # accumulates, but into a new tensor
        self.grad_bias = self.grad_bias + grad_output.sum(dim=0)
        return grad_output @ self.weight


class LinearNoForwardCheck(Linear):
    def backward(self, grad_output):
        if self.x is None:
            return grad_output @ self.weight                       # backward before forward: no error
        return super().backward(grad_output)


class LinearNoShapeCheck(Linear):
    def forward(self, x):
        self.x = x
        return x @ self.weight.T + self.bias


class LinearTransposedDx(Linear):
    def backward(self, grad_output):
        super().backward(grad_output)
        return (grad_output @ self.weight).T


class LinearFloat32(Linear):
    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features)
        self.weight, self.grad_weight = self.weight.float(), self.grad_weight.float()


class LinearStub(Linear):
    def backward(self, grad_output):
        raise NotImplementedError("write Linear.backward: accumulate dL/dW and dL/db, return dL/dx")


class LinearTypo(Linear):
    def backward(self, grad_output):
        return grad_output @ self.wieght                           # AttributeError in the learner's code


class TanhFromX(Tanh):
    def backward(self, grad_output):
        return grad_output * (1 - self.x ** 2)                     # derivative from x instead of y


class SigmoidFromX(Sigmoid):
    def backward(self, grad_output):
        return grad_output * self.x * (1 - self.x)


class ReLUNoMask(ReLU):
    def backward(self, grad_output):
        same_shape(grad_output, self.x, "ReLU")
        return grad_output


class ReLUNoForwardCheck(ReLU):
    def backward(self, grad_output):
        return grad_output * (self.x > 0) if self.x is not None else grad_output


class ReLUHasParams(ReLU):
    def param(self):
        return None


class MSEHalfGradient(MSE):
    def backward(self):
        return self.diff / self.diff.numel()                       # off by the factor 2


class MSEPerSample(MSE):
    def forward(self, prediction, target):
        self.diff = prediction - target
        return (self.diff ** 2).sum(dim=1).mean()                  # mean over samples, not entries


class CrossEntropyNoShift(CrossEntropy):
    def forward(self, logits, target):
        log_p = logits - logits.exp().sum(dim=1, keepdim=True).log()     # no max shift
        self.p, self.target = log_p.exp(), target
        return -log_p[torch.arange(len(target)), target].mean()


class CrossEntropyNoMean(CrossEntropy):
    def backward(self):
        grad = self.p.clone()
        grad[torch.arange(len(self.target)), self.target] -= 1
        return grad                                                # forgot / N


class CrossEntropyNoForwardCheck(CrossEntropy):
    def backward(self):
        if self.p is None:
            return torch.zeros(1)
        return super().backward()


class LogSoftmaxNoShift(LogSoftmax):
    def forward(self, x):
        self.y = x - x.exp().sum(dim=1, keepdim=True).log()
        return self.y


class SequentialForwardOrderBackward(Sequential):
    def backward(self, grad_output):
        for m in self.modules:                                     # not reversed
            grad_output = m.backward(grad_output)
        return grad_output


class SequentialNoParams(Sequential):
    def param(self):
        return []


class SequentialZeroesInBackward(Sequential):
    def backward(self, grad_output):
        self.zero_grad()                                           # wipes what earlier backwards accumulated
        return super().backward(grad_output)


class SGDEma(SGD):
    def step(self):
        for k, (p, grad) in enumerate(self.params):
            if self.buffers[k] is None:
                self.buffers[k] = torch.zeros_like(grad)
            self.buffers[k].mul_(self.momentum).add_((1 - self.momentum) * grad)   # EMA
            p -= self.lr * self.buffers[k]


class SGDIgnoresMomentum(SGD):
    def step(self):
        for p, grad in self.params:
            p -= self.lr * grad


class SGDNotInPlace(SGD):
    def step(self):
        for p, grad in self.params:
            p = p - self.lr * grad                                 # noqa: PLW2901 - rebinds a name: lost


class SGDNoChecks(SGD):
    def __init__(self, params, lr, momentum=0.0):
        self.params, self.lr, self.momentum = list(params), lr, momentum
        self.buffers = [None] * len(self.params)


class SGDVelocity(SGD):
    """The 'velocity' convention v ← μ v − lr g, θ ← θ + v: the same steps at constant lr (a control)."""

    def step(self):
        for k, (p, grad) in enumerate(self.params):
            self.buffers[k] = -self.lr * grad if self.buffers[k] is None else \
                self.momentum * self.buffers[k] - self.lr * grad
            p += self.buffers[k]


class ModuleZeroGradRebinds(Module):
    def zero_grad(self):
        for _, grad in self.param():
            grad = torch.zeros_like(grad)                          # noqa: F841 - rebinding: nothing is zeroed


class ModuleCallDropsInputs(Module):
    def __call__(self, *input):
        return self.forward(input[0])


class ModuleForwardReturnsNone(Module):
    def forward(self, *input):
        return None


BUGS = [
    # (stage, the classes, the property that must fail, words its message must contain)
    ("linear", (LinearOverwrites,), "accumulation", ["twice the first", "the same as after one", "hint"]),
    ("linear", (LinearOverwritesInPlace,), "accumulation", ["twice the first", "the same as after one"]),
    ("linear", (LinearBiasMean,), "gradcheck", ["param()[1]", "batch of 5", "1/5 of the expected", "no mean"]),
    ("linear", (LinearParamCopies,), "live tensors", ["copies", "optimizer"]),
    ("linear", (LinearRebindsGradient,), "live gradients", ["replaced or copied", "in place"]),
    ("linear", (LinearNoForwardCheck,), "errors", ["before any forward()", "RuntimeError", "returned normally"]),
    ("linear", (LinearNoShapeCheck,), "errors", ["ValueError", "forward(x of shape"]),
    ("linear", (LinearTransposedDx,), "gradcheck", ["shape", "transposed?"]),
    ("linear", (LinearFloat32,), "param", ["float32", "default dtype"]),
    ("linear", (LinearTypo,), "gradcheck", ["your code raised AttributeError", "wieght", "in backward, line"]),
    ("tanh", (TanhFromX,), "gradcheck", ["written with x", "output y = tanh(x)"]),
    ("sigmoid", (SigmoidFromX,), "gradcheck", ["written with x", "σ(x)"]),
    ("relu", (ReLUNoMask,), "gradcheck", ["dL/dinput", "finite differences give"]),
    ("relu", (ReLUNoForwardCheck,), "errors", ["before any forward()", "RuntimeError"]),
    ("relu", (ReLUHasParams,), "param", ["expected [] (no parameters)"]),
    ("mse", (MSEHalfGradient,), "gradcheck", ["0.5× the expected", "constant factor"]),
    ("mse", (MSEPerSample,), "forward", ["the loss", "torch.nn.functional.mse_loss"]),
    ("cross_entropy", (CrossEntropyNoShift,), "stable", ["±1000", "not finite", "max shift"]),
    ("cross_entropy", (CrossEntropyNoMean,), "gradcheck", ["batch of 6", "6× the expected value, the batch size"]),
    ("cross_entropy", (CrossEntropyNoForwardCheck,), "errors", ["before any forward()", "RuntimeError"]),
    ("log_softmax", (LogSoftmaxNoShift,), "stable", ["±1000", "not finite"]),
    ("sequential", (SequentialForwardOrderBackward,), "gradcheck", ["your code raised", "in backward"]),
    ("sequential", (SequentialNoParams,), "param", ["children's", "pairs"]),
    ("sequential", (SequentialZeroesInBackward,), "accumulation", ["twice the first"]),
    ("sgd", (SGDEma,), "momentum", ["differs from torch.optim.SGD", "exponential moving average"]),
    ("sgd", (SGDIgnoresMomentum,), "momentum", ["step 2 differs", "momentum is ignored"]),
    ("sgd", (SGDNotInPlace,), "plain SGD", ["unchanged", "in place"]),
    ("sgd", (SGDNoChecks,), "errors", ["lr=-0.1", "ValueError", "returned normally"]),
    ("module", (ModuleZeroGradRebinds,), "zero_grad", ["non-zero gradients"]),
    ("module", (ModuleCallDropsInputs,), "__call__", ["module.forward(a, b)"]),
    ("module", (ModuleForwardReturnsNone,), "abstract", ["forward() returned normally", "NotImplementedError"]),
]


@pytest.mark.parametrize("stage, classes, prop, words", BUGS, ids=[c[0].__name__ for _, c, _, _ in BUGS])
def test_each_planted_bug_fails_naming_the_property(stage, classes, prop, words, capsys):
    result = check(stage, *classes)
    out = capsys.readouterr().out
    assert not result, f"{classes[0].__name__} passed every property of {stage}"
    name = classes[0].__name__
    assert result.failed == prop, f"{name}: failed {result.failed!r}, expected {prop!r}: {result.message}"
    assert not result.not_implemented
    line = f"✗ {stage} · {prop}: "
    assert out.count("✗") == 1 and line in out and result.message.startswith(line), out
    for word in words:
        assert word in result.message, f"{classes[0].__name__}: {word!r} not in {result.message!r}"


def test_the_velocity_convention_is_accepted():
    assert check("sgd", SGDVelocity, quiet=True)


def test_a_bug_that_breaks_linear_does_not_fail_sequential():
    """Sequential is checked with the checker's own probe modules, so a Linear bug costs only Linear's points."""
    assert not check("linear", LinearOverwrites, quiet=True)
    assert check("sequential", Sequential, quiet=True)
    assert not check("sequential", Sequential, LinearOverwrites, ReLU, quiet=True)


def test_the_hint_never_contains_the_solution():
    for stage, classes, _, _ in BUGS:
        message = check(stage, *classes, quiet=True).message
        for solution_text in ("grad_output.T @", "+= grad", ".sum(dim=0)", "1 - y * y", "mul_(self.momentum)"):
            assert solution_text not in message, (classes[0].__name__, message)


# -- stubs and misuse ---------------------------------------------------------------------------------------------
def test_a_stub_is_reported_as_not_implemented_yet_without_raising(capsys):
    result = check("linear", LinearStub)
    out = capsys.readouterr().out
    assert not result and result.not_implemented
    assert "not implemented yet: write Linear.backward: accumulate dL/dW and dL/db, return dL/dx" in out
    assert "Traceback" not in out and "✗" not in out
    assert repr(result) == "<check linear: not implemented yet>"


class AllStubs:
    """What the student edition holds before anything is written."""

    def __init__(self, *args, **kwargs):
        pass

    def forward(self, *input):
        raise NotImplementedError("write forward")

    def backward(self, *grad):
        raise NotImplementedError("write backward")

    def param(self):
        raise NotImplementedError("write param")

    def zero_grad(self):
        raise NotImplementedError("write zero_grad")

    def step(self):
        raise NotImplementedError("write step")


class AllEllipsis:
    """Stubs whose bodies are `...` (otter's default prompt): they return None."""

    def __init__(self, *args, **kwargs):
        ...

    def forward(self, *input):
        ...

    def backward(self, *grad):
        ...

    def param(self):
        ...

    def zero_grad(self):
        ...

    def step(self):
        ...


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_an_empty_stub_never_passes(stage, capsys):
    result = check(stage, AllStubs)
    assert not result and result.not_implemented, result
    assert "not implemented yet: write" in capsys.readouterr().out
    ellipsis = check(stage, AllEllipsis, quiet=True)
    assert not ellipsis and not ellipsis.not_implemented, ellipsis


def test_misuse_of_check_itself_raises_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown stage 'lineer'; expected one of module, linear"):
        check("lineer", Linear)
    with pytest.raises(TypeError, match=r"pass your Linear class, e.g. check\('linear', Linear\)"):
        check("linear")
    with pytest.raises(TypeError, match="got an instance of Linear"):
        check("linear", Linear(2, 3))


def test_repr_of_results():
    assert repr(check("relu", ReLU, quiet=True)) == "<check relu: all 5 properties hold>"
    failed = "<check relu: 'gradcheck' fails (2 properties held before it)>"
    assert repr(check("relu", ReLUNoMask, quiet=True)) == failed


# -- compare_gradients ---------------------------------------------------------------------------------------------
def test_compare_gradients_exact_close_wrong_missing(capsys):
    ref = {"W1": torch.arange(6.0).reshape(2, 3), "b1": torch.ones(3, dtype=torch.float64),
           "W2": torch.zeros(2, 2), "b2": torch.ones(2), "W3": torch.ones(1)}
    mine = {"W1": ref["W1"].clone(), "b1": ref["b1"] + 1e-9, "W2": torch.tensor([[0.0, 0.0], [0.0, 0.5]]),
            "b2": torch.ones(3)}
    result = compare_gradients(mine, ref)
    out = capsys.readouterr().out.splitlines()
    assert not result
    assert result.verdicts() == {"W1": "exact", "b1": "close", "W2": "WRONG", "b2": "WRONG", "W3": "missing"}
    assert out[0].split() == ["W1", "(2,", "3)", "exact"]
    assert "close (max |diff| 1.0e-09)" in out[1]
    assert "WRONG (max |diff| 0.5, worst at index (1, 1): 0.5 vs 0)" in out[2]
    assert "WRONG shape (3,), expected (2,)" in out[3]
    assert "missing (got NoneType)" in out[4]


def test_compare_gradients_all_agree():
    g = {"a": torch.randn(3, dtype=torch.float64)}
    assert compare_gradients({"a": g["a"].clone()}, g, quiet=True)
    assert repr(compare_gradients({"a": g["a"] * (1 + 1e-9)}, g, quiet=True)) == "<compare_gradients: 1 close>"


# -- when_ready and the learner's file --------------------------------------------------------------------------
def test_when_ready_runs_or_says_not_implemented(capsys):
    assert when_ready(lambda a, b=1: a + b, 2, b=3) == 5

    def demo():
        Linear(2, 3).forward(torch.ones(1, 2))
        LinearStub(2, 3).backward(torch.ones(1, 3))

    assert when_ready(demo) is None
    assert capsys.readouterr().out.startswith("… not implemented yet: write Linear.backward")
    with pytest.raises(ZeroDivisionError):
        when_ready(lambda: 1 / 0)                  # only "not written yet" is turned into a message


def test_framework_from_notebook_writes_the_parts_in_order(tmp_path):
    def cell(src):
        return {"cell_type": "code", "source": src.splitlines(keepends=True), "metadata": {}, "outputs": []}

    nb = {"cells": [cell("%%framework module\nclass Module:\n    pass\n"), cell("print('not saved')"),
                    cell("%%framework linear\nclass Linear(Module):\n    k = 1\n")]}
    path = tmp_path / "13.ipynb"
    path.write_text(json.dumps(nb))
    target = tmp_path / "my_framework.py"
    framework_from_notebook(str(path), str(target))
    text = target.read_text()
    assert text.index("# ---- part: module ----") < text.index("# ---- part: linear ----")
    assert "not saved" not in text
    nb["cells"][2] = cell("%%framework linear\nclass Linear(Module):\n    k = 2\n")
    path.write_text(json.dumps(nb))
    framework_from_notebook(str(path), str(target))             # a part is replaced, not appended
    namespace = {}
    exec(target.read_text(), namespace)                          # noqa: S102
    assert namespace["Linear"].k == 2 and target.read_text().count("part: linear") == 1


def test_the_framework_magic_runs_and_saves_the_cell(tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    from minidl.lab.build_checks import register_framework_magic

    monkeypatch.chdir(tmp_path)
    shell = InteractiveShell.instance()
    register_framework_magic()
    shell.run_cell("%%framework relu\nclass ReLU:\n    name = 'mine'\n", store_history=False)
    assert shell.user_ns["ReLU"].name == "mine"
    assert "class ReLU:" in (tmp_path / "my_framework.py").read_text()
    bad = shell.run_cell("%%framework relu\nclass ReLU(\n", store_history=False)
    assert bad.error_in_exec is not None                     # a syntax error: reported, the file untouched
    assert "name = 'mine'" in (tmp_path / "my_framework.py").read_text()
