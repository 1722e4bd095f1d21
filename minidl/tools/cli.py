"""`python -m minidl` / `minidl`: the EE-559 mini-project 2 experiment, without Jupyter.

Disk data (1000 train / 1000 test points), the 2-25-25-25-2 MLP, MSE (or cross-entropy),
SGD; logs the loss per epoch and prints the final train and test error rates.
Exit status: 0 done, 1 a run diverged, 2 bad arguments or a file could not be written.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..framework import init as md_init
from ..framework.activations import ACTIVATIONS
from ..framework.module import Module
from ..training.data import DATASETS, make_dataset, one_hot, standardize
from ..training.history import History
from ..training.models import Recipe, build
from ..training.serialization import save
from ..training.train import evaluate, fit

EPILOG = """examples:
  minidl                                  the course setup: MSE, SGD lr 0.1 momentum 0.9, 75 epochs
  minidl --loss ce --activation tanh --runs 10 --quiet
  python -m minidl --optimizer adam --lr 0.01 --epochs 50 --plot disk.png --save disk.pt
"""


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown, except "None" (the help text says what no value means)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None:
            return action.help or ""
        return super()._get_help_string(action)


def _number(kind: Callable[[str], Any], test: Callable[[Any], bool], what: str) -> Callable[[str], Any]:
    """An argparse type: kind(text), checked by test; argparse turns the error into a usage message."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    parse.__name__ = what
    return parse


positive_int = _number(int, lambda v: v >= 1, "a positive integer")
at_least_two = _number(int, lambda v: v >= 2, "an integer >= 2")
non_negative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _number(float, lambda v: 0 < v < float("inf"), "a positive number")
non_negative_float = _number(float, lambda v: 0 <= v < float("inf"), "a number >= 0")
momentum_value = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (argparse prints the whole usage, several lines, first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="minidl", formatter_class=_Formatter, epilog=EPILOG,
        description="Train the EE-559 course network (a 2-25-25-25-2 MLP) on the disk problem with\n"
                    "minidl; print the loss per epoch and the final train and test error rates.\n"
                    "Exit status: 0 done, 1 a run diverged, 2 bad arguments or an unwritable file.")
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=list(DATASETS), default="disk", help="2-D data set")
    data.add_argument("--n-train", type=at_least_two, default=1000, metavar="N", help="training points")
    data.add_argument("--n-test", type=at_least_two, default=1000, metavar="N", help="test points")
    data.add_argument("--noise", type=non_negative_float, default=0.0,
                      help="disk: fraction of labels flipped (<= 1); others: std of the input jitter")
    data.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=True,
                      help="scale inputs to zero mean and unit std (statistics of the training set)")
    model = p.add_argument_group("model")
    model.add_argument("--activation", choices=list(ACTIVATIONS), default="relu",
                       help="hidden-layer activation")
    model.add_argument("--init", choices=list(md_init.SCHEMES), default=None,
                       help="weight initialisation scheme (default: torch.nn.Linear's U(±1/√fan_in))")
    model.add_argument("--init-scale", type=positive_float, default=None, metavar="S",
                       help="the bound of --init uniform, U[-S, S], or the std of --init normal, N(0, S²) "
                            "(default: 1.0; the other schemes have no scale)")
    model.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                       help="floating type of the data and the weights")
    train = p.add_argument_group("training")
    train.add_argument("--loss", choices=["mse", "ce"], default="mse",
                       help="mse: MSE on one-hot targets; ce: cross-entropy on class labels")
    train.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd",
                       help="sgd: SGD with --momentum / --nesterov; adam: Adam, betas (0.9, 0.999)")
    train.add_argument("--lr", type=positive_float, default=0.1, help="learning rate")
    train.add_argument("--momentum", type=momentum_value, default=None,
                       help="SGD momentum (0: plain SGD) (default: 0.9)")
    train.add_argument("--nesterov", action="store_true", help="Nesterov momentum (SGD, momentum > 0)")
    train.add_argument("--epochs", type=positive_int, default=75, help="passes over the training set")
    train.add_argument("--batch-size", type=positive_int, default=100, metavar="B",
                       help="mini-batch size (the last batch of an epoch may be smaller)")
    train.add_argument("--seed", type=non_negative_int, default=0,
                       help="seed of the data, the initial weights and the batch order (run i uses seed + i)")
    train.add_argument("--readable", action="store_true",
                       help="train with the readable step (the modules the notebooks derive) instead of "
                            "the compiled one; same results, slower")
    train.add_argument("--runs", type=positive_int, default=1, metavar="N",
                       help="repeat with N seeds; print one line per run and the mean ± std")
    out = p.add_argument_group("output")
    out.add_argument("--log-every", type=positive_int, default=None, metavar="K",
                     help="log the loss and error rates every K epochs (single run only) (default: 1)")
    out.add_argument("--quiet", action="store_true", help="print only the final result")
    out.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    out.add_argument("--save", type=Path, default=None, metavar="PATH",
                     help="save the trained model's state (minidl.save; the last run's if --runs > 1)")
    out.add_argument("--plot", type=Path, default=None, metavar="PATH",
                     help="write a picture: decision boundary and loss / error curves (the last run); the "
                          "suffix picks the format (png, pdf, svg, ...; none: png)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse argv (sys.argv[1:] if None), run, return the exit status.

    Every way a terminal user ends or pipes it gives one line, never a traceback: Ctrl-C prints
    "minidl: interrupted" and returns 130 (128 + SIGINT, as shells do); a closed pipe (``| head``)
    silences the rest of the output and the run goes on (so --save and --plot are still written).
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        _say("minidl: interrupted", sys.stderr)
        return 128 + signal.SIGINT


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check(parser, args)
    except SystemExit as e:                       # --help (0) or a usage error (2)
        return int(e.code or 0)
    # The tensors are tiny (25 x 100): a second intra-op thread gains nothing here, and on a busy
    # machine its spin-waits can make a run 10-50x slower. Restored afterwards (main is importable).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(args)
    except (OSError, ValueError, RuntimeError, MemoryError) as e:
        _say(f"minidl: error: {str(e) or type(e).__name__}".replace("\n", " "), sys.stderr)
        return 2
    finally:
        torch.set_num_threads(threads)


def _say(line: str, stream: Any = None) -> None:
    """print(line) flushed at once; a reader that went away (``| head``) silences the stream for good
    instead of raising BrokenPipeError (now, or at exit when Python flushes it)."""
    stream = sys.stdout if stream is None else stream
    try:
        print(line, file=stream, flush=True)
    except BrokenPipeError:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError, AttributeError):   # not a real file (a test's capture): nothing to close
            pass


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Combinations argparse cannot check one flag at a time; paths checked before training."""
    if args.dataset == "disk" and args.noise > 1:
        parser.error(f"argument --noise: the disk's noise is the fraction of flipped labels, "
                     f"expected a number <= 1, got {args.noise:g}")
    if args.init_scale is not None and args.init not in ("uniform", "normal"):
        parser.error(f"argument --init-scale: only --init uniform and --init normal have a scale, "
                     f"got --init {args.init or '(none)'}")
    if args.momentum is not None and args.optimizer != "sgd":
        parser.error(f"argument --momentum: only --optimizer sgd has a momentum, got --optimizer {args.optimizer}")
    if args.momentum is None:
        args.momentum = 0.9
    if args.nesterov and (args.optimizer != "sgd" or args.momentum == 0):
        parser.error("argument --nesterov: needs --optimizer sgd and --momentum > 0")
    if args.log_every is not None and (args.runs > 1 or args.quiet):
        parser.error(f"argument --log-every: the per-epoch log is printed for a single run without --quiet, "
                     f"got {'--runs ' + str(args.runs) if args.runs > 1 else '--quiet'}")
    if args.log_every is None:
        args.log_every = 1
    if args.seed + args.runs - 1 > 2**63 - 1:
        parser.error(f"argument --seed: seed + runs - 1 must be at most 2**63 - 1, got {args.seed + args.runs - 1}")
    if args.plot is not None:
        from matplotlib.backend_bases import FigureCanvasBase
        formats = FigureCanvasBase.get_supported_filetypes()
        suffix = args.plot.suffix[1:].lower()
        if suffix and suffix not in formats:
            parser.error(f"argument --plot: matplotlib cannot write {args.plot.suffix!r} files; "
                         f"expected one of {', '.join(sorted(formats))} (or no suffix: png)")
    if args.save is not None and args.plot is not None and args.save.resolve() == args.plot.resolve():
        parser.error(f"argument --plot: the same file as --save ({str(args.save)!r}); one would overwrite the other")
    for flag, path in (("--save", args.save), ("--plot", args.plot)):
        if path is not None and path.is_dir():
            parser.error(f"argument {flag}: {str(path)!r} is a folder; expected a file name")
        if path is not None and not (path.parent.is_dir() and os.access(path.parent, os.W_OK)):
            parser.error(f"argument {flag}: folder {str(path.parent)!r} does not exist or is not writable")


def _run(args: argparse.Namespace) -> int:
    say = (lambda line: None) if args.quiet else _say
    say(_describe(args))
    results, diverged = [], False
    for i in range(args.runs):
        seed = args.seed + i
        start = time.perf_counter()
        run = train_once(args, seed, log=say if args.runs == 1 else None)
        seconds = time.perf_counter() - start
        history, train_error, test_error = run["history"], run["train_error"], run["test_error"]
        results.append((train_error, test_error))
        if history.diverged:
            diverged = True
            if args.quiet or args.runs > 1:           # otherwise the training log already said it
                _say(f"minidl: run {i + 1} (seed {seed}): {history.diverged}", sys.stderr)
        if args.runs == 1:
            _say(f"final  train error {100 * train_error:5.2f}%  test error {100 * test_error:5.2f}%  "
                  f"({_plural(len(history), 'epoch')}, {seconds:.1f} s)")  # the recorded, finite epochs
        else:
            say(f"run {i + 1:2d}/{args.runs}  seed {seed:3d}  train error {100 * train_error:5.2f}%  "
                f"test error {100 * test_error:5.2f}%  ({seconds:.1f} s)")
    if args.runs > 1:
        (m_tr, s_tr), (m_te, s_te) = (_mean_std([r[k] for r in results]) for k in (0, 1))
        _say(f"mean ± std over {args.runs} runs:  train error {m_tr:.2f}% ± {s_tr:.2f}%  "
              f"test error {m_te:.2f}% ± {s_te:.2f}%")
    if args.save is not None:
        save(run["model"], args.save)
        say(f"saved the model's state to {args.save}")
    if args.plot is not None:
        title = _describe(args).removeprefix("minidl: ").split(" (+")[0].replace(f", seed {args.seed}",
                                                                                   f", seed {seed}")
        write_plot(args.plot, run["model"], history, *run["plot_data"], title=title)
        say(f"wrote {args.plot}")
    return 1 if diverged else 0


def train_once(args: argparse.Namespace, seed: int,
               log: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """One run of the experiment the arguments describe.

    Returns a dict: model, history, train_error and test_error of the final model (the restored
    one if the run diverged), and plot_data, the arguments write_plot needs after the model.
    """
    dtype = getattr(torch, args.dtype)
    g = torch.Generator().manual_seed(seed)
    x, y = make_dataset(args.dataset, args.n_train, noise=args.noise, generator=g, dtype=dtype)
    tx, ty = make_dataset(args.dataset, args.n_test, noise=args.noise, generator=g, dtype=dtype)
    raw = (x, y, tx, ty)
    transform = None
    if args.standardize:
        x, tx, mean, std = standardize(x, tx)
        transform = lambda points: (points - mean) / std          # raw [0, 1]² -> model inputs
    classes = int(max(y.max(), ty.max())) + 1
    init = args.init or "default"
    scale = 1.0 if init in ("uniform", "normal") and args.init_scale is None else args.init_scale
    model, criterion, optimizer = build(Recipe(
        (2, 25, 25, 25, classes), args.activation, init=init, init_scale=scale, loss=args.loss,
        optimizer=args.optimizer, lr=args.lr, momentum=args.momentum, nesterov=args.nesterov,
        dtype=dtype, seed=seed))
    if args.loss == "mse":                        # the course: MSE against one-hot targets
        y_fit, ty_fit = one_hot(y, classes, dtype=dtype), one_hot(ty, classes, dtype=dtype)
    else:
        y_fit, ty_fit = y, ty
    history = History(config={"cli": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                              "seed": seed})
    fit(model, criterion, optimizer, (x, y_fit), (tx, ty_fit), epochs=args.epochs,
        batch_size=args.batch_size, generator=seed, progress=args.progress or False, log=log,
        log_every=args.log_every, history=history, fast=not args.readable)
    return {"model": model, "history": history,
            "train_error": evaluate(model, criterion, x, y_fit)[1],
            "test_error": evaluate(model, criterion, tx, ty_fit)[1],
            "plot_data": (*raw, transform, args.loss)}


def write_plot(path: Path, model: Module, history: History, x: torch.Tensor, y: torch.Tensor,
               tx: torch.Tensor, ty: torch.Tensor, transform: Any, loss: str, title: str | None = None) -> None:
    """A picture (PNG, or the format the suffix names): the decision boundary over the raw inputs and the
    loss / error curves.

    A bare matplotlib Figure (Agg canvas), never pyplot: no window, no backend switch, nothing
    global to clean up when main() runs inside another program.
    """
    from matplotlib.figure import Figure

    from . import viz
    output = "scores" if loss == "mse" else "softmax"
    fig = Figure(figsize=(16, 5), layout="constrained")
    ax_b, ax_l, ax_e = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.15, 1, 1]})
    viz.plot_decision_boundary(model, x, y, tx, ty, output=output, transform=transform, ax=ax_b)
    viz.plot_history(history, axes=(ax_l, ax_e))
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.savefig(path, dpi=100, format=Path(path).suffix[1:].lower() or "png")   # no suffix: png, at that very name


def _describe(args: argparse.Namespace) -> str:
    opt = f"SGD lr={args.lr:g}" + (f" momentum={args.momentum:g}" if args.momentum else "") + \
        (" nesterov" if args.nesterov else "") if args.optimizer == "sgd" else f"Adam lr={args.lr:g}"
    loss = "MSE" if args.loss == "mse" else "cross-entropy"
    return (f"minidl: {args.dataset} {args.n_train} train / {args.n_test} test"
            f"{' (standardized)' if args.standardize else ''}, MLP 2-25-25-25-2 {args.activation}"
            f"{f' init {args.init}' if args.init else ''}, {loss}, "
            f"{opt}, {args.epochs} epochs of batch {args.batch_size}, {args.dtype}, seed {args.seed}"
            f"{f' (+{args.runs - 1} more runs)' if args.runs > 1 else ''}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation, in percent."""
    pct = [100 * v for v in values]
    return statistics.mean(pct), statistics.stdev(pct) if len(pct) > 1 else 0.0
