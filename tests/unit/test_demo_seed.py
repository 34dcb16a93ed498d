"""`python -m bot seed-demo`: about 30 debtors in five countries, demo users, a history; twice adds nothing."""

from datetime import date

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.__main__ import cli
from bot.store.models import Conversation, Debtor, Handoff, Invoice, Message, User


def test_seed_demo_is_realistic_and_idempotent(session):
    runner = CliRunner()
    first = runner.invoke(cli, ["seed-demo", "--history", "200"])
    assert first.exit_code == 0, first.output
    assert "30 debtors added" in first.output and "200 past conversations" in first.output
    demo = list(session.execute(select(Debtor).where(~Debtor.external_id.like("HIST-%"))).scalars())
    assert len(demo) == 30
    assert {d.country for d in demo} == {"CO", "MX", "AR", "CL", "PE"}
    # every demo phone, history included, is in the fictitious range: no real person can be messaged
    from bot.platform.phones import is_demo_number

    every = [d.phone for d in session.execute(select(Debtor)).scalars()]
    assert len(every) > 200 and all(is_demo_number(p) for p in every)
    # debtors with several invoices, each with its concept, to try "la del celular" in the simulator
    several = [d for d in demo if len(d.invoices) > 1 and all(i.description for i in d.invoices)]
    assert len(several) >= 3 and max(len(d.invoices) for d in several) >= 3
    currencies = {d.country: {i.currency for i in d.invoices} for d in demo}
    assert currencies == {"CO": {"COP"}, "MX": {"MXN"}, "AR": {"ARS"}, "CL": {"CLP"}, "PE": {"PEN"}}
    days = [(date.today() - i.due_date).days for d in demo for i in d.invoices]
    assert min(days) >= -5 and max(days) <= 60
    assert {u.role for u in session.execute(select(User)).scalars()} == {"agent", "manager", "admin"}
    waiting = session.execute(select(Handoff).where(Handoff.status == "open")).scalars().all()
    assert sorted(h.reason for h in waiting) == ["dispute", "request_human"]
    # the waiting conversations' lines are history: the worker's sweeper must find nothing to queue again
    inbound = session.execute(select(Message).where(Message.direction == "in")).scalars().all()
    assert inbound and all(m.from_phone and m.status == "processed" for m in inbound)
    counts = (
        session.execute(select(func.count(Debtor.id))).scalar_one(),
        session.execute(select(func.count(Invoice.id))).scalar_one(),
        session.execute(select(func.count(Conversation.id))).scalar_one(),
    )
    again = runner.invoke(cli, ["seed-demo", "--history", "200"])
    assert again.exit_code == 0 and "0 debtors added" in again.output
    session.expire_all()
    assert counts == (
        session.execute(select(func.count(Debtor.id))).scalar_one(),
        session.execute(select(func.count(Invoice.id))).scalar_one(),
        session.execute(select(func.count(Conversation.id))).scalar_one(),
    )
