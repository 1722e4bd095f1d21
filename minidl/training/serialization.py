"""save / load: checkpoints through torch.save and torch.load(weights_only=True).

``weights_only=True`` means loading never runs pickled code, so a checkpoint from
someone else is safe to open. Writing goes to a temporary file in the same folder,
then ``os.replace`` renames it over the target in one step: a crash mid-write never
leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import glob
import io
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

import torch
from torch import Tensor

from ..framework.module import Module


def save(model_or_state: Module | dict[str, Tensor], path: str | os.PathLike) -> Path:
    """Write a model's state_dict (or a dict of tensors) to ``path`` atomically.

    Only what ``load`` reads back is written: a dict from str keys to tensors (load refuses
    anything else, since it never unpickles code), so a checkpoint that saves always loads.
    """
    where = f"minidl.save({str(path)!r})"
    if isinstance(model_or_state, Module):
        state = model_or_state.state_dict()
    elif isinstance(model_or_state, dict):
        state = OrderedDict(model_or_state)
    else:
        raise TypeError(f"{where}: expected a Module or a dict of tensors, got {type(model_or_state).__name__}")
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(f"{where}: keys must be str, got {type(key).__name__} {key!r}")
        if not isinstance(value, Tensor):
            raise TypeError(f"{where}: key {key!r}: expected a tensor, got {type(value).__name__} "
                            f"(load reads tensors only)")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write(path, buffer.getvalue(), "minidl.save")


def _umask() -> int:
    """The process's umask (read by setting it and putting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:                       # alive, another user's
        return True
    return True


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files of earlier saves to ``path`` whose process died (killed mid-write)."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike, content: bytes, where: str) -> Path:
    """Write ``content`` to ``path`` all or nothing: a temporary file in the same folder, fsync, os.replace.

    A reader never sees half a file; a failure leaves the old file (if any) as it was and no
    temporary file behind, and temporaries of a killed earlier save are removed on the next one.
    The file gets the permissions a plain open() would give: the old file's mode when replacing
    one, else 0o666 less the umask. The one atomic writer: checkpoints, History JSON, the CSVs.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{where}: {str(path)!r} is a folder; expected a file path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{where}: folder {str(path.parent)!r} does not exist")
    mode = path.stat().st_mode & 0o7777 if path.is_file() else 0o666 & ~_umask()
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path: str | os.PathLike) -> OrderedDict[str, Tensor]:
    """Read a state_dict written by ``save``; pass it to ``model.load_state_dict``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"minidl.load: no file {str(path)!r}")
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:                      # a truncated or foreign file
        raise ValueError(f"minidl.load: {str(path)!r} is not a minidl/torch checkpoint ({e})") from e
