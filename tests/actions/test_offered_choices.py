"""Issue #27 §2, the actions' half: the choices the bot offers go as Rasa buttons with intent payloads, and a tapped
option (its payload, as Rasa parses it) is carried out like the typed answer."""

from __future__ import annotations

from sqlalchemy import select

from actions import choices
from actions.catalogue import (
    ActionConfirmPending,
    ActionOfferPaymentPlan,
    ActionProcessInform,
    ActionSendPaymentLink,
    ActionShowBalance,
)
from bot.store.models import PaymentLink, PaymentPlan
from tests.actions.test_plans_dates_links import PHONE, mx_debtor

YES_NO = [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


def tapped(payload: str, entity: str, value: str) -> list[dict]:
    """The entities Rasa's RegexMessageHandler gives a payload: the span is the JSON, not the words."""
    start = payload.index("{")
    return [{"entity": entity, "value": value, "start": start, "end": len(payload), "extractor": "RegexMessageHandler"}]


async def test_plan_counts_are_buttons_and_a_tapped_count_is_proposed_with_yes_no(convo, make_debtor, session):
    mx_debtor(make_debtor)
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("puedo pagar en cuotas?", "request_payment_plan", ActionOfferPaymentPlan) == [
        "utter_plan_options"
    ]
    offered = c.last[0]["buttons"]
    assert [b["title"] for b in offered] == [f"{n} cuotas" for n in c.slots["plan_offer"]]
    four = next(b for b in offered if b["title"] == "4 cuotas")
    assert four["payload"] == '/inform{"installments":"4"}'

    payload = four["payload"]
    assert await c.say(payload, "inform", ActionProcessInform, entities=tapped(payload, "installments", "4")) == [
        "utter_confirm_plan"
    ]
    assert c.slots["plan_count"] == 4
    assert c.last[-1]["buttons"] == YES_NO  # the proposal's question
    saved = await c.say("/affirm", "affirm", ActionConfirmPending)
    assert saved == ["utter_plan_saved", "utter_payment_link_instalment"]
    assert session.execute(select(PaymentPlan)).scalar_one().instalment_count == 4
    link = session.execute(select(PaymentLink)).scalar_one()
    [pay] = c.last[-1]["buttons"]
    assert pay["url"].endswith(f"/p/{link.short_code}") and pay["title"] == choices.PAY


async def test_the_offer_of_the_link_after_the_balance_has_yes_and_no(convo, make_debtor):
    mx_debtor(make_debtor)
    c = convo(PHONE, introduced=True, verified=True)
    names = await c.say("cuánto debo", "check_balance", ActionShowBalance)
    assert names[-1] == "utter_offer_payment_link" and c.last[-1]["buttons"] == YES_NO
    assert all("buttons" not in m or not m["buttons"] for m in c.last[:-1])  # only the question


async def test_a_link_sent_has_its_pay_button_and_no_yes_no(convo, make_debtor):
    mx_debtor(make_debtor)
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("mándame el link", "request_payment_link", ActionSendPaymentLink) == [
        "utter_payment_link_balance"
    ]
    [pay] = c.last[0]["buttons"]
    assert set(pay) == {"title", "url", "type"} and "/p/" in pay["url"]


def test_the_shared_buttons():
    assert choices.YES_NO == YES_NO
    assert choices.HUMAN == {"title": "Hablar con un asesor", "payload": "/request_human"}
    assert all(len(b["title"]) <= choices.TITLE_MAX for b in choices.PLAN_OR_DATE)
    assert choices.button("F-2026-014", "inform", invoice="F-2026-014") == {
        "title": "F-2026-014",
        "payload": '/inform{"invoice":"F-2026-014"}',
    }


async def test_what_the_bot_can_do_is_a_menu_with_a_person(convo, make_debtor):
    from actions.catalogue import ActionHandleFallback

    mx_debtor(make_debtor)
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("asdfgh", "nlu_fallback", ActionHandleFallback, confidence=0.2) == ["utter_default"]
    assert [b["payload"] for b in c.last[0]["buttons"]] == [
        "/check_balance",
        "/request_payment_link",
        "/promise_to_pay",
        "/request_payment_plan",
        "/request_human",
    ]
    # the second "no entendí" offers a person: a yes/no question
    assert await c.say("qwerty", "nlu_fallback", ActionHandleFallback, confidence=0.2) == [
        "utter_offer_human_after_fallback"
    ]
    assert c.last[-1]["buttons"] == YES_NO


async def test_a_refused_date_offers_a_person_to_tap_and_leaves_the_date_to_type(convo, make_debtor):
    from actions.catalogue import ActionRequestDueDateChange
    from tests.actions.conftest import ent

    mx_debtor(make_debtor, days_overdue=-2)
    c = convo(PHONE, introduced=True, verified=True)
    replies = await c.say(
        "al 2031-01-01", "request_due_date_change", ActionRequestDueDateChange, entities=[ent("date", "2031-01-01")]
    )
    assert replies == ["utter_due_date_refused_too_far"]
    assert c.last[0]["buttons"] == [choices.HUMAN]  # "escríbame otra fecha o ... un asesor": not a yes/no


async def test_the_promise_instead_of_a_date_change_is_yes_no_or_a_person(convo, make_debtor):
    from actions.catalogue import ActionRequestDueDateChange
    from tests.actions.conftest import ent

    mx_debtor(make_debtor, days_overdue=45)
    c = convo(PHONE, introduced=True, verified=True)
    await c.say(
        "me das chance de pagar en 5 días?",
        "request_due_date_change",
        ActionRequestDueDateChange,
        entities=[ent("date", "en 5 días", "en 5 días", 26)],
    )
    assert c.last[-1]["buttons"] == [*YES_NO, choices.HUMAN]
    assert not c.last[0]["buttons"]  # the refusal itself offers nothing


async def test_asked_when_the_debtor_can_pay_the_coming_paydays_are_offered_and_one_tapped_is_proposed(
    convo, make_debtor
):
    from datetime import date

    from actions.catalogue import ActionProposePromise
    from bot.billing import promises
    from tests.actions.test_plans_dates_links import local_today

    mx_debtor(make_debtor)
    today = local_today(tz="America/Mexico_City")
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise) == ["utter_ask_promise_date"]
    offered = c.last[0]["buttons"]
    assert 1 <= len(offered) <= 3 and all(len(b["title"]) <= 20 for b in offered)
    days = [int(b["title"].split()[0]) for b in offered]  # each title starts with its day: "15 dic (mar)"
    assert len(set(days)) == len(days)
    first = offered[0]
    said = first["payload"].split('"date":"')[1].rstrip('"}')
    assert await c.say(
        first["payload"], "inform", ActionProcessInform, entities=tapped(first["payload"], "date", said)
    ) == ["utter_confirm_promise"]
    chosen = date.fromisoformat(c.slots["promise_date"])
    assert chosen.day == days[0] and today < chosen <= promises.latest_date(today)
    assert c.last[-1]["buttons"] == YES_NO


def test_the_days_offered_are_the_coming_friday_and_paydays_within_the_limit():
    from datetime import date

    titles = [b["title"] for b in choices.promise_dates(date(2026, 12, 5), date(2027, 1, 4))]
    assert titles == ["11 dic (vie)", "15 dic (mar)", "31 dic (jue)"]
    assert [b["title"] for b in choices.promise_dates(date(2026, 12, 14), date(2026, 12, 17))] == ["15 dic (mar)"]
    assert choices.promise_dates(date(2026, 12, 5), date(2026, 12, 6)) == []  # nothing in reach: type the day
