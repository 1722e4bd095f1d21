"""Shared fixtures. Tests may use torch.autograd and torch.nn as oracles; the framework may not."""

import pathlib
import sys

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))    # tests/ helpers (twin.py)

# The course networks are tiny: a second intra-op thread only spin-waits, and on a loaded
# machine it slows training 10-60x. One thread makes the suite fast and its timing steady.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches Debian's chromium (tests/chromium.py), for tests/browser and tests/class."""
    from chromium import ARGS, require_chromium
    return {**browser_type_launch_args, "executable_path": require_chromium(), "args": ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    from chromium import VIEWPORT
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture
def no_grad():
    """Run the test body with autograd switched off globally, as the framework must work."""
    previous = torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    yield
    torch.set_grad_enabled(previous)


# The slowest files, longest first (in make test at load ~10: 914, 835, 443 and 242 s; test_editions runs every
# student notebook). `make test` hands files to its two workers in this order (--dist loadfile
# --no-loadscope-reorder): the long files start early, and the many short files fill in around them; a long file
# handed out last runs on while the other worker idles.
SLOW_FIRST = ["tests/course/test_grading.py", "tests/course/test_editions.py", "tests/class/test_hub.py",
              "tests/class/test_binder.py"]


def pytest_collection_modifyitems(config, items):
    """Browser tests last (Playwright's sync API holds an event loop in the main thread for the rest of the
    session); before them the slowest files first, then the notebooks (a kernel run each), then the rest."""
    def order(item):
        path = item.nodeid.split("::")[0]
        slow = SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)
        return item.get_closest_marker("browser") is not None, slow, not path.endswith(".ipynb")
    items.sort(key=order)
