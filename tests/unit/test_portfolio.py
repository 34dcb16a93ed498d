"""`python -m bot import-portfolio`: valid rows in, bad rows reported with why, re-import idempotent."""

import csv

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.__main__ import cli
from bot.billing.portfolio import COLUMNS
from bot.store.models import Debtor, Invoice

GOOD = [
    {
        "debtor_external_id": "CO-1",
        "name": "Ana María Restrepo",
        "phone": "+573001112201",
        "whatsapp": "si",
        "country": "CO",
        "timezone": "America/Bogota",
        "language": "es",
        "document": "1.032.456.789",
        "document_last4": "",
        "invoice_external_id": "F-1",
        "amount": "185000",
        "currency": "COP",
        "due_date": "2026-11-10",
    },
    {
        "debtor_external_id": "CO-1",
        "name": "Ana María Restrepo",
        "phone": "+573001112201",
        "whatsapp": "si",
        "country": "CO",
        "timezone": "America/Bogota",
        "language": "es",
        "document": "1.032.456.789",
        "document_last4": "",
        "invoice_external_id": "F-2",
        "amount": "92500.00",
        "currency": "COP",
        "due_date": "2026-12-10",
    },
    {
        "debtor_external_id": "MX-1",
        "name": "José Luis Ramírez",
        "phone": "5512342202",
        "whatsapp": "no",
        "country": "MX",
        "timezone": "",
        "language": "",
        "document": "",
        "document_last4": "6631",
        "invoice_external_id": "F-9",
        "amount": "899.50",
        "currency": "MXN",
        "due_date": "2026-11-22",
    },
]
BAD = [
    {**GOOD[0], "debtor_external_id": "CO-2", "phone": "123", "invoice_external_id": "X-1"},
    {**GOOD[0], "debtor_external_id": "CO-3", "amount": "-5", "invoice_external_id": "X-2"},
    {**GOOD[0], "debtor_external_id": "CO-4", "currency": "EUR", "invoice_external_id": "X-3"},
    {**GOOD[0], "debtor_external_id": "CO-5", "due_date": "10/11/2026", "invoice_external_id": "X-4"},
    {**GOOD[0], "debtor_external_id": "", "invoice_external_id": "X-5"},
]


def write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)


def counts(session):
    session.expire_all()
    return (
        session.execute(select(func.count(Debtor.id))).scalar_one(),
        session.execute(select(func.count(Invoice.id))).scalar_one(),
    )


def test_import_reports_bad_rows_and_imports_good_ones(tmp_path, session):
    path = tmp_path / "cartera.csv"
    write(path, GOOD[:1] + BAD + GOOD[1:])
    report = tmp_path / "rechazos.csv"
    result = CliRunner().invoke(cli, ["import-portfolio", str(path), "--quiet", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "8 rows: 3 imported, 5 rejected" in result.output
    assert "row 3: phone" in result.output
    assert "row 4: invoices[0].amount: amount must not be negative" in result.output
    assert "row 5: invoices[0].currency" in result.output
    assert "row 6: invoices[0].due_date" in result.output
    assert "row 7: debtor_external_id: is required" in result.output
    rows = list(csv.DictReader(report.open()))
    assert [r["row"] for r in rows] == ["3", "4", "5", "6", "7"]
    assert counts(session) == (2, 3)
    mx = session.execute(select(Debtor).where(Debtor.external_id == "MX-1")).scalar_one()
    assert mx.phone == "+525512342202" and mx.timezone == "America/Mexico_City" and mx.whatsapp is False
    co = session.execute(select(Debtor).where(Debtor.external_id == "CO-1")).scalar_one()
    assert co.document_last4 == "6789" and co.document_hash and "1032456789" not in co.document_hash


def test_reimport_is_idempotent(tmp_path, session):
    path = tmp_path / "cartera.csv"
    write(path, GOOD)
    runner = CliRunner()
    assert runner.invoke(cli, ["import-portfolio", str(path), "--quiet"]).exit_code == 0
    first = counts(session)
    result = runner.invoke(cli, ["import-portfolio", str(path), "--quiet"])
    assert result.exit_code == 0 and "0 rejected" in result.output
    assert counts(session) == first == (2, 3)


def test_missing_columns_fail_clearly(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name,phone\nAna,+573001112201\n")
    result = CliRunner().invoke(cli, ["import-portfolio", str(path)])
    assert result.exit_code != 0
    assert "missing columns: debtor_external_id" in result.output
