"""Login for the console and the dashboard: Flask-Login sessions, CSRF per blueprint, a login rate limit.

``init_app(app)`` sets it all up once (``bot.web.console.register`` calls it; so may the manager
dashboard). Other areas protect their views with::

    from bot.web.auth import csrf_protect, role_required

    csrf_protect(bp)                       # every POST/PUT/PATCH/DELETE of the blueprint needs the token
    @bp.get("/manager/")
    @role_required("manager", "admin")     # anonymous -> login page; wrong role -> 403
    def dashboard(): ...

CSRF is opt-in per blueprint (``WTF_CSRF_CHECK_DEFAULT`` is off), so the JSON webhooks and
``/api/v1`` stay exempt without each having to remember it. Templates get ``csrf_token()``.

Login attempts are counted in Redis (``bot.staff.login_limits``) before the password is compared: 5 per
username + IP, 20 per username from any IP, 30 per IP in 15 minutes; past a limit even the right
password is refused (429). Without Redis nobody signs in (503): the limit never fails open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from bot.platform import metrics, redis_client
from bot.staff import users
from bot.staff.login_limits import LimiterUnavailable, LoginLimiter
from bot.store import audit
from bot.store.models import User
from bot.web.db import get_session

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, url_prefix="/console", template_folder="templates")
login_manager = LoginManager()
csrf = CSRFProtect()

ROLE_LABELS = {"agent": "Agente", "manager": "Gerente", "admin": "Administrador"}


class LoginUser(UserMixin):
    """What a request knows about its signed-in user; read from the store on every request, so a
    deactivated user or a changed role takes effect at once."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.username = user.username
        self.name = user.name or user.username
        self.role = user.role
        self.timezone = user.timezone  # the zone the user chose for times and periods (None: the configured one)
        self.session_version = user.session_version or 0

    def get_id(self) -> str:
        """The id kept in the session: the user's id and session version (a raised version ends the session)."""
        return f"{self.id}:{self.session_version}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


@login_manager.user_loader
def _load_user(session_id: str) -> LoginUser | None:
    try:
        user_id, version = (int(part) for part in str(session_id).split(":"))
    except (TypeError, ValueError):
        return None  # not ours, or from before session versions: sign in again
    user = get_session().get(User, user_id)
    if user is None or not user.active or (user.session_version or 0) != version:
        return None
    return LoginUser(user)


def init_app(app: Flask) -> None:
    """Set up sessions, CSRF and the login views once (safe to call from several blueprints)."""
    if "auth" in app.blueprints:
        return
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # opt-in per blueprint: see csrf_protect
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=10))
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config.get("SESSION_COOKIE_SECURE", False))
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Inicia sesión para continuar."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)


def csrf_protect(blueprint: Blueprint) -> None:
    """Require the CSRF token on every state-changing request of ``blueprint`` (400 without it)."""

    @blueprint.before_request
    def _check_csrf() -> None:
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            csrf.protect()


def secure_headers(blueprint: Blueprint) -> None:
    """No caching of debtor data, no framing, no inline scripts."""

    @blueprint.after_request
    def _headers(response):
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        return response


csrf_protect(bp)
secure_headers(bp)


def role_required(*roles: str) -> Callable:
    """A view for signed-in users with one of ``roles`` (none given: any role)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# --- Rate limit (bot.staff.login_limits) -------------------------------------------------------------
def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _limiter() -> LoginLimiter:
    try:
        return LoginLimiter(redis_client.get_redis())
    except Exception as exc:  # e.g. an unusable REDIS_URL: no count, no login
        raise LimiterUnavailable(str(exc)) from exc


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def home_for(user: LoginUser) -> str:
    return url_for("console.index")


# --- Views -------------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")) or home_for(current_user))
    status = 200
    if request.method == "POST":
        username = (request.form.get("username") or "").strip().lower()[:80]
        password = request.form.get("password") or ""
        db = get_session()
        try:
            limiter = _limiter()
            allowed = limiter.reserve(username, _client_ip())
        except LimiterUnavailable:
            metrics.LOGIN_FAILURES.labels("unavailable").inc()
            audit.record(
                db, actor=username or "?", action="login_unavailable", target_type="user", details={"ip": _client_ip()}
            )
            db.commit()
            flash(
                "El inicio de sesión no está disponible en este momento. Inténtalo de nuevo en unos minutos.", "error"
            )
            return render_template("auth/login.html", username=username), 503
        if not allowed:
            metrics.LOGIN_FAILURES.labels("locked").inc()
            audit.record(
                db, actor=username or "?", action="login_locked", target_type="user", details={"ip": _client_ip()}
            )
            db.commit()
            flash("Demasiados intentos fallidos. Espera 15 minutos e inténtalo de nuevo.", "error")
            return render_template("auth/login.html", username=username), 429
        user = users.authenticate(db, username, password)  # one KDF run whatever the case
        if user is None:
            metrics.LOGIN_FAILURES.labels("bad_credentials").inc()
            audit.record(
                db, actor=username or "?", action="login_failed", target_type="user", details={"ip": _client_ip()}
            )
            db.commit()
            flash("Usuario o contraseña incorrectos.", "error")
            status = 401
        else:
            limiter.succeeded(username, _client_ip())
            session.clear()  # a fresh session: no fixation
            # Not a permanent session: Flask-Login's strong protection then drops a cookie replayed from
            # another browser; Flask still refuses one older than PERMANENT_SESSION_LIFETIME.
            login_user(LoginUser(user))
            audit.by_staff(
                db,
                user,
                action="login",
                target_type="user",
                target_id=user.id,
                details={"ip": _client_ip()},
            )
            db.commit()
            return redirect(_safe_next(request.args.get("next")) or home_for(current_user))
        return render_template("auth/login.html", username=username), status
    return render_template("auth/login.html", username=""), status


@bp.post("/logout")
@login_required
def logout():
    db = get_session()
    audit.by_staff(
        db,
        current_user,
        action="logout",
        target_type="user",
        target_id=current_user.id,
    )
    user = db.get(User, current_user.id)
    if user is not None:
        users.end_sessions(user)  # a copy of this cookie taken before logout is dead too
    db.commit()
    logout_user()
    session.clear()
    flash("Sesión cerrada.", "info")
    return redirect(url_for("auth.login"))


def current_db_user() -> User:
    """The signed-in user's store row (for services that take a ``User``)."""
    user = get_session().get(User, current_user.id)
    if user is None or not user.active:
        abort(403)
    return user


__all__ = ["bp", "init_app", "role_required", "csrf_protect", "secure_headers", "current_db_user"]
