"""Console and dashboard users. Passwords are hashed with scrypt (werkzeug's default KDF)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.store.models import ROLES, User

MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    pass


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
    user.password_hash = generate_password_hash(password)
    user.active = True
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        return None
    return user
