"""Console and dashboard users. Passwords are hashed with scrypt (werkzeug's default KDF)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.store.models import ROLES, User

MIN_PASSWORD_LENGTH = 10
# The scrypt hash (werkzeug's default parameters) of a random password nobody kept. A sign-in for an
# unknown or inactive user, or with an empty password, is compared against it, so that every attempt
# costs exactly one KDF run and the time taken does not tell which usernames exist.
DUMMY_HASH = (
    "scrypt:32768:8:1$Vz0WjqLaCDTXYfVg$57427cb6390699b0814328fe4316aa5bdc09ca7419ace41700d313b81fd974fc"
    "2209d02333fa6b53b98d67bd377700cc48b4cf3f229132bfee89ad3f50ecc8ea"
)


class UserError(ValueError):
    pass


def end_sessions(user: User) -> None:
    """Every session of ``user`` stops working (logout, password change, deactivation): the session id a
    browser holds carries the version it was issued with (bot/web/auth.py)."""
    user.session_version = (user.session_version or 0) + 1


def create_or_update(session: Session, username: str, role: str, password: str, name: str = "") -> User:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    username = username.strip().lower()
    if not username:
        raise UserError("username is required")
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        user = User(username=username)
        session.add(user)
    user.role = role
    user.name = name or user.name or username
    if user.password_hash and not check_password_hash(user.password_hash, password):
        end_sessions(user)  # a new password ends every open session
    user.password_hash = generate_password_hash(password)
    user.active = True
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None.

    Equal work whatever the case (unknown user, inactive user, empty password, wrong or right
    password): one query and one password hash comparison, so no user enumeration by timing."""
    user = session.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()
    usable = user is not None and user.active and bool(password)
    matches = check_password_hash(user.password_hash if usable else DUMMY_HASH, password)
    return user if usable and matches else None
