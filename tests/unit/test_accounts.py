from datetime import date, datetime, timezone
from decimal import Decimal

from bot.billing import accounts


def test_owed_lists_open_invoices_oldest_first(session, make_debtor):
    debtor = make_debtor(
        invoices=[
            {"external_id": "B", "amount": "100.00", "currency": "MXN", "due_date": "2026-11-20"},
            {"external_id": "A", "amount": "50.50", "currency": "MXN", "due_date": "2026-11-01"},
            {"external_id": "C", "amount": "10.00", "currency": "MXN", "due_date": "2026-11-02", "balance": "0"},
        ]
    )
    views = accounts.owed(session, debtor, today=date(2026, 11, 11))
    assert [v.external_id for v in views] == ["A", "B"]
    assert views[0].days_overdue == 10
    assert accounts.totals(views) == {"MXN": Decimal("150.50")}
    assert accounts.primary_invoice(session, debtor).external_id == "A"


def test_local_today_uses_debtor_time_zone(make_debtor):
    debtor = make_debtor()  # America/Bogota, UTC-5
    assert accounts.local_today(debtor, datetime(2026, 11, 12, 3, 0, tzinfo=timezone.utc)) == date(2026, 11, 11)


def test_dispute_and_pause(session, make_debtor):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    accounts.mark_disputed(session, inv, "no reconozco")
    assert inv.status == "disputed" and inv.reminders_paused
    assert accounts.open_invoices(session, debtor) == []
