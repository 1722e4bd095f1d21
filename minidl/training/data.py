"""2-D data sets, train/test split, standardize, one_hot, mini-batches, CSV.   Notebooks 01, 10

Every data set returns ``x`` (n, 2) floating, inside the unit square [0, 1]², and ``y`` (n,) int64.
``noise`` means:  disk: the fraction of labels flipped (exactly round(noise·n) of them);
every other set: the std of Gaussian jitter added to the inputs (in unit-square units) after the
labels are drawn, then clipped to [0, 1]², so noise blurs the boundary but never changes a label.
``generator`` is a torch.Generator, an int seed, or None (torch's global RNG).
"""

from __future__ import annotations

import io
import math
import re
import warnings
from array import array
from collections.abc import Callable, Iterator
from os import PathLike
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from ..framework.checks import as_generator, int_at_least, shape_text

Dataset = tuple[Tensor, Tensor]
Seed = torch.Generator | int | None      # a generator, an int seed, or None: the global RNG
RADIUS = 1.0 / math.sqrt(2.0 * math.pi)   # the disk of this radius covers half of [0, 1]²


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


def _balanced(n: int, g: torch.Generator | None) -> Tensor:
    """n // 2 zeros and n - n // 2 ones, in random order."""
    return (torch.randperm(n, generator=g) >= n // 2).long()


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


def gaussians(n: int = 1000, *, noise: float = 0.0, generator: Seed = None,
              dtype: torch.dtype = torch.float32) -> Dataset:
    """x ~ N(μ_y, 0.1²·I), μ₀ = (0.3, 0.3), μ₁ = (0.7, 0.7); jitter widens the blobs."""
    g = _start("gaussians", n, noise, generator, dtype)
    y = _balanced(n, g)
    centre = 0.3 + 0.4 * y.double().unsqueeze(1).expand(n, 2)
    x = centre + 0.1 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return _finish(x, y, noise, g, dtype)


def _polar(r: Tensor, theta: Tensor) -> Tensor:
    """(½, ½) + r (cos θ, sin θ), shape (n, 2)."""
    return 0.5 + r.unsqueeze(1) * torch.stack([theta.cos(), theta.sin()], dim=1)


def spiral(n: int = 1000, *, noise: float = 0.0, generator: Seed = None,
           dtype: torch.dtype = torch.float32) -> Dataset:
    """r = 0.45 t,  θ = 3.5π t + π y,  t ~ U(0, 1): two interleaved spirals, 1¾ turns each."""
    g = _start("spiral", n, noise, generator, dtype)
    y = _balanced(n, g)
    t = torch.rand(n, generator=g, dtype=torch.float64)
    x = _polar(0.45 * t, 3.5 * math.pi * t + math.pi * y)
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


def make_dataset(name: str, n: int = 1000, *, noise: float = 0.0, generator: Seed = None,
                 dtype: torch.dtype = torch.float32) -> Dataset:
    """DATASETS[name](n, noise=noise, generator=generator, dtype=dtype)."""
    if name not in DATASETS:
        raise ValueError(f"make_dataset: unknown data set {name!r}; valid names: {', '.join(DATASETS)}")
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


# -- CSV ------------------------------------------------------------------------------------------------
MAX_ROWS = 1_000_000                  # parse_csv / load_csv refuse more data rows unless max_rows says so
CSV_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")   # the number rule
_PLAIN = bytes(range(32, 127)).replace(b'"', b"") + b"\t\n"   # data lines of only these: numpy's C parser
_BOM, _WS, _XYL = b"\xef\xbb\xbf", " \t", ("x1", "x2", "label")


def parse_csv(text: str | bytes, source: str = "<upload>", *, dtype: torch.dtype = torch.float32,
              max_rows: int = MAX_ROWS) -> Dataset:
    """CSV text -> x (n, 2) in dtype, y (n,) int64, from the columns x1, x2, label.      Notebook 10

    Grammar: exactly this is read; anything else is a ValueError naming the source, the line
    (counted from 1, blank lines included) and the column.
        file   = [BOM] line { EOL line }          BOM: U+FEFF in UTF-8, at the very start only
        EOL    = "\\r\\n" | "\\n" | "\\r"             mixed endings are fine
        line   = blank | record                   blank: empty or only spaces/tabs; skipped
        record = field { "," field }              the separator is "," only (not ";", tab, "|")
        field  = ws text ws | ws '"' text '"' ws  ws: spaces/tabs, dropped with the quotes
        text   = { any character but , " CR LF }  so no comma, quote or line break inside quotes
        number = [+|-] ( digits [ "." [digits] ] | "." digits ) [ (e|E) [+|-] digits ]
        digits = 0..9 { 0..9 }                    ASCII digits only
    - Header: the first record, if any of its fields is not a number. It names x1, x2 and label
      once each, in any order and case; other columns are ignored, whatever text they hold.
      Without a header the first record is data and every record has 3 fields: x1, x2, label.
    - Every record has as many fields as the first.
    - x1, x2 and label are numbers:  1  -0.5  +2.  .5  1e-3  1E+3  " 1 "  "7"  (quoted).
      Refused:  1_000  inf  nan  0x10  1,5 (a decimal comma makes two fields)  an empty field
      non-ASCII digits or spaces.
    - Each number is finite in float64, and x1, x2 also in ``dtype``: 1e39 is refused for float32
      (it would round to inf) and read for float64; tiny numbers round towards 0 as torch rounds.
    - label: an integer value >= 0 (1, 1.0 and 1e0 are class 1); once every row is read, the
      labels must be 0..K-1 with every class present and K >= 2.
    - At most ``max_rows`` data records (default MAX_ROWS = 1_000_000; blank lines do not count).
    - text: str, or bytes (bytearray, memoryview) in UTF-8; dtype: float16, bfloat16, float32 or
      float64; a wrong type of argument is a TypeError.
    The first failing record is reported: top to bottom, left to right. Values are kept as given:
    rescale or standardize() them yourself. Files whose data lines hold printable ASCII without
    quotes go through numpy's C parser (1e6 rows in about a second); every other file, and every
    error, through the exact line-by-line reader (_exact_rows), which the tests hold the fast
    path to: the same result, or the same error.
    """
    _check_csv_arguments("parse_csv", source, dtype, max_rows)
    if isinstance(text, str):
        data = text.encode("utf-8", "surrogatepass")         # a lone surrogate is then not UTF-8
    elif isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
    else:
        raise TypeError(f"parse_csv: text must be str or bytes, got {type(text).__name__}")
    return _read_csv(_lf(data), source, dtype, max_rows)


def load_csv(path: str | PathLike, *, dtype: torch.dtype = torch.float32, max_rows: int = MAX_ROWS) -> Dataset:
    """parse_csv(the file's bytes, source=str(path), dtype=dtype, max_rows=max_rows): the same grammar."""
    _check_csv_arguments("load_csv", str(path), dtype, max_rows)
    with open(path, "rb") as f:
        data = _lf(f.read())                                  # the original bytes are freed here
    return _read_csv(data, str(path), dtype, max_rows)


def _check_csv_arguments(where: str, source: Any, dtype: Any, max_rows: Any) -> None:
    if not isinstance(source, str):
        raise TypeError(f"{where}: source must be a str (the name errors give), got {type(source).__name__}")
    if dtype not in CSV_DTYPES:
        raise TypeError(f"{where}: dtype must be torch.float16, bfloat16, float32 or float64, got {dtype!r}")
    int_at_least(max_rows, "max_rows", where)


class _Layout(NamedTuple):
    """Where the data lines start and which fields hold x1, x2, label."""
    offset: int                     # the byte of the first line after the header (or of the header-less first)
    line: int                       # its line number
    names: list[str]                # the column names in lower case (x1, x2, label without a header)
    cols: tuple[int, int, int]      # the fields of x1, x2, label


def _lf(data: bytes) -> bytes:
    """Every line ending (\\r\\n, \\r, \\n) as \\n."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n") if b"\r\n" in data else data
        data = data.replace(b"\r", b"\n") if b"\r" in data else data
    return data


def _read_csv(data: bytes, source: str, dtype: torch.dtype, max_rows: int) -> Dataset:
    """The rows of data (its line endings already \\n), through numpy if it can vouch, else the exact reader."""
    layout = _header(data, len(_BOM) if data.startswith(_BOM) else 0, source)
    rows = _numpy_rows(data, layout, source, dtype, max_rows)
    x, labels = rows if rows is not None else _exact_rows(data, layout, source, dtype, max_rows)
    return x, _class_labels(labels, source)


def _header(data: bytes, start: int, source: str) -> _Layout:
    """The first non-blank line: a header (x1, x2, label found by name) or the first data record."""
    line, end = 0, start - 1
    while True:
        start, line = end + 1, line + 1
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        text = _decode(data[start:end], source, line, None)
        if text.strip(_WS):
            break
        if end >= len(data):
            raise ValueError(f"{source}: empty file; expected a header x1,x2,label and data rows")
    where = f"{source}, line {line}"
    fields = _fields(text, where, None)
    numbers = [bool(_NUMBER.fullmatch(f)) for f in fields]
    if all(numbers):
        if len(fields) != 3:
            raise ValueError(f"{where}: no header and {len(fields)} columns; expected a header x1,x2,label "
                             f"or exactly 3 numeric columns")
        return _Layout(start, line, list(_XYL), (0, 1, 2))
    names = [f.lower() for f in fields]
    for want in _XYL:
        found = [i + 1 for i, name in enumerate(names) if name == want]
        if len(found) > 1:
            raise ValueError(f"{where}: column {want!r} appears {len(found)} times (columns "
                             f"{', '.join(map(str, found))}); name it once")
        if not found:
            hint = ""
            separator = next((s for s in ";\t|" if s in text), None)
            if len(fields) == 1 and separator:
                hint = f"; the separator is ',', not {separator!r}"
            elif any(numbers):
                k = numbers.index(False)
                hint = (f"; line {line} was read as a header because column {k + 1} "
                        f"{_show(fields[k])} is not a number")
            raise ValueError(f"{where}: missing column {want!r}; found columns {_show_list(names)}{hint}")
    return _Layout(end + 1, line + 1, names, (names.index("x1"), names.index("x2"), names.index("label")))


def _exact_rows(data: bytes, layout: _Layout, source: str, dtype: torch.dtype,
                max_rows: int) -> tuple[Tensor, np.ndarray]:
    """The reference reader: each line in order, each rule of the grammar, the first failure raised."""
    xs, labels, rows = array("d"), array("d"), 0
    plain, big = _plain_record(layout), torch.finfo(dtype).max
    lines = io.BytesIO(data)
    lines.seek(layout.offset)
    for line, raw in enumerate(lines, start=layout.line):
        text = _decode(raw.rstrip(b"\n"), source, line, layout.names)
        match = plain.fullmatch(text)
        if match is None and not text.strip(_WS):
            continue                                          # a blank line
        rows += 1
        where = f"{source}, line {line}"
        if rows > max_rows:
            raise _too_many(where, max_rows)
        values = _plain_values(match, big) if match else None
        if values is None:                                    # not a plain record: every rule, one by one
            values = _record(text, where, layout, dtype)
        xs.extend(values[:2])
        labels.append(values[2])
    if not rows:
        raise ValueError(f"{source}: no data rows after the header")
    return torch.from_numpy(np.array(xs).reshape(-1, 2)).to(dtype), np.array(labels)


def _record(text: str, where: str, layout: _Layout, dtype: torch.dtype) -> tuple[float, float, float]:
    """x1, x2, label of one record, each rule checked left to right; a ValueError at the first that fails."""
    fields = _fields(text, where, layout.names)
    if len(fields) != len(layout.names):
        raise ValueError(_field_count(where, len(layout.names), fields, layout.names))
    value = {}
    for c in sorted(layout.cols):
        name = layout.names[c]
        value[name] = v = _number(fields[c], f"{where}, column {name!r}", dtype if name != "label" else None)
        if name == "label" and not (v >= 0 and v.is_integer()):
            raise ValueError(f"{where}, column 'label': expected an integer class label >= 0, "
                             f"got {_show(fields[c])}")
    return value["x1"], value["x2"], value["label"]


def _plain_record(layout: _Layout) -> re.Pattern[str]:
    """One regex for the common record (a shortcut _record confirms in tests): x1, x2, label plain or
    quoted numbers, any other field quote-free text or quoted comma-free text. Linear time: the
    alternatives of a field cannot both match, and commas fix where fields end."""
    number = _NUMBER.pattern
    fields = [rf'(?:[ \t]*"[ \t]*(?P<{name}_q>{number})[ \t]*"[ \t]*|[ \t]*(?P<{name}>{number})[ \t]*)'
              if name in _XYL else r'(?:[ \t]*"[^",]*"[ \t]*|[^",]*)' for name in layout.names]
    return re.compile(",".join(fields))


def _plain_values(match: re.Match[str], big: float) -> tuple[float, float, float] | None:
    """The three numbers of a plain record if they are surely fine (|x| <= big, label an integer >= 0), else None."""
    x1, x2, label = (float(match[name] or match[name + "_q"]) for name in _XYL)
    if -big <= x1 <= big and -big <= x2 <= big and 0 <= label <= big and label.is_integer():
        return x1, x2, label
    return None


def _numpy_rows(data: bytes, layout: _Layout, source: str, dtype: torch.dtype,
                max_rows: int) -> tuple[Tensor, np.ndarray] | None:
    """What _exact_rows returns, through numpy's C parser; None where it cannot vouch (the exact reader runs).

    It vouches for a subset of the grammar: data lines of printable ASCII and tabs without quotes
    (so UTF-8, and whitespace is spaces and tabs), x1/x2/label parsed by numpy (Python's float
    syntax without "_"; inf and nan are then refused as not finite), at least as many fields as the
    header on every line (usecols reaches the last field) and no more (the commas add up), every
    value finite in float64 and dtype, labels integers >= 0, 1 <= rows; over max_rows it names the line.
    """
    if data.translate(None, _PLAIN) != data[:layout.offset].translate(None, _PLAIN):
        return None                                           # a data line holds a quote, a control or non-ASCII
    width, (c1, c2, cl) = len(layout.names), layout.cols
    x_type = {torch.float32: "f4", torch.float64: "f8"}.get(dtype, "f8")      # float16, bfloat16: via torch
    fields = {width - 1: ("last", "S1"), c1: ("x1", x_type), c2: ("x2", x_type), cl: ("label", "f8")}
    usecols = sorted(fields)
    lines = io.BytesIO(data)
    lines.seek(layout.offset)
    most = min(max_rows + 1, data.count(b"\n", layout.offset) + 1)    # loadtxt allocates max_rows rows up front
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                   # loadtxt warns about an empty input
            table = np.loadtxt(lines, dtype=[fields[c] for c in usecols], usecols=usecols, delimiter=",",
                               comments=None, ndmin=1, max_rows=most, encoding="ascii")
    except ValueError:
        return None                                           # a field that is not a number, too few fields
    n, end = min(len(table), max_rows), len(data)
    if n == 0:
        return None                                           # no data rows: the exact reader says so
    if len(table) > max_rows:
        line, end = _line_of_row(data, layout, max_rows + 1)
    if data.count(b",", layout.offset, end) != (width - 1) * n:
        return None                                           # some line has more fields than the header
    big = torch.finfo(dtype).max                              # |x| <= big: finite in dtype (nan fails too)
    for lo in range(0, n, 1 << 16):                           # in slices: small temporaries
        part = table[lo:min(n, lo + (1 << 16))]
        labels = part["label"]
        if not ((np.abs(part["x1"]) <= big).all() and (np.abs(part["x2"]) <= big).all()
                and np.isfinite(labels).all() and (labels >= 0).all() and (labels == np.floor(labels)).all()):
            return None
    xy = np.empty((n, 2), dtype=x_type)
    xy[:, 0], xy[:, 1] = table["x1"][:n], table["x2"][:n]
    x = torch.from_numpy(xy).to(dtype)                        # a copy only for float16 and bfloat16
    if len(table) > max_rows:
        raise _too_many(f"{source}, line {line}", max_rows)
    return x, table["label"][:n]


def _decode(raw: bytes, source: str, line: int, names: list[str] | None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        column = _column(raw[:e.start].count(b","), names)
        raise ValueError(f"{source}, line {line}, column {column}: not UTF-8 text (byte 0x{raw[e.start]:02x}); "
                         f"save the file as UTF-8") from None


def _fields(text: str, where: str, names: list[str] | None) -> list[str]:
    """The fields of a record: split at commas, spaces and tabs around them dropped, a pair of quotes removed."""
    fields = text.split(",")
    for i, field in enumerate(fields):
        f = field.strip(_WS)
        if '"' in f:
            if len(f) < 2 or f[0] != '"' or f[-1] != '"' or '"' in f[1:-1]:
                raise ValueError(f"{where}, column {_column(i, names)}: quotes must enclose a whole field, with no "
                                 f"comma or quote inside; got {_show(field)}")
            f = f[1:-1].strip(_WS)
        fields[i] = f
    return fields


def _number(field: str, where: str, dtype: torch.dtype | None) -> float:
    """float(field) by the number rule, finite in float64 and in dtype (None: float64 only)."""
    if not _NUMBER.fullmatch(field):
        raise ValueError(f"{where}: expected a finite number, got {_show(field)} "
                         f"(a number like 1, -0.5, .5 or 1e-3)")
    value = float(field)
    if not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, got {_show(field)} (beyond float64's range)")
    if dtype is not None and _beyond(value, dtype):
        raise ValueError(f"{where}: {_show(field)} is beyond {str(dtype).removeprefix('torch.')}'s range "
                         f"(largest {torch.finfo(dtype).max:.8g}); pass dtype=torch.float64 or rescale the data")
    return value


def _beyond(value: float, dtype: torch.dtype) -> bool:
    """Whether a finite float64 value becomes ±inf in dtype (torch's own rounding decides near the edge)."""
    big = torch.finfo(dtype).max
    if abs(value) <= big:
        return False
    return abs(value) > 2 * big or bool(torch.tensor(value, dtype=torch.float64).to(dtype).isinf())


def _field_count(where: str, width: int, fields: list[str], names: list[str]) -> str:
    if len(fields) < width:
        detail = f"column {_column(len(fields), names)} is missing"
    else:
        detail = f"column {width + 1} {_show(fields[width])} is extra (a trailing comma?)"
    return f"{where}: expected {width} fields, got {len(fields)}; {detail}"


def _too_many(where: str, max_rows: int) -> ValueError:
    return ValueError(f"{where}: more than max_rows={max_rows} data rows; pass a larger max_rows to "
                      f"parse_csv or load_csv to read more (the cap bounds the memory and time a file takes)")


def _line_of_row(data: bytes, layout: _Layout, row: int) -> tuple[int, int]:
    """The line number and first byte of the row-th data line (blank lines do not count)."""
    lines = io.BytesIO(data)
    lines.seek(layout.offset)
    for line, raw in enumerate(lines, start=layout.line):
        row -= bool(raw.strip(b" \t\n"))
        if row == 0:
            return line, lines.tell() - len(raw)
    raise RuntimeError("_line_of_row: fewer data rows than asked for")    # not reached: loadtxt read them


def _class_labels(labels: np.ndarray, source: str) -> Tensor:
    """The labels (float64 integers >= 0) as int64, if they are 0..K-1 with every class present and K >= 2."""
    if labels.max() < len(labels):
        y = labels.astype(np.int64)
        classes = np.flatnonzero(np.bincount(y))
    else:                                                     # some class is missing: say which
        y, classes = None, np.unique(labels)
    if len(classes) < 2:
        raise ValueError(f"{source}: every label is {_label(classes[0])}; a classifier needs at least 2 classes")
    if y is None or classes[-1] != len(classes) - 1:
        missing = int(np.flatnonzero(classes != np.arange(len(classes)))[0])
        raise ValueError(f"{source}: labels must be 0..K-1 with every class present, found classes "
                         f"{_show_list([_label(c) for c in classes], str)}; no row has label {missing}")
    return torch.from_numpy(y)


def _label(value: float) -> str:
    return str(int(value)) if value < 1e15 else f"{value:.6g}"


def _column(index: int, names: list[str] | None) -> str:
    """'x2' for a column the reader uses, else its number from 1."""
    if names and index < len(names) and names[index] in _XYL:
        return repr(names[index])
    return str(index + 1)


def _show(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit - 3] + "...")


def _show_list(items: list[str], show: Callable[[str], str] = _show, limit: int = 10) -> str:
    """[a, b, c], or [a, b, ..., z] (n in all) for a long list."""
    if len(items) <= limit:
        return "[" + ", ".join(map(show, items)) + "]"
    return f"[{', '.join(map(show, items[:limit - 2]))}, ..., {show(items[-1])}] ({len(items)} in all)"
