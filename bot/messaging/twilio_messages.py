"""Twilio's inbound message webhook (form-encoded) as a plain value.

The body is kept exactly as the debtor wrote it: ``¡``, ``ñ`` and emoji intact (Rasa's own Twilio
channel rewrites ``¡``). ``From`` is normalised to one E.164 form per person, so a Mexican WhatsApp
``whatsapp:+521…`` and the same person's SMS ``+52…`` meet in one conversation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.platform import phones
from bot.platform.config import get_settings

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_MEDIA = 10  # Twilio sends at most 10 media per message


class InboundError(ValueError):
    """A webhook that is not a usable inbound message (no sid, no sender)."""


@dataclass(frozen=True)
class InboundMessage:
    sid: str
    from_phone: str  # E.164, the SMS form (+52…, never +521…)
    channel: str  # "whatsapp" or "sms"
    body: str
    to: str = ""  # our sender, E.164
    account_sid: str = ""
    media: list[dict[str, str]] = field(default_factory=list)  # [{"url", "content_type"}]
    profile_name: str | None = None
    wa_id: str | None = None
    raw_from: str = ""
    # a tapped WhatsApp button (quick reply or list row): its id, as the bot gave it (bot/messaging/choices.py)
    button_payload: str | None = None


def _get(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def safe_media_url(url: str) -> bool:
    """A media URL an agent's page may link to: https (Twilio's media always are), or our own base URL (the
    sandbox's sample receipt). Anything else (javascript:, data:, plain http elsewhere) could be a trap."""
    url = (url or "").strip()
    own = get_settings().public_base_url.rstrip("/") + "/"
    return url.lower().startswith("https://") or url.startswith(own)


def parse_inbound(form: Mapping[str, str]) -> InboundMessage:
    """Read Twilio's inbound parameters; raise InboundError when the essentials are missing."""
    sid = _get(form, "MessageSid") or _get(form, "SmsMessageSid") or _get(form, "SmsSid")
    if not sid:
        raise InboundError("MessageSid is missing")
    raw_from = _get(form, "From")
    if not raw_from:
        raise InboundError("From is missing")
    try:
        from_phone = phones.normalise(raw_from)
    except phones.PhoneError as exc:
        raise InboundError(str(exc)) from exc
    channel = phones.channel_of(raw_from)
    raw_to = _get(form, "To")
    to = ""
    if raw_to:
        try:
            to = phones.normalise(raw_to)
        except phones.PhoneError:
            to = raw_to.split(":", 1)[-1]
    try:
        num_media = max(0, min(MAX_MEDIA, int(_get(form, "NumMedia") or 0)))
    except ValueError:
        num_media = 0
    media = []
    for i in range(num_media):
        url = _get(form, f"MediaUrl{i}").strip()
        if safe_media_url(url):
            media.append({"url": url, "content_type": _get(form, f"MediaContentType{i}") or "application/octet-stream"})
    button_payload = (_get(form, "ButtonPayload") or _get(form, "ListId")).strip()[:200] or None
    body = _get(form, "Body") or _get(form, "ButtonText") or _get(form, "ListTitle")
    return InboundMessage(
        sid=sid,
        from_phone=from_phone,
        channel=channel,
        body=body.replace("\x00", ""),  # PostgreSQL text cannot hold NUL; nobody types one
        to=to,
        account_sid=_get(form, "AccountSid"),
        media=media,
        profile_name=_get(form, "ProfileName") or None,
        wa_id=_get(form, "WaId") or None,
        raw_from=raw_from,
        button_payload=button_payload,
    )


def address(e164: str, channel: str) -> str:
    """Twilio's address for a phone on a channel: ``whatsapp:+57…`` or ``+57…``."""
    return f"whatsapp:{e164}" if channel == "whatsapp" else e164


def whatsapp_wire_number(e164: str) -> str:
    """How WhatsApp writes a number: Mexican mobiles keep the historical ``1`` (``+521`` + 10 digits)."""
    if e164.startswith("+52") and len(e164) == 13:
        return "+521" + e164[3:]
    return e164
