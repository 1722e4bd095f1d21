"""The torch.nn + torch.optim + autograd twin of minidl.train.fit: the same loop, step for step.

For the parity tests, benchmarks and notebooks. It lives outside the package because it uses
autograd, which the framework never does. Build the twin with minidl.reference:

    twin = to_torch(model); tcrit = torch_criterion(criterion); topt = torch_optimizer(optimizer, twin)
    orders = epoch_orders(len(x), batch_size=100, epochs=20, seed=0)   # what fit(generator=0) draws
    result = run_twin(twin, tcrit, topt, (x, t), (tx, tt), orders)

``result`` has, per epoch, what fit() records: the mean batch loss, and in eval mode the
number of misclassified train and test points and the test loss.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from minidl.training.data import batch_order


def epoch_orders(n: int, batch_size: int, epochs: int, seed: int | torch.Generator,
                 shuffle: bool = True) -> list[list[Tensor]]:
    """The batch indices fit(..., generator=seed) uses: one batch_order() per epoch from one generator."""
    g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)
    return [batch_order(n, batch_size, shuffle, g) for _ in range(epochs)]


def _labels(target: Tensor) -> Tensor:
    return target.argmax(dim=1) if target.dim() == 2 else target


def run_twin(model: Any, criterion: Any, optimizer: Any, train: tuple[Tensor, Tensor],
             test: tuple[Tensor, Tensor] | None, orders: list[list[Tensor]]) -> dict[str, list]:
    """Train the torch twin on the given batch order; per-epoch metrics as fit() measures them.

    Targets are used as given (one-hot floats for MSELoss, class indices for CrossEntropyLoss);
    errors are counts (fit() stores count / n).
    """
    x, t = train
    out: dict[str, list] = {"train_loss": [], "train_errors": [], "test_loss": [], "test_errors": []}
    with torch.enable_grad():
        for order in orders:
            model.train()
            losses = []
            for idx in order:
                optimizer.zero_grad()
                loss = criterion(model(x[idx]), t[idx])
                loss.backward()
                optimizer.step()
                losses.append(loss.detach())
            out["train_loss"].append(float(torch.stack(losses).mean()))
            model.eval()
            with torch.no_grad():
                out["train_errors"].append(int((model(x).argmax(dim=1) != _labels(t)).sum()))
                if test is not None:
                    tx, tt = test
                    test_out = model(tx)
                    out["test_loss"].append(float(criterion(test_out, tt)))
                    out["test_errors"].append(int((test_out.argmax(dim=1) != _labels(tt)).sum()))
    return out
