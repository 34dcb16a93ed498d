"""Phone numbers: one E.164 form per person, whatever the channel.

Mexican WhatsApp numbers arrive as ``+521`` + 10 digits while the same person's SMS number is
``+52`` + 10 digits (docs/platform.md); both normalise to the ``+52`` form so one person has one
conversation.
"""

from __future__ import annotations

import phonenumbers

from bot.platform.config import get_settings

# Recobra's fictitious range, for demo data only: per country an E.164 prefix the national numbering plan
# does not assign (phonenumbers calls every number in it invalid), with the number's length in digits.
# Accepted only in demo mode; the real Twilio provider refuses to send to it (bot/providers/twilio.py).
DEMO_RANGES: dict[str, int] = {
    "+57399": 12,  # Colombia: mobile numbers are 30x-35x; 399 is unassigned
    "+5240": 12,  # Mexico: no area code starts 40
    "+549119": 13,  # Argentina: Buenos Aires mobiles 11 do not continue with 9
    "+5690": 11,  # Chile: mobiles 9 do not continue with 0
    "+5180": 11,  # Peru: nine-digit numbers are mobiles starting 9
}


class PhoneError(ValueError):
    """A phone number that cannot be a debtor's number."""


def normalise(raw: str, default_region: str | None = None) -> str:
    """Return the E.164 number for ``raw`` (``whatsapp:`` prefix allowed) or raise PhoneError."""
    if not isinstance(raw, str) or not raw.strip():
        raise PhoneError("phone is required")
    text = _one_form(raw)
    if is_demo_number(text) and _demo_numbers_allowed():
        return text
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"phone {raw!r} is not a valid number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"phone {raw!r} is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_demo_number(e164: str) -> bool:
    """A number of the fictitious demo range: it belongs to nobody and is never sent to a real provider."""
    text = _one_form(e164)
    if not text.startswith("+") or not text[1:].isdigit():
        return False
    return any(text.startswith(prefix) and len(text) - 1 == digits for prefix, digits in DEMO_RANGES.items())


def _one_form(raw: str) -> str:
    """Without Twilio's ``whatsapp:`` prefix, and a Mexican WhatsApp ``+521`` number as the person's ``+52`` one."""
    text = raw.strip()
    if text.lower().startswith("whatsapp:"):
        text = text.split(":", 1)[1]
    if text.startswith("+521") and len(_digits(text)) == 13:
        text = "+52" + text[4:]
    return text


def _demo_numbers_allowed() -> bool:
    return get_settings().env == "demo"


def channel_of(address: str) -> str:
    """``whatsapp`` for Twilio's ``whatsapp:+...`` addresses, else ``sms``."""
    return "whatsapp" if address.strip().lower().startswith("whatsapp:") else "sms"


def region_of(e164: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())
