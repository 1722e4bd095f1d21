"""The confusion matrix and each class's error, as a small HTML table beside the figure.   Notebook 10

    C[i, j] = #{test points of true class i predicted as class j}      (state.confusion)
    error_i = 1 − C[i, i] / Σ_j C[i, j]                                 (state.class_error; train and test)

Each cell is shaded by its share of the row (C[i, j] / Σ_j C[i, j]: a perfect model is dark on the
diagonal only); the class labels are in the classes' colours (colours.class_colour). It is an
ipywidgets.HTML, not part of the matplotlib figure: k² numbers as text artists would cost more
to draw than the rest of a frame, while this is a string of about a kilobyte per frame.
"""

from __future__ import annotations

import math

import numpy as np

from .colours import class_colour
from .state import Frame

CELL = "padding:1px 5px;text-align:right;font-variant-numeric:tabular-nums"


def confusion_html(frame: Frame) -> str:
    """The table of ``frame.confusion`` (rows true, columns predicted) and its train | test error per class."""
    counts, errors = frame.confusion, frame.class_error
    if counts is None or errors is None:
        raise ValueError("confusion_html: expected a Frame with confusion and class_error, got None")
    k = counts.shape[0]
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)

    def label(c: int) -> str:
        return f"<b style='color:{class_colour(c)}'>{c}</b>"

    def percent(e: float) -> str:
        return "–" if math.isnan(e) else f"{100 * e:.1f}"

    head = "".join(f"<th style='{CELL}'>{label(j)}</th>" for j in range(k))
    rows = []
    for i in range(k):
        cells = "".join(
            f"<td class='pg-cm-cell' style='{CELL};background:rgba(0,114,178,{0.85 * share[i, j]:.2f});"
            f"color:{'white' if share[i, j] > 0.5 else '#222'}'>{int(counts[i, j])}</td>" for j in range(k))
        rows.append(f"<tr><th style='{CELL}'>{label(i)}</th>{cells}"
                    f"<td style='{CELL};color:#555'>{percent(errors[0, i])} | {percent(errors[1, i])}</td></tr>")
    return ("<div style='font-size:12px;line-height:1.3'><b>confusion matrix</b> (test set)<br>"
            "<span style='color:#666'>rows: true class · columns: predicted</span>"
            f"<table class='pg-cm-table' style='border-collapse:collapse;margin-top:4px'>"
            f"<tr><th></th>{head}<th style='{CELL};color:#555;font-weight:normal'>error %<br>train | test</th></tr>"
            f"{''.join(rows)}</table></div>")
