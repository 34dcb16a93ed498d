"""The action server answers exactly the custom actions the domain declares: none missing, none extra, none
without a name (a base class registered by mistake would answer Rasa under the name "")."""

from __future__ import annotations

from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def declared_actions() -> set[str]:
    names: set[str] = set()
    for path in DOMAIN.glob("*.yml"):
        names.update(yaml.safe_load(path.read_text(encoding="utf-8")).get("actions") or [])
    return names


def test_the_action_server_serves_the_domains_actions_and_nothing_else() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    served = set(executor.actions)
    assert "" not in served
    assert served == declared_actions()
