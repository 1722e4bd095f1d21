"""The CSV reader: parse_csv / load_csv, a documented grammar, everything else refused.   Notebook 10

A file of 2-D points with class labels (x1, x2, label) becomes ``(x (n, 2), y (n,) int64)``; the
grammar is in parse_csv's docstring. numpy's C parser reads plain files; an exact line reader reads
the rest and writes every error message (source, line, column, what was expected, what came).
"""

from __future__ import annotations

import io
import math
import re
import warnings
from array import array
from collections.abc import Callable
from os import PathLike
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from ..framework.checks import int_at_least

MAX_ROWS = 1_000_000                  # parse_csv / load_csv refuse more data rows unless max_rows says so
CSV_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")   # the number rule
_PLAIN = bytes(range(32, 127)).replace(b'"', b"") + b"\t\n"   # data lines of only these: numpy's C parser
_BOM, _WS, _XYL = b"\xef\xbb\xbf", " \t", ("x1", "x2", "label")


def parse_csv(text: str | bytes, source: str = "<upload>", *, dtype: torch.dtype = torch.float32,
              max_rows: int = MAX_ROWS) -> tuple[Tensor, Tensor]:
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


def load_csv(path: str | PathLike, *, dtype: torch.dtype = torch.float32,
             max_rows: int = MAX_ROWS) -> tuple[Tensor, Tensor]:
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


def _read_csv(data: bytes, source: str, dtype: torch.dtype, max_rows: int) -> tuple[Tensor, Tensor]:
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
