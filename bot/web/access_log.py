"""Gunicorn's access log without bearer codes.

A payment link's short code (``/p/<code>``), a statement's or receipt's signed token (``/d/<token>``), a
settlement certificate's code (``/certificados/<code>.pdf``, ``/certificados/verificar?code=``) and a sandbox
checkout's reference are all a debtor needs to see or pay a debt: whoever reads them in a log file (a log shipper,
a support ticket, a backup) holds the link. The access log keeps the route and the status but replaces those path
segments and query values with ``[redactado]``, wherever they appear (request line, path, query, referer, any
header or environ atom).

``python -m bot web`` runs gunicorn with ``--logger-class bot.web.access_log.RedactingLogger``.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

from bot.platform import logs
from bot.platform.config import get_settings

LOGGER_CLASS = "bot.web.access_log.RedactingLogger"
REDACTED = "[redactado]"

# Path segments that are bearer codes: what follows these prefixes, up to the next "/", "?", "." or space.
_PATHS = re.compile(
    r"(/(?:p|d|sandbox/checkout|certificados)/)(?!verificar(?:[/?.\s\"]|$))([^/?#.\s\"]+)", re.IGNORECASE
)
# Query values that are bearer codes or secrets.
SECRET_PARAMS = (
    "code",
    "codigo",
    "token",
    "reference",
    "external_reference",
    "preference_id",
    "ref",
    "key",
    "api_key",
    "secret",
    "signature",
)
_QUERY = re.compile(r"(?<![\w-])((?:" + "|".join(SECRET_PARAMS) + r")=)([^&#\s\"]*)", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with payment-link codes, certificate codes, checkout references and secret query values
    replaced by ``[redactado]``."""
    return _QUERY.sub(lambda m: m.group(1) + REDACTED, _PATHS.sub(lambda m: m.group(1) + REDACTED, text))


class RedactingLogger(Logger):
    """Gunicorn's logger, with every string atom of an access log line redacted (``redact``); its lines rendered
    like every other line of the web process (bot/platform/logs.py: JSON in production)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if get_settings().json_logs:  # text: gunicorn's own format, as before
            for handler in [*self.error_log.handlers, *self.access_log.handlers]:
                handler.setFormatter(logs.formatter(True, "web"))

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
