"""One promise a hand-off turn (issue #28 §5): in the team's hours the usual wait, outside them only when a
person answers, in the debtor's own time zone. Never "unos 30 minutos" and an opening time together."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from actions.catalogue import (
    ActionConfirmPending,
    ActionHandleFallback,
    ActionOpenHandoff,
    ActionProcessInform,
    ActionRecordClaimedPaid,
    ActionRecordDispute,
    ActionShowBalance,
)
from bot.desk import settings as desk_settings

CO_PHONE = "+573001112233"
MX_PHONE = "+525512345678"
CL_PHONE = "+56961234567"
OPENING_TIME = re.compile(r"a partir de la(s)? \d{1,2}:\d{2}")
FRIDAY_1930_BOGOTA = datetime(2026, 11, 28, 0, 30, tzinfo=timezone.utc)


def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(desk_settings, "utcnow", lambda: moment)


def one_promise(texts: list[str]) -> str:
    turn = " ".join(texts)
    assert not ("30 minutos" in turn and OPENING_TIME.search(turn)), turn
    return turn


async def _request(c):
    return await c.say("quiero hablar con un asesor", "request_human", ActionOpenHandoff)


async def _claim(c):
    return await c.say("ya pagué", "claim_already_paid", ActionRecordClaimedPaid)


async def _dispute(c):
    return await c.say("esa deuda no es mía", "dispute_debt", ActionRecordDispute)


async def _after_fallbacks(c):
    await c.say("asdf", "nlu_fallback", ActionHandleFallback)
    await c.say("qwer", "nlu_fallback", ActionHandleFallback)
    return await c.say("sí", "affirm", ActionConfirmPending)


async def _request_with_claim(c):
    return await c.say(
        "ya pagué pero quiero hablar con alguien",
        "claim_already_paid+request_human",
        ActionRecordClaimedPaid,
        ActionOpenHandoff,
    )


HAND_OFFS = [_request, _claim, _dispute, _after_fallbacks, _request_with_claim]


@pytest.mark.parametrize("hand_off", HAND_OFFS, ids=lambda f: f.__name__.strip("_"))
async def test_out_of_hours_a_mexican_debtor_hears_only_the_mexican_opening_time(
    hand_off, convo, make_debtor, team_at_work
):
    at(team_at_work, FRIDAY_1930_BOGOTA)  # Friday 18:30 in Mexico City; the team opens Saturday 9:00 Bogotá
    make_debtor(phone=MX_PHONE, country="MX", timezone="America/Mexico_City")
    c = convo(MX_PHONE, introduced=True, verified=True)
    replies = await hand_off(c)
    turn = one_promise(c.texts())
    assert "utter_handoff_opened" not in replies
    assert replies.count("utter_handoff_opened_after_hours") + replies.count("utter_handoff_out_of_hours") == 1
    assert "mañana a partir de las 8:00" in turn and "30 minutos" not in turn
    assert "hora de Colombia" not in turn and "9:00" not in turn


CHILE_TEAM = {
    "countries": ["CL"],
    "timezone": "America/Santiago",
    "holidays": "CL",
    "days": {d: ["09:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
}


@pytest.mark.parametrize("hand_off", HAND_OFFS, ids=lambda f: f.__name__.strip("_"))
async def test_in_hours_a_hand_off_gives_the_usual_wait_and_no_opening_time(hand_off, convo, make_debtor, team_at_work):
    """A Chilean debtor at 9:30 in Santiago, when the Chilean team works and the Bogotá one (7:30) does not."""
    shipped = desk_settings.config()
    cfg = {**shipped, "teams": {"chile": CHILE_TEAM}}
    team_at_work.setattr(desk_settings, "config", lambda c=None: cfg if c is None else c)
    at(team_at_work, datetime(2026, 11, 24, 12, 30, tzinfo=timezone.utc))
    make_debtor(phone=CL_PHONE, country="CL", timezone="America/Santiago")
    c = convo(CL_PHONE, introduced=True, verified=True)
    replies = await hand_off(c)
    turn = one_promise(c.texts())
    assert replies.count("utter_handoff_opened") == 1
    assert "30 minutos" in turn and not OPENING_TIME.search(turn) and "no hay asesores disponibles" not in turn


async def test_out_of_hours_the_hand_off_is_one_message(convo, make_debtor, team_at_work):
    at(team_at_work, datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc))  # Sunday 22:00 in Bogotá
    make_debtor()
    c = convo(CO_PHONE, introduced=True)
    assert await _request(c) == ["utter_handoff_opened_after_hours"]
    assert c.texts() == [
        "Le comunico con un asesor de nuestro equipo. En este momento no hay asesores disponibles, así que le "
        "responderá "
        "por este mismo chat mañana a partir de las 8:00."
    ]


async def test_a_locked_identity_check_out_of_hours_says_when_a_person_answers(convo, make_debtor, team_at_work):
    at(team_at_work, FRIDAY_1930_BOGOTA)
    make_debtor(phone=MX_PHONE, country="MX", timezone="America/Mexico_City")
    c = convo(MX_PHONE, introduced=True)
    await c.say("cuánto debo", "check_balance", ActionShowBalance)
    for digits in ("1111", "2222", "3333"):
        replies = await c.say(digits, "inform", ActionProcessInform)
    assert replies == ["utter_identity_locked_handoff", "utter_handoff_out_of_hours"]
    turn = one_promise(c.texts())
    assert "mañana a partir de las 8:00" in turn and "hora de Colombia" not in turn
