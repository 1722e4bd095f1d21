"""The exercise checkers must say exactly what is wrong."""

import torch

from minidl.tools.exercises import check, check_function, diagnose


def test_correct_answer(capsys):
    e = torch.arange(6.0).reshape(2, 3)
    assert check(e.clone(), e, names=["dL/dW"])
    assert capsys.readouterr().out.startswith("✓ dL/dW: correct")


def test_wrong_entry_names_tensor_index_and_values(capsys):
    e = torch.zeros(2, 3)
    a = e.clone()
    a[1, 2] = 0.5
    assert not check((torch.zeros(2), a), (torch.zeros(2), e), names=["dL/db", "dL/dW"])
    out = capsys.readouterr().out
    assert out == "✗ dL/dW[1, 2]: expected 0.000000, got 0.500000 (1 of 6 entries wrong)\n"


def test_hints():
    e = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert "(transposed?)" in diagnose("g", e.T, e, 1e-8, 1e-6)
    assert "wrong sign" in diagnose("g", -e, e, 1e-8, 1e-6)
    assert "2× too large" in diagnose("g", 2 * e, e, 1e-8, 1e-6)
    assert "not computed yet" in diagnose("g", None, e, 1e-8, 1e-6)
    assert "expected a torch.Tensor" in diagnose("g", [1], e, 1e-8, 1e-6)
    assert "a sum over the wrong dimension" in diagnose("g", e.sum(0), e, 1e-8, 1e-6)
    assert "g[0, 0]: got nan" in diagnose("g", torch.full_like(e, float("nan")), e, 1e-8, 1e-6)
    assert diagnose("g", e + 1e-12, e, 1e-8, 1e-6) is None


def test_check_function_reports_exceptions_and_wrong_results(capsys):
    def make(gen):
        return (torch.randn(1 + gen.initial_seed() * 3, 4, generator=gen),)

    def reference(x):
        return (x > 0).double() * 1.0

    def buggy(x):
        return (x >= 0).double() * 0.5

    def unfinished(x):
        raise NotImplementedError("your code here")

    assert check_function(lambda x: (x > 0).double(), reference, make)
    assert "✓ correct on 3 random inputs" in capsys.readouterr().out
    assert not check_function(buggy, reference, make)
    assert "✗ trial 1 of 3" in capsys.readouterr().out
    assert not check_function(unfinished, reference, make)
    assert capsys.readouterr().out == "✗ your function raised NotImplementedError: your code here\n"


def test_result_count_mismatch(capsys):
    assert not check(torch.zeros(1), (torch.zeros(1), torch.zeros(1)), names=["a", "b"])
    assert "expected 2 results (a, b), got 1" in capsys.readouterr().out
