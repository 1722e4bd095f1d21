"""Checks a learner runs on the framework they build themselves.            Notebooks 13, 14, 15

    check("linear", Linear)        one ✓ line per property that holds, or one ✗ line naming the
                                   property that fails, with a hint (never the solution)
    compare_gradients(mine, ref)   exact / close / WRONG for every tensor of two dicts of gradients
    when_ready(fn, ...)            runs a demo that needs unfinished classes; a stub's
                                   NotImplementedError becomes one "not implemented yet" line

The classes under test are the learner's (the EE-559 protocol): ``forward(*input)``,
``backward(*gradwrtoutput)`` returning dL/dinput, ``param()`` a list of [value, gradient] pairs
aliasing the live tensors, gradients accumulated (``+=``), ``zero_grad()``. A loss has
``forward(prediction, target)`` -> a 0-d tensor and ``backward()`` -> dL/dprediction; an
optimizer is ``SGD(pairs, lr, momentum=0.0)`` with ``step()`` and ``zero_grad()``.

Every check runs in float64 (parameters follow ``torch.get_default_dtype()``, set to float64
while checking), compares with central finite differences and with torch.autograd / torch.optim
as outside oracles (this lab corner is where torch may be used that way), and leaves the
caller's random state and default dtype as they were. ``check`` never raises for a problem in
the learner's code: it prints, and returns a CheckResult that is truthy only if every property
held, so ``assert check(...)`` works in a test cell and "Run all" on stubs reaches the end.
"""

from .check import STAGES, check
from .core import CheckResult
from .framework_file import framework_from_notebook, framework_magic, register_framework_magic
from .gradients import GradientComparison, compare_gradients, when_ready

__all__ = ["check", "compare_gradients", "when_ready", "CheckResult", "GradientComparison", "STAGES",
           "framework_magic", "register_framework_magic", "framework_from_notebook"]
