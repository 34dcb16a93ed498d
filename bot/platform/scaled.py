"""`make run-scaled`: production's shape on one machine — PostgreSQL, Redis, and two of every stateless process
(web, worker, Rasa, action server) with HAProxy in front of the web, Rasa and action servers.

Why: `make run` is one of each on SQLite, so it cannot show what only several processes do — two Rasa servers
sharing the Redis lock store and the SQL tracker store, workers sharing the queue's partitions by lease, a load
balancer's health checks taking a stopped process out. Established engines from Debian's packages
(scripts/scaled_deps.sh installs them), not Python stand-ins, so what runs here is what runs in production.

Each load-balanced service keeps the address `make run` gives it (web 8000, Rasa 5005, actions 5055): that is
HAProxy's frontend, so every other process, the phone simulator and `make dialogues` work unchanged; the two
processes behind it listen on loopback ports of their own (by default the frontend's port + 1 and + 2). The
PostgreSQL cluster is the launcher's own, on a loopback port, with a generated password; it starts before honcho
(the store is migrated and seeded before any process uses it) and stops after everything else.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import psycopg

from bot.platform.config import ROOT, Settings, ensure_private_dir, get_settings, reset_settings, write_private
from bot.platform.launcher import (
    VENV_BIN,
    actions_command,
    missing_rasa_runtime,
    prepare_environment,
    rasa_command,
    redis_line,
    run_honcho,
    take_run_lock,
    web_command,
    worker_command,
    write_credentials,
    write_endpoints,
)

REPLICAS = 2
# A process that stops is started again after RESTART_DELAY_S, as systemd or Kubernetes would do; one that stops
# GIVE_UP_AFTER times in a row within QUICK_EXIT_S of starting is broken, not unlucky: the stack stops, loudly.
RESTART_DELAY_S = 1
QUICK_EXIT_S = 10
GIVE_UP_AFTER = 5
DEFAULT_PG_PORT = 55433  # scripts/postgres.sh's test cluster has 55432
PG_USER = "recobra"
PG_DATABASE = "recobra"
# The variables that move the processes behind HAProxy (comma-separated ports; default frontend + 1, + 2).
BACKEND_PORT_VARIABLES = {
    "web": "RECOBRA_WEB_BACKEND_PORTS",
    "rasa": "RECOBRA_RASA_BACKEND_PORTS",
    "actions": "RECOBRA_ACTION_BACKEND_PORTS",
}


@dataclass(frozen=True)
class ScaledPorts:
    """HAProxy's frontends (the addresses `make run` uses) and the loopback ports of the processes behind them."""

    web: int
    web_backends: tuple[int, ...]
    rasa: int
    rasa_backends: tuple[int, ...]
    actions: int
    action_backends: tuple[int, ...]
    postgres: int
    # each worker's /healthz, /readyz and /metrics (RECOBRA_WORKER_HEALTH_PORT and the next one)
    worker_health: tuple[int, ...] = (8010, 8011)

    def all(self) -> list[int]:
        return [
            self.web,
            *self.web_backends,
            self.rasa,
            *self.rasa_backends,
            self.actions,
            *self.action_backends,
            self.postgres,
            *self.worker_health,
        ]


def scaled_ports(settings: Settings, environ: Mapping[str, str]) -> ScaledPorts:
    """The ports from the settings (PORT, RASA_URL, ACTION_SERVER_URL stay the frontends) and the optional
    RECOBRA_*_BACKEND_PORTS / RECOBRA_PG_PORT; refuses a list of the wrong length or a port used twice."""

    def backends(kind: str, front: int) -> tuple[int, ...]:
        given = environ.get(BACKEND_PORT_VARIABLES[kind], "").strip()
        if not given:
            return tuple(front + i for i in range(1, REPLICAS + 1))
        ports = tuple(int(p) for p in given.split(",") if p.strip())
        if len(ports) != REPLICAS:
            raise ValueError(f"{BACKEND_PORT_VARIABLES[kind]} names {len(ports)} ports; {REPLICAS} are needed")
        return ports

    web = settings.web_port
    rasa = urlparse(settings.rasa_url).port or 5005
    actions = urlparse(settings.action_server_url).port or 5055
    ports = ScaledPorts(
        web=web,
        web_backends=backends("web", web),
        rasa=rasa,
        rasa_backends=backends("rasa", rasa),
        actions=actions,
        action_backends=backends("actions", actions),
        postgres=int(environ.get("RECOBRA_PG_PORT", str(DEFAULT_PG_PORT))),
        worker_health=tuple(settings.worker_health_port + i for i in range(REPLICAS)),
    )
    if len(set(ports.all())) != len(ports.all()):
        raise ValueError(f"run-scaled needs distinct ports, got {ports.all()}")
    return ports


def _bind(host: str, port: int) -> str:
    return f"{host}:{port}"  # HAProxy reads the port after the last colon, so an IPv6 address needs no brackets


def haproxy_config(ports: ScaledPorts, web_host: str = "127.0.0.1") -> str:
    """HAProxy's configuration: three HTTP frontends, each before two servers checked by their health endpoint.

    Only the web frontend follows RECOBRA_WEB_HOST (it is the public face); Rasa's and the action server's stay on
    loopback like the processes behind them. ``option forwardfor`` gives the web edge the client's address (the
    launcher counts HAProxy in RECOBRA_PROXY_HOPS). A server that fails two checks 2 s apart is taken out, one
    that passes one is back; a request whose connection fails is sent to the other server (``redispatch``).
    The timeouts outlast a Rasa turn (the worker waits 60 s for one)."""
    backends = (
        # name, frontend, bind host, servers, health check, balance
        ("web", ports.web, web_host, ports.web_backends, "/healthz", "roundrobin"),
        ("rasa", ports.rasa, "127.0.0.1", ports.rasa_backends, "/", "leastconn"),
        ("actions", ports.actions, "127.0.0.1", ports.action_backends, "/health", "leastconn"),
    )
    lines = [
        "# Written by `make run-scaled` (bot/platform/scaled.py) at every start; edits are lost.",
        # No log target: in the foreground HAProxy writes its warnings and alerts (a server down or up again)
        # to stderr itself, which honcho shows with the other processes' output; a target would repeat them.
        "global",
        "    maxconn 2048",
        "",
        "defaults",
        "    mode http",
        "    option dontlognull",
        "    option redispatch",
        "    retries 2",
        "    timeout connect 3s",
        "    timeout http-request 15s",
        "    timeout queue 30s",
        "    timeout client 90s",
        "    timeout server 90s",
        "    default-server inter 2s fall 2 rise 1",
    ]
    for name, front, host, servers, health, balance in backends:
        lines += ["", f"frontend {name}", f"    bind {_bind(host, front)}"]
        if name == "web":
            lines.append("    option forwardfor")
        lines += [
            f"    default_backend {name}_servers",
            "",
            f"backend {name}_servers",
            f"    balance {balance}",
            f"    option httpchk GET {health}",
            "    http-check expect status 200",
        ]
        lines += [f"    server {name}{i} 127.0.0.1:{port} check" for i, port in enumerate(servers, 1)]
    return "\n".join(lines) + "\n"


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if os.access(p, os.X_OK)), None)


def scaled_procfile(var_dir: Path, ports: ScaledPorts, haproxy_cfg: Path, bundled_redis: bool) -> str:
    """The Procfile: HAProxy, the bundled Redis (``bundled_redis``: REDIS_URL was unset), and two of every other
    process, each behind HAProxy on a loopback port of its own. Secrets stay in the environment, as in `make run`."""
    lines = redis_line(var_dir, bundled_redis)
    # -db: in the foreground, under honcho, which stops it with the rest
    lines.append(f"haproxy: {haproxy_binary() or 'haproxy'} -db -f {haproxy_cfg}")
    for i, port in enumerate(ports.rasa_backends, 1):
        lines.append(f"rasa{i}: {rasa_command(var_dir, port, f'rasa{i}.log')}")
    for i, port in enumerate(ports.action_backends, 1):
        lines.append(f"actions{i}: {actions_command(port, host='127.0.0.1')}")
    for i, port in enumerate(ports.web_backends, 1):
        lines.append(f"web{i}: {web_command(port, host='127.0.0.1')}")
    lines += [f"worker{i}: {worker_command(port)}" for i, port in enumerate(ports.worker_health, 1)]
    return "\n".join(lines) + "\n"


def supervised(name: str, command: str) -> str:
    """``command`` in a shell loop that starts it again when it stops (killed, crashed), so one process's death is
    a fault the others ride out, as in production, not the end of the whole stack (honcho stops every process when
    one exits). honcho's SIGTERM reaches the whole process group: the loop and the process stop together."""
    return (
        f"n=0; while :; do t=$(date +%s); ({command}); rc=$?; "
        f"if [ $(($(date +%s) - t)) -lt {QUICK_EXIT_S} ]; then n=$((n + 1)); else n=1; fi; "
        f'if [ $n -ge {GIVE_UP_AFTER} ]; then echo "{name} stopped ($rc) {GIVE_UP_AFTER} times within '
        f'{QUICK_EXIT_S} s of starting: giving up" >&2; exit $rc; fi; '
        f'echo "{name} stopped ($rc): starting it again in {RESTART_DELAY_S} s" >&2; sleep {RESTART_DELAY_S}; done'
    )


def supervised_procfile(procfile: str) -> str:
    """Every line of ``procfile`` under :func:`supervised`."""
    entries = (line.split(": ", 1) for line in procfile.splitlines() if line.strip())
    return "".join(f"{name}: {supervised(name, command)}\n" for name, command in entries)


def scaled_environment(ports: ScaledPorts, database_url: str, environ: Mapping[str, str]) -> dict[str, str]:
    """What every process of the scaled stack must agree on: the one store, Rasa and the action server through
    HAProxy, and one more proxy hop in front of the web edge (so the login limit sees the client, not HAProxy)."""
    return {
        "DATABASE_URL": database_url,
        "RASA_URL": f"http://127.0.0.1:{ports.rasa}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ports.actions}/webhook",
        "RECOBRA_PROXY_HOPS": str(int(environ.get("RECOBRA_PROXY_HOPS", "0") or 0) + 1),
    }


# --- PostgreSQL: a cluster of the launcher's own ---------------------------------------------------------------


def postgres_bin_dir() -> Path | None:
    """Debian's newest PostgreSQL (postgresql-common keeps the binaries out of PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: [int(x) for x in p.split("/")[4].split(".")]
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def postgres_dir(var_dir: Path) -> Path:
    """Where the cluster lives: RECOBRA_PGDATA, else var/postgres. PostgreSQL refuses to run as root, so for root
    it runs as the `postgres` user, which cannot enter var/ (0700): then a folder in /tmp named after this
    checkout, so each checkout keeps its own data between runs."""
    if os.environ.get("RECOBRA_PGDATA"):
        return Path(os.environ["RECOBRA_PGDATA"])
    if os.geteuid() == 0:
        tag = hashlib.sha256(str(ROOT).encode()).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"recobra-pg-{tag}"
    return var_dir / "postgres"


class LocalPostgres:
    """One PostgreSQL cluster on 127.0.0.1 (no Unix socket), password-checked (scram), run from here: created on
    first use, started before the other processes, stopped after them."""

    def __init__(self, base: Path, port: int, password: str, bin_dir: Path) -> None:
        self.base, self.port, self.password, self.bin = base, port, password, bin_dir
        self.data = base / "data"
        self.log = base / "postgres.log"
        self.proc: subprocess.Popen | None = None
        self.as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://{PG_USER}:{self.password}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def _run_as(self) -> dict:
        return {"user": "postgres", "group": "postgres", "extra_groups": []} if self.as_postgres else {}

    def _own(self, path: Path) -> None:
        if self.as_postgres:
            shutil.chown(path, "postgres", "postgres")

    def init(self) -> None:
        """initdb once; the password file is there only while initdb reads it."""
        if (self.data / "PG_VERSION").exists():
            return
        self.base.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._own(self.base)
        pwfile = self.base / "initdb.pw"
        _write_owned(pwfile, self.password)
        self._own(pwfile)
        try:
            subprocess.run(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    PG_USER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
                cwd=self.base,
                stdout=subprocess.DEVNULL,
                **self._run_as(),
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self, timeout: float = 60) -> None:
        self.init()
        if (self.data / "postmaster.pid").exists():
            # a launcher that was killed left its cluster running: it is ours (the run lock says so), stop it
            subprocess.run(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "stop", "-m", "fast"],
                cwd=self.base,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
                **self._run_as(),
            )
        log = open(self.log, "ab")
        self._own(self.log)
        self.proc = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
            ],
            cwd=self.base,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches honcho's processes; this stops after them
            **self._run_as(),
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self._dsn("postgres"), connect_timeout=2).close()
                break
            except psycopg.OperationalError as exc:
                if "password authentication failed" in str(exc):
                    self.stop()
                    raise RuntimeError(
                        f"the cluster in {self.base} was created with another POSTGRES_PASSWORD (var/secrets.env "
                        "was replaced?): delete that folder to start afresh, or restore the password"
                    ) from exc
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"PostgreSQL did not start ({exc}); see {self.log}") from exc
                time.sleep(0.3)
        self._create_database()

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={PG_USER} password={self.password} dbname={database}"

    def _create_database(self) -> None:
        connection = psycopg.connect(self._dsn("postgres"))
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        finally:
            connection.close()

    def stop(self, timeout: float = 30) -> None:
        """A fast shutdown (SIGINT: open sessions are ended, nothing is lost)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def _write_owned(path: Path, text: str) -> None:
    """A 0600 file in a folder that is not private to this user (the postgres user's cluster folder)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def missing_engines() -> list[str]:
    missing = []
    if postgres_bin_dir() is None and "DATABASE_URL" not in os.environ:
        missing.append("postgresql")
    if haproxy_binary() is None:
        missing.append("haproxy")
    return missing


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run_scaled(demo_history: int = 3000) -> int:
    """Start the scaled stack and wait for it; Ctrl-C (or SIGTERM) stops every process, PostgreSQL last."""
    missing = missing_engines()
    if missing:
        print(f"run-scaled needs {', '.join(missing)}: run scripts/scaled_deps.sh (as root)", file=sys.stderr)
        return 1
    if problem := missing_rasa_runtime():
        print(problem, file=sys.stderr)
        return 1
    s = get_settings()
    var_dir = ensure_private_dir(s.var_dir)
    lock = take_run_lock(var_dir)
    if lock is None:
        return 1
    signal.signal(signal.SIGTERM, _interrupt)  # before honcho runs, a SIGTERM still stops PostgreSQL
    bundled_redis = not os.environ.get("REDIS_URL")
    prepare_environment()
    postgres: LocalPostgres | None = None
    py = str(VENV_BIN / "python")
    try:
        ports = scaled_ports(s, os.environ)  # a wrong port list stops here, before anything starts
        if "DATABASE_URL" in os.environ:
            database_url = os.environ["DATABASE_URL"]
            if database_url.startswith("sqlite"):
                print(
                    "run-scaled needs PostgreSQL: unset DATABASE_URL (a cluster of its own) or name one",
                    file=sys.stderr,
                )
                return 1
        else:
            bin_dir = postgres_bin_dir()
            assert bin_dir is not None  # missing_engines() said so
            postgres = LocalPostgres(
                postgres_dir(var_dir),
                ports.postgres,
                os.environ["POSTGRES_PASSWORD"],
                bin_dir,
            )
            print(f"PostgreSQL on 127.0.0.1:{postgres.port} ({postgres.data}; log {postgres.log})", flush=True)
            postgres.start()
            database_url = postgres.url
        os.environ.update(scaled_environment(ports, database_url, os.environ))
        reset_settings()
        subprocess.run([py, "-m", "bot", "migrate"], cwd=ROOT, check=True)
        subprocess.run([py, "-m", "bot", "seed-demo", "--history", str(demo_history)], cwd=ROOT, check=True)
        write_endpoints(var_dir / "endpoints.yml")
        write_credentials(var_dir / "credentials.yml")
        config = var_dir / "haproxy.cfg"
        write_private(config, haproxy_config(ports, get_settings().web_host))
        procfile_path = var_dir / "Procfile.scaled"
        procfile_path.write_text(supervised_procfile(scaled_procfile(var_dir, ports, config, bundled_redis)))
        code = run_honcho(procfile_path)
    except KeyboardInterrupt:
        code = 130
    except (subprocess.CalledProcessError, RuntimeError, ValueError) as exc:
        print(f"run-scaled did not start: {exc}", file=sys.stderr)
        code = 1
    finally:
        if postgres is not None:
            postgres.stop()
        lock.close()
    print("Recobra (scaled) stopped.")
    return code
