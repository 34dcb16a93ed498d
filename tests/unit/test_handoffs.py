from bot.conversation import handoffs
from bot.store.models import Conversation, Handoff


def test_open_is_idempotent_and_sets_mode(session, make_debtor):
    debtor = make_debtor()
    h1, created1 = handoffs.open(session, debtor.phone, debtor, "request_human", "quiere hablar con alguien")
    h2, created2 = handoffs.open(session, debtor.phone, debtor, "dispute", "otra vez")
    session.commit()
    assert created1 and not created2 and h1.id == h2.id
    assert session.query(Handoff).count() == 1
    conv = session.query(Conversation).filter_by(phone=debtor.phone).one()
    assert conv.mode == "human" and conv.debtor_id == debtor.id


def test_close_gives_back_and_allows_new(session, make_debtor):
    debtor = make_debtor()
    h1, _ = handoffs.open(session, debtor.phone, debtor, "request_human")
    handoffs.give_back(session, debtor.phone)
    conv = session.query(Conversation).filter_by(phone=debtor.phone).one()
    assert h1.status == "closed" and conv.mode == "bot"
    h2, created = handoffs.open(session, debtor.phone, debtor, "dispute")
    session.commit()
    assert created and h2.id != h1.id and conv.mode == "human"


def test_open_without_debtor(session):
    h, created = handoffs.open(session, "+573009998877", None, "fallback")
    session.commit()
    assert created and h.debtor_id is None
