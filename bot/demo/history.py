"""Past conversations for the demo (and the manager benchmark): a few thousand realistic collections
conversations across CO, MX, AR, CL and PE over the last 60 days.

``generate(session, n=3000)`` writes, with bulk Core inserts, for each of ``n`` debtors: an invoice, a
conversation and its messages (campaign reminders with delivery statuses and error codes, debtor replies with
intents, confidences and entities, bot and agent answers), and what came of it: non-payment reasons, promises
(kept, broken, open), payment links and payments, payment plans, due dates moved, hand-offs, opt-outs,
identity checks (audit log) and campaign contact attempts with an A/B split. Seeded: the same ``seed`` gives
the same history. Mexico skews to job loss and broken promises, so the dashboard has a story to tell.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bot.store.models import (
    AuditLog,
    ContactAttempt,
    Conversation,
    Debtor,
    DueDateChange,
    Handoff,
    Invoice,
    Message,
    NonpaymentReason,
    Payment,
    PaymentLink,
    PaymentPlan,
    Promise,
    User,
)

COUNTRIES = {
    # country: (weight, time zone, currency, phone prefix in the fictitious range of platform/phones.py, amount range)
    "CO": (30, "America/Bogota", "COP", "+57399", (40_000, 1_500_000)),
    "MX": (30, "America/Mexico_City", "MXN", "+5240", (400, 15_000)),
    "AR": (15, "America/Argentina/Buenos_Aires", "ARS", "+549119", (15_000, 400_000)),
    "CL": (12, "America/Santiago", "CLP", "+5690", (10_000, 600_000)),
    "PE": (13, "America/Lima", "PEN", "+5180", (80, 5_000)),
}
DIGITS = {"CO": 12, "MX": 12, "AR": 13, "CL": 11, "PE": 11}  # E.164 digits, country code included
FIRST = [
    "Ana",
    "Carlos",
    "Luz",
    "Jhon",
    "Paola",
    "Guadalupe",
    "José",
    "María",
    "Juan",
    "Alejandra",
    "Martina",
    "Santiago",
    "Lucía",
    "Camila",
    "Matías",
    "Rosa",
    "Luis",
    "Carmen",
    "Jorge",
    "Milagros",
    "Diego",
    "Valentina",
]
LAST = [
    "Restrepo",
    "Gómez",
    "Hernández",
    "Ramírez",
    "Torres",
    "Pérez",
    "González",
    "Fernández",
    "Muñoz",
    "Rojas",
    "Quispe",
    "Mamani",
    "Flores",
    "Sánchez",
    "Díaz",
    "Silva",
    "Morales",
    "Castro",
    "Vargas",
    "Rincón",
]
REASON_TEXTS = {
    "job_loss": [
        "me quedé sin trabajo",
        "me despidieron el mes pasado",
        "estoy desempleado ahorita",
        "perdí la chamba",
        "me echaron del laburo",
    ],
    "income_delay": [
        "no me han pagado la quincena",
        "me pagan hasta el viernes",
        "se me atrasó el sueldo",
        "todavía no me depositan",
    ],
    "forgot": ["se me olvidó por completo", "uy se me pasó la fecha", "no me acordaba"],
    "health": ["estuve hospitalizada", "mi mamá está enferma y todo se fue en remedios", "tuve una cirugía"],
    "other_debts": ["tengo muchas deudas encima", "primero tengo que pagar el arriendo", "debo la tarjeta también"],
    "service_issue": [
        "el servicio no me ha funcionado",
        "me cobraron algo que no usé",
        "el internet se cae todo el día",
    ],
    "other": ["tuve un problema familiar", "es complicado de explicar"],
}
REASON_WEIGHTS = {
    "MX": {
        "job_loss": 40,
        "income_delay": 25,
        "other_debts": 12,
        "forgot": 8,
        "health": 7,
        "service_issue": 5,
        "other": 3,
    },
    "default": {
        "job_loss": 15,
        "income_delay": 30,
        "other_debts": 15,
        "forgot": 18,
        "health": 8,
        "service_issue": 9,
        "other": 5,
    },
}
# scenario: weight
SCENARIOS = {
    "no_reply": 30,
    "paid": 14,
    "promise": 22,
    "date_moved": 7,
    "plan": 6,
    "dispute": 4,
    "human": 5,
    "opt_out": 5,
    "reason_only": 7,
}
FAIL_CODES = ["30003", "30005", "63016", "30007", "21614"]
REMINDER = "Hola, tenemos un recordatorio importante sobre su cuenta. Responda este mensaje para verlo."


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _amount(rng: random.Random, low: int, high: int, currency: str) -> Decimal:
    raw = rng.randint(low, high)
    if currency in ("COP", "CLP", "ARS"):
        raw = raw // 100 * 100 or 100
    return Decimal(raw).quantize(Decimal("0.01"))


class _Ids:
    """Ids assigned here so related rows can be inserted in bulk (sequences fixed afterwards on PostgreSQL)."""

    def __init__(self, session: Session, models: list[Any]) -> None:
        self.next = {m.__tablename__: (session.execute(select(func.max(m.id))).scalar() or 0) + 1 for m in models}

    def __call__(self, model: Any) -> int:
        value = self.next[model.__tablename__]
        self.next[model.__tablename__] = value + 1
        return value


MODELS = [
    Debtor,
    Invoice,
    Conversation,
    Message,
    NonpaymentReason,
    Promise,
    PaymentLink,
    Payment,
    PaymentPlan,
    DueDateChange,
    Handoff,
    AuditLog,
    ContactAttempt,
]


def generate(
    session: Session,
    n: int = 3000,
    days: int = 60,
    seed: int = 7,
    now: datetime | None = None,
    batch: int = 2000,
    again: bool = False,
) -> dict[str, int]:
    """Write ``n`` past conversations (bulk inserts, committed in batches); returns rows written per table.

    Seeding twice writes nothing the second time (``again=True`` adds another ``n``)."""
    if (
        not again
        and session.execute(select(Debtor.id).where(Debtor.external_id.like("HIST-%")).limit(1)).first() is not None
    ):
        return {}
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    ids = _Ids(session, MODELS)
    agents = list(session.execute(select(User.id).where(User.role == "agent", User.active.is_(True))).scalars())
    rows: dict[Any, list[dict[str, Any]]] = {m: [] for m in MODELS}
    written = {m.__tablename__: 0 for m in MODELS}
    start_no = ids.next["debtors"]
    cweights = {c: v[0] for c, v in COUNTRIES.items()}

    def flush() -> None:
        for model in MODELS:
            if rows[model]:
                session.execute(insert(model.__table__), rows[model])
                written[model.__tablename__] += len(rows[model])
                rows[model].clear()
        session.commit()

    for k in range(n):
        marks = {model: len(rows[model]) for model in MODELS}
        _one(rng, ids, rows, agents, now, days, start_no + k, cweights)
        _not_after(rows, marks, now)
        if len(rows[Message]) >= batch * 4:
            flush()
    flush()
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        for model in MODELS:
            t = model.__tablename__
            session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {t}))")
            )
        session.commit()
    return written


def _one(
    rng: random.Random,
    ids: _Ids,
    rows: dict,
    agents: list[int],
    now: datetime,
    days: int,
    no: int,
    cweights: dict[str, int],
) -> None:
    country = _weighted(rng, cweights)
    _w, tz, currency, prefix, (low, high) = COUNTRIES[country]
    width = DIGITS[country] - (len(prefix) - 1)
    phone = f"{prefix}{(7_000_000 + no) % 10**width:0{width}d}"
    debtor_id, invoice_id, conv_id = ids(Debtor), ids(Invoice), ids(Conversation)
    t0 = now - timedelta(days=rng.uniform(0.2, days), minutes=rng.randint(0, 600))
    due = (t0 - timedelta(days=rng.randint(-3, 30))).date()
    amount = _amount(rng, low, high, currency)
    scenario = _weighted(rng, SCENARIOS)
    reason = _weighted(rng, REASON_WEIGHTS.get(country, REASON_WEIGHTS["default"]))
    whatsapp = rng.random() < 0.8
    channel = "whatsapp" if whatsapp else "sms"
    debtor = {
        "id": debtor_id,
        "external_id": f"HIST-{country}-{no:06d}",
        "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "phone": phone,
        "whatsapp": whatsapp,
        "country": country,
        "timezone": tz,
        "language": "es",
        "document_last4": f"{rng.randint(0, 9999):04d}",
        "contact_status": "ok",
        "opted_out": False,
        "opted_out_at": None,
        "created_at": t0 - timedelta(days=40),
        "updated_at": t0,
    }
    # reminders paused: this is history for the manager's pages, not a live portfolio; without it make run's
    # campaign pass would start writing to thousands of made-up debtors
    invoice = {
        "id": invoice_id,
        "debtor_id": debtor_id,
        "external_id": f"HIST-{no:06d}-F1",
        "amount": amount,
        "balance": amount,
        "currency": currency,
        "original_due_date": due,
        "due_date": due,
        "status": "open",
        "reminders_paused": True,
        "created_at": t0 - timedelta(days=40),
        "updated_at": t0,
    }
    msgs: list[dict[str, Any]] = []
    clock = [t0]

    def say(
        author: str,
        body: str,
        intent: str | None = None,
        entities: list | None = None,
        status: str | None = None,
        error: str | None = None,
        gap: float = 2.0,
    ) -> dict[str, Any]:
        clock[0] = clock[0] + timedelta(minutes=rng.uniform(0.2, gap))
        inbound = author == "debtor"
        m = {
            "id": ids(Message),
            "conversation_id": conv_id,
            "debtor_id": debtor_id,
            "direction": "in" if inbound else "out",
            "author": author,
            "agent_id": rng.choice(agents) if author == "agent" and agents else None,
            "channel": channel,
            "to_phone": None if inbound else phone,
            "from_phone": phone if inbound else None,
            "body": body,
            "media": [],
            "status": status or ("processed" if inbound else rng.choice(("delivered", "read"))),
            "error_code": error,
            "intent": intent,
            "entities": entities if inbound else None,
            "confidence": round(rng.uniform(0.55, 0.99), 3) if intent else None,
            "attempts": 0 if inbound else 1,
            "created_at": clock[0],
            "updated_at": clock[0],
        }
        msgs.append(m)
        return m

    # The campaign's reminder, with an A/B split at D+3.
    variant = rng.choice(("A", "B"))
    rows[ContactAttempt].append(
        {
            "id": ids(ContactAttempt),
            "key": f"hist:{debtor_id}:{invoice_id}:D+3:{t0:%Y%m%d}",
            "debtor_id": debtor_id,
            "invoice_id": invoice_id,
            "campaign": "preventiva_y_mora_temprana",
            "stage": "D+3",
            "variant": variant,
            "channel": channel,
            "status": "sent",
            "scheduled_for": t0,
            "sent_at": t0,
            "rules_version": "demo",
            "created_at": t0,
            "updated_at": t0,
        }
    )
    if variant == "B" and scenario == "no_reply" and rng.random() < 0.3:
        scenario = "promise"  # B (offer of instalments / new date) does a little better
    failed = scenario == "no_reply" and rng.random() < 0.35
    say("bot", REMINDER, status="failed" if failed else None, error=rng.choice(FAIL_CODES) if failed else None)
    if scenario == "no_reply":
        if rng.random() < 0.5:
            clock[0] += timedelta(days=rng.uniform(1, 4))
            say("bot", "Hola, seguimos atentos para ayudarle con su cuenta. Responda este mensaje.")
        _finish(rows, debtor, invoice, conv_id, phone, channel, msgs, t0)
        return

    say(
        "debtor",
        rng.choice(["hola quien es", "Hola buenas", "q paso", "buenas tardes, de que se trata"]),
        "greet",
        [],
        gap=60,
    )
    say("bot", "Para proteger sus datos, ¿me confirma los últimos 4 dígitos de su documento?")
    if rng.random() < 0.15:
        say(
            "debtor",
            f"mi cedula es {rng.randint(10_000_000, 1_099_999_999)}",
            "inform",
            [{"entity": "document_digits", "value": debtor["document_last4"]}],
        )
    else:
        say(
            "debtor",
            str(debtor["document_last4"]),
            "inform",
            [{"entity": "document_digits", "value": debtor["document_last4"]}],
        )
    rows[AuditLog].append(
        {
            "id": ids(AuditLog),
            "user_id": None,
            "actor": "bot",
            "action": "identity_verified",
            "target_type": "debtor",
            "target_id": str(debtor_id),
            "details": {},
            "created_at": clock[0],
        }
    )
    say("bot", f"Gracias. Tiene un saldo de {amount} {currency} vencido el {due:%d/%m/%Y}. ¿Cómo le ayudo?")

    if scenario == "opt_out":
        say("debtor", rng.choice(["BAJA", "ya no me escriban mas", "no quiero mensajes"]), "opt_out", [])
        say("bot", "Listo, no le enviaremos más mensajes automáticos.")
        debtor["opted_out"], debtor["opted_out_at"] = True, clock[0]
        _finish(rows, debtor, invoice, conv_id, phone, channel, msgs, t0)
        return

    if scenario in ("promise", "date_moved", "plan", "reason_only", "dispute") or rng.random() < 0.3:
        text = rng.choice(REASON_TEXTS[reason])
        say("debtor", text, "report_nonpayment_reason", [{"entity": "reason", "value": reason}])
        rows[NonpaymentReason].append(
            {
                "id": ids(NonpaymentReason),
                "debtor_id": debtor_id,
                "invoice_id": invoice_id,
                "reason": reason,
                "text": text,
                "created_at": clock[0],
            }
        )
        say("bot", "Entiendo, gracias por contarnos. ¿Cuándo cree que podría pagar?")

    if scenario == "paid":
        say(
            "debtor",
            rng.choice(["cuánto debo?", "cuanto es", "mandame el link", "como pago"]),
            "request_payment_link",
            [],
        )
        link_id = ids(PaymentLink)
        say("bot", f"Aquí está su enlace de pago: https://pagos.example/l/{link_id:06d}")
        paid = rng.random() < 0.85
        rows[PaymentLink].append(
            {
                "id": link_id,
                "debtor_id": debtor_id,
                "invoice_id": invoice_id,
                "reference": f"hist-{link_id}",
                "short_code": f"h{link_id:07d}",
                "provider": "sandbox",
                "url": f"https://pagos.example/l/{link_id:06d}",
                "amount": amount,
                "currency": currency,
                "status": "paid" if paid else "expired",
                "expires_at": clock[0] + timedelta(days=3),
                "created_at": clock[0],
                "updated_at": clock[0],
            }
        )
        if paid:
            paid_at = clock[0] + timedelta(hours=rng.uniform(0.1, 30))
            if paid_at < now:
                _pay(rows, ids, debtor_id, invoice_id, link_id, amount, currency, paid_at, invoice)
                say("bot", "¡Recibimos su pago! Gracias.", gap=1)
    elif scenario == "promise":
        days_ahead = rng.randint(1, 10)
        promised = (clock[0] + timedelta(days=days_ahead)).date()
        say(
            "debtor",
            rng.choice(
                [
                    f"le pago el {promised.day}",
                    "el viernes le pago",
                    "la otra semana sin falta",
                    f"puedo pagar el {promised:%d/%m}",
                ]
            ),
            "promise_to_pay",
            [{"entity": "date", "value": promised.isoformat()}],
        )
        say("bot", f"Perfecto, queda registrado su compromiso de pago para el {promised:%d/%m/%Y}.")
        kept_p = 0.35 if country == "MX" else 0.6
        status = "open" if promised >= now.date() else ("kept" if rng.random() < kept_p else "broken")
        resolved = datetime.combine(promised, datetime.min.time(), timezone.utc) + timedelta(hours=20)
        rows[Promise].append(
            {
                "id": ids(Promise),
                "debtor_id": debtor_id,
                "invoice_id": invoice_id,
                "promised_date": promised,
                "amount": amount,
                "currency": currency,
                "status": status,
                "source": "bot",
                "created_at": clock[0],
                "resolved_at": resolved if status != "open" else None,
            }
        )
        if status == "kept":
            _pay(rows, ids, debtor_id, invoice_id, None, amount, currency, resolved - timedelta(hours=6), invoice)
        elif status == "broken" and resolved < now:
            clock[0] = resolved
            say("bot", "Hola, no hemos visto su pago de ayer. ¿Podemos ayudarle con una nueva fecha?")
    elif scenario == "date_moved":
        say(
            "debtor",
            rng.choice(["puedo cambiar la fecha de pago?", "me corre la fecha al 30?", "necesito más tiempo"]),
            "request_due_date_change",
            [],
        )
        new_due = due + timedelta(days=rng.choice((7, 10, 15)))
        rows[DueDateChange].append(
            {
                "id": ids(DueDateChange),
                "debtor_id": debtor_id,
                "invoice_id": invoice_id,
                "old_date": due,
                "new_date": new_due,
                "changed_by": "bot",
                "created_at": clock[0],
            }
        )
        invoice["due_date"] = new_due
        say("bot", f"Listo, su nueva fecha de pago es el {new_due:%d/%m/%Y}.")
    elif scenario == "plan":
        say(
            "debtor",
            rng.choice(["lo puedo pagar en cuotas?", "me dan un plan de pagos", "a plazos se puede?"]),
            "request_payment_plan",
            [],
        )
        count = rng.choice((2, 3, 4))
        rows[PaymentPlan].append(
            {
                "id": ids(PaymentPlan),
                "debtor_id": debtor_id,
                "invoice_id": invoice_id,
                "total": amount,
                "currency": currency,
                "instalment_count": count,
                "status": "active",
                "created_at": clock[0],
            }
        )
        say("bot", f"Acordamos {count} cuotas iguales. Le enviaremos cada enlace a tiempo.")
    elif scenario in ("dispute", "human"):
        if scenario == "dispute":
            say(
                "debtor",
                rng.choice(["yo no debo eso", "eso ya lo pagué, es un error", "no reconozco esa deuda"]),
                "dispute_debt",
                [],
            )
        else:
            say(
                "debtor",
                rng.choice(["quiero hablar con una persona", "paseme con un asesor", "eres un robot?"]),
                "request_human",
                [],
            )
        say("bot", "Le paso con una persona del equipo, en breve le escriben.")
        created = clock[0]
        rows[Handoff].append(
            {
                "id": ids(Handoff),
                "debtor_id": debtor_id,
                "conversation_id": conv_id,
                "status": "closed",
                "reason": "dispute" if scenario == "dispute" else "request_human",
                "summary": "",
                "claimed_by": rng.choice(agents) if agents else None,
                "claimed_at": created + timedelta(minutes=5),
                "closed_at": created + timedelta(minutes=30),
                "created_at": created,
            }
        )
        say("agent", "Hola, soy del equipo de cobranza. Reviso su caso y le confirmo hoy.", gap=8)
    else:
        if rng.random() < 0.3:
            say("debtor", rng.choice(["no entiendo", "y eso que", "jajaja ok"]), "nlu_fallback", [])
            say("bot", "Disculpe, no le entendí. ¿Me lo dice de otra forma?")
    if rng.random() < 0.4:
        say("debtor", rng.choice(["gracias", "ok gracias", "dale"]), "thank", [])
    _finish(rows, debtor, invoice, conv_id, phone, channel, msgs, t0)


# Deadlines, not events: a payment link may expire after ``now``.
DEADLINES = frozenset({"expires_at"})


def _not_after(rows: dict, marks: dict[Any, int], now: datetime) -> None:
    """Nothing has happened after ``now``: if one conversation's last event (message, payment, promise resolved,
    hand-off closed ...) would fall after it, every time of that conversation's rows moves back by the excess, so
    its story stays the same and ends a minute before ``now`` (dates such as promised or due dates stay)."""
    new = [r for model, start in marks.items() for r in rows[model][start:]]
    latest = max((v for r in new for k, v in r.items() if isinstance(v, datetime) and k not in DEADLINES), default=None)
    if latest is None or latest < now:
        return
    shift = latest - now + timedelta(minutes=1)
    for r in new:
        for k, v in r.items():
            if isinstance(v, datetime):
                r[k] = v - shift


def _pay(
    rows: dict,
    ids: _Ids,
    debtor_id: int,
    invoice_id: int,
    link_id: int | None,
    amount: Decimal,
    currency: str,
    paid_at: datetime,
    invoice: dict[str, Any],
) -> None:
    pid = ids(Payment)
    rows[Payment].append(
        {
            "id": pid,
            "debtor_id": debtor_id,
            "invoice_id": invoice_id,
            "payment_link_id": link_id,
            "provider": "sandbox",
            "provider_id": f"hist-{pid}",
            "amount": amount,
            "currency": currency,
            "status": "approved",
            "method": "pse",
            "paid_at": paid_at,
            "applied": True,
            "created_at": paid_at,
            "updated_at": paid_at,
        }
    )
    invoice["balance"], invoice["status"] = Decimal("0.00"), "paid"


def _finish(
    rows: dict,
    debtor: dict,
    invoice: dict,
    conv_id: int,
    phone: str,
    channel: str,
    msgs: list[dict[str, Any]],
    t0: datetime,
) -> None:
    rows[Debtor].append(debtor)
    rows[Invoice].append(invoice)
    inbound = [m["created_at"] for m in msgs if m["direction"] == "in"]
    rows[Conversation].append(
        {
            "id": conv_id,
            "phone": phone,
            "debtor_id": debtor["id"],
            "last_channel": channel,
            "mode": "bot",
            "last_inbound_at": max(inbound) if inbound else None,
            "last_whatsapp_inbound_at": max(inbound) if inbound and channel == "whatsapp" else None,
            "last_message_at": max(m["created_at"] for m in msgs),
            "tags": [],
            "created_at": t0,
            "updated_at": max(m["created_at"] for m in msgs),
        }
    )
    rows[Message].extend(msgs)


def _today() -> date:  # pragma: no cover - convenience for the shell
    return datetime.now(timezone.utc).date()
