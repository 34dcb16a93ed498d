"""Phone numbers: one E.164 form per person, whatever the channel.

Mexican WhatsApp numbers arrive as ``+521`` + 10 digits while the same person's SMS number is
``+52`` + 10 digits (PLATFORM.md); both normalise to the ``+52`` form so one person has one
conversation.
"""

from __future__ import annotations

import phonenumbers


class PhoneError(ValueError):
    """A phone number that cannot be a debtor's number."""


def normalise(raw: str, default_region: str | None = None) -> str:
    """Return the E.164 number for ``raw`` (``whatsapp:`` prefix allowed) or raise PhoneError."""
    if not isinstance(raw, str) or not raw.strip():
        raise PhoneError("phone is required")
    text = raw.strip()
    if text.lower().startswith("whatsapp:"):
        text = text.split(":", 1)[1]
    if text.startswith("+521") and len(_digits(text)) == 13:
        text = "+52" + text[4:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"phone {raw!r} is not a valid number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"phone {raw!r} is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
