"""Export: the Python that reproduces a playground run, its trained weights and its data.   Notebook 10

``code(spec, run, batch_size)`` replays the run to its last epoch: the same data (k classes, the
input features of the standardised points), initial weights and batch order. A minidl run is
built by ``minidl.training.models.recipe_code`` (the one builder from names: L1, L2 and the
schedule too) and trained by ``md.fit``; a learner's run by their own classes and the readable
loop written out. ``weights(run)`` is a state_dict (minidl) or the param() values by layer (a learner's),
as torch.save bytes; ``download_link`` wraps them in a data-URL link. ``data_csv(run)`` is the run's
points (generated, uploaded or edited by hand) as CSV, x1,x2,label,split, every number written in
full so md.data.load_csv reads back the very same float32 values; ``csv_link`` is its data-URL link.
"""

from __future__ import annotations

import base64
import io
from dataclasses import replace

import torch

from ..framework.optim import SGD
from ..training.features import DEFAULT, features_code
from ..training.models import recipe_code
from .learner import ACTIVATIONS, LOSSES, LearnerRun
from .run import DataSpec, MinidlRun, Run, takes_classes


def data_code(spec: DataSpec) -> str:
    if spec.name == "your CSV":
        load = ("x, y = md.data.load_csv('your.csv')\n"
                "lo, hi = x.min(dim=0).values, x.max(dim=0).values\n"
                "x = (x - lo) / (hi - lo).clamp(min=1e-12)          # rescaled to [0, 1]² as in the app\n")
    else:
        k = f", classes={spec.classes}" if takes_classes(spec.name) else ""
        load = (f"x, y = md.data.make_dataset({spec.name!r}, {spec.points}, noise={spec.noise}, "
                f"generator={spec.seed}{k})\n")
    std = "x_train, x_test, mean, std = md.data.standardize(x_train, x_test)\n" if spec.standardize else ""
    features = ""
    if tuple(spec.features) != DEFAULT:
        features = (f"x_train = {features_code(spec.features, 'x_train')}      # the input features\n"
                    f"x_test = {features_code(spec.features, 'x_test')}\n")
    return (f"{load}x_train, y_train, x_test, y_test = md.data.train_test_split(x, y, {spec.test_fraction}, "
            f"generator={spec.seed})\n{std}{features}")


def _lr_note(run: Run) -> str:
    if isinstance(run, MinidlRun) and run.scheduler is not None:    # the lr moves by itself: ask what a control did
        changed = sorted(run.changed_live)
        return f"# note: {', '.join(changed)} changed while training; this replays the last values\n" \
            if changed else ""
    if isinstance(run, MinidlRun) and run.changed_live - {"lr"}:
        changed = sorted(run.changed_live)
        return f"# note: {', '.join(changed)} changed while training; this replays the last values\n"
    lrs = sorted(set(run.history.lr))
    return f"# note: the learning rate was changed while training ({lrs}); this replays the last one\n" \
        if len(lrs) > 1 else ""


def code(spec: DataSpec, run: Run, batch_size: int) -> str:
    """Python that reproduces ``run`` to its last epoch."""
    head = "import torch\nimport minidl as md\n"
    if isinstance(run, LearnerRun):
        head += f"import {run.fw.name} as F      # your classes\n"
    head += f"\ntorch.set_num_threads(1)\n{data_code(spec)}"
    epochs = max(run.epoch, 1)
    if isinstance(run, LearnerRun):
        return _learner_code(head, run, epochs, batch_size, spec.seed)
    if not isinstance(run, MinidlRun):
        raise TypeError(f"export.code: expected a MinidlRun or a LearnerRun, got {type(run).__name__}")
    recipe, optim = run.recipe, run.optim          # the values in force: the sliders apply live
    g = optim.param_groups[0]
    recipe = replace(recipe, lr=run.base_lr, weight_decay=g["weight_decay"], l1=g["l1"])
    if isinstance(optim, SGD):
        recipe = replace(recipe, momentum=g["momentum"], nesterov=g["nesterov"])
    scheduler = "" if run.scheduler is None else ", scheduler=scheduler"
    return (f"{head}{recipe_code(recipe)}{_lr_note(run)}"
            f"history = md.fit(model, criterion, optimizer, (x_train, y_train), (x_test, y_test),\n"
            f"                 epochs={epochs}, batch_size={batch_size}, "
            f"generator=torch.Generator().manual_seed({spec.seed}){scheduler})\n"
            "print(history)\n")


def _learner_code(head: str, run: LearnerRun, epochs: int, batch_size: int, seed: int) -> str:
    sizes = run.sizes
    act = ACTIVATIONS[run.activation]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(f"F.Linear({a}, {b})")
        if i < len(sizes) - 2:
            layers.append(f"F.{act}()")
    mse = run.loss == "MSE"
    return (f"{head}torch.manual_seed({seed})\n"
            f"model = F.Sequential({', '.join(layers)})\n"
            f"criterion = F.{LOSSES[run.loss]}()\n"
            f"optimizer = F.SGD(model.param(), {run.lr!r}, momentum={getattr(run.optim, 'momentum', 0.0)!r})\n"
            f"{_lr_note(run)}"
            + (f"targets = md.data.one_hot(y_train, {sizes[-1]})          # MSE on one-hot targets\n" if mse else
               "targets = y_train\n")
            + f"generator = torch.Generator().manual_seed({seed})\n"
            f"for epoch in range({epochs}):\n"
            f"    for idx in md.data.batch_order(len(x_train), {batch_size}, True, generator):\n"
            "        loss = criterion.forward(model.forward(x_train[idx]), targets[idx])\n"
            "        optimizer.zero_grad()\n"
            "        model.backward(criterion.backward())\n"
            "        optimizer.step()\n"
            "test_error = float((model.forward(x_test).argmax(dim=1) != y_test).float().mean())\n"
            "print(f'epoch {epoch + 1}: last batch loss {float(loss):.4f}, test error {100 * test_error:.1f}%')\n")


def weights(run: Run) -> bytes:
    """torch.save bytes: the state_dict (minidl), or {"<layer>.<pair>": value} from param() (a learner's)."""
    if isinstance(run, MinidlRun):
        state = run.model.state_dict()
    else:
        state = {f"{i}.{j}": pair[0].clone() for i, m in enumerate(run.layers) for j, pair in enumerate(m.param())}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def download_link(run: Run) -> str:
    b64 = base64.b64encode(weights(run)).decode()
    what = "state_dict" if isinstance(run, MinidlRun) else "param() values by layer"
    return (f"<a download='minidl_playground_epoch{run.epoch}.pt' "
            f"href='data:application/octet-stream;base64,{b64}'>⬇ download the trained "
            f"weights ({what}, epoch {run.epoch}; load with minidl.load)</a>")


def data_csv(run: Run) -> str:
    """The raw points of ``run``: a header x1,x2,label,split, then a row per training and test point."""
    rows = ["x1,x2,label,split"]
    for split in ("train", "test"):
        x, y = run.points[split]
        rows += [f"{a!r},{b!r},{c},{split}" for (a, b), c in zip(x.tolist(), y.tolist(), strict=True)]
    return "\n".join(rows) + "\n"


def csv_link(run: Run) -> str:
    b64 = base64.b64encode(data_csv(run).encode()).decode()
    n = sum(len(y) for _, y in run.points.values())
    return (f"<a download='minidl_playground_data.csv' href='data:text/csv;base64,{b64}'>⬇ download the data "
            f"({n} points, x1,x2,label,split; read with md.data.load_csv or the upload)</a>")
