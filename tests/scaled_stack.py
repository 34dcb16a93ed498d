"""The marks of a test that starts `make run-scaled`'s processes: the trained model and Debian's engines."""

from __future__ import annotations

import pytest

from bot.platform.scaled import haproxy_binary, postgres_bin_dir
from tests.rasa_model import trained_model

# ``rasa`` (the trained model) and ``slow`` (two Rasa servers load it: a minute or two on 2 cores)
SCALED_STACK_MARKS = [
    pytest.mark.rasa,
    pytest.mark.slow,
    pytest.mark.skipif(trained_model() is None, reason="no trained Rasa model in models/ (make model)"),
    pytest.mark.skipif(
        haproxy_binary() is None or postgres_bin_dir() is None,
        reason="haproxy or postgresql is not installed (scripts/scaled_deps.sh)",
    ),
]
