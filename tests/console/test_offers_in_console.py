"""The agent sees the settlement offers the bot made on the debtor's page: what was offered, until when, and what
became of it (a refunded one says its discount was written back)."""

from __future__ import annotations

from bot.billing import accounts, offers
from bot.conversation import handoffs
from tests.console.helpers import login
from tests.payments.test_offers import LATE, config


def test_the_agent_sees_each_offer_and_what_became_of_it(session, make_debtor, agent, client):
    debtor = make_debtor("A")
    inv = accounts.primary_invoice(session, debtor)
    offer = offers.make(session, debtor, inv, "job_loss", LATE, config())
    offers.decline(session, offer)
    handoff, _ = handoffs.open(session, debtor.phone, debtor, "request_human", summary="quiere hablar con alguien")
    session.commit()

    login(client, "agente")
    page = client.get(f"/console/handoffs/{handoff.id}").get_data(as_text=True)
    shown = page.split('id="offers"')[1].split("</ul>")[0]
    assert "descuento por pago total: $148.000 de $185.000" in shown and "factura A-F1" in shown
    assert '<span class="offer-status">rechazada</span>' in shown
