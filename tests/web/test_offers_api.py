"""``GET /api/v1/debtors/{external_id}/offers`` and ``settlement_offers`` in the debtor: every offer the bot made,
with what became of it, for the billing system; bad calls get a JSON 4xx."""

from __future__ import annotations

from datetime import date

from bot.billing import accounts, offers
from tests.payments.test_offers import LATE, config


def test_the_offers_made_to_a_debtor_with_what_became_of_them(client, api_headers, session, make_debtor):
    debtor = make_debtor("A")
    inv = accounts.primary_invoice(session, debtor)
    offer = offers.make(session, debtor, inv, "job_loss", LATE, config())
    link = offers.accept(session, offer, LATE)
    session.commit()

    r = client.get("/api/v1/debtors/A/offers", headers=api_headers)
    assert r.status_code == 200
    (shown,) = r.get_json()["offers"]
    assert shown["invoice_external_id"] == "A-F1" and shown["kind"] == "discount" and shown["status"] == "accepted"
    assert (shown["balance"], shown["amount"], shown["currency"]) == ("185000.00", "148000.00", "COP")
    assert shown["valid_until"] == date(2027, 1, 20).isoformat() and shown["link_url"].endswith(link.short_code)
    assert client.get("/api/v1/debtors/A", headers=api_headers).get_json()["settlement_offers"] == [shown]

    assert client.get("/api/v1/debtors/A/offers?status=paid", headers=api_headers).get_json() == {"offers": []}
    accepted = client.get("/api/v1/debtors/A/offers?status=accepted", headers=api_headers).get_json()
    assert accepted == {"offers": [shown]}


def test_bad_calls_get_a_json_answer(client, api_headers, make_debtor):
    make_debtor("A")
    r = client.get("/api/v1/debtors/A/offers?status=pagada", headers=api_headers)
    assert r.status_code == 400 and "status must be one of" in r.get_json()["error"]["message"]
    r = client.get("/api/v1/debtors/NOPE/offers", headers=api_headers)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = client.get("/api/v1/debtors/A/offers")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
