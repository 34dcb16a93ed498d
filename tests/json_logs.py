"""The root logger's lines as JSON into a buffer, as `RECOBRA_LOG_FORMAT=json` gives a process; restored after."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot.platform import logs


@contextmanager
def json_lines(process: str) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    logs.configure(process, stream=stream, json=True)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "_recobra_handler", False):
                root.removeHandler(handler)
        root.setLevel(level)
