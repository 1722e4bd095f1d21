"""Diagnostics: what every layer does while the network trains, epoch by epoch.        Notebook 20

A fit() callback. Before training and after every epoch it measures, on one fixed probe batch
(x, t), with the readable forward and backward in eval mode:

    activations   mean and std of every layer's output  y = f(x_in)          act_mean, act_std
    gradients     ‖∂L/∂θ‖ of every parameter, ‖∂L/∂y‖ of every layer's output  grad_norm, act_grad_norm
    updates       ‖θ_e − θ_{e−1}‖ / ‖θ_{e−1}‖, θ_e the parameter after epoch e   update_ratio

(‖·‖ the Frobenius norm, the square root of the sum of squares; L the criterion on the probe batch.)

Why it does its own backward. fit() runs a compiled step where it can (training/fast.py), which
keeps its activations in its own buffers and leaves ``p.grad`` holding the last batch's gradient:
not something to read off. So the gradients here are always the probe batch's, from the modules'
own backward, and the same whichever step trained. Training is not disturbed: every ``p.grad``
is saved before and copied back after (in place: the compiled step's gradients are views of one
flat buffer), eval mode draws no random numbers (Dropout is the identity), and the parameters are
only read. Training with or without Diagnostics gives bit-identical weights (the tests check it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from ..framework.checks import shape_text
from ..framework.losses import Loss
from ..framework.module import Module, Sequential, evaluating
from .history import History
from .metrics import check_model_and_loss, check_pair, first_non_finite_row, prepare_targets

__all__ = ["Diagnostics", "layers_of", "update_ratio"]

RULE_OF_THUMB = 1e-3          # Karpathy: a healthy step moves a weight matrix by ~1/1000 of its norm
SERIES = ("act_mean", "act_std", "act_grad_norm", "grad_norm", "update_ratio")   # {name: [per epoch]}


def update_ratio(before: Tensor, after: Tensor) -> float:
    """‖after − before‖ / ‖before‖: how far a parameter moved, relative to its size.

    inf if ``before`` is all zeros and ``after`` is not (a zero-initialised bias), nan if both are.
    """
    return float((after - before).norm() / before.norm())


def layers_of(model: Module) -> list[tuple[str, Module]]:
    """The model's layers in order, nested Sequentials flattened, named by kind and count:
    [("Linear 1", ...), ("ReLU 1", ...), ("Linear 2", ...), ...]. A model that is not a
    Sequential is one layer (its class name, "Net 1")."""
    def flat(m: Module) -> Iterator[Module]:
        if isinstance(m, Sequential):
            for child in m:
                yield from flat(child)
        else:
            yield m

    counts: dict[str, int] = {}
    named = []
    for m in flat(model):
        kind = type(m).__name__
        counts[kind] = counts.get(kind, 0) + 1
        named.append((f"{kind} {counts[kind]}", m))
    return named


class Diagnostics:
    """A fit() callback recording, per epoch and per layer, the numbers that say whether training is
    healthy (see the module docstring for how they are measured).                        Notebook 20

        diag = Diagnostics(model, criterion, x_probe, y_probe)    # measures the start at once
        fit(model, criterion, optimizer, train, epochs=20, callbacks=diag)
        md.viz.plot_diagnostics(diag)

    ``y_probe``: labels or one-hot / ±1 rows, as for fit() (converted for the criterion the same way).

    Recorded, one entry per entry of ``epoch`` (epoch[0] is the state before the first epoch it
    saw, 0 for a fresh model), each a dict {name: [float, ...]}:

        act_mean[layer], act_std[layer]   mean and std of the layer's output y on x_probe
        act_grad_norm[layer]              ‖∂L/∂y‖ at that output
        grad_norm[param]                  ‖∂L/∂θ‖
        update_ratio[param]               ‖θ_e − θ_{e−1}‖ / ‖θ_{e−1}‖; nan at epoch[0] (no epoch before)

    and ``loss``, the probe loss. Layers are named "Linear 1", "ReLU 1", "Linear 2", ... (see
    layers_of); parameters by layer and attribute, "Linear 1 weight", "Linear 1 bias".

    Reading them. Vanishing gradients: grad_norm falls layer by layer towards the input (the first
    layer's ≪ the last's), and those layers barely move. Saturation: a Tanh's act_std near 1, a
    Sigmoid's mean near 0 or 1 with a small std. Exploding: act_std and grad_norm growing with depth
    or with the epochs. The update ratio (Karpathy, CS231n): for one plain SGD step it is
    lr·‖g‖/‖θ‖, and about 1e-3 per step is a healthy rule of thumb; far below (1e-5), the layer is
    not learning; far above (1e-1, 1), each step rewrites the weights. Here it is measured over an
    epoch of k steps, Δθ = Σ of the k steps, so ‖Δθ‖ ≤ Σ ‖step‖: about k times a typical step while
    the steps point the same way, nearer √k times once their directions are random (notebook 20
    measures both on the disk).
    """

    def __init__(self, model: Module, criterion: Loss, x: Tensor, y: Tensor):
        where = "Diagnostics"
        check_model_and_loss(model, criterion, where)
        x, y = check_pair((x, y), f"{where} probe")
        for name, t in (("x", x), ("y", y)):
            row = first_non_finite_row(t)
            if row is not None:
                raise ValueError(f"{where} probe: {name} row {row} is not finite: {t[row].tolist()}")
        with evaluating(model):
            out = model(x)                                    # the model's own shape and dtype errors
        if out.dim() != 2:
            raise ValueError(f"{where}: expected model outputs of shape (N, C), got {shape_text(out)}")
        self.target = prepare_targets(criterion, y, out.shape[1], x.dtype, f"{where} probe")[0]
        self.model, self.criterion, self.x = model, criterion, x
        self.layers = layers_of(model)
        self.params = [(f"{name} {attr}", p) for name, m in self.layers for attr, p in m.named_parameters()]
        self.epoch: list[int] = []
        self.loss: list[float] = []
        self.act_mean: dict[str, list[float]] = {name: [] for name, _ in self.layers}
        self.act_std: dict[str, list[float]] = {name: [] for name, _ in self.layers}
        self.act_grad_norm: dict[str, list[float]] = {name: [] for name, _ in self.layers}
        self.grad_norm: dict[str, list[float]] = {name: [] for name, _ in self.params}
        self.update_ratio: dict[str, list[float]] = {name: [] for name, _ in self.params}
        self._record(0, [math.nan] * len(self.params))

    # -- the callback -------------------------------------------------------------------------------
    def __call__(self, epoch: int, history: History, model: Module) -> None:
        """fit()'s callback protocol: after every epoch, measure again."""
        if model is not self.model:
            raise RuntimeError(f"Diagnostics: fit() trains another model ({type(model).__name__} at "
                               f"{id(model):#x}) than the one given to Diagnostics(...); make one per model")
        if len(self.epoch) == 1 and epoch != 1:       # a model trained before: the start is the epoch before
            self.epoch[0] = epoch - 1
        ratios = [update_ratio(before, p.data) for before, (_, p) in zip(self._start, self.params, strict=True)]
        self._record(epoch, ratios)

    # -- measuring ------------------------------------------------------------------------------------
    def _record(self, epoch: int, ratios: list[float]) -> None:
        loss, outputs, act_grads, param_grads = self.probe()
        stats = torch.stack([torch.stack([y.mean(), y.std()]) for y in outputs]).tolist()
        grads = torch.stack([g.norm() for g in act_grads]).tolist()
        param_grads = torch.stack(param_grads).tolist() if param_grads else []
        self.epoch.append(int(epoch))
        self.loss.append(loss)
        for (name, _), (mean, std), g in zip(self.layers, stats, grads, strict=True):
            self.act_mean[name].append(mean)
            self.act_std[name].append(std)
            self.act_grad_norm[name].append(g)
        for (name, _), g, r in zip(self.params, param_grads, ratios, strict=True):
            self.grad_norm[name].append(g)
            self.update_ratio[name].append(r)
        self._start = [p.data.clone() for _, p in self.params]        # θ at the start of the next epoch

    def probe(self) -> tuple[float, list[Tensor], list[Tensor], list[Tensor]]:
        """(loss, every layer's output y, every ∂L/∂y, every ‖∂L/∂θ‖) on the probe batch, in eval mode,
        with the modules' own forward and backward. Every p.grad is as before afterwards."""
        unique = self.model.parameters()                      # each Parameter once (a shared one too)
        saved = [p.grad.clone() for p in unique]
        try:
            with evaluating(self.model):
                for p in unique:
                    p.grad.zero_()
                outputs, h = [], self.x
                for _, layer in self.layers:                  # forward, keeping each layer's output
                    h = layer(h)
                    outputs.append(h)
                loss = float(self.criterion(h, self.target))
                g, act_grads = self.criterion.backward(), []
                for _, layer in reversed(self.layers):        # backward, keeping each ∂L/∂y
                    act_grads.append(g)
                    g = layer.backward(g)
                act_grads.reverse()
                param_grads = [p.grad.norm() for _, p in self.params]
        finally:
            for p, s in zip(unique, saved, strict=True):
                p.grad.copy_(s)                               # in place: compiled steps hold views of it
        return loss, outputs, act_grads, param_grads

    # -- reading ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (copies), ready for json.dumps or viz.plot_diagnostics."""
        return {"epoch": list(self.epoch), "loss": list(self.loss),
                **{key: {name: list(v) for name, v in getattr(self, key).items()} for key in SERIES}}

    def last(self, key: str) -> dict[str, float]:
        """The latest value of one series for every layer or parameter: ``diag.last("grad_norm")``."""
        if key not in SERIES:
            raise ValueError(f"Diagnostics.last: key must be one of {SERIES}, got {key!r}")
        return {name: v[-1] for name, v in getattr(self, key).items()}

    def __repr__(self) -> str:
        return (f"Diagnostics({len(self.layers)} layers, {len(self.params)} parameters, "
                f"epochs {self.epoch[0]}..{self.epoch[-1]}, probe of {len(self.x)} rows)")


