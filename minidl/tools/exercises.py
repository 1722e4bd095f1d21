"""Checkers for the notebooks' "Your turn" exercises.

They say exactly what is wrong: which tensor, which index, the expected and the actual
value. They print a verdict and return True/False instead of raising, so an unfinished
exercise never stops "Run all": a stub's ``NotImplementedError`` is one "not implemented yet" line.

    check(answer, expected)                       tensors (or numbers) against the expected ones
    check_output(fn, args, expected)              fn(*args) against the expected result
    check_function(fn, reference, make_inputs)    fn against a reference on random inputs
    check_module(Cls, Reference, input_shapes)    a module's backward against a reference module's,
                                                  and two backwards give twice the parameter gradient
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from minidl.framework.checks import shape_text


def _as_dict(value: Any, names: Sequence[str] | None) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    values = list(value) if isinstance(value, (tuple, list)) else [value]
    names = list(names) if names is not None else \
        (["result"] if len(values) == 1 else [f"result[{i}]" for i in range(len(values))])
    if len(values) != len(names):
        return {"__count__": (len(names), len(values))}
    return dict(zip(names, values, strict=True))


def _as_tensor(value: Any) -> Any:
    """A Python number as a 0-d float64 tensor (an answer may be a float); anything else unchanged."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=torch.float64)
    return value


def _factor(ratio: float) -> str:
    """How a constant ratio answer/expected reads: 2× too large, 4× too small (never "0.25× too large"),
    and the same with "and of the wrong sign" for a negative ratio."""
    size = abs(ratio)
    text = f"{size:.4g}× too large" if size > 1 else f"{1 / size:.4g}× too small" if size < 1 else "the right size"
    if ratio < 0:
        return f"everything is {text} and of the wrong sign (a sign and a factor?)"
    return f"everything is {text} (a missing or extra factor?)"


def _number(v: float) -> str:
    """Six decimals, or six significant digits for a value too small or large to show that way."""
    return f"{v:.6f}" if v == 0 or 1e-3 <= abs(v) < 1e6 else f"{v:.6g}"


def _shapes_of(args: Sequence[Any]) -> str:
    """'of shapes (1, 3), (4, 3)' for tensors; other arguments by their type ('History, History')."""
    text = ", ".join(shape_text(a) if isinstance(a, Tensor) else type(a).__name__ for a in args)
    return f"of shapes {text}" if all(isinstance(a, Tensor) for a in args) else text


def raised(e: BaseException, where: str = "your function", args: Sequence[Any] = ()) -> str:
    """One ✗ line for an exception from the learner's code: a stub is "not implemented yet"; a shape
    error names the inputs' shapes (torch's message alone names none of your tensors)."""
    message = str(e).strip().splitlines()[0] if str(e).strip() else ""
    if isinstance(e, NotImplementedError):
        return f"✗ not implemented yet: {message or where + ' still raises NotImplementedError'}"
    line = f"✗ {where} raised {type(e).__name__}: {message}"
    if args and isinstance(e, (RuntimeError, ValueError, IndexError)) and \
            any(w in message for w in ("shape", "size", "dimension", "mat1", "broadcast")):
        line += (f" (on inputs {_shapes_of(args)}: write each product's shapes down, "
                 f"e.g. (N, out) · (out, in) -> (N, in))")
    return line


def _expected_shape(expected: Tensor, symbol: str | None) -> str:
    """'(N, 2) = (5, 2)' when the shape has a symbolic form that differs from the numbers, else '(5, 2)'."""
    numbers = shape_text(expected)
    return f"{symbol} = {numbers}" if symbol and symbol != numbers else numbers


def symbolic_shape(shape: Sequence[int], batch_dims: Sequence[int]) -> str:
    """(N, 2) for the shape (5, 2) when dimension 0 is the batch (``batch_dims`` = [0]); (5, 2) if none is."""
    shape = tuple(shape)
    return "(" + ", ".join("N" if d in batch_dims else str(s) for d, s in enumerate(shape)) + \
        ("," if len(shape) == 1 else "") + ")"


def diagnose(name: str, actual: Any, expected: Tensor, atol: float, rtol: float,
             symbol: str | None = None) -> str | None:
    """None if ``actual`` matches ``expected``; otherwise one line saying what is wrong.

    ``symbol`` is the expected shape in letters, e.g. "(N, 2)": a wrong shape then reads
    "expected shape (N, 2) = (5, 2), got (2, 5)".
    """
    actual, expected = _as_tensor(actual), _as_tensor(expected)
    want = _expected_shape(expected, symbol)
    if actual is None or actual is Ellipsis:
        return f"{name}: not computed yet (got {actual!r}); expected a tensor of shape {want}"
    if not isinstance(actual, Tensor):
        return f"{name}: expected a torch.Tensor of shape {want}, got {type(actual).__name__}"
    if actual.shape != expected.shape:
        hint = ""
        if actual.dim() == 2 and tuple(actual.shape) == tuple(expected.shape)[::-1]:
            hint = " (transposed?)"
        elif actual.numel() == expected.numel():
            hint = " (right size, wrong shape: a reshape or a missing keepdim?)"
        elif expected.dim() == actual.dim() + 1 or actual.dim() == expected.dim() + 1:
            hint = " (a sum over the wrong dimension, or a missing one?)"
        return f"{name}: expected shape {want}, got {shape_text(actual)}{hint}"
    a, e = actual.detach().to(torch.float64), expected.detach().to(torch.float64)
    if not torch.isfinite(a).all():
        i = tuple(int(k) for k in (~torch.isfinite(a)).nonzero()[0])
        return f"{name}{list(i)}: got {float(a[i])}, expected {float(e[i]):.6g}"
    bad = (a - e).abs() > atol + rtol * e.abs()
    if not bad.any():
        return None
    i = tuple(int(k) for k in bad.nonzero()[0])
    where = f"{name}{list(i)}" if i else name
    hint = ""
    if torch.allclose(a, -e, atol=atol, rtol=rtol):
        hint = " — every entry has the wrong sign"
    elif (e.abs() > 0).any():
        ratio = a[e.abs() > 0] / e[e.abs() > 0]
        if torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-6) and float(ratio[0]) != 0:
            hint = f" — {_factor(float(ratio[0]))}"
    return (f"{where}: expected {_number(float(e[i]))}, got {_number(float(a[i]))} "
            f"({int(bad.sum())} of {bad.numel()} entries wrong){hint}")


def check(answer: Any, expected: Any, *, names: Sequence[str] | None = None, atol: float = 1e-8,
          rtol: float = 1e-6, quiet: bool = False, shapes: dict[str, str] | None = None) -> bool:
    """Compare an answer (a tensor, a tuple of tensors or a dict) with the expected one.

    Prints ✓ or one ✗ line per wrong tensor, and returns whether everything matched.
    ``shapes`` gives expected shapes in letters by name ({"grad_x": "(N, 2)"}) for the shape messages.
    """
    exp = _as_dict(expected, names)
    got = _as_dict(answer, list(exp))
    if "__count__" in got:
        want, came = got["__count__"]
        lines = [f"✗ expected {want} results ({', '.join(exp)}), got {came}"]
    else:
        lines = [f"✗ {msg}" for n, e in exp.items()
                 if (msg := diagnose(n, got.get(n), e, atol, rtol, (shapes or {}).get(n))) is not None]
    if not quiet:
        if lines:
            print("\n".join(lines))
        else:
            err = max(float((_as_tensor(got[n]).detach().double() - _as_tensor(e).double()).abs().max())
                      if _as_tensor(e).numel() else 0.0 for n, e in exp.items())
            print(f"✓ {', '.join(exp)}: correct (largest difference {err:.1e})")
    return not lines


def check_function(fn: Callable[..., Any], reference: Callable[..., Any],
                   make_inputs: Callable[[torch.Generator], tuple], *, names: Sequence[str] | None = None,
                   trials: int = 3, atol: float = 1e-8, rtol: float = 1e-6) -> bool:
    """Call the learner's ``fn`` and the ``reference`` on the same random inputs, ``trials`` times.

    ``make_inputs(generator)`` returns the argument tuple; trial 0 should use a batch of one.
    An exception in the learner's code is reported, not raised. A dimension of a result that is the
    batch size (the first argument's first dimension) in every trial is named N in shape messages.
    """
    inputs = [make_inputs(torch.Generator().manual_seed(trial)) for trial in range(trials)]
    results = [reference(*[a.clone() if isinstance(a, Tensor) else a for a in args]) for args in inputs]
    shapes = _batch_shapes(inputs, [_as_dict(r, names) for r in results])
    for trial, (args, expected) in enumerate(zip(inputs, results, strict=True)):
        try:
            answer = fn(*[a.clone() if isinstance(a, Tensor) else a for a in args])
        except Exception as e:                      # the learner's code: report, don't crash
            print(raised(e, args=args))
            return False
        if not check(answer, expected, names=names, atol=atol, rtol=rtol, quiet=True):
            print(f"✗ trial {trial + 1} of {trials}, inputs {_shapes_of(args)}:")
            check(answer, expected, names=names, atol=atol, rtol=rtol, shapes=shapes[trial])
            return False
    print(f"✓ correct on {trials} random inputs ({', '.join(_as_dict(expected, names))})")
    return True


def _batch_shapes(inputs: Sequence[tuple], results: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Per trial, each result's shape in letters ("(N, 2)"): a dimension is N if it equals the batch
    size (the first tensor argument's first dimension) in every trial and the batch size varies."""
    batches = [next((a.shape[0] for a in args if isinstance(a, Tensor) and a.dim() > 0), None) for args in inputs]
    if None in batches or len(set(batches)) < 2:
        return [{} for _ in inputs]
    out: list[dict[str, str]] = [{} for _ in inputs]
    for name in results[0]:
        values = [_as_tensor(r.get(name)) for r in results]
        if not all(isinstance(v, Tensor) and v.dim() == values[0].dim() for v in values):
            continue
        dims = [d for d in range(values[0].dim()) if all(v.shape[d] == b for v, b in zip(values, batches, strict=True))]
        for trial, v in enumerate(values):
            out[trial][name] = symbolic_shape(v.shape, dims)
    return out


def check_output(fn: Callable[..., Any], args: Sequence[Any], expected: Any, *,
                 names: Sequence[str] | None = None, atol: float = 1e-8, rtol: float = 1e-6) -> bool:
    """Call the learner's ``fn(*args)`` and check the result against ``expected`` (see ``check``).
    An exception in the learner's code is one ✗ line, not a traceback."""
    try:
        answer = fn(*args)
    except Exception as e:                          # the learner's code: report, don't crash
        print(raised(e, args=args))
        return False
    return check(answer, expected, names=names, atol=atol, rtol=rtol)


def check_module(module_class: Callable[..., Any], reference_class: Callable[..., Any],
                 input_shapes: Sequence[tuple[int, ...]], *, args: Sequence[Any] = (),
                 atol: float = 1e-8, rtol: float = 1e-6) -> bool:
    """Check the learner's module's backward against a reference module's, in float64.

    For each input shape (the first should be a batch of one): both modules are built from the same
    seed (``module_class(*args)``, ``reference_class(*args)``), run forward on the same input with the
    same random numbers (Dropout's mask), then backward on the same upstream gradient; the returned
    dL/dx and every parameter's ``.grad`` must match. Then a second backward without ``zero_grad``
    must give **twice** each parameter gradient (gradients accumulate) and the same dL/dx again.
    Prints ✓ or the first ✗ line (which property, a hint, never the answer); returns whether all held.
    """
    name = getattr(module_class, "__name__", "your module")
    for trial, shape in enumerate(input_shapes):
        gen = torch.Generator().manual_seed(trial)
        x = torch.randn(*shape, generator=gen, dtype=torch.float64)
        try:
            torch.manual_seed(trial)
            reference = reference_class(*args).double()
            torch.manual_seed(trial)
            ours = module_class(*args).double()
        except Exception as e:
            print(raised(e, f"{name}({', '.join(repr(a) for a in args)})"))
            return False
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(100 + trial)
            y_ref = reference(x.clone())
        grad_y = torch.randn(y_ref.shape, generator=gen, dtype=torch.float64)
        expected = {"dL/dx": reference.backward(grad_y.clone())}
        expected.update({f"{n}.grad": p.grad.clone() for n, p in reference.named_parameters()})
        try:
            ours.zero_grad()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(100 + trial)
                ours(x.clone())
            got = {"dL/dx": ours.backward(grad_y.clone())}
        except Exception as e:
            print(raised(e, f"{name}.backward", [x]))
            return False
        params = dict(ours.named_parameters())
        for n, _ in reference.named_parameters():
            got[f"{n}.grad"] = params[n].grad.clone() if n in params else None
        if not check(got, expected, atol=atol, rtol=rtol, quiet=True):
            print(f"✗ {name}.backward, input of shape {shape_text(x)}: a gradient differs from "
                  f"{getattr(reference_class, '__name__', 'the reference')}'s:")
            check(got, expected, atol=atol, rtol=rtol, shapes={"dL/dx": symbolic_shape(x.shape, [0])})
            return False
        try:
            again = ours.backward(grad_y.clone())
        except Exception as e:
            print(raised(e, f"{name}.backward (called a second time)", [x]))
            return False
        for n, p in params.items():
            twice = 2 * got[f"{n}.grad"]
            if not torch.allclose(p.grad, twice, atol=atol, rtol=rtol):
                same = torch.allclose(p.grad, got[f"{n}.grad"], atol=atol, rtol=rtol)
                print(f"✗ accumulation: after a second backward (no zero_grad) {n}.grad should be twice the "
                      f"first, got {'the same as the first' if same else 'something else'} — "
                      f"add into .grad (+=), don't assign it (=)")
                return False
        if diagnose("dL/dx", again, got["dL/dx"], atol, rtol) is not None:
            print("✗ a second backward returned a different dL/dx: backward must use what forward "
                  "cached and change nothing but the .grad it adds to")
            return False
    sizes = ", ".join(str(s[0]) for s in input_shapes)
    grads = ", ".join(["dL/dx"] + [f"{n}.grad" for n in params])
    print(f"✓ {name}.backward: {grads} correct on batches of {sizes}; "
          f"two backwards give twice the parameter gradients")
    return True
