"""The action server, locked down: ``python -m actions.server`` instead of ``rasa run actions``.

Why not rasa_sdk's own server: it binds 0.0.0.0 by default, checks no credential, and inflates a
deflate body with no size cap, while the actions trust the posted tracker ("verified" is a slot, the
debtor is found by ``sender_id``). Anyone who reached the port could read any debtor's account, record
promises, opt people out or create real payment links. Here every call must carry the shared secret
that Rasa sends (``Authorization: Bearer $ACTION_SERVER_TOKEN``, from endpoints.yml, whose value Rasa
reads from its environment), checked in constant time before any action runs, on loopback too; a body
over the limit, compressed or inflated, gets 413. The action protocol itself is rasa_sdk's (its
``ActionExecutor``), so Rasa sees no difference.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import zlib
from typing import Any
from urllib.parse import urlparse

from rasa_sdk import utils
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.platform import logs, metrics
from bot.platform.config import get_settings

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
OPEN_PATHS = frozenset({"/health", "/metrics"})  # liveness, says nothing; /metrics checks its own token


class BodyTooLarge(ValueError):
    pass


def inflate(body: bytes, limit: int) -> bytes:
    """Inflate a deflate body, refusing to produce more than ``limit`` bytes (a small bomb stays small)."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(body, limit + 1)
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(f"inflated body over {limit} bytes")
    return out


def token_matches(header: str | None, token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def create_app(token: str, max_bytes: int = DEFAULT_MAX_BYTES, package: str = "actions") -> Sanic:
    """The Sanic app: /webhook (Rasa's action calls), /actions (the list), /health; all but /health need the token."""
    if not token:
        raise ValueError("ACTION_SERVER_TOKEN is empty: the action server does not start without its secret")
    app = Sanic(f"recobra_actions_{os.getpid()}_{id(token)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = max_bytes  # Sanic answers 413 itself for a longer raw body
    executor = ActionExecutor()
    executor.register_package(package)

    @app.on_request
    async def authenticate(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if not token_matches(request.headers.get("Authorization"), token):
            return response.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
        return None

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/metrics")
    async def metrics_view(request: Request) -> HTTPResponse:
        # The actions' latency (recobra_action_seconds). Loopback; RECOBRA_METRICS_TOKEN, when set, is asked for.
        metrics_token = get_settings().metrics_token
        if metrics_token and not token_matches(request.headers.get("Authorization"), metrics_token):
            return response.json({"error": "forbidden"}, status=403)
        return response.raw(metrics.render(), content_type=metrics.CONTENT_TYPE)

    @app.get("/actions")
    async def actions(_: Request) -> HTTPResponse:
        return response.json([{"name": name} for name in executor.actions])

    @app.post("/webhook")
    async def webhook(request: Request) -> HTTPResponse:
        body = request.body or b""
        if len(body) > max_bytes:
            return response.json({"error": "body too large"}, status=413)
        try:
            if request.headers.get("Content-Encoding", "").lower() == "deflate":
                body = inflate(body, max_bytes)
            action_call: Any = json.loads(body)
        except BodyTooLarge:
            return response.json({"error": "body too large"}, status=413)
        except (zlib.error, ValueError):
            return response.json({"error": "invalid body"}, status=400)
        if not isinstance(action_call, dict) or not isinstance(action_call.get("tracker"), dict):
            return response.json({"error": "invalid body"}, status=400)
        utils.check_version_compatibility(action_call.get("version"))
        try:
            result = await executor.run(action_call)
        except ActionExecutionRejection as exc:
            return response.json({"error": exc.message, "action_name": exc.action_name}, status=400)
        except ActionNotFoundException as exc:
            return response.json({"error": exc.message, "action_name": exc.action_name}, status=404)
        # rasa-sdk 3.21 returns a model ({events, responses}); as its own endpoint does, the body is its dump
        return response.json(result.model_dump() if result else None)

    @app.exception(Exception)
    async def failed(request: Request, exc: Exception) -> HTTPResponse:
        # Logged here, never echoed: rasa_sdk's own handler returns the whole request body (the tracker).
        log.error("action call failed: %s", type(exc).__name__, exc_info=exc)
        status = getattr(exc, "status_code", 500)
        return response.json({"error": "action server error" if status >= 500 else str(exc)}, status=status)

    return app


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Recobra's action server (token-checked, loopback by default)")
    parser.add_argument(
        "--host",
        default=os.environ.get("ACTION_SERVER_HOST", DEFAULT_HOST),
        help="address to bind (ACTION_SERVER_HOST; default 127.0.0.1)",
    )
    parser.add_argument("-p", "--port", type=int, default=urlparse(settings.action_server_url).port or DEFAULT_PORT)
    args = parser.parse_args(argv)
    logs.configure("actions")
    app = create_app(settings.action_server_token, settings.action_server_max_bytes)
    log.info("action server on http://%s:%s (token required)", args.host, args.port)
    # one process, as under Sanic 21: the multi-process mode of Sanic 22+ runs the app in a worker that must
    # rebuild it from an importable factory (an AppLoader), and one process is what one action server needs
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
