"""Calls to Rasa's HTTP API (``trigger_intent``): authenticated by a short-lived JWT in a header.

Why not Rasa's ``?token=`` query parameter: a token in a URL ends up in logs, proxies and error messages.
Rasa 3.6 also accepts a JWT signed with ``--jwt-secret`` (channels/rasa_server.py passes it from the
environment) in ``Authorization: Bearer``; the worker signs one per call, valid for a few minutes.
"""

from __future__ import annotations

import time

import jwt

from bot.platform.config import Settings, get_settings

JWT_METHOD = "HS256"
LIFETIME_S = 300


def auth_headers(settings: Settings | None = None, now: float | None = None) -> dict[str, str]:
    settings = settings or get_settings()
    issued = int(now if now is not None else time.time())
    claims = {"user": {"username": "recobra-worker", "role": "admin"}, "iat": issued, "exp": issued + LIFETIME_S}
    return {"Authorization": "Bearer " + jwt.encode(claims, settings.rasa_jwt_secret, algorithm=JWT_METHOD)}
