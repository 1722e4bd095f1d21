"""minidl.data: the data sets, train_test_split, standardize, one_hot, batches, CSV, and every error."""

import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl.training.data import (
    CLASSES,
    DATASETS,
    batch_order,
    batches,
    circles,
    disk,
    gaussian_centres,
    gaussians,
    make_dataset,
    moons,
    one_hot,
    parse_csv,
    spiral,
    standardize,
    train_test_split,
    train_val_test_split,
    xor,
)

NAMES = sorted(DATASETS)
JITTERED = [name for name in NAMES if name != "disk"]      # noise = input jitter, labels untouched


# -- disk: the EE-559 problem ---------------------------------------------------------------------
def test_disk_labels_are_exactly_inside_the_half_area_disk():
    x, y = disk(2000, generator=0)
    r = torch.linalg.vector_norm(x.double() - torch.tensor([0.5, 0.5], dtype=torch.float64), dim=1)
    assert torch.equal(y, (r < 1 / math.sqrt(2 * math.pi)).long())
    assert math.pi * (1 / math.sqrt(2 * math.pi)) ** 2 == pytest.approx(0.5)   # half the square
    assert x.shape == (2000, 2) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0 <= x.min() and x.max() < 1


def test_disk_draws_x_with_torch_rand_so_a_torch_twin_gets_the_same_points():
    x, _ = disk(50, generator=torch.Generator().manual_seed(3))
    assert torch.equal(x, torch.rand(50, 2, generator=torch.Generator().manual_seed(3)))
    torch.manual_seed(4)
    x_global, _ = disk(50)                                  # generator=None: the global RNG
    torch.manual_seed(4)
    assert torch.equal(x_global, torch.rand(50, 2))


def test_disk_classes_are_balanced_for_a_large_sample():
    _, y = disk(10_000, generator=1)
    assert abs(y.float().mean().item() - 0.5) < 0.02        # 4 standard errors


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 400), noise=st.floats(0, 1), seed=st.integers(0, 2**32))
def test_disk_noise_flips_exactly_round_noise_n_labels(n, noise, seed):
    x0, y0 = disk(n, generator=seed)
    x1, y1 = disk(n, noise=noise, generator=seed)
    assert torch.equal(x0, x1)
    assert int((y0 != y1).sum()) == round(noise * n)


def test_disk_in_float64():
    x, y = disk(100, generator=0, dtype=torch.float64)
    assert x.dtype == torch.float64 and y.dtype == torch.int64


# -- every data set ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_every_dataset_has_the_right_shapes_dtypes_range_and_two_classes(name, noise):
    x, y = make_dataset(name, 301, noise=noise, generator=5)
    assert x.shape == (301, 2) and y.shape == (301,)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() >= 0 and x.max() <= 1
    assert sorted(y.unique().tolist()) == [0, 1]
    if name != "disk":
        assert y.bincount().tolist() == [150, 151]           # n // 2 of class 0
    x64, _ = make_dataset(name, 10, noise=noise, generator=5, dtype=torch.float64)
    assert x64.dtype == torch.float64


@pytest.mark.parametrize("name", NAMES)
def test_every_dataset_is_reproducible_from_a_seed(name):
    a, b, c = (make_dataset(name, 200, noise=0.05, generator=s) for s in (7, 7, 8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    g = make_dataset(name, 200, noise=0.05, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a[0], g[0]) and torch.equal(a[1], g[1])


@pytest.mark.parametrize("name", JITTERED)
def test_input_noise_moves_points_but_keeps_labels(name):
    x0, y0 = make_dataset(name, 500, noise=0.0, generator=2)
    x1, y1 = make_dataset(name, 500, noise=0.05, generator=2)
    assert torch.equal(y0, y1)
    moved = (x1 - x0).abs()
    assert moved.max() > 0.05 and 0.02 < moved.mean() < 0.06   # E|N(0, 0.05²)| ≈ 0.04, some clipped


def test_make_dataset_dispatches_to_the_named_function():
    for name, fn in [("xor", xor), ("gaussians", gaussians), ("spiral", spiral),
                     ("circles", circles), ("moons", moons), ("disk", disk)]:
        assert DATASETS[name] is fn
        xa, ya = make_dataset(name, 40, noise=0.01, generator=3)
        xb, yb = fn(40, noise=0.01, generator=3)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


# -- the geometry of each clean data set -------------------------------------------------------------
def test_xor_label_is_the_xor_of_the_quadrants():
    x, y = xor(1000, generator=0)
    assert torch.equal(y, ((x[:, 0] >= 0.5) ^ (x[:, 1] >= 0.5)).long())
    quadrants = (2 * (x[:, 0] >= 0.5) + (x[:, 1] >= 0.5)).bincount()
    assert quadrants.min() > 200                             # all four quadrants are used


def test_gaussians_are_blobs_around_their_centres():
    x, y = gaussians(4000, generator=0)
    for label, centre in ((0, 0.3), (1, 0.7)):
        xs = x[y == label].double()
        assert torch.allclose(xs.mean(0), torch.full((2,), centre, dtype=torch.float64), atol=0.01)
        assert torch.allclose(xs.std(0), torch.full((2,), 0.1, dtype=torch.float64), atol=0.01)


def test_circles_inner_disk_is_class_1_and_outer_ring_is_class_0():
    x, y = circles(1000, generator=0)
    r = torch.linalg.vector_norm(x.double() - 0.5, dim=1)
    assert r[y == 1].max() < 0.2 + 1e-6
    assert r[y == 0].min() > 0.3 - 1e-6 and r[y == 0].max() < 0.45 + 1e-6
    inner_core = (r[y == 1] < 0.1).double().mean()              # uniform in area: (0.1 / 0.2)² = 1/4
    assert abs(inner_core - 0.25) < 0.08


def test_spiral_points_lie_on_their_class_spiral():
    x, y = spiral(1000, generator=0, dtype=torch.float64)
    u = x - 0.5
    t = torch.linalg.vector_norm(u, dim=1) / 0.45
    theta = 3.5 * math.pi * t + math.pi * y
    assert torch.allclose(u, 0.45 * t.unsqueeze(1) * torch.stack([theta.cos(), theta.sin()], 1), atol=1e-9)
    assert t.max() <= 1


def test_moons_are_two_interleaved_half_circles():
    x, y = moons(1000, generator=0, dtype=torch.float64)
    for label, centre, side in ((0, (0.35, 0.425), 1), (1, (0.65, 0.575), -1)):
        d = x[y == label] - torch.tensor(centre, dtype=torch.float64)
        assert torch.allclose(torch.linalg.vector_norm(d, dim=1), torch.tensor(0.3, dtype=torch.float64))
        assert (side * d[:, 1] >= -1e-12).all()                # class 0 the upper half, class 1 the lower


# -- k classes: gaussians and spiral -----------------------------------------------------------------
def _old_gaussians(n, noise, seed):
    """gaussians as it was before k classes (the reference for k = 2)."""
    g = torch.Generator().manual_seed(seed)
    y = (torch.randperm(n, generator=g) >= n // 2).long()
    x = 0.3 + 0.4 * y.double().unsqueeze(1).expand(n, 2) + 0.1 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    if noise > 0:
        x = x + noise * torch.randn(x.shape, generator=g, dtype=x.dtype)
    return x.clamp(0.0, 1.0).float(), y


def _old_spiral(n, noise, seed):
    """spiral as it was before k classes (the reference for k = 2)."""
    g = torch.Generator().manual_seed(seed)
    y = (torch.randperm(n, generator=g) >= n // 2).long()
    t = torch.rand(n, generator=g, dtype=torch.float64)
    theta = 3.5 * math.pi * t + math.pi * y
    x = 0.5 + (0.45 * t).unsqueeze(1) * torch.stack([theta.cos(), theta.sin()], dim=1)
    if noise > 0:
        x = x + noise * torch.randn(x.shape, generator=g, dtype=x.dtype)
    return x.clamp(0.0, 1.0).float(), y


@pytest.mark.parametrize("n", [2, 301, 1000])
@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_two_classes_are_bit_identical_to_the_points_before_k_classes(n, noise):
    for name, old in (("gaussians", _old_gaussians), ("spiral", _old_spiral)):
        x, y = make_dataset(name, n, noise=noise, generator=4)
        x2, y2 = make_dataset(name, n, classes=2, noise=noise, generator=4)
        ox, oy = old(n, noise, 4)
        assert torch.equal(x, ox) and torch.equal(y, oy) and torch.equal(x2, ox) and torch.equal(y2, oy), name


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("k", [2, 3, 4, 5])
@pytest.mark.parametrize("n", [5, 101, 1000])
def test_k_classes_are_balanced_labelled_0_to_k_minus_1_and_inside_the_square(name, k, n):
    x, y = make_dataset(name, n, classes=k, noise=0.05, generator=9)
    assert x.shape == (n, 2) and y.shape == (n,) and y.dtype == torch.int64
    assert x.min() >= 0 and x.max() <= 1
    counts = y.bincount(minlength=k).tolist()
    assert len(counts) == k and sum(counts) == n
    assert counts == [n // k] * (k - n % k) + [n // k + 1] * (n % k)    # n // k each, the rest on the last ones


def test_gaussian_centres_sit_on_a_circle_around_the_middle_and_k_blobs_around_them():
    for k in (2, 3, 4, 5):
        mu = gaussian_centres(k)
        assert mu.shape == (k, 2)
        assert torch.allclose(torch.linalg.vector_norm(mu - 0.5, dim=1),
                              torch.full((k,), 0.2 * math.sqrt(2), dtype=torch.float64), atol=1e-11)
        x, y = gaussians(500 * k, classes=k, generator=k)
        for c in range(k):
            assert torch.allclose(x[y == c].double().mean(0), mu[c], atol=0.015)
    assert gaussian_centres(2).tolist() == [[0.3, 0.3], [0.7, 0.7]]


@pytest.mark.parametrize("k", [3, 4, 5])
def test_k_spiral_arms_are_turned_by_2_pi_over_k(k):
    x, y = spiral(1000, classes=k, generator=0, dtype=torch.float64)
    u = x - 0.5
    t = torch.linalg.vector_norm(u, dim=1) / 0.45
    theta = 3.5 * math.pi * t + 2 * math.pi * y / k
    assert torch.allclose(u, 0.45 * t.unsqueeze(1) * torch.stack([theta.cos(), theta.sin()], 1), atol=1e-9)
    wrong = 3.5 * math.pi * t + math.pi * y                      # negative control: the two-arm angle
    assert not torch.allclose(u, 0.45 * t.unsqueeze(1) * torch.stack([wrong.cos(), wrong.sin()], 1), atol=1e-3)


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("bad", [1, 6, 0, 2.0, True, "3", None])
def test_a_bad_number_of_classes_is_refused(name, bad):
    with pytest.raises(ValueError, match=rf"^{name}: classes must be an int in \[2, 5\], got {re.escape(repr(bad))}$"):
        make_dataset(name, 100, classes=bad)


def test_fewer_points_than_classes_are_refused():
    with pytest.raises(ValueError, match=r"^spiral: n must be an int >= classes=5, got 4$"):
        spiral(4, classes=5)


@pytest.mark.parametrize("name", [name for name in NAMES if name not in CLASSES])
@pytest.mark.parametrize("bad", [3, 5, 1, 2.0, True])
def test_two_class_datasets_refuse_other_class_counts_by_name(name, bad):
    with pytest.raises(ValueError, match=rf"^make_dataset: data set '{name}' has 2 classes, got "
                                         rf"classes={re.escape(repr(bad))} \(k classes: gaussians, spiral\)$"):
        make_dataset(name, 100, classes=bad)
    x, y = make_dataset(name, 100, classes=2, generator=1)
    assert torch.equal(y, make_dataset(name, 100, generator=1)[1])


# -- data-set argument errors ------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [0, 1, 2.5, True])
def test_dataset_rejects_a_bad_n(name, n):
    with pytest.raises(ValueError, match=rf"{name}: n must be an int >= 2, got {n!r}"):
        make_dataset(name, n)


@pytest.mark.parametrize("name", NAMES)
def test_dataset_rejects_bad_noise_dtype_and_generator(name):
    what = r"a number in \[0, 1\]" if name == "disk" else "a finite number >= 0"
    for bad in (-0.1, "a", math.inf, math.nan, True):
        with pytest.raises(ValueError, match=rf"{name}: noise must be {what}, got {re.escape(repr(bad))}"):
            make_dataset(name, 10, noise=bad)
    with pytest.raises(TypeError, match=rf"{name}: dtype must be a floating torch.dtype, got torch.int64"):
        make_dataset(name, 10, dtype=torch.int64)
    with pytest.raises(TypeError, match=rf"{name}: generator must be a torch.Generator, an int seed or None, "
                                        r"got str"):
        make_dataset(name, 10, generator="seed")


def test_disk_noise_is_a_fraction_at_most_1():
    with pytest.raises(ValueError, match=r"disk: noise must be a number in \[0, 1\], got 1.5"):
        disk(10, noise=1.5)


def test_make_dataset_unknown_name_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown data set 'ring'; valid names: disk, xor, gaussians, "
                                         "spiral, circles, moons"):
        make_dataset("ring", 10)


# -- train_test_split --------------------------------------------------------------------------------
def test_train_test_split_partitions_the_rows_and_keeps_pairs():
    x = torch.arange(20.0).reshape(10, 2)
    y = torch.arange(10) * 10
    x_tr, y_tr, x_te, y_te = train_test_split(x, y, 0.3, generator=0)
    assert len(x_tr) == len(y_tr) == 7 and len(x_te) == len(y_te) == 3
    rows = torch.cat([x_tr, x_te])[:, 0].long() // 2
    assert sorted(rows.tolist()) == list(range(10))
    assert torch.equal(torch.cat([y_tr, y_te]), rows * 10)       # (x, y) stay together
    assert rows.tolist() != list(range(10))                      # shuffled
    again = train_test_split(x, y, 0.3, generator=0)
    assert all(torch.equal(a, b) for a, b in zip(again, (x_tr, y_tr, x_te, y_te), strict=True))



def test_train_val_test_split_partitions_the_rows_into_three_disjoint_parts():
    x = torch.arange(40.0).reshape(20, 2)
    y = torch.arange(20) * 10
    s = train_val_test_split(x, y, val_fraction=0.25, test_fraction=0.1, generator=3)
    assert [len(part[0]) for part in s] == [13, 5, 2] and [len(part[1]) for part in s] == [13, 5, 2]
    rows = torch.cat([s.train[0], s.val[0], s.test[0]])[:, 0].long() // 2
    assert sorted(rows.tolist()) == list(range(20))              # disjoint, nothing lost
    assert torch.equal(torch.cat([s.train[1], s.val[1], s.test[1]]), rows * 10)
    assert rows.tolist() != list(range(20))
    again = train_val_test_split(x, y, val_fraction=0.25, test_fraction=0.1, generator=3)
    assert torch.equal(again.val[0], s.val[0]) and torch.equal(again.test[1], s.test[1])


def test_train_val_test_split_errors():
    x, y = torch.zeros(5, 2), torch.zeros(5, dtype=torch.long)
    for name in ("val_fraction", "test_fraction"):
        for bad in (0, 1, -0.5, True):
            with pytest.raises(ValueError, match=rf"train_val_test_split: {name} must be in \(0, 1\), got {bad!r}"):
                train_val_test_split(x, y, **{name: bad})
    with pytest.raises(ValueError, match=r"leave 0 train, 3 val and 2 test samples; each needs at least one"):
        train_val_test_split(x, y, val_fraction=0.6, test_fraction=0.4)
    with pytest.raises(ValueError, match=r"train_val_test_split: x and y must have the same length"):
        train_val_test_split(x, y[:4])

def test_train_test_split_errors():
    x, y = torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"train_test_split: x and y must have the same length, "
                                         r"got x \(4, 2\) and y \(3,\)"):
        train_test_split(x, y[:3])
    for bad in (0, 1, 1.5, True):
        with pytest.raises(ValueError, match=rf"test_fraction must be in \(0, 1\), got {bad!r}"):
            train_test_split(x, y, bad)
    with pytest.raises(ValueError, match=r"test_fraction=0.1 of 4 samples leaves 0 test and 4 train"):
        train_test_split(x, y, 0.1)
    with pytest.raises(TypeError, match="train_test_split: x must be a torch.Tensor, got list"):
        train_test_split([[0.0, 0.0]], y)
    with pytest.raises(ValueError, match=r"train_test_split: y must have a first \(sample\) dimension"):
        train_test_split(x, torch.tensor(1))


# -- standardize -------------------------------------------------------------------------------------
def test_standardize_uses_training_statistics_only():
    g = torch.Generator().manual_seed(0)
    x_train = 3.0 + 2.0 * torch.randn(500, 2, generator=g, dtype=torch.float64)
    x_test = -5.0 + 0.5 * torch.randn(100, 2, generator=g, dtype=torch.float64)
    a, b, mean, std = standardize(x_train, x_test)
    assert torch.allclose(a.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(a.std(0), torch.ones(2, dtype=torch.float64))
    assert torch.equal(mean, x_train.mean(0)) and torch.equal(std, x_train.std(0))
    assert torch.allclose(b, (x_test - x_train.mean(0)) / x_train.std(0))
    assert b.mean() < -3                                         # not standardized by its own stats


def test_standardize_constant_column_uses_std_1_and_test_may_be_none():
    x = torch.tensor([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0]])
    a, b, mean, std = standardize(x)
    assert b is None and std.tolist() == [2.0, 1.0] and mean.tolist() == [3.0, 7.0]
    assert a[:, 1].tolist() == [0.0, 0.0, 0.0] and torch.isfinite(a).all()


def test_standardize_errors():
    with pytest.raises(TypeError, match="standardize: x_train must be a floating-point tensor, "
                                        "got torch.int64"):
        standardize(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="x_train must be a floating-point tensor, got list"):
        standardize([[1.0]])
    with pytest.raises(ValueError, match=r"x_train must have shape \(N, D\), got \(3,\)"):
        standardize(torch.zeros(3))
    with pytest.raises(ValueError, match=r"x_train needs at least 2 rows for a std, got \(1, 2\)"):
        standardize(torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"x_test must have shape \(M, 2\) like x_train, got \(4, 3\)"):
        standardize(torch.randn(5, 2), torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"x_test must have shape \(M, 2\) like x_train, got list"):
        standardize(torch.randn(5, 2), [[0.0, 0.0]])


# -- one_hot -----------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(labels=st.lists(st.integers(0, 6), min_size=1, max_size=40), extra=st.integers(0, 3))
def test_one_hot_round_trip(labels, extra):
    y = torch.tensor(labels)
    c = max(labels) + 1 + extra
    t = one_hot(y, c)
    assert t.shape == (len(labels), c) and t.dtype == torch.float32
    assert torch.equal(t.argmax(dim=1), y) and torch.equal(t.sum(dim=1), torch.ones(len(labels)))
    assert torch.equal(one_hot(y), t[:, :max(labels) + 1])       # num_classes inferred as max + 1


def test_one_hot_plus_minus_one_targets():
    t = one_hot(torch.tensor([1, 0, 2]), 3, off=-1.0, dtype=torch.float64)
    assert t.dtype == torch.float64
    assert t.tolist() == [[-1, 1, -1], [1, -1, -1], [-1, -1, 1]]
    assert one_hot(torch.tensor([], dtype=torch.long), 2).shape == (0, 2)
    assert one_hot(torch.tensor([1], dtype=torch.int32), 2).tolist() == [[0.0, 1.0]]


def test_one_hot_errors():
    with pytest.raises(TypeError, match=r"one_hot: y must have an integer dtype, got torch.float32 "
                                        r"\(use y.long\(\)\)"):
        one_hot(torch.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="integer dtype, got torch.bool"):
        one_hot(torch.tensor([True, False]))
    with pytest.raises(TypeError, match=r"one_hot: y must be a 1-D tensor of class labels, got \(2, 1\)"):
        one_hot(torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(TypeError, match="1-D tensor of class labels, got list"):
        one_hot([0, 1])
    with pytest.raises(ValueError, match=r"one_hot: labels must be >= 0, got y\[2\] = -1"):
        one_hot(torch.tensor([0, 1, -1, -3]))
    with pytest.raises(ValueError, match=r"one_hot: labels must be < num_classes=3, got y\[1\] = 3"):
        one_hot(torch.tensor([0, 3, 1, 4]), 3)
    with pytest.raises(ValueError, match="one_hot: num_classes must be an int >= 1, got 0"):
        one_hot(torch.tensor([], dtype=torch.long), 0)
    with pytest.raises(ValueError, match="cannot infer num_classes from an empty y; pass num_classes"):
        one_hot(torch.tensor([], dtype=torch.long))


# -- batches -----------------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(n=st.integers(0, 200), batch_size=st.integers(1, 50), shuffle=st.booleans(), seed=st.integers(0, 99))
def test_batch_order_covers_every_index_once(n, batch_size, shuffle, seed):
    order = batch_order(n, batch_size, shuffle, seed)
    assert len(order) == math.ceil(n / batch_size)
    assert all(len(i) == batch_size for i in order[:-1]) and all(0 < len(i) <= batch_size for i in order)
    flat = torch.cat(order) if order else torch.tensor([], dtype=torch.long)
    assert sorted(flat.tolist()) == list(range(n))
    if not shuffle:
        assert flat.tolist() == list(range(n))


def test_batch_order_is_reproducible_and_a_generator_gives_new_epochs():
    a = torch.cat(batch_order(100, 32, True, 4))
    assert torch.equal(a, torch.cat(batch_order(100, 32, True, 4)))
    assert a.tolist() != list(range(100))
    g = torch.Generator().manual_seed(4)
    first, second = torch.cat(batch_order(100, 32, True, g)), torch.cat(batch_order(100, 32, True, g))
    assert torch.equal(first, a) and not torch.equal(first, second)


def test_batches_follow_batch_order_and_keep_pairs():
    x = torch.arange(23.0).unsqueeze(1).repeat(1, 2)
    y = torch.arange(23) * 2
    got = list(batches(x, y, 5, generator=9))
    order = batch_order(23, 5, True, 9)
    assert [len(xb) for xb, _ in got] == [5, 5, 5, 5, 3]
    for (xb, yb), i in zip(got, order, strict=True):
        assert torch.equal(xb, x[i]) and torch.equal(yb, y[i])
    assert sorted(torch.cat([yb for _, yb in got]).tolist()) == y.tolist()
    in_order = list(batches(x, y, 10, shuffle=False))
    assert torch.equal(in_order[0][1], y[:10]) and torch.equal(in_order[2][1], y[20:])


def test_batches_errors_are_raised_at_the_call_not_at_iteration():
    x, y = torch.zeros(6, 2), torch.zeros(6, dtype=torch.long)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=rf"batches: batch_size must be an int >= 1, got {bad!r}"):
            batches(x, y, bad)
    with pytest.raises(ValueError, match=r"batches: x and y must have the same length, "
                                         r"got x \(6, 2\) and y \(5,\)"):
        batches(x, y[:5], 2)
    with pytest.raises(TypeError, match="batches: y must be a torch.Tensor, got list"):
        batches(x, [0] * 6, 2)
    with pytest.raises(ValueError, match="batch_order: n must be an int >= 0, got -1"):
        batch_order(-1, 2)
    with pytest.raises(ValueError, match="batch_order: batch_size must be an int >= 1, got 0"):
        batch_order(5, 0)
    with pytest.raises(TypeError, match="batch_order: generator must be a torch.Generator, an int seed "
                                        "or None, got float"):
        batch_order(5, 2, True, 1.5)


# -- no autograd needed --------------------------------------------------------------------------------
def test_everything_works_with_grad_disabled():
    with torch.set_grad_enabled(False):
        for name in NAMES:
            x, y = make_dataset(name, 40, noise=0.05, generator=0)
        x_tr, y_tr, x_te, _ = train_test_split(x, y, generator=0)
        a, b, _, _ = standardize(x_tr, x_te)
        t = one_hot(y_tr, 2, off=-1.0)
        n = sum(len(xb) for xb, _ in batches(a, t, 7, generator=0))
        x_csv, _ = parse_csv("x1,x2,label\n0,0,0\n1,1,1\n")
    assert n == 20 and b.shape == (20, 2) and x_csv.shape == (2, 2)
    assert not any(v.requires_grad for v in (x, a, b, t, x_csv))
