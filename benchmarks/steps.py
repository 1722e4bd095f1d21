"""The problems and the four training steps the benchmarks time, side by side.

    problem(size, variant, dtype)  -> Problem: data, targets, a seeded model builder, the optimizer
    readable_step(p), fast_step(p), torch_step(p), gemm_step(p)  -> (step(xb, tb) -> loss, finish())

Every step starts from the same weights (the same torch.manual_seed before build_mlp; the torch
twin is a copy made by minidl.reference.to_torch) and is fed the same batches, so the losses can
be compared at the end. The GEMM "step" does only the matrix products one training step must
do: per layer the forward x Wᵀ, and in backward dL/dW = gᵀ x and dL/dx = g W (not for the first
layer: nobody needs the gradient of the data, and neither torch nor minidl.fast computes it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

import minidl as md
from minidl.lab.reference import to_torch, torch_criterion, torch_optimizer
from minidl.training.data import disk, one_hot, standardize
from minidl.training.train import ReadableStep, training_step

# name: (layer sizes, training points, batch size, epochs, epochs with --quick)
SIZES: dict[str, tuple[tuple[int, ...], int, int, int, int]] = {
    "S": ((2, 25, 25, 25, 2), 1000, 100, 250, 3),
    "M": ((2, 512, 512, 512, 2), 8192, 1024, 6, 1),
    "L": ((1024, 2048, 2048, 10), 16384, 4096, 3, 1),
    "XS": ((2, 4, 2), 64, 16, 1, 1),          # only to warm a framework up before measuring memory
}
# variant: (loss, optimizer); S runs all three, M the first, L the last
VARIANTS = {"mse-sgd": ("mse", "sgd"), "mse-adam": ("mse", "adam"), "ce-sgd": ("ce", "sgd")}
DEFAULT_VARIANTS = {"S": ("mse-sgd", "mse-adam", "ce-sgd"), "M": ("mse-sgd",), "L": ("ce-sgd",)}
# SGD's learning rate (momentum 0.9; Adam: 1e-3). On S the course's 0.1 makes a float32 run chaotic: a one-ulp
# difference grows into a 7% (cross-entropy) or 20% (MSE) difference of the final loss after 250 epochs, as
# large as float32 against float64, which would make "the same loss" meaningless; the compiled step rounds its
# own way, so S trains at 0.05 (MSE: fast and torch end 5e-8 apart) and 0.02 (cross-entropy).
# The time of a step does not depend on the learning rate.
LR = {("S", "mse-sgd"): 0.05, ("S", "ce-sgd"): 0.02, ("M", "mse-sgd"): 0.01, ("L", "ce-sgd"): 0.01}

Step = Callable[[Tensor, Tensor], Any]


@dataclass
class Problem:
    size: str
    variant: str
    dtype: torch.dtype
    x: Tensor
    target: Tensor            # one-hot rows for MSE, class indices for cross-entropy
    batch_size: int
    epochs: int

    @property
    def sizes(self) -> tuple[int, ...]:
        return SIZES[self.size][0]

    def build(self) -> tuple[md.Module, md.Loss, md.Optimizer]:
        """The minidl model (seeded: every call gives the same weights), criterion and optimizer."""
        torch.manual_seed(0)
        model = md.build_mlp(self.sizes, dtype=self.dtype)
        loss, optimizer = VARIANTS[self.variant]
        criterion = md.MSELoss() if loss == "mse" else md.CrossEntropyLoss()
        opt = md.SGD(model.parameters(), lr=LR.get((self.size, self.variant), 0.1), momentum=0.9) \
            if optimizer == "sgd" \
            else md.Adam(model.parameters(), lr=1e-3)
        return model, criterion, opt


def problem(size: str, variant: str, dtype: torch.dtype, quick: bool = False) -> Problem:
    sizes, n, batch, epochs, quick_epochs = SIZES[size]
    g = torch.Generator().manual_seed(1)
    if sizes[0] == 2:                                   # the course's disk problem
        x, y = disk(n, generator=g, dtype=dtype)
        x = standardize(x)[0]
    else:                                               # Gaussian inputs, labels from a random linear map
        x = torch.randn(n, sizes[0], generator=g, dtype=dtype)
        y = (x @ torch.randn(sizes[0], sizes[-1], generator=g, dtype=dtype)).argmax(dim=1)
    target = one_hot(y, sizes[-1], dtype=dtype) if VARIANTS[variant][0] == "mse" else y
    return Problem(size, variant, dtype, x, target, batch, quick_epochs if quick else epochs)


# -- the four steps: each returns (step, finish); finish() -> the model's parameters as tensors ------------
def readable_step(p: Problem) -> tuple[Step, Callable[[], list[Tensor]]]:
    """The teaching modules: fit(..., fast=False)'s step (minidl.training.train.ReadableStep)."""
    model, criterion, optimizer = p.build()
    return ReadableStep(model, criterion, optimizer).step, lambda: [q.data for q in model.parameters()]


def fast_step(p: Problem) -> tuple[Step, Callable[[], list[Tensor]]]:
    """What fit runs by default: the same model, criterion and optimizer, compiled (training_step)."""
    model, criterion, optimizer = p.build()
    step = training_step(model, criterion, optimizer)
    assert step.kind == "compiled", step.kind
    return step.step, lambda: [q.data for q in model.parameters()]


def torch_step(p: Problem) -> tuple[Step, Callable[[], list[Tensor]]]:
    """torch.nn + autograd + torch.optim, with torch's defaults (zero_grad sets grads to None)."""
    model, criterion, optimizer = p.build()
    twin, tcrit = to_torch(model), torch_criterion(criterion)
    topt = torch_optimizer(optimizer, twin)

    def step(xb: Tensor, tb: Tensor) -> Tensor:
        topt.zero_grad()
        loss = tcrit(twin(xb), tb)
        loss.backward()
        topt.step()
        return loss.detach()
    return step, lambda: [q.detach() for q in twin.parameters()]


def gemm_step(p: Problem) -> tuple[Step, Callable[[], list[Tensor]]]:
    """Only the matrix products of one step, into buffers allocated once: the floor."""
    model, _, _ = p.build()
    weights = [m.weight.data for m in model if isinstance(m, md.Linear)]
    buffers: dict[int, tuple[list[Tensor], list[Tensor], list[Tensor]]] = {}

    def step(xb: Tensor, tb: Tensor) -> None:
        n = xb.shape[0]
        if n not in buffers:
            buffers[n] = ([torch.empty(n, w.shape[0], dtype=w.dtype) for w in weights],
                          [torch.empty(n, w.shape[1], dtype=w.dtype) for w in weights],
                          [torch.empty_like(w) for w in weights])
        out, grad_in, grad_w = buffers[n]
        h = xb
        for w, o in zip(weights, out, strict=True):
            h = torch.mm(h, w.T, out=o)                       # forward  x Wᵀ
        inputs = [xb] + out[:-1]
        for i in reversed(range(len(weights))):               # out[i] stands in for dL/dy
            torch.mm(out[i].T, inputs[i], out=grad_w[i])      # dL/dW = gᵀ x
            if i > 0:
                torch.mm(out[i], weights[i], out=grad_in[i])  # dL/dx = g W
    return step, lambda: []


FRAMEWORKS: dict[str, Callable[[Problem], tuple[Step, Callable[[], list[Tensor]]]]] = {
    "minidl": readable_step, "minidl.fast": fast_step, "torch": torch_step, "GEMMs": gemm_step,
}
