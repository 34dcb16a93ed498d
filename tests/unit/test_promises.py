from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.billing import accounts, promises

TODAY = date(2026, 11, 11)


def test_default_amount_is_balance_and_replaces_old(session, make_debtor):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    p1 = promises.create(session, debtor, inv, TODAY + timedelta(days=3), today=TODAY)
    assert p1.amount == Decimal("185000.00") and p1.status == "open"
    p2 = promises.create(session, debtor, inv, TODAY + timedelta(days=5), Decimal("90000"), today=TODAY)
    session.commit()
    assert p1.status == "replaced" and p2.status == "open"
    assert promises.open_promise(session, inv.id).id == p2.id


@pytest.mark.parametrize(
    ("when", "amount", "code"),
    [
        (TODAY - timedelta(days=1), None, "date_in_past"),
        (TODAY + timedelta(days=31), None, "date_too_far"),
        (None, None, "date_missing"),
        (TODAY, Decimal("999999"), "amount_too_high"),
        (TODAY, Decimal("0"), "amount_invalid"),
    ],
)
def test_rejections(session, make_debtor, when, amount, code):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    with pytest.raises(promises.PromiseError) as err:
        promises.create(session, debtor, inv, when, amount, today=TODAY)
    assert err.value.code == code
    assert err.value.max_date == TODAY + timedelta(days=30)


def test_kept_and_broken(session, make_debtor):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    p = promises.create(session, debtor, inv, TODAY, today=TODAY)
    promises.mark_kept(session, p)
    assert p.status == "kept" and p.resolved_at is not None
    promises.mark_broken(session, p)  # a resolved promise stays as it is
    assert p.status == "kept"
