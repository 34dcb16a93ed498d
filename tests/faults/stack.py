"""The stack the fault scenarios break: `make run-scaled` (``python -m bot run-scaled``: HAProxy, two each of web,
worker, Rasa and action server, each restarted when it dies, the bundled Redis with its append-only file) on a
PostgreSQL cluster of its own (the "managed" database the scenarios restart), with the real twilio and mercadopago
SDKs talking to local doubles of Twilio's Messages API and Mercado Pago's API that the scenarios make fail.

Everything lives in a temporary folder and on free loopback ports: the demo and a running `make run` are untouched
(only the bundled Redis's port, 6390, is shared with `make run`: the harness refuses to start when it is taken).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.edge_bench import free_port, wait_http
from bot.platform.redis_client import LOCAL_REDIS_PORT
from bot.platform.scaled import LocalPostgres, postgres_bin_dir
from tests.payments.helpers import MercadoPagoDouble
from tests.worker.doubles import FakeTwilio

ROOT = Path(__file__).resolve().parents[2]
TWILIO_TOKEN = "faults-twilio-token"
MP_TOKEN = "TEST-faults-access-token"
MP_SECRET = "faults-mercadopago-secret"
WHATSAPP_FROM = "+15005550006"
# The Python processes behind HAProxy, found by their command line (not the shell loop that restarts them).
KINDS = {
    "web": "-m gunicorn",  # `python -m bot web` execs gunicorn
    "worker": "-m bot worker",
    "rasa": "-m channels.rasa_server",
    "actions": "-m actions.server",
}


class RecordingTwilio(FakeTwilio):
    """Twilio's Messages API, recording what reached it and when; a scenario sets ``script`` to make it fail."""

    def __init__(self) -> None:
        super().__init__(hang_seconds=16.0)  # "hang"/"lost" outlast the SDK's 15 s timeout: a real timeout
        self.arrivals: list[tuple[float, str, str]] = []  # (monotonic, to, body)

    def _create(self, form: dict[str, list[str]]) -> dict[str, Any]:
        message = super()._create(form)
        with self.lock:
            self.arrivals.append((time.monotonic(), message["to"], message["body"] or ""))
        return message

    def bodies(self, phone: str, skip: str | None = None) -> list[str]:
        """What reached ``phone``, in order (without ``skip``: the edge's "please write again")."""
        with self.lock:
            return [body for _, to, body in self.arrivals if to.endswith(phone) and body != skip]

    def count(self, phone: str, skip: str | None = None) -> int:
        with self.lock:
            return sum(1 for _, to, body in self.arrivals if to.endswith(phone) and body != skip)

    def last(self, phone: str) -> str | None:
        with self.lock:
            return next((body for _, to, body in reversed(self.arrivals) if to.endswith(phone)), None)


def command_line(p: psutil.Process) -> str:
    """ "" for a process gone or a zombie (a killed process its shell loop has not reaped yet)."""
    try:
        return "" if p.status() == psutil.STATUS_ZOMBIE else " ".join(p.cmdline())
    except psutil.Error:
        return ""


def port_free(port: int) -> bool:
    """Nothing listens there (a connection is refused)."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


class FaultStack:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="recobra-faults-"))
        self.web_port, self.rasa_port, self.actions_port = free_port(), free_port(), free_port()
        self.backends = {kind: [free_port(), free_port()] for kind in ("web", "rasa", "actions")}
        self.twilio = RecordingTwilio()
        self.mp = MercadoPagoDouble(MP_TOKEN)
        for server in (self.twilio.http.server, self.mp.server):  # a killed worker's connection reset is no news
            server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise SystemExit("the faults need Debian's PostgreSQL: run scripts/scaled_deps.sh")
        # in /tmp, not the 0700 temporary folder: as root the cluster runs as the postgres user
        self.postgres = LocalPostgres(
            Path(tempfile.gettempdir()) / f"recobra-faults-pg-{os.getpid()}",
            free_port(),
            secrets.token_hex(12),
            bin_dir,
        )
        self.launcher: subprocess.Popen | None = None
        self.env: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RECOBRA_", "TWILIO_", "MERCADOPAGO_"))}
        env.pop("REDIS_URL", None)  # the bundled Redis, restarted by run-scaled's loop like any process
        env.update(
            {
                "RECOBRA_VAR_DIR": str(self.tmp / "var"),
                "DATABASE_URL": self.postgres.url,
                "PORT": str(self.web_port),
                "PUBLIC_BASE_URL": self.url,
                "RASA_URL": f"http://127.0.0.1:{self.rasa_port}",
                "ACTION_SERVER_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
                "RECOBRA_WEB_BACKEND_PORTS": ",".join(map(str, self.backends["web"])),
                "RECOBRA_RASA_BACKEND_PORTS": ",".join(map(str, self.backends["rasa"])),
                "RECOBRA_ACTION_BACKEND_PORTS": ",".join(map(str, self.backends["actions"])),
                "RECOBRA_CAMPAIGNS_SCHEDULED": "false",  # only the campaign scenario's own `campaign run` plans
                "MESSAGING_PROVIDER": "twilio",
                "TWILIO_ACCOUNT_SID": "AC" + "f" * 32,
                "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
                "TWILIO_SMS_FROM": WHATSAPP_FROM,
                "TWILIO_API_BASE": self.twilio.url,
                "PAYMENTS_PROVIDER": "mercadopago",
                "MERCADOPAGO_ACCESS_TOKEN": MP_TOKEN,
                "MERCADOPAGO_WEBHOOK_SECRET": MP_SECRET,
                "MERCADOPAGO_API_BASE": self.mp.url,
                "TF_CPP_MIN_LOG_LEVEL": "2",
            }
        )
        return env

    def start(self) -> None:
        if not port_free(LOCAL_REDIS_PORT):
            raise SystemExit(f"port {LOCAL_REDIS_PORT} is taken (a `make run`?): the faults need the bundled Redis")
        self.postgres.start()
        self.env = self.environment()
        os.environ.update(self.env)  # this process reads the same store (seeding, counting)
        from bot.platform.config import reset_settings

        reset_settings()
        subprocess.run(
            [sys.executable, "-m", "bot", "migrate"], cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL
        )
        log = open(self.tmp / "launcher.log", "wb")
        self.launcher = subprocess.Popen(
            [sys.executable, "-m", "bot", "run-scaled", "--demo-history", "0"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_http(f"{self.url}/healthz", timeout=180)
        for port in self.backends["rasa"]:
            wait_http(f"http://127.0.0.1:{port}/", timeout=600)
        self.wait_workers()

    def wait_workers(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.processes("worker")) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # their consumers join the queue

    # --- the processes ----------------------------------------------------------------------------------------
    def tree(self) -> list[psutil.Process]:
        assert self.launcher is not None
        try:
            return psutil.Process(self.launcher.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def processes(self, kind: str) -> list[psutil.Process]:
        """The live Python processes of ``kind`` (the gunicorn master for web), oldest first."""
        found = []
        for p in self.tree():
            try:
                line = command_line(p)
                if KINDS[kind] in line and not line.startswith(("sh ", "/bin/sh ")) and "while :" not in line:
                    if kind == "web" and p.parent() and KINDS["web"] in command_line(p.parent()):
                        continue  # a gunicorn worker: its master is the process
                    found.append(p)
            except psutil.NoSuchProcess:
                continue
        return sorted(found, key=lambda p: p.create_time())

    def backend_port(self, kind: str, proc: psutil.Process) -> int | None:
        line = proc.cmdline()
        for flag in ("-p", "--port", "--bind"):
            if flag in line:
                return int(line[line.index(flag) + 1].rsplit(":", 1)[-1])
        return None

    def kill(self, kind: str) -> tuple[int, int | None]:
        """SIGKILL the oldest process of ``kind``: its pid and, for a served kind, its backend port."""
        victim = self.processes(kind)[0]
        port = self.backend_port(kind, victim)
        victim.send_signal(signal.SIGKILL)
        return victim.pid, port

    def wait_back(self, kind: str, dead_pid: int, port: int | None, timeout: float = 300) -> float:
        """Seconds until a new process of ``kind`` answers (its backend port, for web, Rasa and actions)."""
        started = time.monotonic()
        health = {"web": "/healthz", "rasa": "/", "actions": "/health"}
        import requests

        while time.monotonic() - started < timeout:
            fresh = [p for p in self.processes(kind) if p.pid != dead_pid]
            if len(fresh) >= 2:
                if port is None:
                    return time.monotonic() - started
                try:
                    if requests.get(f"http://127.0.0.1:{port}{health[kind]}", timeout=1).status_code == 200:
                        return time.monotonic() - started
                except requests.RequestException:
                    pass
            time.sleep(0.2)
        return float("inf")

    def kill_redis(self) -> int:
        redis = [p for p in self.tree() if "redis-server" in command_line(p)]
        redis[0].send_signal(signal.SIGKILL)
        return redis[0].pid

    def wait_redis(self, dead_pid: int, timeout: float = 60) -> float:
        """Seconds until Redis answers again (a new process, its append-only file loaded)."""
        import redis

        # the launcher's generated secrets hold the bundled Redis's password
        secrets_file = self.tmp / "var" / "secrets.env"
        values = dict(line.split("=", 1) for line in secrets_file.read_text().splitlines() if "=" in line)
        client = redis.Redis(
            host="127.0.0.1",
            port=LOCAL_REDIS_PORT,
            password=values.get("REDIS_PASSWORD"),
            socket_timeout=1,
            socket_connect_timeout=1,
        )
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if client.ping():
                    return time.monotonic() - started
            except redis.RedisError:
                pass
            time.sleep(0.1)
        return float("inf")

    def crash_postgres(self, down_s: float = 3.0) -> float:
        """PostgreSQL's immediate shutdown (no checkpoint: recovery from the WAL at start, as after a crash), a
        few seconds down, then started again: seconds until it accepts connections."""
        assert self.postgres.proc is not None
        self.postgres.proc.send_signal(signal.SIGQUIT)
        self.postgres.proc.wait(30)
        time.sleep(down_s)
        started = time.monotonic()
        self.postgres.start()
        return time.monotonic() - started + down_s

    def log_tail(self, lines: int = 40) -> str:
        text = (self.tmp / "launcher.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, keep: bool = False) -> None:
        if self.launcher and self.launcher.poll() is None:
            self.launcher.send_signal(signal.SIGTERM)
            try:
                self.launcher.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.launcher.pid, signal.SIGKILL)
        from bot.store.db import get_engine

        try:
            get_engine().dispose()
        except Exception:
            pass
        self.postgres.stop()
        self.twilio.close()
        self.mp.close()
        if not keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
            shutil.rmtree(self.postgres.base, ignore_errors=True)
