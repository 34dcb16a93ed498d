"""Portfolio import from CSV: one row per invoice, grouped by debtor, validated row by row.

A bad row is reported (row number, field, why) and skipped; good rows are imported; importing the
same file again changes nothing. Rows are handled in chunks that preload what the store already
has, so the number of queries grows with the number of chunks, not of rows.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing import debtors
from bot.store.models import Debtor, Invoice

COLUMNS = (
    "debtor_external_id",
    "name",
    "phone",
    "whatsapp",
    "country",
    "timezone",
    "language",
    "document",
    "document_last4",
    "invoice_external_id",
    "amount",
    "currency",
    "due_date",
    "description",  # optional: what the invoice is for ("Celular Samsung A15")
)
REQUIRED = ("debtor_external_id", "name", "phone", "country", "invoice_external_id", "amount", "currency", "due_date")
TRUE = {"1", "true", "yes", "si", "sí", "y", "s"}
FALSE = {"0", "false", "no", "n", ""}
CHUNK = 2000


@dataclass
class Rejection:
    row: int  # 1-based line number in the file, the header being line 1
    field: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    debtors_created: int = 0
    debtors_updated: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def _row_payload(row: dict[str, str]) -> tuple[str, dict]:
    missing = [c for c in REQUIRED if not (row.get(c) or "").strip()]
    if missing:
        raise debtors.ValidationError(missing[0], "is required")
    whatsapp_raw = (row.get("whatsapp") or "").strip().lower()
    if whatsapp_raw not in TRUE | FALSE:
        raise debtors.ValidationError("whatsapp", f"{row.get('whatsapp')!r} is not yes/no")
    payload: dict = {
        "name": row["name"],
        "phone": row["phone"],
        "whatsapp": whatsapp_raw in TRUE,
        "country": row["country"],
        "invoices": [
            {
                "external_id": row["invoice_external_id"],
                "amount": row["amount"].strip(),
                "currency": row["currency"],
                "due_date": row["due_date"].strip(),
                **({"description": row["description"].strip()} if (row.get("description") or "").strip() else {}),
            }
        ],
    }
    for optional in ("timezone", "language", "document", "document_last4"):
        if (row.get(optional) or "").strip():
            payload[optional] = row[optional].strip()
    return row["debtor_external_id"].strip(), payload


def _chunks(rows: Iterable[tuple[int, dict]], size: int) -> Iterator[list[tuple[int, dict]]]:
    chunk: list[tuple[int, dict]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_rows(
    session: Session,
    rows: Iterable[dict[str, str]],
    progress: Callable[[int], None] | None = None,
    commit_every_chunk: bool = True,
) -> ImportReport:
    report = ImportReport()
    numbered = ((i + 2, row) for i, row in enumerate(rows))
    for chunk in _chunks(numbered, CHUNK):
        parsed: list[tuple[int, debtors.DebtorInput]] = []
        for line, row in chunk:
            report.rows += 1
            try:
                external_id, payload = _row_payload(row)
                parsed.append((line, debtors.parse_debtor(external_id, payload)))
            except debtors.ValidationError as exc:
                report.rejected.append(Rejection(line, exc.field, exc.message))
        ids = {d.external_id for _, d in parsed}
        known = (
            {d.external_id: d for d in session.execute(select(Debtor).where(Debtor.external_id.in_(ids))).scalars()}
            if ids
            else {}
        )
        invoices: dict[int, dict[str, Invoice]] = {}
        if known:
            for inv in session.execute(
                select(Invoice).where(Invoice.debtor_id.in_([d.id for d in known.values()]))
            ).scalars():
                invoices.setdefault(inv.debtor_id, {})[inv.external_id] = inv
        seen_created: set[str] = set()
        for _line, data in parsed:
            debtor = known.get(data.external_id)
            existing = invoices.setdefault(debtor.id, {}) if debtor is not None else {}
            debtor, created = debtors.apply(session, data, debtor, existing)
            if created:
                known[data.external_id] = debtor
                invoices[debtor.id] = existing
                seen_created.add(data.external_id)
            report.imported += 1
        report.debtors_created += len(seen_created)
        report.debtors_updated += len(ids - seen_created)
        session.flush()
        if commit_every_chunk:
            session.commit()
        if progress:
            progress(len(chunk))
    return report


def read_csv(path: Path) -> tuple[list[str], Iterator[dict[str, str]]]:
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.DictReader(handle)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header

    def rows() -> Iterator[dict[str, str]]:
        try:
            yield from reader
        finally:
            handle.close()

    return header, rows()


def write_rejections(report: ImportReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "field", "reason"])
        for r in report.rejected:
            writer.writerow([r.row, r.field, r.message])
