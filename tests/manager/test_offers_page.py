"""The manager sees every settlement offer made in the period, which were accepted and paid, and per offer what it
collected against the discount given up."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal

from bot.store.models import SettlementOffer
from tests.console.helpers import login


def offer(debtor, status, day, kind="discount", name="pronto_pago", amount="148000.00"):
    return SettlementOffer(
        debtor_id=debtor.id,
        invoice_id=debtor.invoices[0].id,
        name=name,
        kind=kind,
        balance=Decimal("185000.00"),
        amount=Decimal(amount),
        currency="COP",
        discount_pct=Decimal("20") if kind == "discount" else Decimal("0"),
        valid_until=date(2026, 11, day + 5),
        status=status,
        created_at=datetime(2026, 11, day, 15, 0, tzinfo=timezone.utc),
        accepted_at=datetime(2026, 11, day, 15, 5, tzinfo=timezone.utc) if status in ("accepted", "paid") else None,
        paid_at=datetime(2026, 11, day + 1, 15, 0, tzinfo=timezone.utc) if status == "paid" else None,
    )


def test_the_offers_page_lists_each_offer_and_the_totals(client, manager, session, make_debtor):
    a = make_debtor("A")
    b = make_debtor("B", phone="+573001112299")
    c = make_debtor("C", phone="+573001112298")
    session.add_all(
        [
            offer(a, "paid", 3),
            offer(b, "accepted", 5),
            offer(c, "offered", 7, kind="first_instalment", name="cuota_mayor", amount="74000.00"),
            offer(c, "paid", 2),
        ]
    )
    old = offer(a, "paid", 1)
    old.created_at = datetime(2026, 10, 20, 15, 0, tzinfo=timezone.utc)  # before the period: not shown
    session.add(old)
    session.commit()

    login(client, "gerente")
    page = client.get("/manager/offers?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    body = page.split('id="offers"')[1]
    assert len(re.findall(r'class="offer-status"', body)) == 4
    assert body.count("pagada") == 2 and body.count("aceptada") == 1 and body.count("ofrecida") == 1
    totals = page.split('id="offer-totals"')[1].split("</table>")[0]
    row = re.search(r"<tr><td>pronto_pago</td>(.*?)</tr>", totals, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert cells[0] == "3" and cells[1].startswith("3 ") and cells[2].startswith("2 ")
    assert "296.000" in cells[3] and "74.000" in cells[4]  # two paid at 148.000, each gave up 37.000
    assert "2026-10-20" not in page


def test_declined_and_refunded_offers_are_shown_and_not_counted_as_collected(client, manager, session, make_debtor):
    a = make_debtor("A")
    b = make_debtor("B", phone="+573001112299")
    session.add_all([offer(a, "refunded", 3), offer(b, "declined", 4)])
    session.commit()

    login(client, "gerente")
    page = client.get("/manager/offers?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    body = page.split('id="offers"')[1]
    assert "reembolsada (descuento revertido)" in body and "rechazada" in body
    totals = page.split('id="offer-totals"')[1].split("</table>")[0]
    cells = re.findall(r"<td>(.*?)</td>", re.search(r"<tr><td>pronto_pago</td>(.*?)</tr>", totals, re.S).group(1), re.S)
    # made 2, accepted 1 (the refunded one was), paid 0, nothing collected nor given up, 1 declined, 1 refunded
    assert cells[0] == "2" and cells[1].startswith("1 ") and cells[2].startswith("0 ")
    assert cells[3].strip() == "—" and cells[4].strip() == "—" and cells[5:] == ["1", "1"]
