"""The torch.nn twin of a minidl model, for comparisons only.           Notebook 11

``to_torch(model)`` builds the equivalent torch.nn model holding copies of the same
weights; ``from_torch(torch_model)`` goes the other way. ``torch_criterion`` and
``torch_optimizer`` give the matching loss and optimizer, and ``fit_twin`` is minidl.train.fit()
written with autograd, so a whole training run can be repeated step for step in PyTorch.

This is the only framework file that touches torch.nn / torch.optim, and it imports them
inside the functions, so ``import minidl`` never loads them.
"""

from __future__ import annotations

from typing import Any

import torch

from ..framework import activations as A
from ..framework import layers as L
from ..framework import losses
from ..framework.module import Module, Sequential
from ..framework.optim import SGD, Adam, Optimizer


def _simple_pairs(nn: Any) -> list[tuple[type, Any, Any]]:
    """(minidl class, torch.nn class, kwargs from a minidl module) for parameterless modules."""
    return [
        (A.ReLU, nn.ReLU, lambda m: {}),
        (A.LeakyReLU, nn.LeakyReLU, lambda m: {"negative_slope": m.negative_slope}),
        (A.Tanh, nn.Tanh, lambda m: {}),
        (A.Sigmoid, nn.Sigmoid, lambda m: {}),
        (A.Softmax, nn.Softmax, lambda m: {"dim": m.dim}),
        (A.LogSoftmax, nn.LogSoftmax, lambda m: {"dim": m.dim}),
        (L.Dropout, nn.Dropout, lambda m: {"p": m.p}),
    ]


def to_torch(model: Module) -> Any:
    """The torch.nn equivalent of a minidl model, with copies of its weights and its mode."""
    import torch.nn as nn

    if isinstance(model, Sequential):
        twin = nn.Sequential(*(to_torch(m) for m in model))
    elif isinstance(model, L.Linear):
        w = model.weight.data
        twin = nn.Linear(model.in_features, model.out_features, bias=model.bias is not None,
                         dtype=w.dtype, device=w.device)
        with torch.no_grad():
            twin.weight.copy_(w)
            if model.bias is not None:
                twin.bias.copy_(model.bias.data)
    else:
        for ours, theirs, kwargs in _simple_pairs(nn):
            if type(model) is ours:
                twin = theirs(**kwargs(model))
                break
        else:
            raise TypeError(f"to_torch: no torch.nn equivalent for {type(model).__name__}")
    return twin.train(model.training)


def from_torch(torch_model: Any) -> Module:
    """The minidl equivalent of a torch.nn model built from the same kinds of layers."""
    import torch.nn as nn

    if isinstance(torch_model, nn.Sequential):
        model: Module = Sequential(*(from_torch(m) for m in torch_model))
    elif isinstance(torch_model, nn.Linear):
        w = torch_model.weight.detach()
        model = L.Linear(torch_model.in_features, torch_model.out_features,
                         bias=torch_model.bias is not None, dtype=w.dtype, device=w.device)
        model.weight.data.copy_(w)
        if torch_model.bias is not None:
            model.bias.data.copy_(torch_model.bias.detach())
    else:
        for ours, theirs, _ in _simple_pairs(nn):
            if type(torch_model) is theirs:
                kwargs = {"negative_slope": torch_model.negative_slope} if ours is A.LeakyReLU else \
                    {"dim": torch_model.dim} if ours in (A.Softmax, A.LogSoftmax) else \
                    {"p": torch_model.p} if ours is L.Dropout else {}
                model = ours(**kwargs)
                break
        else:
            raise TypeError(f"from_torch: no minidl equivalent for {type(torch_model).__name__}")
    return model.train(torch_model.training)


def torch_criterion(criterion: losses.Loss) -> Any:
    """torch.nn.MSELoss / NLLLoss / CrossEntropyLoss with the same reduction."""
    import torch.nn as nn

    kinds = {losses.MSELoss: nn.MSELoss, losses.NLLLoss: nn.NLLLoss,
             losses.CrossEntropyLoss: nn.CrossEntropyLoss}
    if type(criterion) not in kinds:
        raise TypeError(f"torch_criterion: no torch.nn equivalent for {type(criterion).__name__}")
    return kinds[type(criterion)](reduction=criterion.reduction)


def torch_optimizer(optimizer: Optimizer, torch_model: Any) -> Any:
    """torch.optim.SGD / Adam over torch_model's parameters with the same hyperparameters.

    The parameters are matched by position, so build ``torch_model`` with ``to_torch``.
    """
    import torch.optim as optim

    params = list(torch_model.parameters())
    groups = optimizer.param_groups
    if sum(len(g["params"]) for g in groups) != len(params):
        raise ValueError(f"torch_optimizer: the optimizer has {sum(len(g['params']) for g in groups)} "
                         f"parameters, the torch model {len(params)}")
    torch_groups, i = [], 0
    for g in groups:
        n = len(g["params"])
        torch_groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": params[i:i + n]})
        i += n
    if isinstance(optimizer, SGD):
        return optim.SGD(torch_groups, lr=groups[0]["lr"], foreach=False)
    if isinstance(optimizer, Adam):
        return optim.Adam(torch_groups, lr=groups[0]["lr"], foreach=False)
    raise TypeError(f"torch_optimizer: no torch.optim equivalent for {type(optimizer).__name__}")


def fit_twin(torch_model: Any, torch_criterion: Any, torch_optimizer: Any, train: tuple[torch.Tensor, torch.Tensor],
             test: tuple[torch.Tensor, torch.Tensor] | None = None, *, epochs: int, batch_size: int = 100,
             shuffle: bool = True, generator: torch.Generator | int | None = None,
             check_finite: bool = True) -> Any:
    """minidl.train.fit() for the torch twin (torch.nn + torch.optim + autograd); returns a History.

    The same loop as fit(), step for step: one ``batch_order(n, batch_size, shuffle, generator)``
    per epoch (an int seed becomes one torch.Generator), the same target conversion (integer
    labels -> one-hot for MSELoss; one-hot -> indices for CrossEntropyLoss / NLLLoss), the mean
    batch loss, the error rates and the test loss in eval mode, and the same divergence rule:
    a non-finite loss or parameter restores the start of the epoch and stops. Given the twin of
    a minidl run (to_torch, torch_criterion, torch_optimizer) the two Histories coincide.
    """
    import copy
    import time

    import torch.nn as nn

    from ..framework.checks import as_generator, positive_int
    from ..training.data import batch_order
    from ..training.history import History
    from ..training.metrics import check_pair
    from ..training.train import current_lr, describe_run, divergence_message

    where = "fit_twin"
    if not isinstance(torch_model, nn.Module):
        raise TypeError(f"{where}: torch_model must be a torch.nn.Module (use to_torch), "
                        f"got {type(torch_model).__name__}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        positive_int(value, name, where)
    x, y = check_pair(train, f"{where} train")
    g = as_generator(generator, where)
    with torch.no_grad():
        torch_model.eval()
        width = torch_model(x[:1]).shape[1]

    def targets(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(what the criterion gets, the class labels), converted as fit() converts them."""
        integer = not y.dtype.is_floating_point
        if isinstance(torch_criterion, nn.MSELoss) and integer:
            t = torch.zeros(len(y), width, dtype=x.dtype)
            t[torch.arange(len(y)), y] = 1.0
            return t, y
        labels = y if integer else y.argmax(dim=1)
        return (labels if isinstance(torch_criterion, (nn.CrossEntropyLoss, nn.NLLLoss)) else y), labels

    t_train, l_train = targets(y)
    if test is not None:
        tx, ty = check_pair(test, f"{where} test")
        t_test, l_test = targets(ty)
    h = History()
    describe_run(h.config, torch_model, torch_criterion, torch_optimizer, batch_size=batch_size,
              shuffle=shuffle, n_train=len(x), n_test=0 if test is None else len(tx))
    params, clock = list(torch_model.parameters()), time.perf_counter()
    last_loss = None                          # the last finite batch loss, for the divergence message
    for epoch in range(1, epochs + 1):
        if check_finite:
            snapshot = ({k: v.detach().clone() for k, v in torch_model.state_dict().items()},
                        copy.deepcopy(torch_optimizer.state_dict()))
        lr = current_lr(torch_optimizer)
        torch_model.train()
        losses = []
        with torch.enable_grad():
            for idx in batch_order(len(x), batch_size, shuffle, g):
                torch_optimizer.zero_grad()
                loss = torch_criterion(torch_model(x[idx]), t_train[idx])
                loss.backward()
                torch_optimizer.step()
                losses.append(loss.detach())
        batch_losses = torch.stack(losses)
        with torch.no_grad():
            if check_finite and not bool(torch.stack([torch.isfinite(batch_losses).all()]
                                                     + [torch.isfinite(p).all() for p in params]).all()):
                torch_model.load_state_dict(snapshot[0])
                torch_optimizer.load_state_dict(snapshot[1])
                h.diverged = divergence_message(epoch, batch_losses, last_loss, lr)
                break
            last_loss = batch_losses[-1]
            torch_model.eval()
            train_error = float((torch_model(x).argmax(dim=1) != l_train).sum()) / len(x)
            test_loss = test_error = None
            if test is not None:
                out = torch_model(tx)
                test_loss = float(torch_criterion(out, t_test))
                test_error = float((out.argmax(dim=1) != l_test).sum()) / len(tx)
        torch_model.train()
        h.record(epoch, float(batch_losses.mean()), train_error, time.perf_counter() - clock, lr,
                 test_loss, test_error)
    return h
