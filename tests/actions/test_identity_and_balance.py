from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from actions.catalogue import (
    ActionGreet,
    ActionHandleFallback,
    ActionOpenHandoff,
    ActionProcessInform,
    ActionRecordClaimedPaid,
    ActionShowBalance,
)
from bot.store.models import Conversation, Handoff
from tests.actions.conftest import ent

PHONE = "+573001112233"


async def test_unknown_number_discloses_nothing(convo):
    c = convo("+573009999999")
    assert await c.say("cuánto debo", "check_balance", ActionShowBalance) == ["utter_intro", "utter_no_account"]
    assert "Financiera Aurora" in c.texts()[0]


async def test_balance_waits_for_identity_then_is_shown(convo, make_debtor):
    make_debtor()
    c = convo(PHONE)
    assert await c.say("cuánto debo", "check_balance", ActionShowBalance) == [
        "utter_intro",
        "utter_ask_document_digits",
    ]
    assert "185" not in " ".join(c.texts())
    assert c.slots["pending_request"] == "check_balance"
    replies = await c.say("4821", "inform", ActionProcessInform, entities=[ent("document_digits", "4821")])
    assert replies == ["utter_identity_verified", "utter_balance_single", "utter_offer_payment_link"]
    text = "\n".join(c.texts())
    assert "Ana" in text and "$185.000" in text and "10 de noviembre" in text
    assert c.slots["verified"] is True and c.slots["pending_confirmation"] == "payment_link"


async def test_bare_digits_misread_as_fallback_still_verify(convo, make_debtor):
    make_debtor()
    c = convo(PHONE)
    await c.say("hola", "greet", ActionGreet)
    assert (await c.say("4 8 2 1", "nlu_fallback", ActionHandleFallback))[:1] == ["utter_identity_verified"]


async def test_three_wrong_answers_lock_and_hand_off(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE)
    await c.say("hola", "greet", ActionGreet)
    assert await c.say("1111", "inform", ActionProcessInform) == ["utter_identity_wrong"]
    assert "2 intentos" in c.texts()[0]
    await c.say("2222", "inform", ActionProcessInform)
    assert await c.say("3333", "inform", ActionProcessInform) == ["utter_identity_locked_handoff"]
    assert await c.say("4821", "inform", ActionProcessInform) == ["utter_identity_locked"]
    assert await c.say("saldo", "check_balance", ActionShowBalance) == ["utter_identity_locked"]
    handoff = session.execute(select(Handoff)).scalar_one()
    assert handoff.reason == "failed_verification"
    assert session.execute(select(Conversation)).scalar_one().mode == "human"


async def test_multi_intent_asks_for_digits_once(convo, make_debtor):
    make_debtor()
    c = convo(PHONE, introduced=True)
    from actions.catalogue import ActionSendPaymentLink

    replies = await c.say(
        "cuánto debo? mándame el link", "check_balance+request_payment_link", ActionShowBalance, ActionSendPaymentLink
    )
    assert replies == ["utter_ask_document_digits"]
    replies = await c.say("4821", "inform", ActionProcessInform)
    assert replies == ["utter_identity_verified", "utter_balance_single", "utter_payment_link_balance"]


async def test_paid_and_human_unverified_goes_to_a_person(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True)
    replies = await c.say(
        "ya pagué pero quiero hablar con alguien",
        "claim_already_paid+request_human",
        ActionRecordClaimedPaid,
        ActionOpenHandoff,
    )
    assert replies == ["utter_handoff_opened"]
    assert session.execute(select(Handoff)).scalar_one().reason == "claims_paid"


async def test_two_misunderstandings_offer_a_person(convo, make_debtor, session):
    from actions.catalogue import ActionConfirmPending

    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("asdf", "nlu_fallback", ActionHandleFallback) == ["utter_default"]
    assert await c.say("qwer", "nlu_fallback", ActionHandleFallback) == ["utter_offer_human_after_fallback"]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_handoff_opened"]
    assert session.execute(select(Handoff)).scalar_one().reason == "fallback"


async def test_digits_read_as_another_intent_still_verify(convo, make_debtor):
    from actions.catalogue import ActionProposePromise

    make_debtor()
    c = convo(PHONE)
    await c.say("hola", "greet", ActionGreet)
    replies = await c.say("4821", "promise_to_pay", ActionProposePromise)
    assert replies[:2] == ["utter_identity_verified", "utter_balance_single"]


async def test_several_invoices_listed_with_total_and_one_link_for_all(convo, make_debtor, session):
    from actions.catalogue import ActionSendPaymentLink

    make_debtor(
        invoices=[
            {"external_id": "F1", "amount": "420000", "currency": "COP", "due_date": "2026-10-01"},
            {"external_id": "F2", "amount": "140000", "currency": "COP", "due_date": "2099-01-01"},
        ]
    )
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("cuánto debo", "check_balance", ActionShowBalance) == [
        "utter_balance_many",
        "utter_offer_payment_link",
    ]
    text = c.texts()[0]
    assert "F1: $420.000, venció el 1 de octubre" in text and "F2: $140.000, vence el" in text
    assert "Total: $560.000" in text
    assert await c.say("link", "request_payment_link", ActionSendPaymentLink) == ["utter_payment_link_several"]
    assert "(F1 y F2): link por $560.000" in c.texts()[0]


async def test_the_identity_lock_outlives_the_conversation_session(convo, make_debtor, session, client, api_headers):
    """Rasa's slots reset after an hour of silence; the lock is in the store, so a new session
    gets no new guesses, and the agent reads why the debtor was handed off and until when."""
    from bot.billing import debtors
    from bot.conversation import identity

    make_debtor()
    first = convo(PHONE, introduced=True)
    for digits in ("1111", "2222", "3333"):
        replies = await first.say(digits, "inform", ActionProcessInform)
    assert replies == ["utter_identity_locked_handoff"]
    handoff = session.execute(select(Handoff)).scalar_one()
    assert handoff.reason == "failed_verification" and "bloqueada hasta" in handoff.summary

    later = convo(PHONE, introduced=True)  # a new conversation session: every slot back to its initial value
    assert await later.say("cuánto debo", "check_balance", ActionShowBalance) == ["utter_identity_locked"]
    assert later.slots["identity_locked"] is True
    assert await later.say("4821", "inform", ActionProcessInform) == ["utter_identity_locked"]
    assert later.slots["verified"] is not True
    assert "185" not in " ".join(later.texts())

    until = identity.locked_until(session, debtors.get_by_phone(session, PHONE))
    assert timedelta(hours=23) < until - datetime.now(timezone.utc) <= identity.LOCK_DURATION
    view = client.get("/api/v1/debtors/D-1", headers=api_headers).get_json()  # what the billing system sees
    assert view["identity_locked_until"] == until.isoformat().replace("+00:00", "Z")


async def test_when_the_lock_is_over_the_debtor_verifies_again(convo, make_debtor, session):
    from bot.store.models import IdentityCheck

    make_debtor()
    c = convo(PHONE, introduced=True)
    for digits in ("1111", "2222", "3333"):
        await c.say(digits, "inform", ActionProcessInform)
    check = session.execute(select(IdentityCheck)).scalar_one()
    check.locked_until = datetime.now(timezone.utc) - timedelta(minutes=1)  # the 24 hours are over
    session.commit()
    assert await c.say("cuánto debo", "check_balance", ActionShowBalance) == ["utter_ask_document_digits"]
    assert c.slots["identity_locked"] is False
    assert (await c.say("4821", "inform", ActionProcessInform))[0] == "utter_identity_verified"


async def test_no_document_on_file_hands_off_and_says_why(convo, make_debtor, session):
    make_debtor(document_last4=None)
    c = convo(PHONE, introduced=True)
    assert await c.say("cuánto debo", "check_balance", ActionShowBalance) == ["utter_ask_document_digits"]
    # nothing the debtor typed was wrong: the reply does not say the digits did not match
    assert await c.say("4821", "inform", ActionProcessInform) == ["utter_identity_unavailable_handoff"]
    assert "Sin dígitos del documento" in session.execute(select(Handoff)).scalar_one().summary
    assert await c.say("4821", "inform", ActionProcessInform) == ["utter_identity_locked"]  # still, next turn
