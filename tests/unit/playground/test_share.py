"""Sharing a setup: the string restores every control, the seed and the data bit for bit; anything
wrong with a string is refused whole (one ValueError, nothing changed); the URL query of Voilà."""

import base64
import json
import zlib

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minidl.playground import Playground
from minidl.playground.share import MAX_CHARS, PREFIX, encode, from_text, pack_points, parse_query, shared


@pytest.fixture
def app():
    return Playground(canvas="image", query="")


def values(app):
    return {name: w.value for name, w in shared(app.registry).items()}


def state(app):
    """Everything a refused setup must leave as it was."""
    return (values(app), app.run, app.csv, app.edits, tuple(app.dataset.options))


def raw(app):
    return {k: v.clone() for k, v in app.run.data.raw.items()}


def same_data(a, b):
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)


def change_every_control(app):
    """A value other than the default for each data, network and training control."""
    app.dataset.value = "spiral"
    app.points.value, app.noise.value, app.ratio.value = 600, 0.12, 0.35
    app.layers.value = 2
    app.widths[0].value, app.widths[1].value, app.widths[4].value = 9, 17, 33      # a hidden one too
    app.activation.value, app.dropout.value, app.init.value = "Tanh", 0.15, "Xavier normal"
    app.loss.value, app.standardize.value = "cross-entropy", False
    app.optimizer.value = "Nesterov"
    app.lr.value, app.momentum.value, app.batch.value = 0.0316, 0.77, 25
    app.step_kind.value, app.seed.value, app.show_test.value = "readable", 1234, True


def test_the_registry_holds_every_control_and_no_output(app):
    names = set(shared(app.registry))
    assert {"dataset", "points", "noise", "ratio", "layers", "width-1", "width-6", "activation", "dropout", "init",
            "loss", "standardize", "optimizer", "lr", "momentum", "batch", "step-kind", "seed", "show-test"} <= names
    assert not names & {"epoch", "metrics", "message", "notes", "code", "download", "log", "upload", "setup",
                        "boundary", "edit-class", "edited"}


def test_a_setup_round_trip_restores_every_control_and_the_data_bit_for_bit(app):
    change_every_control(app)
    want, data = values(app), raw(app)
    assert want != Playground(canvas="image", query="").registry and len(want) >= 19
    text = app.setup_string()
    other = Playground(canvas="image", query="")
    other.apply_setup(text)
    assert values(other) == want and same_data(raw(other), data)
    assert other.status.value == "setup applied" and other.momentum.min == 0.01    # Nesterov's minimum synced
    assert other.export_code() == app.export_code()


def test_a_setup_from_nesterov_to_sgd_sets_momentum_below_the_nesterov_minimum(app):
    app.optimizer.value = "SGD"
    app.momentum.value = 0.0
    text = app.setup_string()
    other = Playground(canvas="image", query="")
    other.optimizer.value, other.momentum.value = "Nesterov", 0.5
    other.apply_setup(text)
    assert other.optimizer.value == "SGD" and other.momentum.value == 0.0


def test_edited_points_travel_in_the_string(app):
    app.edit(0.11, 0.93)
    app.edit(0.5, 0.5, frozenset({"shift"}))
    data = raw(app)
    text = app.setup_string()
    other = Playground(canvas="image", query="")
    other.apply_setup(text)
    assert same_data(raw(other), data) and other.edits is not None and "edited by hand" in other.edited.value
    other.reset_button.click()                                     # the edits are the app's data now
    assert same_data(raw(other), data)


def test_uploaded_points_travel_in_the_string(app):
    rows = "\n".join(f"{i * 0.37 % 5},{i * 0.61 % 3},{i % 2}" for i in range(60))
    assert app.load_csv_bytes(("x1,x2,label\n" + rows).encode(), "mine.csv")
    data, csv = raw(app), app.csv
    other = Playground(canvas="image", query="")
    other.apply_setup(app.setup_string())
    assert other.dataset.value == "your CSV" and all(torch.equal(a, b) for a, b in zip(other.csv, csv, strict=True))
    assert same_data(raw(other), data)


def test_missing_controls_go_back_to_their_defaults_unknown_ones_are_ignored_and_named(app):
    defaults = values(app)
    change_every_control(app)
    app.apply_setup(encode({"lr": 0.01, "from-the-future": 3}, {}))
    assert values(app) == {**defaults, "lr": 0.01}
    assert "ignored (no such control): from-the-future" in app.status.value


def refused(app, text, match):
    before = state(app)
    with pytest.raises(ValueError, match=match):
        app.apply_setup(text)
    assert state(app) == before


def test_damaged_strings_are_refused_whole(app):
    good = app.setup_string()
    refused(app, "", "starts with 'md1.'")
    refused(app, "hello", "starts with 'md1.'")
    refused(app, good[:-5], "damaged")
    refused(app, good[:20] + "!" + good[21:], "damaged")
    refused(app, PREFIX + "A" * (MAX_CHARS + 1), "more than")
    bomb = PREFIX + base64.urlsafe_b64encode(zlib.compress(b" " * 10**6, 9)).decode()
    refused(app, bomb, "damaged")
    refused(app, 12, "expected a setup string")


def pack(doc):
    return PREFIX + base64.urlsafe_b64encode(zlib.compress(json.dumps(doc).encode())).decode()


def test_wrong_documents_and_values_are_refused_with_nothing_changed(app):
    app.lr.value = 0.05
    refused(app, pack({"v": 2, "controls": {}, "data": {}}), "version 2")
    refused(app, pack({"v": 1, "controls": {}}), "fields v, controls and data")
    refused(app, pack({"v": 1, "controls": {"lr": {"a": 1}}, "data": {}}), "'lr' has a value of type dict")
    refused(app, encode({"dataset": "nope"}, {}), "dataset='nope' is not a value the control takes")
    refused(app, encode({"lr": 1e9}, {}), "lr=1000000000.0 is not a value")                 # the slider clamps
    refused(app, encode({"layers": 2.5}, {}), "layers=2.5")
    refused(app, encode({"standardize": 1}, {}), "standardize=1")
    refused(app, encode({"layers": 1, "dataset": "nope"}, {}), "dataset")                 # one bad: none applied
    pts = pack_points(torch.rand(10, 2), torch.tensor([0, 1] * 5))
    refused(app, encode({}, {"csv": pts}), "dataset 'your CSV' comes with its points")
    refused(app, encode({"dataset": "your CSV"}, {}), "dataset 'your CSV' comes with its points")
    refused(app, encode({}, {"edits": {**pts, "n": 11}}), "expected 88 bytes of x and 11 of y")
    refused(app, encode({}, {"edits": {**pts, "x": "***"}}), "base64")
    refused(app, encode({}, {"other": 1}), "unknown data")
    nan = pack_points(torch.full((4, 2), float("nan")), torch.tensor([0, 1, 0, 1]))
    refused(app, encode({}, {"edits": nan}), "finite")
    assert app.lr.value == 0.05


def test_a_run_that_cannot_be_built_is_refused_and_the_controls_go_back(app, monkeypatch):
    before = state(app)
    monkeypatch.setattr(type(app), "_make_run", lambda self, *a: (_ for _ in ()).throw(RuntimeError("no")))
    with pytest.raises(ValueError, match="the run could not be built: RuntimeError: no"):
        app.apply_setup(encode({"layers": 1, "lr": 0.01}, {}))
    assert state(app) == before


def test_the_apply_button_says_why_in_one_red_line(app):
    app.setup.value = "md1.garbage"
    app.setup_apply.click()
    assert "Setup not applied: setup: the string is damaged" in app.status.value and "C00000" in app.status.value
    app.lr.value = 0.2
    app.share_button.click()
    assert app.setup.value.startswith(PREFIX)
    app.lr.value = 0.01
    app.setup_apply.click()
    assert app.lr.value == 0.2 and app.status.value == "setup applied"


B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=300), st.text(alphabet=B64URL, max_size=300).map(lambda t: PREFIX + t),
                 st.binary(max_size=300).map(lambda b: PREFIX + base64.urlsafe_b64encode(b).decode()),
                 st.binary(max_size=300).map(lambda b: PREFIX + base64.urlsafe_b64encode(zlib.compress(b)).decode())))
def test_fuzz_random_strings_are_refused_with_one_error_type(app, text):
    refused(app, text, None)


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(
    max_size=8)
JSON = st.recursive(SCALARS,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)
NAMES = st.sampled_from(["dataset", "points", "noise", "layers", "lr", "optimizer", "momentum", "batch", "seed",
                         "standardize", "loss", "width-1", "nope"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(NAMES, JSON | st.sampled_from(["spiral", "Adam", "SGD", 0.5, 0.03, 3, 25, True]), max_size=4),
       st.sampled_from([{}, {"csv": 1}, {"edits": {"n": 3}}]))
def test_fuzz_documents_either_apply_whole_or_change_nothing(app, controls, data):
    text = encode(controls, data)
    before = state(app)
    try:
        app.apply_setup(text)
    except ValueError:
        assert state(app) == before
        return
    now = values(app)
    assert all(now[k] == (tuple(v) if isinstance(v, list) else v) for k, v in controls.items() if k in now)


def test_query_parameters_set_single_controls_each_as_its_type(app):
    q = Playground(canvas="image", query="?dataset=spiral&lr=0.03&layers=4&standardize=false&noise=0.123&token=a")
    assert (q.dataset.value, q.layers.value, q.standardize.value, q.noise.value) == ("spiral", 4, False, 0.12)
    assert q.lr.value == pytest.approx(10 ** -1.5, rel=1e-12)      # the slider's nearest step, as in the page
    assert q.run.data.raw["x_train"].shape[0] == 500
    assert q.status.value == "set up from the URL: dataset=spiral, lr=0.03, layers=4, standardize=false, noise=0.123"
    assert parse_query("a=1&b=&a=2&token=t") == {"a": "2", "b": ""}
    assert from_text("7", 1, "seed") == 7 and from_text("True", False, "x") is True
    with pytest.raises(ValueError, match="URL: lr='abc' is not a float"):
        from_text("abc", 0.1, "lr")


@pytest.mark.parametrize("query, says", [("lr=abc", "lr='abc' is not a float"),
                                         ("layers=99", "layers=99 is not a value the control takes"),
                                         ("lr=-1", "lr=-1.0; expected a number > 0"),
                                         ("dataset=nope&lr=0.03", "dataset='nope'"),
                                         ("setup=md1.xyz", "the string is damaged"),
                                         ("setup=md1.xyz&lr=0.1", "setup comes alone")])
def test_a_bad_query_leaves_the_defaults_and_names_it(query, says):
    defaults = values(Playground(canvas="image", query=""))
    q = Playground(canvas="image", query=query)
    assert values(q) == defaults
    assert "The URL's setup was not applied; the app starts with its defaults" in q.status.value and says in \
        q.status.value


def test_voila_query_string_and_a_setup_in_the_url(app, monkeypatch):
    app.edit(0.4, 0.4)
    app.lr.value = 0.0251
    text = app.setup_string()
    monkeypatch.setenv("QUERY_STRING", f"setup={text}&token=minidl")
    q = Playground(canvas="image")
    assert q.lr.value == 0.0251 and same_data(raw(q), raw(app))
    assert Playground(canvas="image").lr.value == 0.1              # the page's app only, not the notebook's others
    monkeypatch.setenv("QUERY_STRING", "seed=3&unknown=1")
    q = Playground(canvas="image")
    assert q.seed.value == 3 and "ignored (no such control): unknown" in q.status.value


def test_a_setup_over_the_cap_is_not_copied_and_says_why(app, monkeypatch):
    import minidl.playground.share as share
    app.edit(0.5, 0.5)                                             # edited points travel: a long string
    monkeypatch.setattr(share, "MAX_CHARS", 1000)
    app.share_button.click()
    assert app.setup.value == "" and "Setup not copied: setup: the string would be" in app.status.value
    assert "more than 1000" in app.status.value
