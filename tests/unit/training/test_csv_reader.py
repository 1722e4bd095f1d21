"""The CSV reader: its grammar rule by rule, the dtype range, the row cap, and fuzzing (hypothesis)."""

import inspect
import re
from unittest import mock

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl.training.csv_reader as data_module
from minidl.training.csv_reader import MAX_ROWS, load_csv, parse_csv


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


def test_the_reader_is_reached_as_md_data_too():
    import minidl as md

    assert md.data.parse_csv is parse_csv and md.data.load_csv is load_csv and md.data.MAX_ROWS == MAX_ROWS
