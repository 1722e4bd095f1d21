"""History: what fit() measured, epoch by epoch, saved and loaded as JSON.      Notebook 10

One entry per finished epoch in each list; ``test_loss`` / ``test_error`` stay empty when
there is no test set. Errors are fractions in [0, 1] (0.031 = 3.1 %), ``time`` is the
cumulative wall-clock time in seconds, ``lr`` the learning rate used during the epoch.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .serialization import atomic_write

SERIES = ("epoch", "train_loss", "train_error", "test_loss", "test_error", "time", "lr")


@dataclass
class History:
    """The per-epoch record of a training run (see the module docstring for the units)."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_error: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_error: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    diverged: str | None = None             # why training stopped early, or None
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def record(self, epoch: int, train_loss: float, train_error: float, time: float, lr: float,
               test_loss: float | None = None, test_error: float | None = None) -> None:
        """Append one epoch's numbers (test_* only when there is a test set)."""
        self.epoch.append(int(epoch))
        self.train_loss.append(float(train_loss))
        self.train_error.append(float(train_error))
        self.time.append(float(time))
        self.lr.append(float(lr))
        if test_loss is not None:
            self.test_loss.append(float(test_loss))
            self.test_error.append(float(test_error))

    def __len__(self) -> int:
        return len(self.epoch)

    @property
    def has_test(self) -> bool:
        return bool(self.test_error)

    # -- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain lists, str and dict, ready for json.dumps (a copy: editing it leaves self alone)."""
        out = {name: list(getattr(self, name)) for name in SERIES}
        out.update(diverged=self.diverged, notes=list(self.notes), config=json.loads(json.dumps(self.config)))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """The inverse of to_dict; checks the keys and that the lists line up."""
        if not isinstance(data, dict):
            raise TypeError(f"History.from_dict: expected a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"History.from_dict: unknown key {unknown[0]!r} "
                             f"(expected keys: {sorted(known)})")
        for name in SERIES:
            if not isinstance(data.get(name, []), list):
                raise TypeError(f"History.from_dict: {name!r} must be a list, "
                                f"got {type(data[name]).__name__}")
        n = len(data.get("epoch", []))
        for name in SERIES:
            length = len(data.get(name, []))
            if length != n and not (name.startswith("test_") and length == 0):
                raise ValueError(f"History.from_dict: {name!r} has {length} entries, expected {n} "
                                 f"(one per epoch{' or none' if name.startswith('test_') else ''})")
        if len(data.get("test_loss", [])) != len(data.get("test_error", [])):
            raise ValueError("History.from_dict: 'test_loss' and 'test_error' must have the same length")
        h = cls(**{name: list(data.get(name, [])) for name in SERIES})
        h.epoch = [int(e) for e in h.epoch]
        h.diverged = data.get("diverged")
        h.notes = [str(s) for s in data.get("notes", [])]
        h.config = dict(data.get("config", {}))
        return h

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON atomically: a temporary file in the same folder, then os.replace."""
        text = json.dumps(self.to_dict(), indent=1)        # NaN is written as NaN, which load() reads
        return atomic_write(path, text.encode("utf-8"), "History.save")

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"History.load: no file {str(path)!r}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"History.load: {str(path)!r} is not a History JSON file ({e})") from None
        return cls.from_dict(data)

    # -- looking at it ------------------------------------------------------------------------
    def summary(self) -> str:
        """One line: epochs, the last loss and errors, and the divergence message if any."""
        if not self.epoch:
            text = "no epochs yet"
        else:
            text = f"{len(self)} epochs, last: loss {_num(self.train_loss[-1])}, " \
                   f"train error {_pct(self.train_error[-1])}"
            if self.test_error:
                text += f", test error {_pct(self.test_error[-1])}"
        return text + (f"; {self.diverged}" if self.diverged else "")

    def __repr__(self) -> str:
        return f"History({self.summary()})"


def _num(x: float) -> str:
    return f"{x:.4g}"


def _pct(x: float) -> str:
    return "nan" if math.isnan(x) else f"{100 * x:.2f}%"
