"""Parameter, Buffer, Module and Sequential: the protocol every layer follows.     Notebooks 02, 04, 16

A Module computes ``forward(x)`` and, given dL/d(output), ``backward(grad_output)``
returns dL/d(input) and *accumulates* dL/d(parameter) into each ``Parameter.grad``.
There is no autograd graph: each module keeps what its backward needs on ``self``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from .checks import shape_text, tensor_like


class Parameter:
    """A trainable tensor and the gradient accumulated for it.

    ``data`` holds the values, ``grad`` a tensor of the same shape (zeros at first).
    Backward passes add into ``grad`` (``+=``); ``zero_grad()`` resets it.
    """

    def __init__(self, data: Tensor):
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter: expected a torch.Tensor, got {type(data).__name__}")
        if not data.is_floating_point():
            raise TypeError(f"Parameter: expected a floating-point tensor, got dtype {data.dtype}")
        self.data = data
        self.grad = torch.zeros_like(data)

    @property
    def shape(self) -> torch.Size:
        return self.data.shape

    def zero_grad(self) -> None:
        self.grad.zero_()

    def __repr__(self) -> str:
        return f"Parameter(shape={tuple(self.data.shape)}, dtype={self.data.dtype})"


class Buffer:
    """A tensor a module keeps and saves but does not train: BatchNorm's running statistics.  Notebook 16

    ``data`` holds the values. No gradient, and optimizers never see it (``parameters()`` skips it);
    ``state_dict()`` saves it, ``load_state_dict()`` loads it, ``to()`` moves it, like torch's buffers.
    """

    def __init__(self, data: Tensor):
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer: expected a torch.Tensor, got {type(data).__name__}")
        if not data.is_floating_point():
            raise TypeError(f"Buffer: expected a floating-point tensor, got dtype {data.dtype}")
        self.data = data

    @property
    def shape(self) -> torch.Size:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Buffer(shape={tuple(self.data.shape)}, dtype={self.data.dtype})"


class Module:
    """Base class: ``forward``, ``backward``, parameters, buffers, train/eval, state_dict.

    Subclasses assign ``Parameter``, ``Buffer`` and ``Module`` attributes in ``__init__``;
    they are found in assignment order (Python dicts keep it), so no registration is needed.
    """

    training: bool = True

    def __init__(self) -> None:
        self.training = True

    # -- the protocol ---------------------------------------------------------------
    def forward(self, *inputs: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def backward(self, grad_output: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement backward()")

    def backward_parameters(self, grad_output: Tensor) -> None:
        """backward when dL/dinput is not needed: only the parameters' gradients are accumulated.

        A training step calls it, as the model's input is the data, whose gradient nobody uses (torch
        does not compute it either: the data does not require grad). Here: backward, its result
        dropped; Sequential passes it on to its first module, and Linear skips the product g W.
        """
        self.backward(grad_output)

    def __call__(self, *inputs: Tensor) -> Tensor:
        return self.forward(*inputs)

    # -- parameters -------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        """Every Parameter of this module and its children, in order, each once (a Parameter shared by
        two layers is one tensor: its gradient sums both uses, and an optimizer steps it once)."""
        seen: set[int] = set()
        return [p for _, p in self.named_parameters() if not (id(p) in seen or seen.add(id(p)))]

    def param(self) -> list[tuple[Tensor, Tensor]]:
        """The EE-559 course API: ``[(value, gradient), ...]``; ``[]`` if there are no parameters.

        The pairs alias the live tensors: an optimizer may update them in place.
        """
        return [(p.data, p.grad) for p in self.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Buffer]]:
        """Every Buffer (saved, not trained: BatchNorm's running statistics) by dotted name."""
        return ((name, b) for name, b in self._named_state(prefix) if isinstance(b, Buffer))

    def _named_state(self, prefix: str = "") -> Iterator[tuple[str, Parameter | Buffer]]:
        """What state_dict() holds, in torch's order: each module's own Parameters and Buffers in
        assignment order, then its children's."""
        for name, value in vars(self).items():
            if isinstance(value, (Parameter, Buffer)):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child._named_state(prefix + name + ".")

    def modules(self) -> Iterator[Module]:
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    # -- modes ------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    # -- state --------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Copies of every parameter's and buffer's values, by dotted name (``"0.weight"``,
        ``"1.running_mean"``), in torch's order.

        Unlike torch, the tensors are copies, so a saved "best" state does not change
        when training goes on.
        """
        return OrderedDict((name, p.data.clone()) for name, p in self._named_state())

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Copy values in. Every key is checked first; on any error nothing is changed.

        Each value must be a floating-point tensor of the parameter's (or buffer's) shape on its device; another
        floating precision is converted (like torch), but never an integer, bool or complex tensor,
        and never a value that would overflow the parameter's dtype.
        """
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict):
            raise TypeError(f"{where}: expected a dict of tensors, got {type(state).__name__}")
        own = OrderedDict(self._named_state())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if missing:
            raise ValueError(f"{where}: missing key {missing[0]!r} (expected keys: {list(own)})")
        if unexpected:
            raise ValueError(f"{where}: unexpected key {unexpected[0]!r} (expected keys: {list(own)})")
        converted = {}
        for name, p in own.items():                   # every check first: on any error nothing changes
            converted[name] = tensor_like(state[name], p.data, f"{where}: key {name!r}")
        for name, p in own.items():
            p.data.copy_(converted[name])

    def to(self, target: torch.dtype | torch.device | str) -> Module:
        """Move every parameter (and its gradient) and every buffer to a dtype or a device, in place."""
        if isinstance(target, torch.dtype) and not target.is_floating_point:
            raise TypeError(f"{type(self).__name__}.to: expected a floating dtype, got {target}")
        for p in self.parameters():
            p.data = p.data.to(target)
            p.grad = p.grad.to(target)
        for _, b in self.named_buffers():
            b.data = b.data.to(target)
        return self

    def double(self) -> Module:
        return self.to(torch.float64)

    def float(self) -> Module:
        return self.to(torch.float32)

    # -- checks shared by the layers -----------------------------------------------------
    def _name(self) -> str:
        """How error messages name this module, e.g. ``Linear(2, 25)``."""
        return type(self).__name__

    def _check_input(self, x: Tensor, features: int | None = None) -> None:
        """Raise a clear error unless x is a floating tensor (N, features) like the parameters."""
        where = f"{self._name()} input"
        if not isinstance(x, Tensor):
            raise TypeError(f"{where}: expected a torch.Tensor, got {type(x).__name__}")
        if features is not None and (x.dim() != 2 or x.shape[1] != features):
            raise ValueError(f"{where}: expected shape (N, {features}), got {shape_text(x)}")
        if not x.is_floating_point():
            raise TypeError(f"{where}: expected a floating-point tensor, got dtype {x.dtype} "
                            f"(use x.float() or x.double())")
        for p in self.parameters():
            if x.dtype != p.data.dtype:
                raise TypeError(f"{where}: expected dtype {p.data.dtype} (the parameters' dtype), "
                                f"got {x.dtype}; convert the input or call model.to({x.dtype})")
            if x.device != p.data.device:
                raise ValueError(f"{where}: expected device {p.data.device} (the parameters' device), "
                                 f"got {x.device}")
            break

    # -- the cache: forward stores tensors on self (self.x = x), backward reads them with _saved ----------
    def __setattr__(self, name: str, value: object) -> None:
        """Set the attribute; for a tensor, also note its version counter (``tensor._version``, which
        every in-place operation on it or on a view of it increments), so that ``_saved`` can tell
        whether the cache was changed in place since forward, as torch.autograd does."""
        object.__setattr__(self, name, value)
        if isinstance(value, Tensor):
            try:
                version = value._version
            except RuntimeError:                       # an inference-mode tensor has no version counter
                version = None
            self.__dict__.setdefault("_cache_versions", {})[name] = version

    def _saved(self, name: str) -> Tensor:
        """A tensor cached by forward, or a clear error if forward has not run yet or the tensor was
        modified in place since (backward would silently use the new values)."""
        value = self.__dict__.get(name)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")
        version = self.__dict__.get("_cache_versions", {}).get(name)
        if version is not None and value._version != version:
            raise RuntimeError(f"{self._name()}.backward(): the tensor {name!r} cached by forward was modified "
                               f"in place since (version {version} -> {value._version}); backward needs the "
                               f"values forward saw: call forward again, or use an out-of-place operation "
                               f"(x = x * 2, not x.mul_(2))")
        return value

    def _check_grad(self, grad_output: Tensor, shape: tuple[int, ...]) -> None:
        """grad_output must have the shape of the last output."""
        if not isinstance(grad_output, Tensor):
            raise TypeError(f"{self._name()}.backward(): expected a torch.Tensor, "
                            f"got {type(grad_output).__name__}")
        if grad_output.shape != shape:
            raise ValueError(f"{self._name()}.backward(): grad_output shape {shape_text(grad_output)} "
                             f"differs from the last output's shape {shape_text(shape)}")

    # -- printing ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


class Sequential(Module):
    """Composition  f = f_k ∘ … ∘ f_1.                                   Notebook 04

    Forward:  x_0 = x,  x_i = f_i(x_{i-1})
    Backward: the chain rule in reverse,  g_{i-1} = f_i.backward(g_i),  returns g_0 = dL/dx
              (backward_parameters: the same, f_1 without g_0)
    """

    def __init__(self, *modules: Module):
        super().__init__()
        self._modules: list[Module] = []
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected a minidl Module at position {len(self._modules)}, "
                            f"got {type(module).__name__}")
        mine = {id(m): i for i, top in enumerate(self._modules) for m in top.modules()}
        again = next((m for m in module.modules() if id(m) in mine or m is self), None)
        if again is not None:
            where = "this Sequential itself" if again is self else f"already at position {mine[id(again)]}"
            raise ValueError(f"Sequential: the module at position {len(self._modules)} ({again!r}) is {where}; "
                             f"a module keeps one forward's cache for its backward, so each use needs its own "
                             f"module (to share weights, give two modules the same Parameter)")
        self._modules.append(module)
        return self

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, m in enumerate(self._modules):
            yield str(i), m

    def forward(self, x: Tensor) -> Tensor:
        for m in self._modules:
            x = m(x)
        return x

    def backward(self, grad_output: Tensor) -> Tensor:
        for m in reversed(self._modules):
            grad_output = m.backward(grad_output)
        return grad_output

    def backward_parameters(self, grad_output: Tensor) -> None:
        """The same chain rule, but the first module skips dL/dx of the data (Module.backward_parameters)."""
        if type(self).backward is not Sequential.backward:   # a subclass's own backward (a learner's): run it
            self.backward(grad_output)
            return
        for m in reversed(self._modules[1:]):
            grad_output = m.backward(grad_output)
        if self._modules:
            self._modules[0].backward_parameters(grad_output)

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(*self._modules[index])
        return self._modules[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules)

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for m in modules:
            self.append(m)
        return self


@contextmanager
def evaluating(model: Module) -> Iterator[Module]:
    """``with evaluating(model):`` eval mode inside the block; every module's own mode restored after.

    Restores each module's flag, not one flag for all: a model with one sub-module left in eval
    mode on purpose comes back exactly as it was. Anything with ``modules()`` and ``training`` works
    (a learner's own Module too); an object without them is used as it is.
    """
    modules = list(model.modules()) if hasattr(model, "modules") else []
    before = [(m, getattr(m, "training", None)) for m in modules]
    for m, _ in before:
        m.training = False
    try:
        yield model
    finally:
        for m, mode in before:
            m.training = mode
