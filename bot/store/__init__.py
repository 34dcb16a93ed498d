"""The billing store: SQLAlchemy 1.4 in 2.0 style, migrated by Alembic."""

from bot.store.db import get_engine, get_sessionmaker, session_scope

__all__ = ["get_engine", "get_sessionmaker", "session_scope"]
