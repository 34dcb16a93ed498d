"""Policy files in ``config/``: read once, plain dicts, a test may pass its own dict instead."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from bot.platform.config import ROOT

CONFIG_DIR = ROOT / "config"


@lru_cache(maxsize=16)
def load(name: str) -> dict[str, Any]:
    """The YAML mapping in ``config/<name>.yml`` (empty when the file is missing)."""
    path = CONFIG_DIR / f"{name}.yml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping")
    return data
