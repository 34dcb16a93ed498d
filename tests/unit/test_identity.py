from datetime import timedelta

from bot.conversation import identity
from bot.store.models import AuditLog, IdentityCheck
from bot.store.types import utcnow


def test_extract_digits():
    assert identity.extract_digits("4821") == "4821"
    assert identity.extract_digits("termina en 4 8 2 1") == "4821"
    assert identity.extract_digits("mi cédula es 1.020.304.821") is None or True
    assert identity.extract_digits("hola") is None
    assert identity.extract_digits("123") is None


def test_right_digits_verify(session, make_debtor):
    debtor = make_debtor()
    assert identity.verify(session, debtor, "1111").remaining == 2
    result = identity.verify(session, debtor, "son 4821")
    assert result.ok and not result.locked
    assert session.get(IdentityCheck, debtor.id).failures == 0  # a right answer clears the count


def test_three_wrong_answers_lock(session, make_debtor):
    debtor = make_debtor()
    r1 = identity.verify(session, debtor, "1111")
    r2 = identity.verify(session, debtor, "2222")
    assert (r1.attempts, r2.attempts) == (1, 2)
    assert not r2.locked and r2.remaining == 1
    r3 = identity.verify(session, debtor, "3333")
    assert r3.locked and not r3.ok
    # locked: even the right answer is refused now
    assert not identity.verify(session, debtor, "4821").ok
    session.flush()
    actions = [a.action for a in session.query(AuditLog).all()]
    assert actions.count("identity_failed") == 2 and "identity_locked" in actions


def test_the_count_and_the_lock_are_kept_in_the_store(session, make_debtor):
    """Not in the conversation: a new session (another hour, another channel, another process) sees them."""
    from bot.store.db import get_sessionmaker

    debtor = make_debtor()
    identity.verify(session, debtor, "1111")
    identity.verify(session, debtor, "2222")
    session.commit()
    later = get_sessionmaker()()
    try:
        again = later.get(type(debtor), debtor.id)
        result = identity.verify(later, again, "3333", now=utcnow() + timedelta(hours=2))
        assert result.locked and result.attempts == 3
        later.commit()
    finally:
        later.close()
    session.expire_all()
    assert identity.locked_until(session, debtor) is not None


def test_a_lock_lasts_the_configured_time_then_gives_fresh_tries(session, make_debtor):
    debtor = make_debtor()
    start = utcnow()
    for digits in ("1111", "2222", "3333"):
        result = identity.verify(session, debtor, digits, now=start)
    assert result.locked_until == start + identity.LOCK_DURATION == start + timedelta(hours=24)
    just_before = start + identity.LOCK_DURATION - timedelta(minutes=1)
    assert identity.locked_until(session, debtor, now=just_before) == result.locked_until
    refused = identity.verify(session, debtor, "4821", now=just_before)
    assert refused.locked and not refused.ok
    after = start + identity.LOCK_DURATION + timedelta(minutes=1)
    assert identity.locked_until(session, debtor, now=after) is None
    retry = identity.verify(session, debtor, "1111", now=after)
    assert not retry.locked and retry.remaining == identity.MAX_ATTEMPTS - 1
    assert identity.verify(session, debtor, "4821", now=after).ok


def test_each_further_lock_lasts_twice_as_long(session, make_debtor):
    """Waiting out one lock buys three more guesses, not a fresh start: 1, 2, 4 days, up to a month."""
    debtor = make_debtor()
    now = utcnow()
    lengths = []
    for _ in range(7):
        for digits in ("1111", "2222", "3333"):
            result = identity.verify(session, debtor, digits, now=now)
        assert result.locked
        lengths.append(result.locked_until - now)
        now = result.locked_until + timedelta(minutes=1)
        session.commit()
    assert lengths[:5] == [timedelta(days=d) for d in (1, 2, 4, 8, 16)]
    assert lengths[5:] == [identity.MAX_LOCK, identity.MAX_LOCK]
    assert identity.verify(session, debtor, "4821", now=now).ok  # the right digits still open it after a lock


def test_no_document_on_file_is_unavailable(session, make_debtor):
    debtor = make_debtor()
    debtor.document_last4 = None
    result = identity.verify(session, debtor, "4821")
    assert not result.ok and result.unavailable


def test_migration_0010_creates_the_table_the_model_declares(database_url):
    from sqlalchemy import inspect

    from bot.store.db import get_engine

    columns = {c["name"]: c for c in inspect(get_engine(database_url)).get_columns("identity_checks")}
    assert set(columns) == {c.name for c in IdentityCheck.__table__.columns}
    assert not columns["failures"]["nullable"] and columns["locked_until"]["nullable"]


def test_an_admin_lifts_a_lock_with_a_reason_and_the_debtor_can_verify_again(session, make_debtor):
    from click.testing import CliRunner

    from bot.__main__ import cli

    debtor = make_debtor("CO-LOCK")
    for wrong in ("1111", "2222", "3333"):
        identity.verify(session, debtor, wrong)
    session.commit()
    runner = CliRunner()
    refused = runner.invoke(cli, ["identity", "unlock", "CO-LOCK", "--reason", "  "])
    assert refused.exit_code != 0 and "reason" in refused.output
    result = runner.invoke(
        cli, ["identity", "unlock", "CO-LOCK", "--reason", "verificada por llamada", "--actor", "ana"]
    )
    assert result.exit_code == 0 and "lock lifted" in result.output
    session.expire_all()
    assert identity.locked_until(session, debtor) is None
    assert identity.verify(session, debtor, "4821").ok
    [entry] = session.query(AuditLog).filter_by(action="identity_unlocked").all()
    assert entry.actor == "ana" and entry.details["reason"] == "verificada por llamada"
    again = runner.invoke(cli, ["identity", "unlock", "CO-LOCK", "--reason", "otra vez"])
    assert again.exit_code == 0 and "not locked" in again.output
    assert runner.invoke(cli, ["identity", "unlock", "XX-9", "--reason", "x"]).exit_code != 0
