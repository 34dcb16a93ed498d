"""RECOBRA_ENV=production refuses unsafe set-ups at start, seeds nothing, prints no secret; the demo cannot
leak into it (mixed providers refused, demo phones fictitious, the sandbox listing fictitious only);
secrets and var/ are private from their first byte."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.worker.doubles import twilio_double  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]
REAL = {
    "MESSAGING_PROVIDER": "twilio",
    "PAYMENTS_PROVIDER": "mercadopago",
    "TWILIO_ACCOUNT_SID": "AC" + "2" * 32,
    "TWILIO_AUTH_TOKEN": "real-twilio-token",
    "TWILIO_WHATSAPP_FROM": "+14155238886",
    "MERCADOPAGO_ACCESS_TOKEN": "APP_USR-real",
    "MERCADOPAGO_WEBHOOK_SECRET": "real-mp-secret",
    "PUBLIC_BASE_URL": "https://cobros.example.com",
    "DATABASE_URL": "postgresql://recobra:pw@db.internal/recobra",
}
PROVIDER_VARS = (
    "MESSAGING_PROVIDER",
    "PAYMENTS_PROVIDER",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_WHATSAPP_FROM",
    "TWILIO_SMS_FROM",
    "MERCADOPAGO_ACCESS_TOKEN",
    "MERCADOPAGO_WEBHOOK_SECRET",
    "PUBLIC_BASE_URL",
    "RECOBRA_ENV",
    "RECOBRA_ALLOW_SQLITE",
)


def bot(args: list[str], tmp_path: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """`python -m bot ...` in a fresh var/ with exactly the given provider settings (nothing inherited)."""
    base = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARS}
    base.update({"RECOBRA_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": f"sqlite:///{tmp_path}/store.db"})
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=timeout
    )


def refused_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("refused: ")]


def test_production_with_demo_defaults_refuses_to_start_naming_each_setting(tmp_path):
    started = time.monotonic()
    result = bot(["run"], tmp_path, RECOBRA_ENV="production")
    assert time.monotonic() - started < 60
    assert result.returncode != 0
    lines = refused_lines(result)
    for variable in ("MESSAGING_PROVIDER", "PAYMENTS_PROVIDER", "PUBLIC_BASE_URL", "DATABASE_URL"):
        assert sum(variable in line for line in lines) >= 1, (variable, lines)
    # nothing was started or written: no Procfile, no endpoints, no store
    assert not (tmp_path / "var" / "Procfile").exists() and not (tmp_path / "store.db").exists()


def test_production_with_real_providers_but_missing_secrets(tmp_path):
    env = dict(REAL, RECOBRA_ENV="production", PUBLIC_BASE_URL="http://cobros.example.com")
    del env["TWILIO_AUTH_TOKEN"], env["MERCADOPAGO_WEBHOOK_SECRET"]
    result = bot(["run"], tmp_path, **env)
    assert result.returncode != 0
    lines = refused_lines(result)
    assert any(line.startswith("refused: TWILIO_AUTH_TOKEN") for line in lines), lines
    assert any(line.startswith("refused: MERCADOPAGO_WEBHOOK_SECRET") for line in lines), lines
    assert any("PUBLIC_BASE_URL" in line and "https" in line for line in lines), lines
    assert not any(line.startswith(("refused: MESSAGING_PROVIDER", "refused: DATABASE_URL")) for line in lines), lines


@pytest.mark.slow
def test_production_sqlite_only_when_allowed_and_a_safe_setup_passes(tmp_path):
    env = dict(REAL, RECOBRA_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path}/store.db")
    refused = bot(["preflight"], tmp_path, **env)
    assert refused.returncode != 0 and any("DATABASE_URL" in line for line in refused_lines(refused))
    allowed = bot(["preflight"], tmp_path, **env, RECOBRA_ALLOW_SQLITE="true")
    assert allowed.returncode == 0, allowed.stderr
    assert bot(["preflight"], tmp_path, **REAL, RECOBRA_ENV="production").returncode == 0


@pytest.mark.parametrize("mode", ["demo", "production"])
def test_a_mixed_setup_is_refused_in_any_mode(tmp_path, mode):
    env = {k: v for k, v in REAL.items() if k != "PAYMENTS_PROVIDER"}
    env.update(PAYMENTS_PROVIDER="sandbox", RECOBRA_ENV=mode)
    for command in (["run"], ["web"], ["worker"]):
        result = bot(command, tmp_path, **env)
        assert result.returncode != 0
        assert any("mixed" in line and "PAYMENTS_PROVIDER=sandbox" in line for line in refused_lines(result))


def test_a_real_provider_secret_is_never_generated_even_in_the_demo(tmp_path):
    result = bot(
        ["preflight"],
        tmp_path,
        RECOBRA_ENV="demo",
        MESSAGING_PROVIDER="twilio",
        PAYMENTS_PROVIDER="mercadopago",
        TWILIO_ACCOUNT_SID="AC" + "3" * 32,
        TWILIO_SMS_FROM="+15005550006",
        MERCADOPAGO_ACCESS_TOKEN="APP_USR-x",
    )
    lines = refused_lines(result)
    assert result.returncode != 0
    assert [line.split()[1] for line in lines] == ["TWILIO_AUTH_TOKEN", "MERCADOPAGO_WEBHOOK_SECRET"], lines


def test_an_unknown_mode_is_refused(tmp_path):
    result = bot(["preflight"], tmp_path, RECOBRA_ENV="staging")
    assert result.returncode != 0 and any("RECOBRA_ENV" in line for line in refused_lines(result))


def test_the_demo_still_starts_by_default(tmp_path):
    result = bot(["preflight"], tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_production_seeds_nothing_and_touches_no_user(tmp_path):
    from bot.store.models import Debtor, User

    env = dict(
        REAL, RECOBRA_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path}/store.db", RECOBRA_ALLOW_SQLITE="true"
    )
    assert bot(["migrate"], tmp_path, **env).returncode == 0
    result = bot(["seed-demo", "--history", "20"], tmp_path, **env)
    assert result.returncode == 0 and "no demo data seeded" in result.stdout
    from sqlalchemy import create_engine

    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as c:
        assert c.execute(select(func.count(Debtor.id))).scalar_one() == 0
        assert c.execute(select(func.count(User.id))).scalar_one() == 0
    engine.dispose()


@pytest.mark.slow
def test_production_prints_no_secret(tmp_path):
    env = dict(REAL, RECOBRA_ENV="production", RECOBRA_API_KEY="the-api-key-secret", DEMO_PASSWORD="demo-pass-secret")
    result = bot(["info"], tmp_path, **env)
    assert result.returncode == 0
    for secret in ("the-api-key-secret", "demo-pass-secret", "real-twilio-token"):
        assert secret not in result.stdout + result.stderr
    demo = bot(["info"], tmp_path, RECOBRA_API_KEY="the-api-key-secret")
    assert "the-api-key-secret" in demo.stdout  # the demo still prints its own key, as make run always did


def test_demo_seeding_never_resets_or_reactivates_users(session):
    from bot.demo import seed
    from bot.staff import users
    from bot.store.models import User

    users.create_or_update(session, "agente", "agent", "a-password-the-admin-set")
    session.flush()
    agent = session.execute(select(User).where(User.username == "agente")).scalar_one()
    agent.active = False
    hashed = agent.password_hash
    session.commit()
    created = seed.seed_users(session, "demo-password-123")
    session.commit()
    session.expire_all()
    agent = session.execute(select(User).where(User.username == "agente")).scalar_one()
    assert created == ["gerente", "admin"]
    assert agent.active is False and agent.password_hash == hashed


def test_demo_seed_needs_both_providers_sandbox(session, monkeypatch):
    from click.testing import CliRunner

    from bot.__main__ import cli
    from bot.platform.config import reset_settings
    from bot.store.models import Debtor

    monkeypatch.setenv("MESSAGING_PROVIDER", "twilio")
    reset_settings()
    try:
        result = CliRunner().invoke(cli, ["seed-demo", "--history", "0"])
    finally:
        monkeypatch.setenv("MESSAGING_PROVIDER", "sandbox")
        reset_settings()
    assert result.exit_code == 0 and "no demo data seeded" in result.output
    assert session.execute(select(func.count(Debtor.id))).scalar_one() == 0


def test_demo_phones_are_fictitious_and_twilio_refuses_them(twilio_double, monkeypatch):  # noqa: F811
    import phonenumbers

    from bot.demo import seed
    from bot.platform.config import get_settings, reset_settings
    from bot.platform.phones import PhoneError, is_demo_number, normalise
    from bot.providers.ports import ProviderError
    from bot.providers.twilio import TwilioMessaging

    for _ext, _name, phone, *_rest in seed.DEMO_DEBTORS:
        assert is_demo_number(phone)
        assert not phonenumbers.is_valid_number(phonenumbers.parse(phone))  # assigned to nobody
        assert normalise(phone) == phone  # accepted in the demo
    assert normalise("whatsapp:+5214000123401") == "+524000123401"
    monkeypatch.setenv("TWILIO_API_BASE", twilio_double.url)
    reset_settings()
    try:
        provider = TwilioMessaging(get_settings())
        with pytest.raises(ProviderError):
            provider.send("+573990011201", "sms", body="hola")
        with pytest.raises(ProviderError):
            provider.send("+524000123401", "whatsapp", body="hola")
        assert twilio_double.created == []
        provider.send("+573001112233", "sms", body="hola")  # a real number still goes
        assert [m["to"] for m in twilio_double.created] == ["+573001112233"]
        monkeypatch.setenv("RECOBRA_ENV", "production")
        reset_settings()
        with pytest.raises(PhoneError):
            normalise("+573990011201")
    finally:
        monkeypatch.delenv("RECOBRA_ENV")
        monkeypatch.delenv("TWILIO_API_BASE")
        reset_settings()


def test_no_sandbox_pages_in_production(db, redis_url, monkeypatch):
    from bot.platform.config import reset_settings
    from bot.web import create_app

    monkeypatch.setenv("RECOBRA_ENV", "production")
    reset_settings()
    try:
        client = create_app({"TESTING": True, "DATABASE_URL": db}).test_client()
        assert client.get("/sandbox/phone").status_code == 404
        assert client.get("/sandbox/phone/debtors").status_code == 404
    finally:
        monkeypatch.delenv("RECOBRA_ENV")
        reset_settings()


def test_secrets_file_is_private_from_its_first_byte(tmp_path, monkeypatch):
    """No moment where the secrets exist in a file others may read (no write-then-chmod)."""
    from bot.platform import config

    seen: list[tuple[str, int]] = []
    real_chmod = os.chmod

    def watching_chmod(path, mode, *args, **kwargs):
        if Path(path).exists():
            seen.append((str(path), os.stat(path).st_mode & 0o777))
        return real_chmod(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "chmod", watching_chmod)
    old = os.umask(0o022)
    try:
        values = config.ensure_secrets(tmp_path / "var" / "secrets.env")
    finally:
        os.umask(old)
    path = tmp_path / "var" / "secrets.env"
    assert values["RECOBRA_API_KEY"] and path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "var").stat().st_mode & 0o777 == 0o700
    assert all(mode & 0o077 == 0 for name, mode in seen if name.endswith(("secrets.env", ".tmp"))), seen
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["secrets.env"]  # no temporary left behind


def test_var_dir_is_tightened_when_it_exists_open(tmp_path):
    from bot.platform.config import ensure_private_dir

    open_dir = tmp_path / "var"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    ensure_private_dir(open_dir)
    assert open_dir.stat().st_mode & 0o777 == 0o700


@pytest.mark.slow
def test_web_binds_loopback_unless_told(tmp_path):
    """`python -m bot web` (gunicorn) listens on 127.0.0.1 by default."""
    from tests.security.test_internal_services import LOOPBACK, free_port, listening_addresses, stop

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("RECOBRA_WEB_HOST",)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "web", "--port", str(port), "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not listening_addresses(port) and time.monotonic() < deadline:
            assert proc.poll() is None, "gunicorn exited"
            time.sleep(0.2)
        addresses = listening_addresses(port)
        assert addresses and addresses <= LOOPBACK, addresses
    finally:
        stop(proc)
