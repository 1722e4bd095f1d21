"""The torch.nn twin of a minidl model, for comparisons only.           Notebook 11

``to_torch(model)`` builds the equivalent torch.nn model holding copies of the same
weights; ``from_torch(torch_model)`` goes the other way. ``torch_criterion`` and
``torch_optimizer`` give the matching loss and optimizer, so a whole training run can be
repeated step for step in PyTorch.

This is the only framework file that touches torch.nn / torch.optim, and it imports them
inside the functions, so ``import minidl`` never loads them.
"""

from __future__ import annotations

from typing import Any

import torch

from . import activations as A
from . import layers as L
from . import losses
from .module import Module, Sequential
from .optim import SGD, Adam, Optimizer


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
