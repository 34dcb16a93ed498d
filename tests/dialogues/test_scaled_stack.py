"""`make run-scaled` end to end: `python -m bot run-scaled` on free ports — its own PostgreSQL cluster, HAProxy, two
of every process — answers a signed Twilio conversation (greeting, the 4 digits, the balance) as `make run` does,
then stops without leaving a process or a listening port behind. Marked ``rasa`` (the trained model) and ``slow``
(two Rasa servers load the model: a minute or two on 2 cores)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.environment import free_port
from tests.scaled_stack import SCALED_STACK_MARKS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = SCALED_STACK_MARKS


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def listening(port: int) -> bool:
    return any(c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in psutil.net_connections("tcp"))


def test_the_scaled_stack_answers_a_conversation_and_stops_clean(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from bot.platform.config import reset_settings
    from tests.dialogues import run, spec

    ports = {name: free_port() for name in ("web", "rasa", "actions", "postgres")}
    backends = {name: [free_port(), free_port()] for name in ("web", "rasa", "actions")}
    # PostgreSQL runs as the postgres user when the tests run as root: a folder it can reach, not tmp_path
    pgdata = Path(tempfile.mkdtemp(prefix="recobra-scaled-pg-"))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # unset: the stack starts its own cluster
    env.update(
        {
            "RECOBRA_VAR_DIR": str(tmp_path / "var"),
            "RECOBRA_PGDATA": str(pgdata),
            "RECOBRA_PG_PORT": str(ports["postgres"]),
            "REDIS_URL": redis_url,
            "PORT": str(ports["web"]),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['web']}",
            "RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
            "RECOBRA_WEB_BACKEND_PORTS": ",".join(map(str, backends["web"])),
            "RECOBRA_RASA_BACKEND_PORTS": ",".join(map(str, backends["rasa"])),
            "RECOBRA_ACTION_BACKEND_PORTS": ",".join(map(str, backends["actions"])),
            "RECOBRA_CAMPAIGNS_SCHEDULED": "false",
        }
    )
    web = env["PUBLIC_BASE_URL"]
    log_path = tmp_path / "scaled.log"
    with log_path.open("wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "bot", "run-scaled", "--demo-history", "0"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    tree: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 600
        every_server = [f"http://127.0.0.1:{p}/healthz" for p in backends["web"]]
        every_server += [f"http://127.0.0.1:{p}/" for p in backends["rasa"]]
        every_server += [f"http://127.0.0.1:{p}/health" for p in backends["actions"]]
        while not all(answers(u) for u in [web + "/healthz", env["RASA_URL"] + "/", *every_server]):
            assert launcher.poll() is None, (
                f"run-scaled exited ({launcher.returncode}):\n{log_path.read_text()[-3000:]}"
            )
            assert time.monotonic() < deadline, f"the scaled stack did not come up:\n{log_path.read_text()[-3000:]}"
            time.sleep(2)
        tree = psutil.Process(launcher.pid).children(recursive=True)
        commands = [p.cmdline() for p in tree]
        assert sum(c[1:4] == ["-m", "bot", "worker"] for c in commands) == 2
        assert any("haproxy" in c[0] for c in commands) and any(c[0].endswith("/postgres") for c in commands)

        for name, value in env.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        try:
            stack = run.Stack(web, web, env["RECOBRA_API_KEY"], env["TWILIO_AUTH_TOKEN"])
            balance = run.select(spec.load(), ["co-balance-1"])[0]  # a greeting, the 4 digits, the balance
            result = run.run_one(stack, balance)
        finally:
            monkeypatch.undo()
            reset_settings()
        assert result.passed, run.failure_report(result)
        assert len(result.exchanges) == 2 and all(ex.replies for ex in result.exchanges)
        assert any("187.450" in reply for reply in result.exchanges[-1].replies)
    finally:
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGINT)
            try:
                launcher.wait(90)
            except subprocess.TimeoutExpired:
                launcher.kill()
        shutil.rmtree(pgdata, ignore_errors=True)
    # honcho's own code for a stop asked with SIGINT is 130, as a shell's for Ctrl-C
    assert launcher.returncode in (0, 130), log_path.read_text()[-3000:]
    assert log_path.read_text().rstrip().endswith("Recobra (scaled) stopped.")
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, f"left running: {[p.cmdline() for p in alive]}"
    still = [p for p in [*ports.values(), *sum(backends.values(), [])] if listening(p)]
    assert not still, f"ports still open: {still}"
