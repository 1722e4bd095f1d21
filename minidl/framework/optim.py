"""Optimizer, SGD, RMSprop, Adam, AdamW; the schedules StepLR, CosineAnnealingLR.   Notebooks 06, 07, 17

The update rules are torch.optim's, written out in each docstring, so a minidl run and
its torch twin take the same steps. Each also takes ``l1`` (λ₁, not in torch): the subgradient
λ₁ sign(θ) of λ₁ Σ|θ| is added to the gradient first (add_l1), so a step is torch's step on the
gradient of loss + λ₁ Σ|θ|. Hyperparameters live in ``param_groups`` (a list of
dicts, as in torch) and can change between steps: ``opt.lr = 0.01`` sets every group.
A schedule (torch.optim.lr_scheduler's) sets every group's lr once per epoch:
``sched.step()`` after the epoch's updates (``fit(..., scheduler=sched)`` does it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from .checks import positive_int, tensor_like
from .module import Parameter

# hyperparameters added after state dicts were first saved: a saved group without one gets this value
ADDED_LATER = {"l1": 0.0}


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


def add_l1(grad: torch.Tensor, theta: torch.Tensor, l1: float) -> torch.Tensor:
    """g = ∇θ + λ₁ sign(θ): a subgradient of loss + λ₁ Σᵢ|θᵢ|  (grad itself when λ₁ = 0).

    Derivation. |θ| = max(θ, −θ) has slope +1 for θ > 0 and −1 for θ < 0: d|θ|/dθ = sign(θ).
    At θ = 0 it has a corner and no derivative; its subdifferential there is every slope s of a
    line through the origin that stays below |θ|, ∂|θ|(0) = {s : |θ| ≥ s θ for all θ} = [−1, 1].
    Any s in it is a valid subgradient; sign(0) = 0 is the one of smallest norm, and it is what
    autograd's backward of abs gives (grad · sgn(θ)). Summing over the entries: λ₁ sign(θ).

    Plain (sub)gradient L1 does not give exact zeros: each step moves θ by lr·λ₁ towards 0 however
    small θ is, so a weight near 0 jumps over it and back, hovering within about lr·λ₁ of 0
    (soft-thresholding, θ ← sign(θ) max(|θ| − lr λ₁, 0), would land on 0).
    """
    return grad if l1 == 0 else grad.add(theta.sign(), alpha=l1)


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
        """Check a group's hyperparameters; subclasses add theirs. lr = 0 is allowed, as in torch: a
        schedule may reach it (CosineAnnealingLR with eta_min = 0 at epoch T_max)."""
        group["lr"] = _number(type(self).__name__, "lr", group["lr"], 0.0)

    @property
    def lr(self) -> float:
        """The first group's learning rate; setting it sets every group's (live, between steps)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        value = _number(type(self).__name__, "lr", value, 0.0)
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
    optional_state: tuple[str, ...] = ()     # keys of state_kinds a parameter's state may lack

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
            theirs = {**{k: v for k, v in ADDED_LATER.items() if k in mine}, **theirs}   # saved before l1
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
        if kinds is not None and s:
            unexpected, missing = sorted(set(s) - set(kinds)), sorted(set(kinds) - set(s) - set(self.optional_state))
            if unexpected or missing:
                raise ValueError(f"{where}: state of parameter {i}: {'unexpected' if unexpected else 'missing'} "
                                 f"key {(unexpected or missing)[0]!r} (expected {sorted(kinds)})")
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

        g ← ∇θ + λ₁ sign(θ) + λ θ                  (l1 λ₁: add_l1; weight_decay λ)
        b ← g                     at the first step,
        b ← μ b + (1 − τ) g       afterwards        (momentum μ, dampening τ)
        g ← g + μ b   if nesterov   else   g ← b
        θ ← θ − lr · g

    With μ = 0 this is θ ← θ − lr ∇θ. The "velocity" convention v ← ρ v − lr ∇θ, θ ← θ + v
    takes the same steps when lr is constant (v = −lr · b). λ₁ = 0 (the default): torch's SGD.
    """

    state_kinds = {"momentum_buffer": "tensor"}

    def __init__(self, params: Iterable[Parameter] | Iterable[dict], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *, l1: float = 0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, l1=l1))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        group["momentum"] = _number("SGD", "momentum", group["momentum"], 0.0, 1.0, high_open=True)
        group["dampening"] = _number("SGD", "dampening", group["dampening"], 0.0, 1.0)
        group["weight_decay"] = _number("SGD", "weight_decay", group["weight_decay"], 0.0)
        group["l1"] = _number("SGD", "l1", group["l1"], 0.0)
        if not isinstance(group["nesterov"], bool):
            raise TypeError(f"SGD: nesterov must be True or False, got {group['nesterov']!r}")
        if group["nesterov"] and (group["momentum"] == 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']:g}, dampening={group['dampening']:g}")

    def step(self) -> None:
        for group in self.param_groups:
            lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov, l1 = group["weight_decay"], group["nesterov"], group["l1"]
            for p in group["params"]:
                g = add_l1(p.grad, p.data, l1)                       # g ← ∇θ + λ₁ sign(θ)
                g = g if wd == 0 else g.add(p.data, alpha=wd)       # g ← g + λ θ
                if mu != 0:
                    state = self.state.setdefault(p, {})
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = b = g.clone()
                    else:
                        b = state["momentum_buffer"].mul_(mu).add_(g, alpha=1.0 - tau)
                    g = g.add(b, alpha=mu) if nesterov else b
                p.data.add_(g, alpha=-lr)


class RMSprop(Optimizer):
    """Root-mean-square propagation, exactly torch.optim.RMSprop (not centered).   Notebook 17

        g ← ∇θ + λ₁ sign(θ) + λ θ                       (l1 λ₁: add_l1; weight_decay λ)
        v ← α v + (1 − α) g²                           (starts at 0; square_avg)
        θ ← θ − lr · g / (√v + ε)                      if momentum μ = 0
        b ← μ b + g / (√v + ε),  θ ← θ − lr · b        otherwise   (b starts at 0)

    Each parameter's step is divided by the root mean square of its recent gradients: Adam's
    denominator without Adam's bias correction (Adam = momentum + RMSprop + bias correction).
    """

    state_kinds = {"step": "step", "square_avg": "tensor", "momentum_buffer": "tensor"}
    optional_state = ("momentum_buffer",)                 # made at the first step with μ > 0, as torch

    def __init__(self, params: Iterable[Parameter] | Iterable[dict], lr: float = 0.01, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0, *, l1: float = 0.0):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      l1=l1))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        group["alpha"] = _number("RMSprop", "alpha", group["alpha"], 0.0, 1.0, high_open=True)
        group["eps"] = _number("RMSprop", "eps", group["eps"], 0.0)
        group["weight_decay"] = _number("RMSprop", "weight_decay", group["weight_decay"], 0.0)
        group["momentum"] = _number("RMSprop", "momentum", group["momentum"], 0.0, 1.0, high_open=True)
        group["l1"] = _number("RMSprop", "l1", group["l1"], 0.0)

    def step(self) -> None:
        for group in self.param_groups:
            lr, alpha, eps, wd, mu, l1 = (group[k] for k in ("lr", "alpha", "eps", "weight_decay", "momentum", "l1"))
            for p in group["params"]:
                g = add_l1(p.grad, p.data, l1)                       # g ← ∇θ + λ₁ sign(θ)
                g = g if wd == 0 else g.add(p.data, alpha=wd)       # g ← g + λ θ
                state = self.state.setdefault(p, {})
                if not state:
                    state.update(step=0, square_avg=torch.zeros_like(p.data))
                state["step"] += 1
                v = state["square_avg"].mul_(alpha).addcmul_(g, g, value=1.0 - alpha)   # v ← α v + (1 − α) g²
                avg = v.sqrt().add_(eps)                                                 # √v + ε
                if mu == 0:
                    p.data.addcdiv_(g, avg, value=-lr)                                   # θ ← θ − lr g / (√v + ε)
                    continue
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p.data)
                b = state["momentum_buffer"].mul_(mu).addcdiv_(g, avg)                   # b ← μ b + g / (√v + ε)
                p.data.add_(b, alpha=-lr)                                                # θ ← θ − lr b


class Adam(Optimizer):
    """Adaptive moments, exactly torch.optim.Adam (L2 weight decay, no amsgrad).   Notebook 07

        g ← ∇θ + λ₁ sign(θ) + λ θ       (l1 λ₁: add_l1; weight_decay λ)
        m ← β₁ m + (1 − β₁) g          v ← β₂ v + (1 − β₂) g²          (start at 0)
        m̂ = m / (1 − β₁ᵗ)              v̂ = v / (1 − β₂ᵗ)               (bias correction)
        θ ← θ − lr · m̂ / (√v̂ + ε)

    Computed as torch does: θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
    AdamW (below) is this step with the weight decay taken out of g (``decoupled``).
    """

    state_kinds = {"step": "step", "exp_avg": "tensor", "exp_avg_sq": "tensor"}
    decoupled = False            # AdamW (below): θ ← θ (1 − lr λ) instead of g ← ∇θ + λ θ

    def __init__(self, params: Iterable[Parameter] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0, *,
                 l1: float = 0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, l1=l1))

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        where, betas = type(self).__name__, group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{where}: betas must be a pair (β₁, β₂), got {betas!r}")
        group["betas"] = tuple(_number(where, f"betas[{i}]", b, 0.0, 1.0, high_open=True)
                               for i, b in enumerate(betas))
        group["eps"] = _number(where, "eps", group["eps"], 0.0)
        group["weight_decay"] = _number(where, "weight_decay", group["weight_decay"], 0.0)
        group["l1"] = _number(where, "l1", group["l1"], 0.0)

    def step(self) -> None:
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                g = add_l1(p.grad, p.data, group["l1"])               # g ← ∇θ + λ₁ sign(θ), before θ moves
                if wd != 0 and self.decoupled:
                    p.data.mul_(1.0 - lr * wd)                        # AdamW: θ ← θ (1 − lr λ)
                elif wd != 0:
                    g = g.add(p.data, alpha=wd)                       # Adam:  g ← g + λ θ
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


class AdamW(Adam):
    """Adam with decoupled weight decay, exactly torch.optim.AdamW.   Notebook 17

        g ← ∇θ + λ₁ sign(θ)                                          (l1 λ₁, not decoupled: add_l1)
        θ ← θ (1 − lr · λ)                                            (weight_decay λ)
        m ← β₁ m + (1 − β₁) g          v ← β₂ v + (1 − β₂) g²          (start at 0)
        θ ← θ − lr · m̂ / (√v̂ + ε)                                      (as in Adam)

    Adam(weight_decay=λ) adds λθ to the gradient, so the decay goes through m and v and is
    divided by √v̂ like the rest: a parameter with large gradients is hardly decayed. AdamW
    shrinks every parameter by the same factor 1 − lr·λ (Loshchilov & Hutter, 2019). As in
    torch, AdamW is Adam.step with ``decoupled = True``; note the default λ = 0.01.
    """

    decoupled = True

    def __init__(self, params: Iterable[Parameter] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.01, *,
                 l1: float = 0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, l1=l1)


# -- learning-rate schedules ---------------------------------------------------------------------------
class LRScheduler:
    """Sets every group's lr once per epoch, by a rule, as torch.optim.lr_scheduler.   Notebook 17

    Made after the optimizer (the base lrs are the groups' lrs then); ``step()`` once per epoch,
    after that epoch's updates, sets the lrs for the next epoch; ``get_last_lr()`` is the list of
    lrs set last; ``last_epoch`` counts the steps. Like torch, a subclass's ``next_lr`` computes
    the new lr from the group's current one, so an lr changed by hand between epochs is followed
    (the schedule goes on from it), and the values are torch's, bit for bit. Unlike torch,
    nothing is added to the optimizer's param_groups (torch adds "initial_lr").
    """

    def __init__(self, optimizer: Optimizer, **hyper: Any):
        where = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{where}: optimizer must be a minidl Optimizer (md.SGD(...), md.Adam(...)), "
                            f"got {type(optimizer).__name__}")
        self.__dict__.update(self._checked(where, **hyper))
        self.hyper = tuple(hyper)
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_lr = list(self.base_lrs)
        self.last_epoch = 0

    @staticmethod
    def _checked(where: str, **hyper: Any) -> dict[str, Any]:
        """The hyperparameters, checked (a subclass's own); ValueError/TypeError if one is bad."""
        raise NotImplementedError

    def next_lr(self, epoch: int, lr: float, base_lr: float) -> float:
        """The lr for epoch ``epoch`` (>= 1) from the group's current ``lr`` and its ``base_lr``."""
        raise NotImplementedError

    def step(self) -> None:
        """One epoch done: last_epoch += 1, and every group's lr set by the rule."""
        groups = self.optimizer.param_groups
        if len(groups) != len(self.base_lrs):
            raise RuntimeError(f"{type(self).__name__}.step: the optimizer has {len(groups)} parameter groups, "
                               f"the schedule was made for {len(self.base_lrs)}")
        epoch = self.last_epoch + 1
        lrs = [self.next_lr(epoch, group["lr"], base) for group, base in zip(groups, self.base_lrs, strict=True)]
        for group, lr in zip(groups, lrs, strict=True):
            group["lr"] = lr
        self.last_epoch, self.last_lr = epoch, lrs

    def get_last_lr(self) -> list[float]:
        """The lrs the last step() set, one per parameter group (the base lrs before any step)."""
        return list(self.last_lr)

    def state_dict(self) -> dict[str, Any]:
        """{hyperparameters..., "base_lrs", "last_lr", "last_epoch"}: everything but the optimizer."""
        return {**{k: getattr(self, k) for k in self.hyper}, "base_lrs": list(self.base_lrs),
                "last_lr": list(self.last_lr), "last_epoch": self.last_epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what state_dict() returned; checked first, on any error nothing changes. Like torch,
        the optimizer's lr is left as it is: load the optimizer's state_dict too (it holds the lr)."""
        where = f"{type(self).__name__}.load_state_dict"
        expected = {*self.hyper, "base_lrs", "last_lr", "last_epoch"}
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            got = f"keys {sorted(map(str, state_dict))}" if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{where}: expected a dict with keys {sorted(expected)}, got {got}")
        hyper = self._checked(where, **{k: state_dict[k] for k in self.hyper})
        lists = {}
        for name in ("base_lrs", "last_lr"):
            values = state_dict[name]
            if not isinstance(values, (list, tuple)) or len(values) != len(self.base_lrs):
                raise ValueError(f"{where}: {name} must be a list of {len(self.base_lrs)} lrs (one per parameter "
                                 f"group), got {values!r:.80}")
            lists[name] = [_number(where, f"{name}[{i}]", v, 0.0) for i, v in enumerate(values)]
        epoch = state_dict["last_epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"{where}: last_epoch must be an int >= 0, got {epoch!r}")
        self.__dict__.update(hyper, **lists, last_epoch=epoch)

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyper)
        return f"{type(self).__name__}({hyper}, last_epoch={self.last_epoch})"


class StepLR(LRScheduler):
    """lr = base_lr · γ^⌊epoch / step_size⌋, exactly torch.optim.lr_scheduler.StepLR.   Notebook 17

    Computed as torch does: the current lr times γ at every multiple of ``step_size`` (γ = 0.1:
    divided by ten every step_size epochs).
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        super().__init__(optimizer, step_size=step_size, gamma=gamma)

    @staticmethod
    def _checked(where: str, step_size: int, gamma: float) -> dict[str, Any]:
        return dict(step_size=positive_int(step_size, "step_size", where),
                    gamma=_number(where, "gamma", gamma, 0.0, low_open=True))

    def next_lr(self, epoch: int, lr: float, base_lr: float) -> float:
        return lr * self.gamma if epoch % self.step_size == 0 else lr


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (base_lr − η_min) · (1 + cos(π · epoch / T_max)) / 2,   Notebook 17
    exactly torch.optim.lr_scheduler.CosineAnnealingLR.

    Half a cosine from base_lr down to η_min at epoch T_max. Past T_max the formula goes on, as
    in torch: back up to base_lr at 2·T_max, and so on (stop training at T_max, or use StepLR).
    Computed as torch does, from the current lr: multiplied by the ratio of two consecutive
    (1 + cos) terms, which is the formula above up to rounding (tests/unit/framework/test_optim.py).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):   # noqa: N803 (torch's name)
        super().__init__(optimizer, T_max=T_max, eta_min=eta_min)

    @staticmethod
    def _checked(where: str, T_max: int, eta_min: float) -> dict[str, Any]:   # noqa: N803
        return dict(T_max=positive_int(T_max, "T_max", where), eta_min=_number(where, "eta_min", eta_min, 0.0))

    def next_lr(self, epoch: int, lr: float, base_lr: float) -> float:
        T, low = self.T_max, self.eta_min
        if (epoch - 1 - T) % (2 * T) == 0:        # just past a minimum, where the ratio below is 0 / 0
            return lr + (base_lr - low) * (1 - math.cos(math.pi / T)) / 2
        return (1 + math.cos(math.pi * epoch / T)) / (1 + math.cos(math.pi * (epoch - 1) / T)) * (lr - low) + low
