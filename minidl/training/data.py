"""2-D data sets, train/test and train/validation/test splits, standardize, one_hot, mini-batches.     Notebooks 01, 10

Every data set returns ``x`` (n, 2) floating, inside the unit square [0, 1]², and ``y`` (n,) int64.
``classes``: k = 2..5 for the data sets in CLASSES (gaussians, spiral), 2 for the others; each class
gets n // k points, the rest spread one each over the last classes.
``noise`` means:  disk: the fraction of labels flipped (exactly round(noise·n) of them);
every other set: the std of Gaussian jitter added to the inputs (in unit-square units) after the
labels are drawn, then clipped to [0, 1]², so noise blurs the boundary but never changes a label.
``generator`` is a torch.Generator, an int seed, or None (torch's global RNG).
Input features computed from x (x₁², x₁x₂, sin x₁ ...): md.features.input_features.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import NamedTuple

import torch
from torch import Tensor

from ..framework.checks import as_generator, int_at_least, shape_text
from .csv_reader import CSV_DTYPES, MAX_ROWS, load_csv, parse_csv  # md.data.parse_csv: its home is csv_reader

Dataset = tuple[Tensor, Tensor]
Seed = torch.Generator | int | None      # a generator, an int seed, or None: the global RNG
RADIUS = 1.0 / math.sqrt(2.0 * math.pi)   # the disk of this radius covers half of [0, 1]²
CLASSES = {"gaussians": (2, 5), "spiral": (2, 5)}   # data sets that take k classes: (fewest, most); others 2


def _start(where: str, n: int, noise: float, generator: Seed, dtype: torch.dtype,
           max_noise: float = math.inf) -> torch.Generator | None:
    """Check the arguments every data set takes; return the generator to draw from."""
    int_at_least(n, "n", where, minimum=2)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) \
            or not (0 <= noise <= max_noise and math.isfinite(noise)):
        what = "a finite number >= 0" if max_noise == math.inf else f"a number in [0, {max_noise:g}]"
        raise ValueError(f"{where}: noise must be {what}, got {noise!r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{where}: dtype must be a floating torch.dtype, got {dtype!r}")
    return as_generator(generator, where)


def _classes(where: str, classes: int, n: int) -> int:
    """classes if it is an int in CLASSES[where]'s range and n has a point for each, else ValueError."""
    low, high = CLASSES[where]
    if isinstance(classes, bool) or not isinstance(classes, int) or not low <= classes <= high:
        raise ValueError(f"{where}: classes must be an int in [{low}, {high}], got {classes!r}")
    if n < classes:
        raise ValueError(f"{where}: n must be an int >= classes={classes}, got {n!r}")
    return classes


def _balanced(n: int, g: torch.Generator | None, k: int = 2) -> Tensor:
    """Labels 0..k-1 in random order: class j gets n // k points, plus one if j >= k - n % k.

    y = Σ_j [p ≥ s_j] for a random permutation p and s_j the first position of class j; for k = 2 that
    is [p ≥ n // 2]: n // 2 zeros and n - n // 2 ones.
    """
    p = torch.randperm(n, generator=g)
    y = (p >= n // k).long()                                    # s_1 = n // k (+ 0: the extras go last)
    for j in range(2, k):
        y += p >= j * (n // k) + max(0, j - (k - n % k))        # s_j
    return y


def _finish(x: Tensor, y: Tensor, noise: float, g: torch.Generator | None, dtype: torch.dtype) -> Dataset:
    """x + N(0, noise²) jitter, clipped to the unit square."""
    if noise > 0:
        x = x + noise * torch.randn(x.shape, generator=g, dtype=x.dtype)
    return x.clamp(0.0, 1.0).to(dtype), y


def disk(n: int = 1000, *, noise: float = 0.0, generator: Seed = None,
         dtype: torch.dtype = torch.float32) -> Dataset:
    """y = 1 if ‖x - (½, ½)‖ < 1/√(2π) else 0,  x ~ U([0, 1]²): the EE-559 problem.   Notebook 01

    The radius makes the disk half of the square, so the classes are balanced on average.
    noise: the fraction of labels flipped, exactly round(noise·n) random points.
    """
    g = _start("disk", n, noise, generator, dtype, max_noise=1.0)
    x = torch.rand(n, 2, generator=g, dtype=dtype)
    y = ((x - 0.5).pow(2).sum(dim=1) < RADIUS ** 2).long()         # ‖x - c‖² < r²
    flip = torch.randperm(n, generator=g)[:round(noise * n)]
    y[flip] = 1 - y[flip]
    return x, y


def xor(n: int = 1000, *, noise: float = 0.0, generator: Seed = None,
        dtype: torch.dtype = torch.float32) -> Dataset:
    """y = [x₁ ≥ ½] xor [x₂ ≥ ½]: uniform in the quadrants, n//2 points of class 0."""
    g = _start("xor", n, noise, generator, dtype)
    y = _balanced(n, g)
    a = torch.randint(0, 2, (n,), generator=g)                     # the quadrant of x₁
    corner = torch.stack([a, a ^ y], dim=1).double()                # (n, 2) of 0 / 1
    x = 0.5 * (corner + torch.rand(n, 2, generator=g, dtype=torch.float64))
    return _finish(x, y, noise, g, dtype)


def gaussian_centres(k: int = 2) -> Tensor:
    """μ_c = (½, ½) + 0.2√2 (cos φ_c, sin φ_c),  φ_c = 5π/4 + 2π c / k:  k points on a circle, (k, 2) float64.

    Rounded to 12 decimals, so k = 2 gives exactly μ₀ = (0.3, 0.3), μ₁ = (0.7, 0.7).
    """
    r = 0.2 * math.sqrt(2.0)
    phi = [5 * math.pi / 4 + 2 * math.pi * c / k for c in range(k)]
    return torch.tensor([[round(0.5 + r * math.cos(a), 12), round(0.5 + r * math.sin(a), 12)] for a in phi],
                        dtype=torch.float64)


def gaussians(n: int = 1000, *, classes: int = 2, noise: float = 0.0, generator: Seed = None,
              dtype: torch.dtype = torch.float32) -> Dataset:
    """x ~ N(μ_y, 0.1²·I), μ_c on a circle around (½, ½) (gaussian_centres); jitter widens the blobs.

    k = 2: μ₀ = (0.3, 0.3), μ₁ = (0.7, 0.7), the diagonal.
    """
    g = _start("gaussians", n, noise, generator, dtype)
    y = _balanced(n, g, _classes("gaussians", classes, n))
    centre = gaussian_centres(classes)[y]                                 # (n, 2)
    x = centre + 0.1 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return _finish(x, y, noise, g, dtype)


def _polar(r: Tensor, theta: Tensor) -> Tensor:
    """(½, ½) + r (cos θ, sin θ), shape (n, 2)."""
    return 0.5 + r.unsqueeze(1) * torch.stack([theta.cos(), theta.sin()], dim=1)


def spiral(n: int = 1000, *, classes: int = 2, noise: float = 0.0, generator: Seed = None,
           dtype: torch.dtype = torch.float32) -> Dataset:
    """r = 0.45 t,  θ = 3.5π t + 2π y / k,  t ~ U(0, 1): k interleaved spirals, 1¾ turns each."""
    g = _start("spiral", n, noise, generator, dtype)
    y = _balanced(n, g, _classes("spiral", classes, n))
    t = torch.rand(n, generator=g, dtype=torch.float64)
    x = _polar(0.45 * t, 3.5 * math.pi * t + (2 * math.pi / classes) * y)   # k = 2: π y
    return _finish(x, y, noise, g, dtype)


def circles(n: int = 1000, *, noise: float = 0.0, generator: Seed = None,
            dtype: torch.dtype = torch.float32) -> Dataset:
    """Class 1: the disk r < 0.2;  class 0: the ring 0.3 < r < 0.45; uniform in area, centre (½, ½)."""
    g = _start("circles", n, noise, generator, dtype)
    y = _balanced(n, g)
    u = torch.rand(n, generator=g, dtype=torch.float64)
    r = torch.where(y == 1, 0.2 * u.sqrt(), (0.3 ** 2 + u * (0.45 ** 2 - 0.3 ** 2)).sqrt())
    theta = 2 * math.pi * torch.rand(n, generator=g, dtype=torch.float64)
    return _finish(_polar(r, theta), y, noise, g, dtype)


def moons(n: int = 1000, *, noise: float = 0.0, generator: Seed = None,
          dtype: torch.dtype = torch.float32) -> Dataset:
    """Class 0: (cos t, sin t), class 1: (1 - cos t, ½ - sin t), t ~ U(0, π); scaled by 0.3 into [0, 1]²."""
    g = _start("moons", n, noise, generator, dtype)
    y = _balanced(n, g)
    t = math.pi * torch.rand(n, generator=g, dtype=torch.float64)
    yf = y.double()
    u = torch.stack([yf + (1 - 2 * yf) * t.cos(), 0.5 * yf + (1 - 2 * yf) * t.sin()], dim=1)
    x = 0.5 + 0.3 * (u - torch.tensor([0.5, 0.25], dtype=torch.float64))   # [-1, 2]×[-½, 1] -> inside
    return _finish(x, y, noise, g, dtype)


DATASETS: dict[str, Callable[..., Dataset]] = {
    "disk": disk, "xor": xor, "gaussians": gaussians, "spiral": spiral, "circles": circles, "moons": moons,
}


def make_dataset(name: str, n: int = 1000, *, classes: int = 2, noise: float = 0.0, generator: Seed = None,
                 dtype: torch.dtype = torch.float32) -> Dataset:
    """DATASETS[name](n, classes=classes, noise=noise, generator=generator, dtype=dtype); classes only
    for the data sets in CLASSES, the others have 2."""
    if name not in DATASETS:
        raise ValueError(f"make_dataset: unknown data set {name!r}; valid names: {', '.join(DATASETS)}")
    if name in CLASSES:
        return DATASETS[name](n, classes=classes, noise=noise, generator=generator, dtype=dtype)
    if isinstance(classes, bool) or not isinstance(classes, int) or classes != 2:
        raise ValueError(f"make_dataset: data set {name!r} has 2 classes, got classes={classes!r} "
                         f"(k classes: {', '.join(CLASSES)})")
    return DATASETS[name](n, noise=noise, generator=generator, dtype=dtype)


def _check_xy(x: Tensor, y: Tensor, where: str) -> int:
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{where}: {name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() == 0:
            raise ValueError(f"{where}: {name} must have a first (sample) dimension, got a 0-d tensor")
    if len(x) != len(y):
        raise ValueError(f"{where}: x and y must have the same length, got x {shape_text(x)} and y {shape_text(y)}")
    return len(x)


def train_test_split(x: Tensor, y: Tensor, test_fraction: float = 0.5, *,
                     generator: Seed = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """A random permutation p; test = p[:round(f·n)], train = the rest."""
    n = _check_xy(x, y, "train_test_split")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) \
            or not 0 < test_fraction < 1:
        raise ValueError(f"train_test_split: test_fraction must be in (0, 1), got {test_fraction!r}")
    n_test = round(test_fraction * n)
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: test_fraction={test_fraction} of {n} samples leaves "
                         f"{n_test} test and {n - n_test} train samples; both need at least one")
    p = torch.randperm(n, generator=as_generator(generator, "train_test_split"))
    return x[p[n_test:]], y[p[n_test:]], x[p[:n_test]], y[p[:n_test]]


class Split(NamedTuple):
    """Three disjoint parts of one data set: fit on train, choose settings on val, report test once."""
    train: Dataset
    val: Dataset
    test: Dataset


def train_val_test_split(x: Tensor, y: Tensor, val_fraction: float = 0.2, test_fraction: float = 0.2, *,
                         generator: Seed = None) -> Split:
    """A random permutation p; test = p[:round(f_test·n)], val = the next round(f_val·n), train = the rest.

    Settings (learning rate, width, epochs ...) are chosen on ``val``; ``test`` is looked at once, at the end,
    so the reported error is not one the choice was tuned to.
    """
    where = "train_val_test_split"
    n = _check_xy(x, y, where)
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f < 1:
            raise ValueError(f"{where}: {name} must be in (0, 1), got {f!r}")
    n_test, n_val = round(test_fraction * n), round(val_fraction * n)
    if min(n_test, n_val, n - n_test - n_val) < 1:
        raise ValueError(f"{where}: val_fraction={val_fraction}, test_fraction={test_fraction} of {n} samples "
                         f"leave {n - n_test - n_val} train, {n_val} val and {n_test} test samples; "
                         f"each needs at least one")
    p = torch.randperm(n, generator=as_generator(generator, where))
    test, val, train = p[:n_test], p[n_test:n_test + n_val], p[n_test + n_val:]
    return Split((x[train], y[train]), (x[val], y[val]), (x[test], y[test]))


def standardize(x_train: Tensor,
                x_test: Tensor | None = None) -> tuple[Tensor, Tensor | None, Tensor, Tensor]:
    """x̂ = (x - μ) / σ with μ, σ per column of the *training* set (σ = 1 where σ = 0)."""
    if not isinstance(x_train, Tensor) or not x_train.is_floating_point():
        got = x_train.dtype if isinstance(x_train, Tensor) else type(x_train).__name__
        raise TypeError(f"standardize: x_train must be a floating-point tensor, got {got}")
    if x_train.dim() != 2:
        raise ValueError(f"standardize: x_train must have shape (N, D), got {shape_text(x_train)}")
    if len(x_train) < 2:
        raise ValueError(f"standardize: x_train needs at least 2 rows for a std, got {shape_text(x_train)}")
    if x_test is not None and (not isinstance(x_test, Tensor) or x_test.dim() != 2
                               or x_test.shape[1] != x_train.shape[1]):
        got = shape_text(x_test) if isinstance(x_test, Tensor) else type(x_test).__name__
        raise ValueError(f"standardize: x_test must have shape (M, {x_train.shape[1]}) like x_train, "
                         f"got {got}")
    mean, std = x_train.mean(dim=0), x_train.std(dim=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (x_train - mean) / std, None if x_test is None else (x_test - mean) / std, mean, std


def one_hot(y: Tensor, num_classes: int | None = None, *, dtype: torch.dtype = torch.float32,
            on: float = 1.0, off: float = 0.0) -> Tensor:
    """t[n, c] = on if y[n] = c else off, shape (N, C); off = -1 gives ±1 targets."""
    if not isinstance(y, Tensor) or y.dim() != 1:
        got = shape_text(y) if isinstance(y, Tensor) else type(y).__name__
        raise TypeError(f"one_hot: y must be a 1-D tensor of class labels, got {got}")
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"one_hot: y must have an integer dtype, got {y.dtype} (use y.long())")
    if len(y) and y.min() < 0:
        bad = int((y < 0).nonzero()[0])                          # the first negative label
        raise ValueError(f"one_hot: labels must be >= 0, got y[{bad}] = {int(y[bad])}")
    if num_classes is None:
        if not len(y):
            raise ValueError("one_hot: cannot infer num_classes from an empty y; pass num_classes")
        num_classes = int(y.max()) + 1
    int_at_least(num_classes, "num_classes", "one_hot")
    if len(y) and y.max() >= num_classes:
        bad = int((y >= num_classes).nonzero()[0])
        raise ValueError(f"one_hot: labels must be < num_classes={num_classes}, got y[{bad}] = {int(y[bad])}")
    t = torch.full((len(y), num_classes), off, dtype=dtype)
    t[torch.arange(len(y)), y.long()] = on
    return t


def batch_order(n: int, batch_size: int, shuffle: bool = True,
                generator: Seed = None) -> list[Tensor]:
    """The index tensors of one epoch: a permutation of 0..n-1 (or 0..n-1 in order) cut every batch_size."""
    int_at_least(n, "n", "batch_order", minimum=0)
    int_at_least(batch_size, "batch_size", "batch_order")
    order = torch.randperm(n, generator=as_generator(generator, "batch_order")) if shuffle else torch.arange(n)
    return list(order.split(batch_size)) if n else []          # split() of an empty tensor gives [empty]


def batches(x: Tensor, y: Tensor, batch_size: int, shuffle: bool = True,
            generator: Seed = None) -> Iterator[tuple[Tensor, Tensor]]:
    """(x[i], y[i]) for each index tensor i of batch_order(len(x), ...); the last batch may be smaller.

    Pass a torch.Generator to get a new order every epoch (an int seed repeats the same order).
    """
    n = _check_xy(x, y, "batches")
    int_at_least(batch_size, "batch_size", "batches")
    return ((x[i], y[i]) for i in batch_order(n, batch_size, shuffle, generator))

__all__ = ["RADIUS", "CLASSES", "DATASETS", "disk", "xor", "gaussians", "gaussian_centres", "spiral", "circles",
           "moons", "make_dataset",
           "train_test_split", "train_val_test_split", "Split", "standardize", "one_hot", "batch_order", "batches",
           "parse_csv", "load_csv", "MAX_ROWS", "CSV_DTYPES"]
