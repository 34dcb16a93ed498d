"""Run Alembic migrations from code (the CLI, tests and `make run` all use this)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from bot.platform.config import ROOT, get_settings


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "bot" / "store" / "migrations"))
    cfg.attributes["url"] = url or get_settings().database_url
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
