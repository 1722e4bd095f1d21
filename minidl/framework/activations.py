"""Element-wise activations, Softmax and LogSoftmax.                     Notebooks 03, 05

Each backward multiplies grad_output by the local derivative, written where it can be
through the forward's *output* (tanh' = 1 - y², σ' = y(1 - y)), which is cheaper and
is what the notebooks derive.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .module import Module


class _Elementwise(Module):
    """Shared plumbing: check the input, cache it (or the output), check grad_output."""

    cache_output = False    # True: backward needs y, not x

    def __init__(self) -> None:
        super().__init__()
        self.saved: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        y = self.function(x)
        self.saved = y if self.cache_output else x
        return y

    def backward(self, grad_output: Tensor) -> Tensor:
        saved = self._saved("saved")
        self._check_grad(grad_output, saved.shape)
        return self.derivative(saved).mul_(grad_output)      # f' ⊙ dL/dy, in place in derivative()'s new tensor

    def function(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def derivative(self, saved: Tensor) -> Tensor:
        """f' as a new tensor: backward multiplies dL/dy into it (one allocation, not two)."""
        raise NotImplementedError


class ReLU(_Elementwise):
    """y = max(0, x).                                                      Notebook 03

    Backward: dL/dx = dL/dy ⊙ [x > 0] = dL/dy ⊙ sign(y)    (y ≥ 0, so sign(y) is 1 where x > 0,
              else 0: the derivative at 0 is taken as 0, like torch)
    Caches:   y   (sign(y) is one fast pass; the comparison x > 0 makes a bool tensor, several times slower)
    """

    cache_output = True

    def function(self, x: Tensor) -> Tensor:
        return x.clamp(min=0)

    def derivative(self, y: Tensor) -> Tensor:
        return y.sign()

    def backward(self, grad_output: Tensor) -> Tensor:
        """derivative(y) ⊙ dL/dy in one pass instead of two (sign, then the product): torch's tensor op for
        "dL/dy where y > 0, else 0", the kernel of its own ReLU backward (not autograd). torch.where(y > 0,
        grad_output, 0.0) says the same, but with its bool mask it is 2-4× slower on a CPU."""
        if type(self).derivative is not ReLU.derivative:    # a subclass's own derivative (a learner's): use it
            return super().backward(grad_output)
        y = self._saved("saved")
        self._check_grad(grad_output, y.shape)
        return torch.ops.aten.threshold_backward(grad_output, y, 0)


class LeakyReLU(_Elementwise):
    """y = x if x > 0 else a·x   (a = negative_slope).                    Notebook 03

    Backward: dL/dx = dL/dy ⊙ (1 if x > 0 else a)
    Caches:   x
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            raise TypeError(f"LeakyReLU: negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def function(self, x: Tensor) -> Tensor:
        return x.where(x > 0, x * self.negative_slope)

    def derivative(self, x: Tensor) -> Tensor:
        slope = (x > 0).to(x.dtype)
        return slope.add_(1.0 - slope, alpha=self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(_Elementwise):
    """y = tanh(x).                                                        Notebook 03

    Backward: dL/dx = dL/dy ⊙ (1 - y²)
    Caches:   y
    """

    cache_output = True

    def function(self, x: Tensor) -> Tensor:
        return x.tanh()

    def derivative(self, y: Tensor) -> Tensor:
        return 1.0 - y * y


class Sigmoid(_Elementwise):
    """y = σ(x) = 1 / (1 + e^{-x}).                                        Notebook 03

    Backward: dL/dx = dL/dy ⊙ y(1 - y)
    Caches:   y
    """

    cache_output = True

    def function(self, x: Tensor) -> Tensor:
        return x.sigmoid()

    def derivative(self, y: Tensor) -> Tensor:
        return y * (1.0 - y)


class _AlongDim(Module):
    """Softmax and LogSoftmax normalise along one dimension (the classes, dim=1)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"{type(self).__name__}: dim must be an int, got {dim!r}")
        self.dim = dim
        self.y: Tensor | None = None

    def _check_dim(self, x: Tensor) -> None:
        self._check_input(x)
        if not -x.dim() <= self.dim < x.dim():
            raise ValueError(f"{type(self).__name__}(dim={self.dim}) input: expected at least "
                             f"{self.dim + 1 if self.dim >= 0 else -self.dim} dimensions, "
                             f"got shape {tuple(x.shape)}")
        if x.shape[self.dim] == 0:
            raise ValueError(f"{type(self).__name__}(dim={self.dim}) input: dimension {self.dim} is empty, "
                             f"nothing to normalise over, got shape {tuple(x.shape)}")

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """s_i = exp(x_i - m) / Σ_j exp(x_j - m),  m = max_j x_j  (the shift changes nothing
    mathematically and prevents overflow).                                 Notebook 05

    Backward: the Jacobian is ∂s_i/∂x_j = s_i (δ_ij - s_j); its vector product is
              dL/dx = s ⊙ (g - Σ_j g_j s_j),  g = dL/ds       (never forms the Jacobian)
    Caches:   s
    """

    def forward(self, x: Tensor) -> Tensor:
        self._check_dim(x)
        z = x - x.amax(dim=self.dim, keepdim=True)
        e = z.exp()
        self.y = e / e.sum(dim=self.dim, keepdim=True)
        return self.y

    def backward(self, grad_output: Tensor) -> Tensor:
        s = self._saved("y")
        self._check_grad(grad_output, s.shape)
        return s * (grad_output - (grad_output * s).sum(dim=self.dim, keepdim=True))


class LogSoftmax(_AlongDim):
    """y_i = x_i - log Σ_j exp(x_j) = (x_i - m) - log Σ_j exp(x_j - m).    Notebook 05

    Backward: the Jacobian is ∂y_i/∂x_j = δ_ij - s_j  (s = softmax(x) = exp(y)); so
              dL/dx = g - s · Σ_j g_j,  g = dL/dy              (never forms the Jacobian)
    Caches:   y
    """

    def forward(self, x: Tensor) -> Tensor:
        self._check_dim(x)
        z = x - x.amax(dim=self.dim, keepdim=True)
        self.y = z - z.exp().sum(dim=self.dim, keepdim=True).log()
        return self.y

    def backward(self, grad_output: Tensor) -> Tensor:
        y = self._saved("y")
        self._check_grad(grad_output, y.shape)
        return grad_output - y.exp() * grad_output.sum(dim=self.dim, keepdim=True)


# The one activation table: the names the builder, the CLI, the playground, the experiments, the
# plots and the compiled step know (element-wise activations only; a hidden layer's nonlinearity).
ACTIVATIONS: dict[str, type[Module]] = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}
