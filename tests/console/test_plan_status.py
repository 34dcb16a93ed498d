"""A broken payment plan reaches the agent: the hand-off says why, and the debtor's page shows the plan's
status and its instalments (due date, amount, paid)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.billing import payment_plans
from bot.outreach import campaigns
from bot.store.models import Handoff
from tests.console.helpers import login


def test_agent_sees_the_broken_plan_and_its_instalments(session, make_debtor, agent, client):
    now = datetime.now(timezone.utc)  # the page reads the plan's status at the real clock
    today = now.astimezone(ZoneInfo("America/Bogota")).date()
    debtor = make_debtor(
        "A",
        invoices=[{"external_id": "F-77", "amount": "300000.00", "currency": "COP", "due_date": "2026-01-10"}],
    )
    first_due = today - timedelta(days=12)
    payment_plans.create(session, debtor, debtor.invoices[0], 3, first_due - timedelta(days=3))
    session.commit()
    campaigns.execute(session, campaigns.plan(session, at=now))
    handoff = session.execute(select(Handoff)).scalar_one()

    login(client, "agente")
    page = client.get(f"/console/handoffs/{handoff.id}").get_data(as_text=True)
    assert "Plan de pagos incumplido" in page  # the hand-off's reason
    assert "Planes de pago" in page and "factura F-77" in page
    assert '<span class="plan-status">incumplido</span>' in page
    assert f"<td>1</td><td>{first_due.isoformat()}</td>" in page
    assert f"<td>3</td><td>{(first_due + timedelta(days=60)).isoformat()}</td>" in page


def test_agent_sees_every_invoice_of_a_broken_plan_over_several(session, make_debtor, agent, client):
    now = datetime.now(timezone.utc)
    today = now.astimezone(ZoneInfo("America/Bogota")).date()
    debtor = make_debtor(
        "A",
        invoices=[
            {"external_id": "F-77", "amount": "300000.00", "currency": "COP", "due_date": "2026-01-10"},
            {"external_id": "F-78", "amount": "120000.00", "currency": "COP", "due_date": "2026-02-10"},
        ],
    )
    first_due = today - timedelta(days=12)
    payment_plans.create_for_invoices(session, debtor, list(debtor.invoices), 3, first_due - timedelta(days=3))
    session.commit()
    campaigns.execute(session, campaigns.plan(session, at=now))
    handoff = session.execute(select(Handoff)).scalar_one()

    login(client, "agente")
    page = client.get(f"/console/handoffs/{handoff.id}").get_data(as_text=True)
    assert "facturas F-77, F-78" in page and '<span class="plan-status">incumplido</span>' in page
