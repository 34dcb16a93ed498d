"""The billing store: SQLAlchemy 2, migrated by Alembic."""

from bot.store.db import get_engine, get_sessionmaker, session_scope

__all__ = ["get_engine", "get_sessionmaker", "session_scope"]
