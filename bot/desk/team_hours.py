"""The team's working hours (``config/console.yml``) and the notice for a debtor handed off while the
team is away: when a person will answer, in the team's time zone, holidays included.

The hand-off opener (``actions``) asks ``out_of_hours_notice`` when it opens a hand-off; whoever opens one
outside a turn may call ``notify_out_of_hours``, which prepares the notice once per hand-off.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.desk import settings
from bot.desk.transcript import conversation
from bot.messaging import outbox
from bot.store import audit
from bot.store.models import AuditLog, Handoff, Message

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


def _hours(cfg: dict[str, Any]) -> tuple[zoneinfo.ZoneInfo, dict[int, tuple[time, time]], str]:
    wh = cfg.get("working_hours") or {}
    tz = zoneinfo.ZoneInfo(wh.get("timezone") or "UTC")
    days: dict[int, tuple[time, time]] = {}
    for key, span in (wh.get("days") or {}).items():
        key = str(key).lower()[:3]
        if key in DAY_KEYS and span:
            start, end = (time.fromisoformat(str(s)) for s in span)
            days[DAY_KEYS.index(key)] = (start, end)
    return tz, days, str(wh.get("label") or "")


def _holiday(day: date, cfg: dict[str, Any]) -> bool:
    country = (cfg.get("working_hours") or {}).get("holidays")
    if not country:
        return False
    import holidays  # late: it loads every country's calendars, and only a configured country needs them

    try:
        return day in holidays.country_holidays(str(country), years=day.year)
    except (KeyError, NotImplementedError):
        return False


def is_working_time(now: datetime | None = None, cfg: dict[str, Any] | None = None) -> bool:
    cfg = settings.config(cfg)
    tz, days, _ = _hours(cfg)
    if not days:
        return True  # no hours configured: always staffed
    local = (now or settings.utcnow()).astimezone(tz)
    span = days.get(local.weekday())
    return span is not None and not _holiday(local.date(), cfg) and span[0] <= local.time() < span[1]


def next_opening(now: datetime | None = None, cfg: dict[str, Any] | None = None) -> datetime | None:
    """When the team is next at work (aware, in the team's time zone); None when always staffed."""
    cfg = settings.config(cfg)
    tz, days, _ = _hours(cfg)
    if not days:
        return None
    local = (now or settings.utcnow()).astimezone(tz)
    for offset in range(0, 15):
        day = local.date() + timedelta(days=offset)
        span = days.get(day.weekday())
        if span is None or _holiday(day, cfg):
            continue
        opening = datetime.combine(day, span[0], tzinfo=tz)
        if offset == 0 and local.time() >= span[0]:
            continue
        return opening
    return None


def _clock(t: datetime) -> str:
    return f"{t.hour}:{t.minute:02d}"


def out_of_hours_notice(now: datetime | None = None, cfg: dict[str, Any] | None = None) -> str | None:
    """What to tell a debtor whose conversation goes to a person while the team is away, or None
    during working hours. The hand-off opener / messaging edge sends it after opening a hand-off."""
    cfg = settings.config(cfg)
    now = now or settings.utcnow()
    if is_working_time(now, cfg):
        return None
    opening = next_opening(now, cfg)
    if opening is None:
        return None
    tz, _, label = _hours(cfg)
    local = now.astimezone(tz)
    days_ahead = (opening.date() - local.date()).days
    if days_ahead == 0:
        when = f"hoy a partir de las {_clock(opening)}"
    elif days_ahead == 1:
        when = f"mañana a partir de las {_clock(opening)}"
    else:
        when = f"el {DAY_NAMES[opening.weekday()]} a partir de las {_clock(opening)}"
    zone = f" ({label})" if label else ""
    return (
        f"En este momento nuestro equipo no está disponible; una persona le responderá {when}{zone}. "
        f"Su conversación queda registrada."
    )


def notify_out_of_hours(
    session: Session, handoff: Handoff, now: datetime | None = None, cfg: dict[str, Any] | None = None
) -> list[Message]:
    """Outside working hours, prepare (once per hand-off) the notice telling the debtor when a person
    will answer, on the debtor's channel. The caller commits and queues the sending, as for any reply.
    For whoever opens hand-offs: ``if created: team_hours.notify_out_of_hours(session, handoff)``."""
    notice = out_of_hours_notice(now, cfg)
    conv = conversation(session, handoff)
    if notice is None or conv is None or handoff.status == "closed":
        return []
    already = session.execute(
        select(AuditLog.id)
        .where(
            AuditLog.action == "out_of_hours_notice",
            AuditLog.target_type == "handoff",
            AuditLog.target_id == str(handoff.id),
        )
        .limit(1)
    ).first()
    if already:
        return []
    try:
        rows = outbox.prepare_text(session, conv, notice, author="system", reply=True)
    except outbox.NotSendable:
        return []
    audit.record(
        session,
        actor="system",
        action="out_of_hours_notice",
        target_type="handoff",
        target_id=handoff.id,
        details={"messages": [r.id for r in rows]},
    )
    return rows
