"""The playground's asyncio scenarios in tests (tests/unit/playground): a fresh event loop, a fake clock."""

import asyncio
import concurrent.futures


def run(coro):
    """Run a scenario on a fresh event loop in its own thread.

    pytest-playwright's sync API keeps an event loop running in the main thread for the whole
    session, so a plain ``asyncio.run`` here would fail whenever the browser tests ran first.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class FakeClock:
    """A clock that moves ``tick`` seconds each time it is read."""

    def __init__(self, tick=0.001):
        self.t, self.tick = 0.0, tick

    def __call__(self):
        self.t += self.tick
        return self.t
