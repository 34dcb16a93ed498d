"""`make run-scaled`'s pure parts (bot/platform/scaled.py): HAProxy's configuration and the Procfile. Why: the run
shape is only production's if every load-balanced service has its two servers, a health check that means "ready"
and loopback binds, and if every process agrees on the store, Redis and the frontends — with no secret in `ps`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.platform import scaled
from bot.platform.config import Settings, get_settings, reset_settings

PORTS = scaled.ScaledPorts(
    web=8000,
    web_backends=(8001, 8002),
    rasa=5005,
    rasa_backends=(5006, 5007),
    actions=5055,
    action_backends=(5056, 5057),
    postgres=55433,
)


def sections(config: str) -> dict[str, list[str]]:
    """``{"frontend web": [its lines], "backend web_servers": [...], ...}``."""
    found: dict[str, list[str]] = {}
    current = ""
    for line in config.splitlines():
        if line and not line.startswith((" ", "#")):
            current = line.strip()
            found[current] = []
        elif line.strip() and current:
            found[current].append(line.strip())
    return found


def test_the_ports_keep_make_runs_addresses_for_the_frontends():
    settings = Settings(
        web_port=8000, rasa_url="http://127.0.0.1:5005", action_server_url="http://127.0.0.1:5055/webhook"
    )
    assert scaled.scaled_ports(settings, {}) == PORTS
    moved = scaled.scaled_ports(settings, {"RECOBRA_WEB_BACKEND_PORTS": "9001,9002", "RECOBRA_PG_PORT": "6000"})
    assert scaled.scaled_ports(Settings(worker_health_port=9100), {}).worker_health == (9100, 9101)
    assert moved.web_backends == (9001, 9002) and moved.postgres == 6000 and moved.web == 8000


@pytest.mark.parametrize(
    "environ",
    [{"RECOBRA_RASA_BACKEND_PORTS": "9001"}, {"RECOBRA_ACTION_BACKEND_PORTS": "8001,8002"}],
)
def test_a_wrong_port_list_is_refused(environ):
    settings = Settings(
        web_port=8000, rasa_url="http://127.0.0.1:5005", action_server_url="http://127.0.0.1:5055/webhook"
    )
    with pytest.raises(ValueError):
        scaled.scaled_ports(settings, environ)


def test_haproxy_fronts_two_servers_of_each_kind_with_health_checks():
    config = sections(scaled.haproxy_config(PORTS))
    assert "mode http" in config["defaults"]
    expected = {
        "web": (8000, (8001, 8002), "/healthz"),
        "rasa": (5005, (5006, 5007), "/"),
        "actions": (5055, (5056, 5057), "/health"),
    }
    for name, (front, servers, health) in expected.items():
        assert f"bind 127.0.0.1:{front}" in config[f"frontend {name}"]
        assert f"default_backend {name}_servers" in config[f"frontend {name}"]
        backend = config[f"backend {name}_servers"]
        assert f"option httpchk GET {health}" in backend
        assert "http-check expect status 200" in backend
        assert [line for line in backend if line.startswith("server ")] == [
            f"server {name}{i} 127.0.0.1:{port} check" for i, port in enumerate(servers, 1)
        ]
    # the web edge learns the client's address from HAProxy (the launcher counts the hop)
    assert "option forwardfor" in config["frontend web"]


def test_only_the_web_frontend_follows_the_public_host():
    config = scaled.haproxy_config(PORTS, web_host="0.0.0.0")
    binds = re.findall(r"bind (\S+)", config)
    assert binds == ["0.0.0.0:8000", "127.0.0.1:5005", "127.0.0.1:5055"]
    assert re.findall(r"^\s+server \S+ (\S+)", config, re.MULTILINE) == [
        f"127.0.0.1:{p}" for p in (*PORTS.web_backends, *PORTS.rasa_backends, *PORTS.action_backends)
    ]


@pytest.mark.skipif(scaled.haproxy_binary() is None, reason="haproxy is not installed (scripts/scaled_deps.sh)")
def test_haproxy_accepts_the_configuration(tmp_path):
    path = tmp_path / "haproxy.cfg"
    path.write_text(scaled.haproxy_config(PORTS))
    result = subprocess.run(
        [scaled.haproxy_binary() or "haproxy", "-c", "-f", str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout + result.stderr


def procfile_entries(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if line)


def test_the_procfile_runs_two_of_each_behind_haproxy(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_PASSWORD", "redis-password-abcdef")
    reset_settings()
    try:
        cfg = tmp_path / "haproxy.cfg"
        entries = procfile_entries(scaled.scaled_procfile(tmp_path, PORTS, cfg, bundled_redis=True))
        s = get_settings()
        text = "\n".join(entries.values())
    finally:
        reset_settings()
    assert sorted(entries) == sorted(
        ["redis", "haproxy", "rasa1", "rasa2", "actions1", "actions2", "web1", "web2", "worker1", "worker2"]
    )
    assert entries["haproxy"].endswith(f"-db -f {cfg}")
    for i, port in enumerate(PORTS.rasa_backends, 1):
        assert f"-m channels.rasa_server run --enable-api -i 127.0.0.1 -p {port} " in entries[f"rasa{i}"]
        # one model and one endpoints file (the shared tracker and lock stores) for both; a log each
        assert f"--endpoints {tmp_path / 'endpoints.yml'}" in entries[f"rasa{i}"]
        assert f"--log-file {tmp_path / f'rasa{i}.log'}" in entries[f"rasa{i}"]
    assert entries["rasa1"].split("--model ")[1].split()[0] == entries["rasa2"].split("--model ")[1].split()[0]
    for i, port in enumerate(PORTS.action_backends, 1):
        assert entries[f"actions{i}"].endswith(f"-m actions.server -p {port} --host 127.0.0.1")
    for i, port in enumerate(PORTS.web_backends, 1):
        assert entries[f"web{i}"].endswith(f"-m bot web --port {port} --host 127.0.0.1")
    # two workers, each with its own /healthz, /readyz and /metrics port
    assert entries["worker1"].endswith("-m bot worker --health-port 8010")
    assert entries["worker2"].endswith("-m bot worker --health-port 8011")
    for secret in (
        s.rasa_auth_token,
        s.rasa_jwt_secret,
        s.action_server_token,
        s.rasa_channel_secret,
        s.redis_password,
        s.api_key,
        s.secret_key,
    ):
        assert secret and secret not in text
    assert "--auth-token" not in text and "requirepass" not in text and "postgresql://" not in text


def test_an_operators_redis_is_not_started(tmp_path):
    entries = procfile_entries(scaled.scaled_procfile(tmp_path, PORTS, tmp_path / "h.cfg", bundled_redis=False))
    assert "redis" not in entries


def test_every_process_reaches_the_store_rasa_and_actions_through_the_same_addresses():
    env = scaled.scaled_environment(PORTS, "postgresql://recobra:pw@127.0.0.1:55433/recobra", {})
    assert env == {
        "DATABASE_URL": "postgresql://recobra:pw@127.0.0.1:55433/recobra",
        "RASA_URL": "http://127.0.0.1:5005",
        "ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
        "RECOBRA_PROXY_HOPS": "1",
    }
    # a proxy the operator already counts stays counted, HAProxy comes on top
    assert scaled.scaled_environment(PORTS, "x", {"RECOBRA_PROXY_HOPS": "1"})["RECOBRA_PROXY_HOPS"] == "2"


def test_root_keeps_its_cluster_where_the_postgres_user_can_reach_it(tmp_path, monkeypatch):
    monkeypatch.delenv("RECOBRA_PGDATA", raising=False)
    monkeypatch.setattr(scaled.os, "geteuid", lambda: 0)
    assert not scaled.postgres_dir(tmp_path).is_relative_to(tmp_path)
    monkeypatch.setattr(scaled.os, "geteuid", lambda: 1000)
    assert scaled.postgres_dir(tmp_path) == tmp_path / "postgres"
    monkeypatch.setenv("RECOBRA_PGDATA", str(tmp_path / "pg"))
    assert scaled.postgres_dir(tmp_path) == tmp_path / "pg"


def test_make_run_scaled_installs_its_engines_first():
    makefile = (Path(scaled.ROOT) / "Makefile").read_text()
    target = makefile.split("\nrun-scaled:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/scaled_deps.sh" in target and "-m bot run-scaled" in target
    assert shutil.which("bash")


def test_a_process_that_dies_is_started_again_and_the_loop_stops_with_the_stack(tmp_path):
    """kill -9 of one process is a fault the stack rides out (issue #24 §3), and honcho's SIGTERM to the
    process group still stops the loop and its process."""
    import os
    import signal
    import time

    runs = tmp_path / "runs"
    # the first run dies by SIGKILL, the second stays up
    command = f"sh -c 'echo up >> {runs}; [ $(wc -l < {runs}) -ge 2 ] && exec sleep 30; kill -9 $$'"
    loop = subprocess.Popen(
        ["sh", "-c", scaled.supervised("demo", command)], start_new_session=True, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (runs.exists() and len(runs.read_text().split()) >= 2):
            time.sleep(0.1)
        assert runs.read_text().split() == ["up", "up"]
        assert loop.poll() is None
    finally:
        os.killpg(loop.pid, signal.SIGTERM)
    assert loop.wait(10) != 0
    assert b"demo stopped (137): starting it again in 1 s" in loop.stderr.read()


def test_a_process_that_cannot_start_stops_the_stack(monkeypatch):
    monkeypatch.setattr(scaled, "RESTART_DELAY_S", 0)
    result = subprocess.run(
        ["sh", "-c", scaled.supervised("broken", "exit 3")], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 3
    assert (
        f"broken stopped (3) {scaled.GIVE_UP_AFTER} times within {scaled.QUICK_EXIT_S} s of starting" in result.stderr
    )


def test_the_written_procfile_supervises_every_process(tmp_path):
    text = scaled.supervised_procfile(scaled.scaled_procfile(tmp_path, PORTS, tmp_path / "h.cfg", bundled_redis=False))
    entries = procfile_entries(text)
    assert sorted(entries) == sorted(
        ["haproxy", "rasa1", "rasa2", "actions1", "actions2", "web1", "web2", "worker1", "worker2"]
    )
    assert all(command.startswith("n=0; while :; do") for command in entries.values())
    assert "-m bot worker --health-port 8010); rc=$?" in entries["worker1"]
