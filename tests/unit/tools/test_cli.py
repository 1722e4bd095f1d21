"""`python -m minidl` / `minidl`: the course experiment from the command line."""

import re
import subprocess
import sys

import pytest
import torch
from PIL import Image

import minidl.framework.init
from minidl.tools.cli import build_parser, main
from minidl.training.data import disk, standardize
from minidl.training.serialization import load
from minidl.training.train import build_mlp, predict

FINAL = re.compile(r"final  train error +(\d+\.\d\d)%  test error +(\d+\.\d\d)%  \((\d+) epochs?, [\d.]+ s\)")
EPOCH = re.compile(r"epoch +\d+  loss \d+\.\d{4}  train error +\d+\.\d\d%  test error +\d+\.\d\d%")
SMALL = ["--n-train", "200", "--n-test", "200"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_run_logs_every_epoch_and_prints_the_final_errors(capsys):
    code, out, err = run(capsys, "--epochs", "3")
    lines = out.splitlines()
    assert code == 0 and err == ""
    assert lines[0].startswith("minidl: disk 1000 train / 1000 test (standardized), MLP 2-25-25-25-2 relu, "
                               "MSE, SGD lr=0.1 momentum=0.9, 3 epochs of batch 100, float32, seed 0")
    assert [int(line.split()[1]) for line in lines[1:4]] == [1, 2, 3]
    assert all(EPOCH.fullmatch(line) for line in lines[1:4]), lines
    m = FINAL.fullmatch(lines[4])
    assert m and m[3] == "3" and len(lines) == 5
    assert lines[3].split("test error")[1].strip() == m[2] + "%"     # the final line agrees with the log


def test_the_real_entry_point_runs_as_a_module():
    proc = subprocess.run([sys.executable, "-m", "minidl", "--epochs", "2", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert FINAL.fullmatch(proc.stdout.strip()) and proc.stderr == ""


def test_help_shows_every_flag_with_defaults_and_examples(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    flags = ["--dataset", "--n-train", "--n-test", "--noise", "--standardize", "--no-standardize",
             "--activation", "--init", "--init-scale", "--dtype", "--loss", "--optimizer", "--lr",
             "--momentum", "--nesterov", "--epochs", "--batch-size", "--seed", "--readable", "--runs", "--log-every",
             "--quiet", "--progress", "--save", "--plot"]
    for flag in flags:
        assert re.search(rf"(^|[\s,]){flag}([\s,=]|$)", out, re.M), flag
    parser_flags = {s for a in build_parser()._actions for s in a.option_strings} - {"-h", "--help"}
    assert parser_flags == set(flags)
    text = " ".join(out.split())
    for default in ["(default: 75)", "(default: 0.1)", "(default: 0.9)", "(default: 100)", "(default: mse)",
                    "(default: relu)", "(default: sgd)", "(default: disk)", "(default: True)"]:
        assert default in text, default
    assert "(default: None)" not in text and "examples:" in out and out.count("minidl ") >= 2
    assert "relu,leaky_relu,tanh,sigmoid" in text


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
    (["--epochs", "ten"], "argument --epochs: expected a positive integer, got 'ten'"),
    (["--lr", "-1"], "argument --lr: expected a positive number, got '-1'"),
    (["--lr", "nan"], "argument --lr: expected a positive number, got 'nan'"),
    (["--momentum", "1.5"], r"argument --momentum: expected a number in \[0, 1\), got '1.5'"),
    (["--n-train", "1"], "argument --n-train: expected an integer >= 2, got '1'"),
    (["--activation", "gelu"], "argument --activation: invalid choice: 'gelu'"),
    (["--dtype", "float16"], "argument --dtype: invalid choice"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--noise", "2"], "argument --noise: the disk's noise is the fraction of flipped labels"),
    (["--init-scale", "2"], "argument --init-scale: only --init uniform and --init normal have a scale"),
    (["--init", "kaiming_normal", "--init-scale", "2"], "argument --init-scale: only --init uniform"),
    (["--init", "glorot"], "argument --init: invalid choice: 'glorot'"),
    (["--nesterov", "--momentum", "0"], "argument --nesterov: needs --optimizer sgd and --momentum > 0"),
    (["--save", "/nonexistent/folder/m.pt"], "argument --save: folder '/nonexistent/folder' does not exist"),
    (["--plot", "/nonexistent/b.png"], "argument --plot: folder '/nonexistent' does not exist"),
    (["--save", "/tmp"], "argument --save: '/tmp' is a folder; expected a file name"),
    (["--plot", "run.xyz", "--save", "m.pt"], r"argument --plot: matplotlib cannot write '.xyz' files; "
                                              r"expected one of .*png.*svg.* \(or no suffix: png\)"),
    (["--plot", "run.PNGX"], r"argument --plot: matplotlib cannot write '.PNGX' files"),
    (["--save", "out.png", "--plot", "./out.png"], r"argument --plot: the same file as --save \('out.png'\)"),
    (["--optimizer", "adam", "--momentum", "0.5"],
     "argument --momentum: only --optimizer sgd has a momentum, got --optimizer adam"),
    (["--optimizer", "adam", "--momentum", "0"], "argument --momentum: only --optimizer sgd has a momentum"),
    (["--optimizer", "adam", "--nesterov"], "argument --nesterov: needs --optimizer sgd and --momentum > 0"),
    (["--runs", "3", "--log-every", "5"],
     "argument --log-every: the per-epoch log is printed for a single run without --quiet, got --runs 3"),
    (["--quiet", "--log-every", "5"], "argument --log-every: .* got --quiet"),
    (["--seed", str(2**63 - 1), "--runs", "2"], r"argument --seed: seed \+ runs - 1 must be at most 2\*\*63 - 1"),
    (["--lr", "inf"], "argument --lr: expected a positive number, got 'inf'"),
    (["--momentum", "-0.1"], r"argument --momentum: expected a number in \[0, 1\), got '-0.1'"),
    (["--batch-size", "-3"], "argument --batch-size: expected a positive integer, got '-3'"),
    (["--runs", "0"], "argument --runs: expected a positive integer, got '0'"),
    (["--noise", "-1"], "argument --noise: expected a number >= 0, got '-1'"),
    (["--loss", "hinge"], "argument --loss: invalid choice: 'hinge'"),
])
def test_bad_arguments_exit_2_with_a_one_line_message_before_training(capsys, monkeypatch, argv, message):
    import minidl.tools.cli as cli
    monkeypatch.setattr(cli, "train_once", lambda *a, **k: pytest.fail("trained despite a bad argument"))
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert re.fullmatch(r"minidl: error: .+ \(see minidl --help\)\n", err) and re.search(message, err), err


def test_a_runtime_error_prints_one_line_and_exits_2(capsys, tmp_path, monkeypatch):
    import minidl.tools.cli as cli

    def failing_writer(path, *args, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(cli, "write_plot", failing_writer)
    code, out, err = run(capsys, "--epochs", "1", "--quiet", *SMALL, "--plot", str(tmp_path / "a.png"))
    assert code == 2 and FINAL.fullmatch(out.strip())            # trained, then the writer failed
    assert re.fullmatch(r"minidl: error: \[Errno 28\] No space left on device: '.*a.png'\n", err), err


def test_runs_print_one_line_per_run_and_mean_plus_minus_std(capsys):
    code, out, _ = run(capsys, "--runs", "3", "--epochs", "2", *SMALL, "--seed", "4")
    lines = out.splitlines()
    assert code == 0 and lines[0].endswith("seed 4 (+2 more runs)") and len(lines) == 5
    runs = [re.fullmatch(r"run +(\d)/3  seed +(\d+)  train error +([\d.]+)%  test error +([\d.]+)%  "
                         r"\([\d.]+ s\)", line) for line in lines[1:4]]
    assert all(runs) and [int(r[2]) for r in runs] == [4, 5, 6]
    m = re.fullmatch(r"mean ± std over 3 runs:  train error ([\d.]+)% ± ([\d.]+)%  "
                     r"test error ([\d.]+)% ± ([\d.]+)%", lines[4])
    assert m, lines[4]
    tests = torch.tensor([float(r[4]) for r in runs])
    assert float(m[3]) == pytest.approx(float(tests.mean()), abs=0.006)
    assert float(m[4]) == pytest.approx(float(tests.std()), abs=0.006)    # the sample std
    code, out, _ = run(capsys, "--runs", "2", "--epochs", "1", *SMALL, "--quiet")
    assert code == 0 and out.startswith("mean ± std over 2 runs:") and out.count("\n") == 1


def test_same_seed_same_output_other_seed_other_output(capsys):
    def numbers(*extra):
        _, out, _ = run(capsys, "--epochs", "2", *SMALL, *extra)
        return [re.sub(r"\([^)]* s\)", "", line) for line in out.splitlines()[1:]]
    assert numbers() == numbers()
    assert numbers() != numbers("--seed", "1")


def test_save_writes_a_state_minidl_load_reads_and_it_reproduces_the_test_error(capsys, tmp_path):
    path = tmp_path / "model.pt"
    code, out, _ = run(capsys, "--epochs", "5", "--seed", "2", "--save", str(path))
    assert code == 0 and f"saved the model's state to {path}" in out
    model = build_mlp()
    model.load_state_dict(load(path))
    g = torch.Generator().manual_seed(2)
    x, _ = disk(1000, generator=g)
    tx, ty = disk(1000, generator=g)
    _, tx, _, _ = standardize(x, tx)
    test_error = float((predict(model, tx) != ty).double().mean())
    printed = float(FINAL.search(out)[2])
    assert printed == pytest.approx(100 * test_error, abs=0.005)


def test_plot_writes_a_png_with_boundary_and_curves(capsys, tmp_path):
    path = tmp_path / "run.png"
    code, out, _ = run(capsys, "--epochs", "3", *SMALL, "--plot", str(path), "--quiet")
    assert code == 0 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000
    with Image.open(path) as image:
        width, height = image.size
        colours = len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])
    assert width >= 1000 and 300 <= height <= width and colours > 50


def test_other_settings_run(capsys):
    code, out, _ = run(capsys, "--loss", "ce", "--optimizer", "adam", "--lr", "0.01", "--dtype", "float64",
                       "--no-standardize", "--dataset", "xor", "--noise", "0.05", "--n-train", "200",
                       "--n-test", "100", "--epochs", "4", "--log-every", "2", "--batch-size", "32",
                       "--activation", "tanh")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("minidl: xor 200 train / 100 test, MLP 2-25-25-25-2 tanh, "
                                             "cross-entropy, Adam lr=0.01, 4 epochs of batch 32, float64")
    assert [line.split()[1] for line in lines if line.startswith("epoch")] == ["2", "4"]
    assert FINAL.fullmatch(lines[-1])


@pytest.mark.parametrize("scheme", sorted(minidl.init.SCHEMES))
def test_every_init_scheme_runs(capsys, scheme):
    scale = ["--init-scale", "0.5"] if scheme in ("uniform", "normal") else []
    code, out, _ = run(capsys, "--init", scheme, *scale, "--epochs", "1", *SMALL, "--quiet")
    assert code == 0 and FINAL.fullmatch(out.strip())


def test_progress_bar_and_divergence(capsys):
    code, out, err = run(capsys, "--epochs", "2", *SMALL, "--progress", "--quiet")
    assert code == 0 and "2/2" in err and "100%" in err
    code, out, err = run(capsys, "--epochs", "3", *SMALL, "--lr", "1e6", "--quiet")
    assert code == 1 and FINAL.fullmatch(out.strip())
    assert re.fullmatch(r"minidl: run 1 \(seed 0\): diverged at epoch \d+ .*Learning rate too high\? "
                        r"\(lr=1e\+06\).*\n", err)


def test_readable_trains_the_readable_step_to_the_same_run(capsys, monkeypatch):
    import minidl.tools.cli as cli
    steps = []
    real_fit = cli.fit

    def recording_fit(*args, **kwargs):
        history = real_fit(*args, **kwargs)
        steps.append(history.config["step"])
        return history

    monkeypatch.setattr(cli, "fit", recording_fit)
    code, fast_out, _ = run(capsys, "--epochs", "3", "--dtype", "float64", *SMALL)
    code2, readable_out, _ = run(capsys, "--epochs", "3", "--dtype", "float64", "--readable", *SMALL)
    assert code == code2 == 0 and steps == ["compiled", "readable"], steps
    strip = lambda out: [line for line in out.splitlines()[1:] if not line.startswith("final")]
    assert strip(readable_out) == strip(fast_out) and len(strip(fast_out)) == 3   # the same epochs, printed


def test_the_suffixes_matplotlib_writes_are_accepted_and_no_suffix_is_png(capsys, tmp_path):
    for name in ["run.svg", "run.PDF", "run"]:
        code, out, err = run(capsys, "--epochs", "1", *SMALL, "--quiet", "--plot", str(tmp_path / name))
        assert code == 0 and err == "", err
    assert (tmp_path / "run").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "run.PDF").read_bytes()[:4] == b"%PDF"


def test_an_explicit_momentum_with_sgd_and_the_defaults_are_unchanged(capsys):
    code, out, _ = run(capsys, "--epochs", "1", *SMALL, "--momentum", "0.5", "--log-every", "1")
    assert code == 0 and "SGD lr=0.1 momentum=0.5," in out
    code, out, _ = run(capsys, "--epochs", "1", *SMALL, "--optimizer", "adam")
    assert code == 0 and "Adam lr=0.1," in out


# -- every way a terminal user ends or pipes it ------------------------------------------------------
def test_ctrl_c_during_training_prints_one_line_and_exits_130(capsys, monkeypatch, tmp_path):
    import minidl.tools.cli as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "fit", interrupted)
    threads = torch.get_num_threads()
    code, out, err = run(capsys, "--epochs", "1", *SMALL, "--save", str(tmp_path / "m.pt"))
    assert code == 130 and err == "minidl: interrupted\n"
    assert list(tmp_path.iterdir()) == [] and torch.get_num_threads() == threads


def _minidl(*argv):
    return [sys.executable, "-m", "minidl", *argv]


def test_ctrl_c_in_a_real_process_gives_one_line_and_130_no_traceback():
    import signal
    proc = subprocess.Popen(_minidl("--epochs", "10000000", "--n-train", "50", "--n-test", "50"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("minidl: disk")
        assert EPOCH.fullmatch(proc.stdout.readline().strip())      # training has started
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130 and err == "minidl: interrupted\n", err


def test_a_closed_pipe_is_silent_and_the_run_still_saves(tmp_path):
    path = tmp_path / "m.pt"
    command = " ".join(_minidl("--epochs", "400", "--n-train", "50", "--n-test", "50", "--save", str(path)))
    proc = subprocess.run(f"{command} | head -n 2", shell=True, capture_output=True, text=True, timeout=300,
                          executable="/bin/bash")
    assert proc.stdout.count("\n") == 2 and proc.stdout.startswith("minidl: disk")
    assert proc.stderr == "", proc.stderr                            # no BrokenPipeError, now or at exit
    assert path.stat().st_size > 0                                   # the run went on after the reader left


def test_the_pipe_check_can_fail_a_plain_print_to_a_closed_pipe_does_raise():
    """The negative control: without minidl's handling the same pipe gives a BrokenPipeError."""
    code = "import sys\nfor i in range(100000): print('line', i, flush=True)"
    proc = subprocess.run(f"{sys.executable} -c \"{code}\" | head -n 2", shell=True, capture_output=True,
                          text=True, timeout=120, executable="/bin/bash")
    assert "BrokenPipeError" in proc.stderr
