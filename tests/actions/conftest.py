"""Action tests: the real domain, a CollectingDispatcher, trackers built turn by turn, the real store."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.language import local_today
from bot.platform.config import ROOT


@lru_cache(maxsize=1)
def load_domain() -> dict[str, Any]:
    """The domain as one dict, its files merged as Rasa merges a domain folder (lists joined, mappings united).
    Not Rasa's loader: the actions run on the service runtime, without rasa; they read no domain themselves (the
    tests read the slots and responses), and Rasa's own check of the domain is `rasa data validate`."""
    merged: dict[str, Any] = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        for key, value in (yaml.safe_load(path.read_text()) or {}).items():
            if isinstance(value, list):
                merged.setdefault(key, []).extend(value)
            elif isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
    return merged


class Conversation:
    """Runs actions one turn after another, carrying the slots the actions set."""

    def __init__(self, phone: str, slots: dict[str, Any] | None = None, session=None) -> None:
        self.phone = phone
        self.session = session  # the test's own session: expired after each turn to see what actions wrote
        self.domain = load_domain()
        self.slots: dict[str, Any] = {name: spec.get("initial_value") for name, spec in self.domain["slots"].items()}
        self.slots.update(slots or {})
        self.events: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []

    def user(
        self,
        text: str,
        intent: str,
        entities: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
        confidence: float = 0.95,
    ) -> dict[str, Any]:
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities or [],
            "metadata": metadata or {"channel": "whatsapp"},
        }
        self.events.append({"event": "user", "text": text, "parse_data": latest})
        return latest

    async def run(self, action_cls: type, latest: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher = CollectingDispatcher()
        tracker = Tracker(self.phone, dict(self.slots), latest, list(self.events), False, None, {}, "action_listen")
        action = action_cls()
        events = await action.run(dispatcher, tracker, self.domain)
        self.events.append({"event": "action", "name": action.name()})  # as Rasa logs it, before the action's events
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.events.extend(events)
        self.messages = dispatcher.messages
        return events

    async def say(
        self,
        text: str,
        intent: str,
        *actions: type,
        entities: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
        confidence: float = 0.95,
    ) -> list[str]:
        """The user says ``text`` (read as ``intent`` with ``confidence``); ``actions`` run in order; returns the
        responses' names."""
        latest = self.user(text, intent, entities, metadata, confidence)
        names: list[dict[str, Any]] = []
        for action in actions:
            await self.run(action, latest)
            names.extend(self.messages)
        if self.session is not None:
            self.session.expire_all()
        self.last = names
        return [m["response"] for m in names]

    def texts(self) -> list[str]:
        """The last turn's replies as the debtor reads them."""
        out = []
        for m in self.last:
            template = self.domain["responses"][m["response"]][0]["text"]
            values = {**self.slots, **m}
            out.append(re.sub(r"{(\w+)}", lambda g, v=values: str(v.get(g[1], g[0])), template))
        return out


def ent(entity: str, value: Any, text: str | None = None, start: int | None = None) -> dict[str, Any]:
    out = {"entity": entity, "value": value}
    if text is not None and start is not None:
        out.update(start=start, end=start + len(text))
    return out


PHONE = "+573001112233"  # the default debtor's (tests/conftest.py make_debtor)
MX_PHONE = "+525512340000"


def verified(convo: Any) -> Conversation:
    """The default debtor's conversation, past the greeting and the identity check."""
    return convo(PHONE, introduced=True, verified=True)


def mx_debtor(make_debtor: Any, due_in_days: int) -> Any:
    """A Mexican debtor (Mexico City) with one MXN invoice due ``due_in_days`` from their own today."""
    today = local_today(tz="America/Mexico_City")
    return make_debtor(
        "MX-1",
        phone=MX_PHONE,
        country="MX",
        timezone="America/Mexico_City",
        document_last4="2045",
        invoices=[
            {
                "external_id": "MX-F1",
                "amount": "1000.00",
                "currency": "MXN",
                "due_date": (today + timedelta(days=due_in_days)).isoformat(),
            }
        ],
    )


@pytest.fixture()
def convo(db, session):
    def make(phone: str = "+573001112233", **slots: Any) -> Conversation:
        return Conversation(phone, slots, session)

    return make


NO_OFFERS = {"limits": {"max_discount_pct": {"default": 0}}, "offers": []}


@pytest.fixture(autouse=True)
def settlement_offers(monkeypatch):
    """No settlement offer fits unless a test sets one (``settlement_offers(config)``): the shipped offers depend on
    days overdue, and the fixtures' invoices grow older every day the suite runs."""
    from bot.billing import offers

    def use(data: dict) -> offers.Config:
        config = offers.parse(data)
        monkeypatch.setattr(offers, "load", lambda path=offers.OFFERS_FILE: config)
        return config

    use(NO_OFFERS)
    return use


@pytest.fixture(autouse=True)
def team_at_work(monkeypatch):
    """Hand-offs open during the team's working hours unless a test says otherwise."""
    from bot.desk import settings as desk_settings

    working = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in Bogotá
    monkeypatch.setattr(desk_settings, "utcnow", lambda: working)
    return monkeypatch
