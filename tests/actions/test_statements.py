"""The statement PDF asked for in so many words: only after the identity check, as an attachment to the reply."""

from __future__ import annotations

import pytest

from actions.catalogue import ActionHandleFallback, ActionProcessInform, ActionRecordDispute, ActionShowBalance
from bot.billing import document_links
from tests.actions.conftest import PHONE, ent, verified


def attachment(c) -> str | None:
    found = [m.get("attachment") for m in c.last if m.get("attachment")]
    return found[0] if found else None


async def test_statement_waits_for_the_identity_check_then_comes_attached(convo, make_debtor):
    debtor = make_debtor()
    c = convo(PHONE, introduced=True)
    replies = await c.say("mándeme la factura", "nlu_fallback", ActionHandleFallback, confidence=0.5)
    assert replies == ["utter_ask_document_digits"]
    assert attachment(c) is None and "185" not in " ".join(c.texts())  # nothing disclosed before the check
    replies = await c.say("4821", "inform", ActionProcessInform, entities=[ent("document_digits", "4821")])
    # the summary in the chat, then the document attached (its link in the text too, for SMS)
    assert replies[:3] == ["utter_identity_verified", "utter_balance_single", "utter_statement_sent"]
    url = attachment(c)
    assert url is not None and "/d/" in url
    assert url in c.texts()[2] and "estado de cuenta" in c.texts()[2] and "185.000" in c.texts()[1]
    document = document_links.read(url.rsplit("/", 1)[1])
    assert document is not None and (document.kind, document.id) == (document_links.STATEMENT, debtor.id)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("quiero ver mi estado de cuenta", "check_balance"),  # Colombia
        ("oiga, me pasás el resumen de cuenta?", "check_balance"),  # Argentina
        ("ocupo la factura en pdf", "nlu_fallback"),  # Mexico
        ("mándame el detalle de lo que debo en pdf", "check_balance"),  # Peru
        ("me regala la factura por favor", "report_nonpayment_reason"),  # Colombia, read as a reason
        ("pásame la boleta porfa", "out_of_scope"),  # Chile
    ],
)
async def test_colloquial_requests_get_the_statement_with_the_balance(convo, make_debtor, text, intent):
    make_debtor()
    c = verified(convo)
    entities = [ent("reason", "service_issue")] if intent == "report_nonpayment_reason" else []
    replies = await c.say(text, intent, ActionShowBalance, entities=entities, confidence=0.6)
    assert replies == ["utter_balance_single", "utter_statement_sent", "utter_offer_payment_link"]
    assert attachment(c) is not None


async def test_balance_and_statement_both_asked_get_both(convo, make_debtor):
    make_debtor()
    c = verified(convo)
    replies = await c.say("cuánto debo? y mándeme la factura", "check_balance", ActionShowBalance)
    assert replies == ["utter_balance_single", "utter_statement_sent", "utter_offer_payment_link"]


async def test_a_request_for_the_bill_read_as_a_dispute_gets_the_statement(convo, make_debtor):
    make_debtor()
    c = verified(convo)
    replies = await c.say("dame la cuenta de cobro", "dispute_debt", ActionRecordDispute)
    assert replies[:2] == ["utter_balance_single", "utter_statement_sent"]
    c2 = verified(convo)
    replies = await c2.say("no reconozco esa deuda, mándeme la factura", "dispute_debt", ActionRecordDispute)
    assert "utter_statement_sent" not in replies  # a dispute stays a dispute


async def test_nothing_owed_no_document(convo, make_debtor):
    make_debtor(invoices=[])
    c = verified(convo)
    assert await c.say("mándeme el estado de cuenta", "check_balance", ActionShowBalance) == ["utter_no_debt"]
    assert attachment(c) is None


async def test_a_statement_and_the_payment_link_in_one_message(convo, make_debtor):
    make_debtor()
    c = verified(convo)
    replies = await c.say("mándeme la factura y el link para pagar", "request_payment_link", ActionShowBalance)
    assert replies[:2] == ["utter_balance_single", "utter_statement_sent"]
    assert any(r.startswith("utter_payment_link_") for r in replies[2:])


async def test_a_person_read_for_a_statement_request_is_not_called(convo, make_debtor):
    make_debtor()
    c = verified(convo)
    replies = await c.say("me regala el estado de cuenta", "request_human", ActionShowBalance, confidence=0.5)
    assert "utter_statement_sent" in replies and not any("handoff" in r for r in replies)
