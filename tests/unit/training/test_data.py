"""minidl.data: the data sets, train_test_split, standardize, one_hot, batches, CSV, and every error."""

import inspect
import math
import re
from unittest import mock

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl.training.data as data_module
from minidl.training.data import (
    DATASETS,
    MAX_ROWS,
    batch_order,
    batches,
    circles,
    disk,
    gaussians,
    load_csv,
    make_dataset,
    moons,
    one_hot,
    parse_csv,
    spiral,
    standardize,
    train_test_split,
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


# -- CSV -----------------------------------------------------------------------------------------------
def test_parse_csv_finds_columns_by_name_in_any_order():
    text = "id,Label, X2 ,x1\n\na,1,0.5,0.25\nb,0.0,1e-1,2\n"
    x, y = parse_csv(text)
    assert torch.equal(x, torch.tensor([[0.25, 0.5], [2.0, 0.1]])) and x.dtype == torch.float32
    assert y.tolist() == [1, 0] and y.dtype == torch.int64


def test_parse_csv_without_header_and_from_bytes_with_bom():
    x, y = parse_csv("0.1,0.2,0\n0.3,0.4,1\n", dtype=torch.float64)
    assert x.dtype == torch.float64 and x.tolist() == [[0.1, 0.2], [0.3, 0.4]] and y.tolist() == [0, 1]
    x2, y2 = parse_csv("\ufeffx1,x2,label\n0.1,0.2,0\n0.3,0.4,1\n".encode(), dtype=torch.float64)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_load_csv_reads_a_file_and_names_it_in_errors(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("x1,x2,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,2\n")
    x, y = load_csv(path)
    assert x.shape == (3, 2) and y.tolist() == [0, 1, 2]
    path.write_text("x1,x2,label\n0.1,0.2,0\n0.3,oops,1\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}, line 3, column 'x2': expected a finite number, "
                                                   "got 'oops'")):
        load_csv(path)


@pytest.mark.parametrize("text, message", [
    ("", "data.csv: empty file; expected a header x1,x2,label and data rows"),
    ("\n \n", "data.csv: empty file"),
    ("x1,x2,label\n", "data.csv: no data rows after the header"),
    ("x1,y,label\n0,0,0\n", "data.csv, line 1: missing column 'x2'; found columns ['x1', 'y', 'label']"),
    ("\nx1,x2\n0,0\n", "data.csv, line 2: missing column 'label'"),
    ("x1,x2,label\n0,0,0\n\n0,abc,1\n", "data.csv, line 4, column 'x2': expected a finite number, got 'abc'"),
    ("x1,x2,label\nnan,0,0\n", "data.csv, line 2, column 'x1': expected a finite number, got 'nan'"),
    ("x1,x2,label\n0,0,0\n1,1,0.5\n", "data.csv, line 3, column 'label': expected an integer class label "
                                      ">= 0, got '0.5'"),
    ("x1,x2,label\n0,0,-1\n1,1,1\n", "data.csv, line 2, column 'label': expected an integer class label "
                                     ">= 0, got '-1'"),
    ("x1,x2,label\n0,0,1\n1,1,1\n", "data.csv: every label is 1; a classifier needs at least 2 classes"),
    ("x1,x2,label\n0,0,0\n1,1,2\n", "data.csv: labels must be 0..K-1 with every class present, "
                                    "found classes [0, 2]"),
    ("x1,x2,label\n0,0,0\n1,1\n", "data.csv, line 3: expected 3 fields, got 2"),
    ("0,0,0,0\n1,1,1,1\n", "data.csv, line 1: no header and 4 columns; expected a header x1,x2,label "
                           "or exactly 3 numeric columns"),
])
def test_parse_csv_errors_name_the_file_line_and_value(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_csv(text, source="data.csv")


def test_parse_csv_rejects_bytes_that_are_not_utf8_naming_line_and_column():
    with pytest.raises(ValueError, match=re.escape("<upload>, line 2, column 'x1': not UTF-8 text (byte 0xff)")):
        parse_csv(b"x1,x2,label\n\xff,0,0\n")


# -- CSV: the grammar, rule by rule (parse_csv's docstring) -----------------------------------------
def xy(text, **kw):
    """parse_csv(text) as plain lists, for comparing."""
    x, y = parse_csv(text, **kw)
    return x.tolist(), y.tolist()


def csv_error(text, **kw) -> str:
    with pytest.raises(ValueError) as e:
        parse_csv(text, source="f.csv", **kw)
    return str(e.value)


GOOD = ([[0.5, 0.25], [1.0, 2.0]], [0, 1])


@pytest.mark.parametrize("text", [
    b"x1,x2,label\n0.5,0.25,0\n1,2,1\n",
    b"x1,x2,label\r\n0.5,0.25,0\r\n1,2,1\r\n",
    b"x1,x2,label\r0.5,0.25,0\r1,2,1\r",                        # the repro: a bare \r, was _csv.Error
    b"x1,x2,label\r\n0.5,0.25,0\r1,2,1\n",                      # mixed endings
    b"x1,x2,label\n0.5,0.25,0\n1,2,1",                          # no final line ending
    b"\n \n\t\nx1,x2,label\n\n0.5,0.25,0\n  \n1,2,1\n\n\n",     # blank lines anywhere
    b"\xef\xbb\xbfx1,x2,label\n0.5,0.25,0\n1,2,1\n",            # a UTF-8 BOM
    "\ufeffx1,x2,label\n0.5,0.25,0\n1,2,1\n",                    # the BOM in a str
    b"LABEL,x2,X1\n0,0.25,0.5\n1,2,1\n",                        # any order, any case
    b" x1 ,\tx2\t,label  \n 0.5 ,\t0.25\t, 0 \n1,2,1\n",        # spaces and tabs around fields
    b'"x1","x2","label"\n"0.5"," 0.25 ","0"\n1,2,1\n',          # whole-field quotes
    '"",id,x1,x2,label,note\n"1",a b,0.5,0.25,0,"grüße"\n"2",,1,2,1,\n'.encode(),   # ignored columns: any text
    b"0.5,0.25,0\n1,2,1\n",                                    # no header: exactly 3 numeric columns
    b"x1,x2,label\n5e-1,+.25,0.0\n1.,2E0,1e0\n",                # number forms; labels 0.0 and 1e0
    bytearray(b"x1,x2,label\n0.5,0.25,0\n1,2,1\n"), memoryview(b"x1,x2,label\n0.5,0.25,0\n1,2,1\n"),
])
def test_parse_csv_accepts_every_form_the_grammar_allows(text):
    assert xy(text) == GOOD


@pytest.mark.parametrize("number, value", [
    ("1", 1.0), ("-0.5", -0.5), ("+2.", 2.0), (".5", 0.5), ("1e-3", 1e-3), ("1E+3", 1000.0), ("007", 7.0),
    ("-0", 0.0), ("  1  ", 1.0), ("\t1.25\t", 1.25), ('"7"', 7.0), ('" -1e2 "', -100.0), ("1.e5", 1e5),
    ("1e-400", 0.0),                                           # underflows to 0, like float("1e-400")
])
def test_parse_csv_number_forms_that_are_accepted(number, value):
    x, _ = parse_csv(f"x1,x2,label\n{number},0,0\n0,0,1\n", dtype=torch.float64)
    assert x[0, 0].item() == value


@pytest.mark.parametrize("number", [
    "1_000", "inf", "-inf", "Infinity", "nan", "NaN", "0x10", "0x1p3", "1e", "e5", ".", "+", "-", "", "1.2.3",
    "1d3", "1 2", "++1", "١", "１", "1\u00a0", "\u20031", "\x0c1", "1\x00", "'1'", "1e5.0",
])
def test_parse_csv_number_forms_that_are_refused(number):
    shown = number.strip(" \t")                                  # spaces and tabs around a field are dropped
    assert csv_error(f"x1,x2,label\n0,0,0\n{number},0,1\n") == (
        f"f.csv, line 3, column 'x1': expected a finite number, got {shown!r} (a number like 1, -0.5, .5 or 1e-3)")


@pytest.mark.parametrize("text, message", [
    # separators: ',' only
    ("x1;x2;label\n0;0;0\n", "f.csv, line 1: missing column 'x1'; found columns ['x1;x2;label']; "
                             "the separator is ',', not ';'"),
    ("x1\tx2\tlabel\n0\t0\t0\n", "the separator is ',', not '\\t'"),
    ("0;0;0\n1;1;1\n", "f.csv, line 1: missing column 'x1'; found columns ['0;0;0']; the separator is ','"),
    ("x1,x2,label\n0;0;0\n", "f.csv, line 2: expected 3 fields, got 1; column 'x2' is missing"),
    ("x1,x2,label\n0,5,0,5,0\n", "f.csv, line 2: expected 3 fields, got 5; column 4 '5' is extra"),
    # header rules
    ("x1,x2,label,X1\n0,0,0,0\n", "f.csv, line 1: column 'x1' appears 2 times (columns 1, 4); name it once"),
    ("x1,x2,lab\n0,0,0\n", "f.csv, line 1: missing column 'label'; found columns ['x1', 'x2', 'lab']"),
    ("0,zero,1\n1,1,1\n", "f.csv, line 1: missing column 'x1'; found columns ['0', 'zero', '1']; line 1 was "
                          "read as a header because column 2 'zero' is not a number"),
    ("0,0\n1,1\n", "f.csv, line 1: no header and 2 columns; expected a header x1,x2,label or exactly 3"),
    # field counts name the column
    ("id,x1,x2,label\na,0,0,0\nb,1,1\n", "f.csv, line 3: expected 4 fields, got 3; column 'label' is missing"),
    ("x1,x2,label\n0,0,0,\n", "f.csv, line 2: expected 3 fields, got 4; column 4 '' is extra (a trailing comma?)"),
    # quotes: around a whole field, nothing inside
    ('x1,x2,label\n"0,5",0,0\n', "f.csv, line 2, column 'x1': quotes must enclose a whole field, with no comma "
                                 "or quote inside; got '\"0'"),
    ('x1,x2,label\n0,"1""2",0\n', "f.csv, line 2, column 'x2': quotes must enclose a whole field"),
    ('x1,x2,label,note\n0,0,0,a"b\n', "f.csv, line 2, column 4: quotes must enclose a whole field"),
    ('x1,x2,label\n"0,0,0\n', "f.csv, line 2, column 'x1': quotes must enclose a whole field"),
    ('"x1,x2,label\n', "f.csv, line 1, column 1: quotes must enclose a whole field"),
    # a BOM only at the start; the line counts blank lines
    ("x1,x2,label\n\ufeff0,0,0\n", "f.csv, line 2, column 'x1': expected a finite number, got '\\ufeff0'"),
    ("\n\nx1,x2,label\n\n0,0,0\n\n\n1,x,1\n", "f.csv, line 8, column 'x2': expected a finite number, got 'x'"),
    # read top to bottom, left to right: the first failure is the one reported
    ("x1,x2,label\n0,0,0\nq,1e39,0.5\nz,z,z\n", "f.csv, line 3, column 'x1': expected a finite number, got 'q'"),
    ("label,x2,x1\n0.5,q,0\n", "f.csv, line 2, column 'label': expected an integer class label >= 0, got '0.5'"),
    # values must be finite in float64 ...
    ("x1,x2,label\n1e400,0,0\n", "f.csv, line 2, column 'x1': expected a finite number, got '1e400' (beyond "
                                 "float64's range)"),
    ("x1,x2,label\n0,0,1e400\n", "f.csv, line 2, column 'label': expected a finite number, got '1e400'"),
    # labels
    ("x1,x2,label\n0,0,1.5\n", "f.csv, line 2, column 'label': expected an integer class label >= 0, got '1.5'"),
    ("x1,x2,label\n0,0,0\n0,0,-2\n", "f.csv, line 3, column 'label': expected an integer class label >= 0"),
    ("x1,x2,label\n0,0,0\n1,1,1e300\n", "f.csv: labels must be 0..K-1 with every class present, found classes "
                                        "[0, 1e+300]; no row has label 1"),
    ("x1,x2,label\n" + "".join(f"0,0,{2 * k}\n" for k in range(20)),
     "found classes [0, 2, 4, 6, 8, 10, 12, 14, ..., 38] (20 in all); no row has label 1"),
    ("x1,x2,label\n0,0,-0\n1,1,0.0\n", "f.csv: every label is 0; a classifier needs at least 2 classes"),
    # UTF-8, with the line and the column
    (b"x1,x2,label,note\n0,0,0,\xe9t\xe9\n", "f.csv, line 2, column 4: not UTF-8 text (byte 0xe9)"),
    (b"x1,x2,\xfflabel\n", "f.csv, line 1, column 3: not UTF-8 text (byte 0xff); save the file as UTF-8"),
    ("x1,x2,label\n0,\ud800,0\n", "f.csv, line 2, column 'x2': not UTF-8 text (byte 0xed)"),   # a lone surrogate
    (b"\r\n\r\n", "f.csv: empty file; expected a header x1,x2,label and data rows"),
    (b"x1,x2,label\r\n\r\n", "f.csv: no data rows after the header"),
])
def test_parse_csv_refuses_the_rest_naming_line_and_column(text, message):
    assert message in csv_error(text)


def test_a_value_beyond_the_dtype_is_refused_for_that_dtype_only():
    text = "x1,x2,label\n1,1e39,0\n0,0,1\n"                    # 1e39 < float64's max, > float32's
    assert csv_error(text) == ("f.csv, line 2, column 'x2': '1e39' is beyond float32's range (largest "
                               "3.4028235e+38); pass dtype=torch.float64 or rescale the data")
    assert parse_csv(text, dtype=torch.float64)[0][0, 1].item() == 1e39
    assert "'70000' is beyond float16's range (largest 65504)" in csv_error("x1,x2,label\n70000,0,0\n0,0,1\n",
                                                                         dtype=torch.float16)
    assert "beyond bfloat16's range" in csv_error("x1,x2,label\n1e39,0,0\n0,0,1\n", dtype=torch.bfloat16)
    x, _ = parse_csv("x1,x2,label\n65504,-65519,0\n0,0,1\n", dtype=torch.float16)   # -65519 rounds to -65504
    assert x[0].tolist() == [65504.0, -65504.0] and x.dtype == torch.float16
    x, _ = parse_csv("x1,x2,label\n3.4028235e38,1e-50,0\n0,0,1\n")                  # the edge; 1e-50 -> 0
    assert x[0].tolist() == [torch.finfo(torch.float32).max, 0.0]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([torch.float16, torch.bfloat16, torch.float32]), st.floats(0.95, 1.05),
       st.booleans())
def test_beyond_the_dtype_means_exactly_that_torch_rounds_the_value_to_inf(dtype, scale, negative):
    """Near the largest finite value, the reader's verdict is the cast's (both paths)."""
    value = (-1 if negative else 1) * scale * torch.finfo(dtype).max
    becomes_inf = bool(torch.tensor(value, dtype=torch.float64).to(dtype).isinf())
    for text in (f"x1,x2,label\n{value!r},0,0\n0,0,1\n", f'x1,x2,label\n"{value!r}",0,0\n0,0,1\n'):
        if becomes_inf:
            with pytest.raises(ValueError, match="beyond"):
                parse_csv(text, dtype=dtype)
        else:
            assert parse_csv(text, dtype=dtype)[0][0, 0].item() == torch.tensor(value).to(dtype).item()


def test_the_row_cap_has_a_default_names_the_line_and_says_how_to_raise_it(tmp_path):
    assert MAX_ROWS == 1_000_000
    for f in (parse_csv, load_csv):
        assert inspect.signature(f).parameters["max_rows"].default == MAX_ROWS
    rows = "x1,x2,label\n0,0,0\n\n1,1,1\n\n2,2,0\n"               # 3 data rows; the third on line 6
    for text in (rows, rows.replace("x1,", '"x1",')):             # numpy's path and the exact one
        assert xy(text, max_rows=3)[1] == [0, 1, 0]
        assert csv_error(text, max_rows=2) == (
            "f.csv, line 6: more than max_rows=2 data rows; pass a larger max_rows to parse_csv or load_csv to "
            "read more (the cap bounds the memory and time a file takes)")
    assert "line 3, column 'x2'" in csv_error("x1,x2,label\n0,0,0\n1,a,1\n2,2,0\n", max_rows=2)  # rows in order
    for huge in (10**15, 2**63, 10**30):                          # numpy must not allocate max_rows rows
        assert xy(rows, max_rows=huge)[1] == [0, 1, 0]
    path = tmp_path / "big.csv"
    path.write_text("x1,x2,label\n" + "0,0,0\n1,1,1\n" * 6)
    with pytest.raises(ValueError, match=re.escape(f"{path}, line 12: more than max_rows=10 data rows")):
        load_csv(path, max_rows=10)
    assert len(load_csv(path, max_rows=12)[0]) == 12


@pytest.mark.parametrize("call, error, message", [
    (lambda: parse_csv(3), TypeError, "parse_csv: text must be str or bytes, got int"),
    (lambda: parse_csv("0,0,0\n1,1,1\n", source=None), TypeError, "parse_csv: source must be a str"),
    (lambda: parse_csv("0,0,0\n1,1,1\n", dtype=torch.int64), TypeError,
     "parse_csv: dtype must be torch.float16, bfloat16, float32 or float64, got torch.int64"),
    (lambda: parse_csv("0,0,0\n1,1,1\n", max_rows=0), ValueError, "parse_csv: max_rows must be an int >= 1, got 0"),
    (lambda: load_csv("never-read.csv", max_rows=1.5), ValueError, "load_csv: max_rows must be an int >= 1, got 1.5"),
])
def test_parse_csv_and_load_csv_check_their_arguments_first(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_load_csv_reads_bytes_so_every_line_ending_and_a_bom_work(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes(b"\xef\xbb\xbfx1,x2,label\r\n0.5,0.25,0\r1,2,1\r\n")
    assert (lambda x, y: (x.tolist(), y.tolist()))(*load_csv(path)) == GOOD


def test_a_long_line_of_spaces_is_refused_in_linear_time():
    """No regex backtracking: a 200 000-space field before a stray quote (quadratic would hang here)."""
    assert "quotes must enclose a whole field" in csv_error("x1,x2,label\n" + " " * 200_000 + 'x"' + ",0,0\n")
    assert "expected a finite number" in csv_error("x1,x2,label\n1" + " " * 200_000 + "x,0,0\n")


# -- CSV: numpy's path and the exact reader agree; fuzzing -----------------------------------------------
def outcome(text, **kw):
    try:
        x, y = parse_csv(text, **kw)
    except ValueError as e:
        return "error", str(e)
    return x.dtype, x.tolist(), y.tolist()


def exact_outcome(text, **kw):
    """outcome() with numpy's path switched off: the exact reader alone."""
    with mock.patch.object(data_module, "_numpy_rows", return_value=None):
        return outcome(text, **kw)


def rule_by_rule_outcome(text, **kw):
    """exact_outcome() without its one-regex shortcut for plain records: every rule checked one by one."""
    with mock.patch.object(data_module, "_plain_record", return_value=re.compile("(?!)")):
        return exact_outcome(text, **kw)


def fast_path_taken(text, **kw) -> bool:
    taken = []
    real = data_module._numpy_rows
    with mock.patch.object(data_module, "_numpy_rows", lambda *a: taken.append(real(*a)) or taken[-1]):
        outcome(text, **kw)
    return bool(taken) and taken[0] is not None


def test_plain_files_take_numpys_path_and_others_the_exact_reader():
    """So the agreement tests below compare two readers, not one with itself."""
    assert fast_path_taken("x1,x2,label\n0.5,0.25,0\n1,2,1\n")
    assert fast_path_taken("id,x1,x2,label,note\nrow 1,0.5,0.25,0,\nrow 2,1,2,1,ok\n")
    assert fast_path_taken("x1,x2,label\r\n0.5,0.25,0\r\n1,2,1\r\n", dtype=torch.float16)
    assert not fast_path_taken('x1,x2,label\n"0.5",0.25,0\n1,2,1\n')                  # quotes
    assert not fast_path_taken("x1,x2,label,note\n0.5,0.25,0,é\n1,2,1,\n")            # non-ASCII
    assert not fast_path_taken("x1,x2,label\n0.5,0.25,0\n1,2,1\n", max_rows=1)      # the cap names the line


FLOAT = st.one_of(st.floats(-10, 10), st.floats(allow_nan=False, allow_infinity=False))   # most in any dtype
ROWS = st.lists(st.tuples(FLOAT, FLOAT), min_size=2, max_size=8)


@st.composite
def valid_csv(draw, floats=ROWS, plain=False):
    """A valid file in one of the grammar's many spellings, and the numbers it holds.

    plain: no quotes and no blank lines with spaces, the files numpy's path reads."""
    points = draw(floats)
    k = draw(st.integers(2, len(points)))
    labels = list(range(k)) + draw(st.lists(st.integers(0, k - 1), min_size=len(points) - k,
                                            max_size=len(points) - k))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    order = draw(st.permutations(["x1", "x2", "label"]))
    extra = draw(st.booleans())
    header = draw(st.booleans()) or extra or order != ["x1", "x2", "label"]
    names = list(order) + (["note"] if extra else [])
    quote = "" if plain else draw(st.sampled_from(["", '"']))
    pad = draw(st.sampled_from(["", " ", "\t "]))
    label_form = draw(st.sampled_from(["{}", "{}.0", "{}e0"]))
    lines = [",".join(n.upper() if draw(st.booleans()) else n for n in names)] if header else []
    for (a, b), c in zip(points, labels, strict=True):
        cell = {"x1": repr(a), "x2": repr(b), "label": label_form.format(c), "note": "some text"}
        lines.append(",".join(f"{pad}{quote}{cell[n]}{quote}{pad}" for n in names))
        if draw(st.integers(0, 4)) == 0:
            lines.append("" if plain else draw(st.sampled_from(["", " ", "\t"])))     # a blank line
    text = eol.join(lines) + draw(st.sampled_from(["", eol]))
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text, points, labels


@settings(max_examples=80, deadline=None)
@given(valid_csv())
def test_a_valid_file_round_trips_its_numbers_exactly_in_float64(case):
    text, points, labels = case
    for as_bytes in (False, True):
        x, y = parse_csv(text.encode() if as_bytes else text, dtype=torch.float64)
        assert x.tolist() == [list(p) for p in points] and y.tolist() == labels
    assert exact_outcome(text, dtype=torch.float64) == outcome(text, dtype=torch.float64) \
        == rule_by_rule_outcome(text, dtype=torch.float64)


@settings(max_examples=40, deadline=None)
@given(valid_csv(st.lists(st.tuples(st.floats(width=32, allow_nan=False, allow_infinity=False),
                                    st.floats(width=32, allow_nan=False, allow_infinity=False)),
                          min_size=2, max_size=6)))
def test_float32_values_round_trip_in_float32(case):
    text, points, labels = case
    x, y = parse_csv(text)
    assert x.dtype == torch.float32 and x.tolist() == [list(p) for p in points] and y.tolist() == labels


ODD = ["\ufeff", "é", "\x00", "\x0c", "\u00a0", "１", '"']        # characters that send a file to the exact reader


def mutate(data, text, plain=False):
    """insert, delete or replace characters (anywhere or at a line's end), swap the separator, or truncate.

    plain: only printable ASCII without quotes goes in, so numpy's path still reads many of the results."""
    for _ in range(data.draw(st.integers(1, 3))):
        how = data.draw(st.sampled_from(["insert", "delete", "replace", "line end", "separator", "truncate"]))
        at = data.draw(st.integers(0, len(text)))
        char = data.draw(st.sampled_from([",", "\r", "\n", " ", "\t", ";", ".", "e", "-", "+", "0", "7", "x", "_",
                                          "nan", "inf", "1e39", "1e400", ",0", ",,", ",1.5", *([] if plain else ODD)]))
        if how == "line end":
            ends = [i for i, c in enumerate(text) if c in "\r\n"] + [len(text)]
            at, char = data.draw(st.sampled_from(ends)), data.draw(st.sampled_from([",", ",0", ",,", " ", "x"]))
            how = "insert"
        if how == "insert":
            text = text[:at] + char + text[at:]
        elif how == "delete":
            text = text[:at] + text[at + 1:]
        elif how == "replace":
            text = text[:at] + char + text[at + 1:]
        elif how == "separator":
            text = text.replace(",", data.draw(st.sampled_from([";", "\t", "|", ", ", ",,"])))
        else:
            text = text[:at]
    return text


@settings(max_examples=200, deadline=None)
@given(st.booleans(), st.data())
def test_a_mutated_file_is_read_or_refused_with_a_valueerror_the_same_by_both_paths(plain, data):
    text = mutate(data, data.draw(valid_csv(plain=plain))[0], plain)
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64, torch.float16]))
    result = outcome(text, dtype=dtype)                          # anything but a ValueError propagates: a failure
    assert exact_outcome(text, dtype=dtype) == result == rule_by_rule_outcome(text, dtype=dtype)
    assert outcome(text.encode("utf-8", "surrogatepass"), dtype=dtype) == result


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=300),
                 st.lists(st.sampled_from([b"x1,x2,label", b"0", b"1", b",", b"\n", b"\r", b'"', b" ", b".5", b"e",
                                           b"-", b"\xff", b"\xef\xbb\xbf", b"\t", b";", b"1e39", b"nan"]),
                          max_size=40).map(b"".join)))
def test_random_bytes_are_read_or_refused_with_a_valueerror(raw):
    result = outcome(raw)
    assert exact_outcome(raw) == result
    if result[0] != "error":
        assert result[1] and len(result[1]) == len(result[2])


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
