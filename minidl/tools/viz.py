"""Pictures: loss curves, decision boundaries, datasets, activations, diagnostics.  Notebooks 01, 03, 10, 20

matplotlib only, object-oriented: each function draws into the Axes it is given (``ax=`` or
``axes=``) or into a new pyplot figure, and returns the Figure. Nothing changes matplotlib's
global settings; the colours live in ``STYLE`` (Okabe-Ito, readable with colour blindness).
A model runs in eval mode (every module's mode is restored afterwards), in the dtype and on the
device of its first parameter, and its outputs are detached, so autograd may be on or off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator
from torch import Tensor

from ..framework.activations import ACTIVATIONS
from ..framework.checks import shape_text
from ..framework.module import Module, evaluating
from ..training.diagnostics import RULE_OF_THUMB

STYLE: dict[str, str] = {"class0": "#0072B2", "class1": "#E69F00",      # blue / orange: points, heatmap
                         "train": "#0072B2", "test": "#D55E00",         # blue / vermillion: curves
                         "mistakes": "#000000", "boundary": "#000000", "diverged": "#C00000"}
OUTPUTS = ("softmax", "scores")
UNIT_SQUARE = (0.0, 1.0, 0.0, 1.0)
Bounds = tuple[float, float, float, float]          # (x_min, x_max, y_min, y_max), imshow's extent


# -- checks -------------------------------------------------------------------------------------------
def _points(x: Any, y: Any, where: str, names: tuple[str, str] = ("x", "y")) -> tuple[Tensor, np.ndarray]:
    """x as a detached (N, 2) tensor, y as labels 0/1, int64 (N,); y may also be one-hot rows (N, C)."""
    for name, value in zip(names, (x, y), strict=True):
        if not isinstance(value, Tensor):
            raise TypeError(f"{where}: {name} must be a torch.Tensor, got {type(value).__name__}")
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"{where}: {names[0]} must have shape (N, 2), got {shape_text(x)}")
    labels = y.detach().argmax(dim=1) if y.dim() == 2 and y.shape[1] > 1 else y.detach().reshape(-1)
    if y.dim() > 2 or len(labels) != len(x):
        raise ValueError(f"{where}: {names[1]} must hold one label per row of {names[0]}: expected "
                         f"shape ({len(x)},) or ({len(x)}, C), got {shape_text(y)}")
    labels = labels.cpu().numpy()
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if len(bad):
        raise ValueError(f"{where}: {names[1]} must hold labels 0 or 1, got {labels[bad[0]]} at index {bad[0]}")
    return x.detach(), labels.astype(np.int64)


def _bounds(bounds: Any, where: str) -> Bounds:
    try:
        b = tuple(float(v) for v in bounds)
    except (TypeError, ValueError):
        b = ()
    if len(b) != 4 or not (b[0] < b[1] and b[2] < b[3]):
        raise ValueError(f"{where}: bounds must be (x_min, x_max, y_min, y_max) with min < max, got {bounds!r}")
    return b


def _figure(ax: Axes | None, figsize: tuple[float, float], where: str) -> tuple[Figure, Axes]:
    if ax is None:
        return plt.subplots(figsize=figsize, layout="constrained")
    if not isinstance(ax, Axes):
        raise TypeError(f"{where}: ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax.figure, ax


def _panels(axes: Any, names: tuple[str, ...], figsize: tuple[float, float], title: str | None,
            where: str) -> Any:
    """The given row of len(names) Axes, or a new constrained figure with that many (titled ``title``)."""
    if axes is None:
        fig, axes = plt.subplots(1, len(names), figsize=figsize, layout="constrained")
        if title:
            fig.suptitle(title)
        return axes
    if isinstance(axes, Axes) or len(axes) != len(names) or not all(isinstance(a, Axes) for a in axes):
        count = {2: "two", 3: "three"}.get(len(names), str(len(names)))
        raise TypeError(f"{where}: axes must be {count} matplotlib Axes ({', '.join(names)}), got {axes!r}")
    return axes


def data_bounds(*xs: Tensor | None, margin: float = 0.05) -> Bounds:
    """[0, 1]² if every point lies in it, else the points' bounding box grown by ``margin`` of its size."""
    pts = torch.cat([x.detach().reshape(-1, 2).double().cpu() for x in xs if x is not None] or [torch.zeros(0, 2)])
    pts = pts[torch.isfinite(pts).all(dim=1)]
    if len(pts) == 0 or ((pts >= 0) & (pts <= 1)).all():
        return UNIT_SQUARE
    lo, hi = pts.amin(dim=0), pts.amax(dim=0)
    pad = torch.where(hi > lo, (hi - lo) * margin, torch.full_like(lo, 0.5))
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])


# -- running the model ------------------------------------------------------------------------------------
def _run(model: Any, pts: Tensor, output: str, transform: Callable | None, where: str) -> tuple[np.ndarray, ...]:
    """(p, predicted class) for raw points (M, 2); p as decision_grid defines it."""
    if not callable(model):
        raise TypeError(f"{where}: model must be a minidl Module, got {type(model).__name__}")
    first = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
    dtype, device = (first.data.dtype, first.data.device) if first is not None else (torch.float32, pts.device)
    inp = pts.to(dtype=dtype, device=device)
    if transform is not None:
        inp = transform(inp)
        if not isinstance(inp, Tensor):
            raise TypeError(f"{where}: transform must return a torch.Tensor, got {type(inp).__name__}")
        inp = inp.detach().to(dtype=dtype, device=device)
    with evaluating(model):
        out = model(inp).detach()
    if out.dim() != 2 or out.shape[1] not in (1, 2):
        raise ValueError(f"{where}: expected model outputs of shape (N, 1) or (N, 2), got {shape_text(out)}")
    if out.shape[1] == 2:
        d = out[:, 1] - out[:, 0]
        p = out.softmax(dim=1)[:, 1] if output == "softmax" else ((d + 1) / 2).clamp(0, 1)
        pred = d > 0                                      # the argmax, a tie going to class 0 as in torch
    else:
        o = out[:, 0]
        p = o.sigmoid() if output == "softmax" else o.clamp(0, 1)
        pred = o > (0.0 if output == "softmax" else 0.5)
    return p.cpu().numpy(), pred.cpu().numpy().astype(np.int64)


def decision_grid(model: Any, bounds: Sequence[float] = UNIT_SQUARE, resolution: int = 200,
                  output: str = "softmax", transform: Callable | None = None, *, _where: str = "decision_grid"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """xx, yy, p: P(class 1) at the resolution × resolution pixel centres of bounds (x0, x1, y0, y1).

    output="softmax": p = softmax(out)[:, 1]  (one output column: sigmoid(out));
    output="scores":  p = clamp((out₁ - out₀ + 1)/2, 0, 1)  (one column: clamp(out, 0, 1)),
    for MSE on one-hot targets. Both are 0.5 exactly where out₁ = out₀. Row i is the i-th y, so
    ``ax.imshow(p, origin="lower", extent=bounds)`` draws it and ``im.set_data(p)`` updates it.
    """
    if output not in OUTPUTS:
        raise ValueError(f"{_where}: output must be one of {OUTPUTS}, got {output!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"{_where}: resolution must be an int >= 2, got {resolution!r}")
    if transform is not None and not callable(transform):
        raise TypeError(f"{_where}: transform must be None or a callable, got {type(transform).__name__}")
    x0, x1, y0, y1 = _bounds(bounds, _where)
    centres = (np.arange(resolution) + 0.5) / resolution
    xx, yy = np.meshgrid(x0 + centres * (x1 - x0), y0 + centres * (y1 - y0))
    grid = torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], axis=1))    # float64; _run casts it
    p, _ = _run(model, grid, output, transform, _where)
    return xx, yy, p.reshape(resolution, resolution)


# -- the plots ----------------------------------------------------------------------------------------------
def _scatter(ax: Axes, xy: np.ndarray, labels: np.ndarray, name: str, marker: str = "o", size: float = 14) -> None:
    for c in (0, 1):
        sel = labels == c
        ax.scatter(xy[sel, 0], xy[sel, 1], s=size, marker=marker, color=STYLE[f"class{c}"], edgecolors="white",
                   linewidths=0.4, zorder=3, clip_on=False, gid=f"{name}-{c}", label=f"class {c} ({sel.sum()})")


def _legend_below(ax: Axes, handles: list) -> None:
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=len(handles),
              frameon=False, fontsize="small", handletextpad=0.3, columnspacing=1.2)


def plot_decision_boundary(model: Any, x: Tensor, y: Tensor, x_test: Tensor | None = None,
                           y_test: Tensor | None = None, *, resolution: int = 200, output: str = "softmax",
                           transform: Callable | None = None, ax: Axes | None = None, show_mistakes: bool = True,
                           title: str | None = None, bounds: Sequence[float] | None = None,
                           colorbar: bool = True) -> Figure:
    """Heatmap of P(class 1), the boundary p = 0.5 (the argmax), the points, the mistakes ringed.

    Bounds: [0, 1]² unless the points leave it (then their bounding box). ``transform`` maps raw
    points to the model's inputs (e.g. standardisation); the picture stays in raw coordinates.
    Test points are triangles. The error rates (argmax ≠ label) are in the title. Artists carry
    gids for live updates: "probability" (the AxesImage), "boundary", "train-0", ..., "mistakes".
    """
    where = "plot_decision_boundary"
    sets = [("train", *_points(x, y, where))]
    if (x_test is None) != (y_test is None):
        raise ValueError(f"{where}: give both x_test and y_test, or neither")
    if x_test is not None:
        sets.append(("test", *_points(x_test, y_test, where, ("x_test", "y_test"))))
    box = data_bounds(*(s[1] for s in sets)) if bounds is None else _bounds(bounds, where)
    xx, yy, p = decision_grid(model, box, resolution, output, transform, _where=where)
    fig, ax = _figure(ax, (5.6, 5.4), where)
    light = [0.45 * np.array(to_rgb(STYLE[c])) + 0.55 for c in ("class0", "class1")]    # pale, points on top
    cmap = LinearSegmentedColormap.from_list("minidl_p", [light[0], (1.0, 1.0, 1.0), light[1]])
    im = ax.imshow(p, origin="lower", extent=box, cmap=cmap, vmin=0.0, vmax=1.0, gid="probability")
    if np.nanmin(p) < 0.5 < np.nanmax(p):
        ax.contour(xx, yy, p, levels=[0.5], colors=STYLE["boundary"], linewidths=1.5).set_gid("boundary")
    rates, wrong_xy = [], []
    for name, pts, labels in sets:
        wrong = _run(model, pts, output, transform, where)[1] != labels
        xy = pts.double().cpu().numpy()
        _scatter(ax, xy, labels, name, *(("o", 14) if name == "train" else ("^", 18)))
        rates.append(f"{name} error {100 * wrong.mean() if len(wrong) else 0.0:.1f}%")
        wrong_xy.append(xy[wrong])
    handles = [Line2D([], [], ls="", marker="o", color=STYLE[f"class{c}"], label=f"class {c}") for c in (0, 1)]
    if len(sets) == 2:
        handles.append(Line2D([], [], ls="", marker="^", color="0.45", label="test point"))
    handles.append(Line2D([], [], color=STYLE["boundary"], lw=1.5, label="p = 0.5"))
    if show_mistakes:
        m = np.concatenate(wrong_xy)
        ax.scatter(m[:, 0], m[:, 1], s=70, facecolors="none", edgecolors=STYLE["mistakes"], linewidths=1.1,
                   zorder=4, clip_on=False, gid="mistakes")
        handles.append(Line2D([], [], ls="", marker="o", ms=8, mfc="none", mec=STYLE["mistakes"],
                              label=f"wrong ({len(m)})"))
    _legend_below(ax, handles)
    ax.set(xlim=box[:2], ylim=box[2:], xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
    ax.set_title((f"{title}\n" if title else "") + ",  ".join(rates), fontsize="medium")
    if colorbar:
        label = "P(class 1)" if output == "softmax" else "(out$_1$ - out$_0$ + 1) / 2, clipped"
        fig.colorbar(im, cax=ax.inset_axes([1.04, 0.0, 0.045, 1.0]), label=label)    # moves with ax
    return fig


def _series(history: Any, where: str) -> dict[str, Any]:
    """The History's lists as float arrays (test ones possibly empty) and its diverged message."""
    keys = ("epoch", "train_loss", "train_error", "test_loss", "test_error")
    if isinstance(history, Mapping):
        missing = [k for k in keys[:3] if k not in history]
        if missing:
            raise ValueError(f"{where}: the history dict has no {missing[0]!r} key (expected keys {keys})")
        get = history.get
    elif all(hasattr(history, k) for k in keys[:3]):
        get = lambda k, default=None: getattr(history, k, default)
    else:
        raise TypeError(f"{where}: expected a History or a dict with keys {keys}, got {type(history).__name__}")
    s: dict[str, Any] = {k: np.asarray([] if get(k, None) is None else list(get(k, None)), float) for k in keys}
    for k in keys[1:]:
        if len(s[k]) != len(s["epoch"]) and not (k.startswith("test") and len(s[k]) == 0):
            raise ValueError(f"{where}: {k!r} has {len(s[k])} entries, expected {len(s['epoch'])} (one per epoch"
                             f"{' or none' if k.startswith('test') else ''})")
    s["diverged"] = get("diverged", None)
    return s


def _log_labels(ax: Axes) -> FuncFormatter:
    """Plain numbers (0.3, not 3×10⁻¹) on a log axis: each decade, and 2, 5 (or more) between if they fit."""
    def label(v: float, _: Any) -> str:
        lo, hi = ax.get_ylim()
        decades = np.log10(hi / lo) if 0 < lo < hi else 1.0
        keep = "1" if decades > 2.5 else "125" if decades > 1 else "12346"
        return f"{v:.3g}" if f"{v:.0e}"[0] in keep else ""
    return FuncFormatter(label)


def plot_history(history: Any, *, log: bool = True, axes: Sequence[Axes] | None = None,
                 title: str | None = None) -> Figure:
    """Two panels, loss and error rate (%), train and test, by epoch; final values in the legends.

    ``history``: a minidl History or a dict with its keys (test lists may be empty). A run that
    diverged gets a red dashed line at the epoch where it stopped.
    """
    where = "plot_history"
    s = _series(history, where)
    prefix = f"{title}: " if title and axes is not None else ""
    axes = _panels(axes, ("loss", "error"), (10, 4), title, where)
    (ax_loss, ax_err), ep = axes, s["epoch"]
    for key, marker in (("train", "o"), ("test", "s")):
        loss, err = s[f"{key}_loss"], 100 * s[f"{key}_error"]
        if len(loss):
            style = dict(color=STYLE[key], marker=marker, markevery=[len(ep) - 1], lw=1.6, ms=6)
            ax_loss.plot(ep, np.where(np.isfinite(loss), loss, np.nan), gid=f"{key}_loss",
                         label=f"{key} (final {loss[-1]:.3g})", **style)
            ax_err.plot(ep, err, gid=f"{key}_error", label=f"{key} (final {err[-1]:.2f}%)", **style)
    if log and np.any(s["train_loss"] > 0):
        ax_loss.set_yscale("log")
        ax_loss.yaxis.set_major_formatter(_log_labels(ax_loss))
        ax_loss.yaxis.set_minor_formatter(_log_labels(ax_loss))
    ax_err.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    ax_err.set_ylim(bottom=0)
    found = re.search(r"epoch (\d+)", str(s["diverged"])) if s["diverged"] else None
    n = int(found.group(1)) if found else int(ep[-1]) + 1 if len(ep) else 1
    for ax, name in ((ax_loss, "loss"), (ax_err, "error rate")):
        ax.set(xlabel="epoch", title=prefix + name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if s["diverged"]:
            ax.axvline(n, color=STYLE["diverged"], ls="--", lw=1.5, gid="diverged")
            ax.annotate(f"diverged at epoch {n}", xy=(n, 1), xycoords=ax.get_xaxis_transform(), xytext=(-3, -4),
                        textcoords="offset points", rotation=90, ha="right", va="top", color=STYLE["diverged"],
                        fontweight="bold", fontsize="small")
            ax.set_xlim(right=n + max(0.5, 0.03 * n))
        if len(ep):
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, "no epochs yet", transform=ax.transAxes, ha="center", color="0.4")
    return ax_loss.figure


def plot_dataset(x: Tensor, y: Tensor, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """The points coloured by class, the unit square dashed, equal aspect."""
    where = "plot_dataset"
    x, labels = _points(x, y, where)
    fig, ax = _figure(ax, (5, 5.3), where)
    x0, x1, y0, y1 = data_bounds(x)
    x0, x1, y0, y1 = min(x0, 0.0), max(x1, 1.0), min(y0, 0.0), max(y1, 1.0)
    pad = 0.03 * max(x1 - x0, y1 - y0)
    ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec="0.5", lw=1, ls="--", gid="square", zorder=2))
    _scatter(ax, x.double().cpu().numpy(), labels, "data")
    _legend_below(ax, ax.get_legend_handles_labels()[0])
    ax.set(xlim=(x0 - pad, x1 + pad), ylim=(y0 - pad, y1 + pad), xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
    ax.set_title(title or f"{len(labels)} points", fontsize="medium")
    return fig


def plot_activation(name_or_module: str | Module, *, ax: Axes | None = None) -> Figure:
    """f and f' on [-4, 4]; f' is the module's own backward applied to ones (a check of backward)."""
    where = "plot_activation"
    if isinstance(name_or_module, str):
        key = name_or_module.lower().replace("-", "_").replace("leakyrelu", "leaky_relu")
        if key not in ACTIVATIONS:
            raise ValueError(f"{where}: unknown activation {name_or_module!r}, expected one of {sorted(ACTIVATIONS)}")
        module = ACTIVATIONS[key]()
    elif isinstance(name_or_module, Module):
        module = name_or_module
    else:
        raise TypeError(f"{where}: expected an activation name or a minidl Module, got {type(name_or_module).__name__}")
    first = next(iter(module.parameters()), None)
    x = torch.linspace(-4, 4, 801, dtype=first.data.dtype if first is not None else torch.float64).reshape(-1, 1)
    y = module(x)
    if y.shape != x.shape:
        raise ValueError(f"{where}: {type(module).__name__} is not element-wise: "
                         f"input {shape_text(x)}, output {shape_text(y)}")
    d = module.backward(torch.ones_like(y))
    fig, ax = _figure(ax, (5, 3.5), where)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    xs, ys, ds = (t.double().cpu().numpy().ravel() for t in (x, y, d))
    ax.plot(xs, ys, color=STYLE["train"], lw=2, label="f(x)", gid="function")
    ax.plot(xs, ds, color=STYLE["test"], lw=2, ls="--", label="f'(x) from backward", gid="derivative")
    ax.set(xlabel="x", title=repr(module), xlim=(-4, 4))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    return fig


# -- training diagnostics ---------------------------------------------------------------------------------
DIAGNOSTIC_PANELS = (("act_std", "activation std", False), ("grad_norm", "gradient norm ‖∂L/∂{p}‖", True),
                     ("update_ratio", "update / data  ‖Δ{p}‖ / ‖{p}‖ per epoch", True))


def _diagnostic_series(diag: Any, where: str) -> dict[str, Any]:
    """The Diagnostics' (or its to_dict()'s) epochs and the three series, checked to line up."""
    get = diag.get if isinstance(diag, Mapping) else (lambda k, default=None: getattr(diag, k, default))
    s = {"epoch": get("epoch", None)}
    s.update({key: get(key, None) for key, _, _ in DIAGNOSTIC_PANELS})
    missing = [k for k, v in s.items() if v is None]
    if missing:
        raise TypeError(f"{where}: expected a minidl Diagnostics or its to_dict(), got {type(diag).__name__} "
                        f"without {missing[0]!r}")
    n = len(s["epoch"])
    for key, _, _ in DIAGNOSTIC_PANELS:
        for name, values in s[key].items():
            if len(values) != n:
                raise ValueError(f"{where}: {key}[{name!r}] has {len(values)} entries, expected {n} (one per epoch)")
    return s


def plot_diagnostics(diag: Any, *, params: str = "weight", axes: Sequence[Axes] | None = None,
                     title: str | None = None) -> Figure:
    """Three panels by epoch, one line per layer, coloured from the input (dark) to the output (light):

        activation std      std of each nonlinearity's output on the probe batch (every layer's if
                            the model has none); log scale when all are > 0 and span more than 30x
        gradient norm       ‖∂L/∂θ‖ of each layer's ``params`` ("weight", "bias"), log scale
        update / data       ‖θ_e − θ_{e−1}‖ / ‖θ_{e−1}‖ over each epoch, log scale, with the
                            1e-3 rule of thumb (Karpathy) dashed

    ``diag``: a minidl Diagnostics or its to_dict(). On a log scale an exact 0 (a dead layer: no
    gradient, no update) is a triangle on the bottom edge; inf and nan (epoch 0's update ratio) are
    left out. Gids: lines "<series>:<name>" ("grad_norm:Linear 1 weight"), their zeros
    "<series>:<name>:zero", the reference line "rule-of-thumb". Legends sit below the panels.
    """
    where = "plot_diagnostics"
    s = _diagnostic_series(diag, where)
    if not isinstance(params, str):
        raise TypeError(f"{where}: params must be a parameter name such as 'weight' or 'bias', got {params!r}")
    axes = _panels(axes, ("activations", "gradients", "updates"), (12, 3.6), title, where)
    known = sorted({name.rpartition(" ")[2] for name in s["grad_norm"]})
    if s["grad_norm"] and params not in known:
        raise ValueError(f"{where}: params must be one of {known} (the parameters' names), got {params!r}")
    activations = [n for n in s["act_std"] if not n.startswith("Linear ")] or list(s["act_std"])
    chosen = {"act_std": activations, "grad_norm": [n for n in s["grad_norm"] if n.endswith(" " + params)]}
    chosen["update_ratio"] = chosen["grad_norm"]
    epochs = np.asarray(s["epoch"], float)
    symbol = {"weight": "W", "bias": "b"}.get(params, "θ")
    for ax, (key, label, log) in zip(axes, DIAGNOSTIC_PANELS, strict=True):
        names = chosen[key]
        colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, max(len(names), 1)))
        values = {n: np.asarray(s[key][n], float) for n in names}
        shown = np.concatenate([v[np.isfinite(v)] for v in values.values()] or [np.zeros(0)])
        if not log and len(shown) and shown.min() > 0 and shown.max() > 30 * shown.min():
            log = True
        zeros = {}
        for name, colour in zip(names, colours, strict=False):
            v = values[name]
            if log:
                zeros[name] = (colour, epochs[v == 0])
                v = np.where(np.isfinite(v) & (v > 0), v, np.nan)
            ax.plot(epochs, v, color=colour, lw=1.6, marker="o", ms=3, gid=f"{key}:{name}",
                    label=name.removesuffix(" " + params) if key != "act_std" else name)
        if key == "update_ratio":
            ax.axhline(RULE_OF_THUMB, color="0.3", ls="--", lw=1.2, gid="rule-of-thumb",
                       label="1e-3 rule of thumb (per step)")
        if log:
            ax.set_yscale("log")
            _zeros_on_the_floor(ax, key, zeros)
        else:      # a fixed number of ticks: with "auto" they change with the height the layout gives
            ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.set(xlabel="epoch", title=label.format(p=symbol))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3, which="both" if log else "major")
        handles = ax.get_legend_handles_labels()[0]
        if key == "update_ratio":                     # the layers' colours are the gradient panel's
            handles = [h for h in handles if h.get_gid() in ("rule-of-thumb", "zero")]
        if handles:
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False,
                      fontsize="x-small", ncol=min(3, len(handles)), handletextpad=0.3, columnspacing=1.0)
    return axes[0].figure


def _zeros_on_the_floor(ax: Axes, key: str, zeros: dict[str, tuple[Any, np.ndarray]]) -> None:
    """Exact zeros of a log-scale panel as triangles on its bottom edge (a log axis has no 0)."""
    if not any(len(x) for _, x in zeros.values()):
        return
    finite = [y for line in ax.get_lines() for y in np.asarray(line.get_ydata(), float) if np.isfinite(y) and y > 0]
    low, high = (min(finite), max(finite)) if finite else (1e-3, 1.0)
    floor = low / 3
    for name, (colour, x) in zeros.items():
        if len(x):
            ax.plot(x, np.full(len(x), floor), ls="", marker="v", ms=5, color=colour, clip_on=False,
                    gid=f"{key}:{name}:zero")
    ax.set_ylim(floor, high * 3)
    ax.plot([], [], ls="", marker="v", ms=5, color="0.4", gid="zero", label="exactly 0")
