"""After an erasure the phone is never contacted by a campaign again: not the erased debtor, not a debtor pushed
later with the same number, not a contact planned before the erasure."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from bot.billing import debtors
from bot.lifecycle import erased_phones, erasure
from bot.outreach import campaigns
from bot.store.models import ContactAttempt
from tests.worker import test_campaign_send as sends
from tests.worker.test_campaign_send import AT, PHONE, invoice, plan_one, send

rasa_api, clock = sends.rasa_api, sends.clock  # the campaign sender's fixtures: a fake Rasa API, a fixed clock


def erase(session, external_id: str) -> None:
    debtor = debtors.get_by_external_id(session, external_id)
    erasure.erase(session, debtor, at=datetime(2026, 11, 20, tzinfo=timezone.utc), actor="test")
    session.commit()


def test_neither_the_erased_debtor_nor_a_new_one_with_the_same_phone_is_planned(session, make_debtor):
    make_debtor("A", whatsapp=False, invoices=invoice(7))
    before = campaigns.plan(session, at=AT)
    assert [i.outcome for i in before.items] == ["send"]  # due today: a D+7 reminder
    erase(session, "A")
    make_debtor("B", phone=PHONE, whatsapp=False, invoices=invoice(7))  # the billing system pushes the number again

    items = campaigns.plan(session, at=AT).items
    assert {(i.outcome, i.reason) for i in items} == {("suppressed", "erased")}
    assert len(items) == 2


def test_a_contact_planned_before_the_erasure_is_never_sent(session, make_debtor, rasa_api, sandbox_provider, clock):
    make_debtor("A", whatsapp=False, invoices=invoice(7))
    attempt_id = plan_one(session)
    erase(session, "A")
    send(attempt_id)
    assert rasa_api.calls == [] and sandbox_provider.outbox(PHONE) == []
    session.expire_all()
    attempt = session.get(ContactAttempt, attempt_id)
    assert (attempt.status, attempt.reason) == ("suppressed", "erased")


def test_the_worker_checks_the_erased_phones_at_the_moment_of_sending(
    session, make_debtor, rasa_api, sandbox_provider, clock
):
    make_debtor("B", whatsapp=False, invoices=invoice(7))
    attempt_id = plan_one(session)
    erased_phones.add(session, PHONE, AT)  # another record with this number was erased meanwhile
    session.commit()
    send(attempt_id)
    assert sandbox_provider.outbox(PHONE) == []
    session.expire_all()
    assert session.execute(select(ContactAttempt.reason)).scalar_one() == "erased"
