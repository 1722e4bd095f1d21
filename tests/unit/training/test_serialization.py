"""save / load: weights only, atomic writes."""

import os

import pytest
import torch

import minidl as md


def model():
    torch.manual_seed(0)
    return md.Sequential(md.Linear(2, 4), md.Tanh(), md.Linear(4, 2))


def test_round_trip(tmp_path):
    a = model()
    path = md.save(a, tmp_path / "m.pt")
    state = md.load(path)
    b = md.Sequential(md.Linear(2, 4), md.Tanh(), md.Linear(4, 2))
    b.load_state_dict(state)
    x = torch.randn(3, 2)
    assert torch.equal(a(x), b(x))
    md.save(a.state_dict(), tmp_path / "s.pt")
    assert list(md.load(tmp_path / "s.pt")) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_load_never_unpickles_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    path = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, path)
    with pytest.raises(ValueError, match="is not a minidl/torch checkpoint"):
        md.load(path)


def test_a_crash_while_writing_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    md.save(model(), path)
    good = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        md.save(model(), path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]      # no temporary file left behind


def test_errors(tmp_path):
    with pytest.raises(TypeError, match="minidl.save: expected a Module or a dict of tensors, got list"):
        md.save([1], tmp_path / "x.pt")
    with pytest.raises(FileNotFoundError, match="minidl.save: folder .* does not exist"):
        md.save(model(), tmp_path / "no" / "x.pt")
    with pytest.raises(FileNotFoundError, match="minidl.load: no file"):
        md.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt' is not a minidl/torch checkpoint"):
        md.load(tmp_path / "junk.pt")
