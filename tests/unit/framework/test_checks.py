"""The shared argument checks: one line saying where, what was expected and what came."""

import math

import pytest
import torch

from minidl.framework.checks import as_generator, finite_number, int_at_least, positive_int, shape_text


def test_shape_text_prints_shapes_as_error_messages_do():
    assert shape_text(torch.zeros(100, 3)) == "(100, 3)"
    assert shape_text(torch.zeros(5)) == "(5,)"
    assert shape_text(torch.zeros(())) == "()"
    assert shape_text((2, 3, 4)) == "(2, 3, 4)" and shape_text(torch.Size([7])) == "(7,)"


def test_positive_int_and_int_at_least_return_the_value_or_say_what_came():
    assert positive_int(3, "epochs", "fit") == 3 and int_at_least(0, "n", "batch_order", 0) == 0
    for bad in (0, -1, 2.0, True, "3", None):
        with pytest.raises(ValueError, match=rf"fit: epochs must be a positive int, got {bad!r}"):
            positive_int(bad, "epochs", "fit")
    with pytest.raises(ValueError, match="disk: n must be an int >= 2, got 1"):
        int_at_least(1, "n", "disk", 2)


def test_finite_number_checks_kind_finiteness_and_range():
    assert finite_number(0.5, "p", "Dropout", 0, 1) == 0.5 and finite_number(3, "lr", "SGD", low=0) == 3.0
    with pytest.raises(TypeError, match="SGD: lr must be a number, got str"):
        finite_number("0.1", "lr", "SGD")
    with pytest.raises(TypeError, match="SGD: lr must be a number, got bool"):
        finite_number(True, "lr", "SGD")
    with pytest.raises(ValueError, match=r"Dropout: p must be a finite number in \[0, 1\], got 1.5"):
        finite_number(1.5, "p", "Dropout", 0, 1)
    with pytest.raises(ValueError, match="SGD: lr must be a finite number >= 0, got -1"):
        finite_number(-1, "lr", "SGD", low=0)
    with pytest.raises(ValueError, match="x: v must be a finite number, got nan"):
        finite_number(math.nan, "v", "x")


def test_as_generator_takes_seeds_generators_or_none():
    g = torch.Generator().manual_seed(3)
    assert as_generator(g, "w") is g and as_generator(None, "w") is None
    a, b = as_generator(5, "w"), torch.Generator().manual_seed(5)
    assert torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b))
    for bad in (True, 1.5, "0"):
        with pytest.raises(TypeError, match=f"w: generator must be a torch.Generator, an int seed or None, "
                                            f"got {type(bad).__name__}"):
            as_generator(bad, "w")


def test_tensor_like_returns_a_converted_copy_or_refuses_naming_the_place():
    from minidl.framework.checks import tensor_like

    like, value = torch.zeros(2, 3), torch.ones(2, 3, dtype=torch.float64)
    new = tensor_like(value, like, "w")
    assert new.dtype == torch.float32 and torch.equal(new, torch.ones(2, 3))
    same = torch.ones(2, 3)
    assert tensor_like(same, like, "w") is not same                     # a copy: the caller may keep value
    with pytest.raises(ValueError, match=r"^w: expected shape \(2, 3\), got \(3, 2\)$"):
        tensor_like(torch.ones(3, 2), like, "w")
