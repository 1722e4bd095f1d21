"""Optimizer, SGD (momentum, dampening, Nesterov, weight decay) and Adam.   Notebooks 06, 07

The update rules are torch.optim's, written out in each docstring, so a minidl run and
its torch twin take the same steps. Hyperparameters live in ``param_groups`` (a list of
dicts, as in torch) and can change between steps: ``opt.lr = 0.01`` sets every group.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from .checks import tensor_like
from .module import Parameter


def _number(where: str, name: str, value: Any, low: float, high: float = math.inf, *,
            low_open: bool = False, high_open: bool = False) -> float:
    """value as a float, or a ValueError saying the allowed interval."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < low or (low_open and value == low) or value > high or (high_open and value == high):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        rule = f"> {low:g}" if high == math.inf and low_open else \
            f">= {low:g}" if high == math.inf else f"in {interval}"
        raise ValueError(f"{where}: {name} must be {rule}, got {value!r}")
    return float(value)


class Optimizer:
    """Base class: parameter groups, per-parameter state, zero_grad, state_dict."""

    def __init__(self, params: Iterable[Parameter] | Iterable[dict], defaults: dict[str, Any]):
        where = type(self).__name__
        items = list(params) if not isinstance(params, (Parameter, torch.Tensor)) else [params]
        if not items:
            raise ValueError(f"{where}: got an empty parameter list")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Parameter, dict[str, Any]] = {}
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        where = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{where}: a parameter group must be a dict with a 'params' key, got {group!r}")
        params = list(group["params"])
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{where}: params[{i}] must be a minidl Parameter "
                                f"(pass model.parameters()), got {type(p).__name__}")
            if id(p) in seen:
                raise ValueError(f"{where}: params[{i}] appears in more than one parameter group")
        full = {**self.defaults, **group, "params": params}
        self._validate(full)
        self.param_groups.append(full)

    def _validate(self, group: dict[str, Any]) -> None:
        """Check a group's hyperparameters; subclasses add theirs."""
        group["lr"] = _number(type(self).__name__, "lr", group["lr"], 0.0, low_open=True)

    @property
    def lr(self) -> float:
        """The first group's learning rate; setting it sets every group's (live, between steps)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        value = _number(type(self).__name__, "lr", value, 0.0, low_open=True)
        for group in self.param_groups:
            group["lr"] = value

    def zero_grad(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.zero_grad()

    def step(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    # -- state -----------------------------------------------------------------------------
    def _all_params(self) -> list[Parameter]:
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict[str, Any]:
        """Like torch: {"state": {index: {name: tensor or number}}, "param_groups": [...]}, copied."""
        index = {id(p): i for i, p in enumerate(self._all_params())}
        state = {index[id(p)]: {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in s.items()}
                 for p, s in self.state.items()}
        groups, start = [], 0
        for g in self.param_groups:
            n = len(g["params"])
            groups.append({**{k: v for k, v in g.items() if k != "params"},
                           "params": list(range(start, start + n))})
            start += n
        return {"state": state, "param_groups": groups}

    # the per-parameter state a subclass keeps: name -> "tensor" (the parameter's shape) or "step" (an
    # int >= 1); None: not checked by name (a learner's own optimizer)
    state_kinds: dict[str, str] | None = None

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state. Everything is checked first (keys, types, shapes, dtype kinds,
        devices, hyperparameter ranges); on any error nothing changes."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            got = f"keys {sorted(map(str, state_dict))}" if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{where}: expected a dict with 'state' and 'param_groups' keys (only), got {got}")
        groups, states = state_dict["param_groups"], state_dict["state"]
        if not isinstance(groups, (list, tuple)) or \
                not all(isinstance(g, dict) and isinstance(g.get("params"), (list, tuple)) for g in groups):
            raise TypeError(f"{where}: 'param_groups' must be a list of dicts with a 'params' list, got {groups!r:.80}")
        if [len(g["params"]) for g in groups] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError(f"{where}: group sizes {[len(g['params']) for g in groups]} differ from "
                             f"this optimizer's {[len(g['params']) for g in self.param_groups]}")
        new_groups = []
        for i, (mine, theirs) in enumerate(zip(self.param_groups, groups, strict=True)):
            keys, expected = set(theirs) - {"params"}, set(mine) - {"params"}
            if keys != expected:
                odd = sorted(keys - expected) or sorted(expected - keys)
                kind = "unexpected" if keys - expected else "missing"
                raise ValueError(f"{where}: param_groups[{i}]: {kind} hyperparameter {odd[0]!r} "
                                 f"(expected {sorted(expected)})")
            group = {**theirs, "params": mine["params"]}
            try:
                self._validate(group)                       # the constructor's range checks, on a copy
            except (TypeError, ValueError) as e:
                raise type(e)(f"{where}: param_groups[{i}]: {str(e).partition(': ')[2]}") from None
            new_groups.append(group)
        if not isinstance(states, dict):
            raise TypeError(f"{where}: 'state' must be a dict {{parameter index: {{name: value}}}}, "
                            f"got {type(states).__name__}")
        params = self._all_params()
        new_state: dict[Parameter, dict[str, Any]] = {}
        for i, s in states.items():
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(params):
                raise ValueError(f"{where}: 'state' keys must be parameter indices, ints in [0, {len(params)}), "
                                 f"got {i!r}")
            if not isinstance(s, dict):
                raise TypeError(f"{where}: state of parameter {i}: expected a dict, got {type(s).__name__}")
            new_state[params[i]] = self._checked_state(where, i, params[i], s)
        for mine, group in zip(self.param_groups, new_groups, strict=True):
            mine.update(group)                              # the same dicts: live references stay valid
        self.state = new_state

    def _checked_state(self, where: str, i: int, p: Parameter, s: dict[str, Any]) -> dict[str, Any]:
        """A copy of one parameter's state, converted to the parameter's dtype, or a clear error."""
        kinds = self.state_kinds
        if kinds is not None and s and set(s) != set(kinds):
            odd = sorted(set(s) - set(kinds)) or sorted(set(kinds) - set(s))
            raise ValueError(f"{where}: state of parameter {i}: {'unexpected' if set(s) - set(kinds) else 'missing'} "
                             f"key {odd[0]!r} (expected {sorted(kinds)})")
        out = {}
        for k, v in s.items():
            kind = "tensor" if kinds is None and isinstance(v, torch.Tensor) else (kinds or {}).get(k)
            if kind == "step":
                if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                    raise ValueError(f"{where}: state {k!r} of parameter {i} must be an int >= 1, got {v!r}")
                out[k] = v
            elif kind == "tensor":
                out[k] = tensor_like(v, p.data, f"{where}: state {k!r} of parameter {i}")
            else:
                out[k] = v
        return out


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, exactly torch.optim.SGD.   Notebook 06

        g ← ∇θ + λ θ                              (weight_decay λ)
        b ← g                     at the first step,
        b ← μ b + (1 − τ) g       afterwards        (momentum μ, dampening τ)
        g ← g + μ b   if nesterov   else   g ← b
        θ ← θ − lr · g

    With μ = 0 this is θ ← θ − lr ∇θ. The "velocity" convention v ← ρ v − lr ∇θ, θ ← θ + v
    takes the same steps when lr is constant (v = −lr · b).
    """

    state_kinds = {"momentum_buffer": "tensor"}

    def __init__(self, params: Iterable[Parameter] | Iterable[dict], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        group["momentum"] = _number("SGD", "momentum", group["momentum"], 0.0, 1.0, high_open=True)
        group["dampening"] = _number("SGD", "dampening", group["dampening"], 0.0, 1.0)
        group["weight_decay"] = _number("SGD", "weight_decay", group["weight_decay"], 0.0)
        if not isinstance(group["nesterov"], bool):
            raise TypeError(f"SGD: nesterov must be True or False, got {group['nesterov']!r}")
        if group["nesterov"] and (group["momentum"] == 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']:g}, dampening={group['dampening']:g}")

    def step(self) -> None:
        for group in self.param_groups:
            lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                g = p.grad if wd == 0 else p.grad.add(p.data, alpha=wd)
                if mu != 0:
                    state = self.state.setdefault(p, {})
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = b = g.clone()
                    else:
                        b = state["momentum_buffer"].mul_(mu).add_(g, alpha=1.0 - tau)
                    g = g.add(b, alpha=mu) if nesterov else b
                p.data.add_(g, alpha=-lr)


class Adam(Optimizer):
    """Adaptive moments, exactly torch.optim.Adam (L2 weight decay, no amsgrad).   Notebook 07

        g ← ∇θ + λ θ
        m ← β₁ m + (1 − β₁) g          v ← β₂ v + (1 − β₂) g²          (start at 0)
        m̂ = m / (1 − β₁ᵗ)              v̂ = v / (1 − β₂ᵗ)               (bias correction)
        θ ← θ − lr · m̂ / (√v̂ + ε)

    Computed as torch does: θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
    """

    state_kinds = {"step": "step", "exp_avg": "tensor", "exp_avg_sq": "tensor"}

    def __init__(self, params: Iterable[Parameter] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (β₁, β₂), got {betas!r}")
        group["betas"] = tuple(_number("Adam", f"betas[{i}]", b, 0.0, 1.0, high_open=True)
                               for i, b in enumerate(betas))
        group["eps"] = _number("Adam", "eps", group["eps"], 0.0)
        group["weight_decay"] = _number("Adam", "weight_decay", group["weight_decay"], 0.0)

    def step(self) -> None:
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                g = p.grad if wd == 0 else p.grad.add(p.data, alpha=wd)
                state = self.state.setdefault(p, {})
                if not state:
                    state.update(step=0, exp_avg=torch.zeros_like(p.data),
                                 exp_avg_sq=torch.zeros_like(p.data))
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                m.lerp_(g, 1.0 - b1)                                  # m ← β₁ m + (1 − β₁) g
                v.mul_(b2).addcmul_(g, g, value=1.0 - b2)             # v ← β₂ v + (1 − β₂) g²
                denom = (v.sqrt() / math.sqrt(1.0 - b2 ** t)).add_(eps)
                p.data.addcdiv_(m, denom, value=-lr / (1.0 - b1 ** t))
