"""Export of the data as CSV (x1,x2,label,split): the file reads back to the very same points."""

import base64
import re

import numpy as np
import torch

import minidl as md
from minidl.playground import Playground
from minidl.playground.export import csv_link, data_csv


def all_points(app):
    r = app.run.data.raw
    return torch.cat([r["x_train"], r["x_test"]]), torch.cat([r["y_train"], r["y_test"]])


def test_the_csv_reads_back_bit_for_bit_with_load_csv(tmp_path):
    app = Playground(canvas="image", query="")
    app.edit(0.123456789, 0.987654321)                     # edited points are exported too
    text = app.data_csv()
    lines = text.splitlines()
    assert lines[0] == "x1,x2,label,split" and len(lines) == 1 + len(all_points(app)[1])
    assert lines[1].endswith(",train") and lines[-1].endswith(",test")
    assert sum(line.endswith(",train") for line in lines) == len(app.run.data.raw["y_train"])
    path = tmp_path / "data.csv"
    path.write_text(text)
    x, y = md.data.load_csv(path)
    want_x, want_y = all_points(app)
    assert x.dtype == want_x.dtype and torch.equal(x, want_x) and torch.equal(y, want_y)


def test_the_upload_control_reads_the_export_back_to_the_same_points():
    app = Playground(canvas="image", query="")
    app.dataset.value = "moons"
    x, y = all_points(app)
    other = Playground(canvas="image", query="")
    assert other.load_csv_bytes(app.data_csv().encode(), "export.csv")
    ox, oy = all_points(other)
    lo, hi = x.min(dim=0).values, x.max(dim=0).values       # the upload rescales to [0, 1]² (min-max)
    order, other_order = (torch.from_numpy(np.lexsort((p[:, 1].numpy(), p[:, 0].numpy()))) for p in (x, ox))
    assert torch.allclose(ox[other_order], ((x - lo) / (hi - lo))[order], atol=1e-6)
    assert torch.equal(oy[other_order], y[order])


def test_the_download_link_carries_the_csv():
    app = Playground(canvas="image", query="")
    link = csv_link(app.run)
    b64 = re.search(r"href='data:text/csv;base64,([^']+)'", link).group(1)
    assert base64.b64decode(b64).decode() == data_csv(app.run) and "1000 points" in link
    app.export_button.click()
    assert "data:text/csv;base64," in app.download.value and "minidl_playground_data.csv" in app.download.value
