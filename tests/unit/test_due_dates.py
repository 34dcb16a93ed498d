from datetime import date, timedelta

from bot.billing import accounts, due_dates
from bot.store.models import DueDateChange

POLICY = {"max_move_days": 15, "max_changes_per_invoice": 1, "max_days_overdue": 30, "min_days_ahead": 1}


def _debtor(make_debtor, due):
    return make_debtor(
        invoices=[{"external_id": "F1", "amount": "1000.00", "currency": "MXN", "due_date": due.isoformat()}]
    )


def test_approved_change_updates_and_records(session, make_debtor):
    today = date(2026, 11, 11)
    debtor = _debtor(make_debtor, today + timedelta(days=2))
    inv = accounts.primary_invoice(session, debtor)
    decision = due_dates.apply(session, debtor, inv, today + timedelta(days=10), today, pol=POLICY)
    session.commit()
    assert decision.approved
    assert inv.due_date == today + timedelta(days=10)
    assert inv.original_due_date == today + timedelta(days=2)
    change = session.query(DueDateChange).one()
    assert change.old_date == today + timedelta(days=2) and change.new_date == inv.due_date
    # second change refused: one per invoice
    again = due_dates.apply(session, debtor, inv, today + timedelta(days=12), today, pol=POLICY)
    assert not again.approved and again.reason == "too_many_changes"


def test_refusals(session, make_debtor):
    today = date(2026, 11, 11)
    debtor = _debtor(make_debtor, today)
    inv = accounts.primary_invoice(session, debtor)
    assert due_dates.check(session, inv, today + timedelta(days=20), today, POLICY).reason == "too_far"
    assert due_dates.check(session, inv, today - timedelta(days=1), today, POLICY).reason == "not_later"
    assert due_dates.check(session, inv, None, today, POLICY).reason == "date_missing"
    ok = due_dates.check(session, inv, today + timedelta(days=15), today, POLICY)
    assert ok.approved and ok.latest_date == today + timedelta(days=15)
    assert inv.due_date == today  # check never changes the store


def test_too_overdue(session, make_debtor):
    today = date(2026, 11, 11)
    debtor = _debtor(make_debtor, today - timedelta(days=31))
    inv = accounts.primary_invoice(session, debtor)
    decision = due_dates.apply(session, debtor, inv, today + timedelta(days=3), today, pol=POLICY)
    assert not decision.approved and decision.reason == "too_overdue"
    assert session.query(DueDateChange).count() == 0
