"""minidl.lab.sweep: the experiments' command line writes where --out says, and only there."""

import pytest

from minidl.lab import sweep
from minidl.lab.experiments import QUICK_SEEDS
from minidl.lab.report import load_csv


def test_quick_command_line_writes_csv_and_figures_and_plot_only_redraws(tmp_path, capsys):
    assert sweep.main(["--quick", "--only", "table", "momentum", "--out", str(tmp_path), "--workers", "1"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["versus_pytorch_quick.csv", "versus_pytorch_quick_momentum.png", "versus_pytorch_quick_table.png"]
    rows = load_csv(tmp_path / "versus_pytorch_quick.csv")
    assert {r["seed"] for r in rows} == set(QUICK_SEEDS)
    (tmp_path / "versus_pytorch_quick_table.png").unlink()
    capsys.readouterr()
    assert sweep.main(["--quick", "--plot-only", "--only", "table", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "versus_pytorch_quick_table.png").is_file()
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'versus_pytorch_quick_table.png'}"
    with pytest.raises(SystemExit):                       # the package never picks the repository's folder itself
        sweep.main(["--full", "--only", "table"])
    assert "--full needs --out DIR" in capsys.readouterr().err
    (tmp_path / "versus_pytorch.csv").write_text("a full grid\n")
    with pytest.raises(SystemExit):                       # would overwrite a full grid's CSV with a part of it
        sweep.main(["--full", "--only", "table", "--out", str(tmp_path)])
    assert "pass another --out DIR" in capsys.readouterr().err
