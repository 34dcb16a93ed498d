"""Per-country conversation settings from ``config/countries.yml``.

Whether the bot may ask why a debtor has not paid (never in Colombia: Ley 2300 de 2023), which
payment methods to offer, how long a person usually takes to answer a hand-off (while the team is at work),
and the country's time zone (for a debtor with none of their own).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.platform import policies


@dataclass(frozen=True)
class CountrySettings:
    country: str
    ask_reason: bool
    payment_methods: tuple[str, ...]
    handoff_wait: str
    timezone: str  # IANA zone of the country ("" when not configured)


def settings(country: str | None) -> CountrySettings:
    data = policies.load("countries")
    base = dict(data.get("default") or {})
    code = (country or "").upper()
    base.update(data.get(code) or {})
    return CountrySettings(
        country=code,
        ask_reason=bool(base.get("ask_reason", True)),
        payment_methods=tuple(base.get("payment_methods") or ()),
        handoff_wait=str(base.get("handoff_wait") or ""),
        timezone=str(base.get("timezone") or ""),
    )


def may_ask_reason(country: str | None) -> bool:
    return settings(country).ask_reason


def join_words(items: list[str] | tuple[str, ...], last: str = "o") -> str:
    """``a, b o c`` the way a Spanish sentence lists choices."""
    items = [i for i in items if i]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def payment_methods_text(country: str | None) -> str:
    return join_words(settings(country).payment_methods)
