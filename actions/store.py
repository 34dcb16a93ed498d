"""The billing store for actions: a session factory created on first use, never at import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from bot.store.db import session_scope as scope


@contextmanager
def session_scope() -> Iterator[Session]:
    with scope() as session:
        yield session
