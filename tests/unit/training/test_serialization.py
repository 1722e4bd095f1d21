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
    with pytest.raises(TypeError, match=r"minidl.save\('.*x.pt'\): expected a Module or a dict of tensors, got list"):
        md.save([1], tmp_path / "x.pt")
    with pytest.raises(FileNotFoundError, match="minidl.save: folder .* does not exist"):
        md.save(model(), tmp_path / "no" / "x.pt")
    with pytest.raises(FileNotFoundError, match="minidl.load: no file"):
        md.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt' is not a minidl/torch checkpoint"):
        md.load(tmp_path / "junk.pt")


def test_save_refuses_what_load_would_refuse_naming_the_key(tmp_path):
    with pytest.raises(TypeError, match=r"minidl.save\('.*s.pt'\): key 'step': expected a tensor, got int"):
        md.save({"w": torch.ones(2), "step": 3}, tmp_path / "s.pt")
    with pytest.raises(TypeError, match=r"keys must be str, got int 0"):
        md.save({0: torch.ones(2)}, tmp_path / "s.pt")
    assert list(tmp_path.iterdir()) == []


def test_files_get_the_permissions_a_plain_open_would_give(tmp_path):
    old = os.umask(0o027)
    try:
        fresh = md.save(model(), tmp_path / "fresh.pt")
        with open(tmp_path / "plain", "w"):
            pass
        assert fresh.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777 == 0o640
        kept = tmp_path / "kept.pt"
        kept.write_bytes(b"old")
        kept.chmod(0o604)
        md.save(model(), kept)                               # replacing a file keeps its mode, like open("w")
        assert kept.stat().st_mode & 0o777 == 0o604
        h = md.History()
        assert h.save(tmp_path / "h.json").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_a_killed_saves_temporary_is_removed_by_the_next_save_and_a_live_ones_is_kept(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".m.pt.{int(dead.stdout)}.abc123.tmp"     # what a save killed mid-write leaves
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / f".m.pt.{os.getppid()}.def456.tmp"          # a save in a process still running
    live.write_bytes(b"being written")
    md.save(model(), tmp_path / "m.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.pt", live.name])


def test_saving_onto_a_folder_names_the_folder_not_a_temporary_file(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError, match=r"minidl.save: '.*out' is a folder; expected a file path"):
        md.save(model(), tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
