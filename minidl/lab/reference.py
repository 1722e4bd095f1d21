"""The torch.nn twin of a minidl model, for comparisons only.           Notebook 11

``to_torch(model)`` builds the equivalent torch.nn model holding copies of the same
weights; ``from_torch(torch_model)`` goes the other way. ``torch_criterion`` and
``torch_optimizer`` give the matching loss and optimizer, and ``fit_twin`` is minidl's fit() loop
with a torch.nn + autograd step (TorchStep), so a whole training run can be repeated step for step in PyTorch.

This is the only framework file that touches torch.nn / torch.optim, and it imports them
inside the functions, so ``import minidl`` never loads them.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch

from ..framework import activations as A
from ..framework import layers as L
from ..framework import losses
from ..framework import normalization as N
from ..framework.module import Module, Sequential, evaluating
from ..framework.optim import SGD, Adam, AdamW, Optimizer, RMSprop


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
    elif isinstance(model, (N.BatchNorm1d, N.LayerNorm)):
        w = model.weight.data
        twin = nn.BatchNorm1d(model.num_features, eps=model.eps, momentum=model.momentum, dtype=w.dtype,
                              device=w.device) if isinstance(model, N.BatchNorm1d) else \
            nn.LayerNorm(model.normalized_shape, eps=model.eps, dtype=w.dtype, device=w.device)
        twin.load_state_dict(model.state_dict(), strict=False)       # torch's num_batches_tracked: not in minidl
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
    elif isinstance(torch_model, (nn.BatchNorm1d, nn.LayerNorm)):
        model = _norm_from_torch(nn, torch_model)
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


def _norm_from_torch(nn: Any, norm: Any) -> Module:
    """minidl's BatchNorm1d / LayerNorm with the torch one's statistics and affine weight and bias."""
    w = norm.weight
    if isinstance(norm, nn.BatchNorm1d):
        if w is None or norm.running_mean is None or norm.momentum is None:
            raise TypeError("from_torch: minidl's BatchNorm1d has an affine weight and bias, running statistics "
                            f"and a number momentum; got {norm}")
        model: Module = N.BatchNorm1d(norm.num_features, eps=norm.eps, momentum=norm.momentum,
                                      dtype=w.dtype, device=w.device)
    else:
        if w is None or norm.bias is None:
            raise TypeError(f"from_torch: minidl's LayerNorm has an elementwise weight and bias; got {norm}")
        model = N.LayerNorm(tuple(norm.normalized_shape), eps=norm.eps, dtype=w.dtype, device=w.device)
    model.load_state_dict({k: v for k, v in norm.state_dict().items() if k != "num_batches_tracked"})
    return model


def torch_criterion(criterion: losses.Loss) -> Any:
    """torch.nn.MSELoss / NLLLoss / CrossEntropyLoss with the same reduction."""
    import torch.nn as nn

    kinds = {losses.MSELoss: nn.MSELoss, losses.NLLLoss: nn.NLLLoss,
             losses.CrossEntropyLoss: nn.CrossEntropyLoss}
    if type(criterion) not in kinds:
        raise TypeError(f"torch_criterion: no torch.nn equivalent for {type(criterion).__name__}")
    return kinds[type(criterion)](reduction=criterion.reduction)


def torch_optimizer(optimizer: Optimizer, torch_model: Any, foreach: bool = False, fused: bool = False) -> Any:
    """torch.optim.SGD / RMSprop / Adam / AdamW over torch_model's parameters with the same hyperparameters.

    The parameters are matched by position, so build ``torch_model`` with ``to_torch`` (or pass the
    list of its parameters, e.g. the stacked ones of an ensemble: minidl.lab.ensemble). ``foreach``:
    False, torch's default on the CPU (one update per parameter tensor: what the benchmarks compare
    against); True, torch's multi-tensor update (for SGD and Adam bitwise the same parameters and state,
    fewer Python calls: 8% fewer instructions per Adam step on the course network, by callgrind).
    ``fused``: torch's one-kernel update for all parameters (SGD, Adam and AdamW only; about half the
    time of foreach's update on the course network; it rounds its own way, float64 runs agree to 1e-12:
    the experiments use it).
    """
    import torch.optim as optim

    for name, value in (("foreach", foreach), ("fused", fused)):
        if not isinstance(value, bool):
            raise TypeError(f"torch_optimizer: {name} must be True or False, got {value!r}")
    if foreach and fused:
        raise ValueError("torch_optimizer: foreach and fused exclude each other, got both True")
    params = list(torch_model.parameters()) if hasattr(torch_model, "parameters") else list(torch_model)
    groups = optimizer.param_groups
    if sum(len(g["params"]) for g in groups) != len(params):
        raise ValueError(f"torch_optimizer: the optimizer has {sum(len(g['params']) for g in groups)} "
                         f"parameters, the torch model {len(params)}")
    torch_groups, i = [], 0
    for g in groups:
        n = len(g["params"])
        torch_groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": params[i:i + n]})
        i += n
    # the exact type: AdamW subclasses Adam (as in torch) but is not Adam's twin, nor is a learner's subclass
    twins = {SGD: optim.SGD, RMSprop: optim.RMSprop, Adam: optim.Adam, AdamW: optim.AdamW}
    if type(optimizer) not in twins:
        raise TypeError(f"torch_optimizer: no torch.optim equivalent for {type(optimizer).__name__}")
    if any(g.get("l1", 0.0) != 0 for g in groups):           # torch.optim has no L1 term: not a twin
        raise ValueError(f"torch_optimizer: torch.optim has no l1, got l1={[g.get('l1') for g in groups]}")
    if fused and type(optimizer) is RMSprop:
        raise ValueError("torch_optimizer: torch.optim.RMSprop has no fused update (SGD, Adam, AdamW do)")
    kind = {"fused": True} if fused else {"foreach": foreach}
    return twins[type(optimizer)](torch_groups, lr=groups[0]["lr"], **kind)


class TorchStep:
    """The torch twin's training step, with what minidl.training.train.run() asks of a step:

        grads set to None;  loss = criterion(model(xb), tb);  loss.backward();  optimizer.step()

    measure (loss and error rate in eval mode, under torch.inference_mode), error (the rate alone: no
    loss to compute), snapshot / restore (state dicts, copied), finite, lr. A model made only of
    layers that compute the same in both modes (Linear, the activations, LayerNorm) is not switched
    between train and eval mode at every measurement: nothing it computes would change. The grads are
    set to None by hand, as optimizer.zero_grad() does by default without its profiler bookkeeping
    (torch's performance guide does the same).
    """

    kind = "torch"

    def __init__(self, model: Any, criterion: Any, optimizer: Any):
        self.model, self.criterion, self.optimizer = model, criterion, optimizer
        self.params = list(model.parameters())
        modeless = modeless_layers()
        self.modal = any(type(m) not in modeless for m in model.modules())

    def step(self, xb: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            for p in self.params:
                p.grad = None
            loss = self.criterion(self.model(xb), tb)
            loss.backward()
            self.optimizer.step()
        return loss.detach()

    def train(self) -> None:
        if self.modal or not self.model.training:
            self.model.train()

    def measure(self, x: torch.Tensor, target: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
        out = self._outputs(x)
        return float(self.criterion(out, target)), _error_rate(out, labels)

    def error(self, x: torch.Tensor, labels: torch.Tensor) -> float:
        return _error_rate(self._outputs(x), labels)

    def _outputs(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), (evaluating(self.model) if self.modal else nullcontext()):
            return self.model(x)

    def snapshot(self) -> Any:
        import copy
        return ({k: v.detach().clone() for k, v in self.model.state_dict().items()},
                copy.deepcopy(self.optimizer.state_dict()))

    def restore(self, snapshot: Any) -> None:
        self.model.load_state_dict(snapshot[0])
        self.optimizer.load_state_dict(snapshot[1])

    def finite(self, losses: torch.Tensor) -> bool:
        with torch.no_grad():
            checks = [torch.isfinite(losses).all()] + [torch.isfinite(p).all() for p in self.params]
            return bool(torch.stack(checks).all())

    @property
    def lr(self) -> float:
        from ..training.train import current_lr
        return current_lr(self.optimizer)


def modeless_layers() -> tuple[type, ...]:
    """The torch.nn layers to_torch makes whose forward is the same in train and eval mode."""
    import torch.nn as nn
    return (nn.Sequential, nn.Linear, nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Softmax, nn.LogSoftmax,
            nn.LayerNorm)


def _error_rate(out: torch.Tensor, labels: torch.Tensor) -> float:
    return float((out.argmax(dim=1) != labels).sum()) / len(labels)


def twin_targets(torch_criterion: Any, y: torch.Tensor, width: int, dtype: torch.dtype
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """(what the criterion gets, the class labels), converted as fit() converts them: integer labels
    one-hot (``width`` columns of ``dtype``) for MSELoss; one-hot rows to indices for CrossEntropyLoss / NLLLoss."""
    import torch.nn as nn

    integer = not y.dtype.is_floating_point
    if isinstance(torch_criterion, nn.MSELoss) and integer:
        t = torch.zeros(len(y), width, dtype=dtype)
        t[torch.arange(len(y)), y] = 1.0
        return t, y
    labels = y if integer else y.argmax(dim=1)
    return (labels if isinstance(torch_criterion, (nn.CrossEntropyLoss, nn.NLLLoss)) else y), labels


def fit_twin(torch_model: Any, torch_criterion: Any, torch_optimizer: Any, train: tuple[torch.Tensor, torch.Tensor],
             test: tuple[torch.Tensor, torch.Tensor] | None = None, *, epochs: int, batch_size: int = 100,
             shuffle: bool = True, generator: torch.Generator | int | None = None,
             check_finite: bool = True) -> Any:
    """minidl.train.fit() for the torch twin (torch.nn + torch.optim + autograd); returns a History.

    fit()'s own loop (minidl.training.train.run) with a TorchStep instead of minidl's step: one
    ``batch_order(n, batch_size, shuffle, generator)`` per epoch (an int seed becomes one
    torch.Generator), the same target conversion (integer labels -> one-hot for MSELoss; one-hot ->
    indices for CrossEntropyLoss / NLLLoss), the mean batch loss, the error rates and the test loss
    in eval mode, and the same divergence rule: a non-finite loss or parameter restores the start of
    the epoch and stops. Given the twin of a minidl run (to_torch, torch_criterion, torch_optimizer)
    the two Histories coincide.
    """
    import torch.nn as nn

    from ..training.history import History
    from ..training.metrics import check_pair
    from ..training.train import describe_run, run

    where = "fit_twin"
    if not isinstance(torch_model, nn.Module):
        raise TypeError(f"{where}: torch_model must be a torch.nn.Module (use to_torch), "
                        f"got {type(torch_model).__name__}")
    x, y = check_pair(train, f"{where} train")
    with torch.no_grad():
        mode = torch_model.training
        torch_model.eval()
        width = torch_model(x[:1]).shape[1]
        torch_model.train(mode)

    test_set = None
    if test is not None:
        tx, ty = check_pair(test, f"{where} test")
        test_set = (tx, *twin_targets(torch_criterion, ty, width, x.dtype))
    h = History()
    describe_run(h.config, torch_model, torch_criterion, torch_optimizer, batch_size=batch_size,
                 shuffle=shuffle, n_train=len(x), n_test=0 if test is None else len(test[0]))
    h.config["step"] = TorchStep.kind
    train_set = (x, *twin_targets(torch_criterion, y, width, x.dtype))
    return run(TorchStep(torch_model, torch_criterion, torch_optimizer), train_set, test_set,
               epochs=epochs, batch_size=batch_size, shuffle=shuffle, generator=generator, callbacks=(),
               progress=False, log=None, log_every=1, history=h, check_finite=check_finite, model=torch_model,
               where=where)
