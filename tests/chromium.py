"""Debian's chromium for every browser test (tests/browser, tests/class): where it is, how it starts.

Playwright cannot download its own browser here; `make browser` installs Debian's. The flags keep a headless
Chromium quiet on a closed network (no background connections, no component updates, no sync).
"""

import os
import pathlib

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}


def require_chromium() -> str:
    """The browser's path, or the test fails saying how to install it."""
    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make browser` (installs Debian's chromium)")
    return CHROMIUM
