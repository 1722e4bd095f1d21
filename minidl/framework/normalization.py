"""BatchNorm1d and LayerNorm: one normalisation, over the batch or over the features.   Notebook 16

Both compute, over some axes with M entries,

    μ = mean(x),  σ² = mean((x - μ)²)  (biased),  x̂ = (x - μ) / √(σ² + ε),  y = γ ⊙ x̂ + β

and share one backward: with g = dL/dy and ĝ = g ⊙ γ = dL/dx̂,

    dL/dx = (1/√(σ² + ε)) · (ĝ - mean(ĝ) - x̂ ⊙ mean(ĝ ⊙ x̂))      (the means over the same axes)
          = (1/M) · γ/σ · (M·g - Σ g - x̂ ⊙ Σ(g ⊙ x̂))                 (γ constant along those axes)

(σ = √(σ² + ε) in the compact form, as in the notebook.) BatchNorm1d takes the statistics over the
batch (axis 0, per feature), LayerNorm over the features (the last axes, per sample).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .checks import finite_number, positive_int, shape_text
from .module import Buffer, Module, Parameter


def normalize(x: Tensor, dims: tuple[int, ...], eps: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(x̂, 1/√(σ² + ε), μ, σ²): x centred and scaled by its mean and biased variance over ``dims``."""
    mean = x.mean(dim=dims, keepdim=True)
    centred = x - mean
    var = (centred * centred).mean(dim=dims, keepdim=True)       # biased: divided by M, not M - 1
    inv_std = (var + eps).rsqrt()
    return centred * inv_std, inv_std, mean, var


def normalize_backward(grad_x_hat: Tensor, x_hat: Tensor, inv_std: Tensor, dims: tuple[int, ...]) -> Tensor:
    """dL/dx from dL/dx̂ through x̂ = (x - μ)/√(σ² + ε), μ and σ² taken over ``dims`` (the compact form)."""
    mean_g = grad_x_hat.mean(dim=dims, keepdim=True)                         # (1/M) Σ ĝ
    mean_gx = (grad_x_hat * x_hat).mean(dim=dims, keepdim=True)               # (1/M) Σ ĝ ⊙ x̂
    return inv_std * (grad_x_hat - mean_g - x_hat * mean_gx)


class BatchNorm1d(Module):
    """y = γ ⊙ (x - μ_B) / √(σ²_B + ε) + β,  statistics per feature over the batch.   Notebook 16

    Shapes:   x (N, C) -> y (N, C);  γ = weight (C,) ones, β = bias (C,) zeros
    Train:    μ_B, σ²_B the batch mean and biased variance of each column (N ≥ 2); the running
              statistics (Buffers, saved by state_dict) move towards them, as torch does:
              running_mean = (1 - momentum)·running_mean + momentum·μ_B
              running_var  = (1 - momentum)·running_var  + momentum·σ²_B·N/(N - 1)   (unbiased)
    Eval:     μ, σ² = running_mean, running_var: y is an affine map of x, the same for every batch
    Backward: with x̂ the normalised input, g = dL/dy (sums over the batch, per column)
              dL/dx = (1/N)·γ/σ·(N·g - Σ g - x̂ ⊙ Σ(g ⊙ x̂))   (N, C)  returned   (train; σ = √(σ²_B + ε))
              dL/dx = γ/σ ⊙ g                                   (N, C)  returned   (eval: μ, σ constants)
              dL/dγ = Σ g ⊙ x̂                                  (C,)    accumulated into weight.grad
              dL/dβ = Σ g                                       (C,)    accumulated into bias.grad
    Caches:   x̂ and 1/σ (and whether forward used the batch's statistics)
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *,
                 dtype: torch.dtype | None = None, device: torch.device | str | None = None):
        super().__init__()
        where = "BatchNorm1d"
        self.num_features = positive_int(num_features, "num_features", where)
        self.eps = _positive_eps(eps, where)
        self.momentum = finite_number(momentum, "momentum", where, 0.0, 1.0)
        kind = {"dtype": dtype, "device": device}
        self.weight = Parameter(torch.ones(num_features, **kind))
        self.bias = Parameter(torch.zeros(num_features, **kind))
        self.running_mean = Buffer(torch.zeros(num_features, **kind))
        self.running_var = Buffer(torch.ones(num_features, **kind))
        self.x_hat: Tensor | None = None
        self.inv_std: Tensor | None = None
        self.batch_stats = True

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x, features=self.num_features)
        n = x.shape[0]
        if self.training:
            if n < 2:
                raise ValueError(f"{self._name()} input: expected more than 1 value per channel when training, "
                                 f"got shape {shape_text(x)} (use a batch of 2 or more, or eval mode)")
            x_hat, inv_std, mean, var = normalize(x, (0,), self.eps)         # (N, C), then (1, C) each
            m = self.momentum
            new_mean = (1 - m) * self.running_mean.data + m * mean[0]
            new_var = (1 - m) * self.running_var.data + m * var[0] * (n / (n - 1))
            self.running_mean.data.copy_(new_mean)
            self.running_var.data.copy_(new_var)
        else:
            inv_std = (self.running_var.data + self.eps).rsqrt()               # (C,)
            x_hat = (x - self.running_mean.data) * inv_std                     # (N, C)
        self.x_hat, self.inv_std, self.batch_stats = x_hat, inv_std, self.training
        return x_hat * self.weight.data + self.bias.data                       # (N, C)

    def backward(self, grad_output: Tensor) -> Tensor:
        x_hat, inv_std = self._saved("x_hat"), self._saved("inv_std")
        self._check_grad(grad_output, x_hat.shape)
        grad_x_hat = grad_output * self.weight.data                            # dL/dx̂ = g ⊙ γ   (N, C)
        if self.batch_stats:
            grad_x = normalize_backward(grad_x_hat, x_hat, inv_std, (0,))
        else:
            grad_x = grad_x_hat * inv_std
        self.weight.grad += (grad_output * x_hat).sum(dim=0)                   # (C,)
        self.bias.grad += grad_output.sum(dim=0)                               # (C,)
        return grad_x                                                          # (N, C)

    def _name(self) -> str:
        return f"BatchNorm1d({self.num_features})"

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class LayerNorm(Module):
    """y = γ ⊙ (x - μ) / √(σ² + ε) + β,  statistics per sample over the last dims.      Notebook 16

    Shapes:   x (..., *normalized_shape) -> y, same shape;  γ = weight, β = bias: normalized_shape,
              ones and zeros. For an int D: x (N, D), statistics over each row's D entries
    Backward: BatchNorm's formula over the other axis: M = the number of entries normalised together,
              sums over the normalised dims, per sample
              dL/dx = (1/M)·(1/σ)·(M·ĝ - Σ ĝ - x̂ ⊙ Σ(ĝ ⊙ x̂)),  ĝ = g ⊙ γ   returned
              dL/dγ = Σ_samples g ⊙ x̂                        accumulated into weight.grad
              dL/dβ = Σ_samples g                             accumulated into bias.grad
    Caches:   x̂ and 1/σ. The same in train and eval mode (no running statistics).
    """

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5, *,
                 dtype: torch.dtype | None = None, device: torch.device | str | None = None):
        super().__init__()
        where = "LayerNorm"
        shape = (normalized_shape,) if isinstance(normalized_shape, int) and not isinstance(normalized_shape, bool) \
            else normalized_shape
        if not isinstance(shape, (tuple, list, torch.Size)) or not shape:
            raise ValueError(f"{where}: normalized_shape must be a positive int or a non-empty tuple of them, "
                             f"got {normalized_shape!r}")
        self.normalized_shape = tuple(positive_int(d, "normalized_shape", where) for d in shape)
        self.eps = _positive_eps(eps, where)
        self.weight = Parameter(torch.ones(self.normalized_shape, dtype=dtype, device=device))
        self.bias = Parameter(torch.zeros(self.normalized_shape, dtype=dtype, device=device))
        self.dims = tuple(range(-len(self.normalized_shape), 0))              # the last dims: (-1,) for (N, D)
        self.x_hat: Tensor | None = None
        self.inv_std: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        k = len(self.normalized_shape)
        if x.dim() < k or tuple(x.shape[x.dim() - k:]) != self.normalized_shape:
            expected = shape_text(("...", *self.normalized_shape))
            raise ValueError(f"{self._name()} input: expected shape {expected}, got {shape_text(x)}")
        self.x_hat, self.inv_std, _, _ = normalize(x, self.dims, self.eps)    # x's shape; (..., 1, ..., 1)
        return self.x_hat * self.weight.data + self.bias.data

    def backward(self, grad_output: Tensor) -> Tensor:
        x_hat, inv_std = self._saved("x_hat"), self._saved("inv_std")
        self._check_grad(grad_output, x_hat.shape)
        grad_x = normalize_backward(grad_output * self.weight.data, x_hat, inv_std, self.dims)
        per_sample = (-1, *self.normalized_shape)                              # every sample a row
        self.weight.grad += (grad_output * x_hat).reshape(per_sample).sum(dim=0)
        self.bias.grad += grad_output.reshape(per_sample).sum(dim=0)
        return grad_x

    def _name(self) -> str:
        return f"LayerNorm({shape_text(self.normalized_shape)})"

    def extra_repr(self) -> str:
        return f"{shape_text(self.normalized_shape)}, eps={self.eps}"


def _positive_eps(eps: object, where: str) -> float:
    eps = finite_number(eps, "eps", where, 0.0)
    if eps == 0.0:
        raise ValueError(f"{where}: eps must be > 0 (it keeps 1/√(σ² + ε) finite for a constant feature), got 0.0")
    return eps
