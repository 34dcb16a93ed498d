"""The demo portfolio `make run` seeds: about 30 debtors across CO, MX, AR, CL and PE.

Due dates are spread from 5 days ahead to 60 days overdue relative to today, so every stage of a
collections conversation has someone to try it on. Document last-4 digits are listed by
``python -m bot info`` so a person can verify identity in the phone simulator.

Every demo phone is in Recobra's fictitious range (bot/platform/phones.py, ``DEMO_RANGES``): numbers the
countries' numbering plans do not assign, accepted only in demo mode and refused by the real Twilio
provider, so demo data can never message a real person.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from bot.billing import debtors
from bot.conversation import handoffs
from bot.staff import users
from bot.store.models import Message, User

# (external_id, name, phone, whatsapp, country, timezone, last4, [(amount, days_past_due), ...])
DEMO_DEBTORS: list[tuple[str, str, str, bool, str, str, str, list[tuple[str, int]]]] = [
    ("CO-1001", "Ana María Restrepo", "+573990011201", True, "CO", "America/Bogota", "4821", [("185000", 12)]),
    ("CO-1002", "Carlos Andrés Gómez", "+573990011202", True, "CO", "America/Bogota", "7710", [("92500", 3)]),
    (
        "CO-1003",
        "Luz Dary Cárdenas",
        "+573990011203",
        False,
        "CO",
        "America/Bogota",
        "3390",
        [("420000", 45), ("140000", 15), ("65000", -3)],
    ),
    ("CO-1004", "Jhon Fredy Ospina", "+573990011204", True, "CO", "America/Bogota", "5528", [("67000", -5)]),
    ("CO-1005", "Paola Andrea Rincón", "+573990011205", True, "CO", "America/Bogota", "9902", [("1250000", 60)]),
    ("CO-1006", "Yeison Stiven Mejía", "+573990011206", False, "CO", "America/Bogota", "1184", [("38900", 0)]),
    ("MX-2001", "Guadalupe Hernández", "+524000123401", True, "MX", "America/Mexico_City", "2045", [("3450.00", 8)]),
    ("MX-2002", "José Luis Ramírez", "+524000123402", True, "MX", "America/Mexico_City", "6631", [("899.50", 1)]),
    (
        "MX-2003",
        "María Fernanda Torres",
        "+524000123403",
        True,
        "MX",
        "America/Monterrey",
        "7002",
        [("12800.00", 30), ("2400.00", 2)],
    ),
    ("MX-2004", "Juan Carlos Pérez", "+524000123404", False, "MX", "America/Mexico_City", "4417", [("1599.00", -3)]),
    ("MX-2005", "Alejandra Sánchez", "+524000123405", True, "MX", "America/Tijuana", "8856", [("5200.00", 21)]),
    ("MX-2006", "Ricardo Flores", "+524000123406", True, "MX", "America/Cancun", "3021", [("740.00", 55)]),
    (
        "AR-3001",
        "Martina González",
        "+5491190045231",
        True,
        "AR",
        "America/Argentina/Buenos_Aires",
        "1357",
        [("48500.00", 10)],
    ),
    (
        "AR-3002",
        "Santiago Fernández",
        "+5491190045232",
        True,
        "AR",
        "America/Argentina/Buenos_Aires",
        "2468",
        [("125000.00", 35)],
    ),
    ("AR-3003", "Lucía Romero", "+5491190045233", False, "AR", "America/Argentina/Cordoba", "9753", [("23990.00", -1)]),
    (
        "AR-3004",
        "Facundo Díaz",
        "+5491190045234",
        True,
        "AR",
        "America/Argentina/Mendoza",
        "8642",
        [("310000.00", 58), ("62000.00", 28)],
    ),
    (
        "AR-3005",
        "Valentina Álvarez",
        "+5491190045235",
        True,
        "AR",
        "America/Argentina/Cordoba",
        "1122",
        [("15750.50", 4)],
    ),
    (
        "AR-3006",
        "Nicolás Sosa",
        "+5491190045236",
        True,
        "AR",
        "America/Argentina/Buenos_Aires",
        "3344",
        [("87000.00", 18)],
    ),
    ("CL-4001", "Camila Muñoz", "+56900034501", True, "CL", "America/Santiago", "5566", [("45990", 6)]),
    ("CL-4002", "Matías Rojas", "+56900034502", True, "CL", "America/Santiago", "7788", [("189000", 40)]),
    ("CL-4003", "Francisca Soto", "+56900034503", False, "CL", "America/Santiago", "9900", [("32500", -4)]),
    (
        "CL-4004",
        "Benjamín Contreras",
        "+56900034504",
        True,
        "CL",
        "America/Santiago",
        "1212",
        [("560000", 25), ("78000", 1)],
    ),
    ("CL-4005", "Javiera Silva", "+56900034505", True, "CL", "America/Santiago", "3434", [("12990", 14)]),
    ("CL-4006", "Diego Morales", "+56900034506", True, "CL", "America/Santiago", "5656", [("245000", 52)]),
    ("PE-5001", "Rosa Quispe", "+51800045501", True, "PE", "America/Lima", "7878", [("350.00", 9)]),
    ("PE-5002", "Luis Mamani", "+51800045502", True, "PE", "America/Lima", "9090", [("1280.00", 33)]),
    ("PE-5003", "Carmen Flores", "+51800045503", False, "PE", "America/Lima", "2323", [("89.90", -2)]),
    ("PE-5004", "Jorge Huamán", "+51800045504", True, "PE", "America/Lima", "4545", [("4500.00", 48)]),
    ("PE-5005", "Milagros Chávez", "+51800045505", True, "PE", "America/Lima", "6767", [("720.00", 20), ("240.00", 5)]),
    ("PE-5006", "Kevin Rojas", "+51800045506", True, "PE", "America/Lima", "8989", [("199.00", 0)]),
]

DEMO_USERS = (
    ("agente", "agent", "Agente Demo"),
    ("gerente", "manager", "Gerente Demo"),
    ("admin", "admin", "Admin Demo"),
)
CURRENCY = {"CO": "COP", "MX": "MXN", "AR": "ARS", "CL": "CLP", "PE": "PEN"}


# What some demo invoices are for, so that a debtor with several can name one ("la del celular", "la de la moto")
DESCRIPTIONS: dict[str, str] = {
    "CO-1001-F1": "Crédito de consumo",
    "CO-1003-F1": "Préstamo libre inversión",
    "CO-1003-F2": "Celular Xiaomi Redmi 13",
    "CO-1003-F3": "Seguro de vida",
    "MX-2003-F1": "Refrigerador Mabe",
    "MX-2003-F2": "Tablet Samsung",
    "CL-4004-F1": "Notebook Lenovo",
    "CL-4004-F2": "Plan celular",
}


def payloads(today: date) -> list[tuple[str, dict]]:
    out = []
    for ext, name, phone, whatsapp, country, tz, last4, invoices in DEMO_DEBTORS:
        out.append(
            (
                ext,
                {
                    "name": name,
                    "phone": phone,
                    "whatsapp": whatsapp,
                    "country": country,
                    "timezone": tz,
                    "language": "es",
                    "document_last4": last4,
                    "invoices": [
                        {
                            "external_id": f"{ext}-F{i + 1}",
                            "amount": str(Decimal(amount)),
                            "currency": CURRENCY[country],
                            "due_date": (today - timedelta(days=dpd)).isoformat(),
                            **({"description": d} if (d := DESCRIPTIONS.get(f"{ext}-F{i + 1}")) else {}),
                        }
                        for i, (amount, dpd) in enumerate(invoices)
                    ],
                },
            )
        )
    return out


# Two conversations already waiting for a person, so the agent console has something to show.
DEMO_HANDOFFS = [
    (
        "CO-1003",
        "dispute",
        [
            ("in", "debtor", "Buenas, me está llegando un cobro que no reconozco"),
            ("out", "bot", "Entiendo, Luz Dary. Registré su reclamo y pausamos los recordatorios de esa factura."),
            ("in", "debtor", "esa factura de 140 mil ya la había cancelado en la oficina"),
            ("out", "bot", "Le comunico con un asesor de nuestro equipo. Le responderá por este mismo chat."),
        ],
    ),
    (
        "MX-2003",
        "request_human",
        [
            ("in", "debtor", "quiero hablar con una persona porfa"),
            ("out", "bot", "Le comunico con un asesor de nuestro equipo. Le responderá por este mismo chat."),
        ],
    ),
]


def seed(session: Session, today: date | None = None) -> int:
    """Insert the demo debtors that are missing; leaves existing ones (and their history) alone."""
    today = today or date.today()
    created = 0
    for ext, payload in payloads(today):
        if debtors.get_by_external_id(session, ext) is not None:
            continue
        debtors.upsert(session, debtors.parse_debtor(ext, payload))
        created += 1
    session.flush()
    if created:
        _seed_handoffs(session)
    return created


def seed_users(session: Session, password: str) -> list[str]:
    """Create the demo users that are missing; an existing user keeps its password, role and state."""
    from sqlalchemy import select

    created = []
    for username, role, name in DEMO_USERS:
        if session.execute(select(User.id).where(User.username == username)).first() is None:
            users.create_or_update(session, username, role, password, name=name)
            created.append(username)
    return created


def _seed_handoffs(session: Session) -> None:
    from datetime import datetime, timedelta, timezone

    start = datetime.now(timezone.utc) - timedelta(minutes=25)
    for ext, reason, lines in DEMO_HANDOFFS:
        debtor = debtors.get_by_external_id(session, ext)
        if debtor is None:  # seeded just before, unless the portfolio table was edited by hand
            continue
        channel = "whatsapp" if debtor.whatsapp else "sms"
        conv = handoffs.get_or_create_conversation(session, debtor.phone, debtor)
        session.flush()
        for i, (direction, author, body) in enumerate(lines):
            at = start + timedelta(minutes=2 * i)
            # already handled by the bot (the hand-off is what came of it): "received" would have the worker's
            # sweeper queue these old lines again as if Redis had lost them
            inbound = direction == "in"
            session.add(
                Message(
                    conversation_id=conv.id,
                    debtor_id=debtor.id,
                    direction=direction,
                    author=author,
                    channel=channel,
                    body=body,
                    status="processed" if inbound else "read",
                    from_phone=debtor.phone if inbound else None,
                    to_phone=None if inbound else debtor.phone,
                    created_at=at,
                )
            )
            if inbound:
                conv.last_inbound_at = at
                if channel == "whatsapp":
                    conv.last_whatsapp_inbound_at = at
        conv.last_channel, conv.last_message_at = channel, start + timedelta(minutes=2 * len(lines))
        handoffs.open(
            session,
            debtor.phone,
            debtor,
            reason,
            "Motivo: " + reason + " | Últimos mensajes: " + " / ".join(b for d, _, b in lines if d == "in"),
        )
    session.flush()
