"""Outbound pace: a real campaign of N reminders (default 10,000) sent by real worker processes to a local
Twilio double, measured where Twilio would see it (issue #24 §4, outbound part).

    .venv/bin/python bench/outbound_bench.py                   # 10,000 reminders, one worker (~2.5 min)
    .venv/bin/python bench/outbound_bench.py --debtors 2000    # a quick run
    .venv/bin/python bench/outbound_bench.py --workers 2

On a database, Redis and var folder of its own (never the demo's): `python -m bot migrate`, N overdue debtors on
WhatsApp (one invoice each, due 7 days ago in the debtor's zone: stage D+7), `python -m bot worker` processes with
MESSAGING_PROVIDER=twilio and TWILIO_API_BASE at a local double of Twilio's Messages API (tests/worker/doubles.py's
FakeTwilio; the real twilio SDK talks to it), then a real `python -m bot campaign run` (not a dry run). Rasa is a
double too (its trigger_intent answers the reminder text at once): this measures the sending path, not Rasa.

The debtors are Mexican (MX contact rules: 07:00-22:00 every day, no holiday rule), in the first time zone of a
fixed list (Mexico's own first) where the bench's clock, and the next 15 minutes, are inside those hours:
whenever the bench runs, the campaign is allowed to send now, and the zone chosen is printed.

Measured at the double, by sender: messages received, the count in each second and the most in any 1-second
window (against RECOBRA_RATE_WHATSAPP, default 80 a second), duplicates (the same recipient given the same
content twice: a campaign sends one reminder per debtor and stage), throughput and total time; and in the
store, every attempt's status. Ends with a verdict line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

COUNTRY = "MX"
# Mexico's zones first, then others every few hours round the world: one of them is always inside 07:00-22:00
ZONES = (
    "America/Mexico_City",
    "America/Cancun",
    "America/Tijuana",
    "America/Sao_Paulo",
    "Atlantic/Azores",
    "Europe/Madrid",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Pacific/Auckland",
    "Pacific/Honolulu",
)
SETTLE_S = 3.0  # a full bucket (burst = rate) at the start is spent within the first seconds of a campaign
STAGE_DAYS = 7  # D+7: overdue, in the first campaign, a WhatsApp template outside the 24-hour window


# --- pure helpers (tests/unit/test_outbound_bench.py) ----------------------------------------------------------
def max_in_window(times: Sequence[float], window: float = 1.0) -> tuple[int, float]:
    """The most events in any half-open window ``[t, t + window)``, and where it starts (``times`` in seconds,
    any order). A token bucket refilled at ``rate`` with ``burst`` tokens allows up to ``burst + rate·window``."""
    ordered = sorted(times)
    best, start, lo = 0, ordered[0] if ordered else 0.0, 0
    for hi, t in enumerate(ordered):
        while t - ordered[lo] >= window:
            lo += 1
        if hi - lo + 1 > best:
            best, start = hi - lo + 1, ordered[lo]
    return best, start


def per_second(times: Sequence[float], origin: float) -> list[int]:
    """Events in each whole second after ``origin`` (second 0 is ``[origin, origin + 1)``)."""
    if not times:
        return []
    counts = Counter(int(t - origin) for t in times)
    return [counts.get(s, 0) for s in range(max(counts) + 1)]


def duplicates(sends: Sequence[dict[str, Any]]) -> int:
    """Sends beyond the first of the same content to the same recipient from the same sender."""
    seen = Counter((s["to"], s["from"], s["content_sid"], s["content_variables"], s["body"]) for s in sends)
    return sum(n - 1 for n in seen.values() if n > 1)


def pick_zone(now: datetime, margin: timedelta = timedelta(minutes=15)) -> str:
    """The first of ZONES where the country's contact rules allow a message now and still at ``now + margin``."""
    from bot.messaging import contact_policy

    for zone in ZONES:
        if all(contact_policy.decide(COUNTRY, zone, t, [], "whatsapp").allowed for t in (now, now + margin)):
            return zone
    raise SystemExit(f"no zone of {ZONES} is inside {COUNTRY}'s contact hours now: extend the list")


# --- the doubles ----------------------------------------------------------------------------------------------
def twilio_double():
    """FakeTwilio that also records when each message arrived and its template (ContentSid, ContentVariables)."""
    from tests.worker.doubles import FakeTwilio

    class TimedTwilio(FakeTwilio):
        def __init__(self) -> None:
            super().__init__()
            self.sends: list[dict[str, Any]] = []

        def _create(self, form: dict[str, list[str]]) -> dict[str, Any]:
            at = time.monotonic()
            message = super()._create(form)
            with self.lock:
                self.sends.append(
                    {
                        "at": at,
                        "to": message["to"],
                        "from": message["from"],
                        "body": message["body"],
                        "content_sid": form.get("ContentSid", [None])[0],
                        "content_variables": form.get("ContentVariables", [None])[0],
                    }
                )
            return message

    return TimedTwilio()


def rasa_double():
    """Rasa's trigger_intent: the reminder's text back at once (what the shipped bot answers)."""
    from tests.worker.doubles import HttpDouble

    def handle(method: str, path: str, headers: dict, body: bytes) -> tuple[int, Any]:
        if method != "POST" or not path.split("?")[0].endswith("/trigger_intent"):
            return 404, {"error": "not found"}
        entities = json.loads(body or b"{}").get("entities") or {}
        return 200, {"messages": [{"recipient_id": path.split("/")[2], "text": entities.get("reminder_text", "")}]}

    return HttpDouble(handle)


# --- the run --------------------------------------------------------------------------------------------------
def seed(n: int, zone: str, now: datetime) -> None:
    """N Mexican debtors on WhatsApp, one open invoice each due STAGE_DAYS ago in their zone (bulk inserts)."""
    from bot.store.db import get_engine
    from bot.store.models import Debtor, Invoice

    due = now.astimezone(ZoneInfo(zone)).date() - timedelta(days=STAGE_DAYS)
    debtors, invoices = [], []
    for i in range(1, n + 1):
        debtors.append(
            {
                "id": i,
                "external_id": f"OUT-{i}",
                "name": f"Deudor {i}",
                "phone": f"+5255{10000000 + i:08d}",  # Mexico City mobiles; not the demo range (+5240)
                "whatsapp": True,
                "country": COUNTRY,
                "timezone": zone,
                "language": "es",
                "contact_status": "ok",
                "opted_out": False,
                "created_at": now,
                "updated_at": now,
            }
        )
        invoices.append(
            {
                "id": i,
                "debtor_id": i,
                "external_id": f"OUT-{i}-1",
                "amount": Decimal(150000),
                "balance": Decimal(150000),
                "currency": "MXN",
                "original_due_date": due,
                "due_date": due,
                "status": "open",
                "reminders_paused": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    with get_engine().begin() as conn:
        conn.execute(Debtor.__table__.insert(), debtors)
        conn.execute(Invoice.__table__.insert(), invoices)


def store_counts() -> tuple[Counter, int]:
    """Contact attempts by status, and outbound messages with a Twilio sid."""
    from sqlalchemy import func, select

    from bot.store import session_scope
    from bot.store.models import ContactAttempt, Message

    with session_scope() as session:
        attempts = Counter(
            dict(session.execute(select(ContactAttempt.status, func.count()).group_by(ContactAttempt.status)).all())
        )
        sent = session.execute(
            select(func.count())
            .select_from(Message)
            .where(Message.direction == "out", Message.provider_sid.isnot(None))
        ).scalar_one()
    return attempts, int(sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--debtors", type=int, default=10_000, help="reminders in the campaign (default 10,000)")
    parser.add_argument("--workers", type=int, default=1, help="`python -m bot worker` processes (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the var folder (logs, database) and say where")
    args = parser.parse_args()

    from edge_bench import free_port

    tmp = Path(tempfile.mkdtemp(prefix="recobra-outbound-bench-"))
    redis_port = free_port()
    env = {
        "RECOBRA_VAR_DIR": str(tmp),
        "DATABASE_URL": f"sqlite:///{tmp}/recobra.db",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "RECOBRA_CAMPAIGNS_SCHEDULED": "false",  # only the bench's own `campaign run` plans
        "MESSAGING_PROVIDER": "twilio",
        # what `python -m bot worker`'s preflight asks of real providers (nothing here reaches them)
        "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
        "TWILIO_AUTH_TOKEN": "bench-twilio-token",
        "TWILIO_WHATSAPP_FROM": "+15005550006",
        "TWILIO_SMS_FROM": "+15005550006",
        "PAYMENTS_PROVIDER": "mercadopago",
        "MERCADOPAGO_ACCESS_TOKEN": "bench-mercadopago-token",
        "MERCADOPAGO_WEBHOOK_SECRET": "bench-mercadopago-secret",
        "PUBLIC_BASE_URL": "http://127.0.0.1:9",  # status callbacks: the double sends none
    }
    os.environ.update(env)  # this process's store and Redis too (seed, counts)
    from bot.platform.config import reset_settings
    from bot.platform.launcher import redis_server_binary

    reset_settings()
    twilio, rasa = twilio_double(), rasa_double()
    env.update({"TWILIO_API_BASE": twilio.url, "RASA_URL": rasa.url})
    os.environ.update(env)
    reset_settings()
    child_env = {**os.environ, **env}
    py = sys.executable
    procs: list[subprocess.Popen] = []
    workers: list[subprocess.Popen] = []
    try:
        redis_log = open(tmp / "redis.log", "wb")
        procs.append(
            subprocess.Popen(
                [redis_server_binary(), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""],
                stdout=redis_log,
                stderr=subprocess.STDOUT,
            )
        )
        started = time.perf_counter()
        subprocess.run([py, "-m", "bot", "migrate"], cwd=ROOT, env=child_env, check=True, stdout=subprocess.DEVNULL)
        now = datetime.now(timezone.utc)
        zone = pick_zone(now)
        seed(args.debtors, zone, now)
        print(
            f"{args.debtors:,} debtors seeded ({COUNTRY} rules, zone {zone}: {now:%H:%M} UTC is "
            f"{now.astimezone(ZoneInfo(zone)):%a %H:%M} there, inside the contact hours), stage D+{STAGE_DAYS}; "
            f"setup {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        for k in range(args.workers):
            log = open(tmp / f"worker-{k}.log", "wb")
            workers.append(
                subprocess.Popen(
                    [py, "-m", "bot", "worker", "--health-port", "0"], cwd=ROOT, env=child_env, stdout=log, stderr=log
                )
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            logs = [(tmp / f"worker-{k}.log").read_text(errors="replace") for k in range(args.workers)]
            if all("consuming" in text for text in logs):
                break
            if any(w.poll() is not None for w in workers):
                raise SystemExit(f"a worker stopped: see {tmp}")
            time.sleep(0.2)

        t0 = time.monotonic()
        run = subprocess.run(
            [py, "-m", "bot", "campaign", "run", "--quiet", "--json"],
            cwd=ROOT,
            env=child_env,
            capture_output=True,
            text=True,
        )
        planned_s = time.monotonic() - t0
        if run.returncode != 0:
            raise SystemExit(f"campaign run failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
        decisions = Counter(json.loads(line)["status"] for line in run.stdout.splitlines() if line.startswith("{"))
        queued = decisions["queued"]
        # wait for every queued reminder, or until nothing has arrived for 20 s (bounded in time)
        rate = float(os.environ.get("RECOBRA_RATE_WHATSAPP") or 80)
        limit_s = planned_s + queued / rate * 2 + 60
        last_n, last_change = -1, time.monotonic()
        while time.monotonic() - t0 < limit_s:
            n = len(twilio.sends)
            if n != last_n:
                last_n, last_change = n, time.monotonic()
            if n >= queued or time.monotonic() - last_change > 20:
                break
            time.sleep(0.25)
        time.sleep(2)  # anything still in flight (a duplicate would come now)
        total_s = (twilio.sends[-1]["at"] if twilio.sends else time.monotonic()) - t0
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(20)
            except subprocess.TimeoutExpired:
                w.kill()
    try:
        attempts, sids = store_counts()
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        twilio.close()
        rasa.close()

    sends = list(twilio.sends)
    by_sender: dict[str, list[float]] = defaultdict(list)
    for s in sends:
        by_sender[s["from"]].append(s["at"])
    dups = duplicates(sends)
    print(
        f"campaign run (real): {queued:,} queued in {planned_s:.1f} s ({dict(decisions)}); "
        f"{args.workers} worker process{'es' if args.workers > 1 else ''}; "
        f"limit {rate:g} msg/s per sender (RECOBRA_RATE_WHATSAPP), burst "
        f"{float(os.environ.get('RECOBRA_BURST_WHATSAPP') or 1):g}"
    )
    print(
        f"{'sender':<26} {'received':>9} {'first→last s':>13} {'msg/s':>7} {'per second p50/max':>19} "
        f"{'max in 1 s':>11}"
    )
    for sender, times in sorted(by_sender.items()):
        first, last = min(times), max(times)
        seconds = per_second(times, first)
        full = seconds[1:-1] or seconds  # the first and last seconds are partial
        most, at = max_in_window(times)
        span = last - first
        print(
            f"{sender:<26} {len(times):>9,} {span:>13.1f} {(len(times) - 1) / span if span else 0:>7.1f} "
            f"{statistics.median(full):>10.0f} / {max(seconds):>5} {most:>7} at +{at - first:.1f} s"
        )
        settled, _ = max_in_window([t for t in times if t >= first + SETTLE_S])
        print(f"  each second: {' '.join(map(str, seconds))}")
        print(f"  most in any 1 s after the first {SETTLE_S:g} s (after the start's full bucket): {settled}")
    print(
        f"total: {len(sends):,} received of {queued:,} queued, {total_s:.1f} s from `campaign run` to the last "
        f"({len(sends) / total_s if total_s else 0:.1f} msg/s overall); duplicates {dups}; "
        f"store: attempts {dict(attempts)}, {sids:,} outbound messages with a Twilio sid"
    )
    worst = max((max_in_window(t)[0] for t in by_sender.values()), default=0)
    ok = len(sends) == queued == args.debtors and dups == 0 and worst <= rate
    print(
        f"verdict: {'OK' if ok else 'NOT OK'}: {len(sends):,}/{args.debtors:,} reminders sent, "
        f"{max(0, worst - int(rate))} over the limit in the worst 1 s window ({worst} vs {rate:g}"
        + (": see bot/messaging/rate_limit.py" if worst > rate else "")
        + f"), {dups} sent twice"
    )
    if args.keep:
        print(f"var folder kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    threading.excepthook = lambda a: None  # a double's thread dying at shutdown is not a figure
    main()
