"""Browser tests drive Debian's chromium through playwright (Playwright's own browser download is not
reachable here). Every test in this folder is marked ``browser`` and skipped, with the reason, only where
/usr/bin/chromium is missing (`make test` installs it)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    missing = not Path(CHROMIUM).exists()
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(
                    pytest.mark.skip(
                        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
                    )
                )
