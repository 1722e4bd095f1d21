"""Share a setup: one string that restores every control, the seed and the data.   Notebook 10

    setup = "md1." + base64url(zlib(JSON {"v": 1, "controls": {pg-name: value}, "data": {...}}))

``controls`` holds every registered control (Controls.registry: each widget under its pg-name) that
has a value and is not an output (a picture, a message, a text box, a file upload), so a control
added to the app is shared without a word here. ``data`` is empty for generated data (the data
controls and the seed make them again); an upload ("csv") or a training set edited by hand
("edits") travels in the string: float32/float64 bytes and uint8 labels, compressed. A string is
at most MAX_CHARS characters (a 3000-point data set takes about 40 000).

Applying a string is all or nothing: it is read and checked whole, the controls are set (a
control missing from the string goes back to its default; a key this app has no control for is
ignored and named in the message), the new run is built, and only then installed. Any flaw —
garbage, a wrong version, a value a control refuses — is one ValueError and nothing changes.

In Voilà the page's query string reaches the kernel as QUERY_STRING: ``?setup=<string>``, or
readable single controls such as ``?dataset=spiral&lr=0.03&layers=4``, each read as its
control's type, moved to its slider's nearest step (lr=0.03 -> 0.03162, as the slider in the page would)
and checked as the control would; a bad one: the app keeps its defaults and says why.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import urllib.parse
import zlib
from typing import Any

import ipywidgets as W
import numpy as np
import torch

from .editing import Edits
from .state import capture

PREFIX = "md1."
VERSION = 1
MAX_CHARS = 100_000                 # the longest setup string read (a URL of this length still opens)
MAX_JSON = 400_000                  # the most bytes a string may decompress to
OUTPUTS = (W.HTML, W.HTMLMath, W.Label, W.Textarea, W.FileUpload, W.Image, W.Output, W.Button)
NOT_SETUP = ("edit-class",)         # a way of clicking, not part of a setup
IGNORED_QUERY = ("token",)          # Voilà's own query parameters
DTYPES = {"f4": torch.float32, "f8": torch.float64}


def shared(registry: dict[str, Any]) -> dict[str, Any]:
    """The registered widgets a setup holds: those with a value that are not outputs."""
    return {name: w for name, w in registry.items()
            if hasattr(w, "value") and not isinstance(w, OUTPUTS) and name not in NOT_SETUP}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def pack_points(x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    tag = {v: k for k, v in DTYPES.items()}[x.dtype]
    return {"dtype": tag, "n": len(y), "x": base64.b64encode(x.contiguous().numpy().tobytes()).decode(),
            "y": base64.b64encode(y.numpy().astype(np.uint8).tobytes()).decode()}


def unpack_points(blob: Any, what: str, cap: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(x (n, 2), y (n,) int64) from pack_points' dict, every field checked."""
    if not isinstance(blob, dict) or set(blob) != {"dtype", "n", "x", "y"}:
        raise ValueError(f"setup: data.{what} must hold dtype, n, x and y")
    dtype, n = DTYPES.get(blob["dtype"]) if isinstance(blob["dtype"], str) else None, blob["n"]
    if dtype is None:
        raise ValueError(f"setup: data.{what}.dtype must be one of {', '.join(DTYPES)}, got {blob['dtype']!r}")
    if type(n) is not int or not 2 <= n <= cap:
        raise ValueError(f"setup: data.{what} must hold 2 to {cap} points, got n={n!r}")
    try:
        xb = base64.b64decode(blob["x"], validate=True)
        yb = base64.b64decode(blob["y"], validate=True)
    except (TypeError, binascii.Error):
        raise ValueError(f"setup: data.{what}: x and y must be base64 text") from None
    size = torch.finfo(dtype).bits // 8
    if len(xb) != 2 * n * size or len(yb) != n:
        raise ValueError(f"setup: data.{what}: expected {2 * n * size} bytes of x and {n} of y for n={n}, "
                         f"got {len(xb)} and {len(yb)}")
    x = torch.from_numpy(np.frombuffer(xb, dtype=np.dtype(blob["dtype"]).newbyteorder("<")).astype(
        np.dtype(blob["dtype"])).reshape(n, 2).copy())
    y = torch.from_numpy(np.frombuffer(yb, dtype=np.uint8).astype(np.int64))
    if not torch.isfinite(x).all():
        raise ValueError(f"setup: data.{what}: the points must be finite numbers")
    return x, y


def encode(controls: dict[str, Any], data: dict[str, Any]) -> str:
    """The setup string of these control values and data (pack_points' dicts)."""
    text = json.dumps({"v": VERSION, "controls": {k: _plain(v) for k, v in controls.items()}, "data": data},
                      separators=(",", ":"), allow_nan=False)
    out = PREFIX + base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")
    if len(out) > MAX_CHARS:
        raise ValueError(f"setup: the string would be {len(out)} characters, more than {MAX_CHARS}: "
                         f"use fewer points (or Export the data as CSV)")
    return out


def decode(text: Any) -> dict[str, Any]:
    """{"controls": {...}, "data": {...}} from a setup string; anything wrong is a ValueError."""
    if not isinstance(text, str):
        raise ValueError(f"setup: expected a setup string, got {type(text).__name__}")
    text = text.strip()
    if len(text) > MAX_CHARS:
        raise ValueError(f"setup: the string has {len(text)} characters, more than {MAX_CHARS}")
    if not text.startswith(PREFIX):
        raise ValueError(f"setup: a setup string starts with {PREFIX!r}, got {text[:12]!r}")
    body = text[len(PREFIX):].rstrip("=")                 # padding or not
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if base64.urlsafe_b64encode(packed).decode().rstrip("=") != body:
            raise ValueError
        z = zlib.decompressobj()
        raw = z.decompress(packed, MAX_JSON)
        if z.unconsumed_tail or not z.eof or z.unused_data:
            raise ValueError
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, binascii.Error, zlib.error, UnicodeDecodeError, RecursionError):
        raise ValueError("setup: the string is damaged (not base64url of compressed JSON); copy it whole") from None
    if not isinstance(doc, dict) or set(doc) != {"v", "controls", "data"}:
        raise ValueError("setup: expected the fields v, controls and data")
    if doc["v"] != VERSION or type(doc["v"]) is not int:
        raise ValueError(f"setup: version {doc['v']!r}; this app reads version {VERSION}")
    if not isinstance(doc["controls"], dict) or not isinstance(doc["data"], dict):
        raise ValueError("setup: controls and data must be objects")
    if set(doc["data"]) - {"csv", "edits"}:
        raise ValueError(f"setup: unknown data {sorted(set(doc['data']) - {'csv', 'edits'})}; expected csv, edits")
    for name, value in doc["controls"].items():
        ok = isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)) or (
            isinstance(value, list) and all(isinstance(v, (bool, int, float, str)) for v in value))
        if not ok:
            raise ValueError(f"setup: control {name!r} has a value of type {type(value).__name__}")
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"setup: {name} is not a value")


def parse_query(query: str) -> dict[str, str]:
    """The query string's parameters (the last of a repeated one), Voilà's own left out."""
    try:
        pairs = urllib.parse.parse_qsl(query.lstrip("?"), keep_blank_values=True, max_num_fields=200)
    except ValueError as e:
        raise ValueError(f"URL: {e}") from None
    return {k: v for k, v in pairs if k not in IGNORED_QUERY}


_USED: set[str] = set()             # the query strings an app of this kernel has applied already


def query_string() -> str:
    """The page's query string: Voilà puts it in the kernel's environment as QUERY_STRING (with a
    pre-heated kernel once the page asks for it: voila.utils.wait_for_request); "" elsewhere. Only the
    first app of the kernel gets it: the page's app; other Playground() objects of the notebook start
    with their defaults."""
    if os.environ.get("VOILA_PREHEAT") == "True":
        from voila.utils import wait_for_request
        wait_for_request()
    query = os.environ.get("QUERY_STRING", "")
    if query in _USED:
        return ""
    _USED.add(query)
    return query


def from_text(text: str, like: Any, name: str) -> Any:
    """A query parameter's text as the type of the control's value ``like``."""
    try:
        if isinstance(like, bool):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if isinstance(like, int):
            return int(text)
        if isinstance(like, float):
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return value
        if isinstance(like, tuple):
            return tuple(from_text(t, like[0], name) for t in text.split(",") if t) if like else tuple(text.split(","))
    except ValueError:
        raise ValueError(f"URL: {name}={text!r} is not a {type(like).__name__}") from None
    return text


def snap(widget: Any, value: Any, name: str) -> Any:
    """A number typed in a URL moved to its slider's nearest step, as the slider itself does in the page."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(widget, W.FloatLogSlider):
        if value <= 0:
            raise ValueError(f"URL: {name}={value!r}; expected a number > 0")
        k = round((math.log(value, widget.base) - widget.min) / widget.step)
        return float(widget.base ** (widget.min + k * widget.step))
    if isinstance(widget, (W.FloatSlider, W.IntSlider)):
        snapped = widget.min + round((value - widget.min) / widget.step) * widget.step
        return float(round(snapped, 12)) if isinstance(widget, W.FloatSlider) else int(snapped)
    return value


def set_values(widgets: dict[str, Any], values: dict[str, Any], between: Any = None) -> None:
    """Give each widget its value: twice, so a value one control's limits refused (momentum below the
    Nesterov minimum) lands once the others are set (``between`` runs in between)."""
    for _ in range(2):
        for name, value in values.items():
            w = widgets[name]
            try:
                w.value = tuple(value) if isinstance(w.value, tuple) and isinstance(value, list) else value
            except Exception:
                pass                                    # checked below, after both passes
        if between is not None:
            between()


def check_values(widgets: dict[str, Any], values: dict[str, Any], where: str) -> None:
    for name, value in values.items():
        got = _plain(widgets[name].value)
        if got != value or type(got) is not type(value) and not (isinstance(got, float) and isinstance(value, int)):
            raise ValueError(f"{where}: {name}={value!r} is not a value the control takes (it shows {got!r})")


# -- the app's side ------------------------------------------------------------------------------------------
def setup_of(app: Any) -> str:
    """The setup string of the app now: every shared control, and the data unless the controls make them."""
    controls = {name: w.value for name, w in shared(app.registry).items()}
    data = {}
    if app.dataset.value == "your CSV" and app.csv is not None:
        data["csv"] = pack_points(*app.csv)
    if app.edits is not None and app.edits.applies(app.data_spec(), app.csv):
        data["edits"] = pack_points(app.edits.x, app.edits.y)
    return encode(controls, data)


def restore(app: Any, controls: dict[str, Any], data: dict[str, Any], where: str) -> list[str]:
    """Set the controls (missing ones to their defaults) and the data, build the run and install it; all
    or nothing: any flaw is a ValueError and nothing has changed. Returns the keys ignored (no such control)."""
    widgets = shared(app.registry)
    ignored = sorted(set(controls) - set(widgets))
    values = {**{n: _plain(app.defaults[n]) for n in widgets}, **{k: v for k, v in controls.items() if k in widgets}}
    cap = app.points.max
    csv = unpack_points(data["csv"], "csv", cap) if "csv" in data else None
    edited = unpack_points(data["edits"], "edits", cap) if "edits" in data else None
    if (csv is not None) != (values.get("dataset") == "your CSV"):
        raise ValueError(f"{where}: dataset 'your CSV' comes with its points (data.csv), and only it; got "
                         f"dataset={values.get('dataset')!r} {'with' if csv is not None else 'without'} points")
    old = {n: w.value for n, w in widgets.items()}
    old_options, old_csv, old_edits, was = app.dataset.options, app.csv, app.edits, app._applying
    app._applying = True                                 # the observers do nothing: one reset at the end
    try:
        try:
            if csv is not None and "your CSV" not in app.dataset.options:
                app.dataset.options = [*app.dataset.options, "your CSV"]
            set_values(widgets, values, app._sync_momentum)
            check_values(widgets, values, where)
            app.csv = csv if csv is not None else app.csv
            app.edits = None if edited is None else Edits(app.data_spec(), app.csv, *edited)
            new = app._make_run()
            frame = capture(new, len(app.sizes) - 1, show_test=app.show_test.value)
        except Exception as e:
            app.dataset.options = old_options
            set_values(widgets, old, app._sync_momentum)
            app.csv, app.edits = old_csv, old_edits
            if isinstance(e, ValueError) and str(e).startswith(where):
                raise
            line = str(e).splitlines()[0] if str(e) else ""
            raise ValueError(f"{where}: the run could not be built: {type(e).__name__}: {line}") from e
    finally:
        app._applying = was
    app._install(new, frame)
    return ignored


def apply_setup(app: Any, text: Any) -> list[str]:
    """Apply a setup string whole (restore), or raise a ValueError and change nothing."""
    doc = decode(text)
    return restore(app, doc["controls"], doc["data"], "setup")


def apply_query(app: Any, query: str) -> list[str]:
    """``?setup=<string>`` or single controls (``?dataset=spiral&lr=0.03``) from a URL's query string."""
    params = parse_query(query)
    if "setup" in params:
        if len(params) > 1:
            raise ValueError(f"URL: setup comes alone, got also {', '.join(k for k in params if k != 'setup')}")
        doc = decode(params["setup"])
        return restore(app, doc["controls"], doc["data"], "URL")
    widgets = shared(app.registry)
    values = {k: snap(widgets[k], from_text(v, widgets[k].value, k), k) for k, v in params.items() if k in widgets}
    ignored = restore(app, values, {}, "URL") if values else []
    return sorted(set(params) - set(widgets)) + ignored


def query_note(query: str, ignored: list[str]) -> str:
    """The message after a URL set the app up ("" for no query)."""
    params = parse_query(query)
    if not params:
        return ""
    what = "a shared setup" if "setup" in params else ", ".join(f"{k}={v}" for k, v in params.items()
                                                                 if k not in ignored)
    note = f"set up from the URL: {what}" if what else ""
    if ignored:
        note += ("; " if note else "URL: ") + f"ignored (no such control): {', '.join(ignored)}"
    return note
