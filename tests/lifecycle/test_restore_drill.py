"""The restore drill: back up, wipe, restore, and the demo answers as before (SQLite here; PostgreSQL when
TEST_DATABASE_URL names one, marked ``postgres``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.demo import seed
from bot.lifecycle import backup, tracker_events
from bot.platform.config import get_settings
from tests.lifecycle.conftest import add_events, days_ago, events_of

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgresql")


@pytest.fixture()
def demo(session):
    seed.seed(session)
    session.commit()
    session.close()


def _drill(tmp_path: Path, tracker) -> None:
    from bot.__main__ import cli

    add_events(tracker, "+573001112233", [("session_started", days_ago(1)), ("user", days_ago(1))])
    before = backup.fingerprint(get_settings().database_url)
    assert before["balances"] and before["rows"]["debtors"] > 0
    result = CliRunner().invoke(cli, ["restore-drill", "--to", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    assert "restore drill passed" in result.output
    assert "GET /api/v1/debtors/" in result.output and ": 200, same as before" in result.output
    assert backup.fingerprint(get_settings().database_url) == before
    assert len(events_of(tracker, "+573001112233")) == 2  # Rasa's conversations came back too
    assert (tmp_path / "backup" / backup.MANIFEST).exists()
    assert oct((tmp_path / "backup").stat().st_mode & 0o777) == "0o700"


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite drill; the PostgreSQL one is below")
def test_the_drill_restores_the_demo_on_sqlite(demo, tracker, tmp_path, client, api_headers):
    store = Path(get_settings().database_url.removeprefix("sqlite:///"))
    answer = client.get("/api/v1/debtors/CO-1001", headers=api_headers)
    assert answer.status_code == 200 and answer.json["invoices"][0]["balance"] == "185000.00"
    _drill(tmp_path, tracker)
    assert store.exists() and (tmp_path / "backup" / "store.sqlite3").exists()
    assert (tmp_path / "backup" / "tracker.sqlite3").exists()
    again = client.get("/api/v1/debtors/CO-1001", headers=api_headers)
    assert (again.status_code, again.json) == (answer.status_code, answer.json)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL only (TEST_DATABASE_URL)")
def test_the_drill_restores_the_demo_on_postgresql(demo, tracker, tmp_path):
    _drill(tmp_path, tracker)
    assert (tmp_path / "backup" / "store.pgdump").exists()


def test_a_drill_whose_restore_differs_fails_loudly(demo, tmp_path, monkeypatch):
    from bot.__main__ import cli

    real_restore = backup.restore

    def lossy(made, store_url, tracker_url):  # a restore that loses a debtor: the drill must notice
        real_restore(made, store_url, tracker_url)
        import sqlalchemy as sa

        engine = sa.create_engine(store_url, future=True)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM debtors WHERE id = (SELECT max(id) FROM debtors)"))
        engine.dispose()

    monkeypatch.setattr(backup, "restore", lossy)
    result = CliRunner().invoke(cli, ["restore-drill", "--to", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert "restore drill FAILED" in result.output and "rows" in result.output


def test_the_drill_refuses_production_without_force(monkeypatch):
    from bot.__main__ import cli
    from bot.platform.config import reset_settings

    monkeypatch.setenv("RECOBRA_ENV", "production")
    reset_settings()
    try:
        result = CliRunner().invoke(cli, ["restore-drill"])
    finally:
        monkeypatch.delenv("RECOBRA_ENV")
        reset_settings()
    assert result.exit_code == 2 and "--force" in result.output


def test_a_backup_cannot_be_restored_into_another_kind_of_store(tmp_path):
    made = backup.Backup(tmp_path, "postgresql", {"store": "store.pgdump"}, "2026-12-05T12:00:00+00:00")
    with pytest.raises(backup.BackupError, match="cannot be restored"):
        backup.restore(made, "sqlite:///" + str(tmp_path / "x.db"), None)
    with pytest.raises(backup.BackupError, match="manifest"):
        backup.Backup.read(tmp_path)


def test_the_tracker_lives_beside_a_sqlite_store_and_inside_a_postgresql_one():
    s = get_settings()
    if s.database_url.startswith("sqlite"):
        assert tracker_events.tracker_url(s) == f"sqlite:///{s.var_dir / 'rasa_tracker.db'}"
    else:
        assert tracker_events.tracker_url(s) == s.database_url
