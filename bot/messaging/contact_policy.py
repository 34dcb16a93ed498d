"""May we contact this debtor now, and if not, when? Per-country rules from config/contact_rules.yml.

Each rule answers "is this moment allowed?" with either None (yes) or the earliest moment it could
be; the policy moves the candidate forward until every rule says yes. That gives both the check
("blocked by policy, and why") and the deferral ("next allowed moment"), so a message that may not
go now is postponed, never dropped. Pure functions over a contact history: the caller loads the
history and records the attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import yaml

from bot.platform.config import ROOT

RULES_FILE = ROOT / "config" / "contact_rules.yml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_STEPS = 500


@dataclass(frozen=True)
class CountryRules:
    country: str
    source: str
    windows: dict[int, tuple[time, time]]  # weekday (0 = Monday) -> (start, end)
    holidays: bool
    max_per_day: int | None
    max_per_week: int | None
    max_per_month: int | None
    min_spacing: timedelta
    one_channel_per_week: bool
    version: str
    # An agent's or the system's message within this many minutes of the debtor's last message is an answer,
    # not a contact: it does not count toward the caps. ``replies_outside_hours``: such an answer may also go
    # outside the window (debtor wrote 21:50, agent answers 21:55) where the country's rule allows it.
    reply_minutes: int = 0
    replies_outside_hours: bool = False


@dataclass(frozen=True)
class Contact:
    at: datetime  # aware
    channel: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    next_allowed_at: datetime | None  # aware UTC; equals `now` when allowed
    reasons: tuple[str, ...] = field(default_factory=tuple)  # why `now` is not allowed
    rules_version: str = ""


def _parse_window(text: str) -> tuple[time, time]:
    start, end = (part.strip() for part in text.split("-"))
    return time.fromisoformat(start), time.fromisoformat(end)


def _rules_from(raw: dict, country: str, version: str) -> CountryRules:
    windows = {DAYS.index(day): _parse_window(span) for day, span in (raw.get("windows") or {}).items()}
    return CountryRules(
        country=country,
        source=raw.get("source", ""),
        windows=windows,
        holidays=bool(raw.get("holidays", True)),
        max_per_day=raw.get("max_per_day"),
        max_per_week=raw.get("max_per_week"),
        max_per_month=raw.get("max_per_month"),
        min_spacing=timedelta(hours=float(raw.get("min_spacing_hours") or 0)),
        one_channel_per_week=bool(raw.get("one_channel_per_week", False)),
        version=version,
        reply_minutes=int(raw.get("reply_minutes") or 0),
        replies_outside_hours=bool(raw.get("replies_outside_hours", False)),
    )


@lru_cache(maxsize=4)
def load_all(path: Path = RULES_FILE) -> dict[str, CountryRules]:
    data = yaml.safe_load(path.read_text())
    version = str(data.get("version", ""))
    rules = {code.upper(): _rules_from(raw, code.upper(), version) for code, raw in data["countries"].items()}
    rules["*"] = _rules_from(data["default"], "*", version)
    return rules


def rules_for(country: str, path: Path = RULES_FILE) -> CountryRules:
    all_rules = load_all(path)
    return all_rules.get((country or "").upper(), all_rules["*"])


@lru_cache(maxsize=256)
def _holiday_calendar(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays_lib.country_holidays(country, years=year).keys())
    except (NotImplementedError, KeyError):
        return frozenset()


def is_holiday(country: str, day: date) -> bool:
    return day in _holiday_calendar(country.upper(), day.year)


# --- rules: each returns None when `t` is allowed, else the earliest moment worth trying --------


def _start_of_day(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=tz)


def _window_rule(r: CountryRules, t: datetime, tz: ZoneInfo, _history: Sequence[Contact], _ch: str) -> datetime | None:
    local = t.astimezone(tz)
    day = local.date()
    window = r.windows.get(day.weekday())
    closed = window is None or (r.holidays and r.country != "*" and is_holiday(r.country, day))
    if closed:
        return _start_of_day(day + timedelta(days=1), tz)
    assert window is not None  # closed covers it
    start, end = window
    if local.time() < start:
        return datetime.combine(day, start, tzinfo=tz)
    if local.time() >= end:
        return _start_of_day(day + timedelta(days=1), tz)
    return None


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _count(history: Sequence[Contact], tz: ZoneInfo, keep: Callable[[date], bool]) -> int:
    return sum(1 for c in history if keep(c.at.astimezone(tz).date()))


def _day_cap(r: CountryRules, t: datetime, tz: ZoneInfo, history: Sequence[Contact], _ch: str) -> datetime | None:
    if r.max_per_day is None:
        return None
    day = t.astimezone(tz).date()
    if _count(history, tz, lambda d: d == day) >= r.max_per_day:
        return _start_of_day(day + timedelta(days=1), tz)
    return None


def _week_cap(r: CountryRules, t: datetime, tz: ZoneInfo, history: Sequence[Contact], _ch: str) -> datetime | None:
    if r.max_per_week is None:
        return None
    week = _week_start(t.astimezone(tz).date())
    if _count(history, tz, lambda d: _week_start(d) == week) >= r.max_per_week:
        return _start_of_day(week + timedelta(days=7), tz)
    return None


def _month_cap(r: CountryRules, t: datetime, tz: ZoneInfo, history: Sequence[Contact], _ch: str) -> datetime | None:
    if r.max_per_month is None:
        return None
    local = t.astimezone(tz).date()
    if _count(history, tz, lambda d: (d.year, d.month) == (local.year, local.month)) >= r.max_per_month:
        first_next = (local.replace(day=1) + timedelta(days=32)).replace(day=1)
        return _start_of_day(first_next, tz)
    return None


def _spacing(r: CountryRules, t: datetime, _tz: ZoneInfo, history: Sequence[Contact], _ch: str) -> datetime | None:
    if not r.min_spacing or not history:
        return None
    last = max(c.at for c in history if c.at <= t) if any(c.at <= t for c in history) else None
    if last is not None and t < last + r.min_spacing:
        return last + r.min_spacing
    return None


def _one_channel(
    r: CountryRules, t: datetime, tz: ZoneInfo, history: Sequence[Contact], channel: str
) -> datetime | None:
    if not r.one_channel_per_week:
        return None
    week = _week_start(t.astimezone(tz).date())
    if any(c.channel != channel and _week_start(c.at.astimezone(tz).date()) == week for c in history):
        return _start_of_day(week + timedelta(days=7), tz)
    return None


def in_window(r: CountryRules, t: datetime, timezone: str) -> bool:
    """Whether ``t`` falls inside the country's days and hours (holidays included), caps aside."""
    return _window_rule(r, t, ZoneInfo(timezone), (), "") is None


RULES: tuple[tuple[str, Callable[..., datetime | None]], ...] = (
    ("outside_hours", _window_rule),
    ("daily_cap", _day_cap),
    ("weekly_cap", _week_cap),
    ("monthly_cap", _month_cap),
    ("min_spacing", _spacing),
    ("one_channel_per_week", _one_channel),
)


def violations(
    r: CountryRules, t: datetime, tz: ZoneInfo, history: Sequence[Contact], channel: str
) -> dict[str, datetime]:
    out = {}
    for name, rule in RULES:
        later = rule(r, t, tz, history, channel)
        if later is not None:
            out[name] = later
    return out


def decide(
    country: str,
    timezone: str,
    now: datetime,
    history: Sequence[Contact],
    channel: str,
    rules: CountryRules | None = None,
) -> Decision:
    """Whether an automated contact may go at ``now``; if not, the next moment it may."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    r = rules or rules_for(country)
    tz = ZoneInfo(timezone)
    first = violations(r, now, tz, history, channel)
    if not first:
        return Decision(True, now.astimezone(ZoneInfo("UTC")), (), r.version)
    candidate = now
    for _ in range(MAX_STEPS):
        found = violations(r, candidate, tz, history, channel)
        if not found:
            return Decision(False, candidate.astimezone(ZoneInfo("UTC")), tuple(sorted(first)), r.version)
        later = max(found.values())
        # A local midnight that does not exist (a DST jump) can map back onto the same instant: step on.
        candidate = later if later > candidate else candidate + timedelta(minutes=15)
    return Decision(False, None, tuple(sorted(first)), r.version)
