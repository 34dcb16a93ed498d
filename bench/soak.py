"""A soak (issue #24 §4): `make run-scaled`'s processes under steady conversation traffic for a long time (30 minutes
by default, `make soak`), with what would run a production box out of room measured at the start and the end.

    .venv/bin/python bench/soak.py                    # 30 minutes, 20 debtors talking at once
    .venv/bin/python bench/soak.py --minutes 2 --debtors 10

The stack is tests/faults/stack.py's (run-scaled on a PostgreSQL cluster of its own, the Twilio and Mercado Pago
SDKs against local doubles). Each of N slots holds one conversation at a time (greeting, the 4 digits, the
balance, a reason and a promise, its confirmation), each message sent once the last one is answered and 3 s
later, then the slot moves on to a new debtor (real debtors do not chat for half an hour; a tracker that grows
without end would measure Rasa's replay, not a leak).

Sampled after a warm-up (the first conversations load lazy code and fill caches) and at the end: every process's
resident memory and open file descriptors and TCP connections (by process kind), PostgreSQL's open connections,
Redis's clients and memory, the queue's backlog and dead letters. Verdict: no kind's memory grows more than
max(15 %, 40 MB) per process, no kind opens more than 5 more connections, PostgreSQL's connections stay within
5, the backlog at the end is under 2 s of traffic and no message went to the dead letters. A leak that only shows
after hours is not caught by 30 minutes: the figures per minute say how fast anything grows.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults.run import SCRIPT, Conversations, Outcome, seed_debtors  # noqa: E402
from tests.faults.stack import FaultStack  # noqa: E402

THINK_S = 3.0
KIND_OF = (
    ("channels.rasa_server", "rasa"),
    ("actions.server", "actions"),
    ("bot web", "web"),
    ("gunicorn", "web"),
    ("bot worker", "worker"),
    ("redis-server", "redis"),
    ("haproxy", "haproxy"),
)


def kind_of(line: str) -> str | None:
    for needle, kind in KIND_OF:
        if needle in line:
            return kind
    return None


def sample(stack: FaultStack) -> dict[str, Any]:
    """Memory (MB), descriptors and TCP connections by process kind; PostgreSQL's and Redis's own counts; the queue."""
    import psutil
    from sqlalchemy import text

    from bot.platform.queue import dead_letters
    from bot.platform.redis_client import get_queue, get_redis
    from bot.store.db import get_engine

    rss: Counter = Counter()
    fds: Counter = Counter()
    conns: Counter = Counter()
    procs: Counter = Counter()
    for p in stack.tree():
        try:
            line = " ".join(p.cmdline())
            if line.startswith(("sh ", "/bin/sh ")) or "while :" in line:
                continue
            kind = kind_of(line)
            if kind is None:
                continue
            rss[kind] += p.memory_info().rss / 2**20
            fds[kind] += p.num_fds()
            conns[kind] += len(p.net_connections("tcp"))
            procs[kind] += 1
        except psutil.Error:
            continue
    with get_engine().connect() as connection:
        pg = int(
            connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
            ).scalar_one()
        )
    redis = get_redis()
    info = redis.info()
    return {
        "at": time.monotonic(),
        "rss_mb": {k: round(v, 1) for k, v in rss.items()},
        "fds": dict(fds),
        "tcp": dict(conns),
        "processes": dict(procs),
        "postgres_connections": pg,
        "redis_clients": int(info.get("connected_clients", 0)),
        "redis_mb": round(int(info.get("used_memory", 0)) / 2**20, 1),
        "backlog": int(get_queue().backlog()),
        "dead_letters": len(dead_letters(redis)),
    }


def verdict(start: dict[str, Any], end: dict[str, Any], rate: float) -> list[str]:
    """What grew beyond its bound (empty: OK)."""
    problems = []
    for kind, before in start["rss_mb"].items():
        n = max(1, start["processes"].get(kind, 1))
        grew = (end["rss_mb"].get(kind, 0) - before) / n
        if grew > max(0.15 * before / n, 40):
            problems.append(
                f"{kind} memory +{grew:.0f} MB a process ({before / n:.0f} → {end['rss_mb'][kind] / n:.0f})"
            )
    for kind, before in start["tcp"].items():
        if end["tcp"].get(kind, 0) - before > 5:
            problems.append(f"{kind} TCP connections {before} → {end['tcp'][kind]}")
    if end["postgres_connections"] - start["postgres_connections"] > 5:
        problems.append(f"PostgreSQL connections {start['postgres_connections']} → {end['postgres_connections']}")
    if end["backlog"] > max(5, 2 * rate):
        problems.append(f"queue backlog {end['backlog']} at the end (more than 2 s of traffic)")
    if end["dead_letters"] > start["dead_letters"]:
        problems.append(f"{end['dead_letters'] - start['dead_letters']} messages went to the dead letters")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long the traffic runs (default 30)")
    parser.add_argument("--debtors", type=int, default=20, help="conversations at once (default 20)")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the first sample (default 60)")
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "soak.json")
    args = parser.parse_args()

    stack = FaultStack()
    began = time.monotonic()
    try:
        stack.start()
        convos = Conversations(stack)
        # enough debtors for every conversation the run can hold (one every ~6 turns × (3 s + a reply) per slot)
        per_slot = int(args.minutes * 60 / (len(SCRIPT) * THINK_S)) + 2
        phones = [f"+57301{slot:03d}{k:04d}" for slot in range(args.debtors) for k in range(per_slot)]
        t0 = time.monotonic()
        seed_debtors("SOAK", phones, date.today() + timedelta(days=40))
        print(
            f"run-scaled up in {t0 - began:.0f} s; {len(phones):,} debtors seeded in {time.monotonic() - t0:.0f} s; "
            f"{args.debtors} conversations at once for {args.minutes:g} min",
            flush=True,
        )
        stop_at = time.monotonic() + args.warmup + args.minutes * 60
        done = Counter()
        waits: list[float] = []
        lock = threading.Lock()
        outcome = Outcome("soak", "")

        def slot(s: int) -> None:
            time.sleep(s * THINK_S / args.debtors)
            for k in range(per_slot):
                phone = f"+57301{s:03d}{k:04d}"
                for text in SCRIPT:
                    if time.monotonic() > stop_at:
                        return
                    before = stack.twilio.count(phone)
                    sent = time.monotonic()
                    if not convos.post(phone, text, "SM" + secrets.token_hex(16), outcome):
                        continue
                    while stack.twilio.count(phone) == before and time.monotonic() - sent < 60:
                        time.sleep(0.05)
                    with lock:
                        done["messages"] += 1
                        done["answered"] += stack.twilio.count(phone) > before
                        waits.append(time.monotonic() - sent)
                    time.sleep(THINK_S)
                with lock:
                    done["conversations"] += 1

        with ThreadPoolExecutor(max_workers=args.debtors + 1) as pool:
            futures = [pool.submit(slot, s) for s in range(args.debtors)]
            time.sleep(args.warmup)
            with lock:
                m0 = done["messages"]
            start = sample(stack)
            t_start = time.monotonic()
            print(f"start (after {args.warmup:g} s warm-up): {json.dumps(start)}", flush=True)
            next_report = time.monotonic() + 300
            while any(not f.done() for f in futures):
                time.sleep(1)
                if time.monotonic() > next_report:
                    mid = sample(stack)
                    print(f"  +{(time.monotonic() - t_start) / 60:.0f} min: {json.dumps(mid)}", flush=True)
                    next_report += 300
            for f in futures:
                f.result()
        time.sleep(5)  # the last replies
        end = sample(stack)
        minutes = (end["at"] - start["at"]) / 60
        rate = (done["messages"] - m0) / max(1.0, end["at"] - start["at"])
        print(f"end: {json.dumps(end)}")
    finally:
        stack.stop()
    waits.sort()
    problems = verdict(start, end, rate)
    print(
        f"{done['messages']:,} messages ({rate:.1f}/s measured span), {done['conversations']:,} conversations, "
        f"{done['answered']:,} answered; reply p50 {waits[len(waits) // 2]:.2f} s, "
        f"p95 {waits[int(0.95 * (len(waits) - 1))]:.2f} s, p99 {waits[int(0.99 * (len(waits) - 1))]:.2f} s"
    )
    print(f"{'kind':<8} {'MB start':>9} {'MB end':>8} {'MB/min':>7} {'fds':>9} {'tcp':>9}")
    for kind in sorted(start["rss_mb"]):
        a, b = start["rss_mb"][kind], end["rss_mb"].get(kind, 0)
        print(
            f"{kind:<8} {a:>9.0f} {b:>8.0f} {(b - a) / minutes:>7.2f} "
            f"{start['fds'].get(kind, 0):>4}→{end['fds'].get(kind, 0):<4} "
            f"{start['tcp'].get(kind, 0):>4}→{end['tcp'].get(kind, 0):<4}"
        )
    print(
        f"PostgreSQL connections {start['postgres_connections']} → {end['postgres_connections']}; Redis clients "
        f"{start['redis_clients']} → {end['redis_clients']}, memory {start['redis_mb']} → {end['redis_mb']} MB; "
        f"backlog {start['backlog']} → {end['backlog']}; dead letters {start['dead_letters']} → {end['dead_letters']}"
    )
    print(f"verdict: {'OK' if not problems else 'NOT OK: ' + '; '.join(problems)} ({minutes:.1f} min measured)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "minutes": round(minutes, 1),
                "messages": done["messages"],
                "rate": round(rate, 2),
                "start": start,
                "end": end,
                "problems": problems,
                "verdict": "OK" if not problems else "NOT OK",
            },
            indent=2,
        )
    )
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
