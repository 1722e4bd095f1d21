"""The gradient checker itself: its report reads well, it leaves the module alone, it can fail."""

import pytest
import torch

import minidl as md


def test_report_table_lists_every_tensor():
    torch.manual_seed(0)
    report = md.gradcheck(md.Sequential(md.Linear(3, 4), md.Tanh(), md.Linear(4, 2)), torch.randn(5, 3))
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("gradcheck Sequential: PASSED")
    assert [r.name for r in report.rows] == ["input", "0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(name in text for name in ["0.weight", "2.bias", "max abs err", "finite diff"])
    assert report.ok and report.max_abs_error < 1e-7
    assert repr(report) == text


def test_checks_a_float32_module_in_float64_without_changing_it():
    torch.manual_seed(0)
    layer = md.Linear(3, 2)
    before = layer.weight.data.clone()
    report = md.gradcheck(layer, torch.randn(4, 3))
    assert report.ok
    assert layer.weight.data.dtype == torch.float32 and torch.equal(layer.weight.data, before)
    assert (layer.weight.grad == 0).all()


def test_failure_reports_worst_index_and_values():
    class HalfReLU(md.ReLU):
        def derivative(self, x):
            return 0.5 * (x > 0).to(x.dtype)
    x = torch.tensor([[1.0, -1.0, 2.0]])
    report = md.gradcheck(HalfReLU(), x, raise_on_failure=False)
    row = report.rows[0]
    assert not report.ok and not row.passed
    assert row.worst_index in [(0, 0), (0, 2)]
    assert row.analytic != pytest.approx(row.numeric)
    assert "FAILED" in str(report) and "NO" in str(report)


def test_argument_errors():
    with pytest.raises(TypeError, match="gradcheck: expected a minidl Module or Loss, got function"):
        md.gradcheck(lambda x: x, torch.randn(2, 2))
    with pytest.raises(TypeError, match="gradcheck: expected a floating-point input tensor, got torch.int64"):
        md.gradcheck(md.ReLU(), torch.ones(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="gradcheck: MSELoss is a loss; pass target="):
        md.gradcheck(md.MSELoss(), torch.randn(2, 2))
