"""panels.py: work in pieces, done at once (run_now) or one piece per turn of the event loop (in_turns)."""

import asyncio

import pytest
from playground_async import FakeClock, run

from minidl.playground.panels import in_turns, run_now
from minidl.playground.settings import Settings


def pieces(log, n=3):
    for i in range(n):
        log.append(f"piece {i}")
        yield


def test_run_now_does_every_piece_and_says_how_long():
    log, clock = [], FakeClock(tick=0.5)
    assert run_now(pieces(log), clock) == pytest.approx(0.5)          # two reads of the clock, 0.5 s apart
    assert log == ["piece 0", "piece 1", "piece 2"]


def test_in_turns_lets_the_loop_run_between_pieces_inside_the_settings():
    log, settings = [], Settings()

    def watched():
        for i in range(3):
            log.append(("piece", i, settings.depth))
            yield

    async def other():
        for _ in range(6):
            log.append(("other", None, settings.depth))
            await asyncio.sleep(0)

    async def scenario():
        clock = FakeClock(tick=0.01)
        task = asyncio.ensure_future(other())
        busy = await in_turns(watched(), settings, clock)
        await task
        return busy
    busy = run(scenario())
    order = [kind for kind, _, _ in log]
    first, last = order.index("piece"), len(order) - 1 - order[::-1].index("piece")
    assert "other" in order[first:last]                                # the loop ran other work between pieces
    assert all(depth == 1 for kind, _, depth in log if kind == "piece")   # each piece inside the settings
    assert all(depth == 0 for kind, _, depth in log if kind == "other")   # ... and only the pieces
    assert busy == pytest.approx(4 * 0.01)                             # 4 pieces' clock pairs (the last: done)


def test_a_piece_that_raises_stops_the_rest_and_leaves_the_settings():
    settings = Settings()

    def broken():
        yield
        raise ValueError("piece 2 failed")

    async def scenario():
        await in_turns(broken(), settings)
    with pytest.raises(ValueError, match="piece 2 failed"):
        run(scenario())
    assert settings.depth == 0
