"""Outbound: the real twilio SDK against a local Messages API double, retries, idempotency,
permanent errors, WhatsApp's 24-hour window and templates, the per-sender rate limit."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.conversation.handoffs import get_or_create_conversation
from bot.messaging import outbox, rate_limit, templates
from bot.platform.queue import Retry
from bot.providers import ports
from bot.providers.factory import set_messaging_provider
from bot.providers.ports import ProviderError
from bot.providers.sandbox_messaging import SandboxMessaging
from bot.providers.twilio import TwilioMessaging
from bot.store.models import Message
from tests import factories
from tests.worker.doubles import set_env, wait_for

PHONE = "+573001112233"


@pytest.fixture()
def twilio(twilio_double, redis_client):
    set_env(
        TWILIO_API_BASE=twilio_double.url,
        MESSAGING_PROVIDER="twilio",
        RECOBRA_RATE_WHATSAPP="1000",
        RECOBRA_RATE_SMS="1000",
    )
    from bot.platform.config import get_settings

    provider = TwilioMessaging(get_settings())
    set_messaging_provider(provider)
    yield twilio_double
    set_messaging_provider(None)
    set_env(TWILIO_API_BASE=None, MESSAGING_PROVIDER="sandbox", RECOBRA_RATE_WHATSAPP=None, RECOBRA_RATE_SMS=None)


def _conversation(session, make_debtor, window_open=True, **debtor):
    d = make_debtor("CO-1", phone=PHONE, **debtor)
    conv = get_or_create_conversation(session, PHONE, d)
    conv.last_channel = "whatsapp"
    conv.last_whatsapp_inbound_at = outbox.utcnow() - (timedelta(hours=1) if window_open else timedelta(hours=30))
    session.commit()
    return d, conv


def test_whatsapp_send_through_the_real_sdk(session, make_debtor, twilio):
    _, conv = _conversation(session, make_debtor)
    [row] = outbox.prepare_text(session, conv, "Hola *Ana*, tu saldo es $185.000", reply=True)
    session.commit()
    assert outbox.deliver_pending(session, conv.id) == 1
    [req] = twilio.requests
    assert req["To"] == [f"whatsapp:{PHONE}"] and req["From"] == ["whatsapp:+15005550006"]
    assert req["Body"] == ["Hola *Ana*, tu saldo es $185.000"]  # WhatsApp keeps its markup
    assert req["StatusCallback"] == ["http://localhost:8000/webhooks/twilio/status"]
    session.refresh(row)
    assert row.provider_sid.startswith("SM") and row.status == "queued" and row.attempts == 1


def test_429_then_success_is_sent_once(session, make_debtor, twilio):
    _, conv = _conversation(session, make_debtor)
    conv.last_channel = "sms"
    twilio.script = [429, (503, {"code": 20500})]
    [row] = outbox.prepare_text(session, conv, "Su pago está registrado", reply=True)
    session.commit()
    outbox.deliver_pending(session, conv.id, attempts=3)
    assert len(twilio.requests) == 3
    assert twilio.requests[-1]["To"] == [PHONE] and twilio.requests[-1]["Body"] == ["Su pago esta registrado"]
    session.refresh(row)
    assert row.provider_sid and row.attempts == 3 and row.status == "queued"
    assert (row.encoding, row.segments) == ("GSM-7", 1)
    outbox.deliver_pending(session, conv.id)  # a redelivered job: nothing twice
    assert len(twilio.requests) == 3


def test_throttled_beyond_the_in_process_attempts_is_a_queue_retry(session, make_debtor, twilio):
    _, conv = _conversation(session, make_debtor)
    twilio.script = [429, 429, 429]
    (first,) = outbox.prepare_text(session, conv, "uno", reply=True)
    (second,) = outbox.prepare_text(session, conv, "dos", reply=True)
    session.commit()
    with pytest.raises(Retry):
        outbox.deliver_pending(session, conv.id, attempts=2)
    session.refresh(first)
    session.refresh(second)
    assert first.provider_sid is None and first.status == "pending"
    assert len(twilio.requests) == 2  # the second message waited its turn
    outbox.deliver_pending(session, conv.id)
    bodies = [r["Body"][0] for r in twilio.requests]
    assert bodies == ["uno", "uno", "uno", "uno", "dos"]  # 429, 429 | 429, sent | sent


@pytest.mark.parametrize(
    "code,contact_status",
    [("21211", "invalid_number"), ("21610", "unsubscribed"), ("21614", "landline"), ("30006", "landline")],
)
def test_permanent_errors_are_recorded_and_reflected(session, make_debtor, twilio, code, contact_status):
    debtor, conv = _conversation(session, make_debtor)
    twilio.script = [(400, {"code": int(code), "message": "nope"})]
    [row] = outbox.prepare_text(session, conv, "hola", reply=True)
    session.commit()
    outbox.deliver_pending(session, conv.id)
    session.refresh(row)
    session.refresh(debtor)
    assert (row.status, row.error_code, row.provider_sid) == ("failed", code, None)
    assert debtor.contact_status == contact_status
    outbox.deliver_pending(session, conv.id)
    assert len(twilio.requests) == 1  # never retried


def test_outside_the_window_falls_back_to_sms(session, make_debtor, twilio):
    _, conv = _conversation(session, make_debtor, window_open=False)
    rows = outbox.prepare_text(session, conv, "Un asesor revisó tu caso: puedes pagar en cuotas.", author="agent")
    session.commit()
    assert [r.channel for r in rows] == ["sms"]
    outbox.deliver_pending(session, conv.id)
    assert twilio.requests[0]["To"] == [PHONE]


def test_outside_the_window_without_sms_sends_an_approved_template(session, make_debtor, twilio):
    debtor, conv = _conversation(session, make_debtor, window_open=False)
    debtor.contact_status = "landline"  # no SMS possible
    session.commit()
    rows = outbox.prepare_text(session, conv, "Hola, ¿pudiste revisar la propuesta?", author="agent")
    session.commit()
    assert [(r.channel, r.status, r.error_code) for r in rows] == [
        ("whatsapp", "failed", "63016"),
        ("whatsapp", "pending", None),
    ]
    outbox.deliver_pending(session, conv.id)
    [req] = twilio.requests
    assert "Body" not in req
    assert req["ContentSid"] == ["HX00000000000000000000000000000001"]
    assert json.loads(req["ContentVariables"][0]) == {"1": "Financiera Aurora"}  # no name before verification


def test_template_send_has_content_sid_and_variables_only(session, make_debtor, twilio):
    _, conv = _conversation(session, make_debtor, window_open=False)
    row = outbox.prepare_template(
        session, conv, "payment_reminder", {"name": "Ana", "business": "Financiera Aurora", "due_date": "10/12/2026"}
    )
    session.commit()
    outbox.deliver_pending(session, conv.id)
    [req] = twilio.requests
    assert "Body" not in req and req["ContentSid"] == ["HX00000000000000000000000000000002"]
    assert row.body == templates.get_template("payment_reminder").preview.replace("{{1}}", "Financiera Aurora")
    assert "10/12/2026" not in row.body and "Ana" not in row.body  # the transcript shows the approved text


def test_long_sms_is_split_at_sentences(session, make_debtor, twilio):
    _, conv = _conversation(session, make_debtor)
    conv.last_channel = "sms"
    sentence = "Esta es una frase de prueba con bastantes palabras para llenar el mensaje. "
    rows = outbox.prepare_text(session, conv, sentence * 30, reply=True)
    assert len(rows) == 2
    for r in rows:
        assert r.body.endswith(".") and r.segments <= 10 and len(r.body) <= 1600


def test_status_order(db):
    fwd = outbox.status_moves_forward
    assert fwd("queued", "sent") and fwd("sent", "delivered") and fwd("delivered", "read")
    assert not fwd("delivered", "sent") and not fwd("read", "delivered") and not fwd("sent", "queued")
    assert fwd("sent", "undelivered") and not fwd("failed", "delivered") and not fwd("undelivered", "read")
    assert not fwd("delivered", "failed")


def test_sandbox_provider_plays_status_callbacks_and_outbox(session, make_debtor, redis_client):
    provider = SandboxMessaging(redis_client, delays=(0.0, 0.0, 0.0), ticker=False)
    set_messaging_provider(provider)
    try:
        _, conv = _conversation(session, make_debtor)
        [row] = outbox.prepare_text(session, conv, "hola", reply=True)
        session.commit()
        outbox.deliver_pending(session, conv.id)
        provider.advance(time.time() + 1)  # (another process's ticker may play some of them)

        def read():
            session.expire_all()
            return session.get(Message, row.id).status == "read"

        wait_for(read, timeout=5)
        [item] = provider.outbox(PHONE)
        assert (item["to"], item["channel"], item["body"], item["status"]) == (PHONE, "whatsapp", "hola", "read")
    finally:
        set_messaging_provider(None)


def test_sandbox_magic_numbers_fail_like_twilio(redis_client):
    provider = SandboxMessaging(redis_client, ticker=False)
    with pytest.raises(ProviderError) as err:
        provider.send("+15005550001", "sms", body="hola")
    assert err.value.code == "21211" and not err.value.retryable


def test_rate_limit_is_shared_and_paces_sends(redis_client):
    set_env(RECOBRA_RATE_SMS="10", RECOBRA_BURST_SMS="2")
    try:
        a, b = rate_limit.RateLimiter(redis_client), rate_limit.RateLimiter(redis_client)  # two "processes"
        assert a.try_acquire("+1500", "sms") == 0
        assert b.try_acquire("+1500", "sms") == 0
        assert a.try_acquire("+1500", "sms") > 0  # the bucket is shared
        assert a.try_acquire("+1600", "sms") == 0  # per sender
        start = time.monotonic()
        for _ in range(5):
            assert b.acquire("+1500", "sms", max_wait=5)
        assert time.monotonic() - start >= 0.35  # 10/s
        assert a.try_acquire("+1700", "sms", cost=3) == 0  # a 3-segment SMS borrows ...
        assert a.try_acquire("+1700", "sms") > 0.1  # ... and the next one pays for it
    finally:
        set_env(RECOBRA_RATE_SMS=None, RECOBRA_BURST_SMS=None)


@pytest.mark.slow
def test_no_second_carries_more_than_the_senders_limit(redis_client):
    """Eight threads of two "processes" send as fast as the limiter lets them: no 1-second window holds more than
    the limit (with the burst at the limit a window held nearly twice it), and waiting threads lose no slots."""
    import threading

    set_env(RECOBRA_RATE_WHATSAPP="40")
    try:
        limiters = [rate_limit.RateLimiter(redis_client), rate_limit.RateLimiter(redis_client)]
        sent: list[float] = []
        lock = threading.Lock()

        def sender(limiter: rate_limit.RateLimiter) -> None:
            for _ in range(10):
                slot = limiter.acquire("+1800", "whatsapp", max_wait=10)
                assert slot
                with lock:
                    sent.append(time.monotonic())
                slot.finished()

        threads = [threading.Thread(target=sender, args=(limiters[i % 2],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sent.sort()
        most = max(sum(1 for t in sent[i:] if t < start + 1.0) for i, start in enumerate(sent))
        assert most <= 40, most
        assert len(sent) / (sent[-1] - sent[0]) > 40 * rate_limit.PACE * 0.9  # the pace holds
    finally:
        set_env(RECOBRA_RATE_WHATSAPP=None)


@pytest.mark.slow
def test_a_send_still_in_flight_keeps_its_place_in_the_senders_second(redis_client):
    """A send whose call to Twilio has not ended still counts: the next sends wait for it instead of arriving
    together with it (that is how 86 reached Twilio in one second against 80)."""
    import threading

    set_env(RECOBRA_RATE_WHATSAPP="4")
    try:
        limiter = rate_limit.RateLimiter(redis_client)
        slow = [limiter.acquire("+1900", "whatsapp", max_wait=10) for _ in range(4)]  # 4 calls still running
        assert all(slow)
        got: list[float] = []
        fifth = threading.Thread(target=lambda: got.append(bool(limiter.acquire("+1900", "whatsapp", max_wait=10))))
        fifth.start()
        fifth.join(timeout=1.5)
        assert fifth.is_alive() and not got, "the fifth send waited for the four in flight"
        ended = time.monotonic()
        slow[0].finished()
        fifth.join(timeout=5)
        assert got == [True]
        assert time.monotonic() - ended >= 0.9  # a second after the first call ended, not at once
    finally:
        set_env(RECOBRA_RATE_WHATSAPP=None)


def test_agent_message_is_queued_and_sent_by_the_send_job(session, make_debtor, sandbox_provider, run_worker):
    from bot.worker.outbound import send_agent_message

    _, conv = _conversation(session, make_debtor)
    run_worker()
    send_agent_message(session, conv, "Hola Ana, soy Laura, tu asesora.", agent_id=None)

    def sent():
        session.expire_all()
        rows = list(session.execute(select(Message).where(Message.author == "agent")).scalars())
        return rows and rows[0].provider_sid

    wait_for(sent, timeout=10)
    assert sandbox_provider.outbox(PHONE)[0]["body"] == "Hola Ana, soy Laura, tu asesora."


STATUSES = ["queued", "sending", "sent", "delivered", "read", "failed", "undelivered", "accepted"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(STATUSES), max_size=12))
def test_any_order_of_callbacks_never_moves_a_status_backwards(callbacks):
    status = "pending"
    seen = []
    for new in callbacks:
        if outbox.status_moves_forward(status, new):
            status = new
        seen.append(status)
    ranks = [ports.STATUS_RANK.get(s, 0) for s in seen if s not in ports.FAILED_STATUSES]
    assert ranks == sorted(ranks)
    first_failure = next((i for i, s in enumerate(seen) if s in ports.FAILED_STATUSES), None)
    if first_failure is not None:
        assert seen[first_failure:] == [seen[first_failure]] * (len(seen) - first_failure)  # terminal


def test_sweepers_queue_again_what_redis_lost(session, make_debtor, redis_client):
    from bot.platform.redis_client import get_queue
    from bot.worker.inbound import sweep_unqueued
    from bot.worker.outbound import sweep_pending

    _, conv = _conversation(session, make_debtor)
    old = outbox.utcnow() - timedelta(minutes=10)
    received = {"debtor_id": None, "status": "received"}  # inbound rows as stored, not yet processed
    factories.message(
        session, conv, "debtor", "hola", provider_sid="SMlost", from_phone=PHONE, created_at=old, **received
    )
    [row] = outbox.prepare_text(session, conv, "respuesta", reply=True)
    row.created_at = old
    session.commit()
    # a row without a sender (not written by the webhook) is set aside, and does not stop the ones after it
    factories.message(session, conv, "debtor", "?", created_at=old - timedelta(minutes=1), **received)
    session.commit()
    assert sweep_unqueued() == 1 and sweep_pending() == 1
    assert sweep_unqueued() == 0 and sweep_pending() == 0  # not again and again
    session.expire_all()
    orphan = session.execute(
        select(Message).where(Message.from_phone.is_(None), Message.direction == "in")
    ).scalar_one()
    assert (orphan.status, orphan.error_code) == ("failed", "no_sender")
    q = get_queue()
    kinds = [e[1][b"kind"] for p in range(q.partitions) for e in redis_client.xrange(q.stream(p))]
    assert sorted(kinds) == [b"inbound_message", b"send_message"]


@pytest.fixture()
def impatient_twilio(twilio):
    from bot.platform.config import get_settings

    provider = TwilioMessaging(get_settings(), timeout=0.5)
    set_messaging_provider(provider)
    return twilio


def test_an_answer_lost_after_twilio_accepted_is_not_sent_twice(session, make_debtor, impatient_twilio):
    twilio = impatient_twilio
    _, conv = _conversation(session, make_debtor)
    twilio.script = ["hang"]
    [row] = outbox.prepare_text(session, conv, "Tu enlace de pago", reply=True)
    session.commit()
    with pytest.raises(Retry):
        outbox.deliver_pending(session, conv.id, attempts=1)
    session.refresh(row)
    assert (row.provider_sid, row.error_code, row.status) == (None, "ambiguous", "pending")
    outbox.deliver_pending(session, conv.id)  # the redelivered job asks Twilio first
    session.refresh(row)
    assert len(twilio.requests) == 1 and twilio.lists == 1
    assert row.provider_sid == twilio.created[0]["sid"] and row.error_code is None


def test_a_request_lost_before_twilio_is_sent_again(session, make_debtor, impatient_twilio):
    twilio = impatient_twilio
    _, conv = _conversation(session, make_debtor)
    twilio.script = ["lost"]
    [row] = outbox.prepare_text(session, conv, "Tu enlace de pago", reply=True)
    session.commit()
    with pytest.raises(Retry):
        outbox.deliver_pending(session, conv.id, attempts=1)
    outbox.deliver_pending(session, conv.id)
    session.refresh(row)
    assert len(twilio.requests) == 2 and twilio.lists == 1
    assert row.provider_sid == twilio.created[0]["sid"]


def test_a_message_twilio_accepted_while_the_database_went_away_is_not_sent_twice(
    session, make_debtor, twilio, monkeypatch
):
    """Twilio accepted the message, then recording its sid failed (PostgreSQL restarting): the job is retried and
    asks Twilio before sending again (issue #24 §3; tests/faults/run.py found two replies where one was due)."""
    from sqlalchemy.exc import OperationalError

    _, conv = _conversation(session, make_debtor)
    [row] = outbox.prepare_text(session, conv, "Laura, este es su saldo pendiente", reply=True)
    session.commit()
    record = outbox._record_result

    def database_gone(*args, **kwargs):
        raise OperationalError("UPDATE messages", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(outbox, "_record_result", database_gone)
    with pytest.raises(OperationalError):
        outbox.deliver_pending(session, conv.id)
    session.rollback()
    monkeypatch.setattr(outbox, "_record_result", record)
    outbox.deliver_pending(session, conv.id)  # the job again, the database back
    session.refresh(row)
    assert len(twilio.created) == 1 and twilio.lists == 1
    assert row.provider_sid == twilio.created[0]["sid"] and row.error_code is None


def test_a_worker_that_lost_its_partition_does_not_send(session, make_debtor, twilio, redis_client):
    """The fence in the outbox: a job whose lease was taken (it paused longer than the lease) sends nothing;
    the row stays pending for the new holder, which sends it once."""
    from bot.platform.queue import Lease, LeaseLost, fenced_by

    _, conv = _conversation(session, make_debtor)
    [row] = outbox.prepare_text(session, conv, "hola", reply=True)
    session.commit()
    lease = Lease(redis_client, "recobra:q:inbound:0:lease", "old", 5_000)
    assert lease.acquire()
    redis_client.set(lease.key, "new#999")  # expired, and another worker took it
    with fenced_by(lease), pytest.raises(LeaseLost):
        outbox.deliver_pending(session, conv.id)
    assert twilio.requests == []
    session.refresh(row)
    assert row.status == "pending" and row.provider_sid is None
    assert outbox.deliver_pending(session, conv.id) == 1  # the new holder (no lease here: not a queue job)
    assert len(twilio.requests) == 1
