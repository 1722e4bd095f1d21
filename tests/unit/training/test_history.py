"""History: written through the one atomic writer; a failed write leaves the old file and no temporary."""

import json

import pytest

from minidl.training import serialization
from minidl.training.history import History


def test_save_goes_through_the_atomic_writer_and_a_failure_keeps_the_old_file(tmp_path, monkeypatch):
    h = History()
    h.record(1, 0.5, 0.25, 0.01, 0.1, test_loss=0.6, test_error=0.3)
    path = h.save(tmp_path / "h.json")
    before = path.read_text()
    assert History.load(path).train_loss == [0.5] and json.loads(before)["epoch"] == [1]

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(serialization.os, "replace", broken_replace)
    h.record(2, 0.4, 0.2, 0.02, 0.1, test_loss=0.5, test_error=0.2)
    with pytest.raises(OSError, match="disk full"):
        h.save(path)
    assert path.read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["h.json"]
