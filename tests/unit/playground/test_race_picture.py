"""The race's picture: limits in steps, k-class boundaries, the line beside each racer."""

import types

from minidl.playground.race_picture import epoch_limit, info


def test_the_epoch_axis_moves_in_steps():
    assert [epoch_limit(e) for e in (0, 10, 11, 21, 51, 101, 201, 501, 1001)] == \
        [10, 10, 20, 50, 100, 200, 500, 1000, 2000]


def test_the_line_beside_a_racer():
    history = types.SimpleNamespace(test_error=[0.5, 0.0412])
    r = types.SimpleNamespace(message=None, run=types.SimpleNamespace(history=history, epoch=2), ms_per_epoch=3.456)
    assert info(r) == "<b>2</b> epochs · 3.5 ms/epoch · test error 4.1%"
    r.message = "diverged at epoch 3 — lower the learning rate (lr=10), then Play again or Reset"
    assert info(r) == "<span style='color:#C00000'>diverged at epoch 3 — lower the learning rate (lr=10)</span>"
