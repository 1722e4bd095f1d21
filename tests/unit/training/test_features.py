"""minidl.features: TensorFlow Playground's seven input features, their exported code, and every error."""

import itertools
import math
import re

import pytest
import torch

import minidl as md
from minidl.training.features import DEFAULT, FEATURES, check_names, features_code, input_features


def points(dtype=torch.float64, n=50):
    return torch.rand(n, 2, generator=torch.Generator().manual_seed(0), dtype=dtype)


def test_the_seven_features_in_tensorflow_playgrounds_order_with_their_formulas():
    assert list(FEATURES) == ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
    assert [f.formula for f in FEATURES.values()] == ["x₁", "x₂", "x₁²", "x₂²", "x₁x₂", "sin x₁", "sin x₂"]
    assert DEFAULT == ("x1", "x2") and md.features.FEATURES is FEATURES and md.input_features is input_features


def test_each_column_is_its_formula():
    x = points()
    a, b = x[:, 0].tolist(), x[:, 1].tolist()
    expected = {"x1": a, "x2": b, "x1^2": [u * u for u in a], "x2^2": [v * v for v in b],
                "x1*x2": [u * v for u, v in zip(a, b, strict=True)], "sin(x1)": [math.sin(u) for u in a],
                "sin(x2)": [math.sin(v) for v in b]}
    for name, column in expected.items():
        got = input_features(x, [name])
        assert got.shape == (50, 1)
        assert torch.allclose(got[:, 0], torch.tensor(column, dtype=torch.float64), rtol=0, atol=1e-15), name


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_columns_come_in_the_order_given_and_the_dtype_is_kept(dtype):
    x = points(dtype)
    names = ["sin(x2)", "x1", "x1*x2"]
    f = input_features(x, names)
    assert f.shape == (50, 3) and f.dtype == dtype
    for j, name in enumerate(names):
        assert torch.equal(f[:, j], input_features(x, [name])[:, 0])
    assert not torch.equal(f, input_features(x, list(reversed(names))))     # the order matters
    assert torch.equal(input_features(x), x)                                  # the default: x itself


@pytest.mark.parametrize("names", [list(c) for r in (1, 2, 7) for c in itertools.combinations(FEATURES, r)][::3]
                         + [["x2^2", "x1"], list(reversed(FEATURES))])
def test_the_exported_code_builds_exactly_the_same_tensor(names):
    x = torch.rand(64, 2, generator=torch.Generator().manual_seed(1))
    code = features_code(names)
    assert "\n" not in code
    assert torch.equal(eval(code, {"torch": torch, "x": x}), input_features(x, names))
    scope = {"torch": torch, "x_train": x}
    exec(f"f = {features_code(names, 'x_train')}", scope)
    assert torch.equal(scope["f"], input_features(x, names))


def test_a_linear_model_on_the_squares_solves_the_disk_and_on_x_alone_cannot():
    """The docstring's claim: fed (x₁, x₂, x₁², x₂²), a single Linear layer learns the disk; fed (x₁, x₂) it cannot."""
    x, y = md.data.disk(600, generator=0, dtype=torch.float64)
    errors = {}
    for names in (["x1", "x2"], ["x1", "x2", "x1^2", "x2^2"]):
        f = input_features(x, names)
        f, _, _, _ = md.data.standardize(f)
        torch.manual_seed(0)
        model = md.build_mlp((len(names), 2), dtype=torch.float64)
        md.fit(model, md.CrossEntropyLoss(), md.Adam(model.parameters(), lr=0.05), (f, y), epochs=150,
               batch_size=600, progress=False)
        errors[len(names)] = float((md.predict(model, f) != y).double().mean())
    assert errors[4] < 0.03 and errors[2] > 0.25, errors


@pytest.mark.parametrize("names, error, message", [
    ("x1", TypeError, "input_features: names must be a list of feature names like ['x1', 'x2'], got 'x1'"),
    (None, TypeError, "input_features: names must be a list of feature names like ['x1', 'x2'], got None"),
    ([], ValueError, "input_features: names must name at least one feature (x1, x2, x1^2, x2^2, x1*x2, "
                     "sin(x1), sin(x2)), got none"),
    (["x1", "x3"], ValueError, "input_features: unknown feature 'x3'; valid names: x1, x2, x1^2, x2^2, x1*x2, "
                               "sin(x1), sin(x2)"),
    (["x1", "x2", "x1"], ValueError, "input_features: feature 'x1' appears 2 times in ['x1', 'x2', 'x1']"),
])
def test_bad_names_are_refused_in_one_line(names, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        input_features(points(), names)
    with pytest.raises(error, match=f"^{re.escape(message.replace('input_features', 'features_code'))}$"):
        features_code(names)


@pytest.mark.parametrize("x, got", [(torch.zeros(5, 3), "(5, 3) torch.float32"), (torch.zeros(5), "(5,) torch.float32"),
                                    (torch.zeros(5, 2, dtype=torch.long), "(5, 2) torch.int64"), ([[0, 1]], "list")])
def test_bad_x_is_refused(x, got):
    with pytest.raises(ValueError, match=f"^input_features: x must be a floating tensor of shape \\(N, 2\\), "
                                         f"got {re.escape(got)}$"):
        input_features(x, ["x1"])


def test_features_code_refuses_a_name_that_is_not_python():
    with pytest.raises(ValueError, match=r"^features_code: x must be a Python name like 'x_train', got 'x\[0\]'$"):
        features_code(["x1"], "x[0]")
    assert check_names(("x1", "sin(x2)")) == ("x1", "sin(x2)")
