"""The losses: target checks, hints and numerical stability (backward passes: test_gradients.py)."""

import pytest
import torch

import minidl as md


def test_class_target_errors():
    pred = torch.randn(4, 3)
    with pytest.raises(TypeError, match=r"CrossEntropyLoss target: expected integer class indices \(torch.long\), "
                                        r"got dtype torch.float32"):
        md.CrossEntropyLoss()(pred, torch.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"NLLLoss target: class indices must be in \[0, 3\), got 3 at index 2"):
        md.NLLLoss()(pred, torch.tensor([0, 1, 3, 1]))
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 3\), got -1 at index 0"):
        md.CrossEntropyLoss()(pred, torch.tensor([-1, 1, 2, 1]))
    with pytest.raises(ValueError, match=r"NLLLoss target: expected shape \(4,\) of class indices, got \(4, 1\)"):
        md.NLLLoss()(pred, torch.zeros(4, 1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"CrossEntropyLoss prediction: expected shape \(N, C\), got \(4,\)"):
        md.CrossEntropyLoss()(torch.randn(4), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError,
                       match=r"probability targets must have the prediction's shape \(4, 3\), got \(4, 2\)"):
        md.CrossEntropyLoss()(pred, torch.rand(4, 2))


def test_mse_target_shape_error_hints_at_one_hot():
    with pytest.raises(ValueError, match=r"MSELoss target: expected shape \(4, 3\) like the prediction, got \(4,\) "
                                         r"\(class labels\? use minidl.data.one_hot\(y, C\)"):
        md.MSELoss()(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))


def test_mse_accepts_integer_one_hot_targets():
    pred = torch.randn(4, 2)
    target = torch.tensor([[1, 0], [0, 1], [1, 0], [0, 1]])
    torch.testing.assert_close(md.MSELoss()(pred, target),
                               torch.nn.functional.mse_loss(pred, target.float()))


def test_cross_entropy_stays_finite_where_the_naive_formula_overflows():
    x = torch.tensor([[1000.0, 0.0], [0.0, -1000.0]], dtype=torch.float64)
    y = torch.tensor([1, 0])
    naive = -torch.log(torch.exp(x) / torch.exp(x).sum(1, keepdim=True))[torch.arange(2), y].mean()
    assert not torch.isfinite(naive)
    ce = md.CrossEntropyLoss()
    value = ce(x, y)
    assert torch.isfinite(value) and torch.isfinite(ce.backward()).all()
    torch.testing.assert_close(value, torch.nn.functional.cross_entropy(x, y))
