"""save / load: checkpoints through torch.save and torch.load(weights_only=True).

``weights_only=True`` means loading never runs pickled code, so a checkpoint from
someone else is safe to open. Writing goes to a temporary file in the same folder,
then ``os.replace`` renames it over the target in one step: a crash mid-write never
leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

import torch
from torch import Tensor

from ..framework.module import Module


def save(model_or_state: Module | dict[str, Tensor], path: str | os.PathLike) -> Path:
    """Write a model's state_dict (or a dict of tensors) to ``path`` atomically."""
    if isinstance(model_or_state, Module):
        state = model_or_state.state_dict()
    elif isinstance(model_or_state, dict):
        state = OrderedDict(model_or_state)
    else:
        raise TypeError(f"minidl.save: expected a Module or a dict of tensors, "
                        f"got {type(model_or_state).__name__}")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write(path, buffer.getvalue(), "minidl.save")


def atomic_write(path: str | os.PathLike, content: bytes, where: str) -> Path:
    """Write ``content`` to ``path`` all or nothing: a temporary file in the same folder, fsync, os.replace.

    A reader never sees half a file, and a failure leaves the old file (if any) as it was and no
    temporary file behind. The one atomic writer: checkpoints, History JSON, the experiments' CSV.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{where}: folder {str(path.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
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
