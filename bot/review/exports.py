"""What managers take away: CSV exports (the filtered list, the A/B table, whole tables) and the NLU training data.

Everything leaving the application is masked the way the pages are (``masks``); the list export reads the same
rows as the transcript list (``transcripts.conversations``), and the A/B export the same results as the A/B page
(``ab``), so a file never says something the screen does not.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.platform import masking
from bot.review.ab import AB_METRICS
from bot.review.filters import Filters
from bot.review.masks import mask, mask_phone, staff_text
from bot.review.transcripts import conversations
from bot.store.models import Base, Debtor, Message, MessageFlag


def _cell(value: Any) -> str:
    """One CSV cell: times in UTC (ISO 8601), JSON for lists and dicts, and never a formula a spreadsheet would run."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, (date, Decimal)):
        return str(value)
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text  # never a formula in a spreadsheet
    return text


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """A CSV file as lines, streamed (an export of every row never sits in memory); a byte-order mark first, so
    spreadsheets read the accents."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    yield "\ufeff" + buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow([_cell(v) for v in row])
        yield buf.getvalue()


AB_HEADER = [
    "campaign",
    "variant",
    "reached",
    "replied",
    "replied_pct",
    "promised",
    "promised_pct",
    "paid",
    "paid_pct",
    "amounts",
    "replied_p",
    "promised_p",
    "paid_p",
    "winner_replied",
    "winner_promised",
    "winner_paid",
]


def ab_csv(results: list[dict[str, Any]]) -> Iterator[str]:
    """The A/B table (``ab_results``) as CSV: a row per campaign and variant; the amounts one per currency
    (``1500.00 MXN``, never summed across currencies); the z-test's p-values and winner per rate, per campaign."""

    def pct(part: int, whole: int) -> str:
        return f"{100.0 * part / whole:.1f}" if whole else ""

    def rows() -> Iterator[list[Any]]:
        for camp in results:
            tests = camp["tests"]
            test_cols = [
                *(None if tests.get(m, {}).get("p") is None else f"{tests[m]['p']:.4f}" for m in AB_METRICS),
                *(tests.get(m, {}).get("winner") for m in AB_METRICS),
            ]
            for v in camp["variants"]:
                yield [
                    camp["campaign"],
                    v["variant"],
                    v["reached"],
                    v["replied"],
                    pct(v["replied"], v["reached"]),
                    v["promise"],
                    pct(v["promise"], v["reached"]),
                    v["paid"],
                    pct(v["paid"], v["reached"]),
                    " ".join(f"{amount} {cur}" for cur, amount in v["amounts"]),
                    *test_cols,
                ]

    return csv_lines(AB_HEADER, rows())


LIST_HEADER = [
    "conversation_id",
    "debtor_external_id",
    "name",
    "phone",
    "country",
    "channel",
    "mode",
    "last_message_at",
    "tags",
    "outcomes",
    "last_debtor_message",
]


def list_csv(session: Session, f: Filters, batch: int = 1000) -> Iterator[str]:
    """The filtered list as CSV, every row (in batches), masked."""

    def rows() -> Iterator[list[Any]]:
        page = 1
        while True:
            chunk = conversations(session, f, page=page, per_page=batch)
            for r in chunk:
                yield [
                    r.id,
                    r.external_id,
                    r.name,
                    mask_phone(r.phone),
                    r.country,
                    r.channel,
                    r.mode,
                    r.last_message_at,
                    " ".join(r.tags),
                    " ".join(r.outcomes),
                    r.last_text,
                ]
            if len(chunk) < batch:
                return
            page += 1

    return csv_lines(LIST_HEADER, rows())


# Every table a manager can export, with the columns left out or masked.
EXPORT_TABLES = (
    "debtors",
    "invoices",
    "promises",
    "payments",
    "payment_links",
    "nonpayment_reasons",
    "due_date_changes",
    "payment_plans",
    "instalments",
    "settlement_offers",
    "conversations",
    "messages",
    "handoffs",
    "contact_attempts",
    "agent_notes",
    "message_flags",
    "settlements",
    "audit_log",
)
EXCLUDED_COLUMNS = {"document_hash", "document_last4", "password_hash", "pdf"}
MASKED_PHONE = {"phone", "to_phone", "from_phone"}
MASKED_TEXT = {"body", "text", "note", "summary"}


def table_csv(session: Session, name: str, batch: int = 2000) -> Iterator[str]:
    """A whole table as CSV (only those of ``EXPORT_TABLES``), in batches by id: secrets left out, phones and the
    debtors' words masked as the pages mask them."""
    if name not in EXPORT_TABLES:
        raise KeyError(name)
    table = Base.metadata.tables[name]
    cols = [c for c in table.columns if c.name not in EXCLUDED_COLUMNS]
    names = [c.name for c in cols]

    def rows() -> Iterator[list[Any]]:
        last = 0
        while True:
            chunk = session.execute(select(*cols).where(table.c.id > last).order_by(table.c.id).limit(batch)).all()
            last4 = _document_last4(session, chunk, names)
            for r in chunk:
                row = dict(zip(names, r, strict=True))
                out = []
                for c, v in zip(cols, r, strict=True):
                    if c.name in MASKED_PHONE:
                        v = mask_phone(v)
                    elif c.name in MASKED_TEXT and isinstance(v, str):
                        v = staff_text(
                            v,
                            row.get("entities"),
                            last4.get(row.get("debtor_id")),
                            answer=row.get("reason") in IDENTITY_HANDOFFS,
                        )
                    elif c.name == "entities" and v:
                        v = mask(_cell(masking.mask_identity_entities(v)))
                    elif c.name == "details" and isinstance(v, dict):
                        v = mask(_cell({k: x for k, x in v.items() if k not in EXCLUDED_DETAILS}))
                    elif c.name in ("details", "content_variables") and v:
                        v = mask(_cell(v))
                    out.append(v)
                yield out
            if len(chunk) < batch:
                return
            last = chunk[-1].id

    return csv_lines(names, rows())


# Hand-offs whose summary quotes the debtor's answers to the identity question.
IDENTITY_HANDOFFS = {"failed_verification", "identity_locked"}
# Keys of JSON details left out of exports: a certificate's copy of the document's last four digits.
EXCLUDED_DETAILS = {"document", "document_last4"}


def _document_last4(session: Session, chunk: list[Any], names: list[str]) -> dict[int | None, str]:
    """The document's last four of the debtors in ``chunk`` (to mask them wherever they were typed)."""
    if "debtor_id" not in names:
        return {}
    ids = {r[names.index("debtor_id")] for r in chunk} - {None}
    if not ids:
        return {}
    return {i: d for i, d in session.execute(select(Debtor.id, Debtor.document_last4).where(Debtor.id.in_(ids))) if d}


def nlu_export(session: Session, misunderstood_limit: int = 500) -> str:
    """Rasa NLU training data (``version: "3.1"``): the debtor messages behind flagged bot replies, under the
    intent the manager said they meant; then, as comments to label, the messages the bot fell back on."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    unlabelled: list[str] = []
    for intent, body, read_as in session.execute(
        select(MessageFlag.expected_intent, Message.body, Message.intent)
        .join(Message, Message.id == MessageFlag.debtor_message_id)
        .order_by(MessageFlag.id)
    ):
        line = _example(body)
        if not line:
            continue
        if intent:
            if line not in by_intent[intent]:
                by_intent[intent].append(line)
        else:
            unlabelled.append(f"{line}  (leído como {read_as or '?'})")
    for body, read_as in session.execute(
        select(Message.body, Message.intent)
        .where(Message.direction == "in", or_(Message.intent == "nlu_fallback", Message.confidence < 0.5))
        .order_by(Message.id.desc())
        .limit(misunderstood_limit)
    ):
        line = _example(body)
        if line:
            unlabelled.append(f"{line}  (leído como {read_as or '?'})")
    out = ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        out.append(f"- intent: {intent}")
        out.append("  examples: |")
        out.extend(f"    - {line}" for line in by_intent[intent])
    if not by_intent:
        out[-1] = "nlu: []"
    if unlabelled:
        out.append("# Mensajes que el bot no entendió: asígneles una intención antes de entrenar.")
        out.extend(f"#   - {line}" for line in dict.fromkeys(unlabelled))
    return "\n".join(out) + "\n"


# Rasa's NLU examples have no escape for their annotation syntax ("[texto](entidad)", "[texto]{...}",
# "[texto][{...}]"): a debtor could write an entity annotation into the training data. Square brackets in
# the debtor's words become parentheses, so every word stays and no annotation can form.
_NO_ANNOTATION = str.maketrans({"[": "(", "]": ")"})
# What YAML cannot carry (control characters, a byte-order mark) would break the whole file.
_NOT_YAML_TEXT = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")


def _example(body: str | None) -> str:
    """A debtor message as one line of an NLU example: masked, on one line, plain text to Rasa and YAML."""
    text = _NOT_YAML_TEXT.sub("", mask(body or "")).translate(_NO_ANNOTATION)
    return " ".join(text.split())[:300]
