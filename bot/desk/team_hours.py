"""The team's working hours (``config/console.yml``) and what a debtor is told of when a person answers.

Hours are kept per team: ``working_hours`` is the default team (it answers the debtors of every country not
given to another team), ``teams`` adds teams with their own countries, hours, time zone and national holidays.
A config with only the old single ``working_hours`` block means what it always meant. The config is checked
when it is read: a mistake raises ``TeamHoursError`` naming the key.

What the debtor reads is in the debtor's own time zone (``Debtor.timezone``, else the country's zone in
``config/countries.yml``), so it needs no zone named; a debtor whose zone is unknown reads the team's time
with the team's ``label`` ("hora de Colombia").

``availability`` is the one answer to "when will a person answer?": open now (the usual wait, said by the
hand-off's own reply) or the next opening, worded. The hand-off actions (``actions``) use it so that one turn
never promises both; ``out_of_hours_notice`` words a stand-alone notice; whoever opens a hand-off outside a
turn may call ``notify_out_of_hours``, which prepares the notice once per hand-off.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing import countries
from bot.desk import settings
from bot.desk.transcript import conversation
from bot.language.dates import SPANISH_MONTHS, SPANISH_WEEKDAYS
from bot.messaging import outbox
from bot.store import audit
from bot.store.models import AuditLog, Debtor, Handoff, Message

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = SPANISH_WEEKDAYS
MONTH_NAMES = SPANISH_MONTHS
TEAM_KEYS = frozenset({"timezone", "label", "holidays", "days", "countries"})
LOOK_AHEAD_DAYS = 21  # a closed fortnight (holidays back to back) still finds the next opening
# The usual wait for a person (config/countries.yml handoff_wait: "unos 30 minutos"). A hand-off closer than this
# to closing time is told the next opening: a wait the team cannot keep is a promise broken.
LAST_CALL = timedelta(minutes=30)


class TeamHoursError(ValueError):
    """``config/console.yml``'s team hours cannot be read; the message names the key and what is wrong."""


class HasZone(Protocol):
    """What the hours need of a debtor: the country and the IANA time zone (a ``Debtor`` has both)."""

    country: Any
    timezone: Any


@dataclass(frozen=True)
class Team:
    name: str
    zone: zoneinfo.ZoneInfo
    label: str  # how a debtor whose own zone is unknown is told the team's zone ("hora de Colombia")
    holidays: str  # ISO country whose national holidays are closed days ("" for none)
    days: Mapping[int, tuple[time, time]]  # weekday (0 = Monday) -> [start, end) in the team's zone
    countries: frozenset[str]

    @property
    def always_open(self) -> bool:
        return not self.days


@dataclass(frozen=True)
class Hours:
    default: Team | None  # None: a debtor of a country no team takes is answered at any time
    teams: tuple[Team, ...]

    def team_for(self, country: str | None) -> Team | None:
        code = (country or "").upper()
        for team in self.teams:
            if code in team.countries:
                return team
        return self.default


@dataclass(frozen=True)
class Availability:
    """Whether the debtor's team is at work now and, if not, when a person will answer, worded for them."""

    open: bool
    when: str = ""  # "mañana a partir de las 8:00" (closed only; "" when at work)
    opening: datetime | None = None  # the next opening, aware, in the debtor's zone (or the team's)


# --- Reading the config ------------------------------------------------------------------------------
def _fail(where: str, problem: str) -> TeamHoursError:
    return TeamHoursError(f"config/console.yml, {where}: {problem}")


def _clock_of(value: Any, where: str) -> time:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # YAML reads an unquoted 08:00 as a sexagesimal integer (480): take it as minutes
        return time(value // 60, value % 60)
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise _fail(where, f'{value!r} is not a time of day (write "08:00")') from None


def _team(name: str, spec: Any, where: str, *, default: bool) -> Team:
    if not isinstance(spec, dict):
        raise _fail(where, "must be a mapping with timezone, days (and label, holidays)")
    unknown = set(spec) - (TEAM_KEYS - {"countries"} if default else TEAM_KEYS)
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    try:
        zone = zoneinfo.ZoneInfo(str(spec.get("timezone") or "UTC"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _fail(f"{where}.timezone", f"{spec.get('timezone')!r} is not an IANA time zone") from None
    days: dict[int, tuple[time, time]] = {}
    raw_days = spec.get("days") or {}
    if not isinstance(raw_days, dict):
        raise _fail(f"{where}.days", "must map a day (mon … sun) to [start, end]")
    for key, span in raw_days.items():
        day = str(key).lower()[:3]
        if day not in DAY_KEYS:
            raise _fail(f"{where}.days", f"{key!r} is not a day (mon, tue, wed, thu, fri, sat, sun)")
        if not span:
            continue  # listed but empty: closed
        if not isinstance(span, (list, tuple)) or len(span) != 2:
            raise _fail(f"{where}.days.{key}", f'{span!r} must be [start, end], e.g. ["08:00", "18:00"]')
        start, end = (_clock_of(s, f"{where}.days.{key}") for s in span)
        if not start < end:
            raise _fail(f"{where}.days.{key}", f"the start {start:%H:%M} must come before the end {end:%H:%M}")
        days[DAY_KEYS.index(day)] = (start, end)
    holidays = str(spec.get("holidays") or "").upper()
    if holidays:
        import holidays as calendars  # late: it loads every country's calendars; only configured ones are needed

        try:
            calendars.country_holidays(holidays)
        except (KeyError, NotImplementedError):
            raise _fail(f"{where}.holidays", f"{holidays!r} is not a country the holidays library knows") from None
    codes = spec.get("countries") or []
    if not default:
        if not isinstance(codes, (list, tuple)) or not codes:
            raise _fail(f"{where}.countries", "list the countries this team answers, e.g. [CL]")
        for code in codes:
            if not (isinstance(code, str) and len(code) == 2 and code.isalpha()):
                raise _fail(f"{where}.countries", f"{code!r} is not a two-letter country code")
        if "timezone" not in spec:
            raise _fail(where, "a team needs its timezone")
    return Team(
        name=name,
        zone=zone,
        label=str(spec.get("label") or ""),
        holidays=holidays,
        days=days,
        countries=frozenset(str(c).upper() for c in codes),
    )


def hours(cfg: dict[str, Any] | None = None) -> Hours:
    """The teams' hours in ``cfg`` (``config/console.yml`` by default), checked: ``TeamHoursError`` if wrong."""
    cfg = settings.config(cfg)
    default = cfg.get("working_hours")
    teams_spec = cfg.get("teams") or {}
    if not isinstance(teams_spec, dict):
        raise _fail("teams", "must map a team's name to its hours")
    teams: list[Team] = []
    taken: dict[str, str] = {}
    for name, spec in teams_spec.items():
        team = _team(str(name), spec, f"teams.{name}", default=False)
        for code in team.countries:
            if code in taken:
                raise _fail(f"teams.{name}.countries", f"{code} is already answered by team {taken[code]}")
            taken[code] = team.name
        teams.append(team)
    return Hours(
        default=_team("default", default, "working_hours", default=True) if default else None,
        teams=tuple(teams),
    )


def team_for(debtor: HasZone | None, cfg: dict[str, Any] | None = None) -> Team | None:
    """The team that answers ``debtor`` (by country), None when nobody keeps hours for them."""
    return hours(cfg).team_for(debtor.country if debtor is not None else None)


def _is_holiday(day: date, team: Team) -> bool:
    if not team.holidays:
        return False
    import holidays as calendars

    try:
        return day in calendars.country_holidays(team.holidays, years=day.year)
    except (KeyError, NotImplementedError):
        return False


def _at_work(team: Team, now: datetime) -> bool:
    if team.always_open:
        return True
    local = now.astimezone(team.zone)
    span = team.days.get(local.weekday())
    return span is not None and not _is_holiday(local.date(), team) and span[0] <= local.time() < span[1]


def _next_opening(team: Team, now: datetime) -> datetime | None:
    if team.always_open:
        return None
    local = now.astimezone(team.zone)
    for offset in range(LOOK_AHEAD_DAYS):
        day = local.date() + timedelta(days=offset)
        span = team.days.get(day.weekday())
        if span is None or _is_holiday(day, team):
            continue
        if offset == 0 and local.time() >= span[0]:
            continue
        return datetime.combine(day, span[0], tzinfo=team.zone)
    return None


# --- The debtor's zone and the words ------------------------------------------------------------------
def debtor_zone(debtor: HasZone | None) -> zoneinfo.ZoneInfo | None:
    """The debtor's own zone: ``Debtor.timezone``, else their country's (``config/countries.yml``), else None."""
    if debtor is None:
        return None
    for name in (debtor.timezone, countries.settings(debtor.country).timezone if debtor.country else ""):
        if name:
            try:
                return zoneinfo.ZoneInfo(str(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return None


def _clock(t: datetime) -> str:
    """ "las 8:00", "las 15:30", "la 1:00" (24 h, as every time the bot tells)."""
    article = "la" if t.hour == 1 else "las"
    return f"{article} {t.hour}:{t.minute:02d}"


def when_words(opening: datetime, now: datetime) -> str:
    """ "hoy a partir de las 8:00", "mañana …", "el lunes …", "el lunes 12 de enero …" (in ``opening``'s zone)."""
    days_ahead = (opening.date() - now.astimezone(opening.tzinfo).date()).days
    if days_ahead <= 0:
        day = "hoy"
    elif days_ahead == 1:
        day = "mañana"
    elif days_ahead < 7:
        day = f"el {DAY_NAMES[opening.weekday()]}"
    else:
        day = f"el {DAY_NAMES[opening.weekday()]} {opening.day} de {MONTH_NAMES[opening.month - 1]}"
    return f"{day} a partir de {_clock(opening)}"


def _zone_label(team: Team) -> str:
    if team.label:
        return team.label
    city = str(team.zone.key).rsplit("/", 1)[-1].replace("_", " ")
    return f"hora de {city}"


# --- What the debtor is told --------------------------------------------------------------------------
def availability(
    debtor: HasZone | None = None, now: datetime | None = None, cfg: dict[str, Any] | None = None
) -> Availability:
    """Whether a person of ``debtor``'s team works now; if not, when one will answer, in the debtor's zone
    ("mañana a partir de las 8:00"), or in the team's zone, named, when the debtor's zone is unknown."""
    now = now or settings.utcnow()
    team = team_for(debtor, cfg)
    if team is None or (_at_work(team, now) and _at_work(team, now + LAST_CALL)):
        return Availability(open=True)
    opening = _next_opening(team, now)
    if opening is None:
        return Availability(open=True)  # open days but none within three weeks: say nothing of hours
    zone = debtor_zone(debtor)
    if zone is not None:
        local = opening.astimezone(zone)
        return Availability(open=False, when=when_words(local, now), opening=local)
    return Availability(open=False, when=f"{when_words(opening, now)} ({_zone_label(team)})", opening=opening)


def is_working_time(
    now: datetime | None = None, cfg: dict[str, Any] | None = None, debtor: HasZone | None = None
) -> bool:
    team = team_for(debtor, cfg)
    return team is None or _at_work(team, now or settings.utcnow())


def next_opening(
    now: datetime | None = None, cfg: dict[str, Any] | None = None, debtor: HasZone | None = None
) -> datetime | None:
    """When ``debtor``'s team is next at work (aware, in the team's time zone); None when always staffed."""
    team = team_for(debtor, cfg)
    return None if team is None else _next_opening(team, now or settings.utcnow())


def out_of_hours_notice(
    now: datetime | None = None, cfg: dict[str, Any] | None = None, debtor: HasZone | None = None
) -> str | None:
    """A stand-alone notice for a debtor whose conversation went to a person while the team is away, or
    None during working hours. A hand-off reply that already says when a person answers replaces it."""
    state = availability(debtor, now, cfg)
    if state.open:
        return None
    return (
        f"En este momento nuestro equipo no está disponible; una persona le responderá {state.when}. "
        "Su conversación queda registrada."
    )


def notify_out_of_hours(
    session: Session, handoff: Handoff, now: datetime | None = None, cfg: dict[str, Any] | None = None
) -> list[Message]:
    """Outside working hours, prepare (once per hand-off) the notice telling the debtor when a person
    will answer, on the debtor's channel. The caller commits and queues the sending, as for any reply.
    For whoever opens hand-offs: ``if created: team_hours.notify_out_of_hours(session, handoff)``."""
    debtor = session.get(Debtor, handoff.debtor_id) if handoff.debtor_id else None
    notice = out_of_hours_notice(now, cfg, debtor)
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
