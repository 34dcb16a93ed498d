from bot.billing import countries
from bot.conversation import contact, optout
from bot.store.models import AuditLog


def test_opt_out_and_in(session, make_debtor):
    debtor = make_debtor()
    assert optout.opt_out(session, debtor, channel="whatsapp", text="BAJA")
    assert not optout.opt_out(session, debtor)
    assert debtor.opted_out and debtor.opted_out_at is not None
    assert optout.opt_in(session, debtor)
    assert not debtor.opted_out
    session.flush()
    assert [a.action for a in session.query(AuditLog).order_by(AuditLog.id)] == ["opted_out", "opted_in"]


def test_wrong_number(session, make_debtor):
    debtor = make_debtor()
    assert contact.mark_wrong_number(session, debtor)
    assert debtor.contact_status == "wrong_number"
    assert not contact.mark_wrong_number(session, debtor)


def test_country_settings():
    assert countries.may_ask_reason("CO") is False
    assert countries.may_ask_reason("MX") is True
    assert "OXXO" in countries.payment_methods_text("MX")
    assert "Efecty" in countries.payment_methods_text("co")
    assert countries.settings("ZZ").payment_methods  # default
    assert countries.join_words(["a", "b", "c"]) == "a, b o c"
