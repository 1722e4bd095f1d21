"""check(stage, LearnerClass): run a stage's properties, print ✓ / ✗ / not implemented yet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .core import CheckResult, PropertyFails, StageContext, float64_and_own_rng, where_in_learner_code
from .layer_stages import stage_activation, stage_linear
from .loss_stages import stage_loss
from .module_stage import stage_module
from .sequential_stage import stage_sequential
from .sgd_stage import stage_sgd

# -- the one entry point --------------------------------------------------------------------------------------------
STAGES: dict[str, tuple[Callable[[StageContext], list], str]] = {
    "module": (stage_module, "Module"),
    "linear": (stage_linear, "Linear"),
    "relu": (stage_activation, "ReLU"),
    "tanh": (stage_activation, "Tanh"),
    "sigmoid": (stage_activation, "Sigmoid"),
    "log_softmax": (stage_activation, "LogSoftmax"),
    "mse": (stage_loss, "MSE"),
    "cross_entropy": (stage_loss, "CrossEntropy"),
    "sequential": (stage_sequential, "Sequential"),
    "sgd": (stage_sgd, "SGD"),
}


def check(stage: str, *classes: Any, seed: int = 0, quiet: bool = False) -> CheckResult:
    """Check the learner's class for one stage; print ✓ per property or one ✗ line; return a CheckResult.

    stage: one of STAGES ("linear", "relu", "tanh", "sigmoid", "log_softmax", "mse", "cross_entropy",
    "sequential", "sgd", "module"). classes: the learner's class (for "sequential", optionally the
    learner's module classes after it, e.g. ``check("sequential", Sequential, Linear, ReLU)``, to
    also check them together). seed: another seed gives other shapes and numbers (hidden tests).
    """
    if stage not in STAGES:
        raise ValueError(f"check: unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    build, cls_name = STAGES[stage]
    if not classes:
        raise TypeError(f"check({stage!r}, ...): pass your {cls_name} class, e.g. check({stage!r}, {cls_name})")
    for c in classes:
        if not isinstance(c, type):
            raise TypeError(f"check({stage!r}, ...): expected a class such as {cls_name}, got an instance of "
                            f"{type(c).__name__} (pass the class, not an object)")
    result = CheckResult(stage)
    out = (lambda line: None) if quiet else print
    with float64_and_own_rng(seed) as g:
        ctx = StageContext(stage, classes, seed, g)
        try:
            props = build(ctx)
        except NotImplementedError as e:
            props, result.failed, result.not_implemented = [], "setup", True
            result.message = f"… {cls_name}: not implemented yet: {e}"
        except PropertyFails as e:
            props, result.failed, result.message = [], "setup", f"✗ {stage} · setup: {e}"
        for name, description, run in props:
            try:
                run()
            except NotImplementedError as e:
                result.failed, result.not_implemented = name, True
                what = e or "a method still raises NotImplementedError"
                result.message = f"… {cls_name}: not implemented yet: {what}"
                break
            except PropertyFails as e:
                result.failed, result.message = name, f"✗ {stage} · {name}: {e}"
                break
            except Exception as e:             # noqa: BLE001 - any error in the learner's code is reported
                result.failed = name
                result.message = (f"✗ {stage} · {name}: your code raised {type(e).__name__}: {e}"
                                  f"{where_in_learner_code(e)}")
                break
            result.passed.append(name)
            out(f"✓ {stage} · {name}: {description}")
    if result.message:
        out(result.message)
    return result
