"""A store session per request, closed at teardown (the tutorial's ``db.py`` pattern)."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from bot.store.db import get_sessionmaker


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = get_sessionmaker(current_app.config["DATABASE_URL"])()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_session)
