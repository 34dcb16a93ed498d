"""Campaign planning over N debtors (default 100,000), dry run: wall time and query count.

Goal (issue): under 30 s on a 2-core machine, with the number of queries independent of the
number of debtors. Run: .venv/bin/python bench/campaign_bench.py [debtors]
"""

from __future__ import annotations

import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
tmp = Path(tempfile.mkdtemp(prefix="recobra-bench-"))
os.environ["RECOBRA_VAR_DIR"] = str(tmp)
os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.db"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.outreach import campaigns  # noqa: E402
from bot.store import session_scope  # noqa: E402
from bot.store.db import get_engine  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Debtor, Invoice  # noqa: E402

ZONES = {
    "CO": ("America/Bogota", "COP"),
    "MX": ("America/Mexico_City", "MXN"),
    "CL": ("America/Santiago", "CLP"),
    "PE": ("America/Lima", "PEN"),
    "AR": ("America/Argentina/Buenos_Aires", "ARS"),
}


def populate(n: int, today: date) -> None:
    rnd = random.Random(7)
    now = datetime.now(timezone.utc)
    countries = list(ZONES)
    debtors, invoices = [], []
    for i in range(1, n + 1):
        c = countries[i % len(countries)]
        tz, cur = ZONES[c]
        debtors.append(
            {
                "id": i,
                "external_id": f"B{i}",
                "name": f"Deudor {i}",
                "phone": f"+57300{i:07d}",
                "whatsapp": i % 3 != 0,
                "country": c,
                "timezone": tz,
                "language": "es",
                "contact_status": "ok",
                "opted_out": i % 50 == 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        due = today - timedelta(days=rnd.randint(-5, 60))
        amount = Decimal(rnd.randint(1000, 900000))
        invoices.append(
            {
                "id": i,
                "debtor_id": i,
                "external_id": f"B{i}-1",
                "amount": amount,
                "balance": amount,
                "currency": cur,
                "original_due_date": due,
                "due_date": due,
                "status": "open",
                "reminders_paused": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(Debtor.__table__.insert(), debtors)
        conn.execute(Invoice.__table__.insert(), invoices)


def main() -> None:
    upgrade()
    at = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
    start = time.perf_counter()
    populate(N, at.date())
    print(f"populated {N:,} debtors in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    with session_scope() as session:
        plan = campaigns.plan(session, at=at)
        report = campaigns.execute(session, plan, dry_run=True)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"campaign plan (dry run) over {N:,} debtors: {elapsed:.1f} s, {plan.queries} queries, "
        f"{report.due:,} due, {report.queued:,} to queue, {sum(report.suppressed.values()):,} suppressed, "
        f"{sum(report.deferred.values()):,} deferred by policy; peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
