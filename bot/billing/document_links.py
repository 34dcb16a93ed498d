"""Signed, expiring links to the PDFs generated on request: ``/d/<token>``.

Twilio fetches a WhatsApp attachment from a public URL with no login, and an SMS carries a link the debtor
opens in any browser: the link itself must be the proof that whoever holds it may read the document. So the
token names the document (its kind and row id) and an expiry, and carries an HMAC of both under a key derived
from ``SECRET_KEY``: nothing is stored per link, a forged or altered token fails the check, an old one is
refused after ``LIFETIME``. The document is rendered when the link is opened, from the store as it is then.

Token: ``<kind><id base36>-<expiry base36>-<22 chars of base64url HMAC-SHA256>`` (~40 characters, short enough
for an SMS; no ``.`` so that the access log's redaction covers it whole).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bot.platform.config import get_settings

STATEMENT = "e"  # estado de cuenta: the debtor's open invoices (id: the debtor's)
RECEIPT = "r"  # recibo: one approved payment (id: the payment's)
KINDS = (STATEMENT, RECEIPT)
LIFETIME = timedelta(days=3)  # Twilio fetches at once; a person may open an SMS link a day or two later
SIGNATURE_CHARS = 22  # 16 bytes of the HMAC: 128 bits
_TOKEN = re.compile(rf"([{''.join(KINDS)}])([0-9a-z]{{1,13}})-([0-9a-z]{{1,13}})-([A-Za-z0-9_-]{{{SIGNATURE_CHARS}}})")
PATH_PREFIX = "/d/"


@dataclass(frozen=True)
class Document:
    kind: str
    id: int
    expires_at: datetime


def _key() -> bytes:
    secret = get_settings().secret_key or ""
    return hmac.new(secret.encode(), b"recobra document links v1", hashlib.sha256).digest()


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _signature(payload: str) -> str:
    digest = hmac.new(_key(), payload.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token(kind: str, ident: int, now: datetime | None = None, lifetime: timedelta = LIFETIME) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    expires = int(((now or datetime.now(timezone.utc)) + lifetime).timestamp())
    payload = f"{kind}{_b36(ident)}-{_b36(expires)}"
    return f"{payload}-{_signature(payload)}"


def url(kind: str, ident: int, now: datetime | None = None) -> str:
    """The public address of the document (``PUBLIC_BASE_URL/d/<token>``)."""
    return f"{get_settings().public_base_url}{PATH_PREFIX}{token(kind, ident, now)}"


def read(tok: str, now: datetime | None = None) -> Document | None:
    """The document a token names, or None when it is malformed, forged or expired."""
    m = _TOKEN.fullmatch(tok or "")
    if m is None:
        return None
    kind, ident, expires, signature = m.groups()
    if not hmac.compare_digest(signature, _signature(f"{kind}{ident}-{expires}")):
        return None
    expires_at = datetime.fromtimestamp(int(expires, 36), timezone.utc)
    if (now or datetime.now(timezone.utc)) >= expires_at:
        return None
    return Document(kind, int(ident, 36), expires_at)
