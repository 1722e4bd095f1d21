"""The torch twins of one run's seeds, trained side by side in one model (torch.func.vmap).   Notebook 11

    twins = fit_twins([to_torch(m) for m in models], torch_criterion(crit), optimizer, trains, tests,
                      epochs=100, batch_size=100, generators=[2000 + s for s in seeds])

For seeds s = 1..S, fit_twins does what S calls ``fit_twin(twin_s, ...)`` do, at once: the S twins'
parameters are stacked (``torch.func.stack_module_state``: W_s becomes W[s]), one vmapped forward
computes every seed's batch, and one backward of Σ_s L_s gives each seed its own gradient
(∂(Σ_t L_t)/∂W[s] = ∂L_s/∂W[s]: the seeds share no parameter). The optimizer (torch.optim, fused)
updates the stacked tensors elementwise, so each slice is seed s's update. This is PyTorch's own
recipe for training an ensemble (the "model ensembling" tutorial). Ten course-sized twins train in
less than half the time of one at a time (the sweep's twins: 530 CPU-s, was ~1260): a twin's step
is torch's per-operation overhead, not arithmetic, and the stacked step pays it once for all ten.

Each seed keeps its own data, batch order (its generator, one ``batch_order`` per epoch as fit()
draws it), History and divergence: a seed whose epoch has a non-finite loss or parameter gets
fit()'s divergence message and records no more epochs, while the others go on (its slice stays
in the stacks; nothing crosses between slices). A History's ``time`` is the ensemble's time divided
by S, its share. The batched products round on their own, so the twins agree with fit_twin's to
about 1e-12 in float64 with the same error counts (tests/unit/lab/test_ensemble.py).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import Any

import torch

from ..framework.checks import positive_int
from ..training.data import batch_order
from ..training.history import History
from ..training.train import current_lr, describe_run, divergence_message
from .reference import modeless_layers, twin_targets


def fit_twins(twins: Sequence[Any], criterion: Any, optimizer: Any, trains: Sequence[tuple[torch.Tensor, torch.Tensor]],
              tests: Sequence[tuple[torch.Tensor, torch.Tensor]], *, epochs: int, batch_size: int,
              generators: Sequence[int]) -> list[History]:
    """S torch.nn twins of one architecture trained at once; one History per twin, as fit_twin's.

    ``optimizer``: a function of a list of parameters returning the torch.optim optimizer (it gets
    the stacked ones). ``trains`` / ``tests``: (x, integer labels) per twin, all of one shape.
    The twins themselves are not changed (their weights are copied into the stacks).
    """
    from torch.func import functional_call, stack_module_state, vmap

    where = "fit_twins"
    n_seeds = len(twins)
    if not (n_seeds == len(trains) == len(tests) == len(generators) >= 1):
        raise ValueError(f"{where}: needs as many twins, train sets, test sets and generators (at least one), "
                         f"got {n_seeds}, {len(trains)}, {len(tests)}, {len(generators)}")
    modal = sorted({type(m).__name__ for t in twins for m in t.modules() if type(m) not in modeless_layers()})
    if modal:
        raise TypeError(f"{where}: only layers that compute the same in train and eval mode can be stacked "
                        f"(Linear, the activations, LayerNorm), got {', '.join(modal)}")
    for name, sets in (("train", trains), ("test", tests)):
        shapes = {(tuple(x.shape), tuple(y.shape)) for x, y in sets}
        if len(shapes) != 1:
            raise ValueError(f"{where}: every {name} set must have one shape, got {sorted(shapes)}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        positive_int(value, name, where)
    params, buffers = stack_module_state(list(twins))        # leaves of shape (S, ...), requires_grad
    base = copy.deepcopy(twins[0]).to("meta")                # the architecture, no storage
    stacked = list(params.values())
    opt = optimizer(stacked)

    def outputs_of(p: dict, b: dict, x: torch.Tensor) -> torch.Tensor:       # one twin's forward, its weights p
        return functional_call(base, (p, b), (x,))

    def loss_of(p: dict, b: dict, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return criterion(outputs_of(p, b, x), t)

    losses_of, forward = vmap(loss_of), vmap(outputs_of)                      # over the stacked dim 0
    with torch.no_grad():
        width = twins[0](trains[0][0][:1]).shape[1]
    x = torch.stack([t[0] for t in trains])                                   # (S, n, in)
    converted = [twin_targets(criterion, y, width, x.dtype) for _, y in trains]
    target, labels = torch.stack([c[0] for c in converted]), torch.stack([c[1] for c in converted])
    tx = torch.stack([t[0] for t in tests])
    tested = [twin_targets(criterion, y, width, x.dtype) for _, y in tests]
    t_target, t_labels = torch.stack([c[0] for c in tested]), torch.stack([c[1] for c in tested])

    histories = []
    for twin, (_, y), (test_x, _) in zip(twins, trains, tests, strict=True):
        h = History()
        describe_run(h.config, twin, criterion, opt, batch_size=batch_size, shuffle=True, n_train=len(y),
                     n_test=len(test_x))
        h.config["step"] = "torch ensemble"
        histories.append(h)
    gens = [torch.Generator().manual_seed(g) for g in generators]
    alive = list(range(n_seeds))
    n, rows = x.shape[1], torch.arange(n_seeds).unsqueeze(1)
    last: list[torch.Tensor | None] = [None] * n_seeds
    clock = time.perf_counter()
    for epoch in range(1, epochs + 1):
        lr = current_lr(opt)
        perm = torch.stack([torch.cat(batch_order(n, batch_size, True, g)) for g in gens])   # (S, n)
        xs, ts = x[rows, perm], target[rows, perm]
        batch_losses = []
        with torch.enable_grad():
            for i in range(0, n, batch_size):
                for p in stacked:
                    p.grad = None
                loss = losses_of(params, buffers, xs[:, i:i + batch_size], ts[:, i:i + batch_size])   # (S,)
                loss.sum().backward()
                opt.step()
                batch_losses.append(loss.detach())
        epoch_losses = torch.stack(batch_losses, dim=1)                       # (S, batches)
        with torch.no_grad():
            finite = torch.isfinite(epoch_losses).all(dim=1)
            for p in stacked:
                finite &= torch.isfinite(p).flatten(1).all(dim=1)
        for s in [s for s in alive if not finite[s]]:
            histories[s].diverged = divergence_message(epoch, epoch_losses[s], last[s], lr)
            alive.remove(s)
        if not alive:
            break
        with torch.inference_mode():
            train_errors = (forward(params, buffers, x).argmax(dim=2) != labels).sum(dim=1)
            out = forward(params, buffers, tx)
            test_losses = vmap(criterion)(out, t_target)
            test_errors = (out.argmax(dim=2) != t_labels).sum(dim=1)
        share = (time.perf_counter() - clock) / n_seeds
        for s in alive:
            last[s] = epoch_losses[s, -1]
            histories[s].record(epoch, float(epoch_losses[s].mean()), int(train_errors[s]) / n, share, lr,
                                float(test_losses[s]), int(test_errors[s]) / t_labels.shape[1])
    return histories
