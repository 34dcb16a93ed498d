"""Issue #24 §3: faults against `make run-scaled`, each during live conversations, with what they cost as one table.

    .venv/bin/python -m tests.faults.run                          # every scenario, 50 debtors each (`make faults`)
    .venv/bin/python -m tests.faults.run --only kill-worker --debtors 10 --json /tmp/f.json

The stack is tests/faults/stack.py's (run-scaled on a PostgreSQL cluster of its own, the real Twilio and Mercado
Pago SDKs against local doubles). Each conversation scenario starts its own debtors' conversations (signed
webhooks; each debtor writes the next message once the previous one is answered, after a short pause, and posts
again with the same MessageSid when the web edge did not acknowledge, as Twilio retries) and breaks one thing a few
seconds in. The payment scenario pays the links those debtors asked for through a failing Mercado Pago API with
duplicate and out-of-order notifications; the campaign scenario kills a real `python -m bot campaign run`
half-way and runs it again.

Counted at the end of the whole run (a duplicate may come late), per scenario:
- inbound lost: acknowledged messages that are not in the store, or never answered (status not processed);
- replies duplicated / missing: replies beyond / short of what the same conversation gets undisturbed (a lone
  debtor's, measured first), as Twilio's API received them;
- off script: conversations whose replies differ from the undisturbed one in any text;
- reset: conversations whose Rasa tracker (its SQL store) shows a second session start or fewer debtor turns than
  were sent (Rasa starts an empty tracker when it cannot load one), and Rasa turns run twice (more);
- reminders sent twice / missing, payments applied twice / missing;
- recovery: seconds until the broken part answers again, and the longest any debtor waited for a reply.
Written to var/faults.json (or --json). Exit status 1 when any count that must be 0 is not.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.faults.stack import MP_SECRET, TWILIO_TOKEN, FaultStack  # noqa: E402

LAST4 = "4321"
SCRIPT = ["hola buenas tardes", LAST4, "cuánto debo?", "me quedé sin trabajo, le pago el viernes", "sí"]
PAY_SCRIPT = ["hola", LAST4, "mándeme el link de pago"]
THINK_S = 1.5
TURN_WAIT_S = 150.0  # a reply later than this is "missing" for the figures (the worker's own retries are shorter)
FAULT_AT_S = 4.0
ASK_AGAIN = "Disculpe, tuve un problema para responder su mensaje. ¿Me lo puede enviar de nuevo, por favor?"
MUST_BE_ZERO = (
    "inbound_lost",
    "replies_duplicated",
    "replies_missing",
    "rasa_turns_twice",
    "promises_twice",
    "reset",
    "reminders_twice",
    "reminders_missing",
    "payments_twice",
    "payments_missing",
)


@dataclass
class Outcome:
    scenario: str
    what: str
    debtors: int = 0
    messages: int = 0
    redelivered: int = 0  # webhooks posted again because the first delivery was not acknowledged
    asked_again: int = 0  # "please write again" (the bot answered nothing), and the debtor did
    inbound_lost: int = 0
    replies_duplicated: int = 0
    replies_missing: int = 0
    off_script: int = 0
    reset: int = 0
    rasa_turns_twice: int = 0
    promises_twice: int = 0
    reminders_twice: int = 0
    reminders_missing: int = 0
    payments_twice: int = 0
    payments_missing: int = 0
    back_after_s: float | None = None
    worst_wait_s: float | None = None
    p95_wait_s: float | None = None
    notes: list[str] = field(default_factory=list)
    # not printed: what the end-of-run count needs
    phones: list[str] = field(default_factory=list, repr=False)
    sids: list[str] = field(default_factory=list, repr=False)
    payment_ids: dict[str, bool] = field(default_factory=dict, repr=False)  # Mercado Pago id -> approved
    turns: dict[str, int] = field(default_factory=dict, repr=False)
    posted: dict[str, int] = field(default_factory=dict, repr=False)

    def failed(self) -> list[str]:
        return [name for name in MUST_BE_ZERO if getattr(self, name)]


# --- seeding --------------------------------------------------------------------------------------------------
def seed_debtors(prefix: str, phones: list[str], due: date) -> None:
    from bench.edge_bench import seed_debtors as seed

    seed(prefix, phones, due.isoformat(), LAST4)


# --- conversations --------------------------------------------------------------------------------------------
class Conversations:
    def __init__(self, stack: FaultStack) -> None:
        import requests
        from twilio.request_validator import RequestValidator

        self.stack = stack
        self.url = f"{stack.url}/webhooks/twilio/messages"
        self.validator = RequestValidator(TWILIO_TOKEN)
        self.local = threading.local()
        self.requests = requests
        self.expected: dict[tuple[str, ...], list[list[str]]] = {}  # script -> replies of each turn, undisturbed

    def post(self, phone: str, text: str, sid: str, outcome: Outcome) -> bool:
        """Deliver like Twilio: again with the same MessageSid while the edge does not acknowledge (60 s)."""
        from bench.edge_bench import post_signed

        session = getattr(self.local, "session", None) or self.requests.Session()
        self.local.session = session
        deadline = time.monotonic() + 60
        first = True
        while time.monotonic() < deadline:
            try:
                if post_signed(session, self.url, self.validator, phone, text, sid=sid, timeout=15).status_code == 200:
                    return True
            except self.requests.RequestException:
                session = self.local.session = self.requests.Session()
            if first:
                outcome.redelivered += 1
                first = False
            time.sleep(1)
        return False

    def calibrate(self, script: list[str], phone: str) -> list[list[str]]:
        """One debtor alone: the replies each turn gets (until Twilio's API is quiet for 2 s)."""
        probe = Outcome("calibration", "")
        replies: list[list[str]] = []
        for text in script:
            before = self.stack.twilio.count(phone)
            self.post(phone, text, "SM" + secrets.token_hex(16), probe)
            deadline, last, quiet = time.monotonic() + 60, before, time.monotonic()
            while time.monotonic() < deadline:
                n = self.stack.twilio.count(phone)
                if n != last:
                    last, quiet = n, time.monotonic()
                if n > before and time.monotonic() - quiet > 2.0:
                    break
                time.sleep(0.05)
            replies.append(self.stack.twilio.bodies(phone)[before:])
        if not all(replies):
            raise SystemExit(f"an undisturbed conversation went unanswered ({replies}): see {self.stack.tmp}")
        self.expected[tuple(script)] = replies
        return replies

    def run(self, script: list[str], phones: list[str], outcome: Outcome, fault: Callable[[], None] | None) -> None:
        expected = self.expected[tuple(script)]
        cumulative = [sum(len(r) for r in expected[: k + 1]) for k in range(len(script))]
        waits: list[float] = []
        lock = threading.Lock()

        def converse(i: int, phone: str) -> None:
            time.sleep(i * 0.08)  # the debtors start spread over a few seconds
            twilio = self.stack.twilio
            base = twilio.count(phone, skip=ASK_AGAIN)
            for k, text in enumerate(script):
                sent = time.monotonic()
                for _attempt in range(3):  # a person asked to write again does so
                    sid = "SM" + secrets.token_hex(16)
                    apologies = twilio.count(phone) - twilio.count(phone, skip=ASK_AGAIN)
                    if not self.post(phone, text, sid, outcome):
                        with lock:
                            outcome.notes.append(f"{phone} turn {k}: never acknowledged")
                        return
                    with lock:
                        outcome.sids.append(sid)
                        outcome.turns[phone] = k + 1
                        outcome.posted[phone] = outcome.posted.get(phone, 0) + 1
                    while twilio.count(phone, skip=ASK_AGAIN) - base < cumulative[k]:
                        if twilio.count(phone) - twilio.count(phone, skip=ASK_AGAIN) > apologies:
                            break
                        if time.monotonic() - sent > TURN_WAIT_S:
                            with lock:
                                outcome.notes.append(f"{phone} turn {k}: no reply within {TURN_WAIT_S:g} s")
                            return
                        time.sleep(0.05)
                    else:
                        break
                    with lock:
                        outcome.asked_again += 1
                with lock:
                    waits.append(time.monotonic() - sent)
                time.sleep(THINK_S)

        injector = None
        if fault is not None:

            def inject() -> None:
                time.sleep(FAULT_AT_S)
                try:
                    fault()
                except Exception as exc:  # the table says so rather than the run dying
                    outcome.notes.append(f"fault injection failed: {exc!r}")

            injector = threading.Thread(target=inject, daemon=True)
            injector.start()
        with ThreadPoolExecutor(max_workers=max(1, len(phones))) as pool:
            list(pool.map(lambda a: converse(*a), enumerate(phones)))
        if injector is not None:
            injector.join(600)
        outcome.debtors, outcome.phones = len(phones), phones
        outcome.messages = len(outcome.sids)
        if waits:
            waits.sort()
            outcome.worst_wait_s = round(waits[-1], 2)
            outcome.p95_wait_s = round(waits[int(0.95 * (len(waits) - 1))], 2)


# --- the end-of-run count -------------------------------------------------------------------------------------
def count_conversations(stack: FaultStack, outcome: Outcome, expected: list[list[str]]) -> None:
    from sqlalchemy import bindparam, func, select, text

    from bot.store import session_scope
    from bot.store.models import Debtor, Message, Promise

    undisturbed = [body for turn in expected for body in turn]
    with session_scope() as session:
        rows = dict(
            session.execute(
                select(Message.provider_sid, Message.status).where(Message.provider_sid.in_(outcome.sids))
            ).all()
        )
        promises = dict(
            session.execute(
                select(Debtor.phone, func.count(Promise.id))
                .join(Promise, Promise.debtor_id == Debtor.id)
                .where(Debtor.phone.in_(outcome.phones))
                .group_by(Debtor.phone)
            ).all()
        )
        tracker = {
            sender: (int(users), int(starts))
            for sender, users, starts in session.execute(
                text(
                    "SELECT sender_id, SUM(CASE WHEN type_name = 'user' THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN type_name = 'session_started' THEN 1 ELSE 0 END) FROM events "
                    "WHERE sender_id IN :phones GROUP BY sender_id"  # Rasa's sender id is the debtor's phone
                ).bindparams(bindparam("phones", expanding=True)),
                {"phones": outcome.phones},
            ).all()
        }
    outcome.inbound_lost = sum(1 for sid in outcome.sids if rows.get(sid) != "processed")
    outcome.promises_twice = sum(max(0, n - 1) for n in promises.values())
    for phone in outcome.phones:
        got = stack.twilio.bodies(phone, skip=ASK_AGAIN)
        want = undisturbed[: sum(len(t) for t in expected[: outcome.turns.get(phone, 0)])]
        outcome.replies_duplicated += max(0, len(got) - len(want))
        outcome.replies_missing += max(0, len(want) - len(got))
        if got != want:
            outcome.off_script += 1
            at = next((i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w), min(len(got), len(want)))
            outcome.notes.append(
                f"{phone} off script at reply {at + 1}: got {got[at : at + 1]!r}, "
                f"the undisturbed one {want[at : at + 1]!r}"
            )
        users, starts = tracker.get(phone, (0, 0))
        sent = outcome.posted.get(phone, 0)  # every message posted, a repeat after "write again" included
        if starts > 1 or users < outcome.turns.get(phone, 0):
            outcome.reset += 1
        outcome.rasa_turns_twice += max(0, users - sent)


# --- the scenarios --------------------------------------------------------------------------------------------
def kill(stack: FaultStack, kind: str, outcome: Outcome) -> Callable[[], None]:
    def fault() -> None:
        pid, port = stack.kill(kind)
        outcome.back_after_s = round(stack.wait_back(kind, pid, port), 1)

    return fault


def redis_restart(stack: FaultStack, outcome: Outcome) -> Callable[[], None]:
    def fault() -> None:
        pid = stack.kill_redis()
        outcome.back_after_s = round(stack.wait_redis(pid), 1)

    return fault


def postgres_restart(stack: FaultStack, outcome: Outcome) -> Callable[[], None]:
    def fault() -> None:
        outcome.back_after_s = round(stack.crash_postgres(), 1)

    return fault


def twilio_failing(stack: FaultStack, outcome: Outcome, steps: list[Any]) -> Callable[[], None]:
    def fault() -> None:
        started = time.monotonic()
        with stack.twilio.lock:
            stack.twilio.script = list(steps)
        while stack.twilio.script and time.monotonic() - started < 300:
            time.sleep(0.1)
        outcome.back_after_s = round(time.monotonic() - started, 1)

    return fault


CONVERSATION_SCENARIOS: dict[str, tuple[str, Callable[[FaultStack, Outcome], Callable[[], None]]]] = {
    "kill-web": ("kill -9 of one web process (gunicorn master)", lambda s, o: kill(s, "web", o)),
    "kill-worker": ("kill -9 of one worker", lambda s, o: kill(s, "worker", o)),
    "kill-rasa": ("kill -9 of one Rasa server", lambda s, o: kill(s, "rasa", o)),
    "kill-actions": ("kill -9 of one action server", lambda s, o: kill(s, "actions", o)),
    "redis-restart": ("kill -9 of Redis (append-only file, fsync every second)", redis_restart),
    "postgres-restart": ("PostgreSQL immediate shutdown (crash), 3 s down, started again", postgres_restart),
    "twilio-500": ("Twilio answers 500 to the next 30 sends", lambda s, o: twilio_failing(s, o, [500] * 30)),
    "twilio-429": ("Twilio answers 429 to the next 30 sends", lambda s, o: twilio_failing(s, o, [429] * 30)),
    "twilio-timeout": (
        "Twilio times out on 4 sends (2 accepted before the timeout, 2 not)",
        lambda s, o: twilio_failing(s, o, ["hang", "lost", "hang", "lost"]),
    ),
}
OTHER_SCENARIOS = {
    "mercadopago": "Mercado Pago's API fails, notifications arrive 3 times each and out of order",
    "campaign-killed": "a real `campaign run` killed (kill -9) half-way, then run again",
}
ALL = [*CONVERSATION_SCENARIOS, *OTHER_SCENARIOS]


def mp_notify(stack: FaultStack, payment_id: str, request_id: str) -> int:
    import requests

    from bot.web.mercadopago import sign

    url = f"{stack.url}/webhooks/mercadopago?data.id={payment_id}&type=payment"
    for _ in range(60):  # Mercado Pago retries an unacknowledged notification
        try:
            r = requests.post(
                url,
                json={"type": "payment", "action": "payment.updated", "data": {"id": payment_id}},
                headers={"x-signature": sign(payment_id, request_id, MP_SECRET), "x-request-id": request_id},
                timeout=10,
            )
            if r.status_code == 200:
                return 200
        except requests.RequestException:
            pass
        time.sleep(1)
    return 0


def run_payments(stack: FaultStack, convos: Conversations, phones: list[str]) -> Outcome:
    """Debtors ask for their link; each link is paid (one approved payment, and a rejected attempt before it); Mercado
    Pago's API fails the first fetches; every notification arrives three times (two deliveries, one retry of the
    same delivery), the rejected attempt's after the approved one's."""
    from sqlalchemy import select

    from bot.store import session_scope
    from bot.store.models import Debtor, PaymentLink

    outcome = Outcome("mercadopago", OTHER_SCENARIOS["mercadopago"])
    convos.run(PAY_SCRIPT, phones, outcome, fault=None)
    with session_scope() as session:
        links = session.execute(
            select(Debtor.phone, PaymentLink.reference, PaymentLink.amount)
            .join(PaymentLink, PaymentLink.debtor_id == Debtor.id)
            .where(Debtor.phone.in_(phones))
        ).all()
    outcome.notes.append(f"{len(links)} links asked for by {len(phones)} debtors")
    started = time.monotonic()
    with stack.mp.lock:
        stack.mp.fail_next = [500] * 8
    deliveries: list[tuple[str, str]] = []
    for n, (_phone, reference, amount) in enumerate(links):
        approved, rejected = str(8_100_000 + 2 * n), str(8_100_001 + 2 * n)
        stack.mp.add_payment(rejected, reference, float(amount), status="rejected", status_detail="cc_rejected_other")
        stack.mp.add_payment(approved, reference, float(amount))
        outcome.payment_ids.update({approved: True, rejected: False})
        first = "req-" + secrets.token_hex(6)
        deliveries += [(approved, first), (approved, "req-" + secrets.token_hex(6)), (approved, first)]
        deliveries += [(rejected, "req-" + secrets.token_hex(6))] * 2
    deliveries.reverse()  # the last payment's notifications first, the rejected attempt's after the approval
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda d: mp_notify(stack, *d), deliveries))
    outcome.phones, outcome.debtors = phones, len(phones)
    outcome.messages = len(deliveries)
    approved = [pid for pid, ok in outcome.payment_ids.items() if ok]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(n == 1 for n in applications(approved).values()):
        time.sleep(0.5)
    outcome.back_after_s = round(time.monotonic() - started, 1)
    return outcome


def applications(payment_ids: list[str]) -> dict[str, int]:
    """For each Mercado Pago payment id: how many times it reduced a balance (its allocations not reversed)."""
    from sqlalchemy import func, select

    from bot.store import session_scope
    from bot.store.models import Payment, PaymentAllocation

    with session_scope() as session:
        counted = dict(
            session.execute(
                select(Payment.provider_id, func.count(PaymentAllocation.id))
                .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
                .where(Payment.provider_id.in_(payment_ids), PaymentAllocation.reversed_at.is_(None))
                .group_by(Payment.provider_id)
            ).all()
        )
    return {pid: int(counted.get(pid, 0)) for pid in payment_ids}


def count_payments(stack: FaultStack, outcome: Outcome) -> None:
    """Each approved payment applied exactly once, a rejected attempt never; every balance paid off."""
    from sqlalchemy import select

    from bot.store import session_scope
    from bot.store.models import Debtor, Invoice

    counts = applications(list(outcome.payment_ids))
    approved = {pid for pid, ok in outcome.payment_ids.items() if ok}
    outcome.payments_twice = sum(max(0, n - 1) for pid, n in counts.items() if pid in approved)
    outcome.payments_twice += sum(n for pid, n in counts.items() if pid not in approved)
    outcome.payments_missing = sum(1 for pid in approved if counts[pid] == 0)
    with session_scope() as session:
        owed = sum(
            session.execute(select(Invoice.balance).join(Debtor).where(Debtor.phone.in_(outcome.phones))).scalars(),
            Decimal(0),
        )
    if owed != 0:
        outcome.notes.append(f"balance still owed after every link was paid: {owed}")


def run_campaign(stack: FaultStack, n: int) -> Outcome:
    """N Mexican debtors due for a reminder now; `campaign run` killed once half of them are planned, then run again."""
    from sqlalchemy import func, select

    from bench.outbound_bench import COUNTRY, STAGE_DAYS, pick_zone
    from bot.store import session_scope
    from bot.store.models import ContactAttempt, Debtor, Invoice

    outcome = Outcome("campaign-killed", OTHER_SCENARIOS["campaign-killed"])
    now = datetime.now(timezone.utc)
    zone = pick_zone(now)
    due = now.astimezone(ZoneInfo(zone)).date() - timedelta(days=STAGE_DAYS)
    phones = [f"+52552{i:07d}" for i in range(n)]
    with session_scope() as session:
        for i, phone in enumerate(phones):
            debtor = Debtor(
                external_id=f"CAMP-{i}",
                name=f"Deudor {i}",
                phone=phone,
                whatsapp=True,
                country=COUNTRY,
                timezone=zone,
                language="es",
                contact_status="ok",
                opted_out=False,
            )
            session.add(debtor)
            session.flush()
            session.add(
                Invoice(
                    debtor_id=debtor.id,
                    external_id=f"CAMP-{i}-1",
                    amount=Decimal(150000),
                    balance=Decimal(150000),
                    currency="MXN",
                    original_due_date=due,
                    due_date=due,
                    status="open",
                    reminders_paused=False,
                )
            )
    outcome.phones, outcome.debtors = phones, n

    def planned() -> int:
        with session_scope() as session:
            return int(
                session.execute(
                    select(func.count(ContactAttempt.id)).join(Debtor).where(Debtor.phone.in_(phones))
                ).scalar_one()
            )

    command = [sys.executable, "-m", "bot", "campaign", "run", "--quiet", "--json"]
    started = time.monotonic()
    first = subprocess.Popen(command, cwd=ROOT, env=stack.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while first.poll() is None and planned() < n // 2:
        time.sleep(0.02)
    if first.poll() is None:
        first.kill()
        first.wait()
        outcome.notes.append(f"killed with {planned()} of {n} planned")
    else:
        outcome.notes.append(f"the first run finished before the kill ({planned()} planned): use more debtors")
    second = subprocess.run(command, cwd=ROOT, env=stack.env, capture_output=True, text=True)
    if second.returncode != 0:
        outcome.notes.append(f"the second run failed: {second.stderr[-300:]}")
    last, quiet = -1, time.monotonic()
    while time.monotonic() - quiet < 15 and time.monotonic() - started < 300:
        got = sum(1 for p in phones if stack.twilio.count(p))
        if got != last:
            last, quiet = got, time.monotonic()
        if got == n:
            break
        time.sleep(0.5)
    outcome.back_after_s = round(time.monotonic() - started, 1)
    outcome.messages = n
    return outcome


def count_campaign(stack: FaultStack, outcome: Outcome) -> None:
    counts = [stack.twilio.count(p) for p in outcome.phones]
    outcome.reminders_twice = sum(max(0, c - 1) for c in counts)
    outcome.reminders_missing = sum(1 for c in counts if c == 0)


# --- the table ------------------------------------------------------------------------------------------------
COLUMNS = (
    ("scenario", "scenario", 17),
    ("messages", "msgs", 5),
    ("redelivered", "redeliv", 7),
    ("asked_again", "again", 5),
    ("inbound_lost", "lost", 4),
    ("replies_duplicated", "dup", 4),
    ("replies_missing", "miss", 4),
    ("rasa_turns_twice", "rasa2x", 6),
    ("promises_twice", "prom2x", 6),
    ("reset", "reset", 5),
    ("off_script", "offscr", 6),
    ("reminders_twice", "rem2x", 5),
    ("reminders_missing", "remmiss", 7),
    ("payments_twice", "pay2x", 5),
    ("payments_missing", "paymiss", 7),
    ("back_after_s", "back s", 6),
    ("p95_wait_s", "p95 s", 6),
    ("worst_wait_s", "worst s", 7),
)


def table(outcomes: list[Outcome]) -> list[str]:
    def cell(value: Any) -> str:
        return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    lines = [" ".join(f"{title:>{width}}" if i else f"{title:<{width}}" for i, (_, title, width) in enumerate(COLUMNS))]
    for o in outcomes:
        lines.append(
            " ".join(
                f"{cell(getattr(o, name)):>{width}}" if i else f"{cell(getattr(o, name)):<{width}}"
                for i, (name, _, width) in enumerate(COLUMNS)
            )
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=ALL, help="a scenario (repeatable); default: all")
    parser.add_argument("--debtors", type=int, default=50, help="debtors in conversation per scenario (default 50)")
    parser.add_argument("--campaign", type=int, default=600, help="reminders in the campaign scenario (default 600)")
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "faults.json", help="where to write")
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder (logs) and say where")
    args = parser.parse_args(argv)
    chosen = args.only or ALL

    stack = FaultStack()
    outcomes: list[Outcome] = []
    expected: dict[str, list[list[str]]] = {}
    began = time.monotonic()
    try:
        print(
            f"starting run-scaled on PostgreSQL {stack.postgres.port}, web {stack.web_port} ({stack.tmp})", flush=True
        )
        stack.start()
        print(f"  up in {time.monotonic() - began:.0f} s", flush=True)
        convos = Conversations(stack)
        far = date.today() + timedelta(days=40)  # due later: no campaign stage reaches these debtors
        names = [name for name in chosen if name in CONVERSATION_SCENARIOS]
        batches = {name: [f"+5730066{j:02d}{i:03d}" for i in range(args.debtors)] for j, name in enumerate(ALL)}
        calibration = ["+573006699001", "+573006699002"]
        seed_debtors("FCAL", calibration, far)
        for name in [*names, *(["mercadopago"] if "mercadopago" in chosen else [])]:
            seed_debtors(f"F{ALL.index(name)}", batches[name], far)
        convos.calibrate(SCRIPT, calibration[0])
        if "mercadopago" in chosen:
            convos.calibrate(PAY_SCRIPT, calibration[1])
        for name in names:
            what, make_fault = CONVERSATION_SCENARIOS[name]
            outcome = Outcome(name, what)
            print(f"- {name}: {what}", flush=True)
            convos.run(SCRIPT, batches[name], outcome, make_fault(stack, outcome))
            outcomes.append(outcome)
            expected[name] = convos.expected[tuple(SCRIPT)]
        if "mercadopago" in chosen:
            print(f"- mercadopago: {OTHER_SCENARIOS['mercadopago']}", flush=True)
            outcome = run_payments(stack, convos, batches["mercadopago"])
            outcomes.append(outcome)
        if "campaign-killed" in chosen:
            print(f"- campaign-killed: {OTHER_SCENARIOS['campaign-killed']}", flush=True)
            outcomes.append(run_campaign(stack, args.campaign))
        time.sleep(5)  # a late duplicate is counted
        for outcome in outcomes:
            if outcome.scenario in CONVERSATION_SCENARIOS:
                count_conversations(stack, outcome, expected[outcome.scenario])
            elif outcome.scenario == "mercadopago":
                count_payments(stack, outcome)
            else:
                count_campaign(stack, outcome)
    finally:
        tail = stack.log_tail() if stack.launcher else ""
        stack.stop(keep=args.keep)
    print()
    for line in table(outcomes):
        print(line)
    for o in outcomes:
        for note in o.notes[:5]:
            print(f"  {o.scenario}: {note}")
    failed = {o.scenario: o.failed() for o in outcomes if o.failed()}
    waits = [o.worst_wait_s for o in outcomes if o.worst_wait_s is not None]
    print(
        f"verdict: {'OK' if not failed else 'NOT OK'}: "
        + (", ".join(f"{k} ({', '.join(v)})" for k, v in failed.items()) or "every count that must be 0 is 0")
        + (f"; longest reply wait {max(waits):g} s" if waits else "")
        + f"; {time.monotonic() - began:.0f} s in all"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "verdict": "OK" if not failed else "NOT OK",
                "scenarios": [
                    {
                        k: v
                        for k, v in asdict(o).items()
                        if k not in ("phones", "sids", "turns", "posted", "payment_ids")
                    }
                    for o in outcomes
                ],
                "seconds": round(time.monotonic() - began),
                "median_p95_wait_s": statistics.median([o.p95_wait_s for o in outcomes if o.p95_wait_s] or [0]),
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    print(f"written to {args.json}")
    if args.keep:
        print(f"stack folder kept: {stack.tmp}")
    if failed and tail:
        print("launcher log (last lines):\n" + tail)
    return 1 if failed else 0


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # the stack (its own process group, its PostgreSQL) is stopped by main's finally


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.exit(main())
