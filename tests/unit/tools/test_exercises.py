"""The exercise checkers must say exactly what is wrong."""

import torch

import minidl as md
from minidl.tools.exercises import check, check_function, check_module, check_output, diagnose


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
    assert "everything is 2× too large" in diagnose("g", 2 * e, e, 1e-8, 1e-6)
    assert "everything is 4× too small" in diagnose("g", e / 4, e, 1e-8, 1e-6)
    assert "too large" not in diagnose("g", e / 4, e, 1e-8, 1e-6)
    assert "everything is 2× too large and of the wrong sign" in diagnose("g", -2 * e, e, 1e-8, 1e-6)
    assert "everything is 4× too small and of the wrong sign" in diagnose("g", -e / 4, e, 1e-8, 1e-6)
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
    assert capsys.readouterr().out == "✗ not implemented yet: your code here\n"


def test_result_count_mismatch(capsys):
    assert not check(torch.zeros(1), (torch.zeros(1), torch.zeros(1)), names=["a", "b"])
    assert "expected 2 results (a, b), got 1" in capsys.readouterr().out


def test_shape_mismatch_names_the_tensor_expected_and_got():
    e = torch.zeros(4, 3)
    assert diagnose("grad_W", torch.zeros(4, 2), e, 1e-8, 1e-6) == "grad_W: expected shape (4, 3), got (4, 2)"


def test_a_shape_error_raised_by_the_learner_names_the_inputs(capsys):
    def make(gen):
        return torch.randn(1, 3, generator=gen), torch.randn(4, 3, generator=gen)

    assert not check_function(lambda x, W: x @ W, lambda x, W: x @ W.T, make)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Traceback" not in out
    assert out.startswith("✗ your function raised RuntimeError: mat1 and mat2 shapes cannot be multiplied")
    assert "on inputs of shapes (1, 3), (4, 3)" in out


def test_numbers_are_answers_too(capsys):
    assert check(0.5, torch.tensor(0.5, dtype=torch.float64), names=["ratio"])
    assert not check(0.25, 0.5, names=["ratio"])
    assert "ratio: expected 0.500000, got 0.250000 (1 of 1 entries wrong) — everything is 2× too small" \
        in capsys.readouterr().out


def test_check_output_reports_a_stub_in_one_line(capsys):
    def stub(x):
        raise NotImplementedError("write f: the labels, 0 or 1")

    x = torch.tensor([0.5, -1.0])
    assert not check_output(stub, (x,), (x > 0).long(), names=["labels"])
    assert capsys.readouterr().out == "✗ not implemented yet: write f: the labels, 0 or 1\n"
    assert check_output(lambda x: (x > 0).long(), (x,), (x > 0).long(), names=["labels"])
    assert capsys.readouterr().out.startswith("✓ labels: correct")
    assert not check_output(lambda x: x > 1, (x,), (x > 0).long(), names=["labels"])
    assert capsys.readouterr().out.startswith("✗ labels[0]: expected 1.000000, got 0.000000")


class _Accumulates(md.Linear):                 # a correct backward, written out
    def backward(self, grad_output):
        x = self._saved("x")
        self.weight.grad += grad_output.T @ x
        self.bias.grad += grad_output.sum(dim=0)
        return grad_output @ self.weight.data


class _Overwrites(md.Linear):                  # right numbers once, but = instead of +=
    def backward(self, grad_output):
        x = self._saved("x")
        self.weight.grad = grad_output.T @ x
        self.bias.grad = grad_output.sum(dim=0)
        return grad_output @ self.weight.data


class _Averages(_Accumulates):                 # the bias gradient a mean over the batch
    def backward(self, grad_output):
        x = self._saved("x")
        self.weight.grad += grad_output.T @ x
        self.bias.grad += grad_output.mean(dim=0)
        return grad_output @ self.weight.data


class _ChangesItsCache(_Accumulates):          # a second backward sees a different input
    def backward(self, grad_output):
        out = super().backward(grad_output)
        self.x = self.x * 2
        return out


class _Stub(md.Linear):
    def backward(self, grad_output):
        raise NotImplementedError("write _Stub.backward: add dL/dW and dL/db into the .grad, return dL/dx")


SHAPES = [(1, 3), (4, 3), (7, 3)]


def test_check_module_passes_a_correct_backward(capsys):
    assert check_module(_Accumulates, md.Linear, SHAPES, args=(3, 4))
    out = capsys.readouterr().out
    assert out.startswith("✓ _Accumulates.backward: dL/dx, weight.grad, bias.grad correct on batches of 1, 4, 7")


def test_check_module_catches_an_overwriting_backward(capsys):
    assert not check_module(_Overwrites, md.Linear, SHAPES, args=(3, 4))
    out = capsys.readouterr().out
    assert out == ("✗ accumulation: after a second backward (no zero_grad) weight.grad should be twice the first, "
                   "got the same as the first — add into .grad (+=), don't assign it (=)\n")


def test_check_module_names_the_wrong_gradient_on_a_batch_bigger_than_one(capsys):
    assert not check_module(_Averages, md.Linear, SHAPES, args=(3, 4))
    out = capsys.readouterr().out
    assert out.startswith("✗ _Averages.backward, input of shape (4, 3): a gradient differs from Linear's:\n")
    assert "✗ bias.grad[" in out and "everything is 4× too small" in out
    assert "weight.grad[" not in out and "dL/dx" not in out


def test_check_module_catches_a_backward_that_changes_its_cache(capsys):
    assert not check_module(_ChangesItsCache, md.Linear, SHAPES, args=(3, 4))
    assert "should be twice the first, got something else" in capsys.readouterr().out


def test_check_module_reports_a_stub_in_one_line(capsys):
    assert not check_module(_Stub, md.Linear, SHAPES, args=(3, 4))
    assert capsys.readouterr().out == \
        "✗ not implemented yet: write _Stub.backward: add dL/dW and dL/db into the .grad, return dL/dx\n"


def test_check_module_without_parameters_uses_the_same_random_numbers(capsys):
    class Halves(md.Dropout):                  # forgets the 1 / (1 - p) scale
        def backward(self, grad_output):
            return grad_output * (self.mask != 0)

    assert check_module(md.Dropout, md.Dropout, [(1, 6), (5, 6)], args=(0.5,))
    assert capsys.readouterr().out.startswith("✓ Dropout.backward: dL/dx correct on batches of 1, 5")
    assert not check_module(Halves, md.Dropout, [(1, 6), (5, 6)], args=(0.5,))
    out = capsys.readouterr().out
    assert "a gradient differs from Dropout's" in out and "everything is 2× too small" in out


def test_small_values_keep_their_digits(capsys):
    assert not check(2e-16, 3.3e-16, names=["relative difference"], atol=0, rtol=1e-9)
    assert "expected 3.3e-16, got 2e-16" in capsys.readouterr().out


def test_inputs_that_are_not_tensors_are_named_by_type(capsys):
    assert not check_function(lambda h, k: 1.0, lambda h, k: 2.0, lambda gen: ([1], 0.5))
    assert capsys.readouterr().out.startswith("✗ trial 1 of 3, inputs list, float:\n")


def test_a_wrong_shape_names_the_expected_shape_in_letters_and_numbers():
    e = torch.zeros(5, 2)
    assert diagnose("grad_x", e.T, e, 1e-8, 1e-6, symbol="(N, 2)") == \
        "grad_x: expected shape (N, 2) = (5, 2), got (2, 5) (transposed?)"
    assert diagnose("grad_b", torch.zeros(2), torch.zeros(3), 1e-8, 1e-6) == "grad_b: expected shape (3,), got (2,)"
    assert diagnose("w", torch.zeros(3), torch.zeros(3, 1), 1e-8, 1e-6, symbol="(3, 1)") == \
        "w: expected shape (3, 1), got (3,) (right size, wrong shape: a reshape or a missing keepdim?)"
    assert "expected a tensor of shape (N, 2) = (5, 2)" in diagnose("g", None, e, 1e-8, 1e-6, symbol="(N, 2)")


def test_check_function_names_the_batch_dimension_N(capsys):
    def make(gen):                              # batches of 1, 4, 7; 3 features
        return (torch.randn(1 + 3 * gen.initial_seed(), 3, generator=gen), torch.randn(2, 3, generator=gen))

    def reference(x, W):
        return x @ W.T, W.sum(0)

    assert not check_function(lambda x, W: ((x @ W.T).T, W.sum(0)), reference, make, names=["y", "s"])
    out = capsys.readouterr().out
    assert "✗ y: expected shape (N, 2) = (1, 2), got (2, 1) (transposed?)" in out
    assert not check_function(lambda x, W: (x @ W.T, W.sum(1)), reference, make, names=["y", "s"])
    assert "✗ s: expected shape (3,), got (2,)" in capsys.readouterr().out      # no batch dimension: no N


def test_a_constant_batch_size_names_no_N(capsys):
    def make(gen):
        return (torch.randn(2, 2, generator=gen),)

    assert not check_function(lambda x: x.T.sum(0, keepdim=True), lambda x: x.sum(1), make)
    out = capsys.readouterr().out
    assert "expected shape (2,), got (1, 2)" in out and "N" not in out.split("expected shape")[1]


def test_check_module_prints_the_input_gradient_shape_with_N(capsys):
    class ReturnsTransposed(_Accumulates):
        def backward(self, grad_output):
            return super().backward(grad_output).T

    assert not check_module(ReturnsTransposed, md.Linear, [(1, 3), (5, 3)], args=(3, 4))
    out = capsys.readouterr().out
    assert "✗ dL/dx: expected shape (N, 3) = (1, 3), got (3, 1) (transposed?)" in out


def test_ratios_below_one_read_too_small_and_above_one_too_large():
    e = torch.tensor([1.0, -2.0, 4.0])
    for factor, text in [(0.25, "4× too small"), (0.5, "2× too small"), (4.0, "4× too large"), (1.5, "1.5× too large")]:
        message = diagnose("g", factor * e, e, 1e-8, 1e-6)
        assert f"everything is {text}" in message
        assert ("too large" in message) == (factor > 1) and ("too small" in message) == (factor < 1)
        assert "0.25×" not in message and "0.5×" not in message


def test_check_module_names_a_constructor_that_raises_with_its_arguments(capsys):
    class NeedsThree(md.Linear):
        def __init__(self, a, b, c):
            super().__init__(a, b)

    assert not check_module(NeedsThree, md.Linear, SHAPES, args=(3, 4))
    out = capsys.readouterr().out
    assert out.startswith("✗ NeedsThree(3, 4) raised TypeError: ") and "*(" not in out
