"""Portfolio import speed: a generated CSV of N rows (default 100,000) into a fresh SQLite store.

Prints rows/second and the wall time, plus peak memory. Run: .venv/bin/python bench/import_bench.py [rows]
"""

from __future__ import annotations

import csv
import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
tmp = Path(tempfile.mkdtemp(prefix="recobra-bench-"))
os.environ["RECOBRA_VAR_DIR"] = str(tmp)
os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.db"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.billing import portfolio  # noqa: E402
from bot.store import session_scope  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402

COUNTRIES = [
    ("CO", "+57300", "COP", 7),
    ("MX", "+5255", "MXN", 8),
    ("CL", "+5696", "CLP", 7),
    ("PE", "+519", "PEN", 8),
    ("AR", "+54911", "ARS", 8),
]


def generate(path: Path, rows: int) -> None:
    rnd = random.Random(42)
    today = date(2026, 11, 23)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=portfolio.COLUMNS)
        w.writeheader()
        debtor = 0
        written = 0
        while written < rows:
            debtor += 1
            country, prefix, currency, digits = COUNTRIES[debtor % len(COUNTRIES)]
            phone = prefix + f"{debtor:0{digits}d}"[-digits:]
            for k in range(1 + rnd.random().__lt__(0.3)):
                w.writerow(
                    {
                        "debtor_external_id": f"B-{debtor}",
                        "name": f"Deudor {debtor}",
                        "phone": phone,
                        "whatsapp": "si",
                        "country": country,
                        "timezone": "",
                        "language": "es",
                        "document": "",
                        "document_last4": f"{debtor % 10000:04d}",
                        "invoice_external_id": f"B-{debtor}-{k}",
                        "amount": f"{rnd.randint(1000, 900000)}.00",
                        "currency": currency,
                        "due_date": (today - timedelta(days=rnd.randint(-5, 60))).isoformat(),
                    }
                )
                written += 1
                if written >= rows:
                    break


def main() -> None:
    csv_path = tmp / "portfolio.csv"
    generate(csv_path, ROWS)
    upgrade()
    header, rows = portfolio.read_csv(csv_path)
    start = time.perf_counter()
    with session_scope() as session:
        report = portfolio.import_rows(session, rows)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"import-portfolio: {report.rows} rows ({report.imported} imported, {len(report.rejected)} rejected) "
        f"in {elapsed:.1f} s = {report.rows / elapsed:,.0f} rows/s; peak RSS {peak_mb:.0f} MB"
    )
    # Re-import: the idempotent path (everything already there).
    header, rows = portfolio.read_csv(csv_path)
    start = time.perf_counter()
    with session_scope() as session:
        portfolio.import_rows(session, rows)
    again = time.perf_counter() - start
    print(f"re-import (no changes): {again:.1f} s = {report.rows / again:,.0f} rows/s")


if __name__ == "__main__":
    main()
