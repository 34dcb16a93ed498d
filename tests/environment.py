"""Values of the test environment that test modules import: the API key the suite runs with, a free port.

They live here, not in tests/conftest.py, because pytest loads a conftest as a plugin of its own name: importing
``tests.conftest`` from a test module runs that file a second time, which makes a second temporary folder and
points ``DATABASE_URL`` and ``RECOBRA_VAR_DIR`` at it for the rest of the session.
"""

from __future__ import annotations

import socket

TEST_API_KEY = "test-api-key-0123456789"


def free_port() -> int:
    """A loopback port nobody listens on at this moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
