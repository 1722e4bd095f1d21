"""Linear and Dropout.                                                    Notebooks 02, 09"""

from __future__ import annotations

import torch
from torch import Tensor

from .init import linear_default_
from .module import Module, Parameter


class Linear(Module):
    """Affine map  y = x Wᵀ + b.                                            Notebook 02

    Shapes:   x (N, in) -> y (N, out);  W (out, in);  b (out,)
    Backward: dL/dx = dL/dy · W          (N, in)    returned
              dL/dW = (dL/dy)ᵀ · x       (out, in)  accumulated into weight.grad
              dL/db = Σ_n dL/dy          (out,)     accumulated into bias.grad
              (input_grad=False: the last two only, for a first layer, whose x is the data)
    Caches:   x
    Init:     W, b ~ U(-1/√in, 1/√in), drawn exactly as torch.nn.Linear draws them
              (same calls, same order), so the same torch.manual_seed gives the same weights.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 dtype: torch.dtype | None = None, device: torch.device | str | None = None):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive int, got {value!r}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(torch.empty(out_features, in_features, dtype=dtype, device=device))
        self.bias = Parameter(torch.empty(out_features, dtype=dtype, device=device)) if bias else None
        self.reset_parameters()
        self.x: Tensor | None = None

    def reset_parameters(self) -> None:
        """torch.nn.Linear's default: kaiming_uniform_(a=√5) on W, i.e. U(±1/√in), then U(±1/√in) on b."""
        linear_default_(self)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x, features=self.in_features)
        self.x = x                                          # (N, in), for backward
        if self.bias is None:
            return x @ self.weight.data.T                   # (N, out)
        return torch.addmm(self.bias.data, x, self.weight.data.T)   # b + x Wᵀ, (N, out)

    def backward(self, grad_output: Tensor, input_grad: bool = True) -> Tensor | None:
        x = self._saved("x")
        self._check_grad(grad_output, (x.shape[0], self.out_features))
        self.weight.grad.addmm_(grad_output.T, x)           # weight.grad += (dL/dy)ᵀ x  (out, in), no temporary
        if self.bias is not None:
            self.bias.grad += grad_output.sum(dim=0)        # (out,)
        if not input_grad:                                  # x is the data: nobody needs dL/dx (a training step)
            return None
        return grad_output @ self.weight.data               # (N, in)

    def backward_parameters(self, grad_output: Tensor) -> None:
        """backward(grad_output, input_grad=False): dL/dW and dL/db only (see Module.backward_parameters)."""
        if type(self).backward is Linear.backward:
            self.backward(grad_output, input_grad=False)
        else:                                               # a subclass's own backward (a learner's): run it
            self.backward(grad_output)

    def _name(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, " \
               f"bias={self.bias is not None}"


class Dropout(Module):
    """Inverted dropout  y = x ⊙ m / (1 - p),  m_i ~ Bernoulli(1 - p).        Notebook 09

    Shapes:   any -> same
    Backward: dL/dx = dL/dy ⊙ m / (1 - p)   (the same mask as forward)
    Caches:   the scaled mask (None in eval mode, where y = x and dL/dx = dL/dy)
    Dividing by 1 - p in training keeps E[y] = x, so nothing changes at eval time.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.mask: Tensor | None = None
        self.y: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        if not self.training or self.p == 0.0:
            self.mask = None
            self.y = x
            return x
        self.mask = torch.empty_like(x).bernoulli_(1.0 - self.p).div_(1.0 - self.p)
        self.y = x * self.mask
        return self.y

    def backward(self, grad_output: Tensor) -> Tensor:
        y = self._saved("y")
        self._check_grad(grad_output, y.shape)
        return grad_output if self.mask is None else grad_output * self.mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
