"""Backup, restore and the restore drill of the store (and of Rasa's tracker store beside it).

SQLite: SQLite's online backup API (what ``sqlite3 file ".backup copy"`` does): a consistent copy even while a
reader is open; still, stop the web and worker first so that nothing written after the copy is lost.
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists`` (Debian's postgresql-client, installed
by scripts/scaled_deps.sh); Rasa's ``events`` table lives in the same database and travels with it. The password
goes to them through ``PGPASSWORD``, never on a command line.

The drill proves a backup can be restored: it takes one, wipes the store, restores it, and compares what the store
and an API read answered before and after.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.platform.config import ensure_private_dir

MANIFEST = "manifest.json"


class BackupError(RuntimeError):
    """A backup or restore step failed; the message says which and why."""


def kind_of(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"no backup procedure for {name} databases")
    return name


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (pg_dump's own syntax) and the environment that carries the password."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str]) -> None:
    tool = shutil.which(args[0])
    if tool is None:
        raise BackupError(f"{args[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run([tool, *args[1:]], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-800:]}")


def _sqlite_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


@dataclass
class Backup:
    directory: Path
    kind: str
    files: dict[str, str]  # part ("store", "tracker") -> file name in the directory
    created_at: str

    @classmethod
    def read(cls, directory: Path) -> Backup:
        path = directory / MANIFEST
        if not path.exists():
            raise BackupError(f"{directory} holds no backup ({MANIFEST} is missing)")
        data = json.loads(path.read_text())
        return cls(directory, data["kind"], data["files"], data["created_at"])


def backup(store_url: str, tracker_url: str | None, directory: Path) -> Backup:
    """Copy the store (and on SQLite the tracker file, when there is one) into ``directory`` (created 0700)."""
    kind = kind_of(store_url)
    ensure_private_dir(directory)
    files: dict[str, str] = {}
    if kind == "sqlite":
        parts = {"store": store_url, "tracker": tracker_url}
        for part, url in parts.items():
            if url is None or not _sqlite_path(url).exists():
                continue
            name = f"{part}.sqlite3"
            _sqlite_copy(_sqlite_path(url), directory / name)
            (directory / name).chmod(0o600)
            files[part] = name
        if "store" not in files:
            raise BackupError(f"the store {_sqlite_path(store_url)} does not exist")
    else:
        dsn, env = _libpq(store_url)
        target = directory / "store.pgdump"
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target), dsn], env)
        target.chmod(0o600)
        files["store"] = target.name
    made = Backup(directory, kind, files, datetime.now(timezone.utc).isoformat())
    (directory / MANIFEST).write_text(
        json.dumps({"kind": kind, "files": files, "created_at": made.created_at}, indent=2) + "\n"
    )
    return made


def wipe(store_url: str, tracker_url: str | None) -> None:
    """Remove the store (and the SQLite tracker file): what a lost disk or a dropped database leaves."""
    if kind_of(store_url) == "sqlite":
        for url in (store_url, tracker_url):
            if url is None:
                continue
            path = _sqlite_path(url)
            for extra in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{extra}").unlink(missing_ok=True)
        return
    engine = sa.create_engine(store_url, future=True, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            for name in sa.inspect(conn).get_table_names():
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(name)} CASCADE")
    finally:
        engine.dispose()


def restore(made: Backup, store_url: str, tracker_url: str | None) -> None:
    """Put a backup back in place of the store (and tracker)."""
    if made.kind != kind_of(store_url):
        raise BackupError(f"a {made.kind} backup cannot be restored into a {kind_of(store_url)} store")
    if made.kind == "sqlite":
        for part, url in (("store", store_url), ("tracker", tracker_url)):
            name = made.files.get(part)
            if name is None or url is None:
                continue
            path = _sqlite_path(url)
            for extra in ("-wal", "-shm", "-journal"):
                Path(f"{path}{extra}").unlink(missing_ok=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            _sqlite_copy(made.directory / name, path)
        return
    dsn, env = _libpq(store_url)
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--dbname",
            dsn,
            str(made.directory / made.files["store"]),
        ],
        env,
    )


def is_empty(store_url: str) -> bool:
    """No store left: the SQLite file is gone, or the database holds no table."""
    if kind_of(store_url) == "sqlite":
        return not _sqlite_path(store_url).exists()
    engine = sa.create_engine(store_url, future=True, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return not sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()


def fingerprint(store_url: str, sample: int = 50) -> dict[str, Any]:
    """What a restore must bring back: the schema revision, every table's row count, and the balances of the first
    ``sample`` debtors' invoices (the demo's debtors on a demo store)."""
    engine = sa.create_engine(store_url, future=True, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            # plain table and column names, no reflection: the store's indexes (an expression index for
            # full-text search on PostgreSQL) are none of the drill's business
            tables = sorted(sa.inspect(conn).get_table_names())
            counts = {t: conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one() for t in tables}
            revision = None
            if "alembic_version" in tables:
                revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            balances: dict[str, list[list[Any]]] = {}
            if "debtors" in tables and "invoices" in tables:
                debtors = sa.table("debtors", sa.column("id"), sa.column("external_id"))
                invoices = sa.table(
                    "invoices", sa.column("id"), sa.column("debtor_id"), sa.column("external_id"), sa.column("balance")
                )
                first = sa.select(debtors.c.id).order_by(debtors.c.id).limit(sample).subquery()
                rows = conn.execute(
                    sa.select(debtors.c.external_id, invoices.c.external_id, invoices.c.balance)
                    .join(invoices, invoices.c.debtor_id == debtors.c.id)
                    .where(debtors.c.id.in_(sa.select(first.c.id)))
                    .order_by(debtors.c.id, invoices.c.id)
                ).all()
                for debtor, invoice, balance in rows:
                    balances.setdefault(debtor, []).append([invoice, int(balance)])
    finally:
        engine.dispose()
    return {"revision": revision, "rows": counts, "balances": balances}


@dataclass
class Drill:
    directory: Path
    kind: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    steps: list[tuple[str, float]] = field(default_factory=list)
    wiped: bool = False

    @property
    def ok(self) -> bool:
        return self.wiped and bool(self.before) and self.before == self.after

    def differences(self) -> list[str]:
        keys = sorted(set(self.before) | set(self.after))
        return [k for k in keys if self.before.get(k) != self.after.get(k)]


def drill(
    store_url: str,
    tracker_url: str | None,
    directory: Path,
    *,
    probe: Callable[[], Any] | None = None,
    release: Callable[[], None] = lambda: None,
) -> Drill:
    """Back up, wipe, restore; ``before``/``after`` hold the store's fingerprint and ``probe()``'s answer (an API
    read, say). ``release`` closes the caller's connections before the wipe (a pooled SQLite connection would
    keep the deleted file alive)."""
    result = Drill(directory, kind_of(store_url))

    def step(name: str, fn: Callable[[], Any]) -> Any:
        started = time.monotonic()
        value = fn()
        result.steps.append((name, time.monotonic() - started))
        return value

    def state() -> dict[str, Any]:
        found = fingerprint(store_url)
        if probe is not None:
            found["probe"] = probe()
        return found

    result.before = step("read before", state)
    made = step("back up", lambda: backup(store_url, tracker_url, directory))
    release()
    step("wipe", lambda: wipe(store_url, tracker_url))
    result.wiped = is_empty(store_url)
    step("restore", lambda: restore(made, store_url, tracker_url))
    release()
    result.after = step("read after", state)
    return result
