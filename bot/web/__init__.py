"""The web edge: the Flask application factory (Flask tutorial style)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from bot.platform.config import get_settings
from bot.web import api, checkout, console, db, errors, health, manager, mercadopago, openapi, sandbox, webhooks


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    settings = get_settings()
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        RECOBRA_API_KEY=settings.api_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        REMEMBER_COOKIE_HTTPONLY=True,
        JSON_SORT_KEYS=False,
        MANAGER_TIMEZONE=settings.manager_timezone,
        SETTINGS=settings,
    )
    if test_config:
        app.config.update(test_config)
    hops = int(app.config.get("PROXY_HOPS", settings.proxy_hops))
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)  # type: ignore[method-assign]
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's settings
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    db.init_app(app)
    errors.init_app(app)
    health.register(app)  # /healthz, /readyz, /metrics; request timing and log context

    app.register_blueprint(api.bp)
    openapi.register(app)  # GET /api/v1/openapi.json: public, describes the API and the webhooks, holds no data

    # Each area registers its own blueprints (and decides whether it is on: the sandbox only with sandbox providers).
    for area in (webhooks, sandbox, mercadopago, checkout, console, manager):
        area.register(app)

    return app
