"""No drift between deploy/ and the product: every container runs the command the launcher would run (the same
module and flags as bot/platform/launcher.py's command builders), every variable deploy/ sets is one the product
(or Rasa, or a library it names) reads, every setting the processes must share is given, and Rasa's files in
deploy/ describe the same stores as the launcher's, for the same DATABASE_URL and REDIS_URL."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from bot.platform import launcher
from bot.platform.config import GENERATED_SECRETS, reset_settings
from tests.deploy.manifests import (
    COMPOSE_ENV_EXAMPLE,
    DOCKERFILES,
    OVERLAYS,
    RASA_FILES,
    ROOT,
    Process,
    compose,
    compose_processes,
    interpolate,
    k8s_processes,
    overlay_env,
    read_env_file,
    render,
)

# Names the product will read once the concurrent work lands (issue #25): the worker's health endpoint and the
# metrics token. The coordinator removes each one from here when bot/ reads it; then the scan below finds it.
PENDING_PRODUCT_NAMES: set[str] = set()
# Rasa's tracker and lock stores, split into the parts its endpoints.yml names (the launcher derives them from
# DATABASE_URL and REDIS_URL; Rasa cannot parse a URL): read by Rasa through deploy/k8s/base/rasa/endpoints.yml.
RASA_STORE_PARTS = {
    "RECOBRA_TRACKER_STORE_HOST",
    "RECOBRA_TRACKER_STORE_PORT",
    "RECOBRA_TRACKER_STORE_USER",
    "RECOBRA_TRACKER_STORE_DB",
    "RECOBRA_LOCK_STORE_HOST",
    "RECOBRA_LOCK_STORE_PORT",
    "RECOBRA_LOCK_STORE_DB",
}
# Read by Python, Rasa, Sanic or TensorFlow themselves (the launcher sets the last ones too), and pip's at build.
THIRD_PARTY_NAMES = {
    "PATH",
    "HOME",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "TF_CPP_MIN_LOG_LEVEL",
    "RASA_TELEMETRY_ENABLED",
    "SANIC_WORKERS",
    "TICKET_LOCK_LIFETIME",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}
# Secrets that only `make run`'s own Redis, `make run-scaled`'s own PostgreSQL and the demo logins use: a deployment
# with external stores need not share them (a container generates its own into RECOBRA_VAR_DIR if it must).
LOCAL_ONLY_SECRETS = {"REDIS_PASSWORD", "POSTGRES_PASSWORD", "DEMO_PASSWORD"}
SHARED_SECRETS = set(GENERATED_SECRETS) - LOCAL_ONLY_SECRETS
# What every service container needs to find the others and the state, whatever the mode.
WIRING = {"DATABASE_URL", "REDIS_URL", "RASA_URL", "ACTION_SERVER_URL"}
SERVICE_PROCESSES = ("web", "worker", "actions", "migrate")

_READ = re.compile(r"""(?:_env|env_float|environ\.get|getenv|environ\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")
_CONSTANT = re.compile(r"""^[A-Z_]+_ENV\s*=\s*["']([A-Z][A-Z0-9_]+)["']""", re.M)


def product_names() -> set[str]:
    """Every environment variable bot/, actions/, channels/ and components/ read by name, and the launcher's."""
    names: set[str] = set()
    for folder in ("bot", "actions", "channels", "components"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            names |= set(_READ.findall(text)) | set(_CONSTANT.findall(text))
    return names | set(GENERATED_SECRETS)


def _known(name: str, product: set[str]) -> bool:
    return (
        name in product
        or name in PENDING_PRODUCT_NAMES
        or name in RASA_STORE_PARTS
        or name in THIRD_PARTY_NAMES
        or re.fullmatch(r"RECOBRA_TEMPLATE_[A-Z0-9_]+_SID", name) is not None
    )


def _python(command: str) -> list[str]:
    """A launcher command as a container runs it: the image's own ``python`` instead of the venv's path."""
    argv = shlex.split(command)
    assert Path(argv[0]).name.startswith("python")
    return ["python", *argv[1:]]


def _all_processes() -> list[Process]:
    found = list(compose_processes().values())
    for overlay in OVERLAYS:
        found += k8s_processes(render(overlay), overlay).values()
    return found


def _options(argv: list[str]) -> dict[str, str | None]:
    """``--flag value`` pairs (None for a flag alone) after the module."""
    out: dict[str, str | None] = {}
    i = 0
    while i < len(argv):
        if argv[i].startswith("-"):
            takes_value = i + 1 < len(argv) and not argv[i + 1].startswith("-")
            out[argv[i]] = argv[i + 1] if takes_value else None
            i += 2 if takes_value else 1
        else:
            i += 1
    return out


# --- commands -------------------------------------------------------------------------------------------------


def test_service_commands_are_the_launchers():
    expected = {
        "web": _python(launcher.web_command(8000, host="0.0.0.0")),
        "worker": _python(launcher.worker_command()),
        "actions": _python(launcher.actions_command(5055, host="0.0.0.0")),
        "migrate": ["python", "-m", "bot", "migrate"],  # what run-scaled runs before it starts anything
    }
    processes = _all_processes()
    for process in processes:
        if process.name in expected:
            assert process.command == expected[process.name], process.where
    seen = {(p.where, p.name) for p in processes}
    for where in {"compose", *(f"k8s/{o}" for o in OVERLAYS)}:
        assert {(where, name) for name in expected} <= seen


def test_the_migration_and_process_commands_exist_in_the_command_line():
    from bot.__main__ import cli

    assert {"migrate", "web", "worker", "seed-demo"} <= set(cli.commands)  # type: ignore[attr-defined]
    web_options = {opt for p in cli.commands["web"].params for opt in p.opts}  # type: ignore[attr-defined]
    assert {"--port", "--host"} <= web_options


def test_rasa_runs_as_the_launcher_starts_it_but_on_the_pods_address():
    """The same module, subcommand and flags as rasa_command(); in a container it listens on every address (the
    network policy and its token guard it), logs to stdout (no --log-file) and reads its files where the image and
    the ConfigMap put them."""
    local = _python(launcher.rasa_command(Path("/var"), 5005))
    local_options = _options(local[3:])
    containers = [p for p in _all_processes() if p.name == "rasa"]
    assert len(containers) == 1 + len(OVERLAYS)
    for process in containers:
        assert process.command[:5] == local[:5] == ["python", "-m", "channels.rasa_server", "run", "--enable-api"]
        options = _options(process.command[3:])
        assert set(options) == set(local_options) - {"--log-file"}, process.where
        for flag in ("--enable-api", "-p", "--cors"):
            assert options[flag] == local_options[flag], (process.where, flag)
        assert options["-i"] == "0.0.0.0"
        assert options["--model"] == "/app/models"
        assert Path(options["--endpoints"] or "").name == "endpoints.yml"
        assert Path(options["--credentials"] or "").name == "credentials.yml"


def test_the_images_default_commands_are_the_deployed_ones():
    processes = {p.name: p for p in _all_processes() if p.where == "compose"}
    for dockerfile in DOCKERFILES:
        text = dockerfile.read_text().replace("\\\n", " ")
        cmd = yaml.safe_load(re.search(r"^CMD (\[.*\])", text, re.M).group(1))  # type: ignore[union-attr]
        process = "rasa" if dockerfile.name.startswith("rasa") else "web"
        assert cmd == processes[process].command, dockerfile.name


def test_rasa_files_are_mounted_where_its_command_reads_them():
    for overlay in OVERLAYS:
        docs = render(overlay)
        rasa = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "recobra-rasa")
        container = rasa["spec"]["template"]["spec"]["containers"][0]
        options = _options(container["command"][3:])
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert str(Path(options["--endpoints"] or "").parent) == mounts["rasa-files"]
    rasa = compose()["services"]["rasa"]
    targets = {c["target"] for c in rasa["configs"]}
    options = _options(rasa["command"][3:])
    assert {options["--endpoints"], options["--credentials"]} == targets


# --- environment ----------------------------------------------------------------------------------------------


def test_every_variable_deploy_sets_is_one_something_reads():
    product = product_names()
    unknown: set[tuple[str, str]] = set()
    for process in _all_processes():
        unknown |= {(process.where, n) for n in process.env_names if not _known(n, product)}
    files = [
        COMPOSE_ENV_EXAMPLE,
        ROOT / "deploy/k8s/base/config.env",
        *ROOT.glob("deploy/k8s/overlays/*/config.env"),
        *ROOT.glob("deploy/k8s/overlays/*/secrets.env.example"),
    ]
    for path in files:
        unknown |= {(path.name, n) for n in read_env_file(path) if not _known(n, product)}
    for dockerfile in DOCKERFILES:
        for block in re.findall(r"^ENV (.*?)(?<!\\)$", dockerfile.read_text(), re.M | re.S):
            names = re.findall(r"([A-Z_][A-Z0-9_]*)=", block)
            unknown |= {(dockerfile.name, n) for n in names if not _known(n, product)}
    assert unknown == set()


def test_the_drift_check_knows_an_invented_name_from_a_real_one():
    product = product_names()
    assert _known("RECOBRA_QUEUE_PARTITIONS", product) and _known("RECOBRA_TRACKER_STORE_PASSWORD", product)
    assert not _known("RECOBRA_QUEUE_PARTITION", product)


def test_every_service_container_gets_the_shared_secrets_and_the_wiring():
    for process in _all_processes():
        if process.name in SERVICE_PROCESSES:
            missing = (SHARED_SECRETS | WIRING) - process.env_names
            assert missing == set(), (process.where, process.name)


def test_rasa_gets_its_api_secrets_and_every_name_its_files_use():
    referenced = set()
    for name in ("endpoints.yml", "credentials.yml"):
        values = yaml.safe_dump(yaml.safe_load((RASA_FILES / name).read_text()))  # the values, not the comments
        referenced |= set(re.findall(r"\$\{([A-Z0-9_]+)\}", values))
    needed = referenced | {"RASA_AUTH_TOKEN", "RASA_JWT_SECRET"}
    for process in _all_processes():
        if process.name == "rasa":
            assert needed - process.env_names == set(), process.where
            # least privilege: no provider secret, no API key in Rasa's environment
            assert not process.env_names & {"TWILIO_AUTH_TOKEN", "MERCADOPAGO_ACCESS_TOKEN", "RECOBRA_API_KEY"}


@pytest.fixture
def launcher_settings(monkeypatch):
    """The launcher's settings as production has them (Rasa's `rest` channel is the demo's only)."""
    monkeypatch.setenv("RECOBRA_ENV", "production")
    monkeypatch.setenv("MESSAGING_PROVIDER", "twilio")
    monkeypatch.setenv("PAYMENTS_PROVIDER", "mercadopago")
    reset_settings()
    yield
    reset_settings()


def _expanded_rasa_files(env: dict[str, str]) -> dict[str, dict]:
    """deploy's Rasa files as Rasa reads them with ``env`` as its environment (it expands ${NAME} in strings)."""
    out = {}
    for name in ("endpoints.yml", "credentials.yml"):
        raw = yaml.safe_load((RASA_FILES / name).read_text())
        out[name] = yaml.safe_load(interpolate(yaml.safe_dump(raw), env))
    return out


def _launcher_files(tmp_path: Path, database_url: str, redis: str, action_url: str) -> dict[str, dict]:
    """What `make run` writes for Rasa for these URLs, with its ${NAME}s expanded as Rasa would."""
    endpoints = {
        "action_endpoint": {"url": action_url, "headers": {"Authorization": "Bearer ${ACTION_SERVER_TOKEN}"}},
        "tracker_store": launcher.tracker_store(database_url, tmp_path),
        "lock_store": launcher.lock_store(redis),
    }
    launcher.write_credentials(tmp_path / "credentials.yml")
    credentials = yaml.safe_load((tmp_path / "credentials.yml").read_text())
    env = {
        launcher.TRACKER_PASSWORD_ENV: urlparse(database_url).password or "",
        launcher.LOCK_PASSWORD_ENV: urlparse(redis).password or "",
        "ACTION_SERVER_TOKEN": "action-token",
        "RASA_CHANNEL_SECRET": "channel-secret",
    }
    return {
        "endpoints.yml": yaml.safe_load(interpolate(yaml.safe_dump(endpoints), env)),
        "credentials.yml": yaml.safe_load(interpolate(yaml.safe_dump(credentials), env)),
    }


def _comparable(files: dict[str, dict]) -> dict[str, dict]:
    """Ports and database numbers as strings (Rasa's expansion makes every ${NAME} a string; Rasa and its clients
    take either)."""
    text = yaml.safe_dump(files)
    return yaml.safe_load(re.sub(r"^(\s+(?:port|db)): '?(\d+)'?$", r"\1: '\2'", text, flags=re.M))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rasa_files_in_kubernetes_describe_the_launchers_stores(overlay, tmp_path, launcher_settings):
    env = overlay_env(overlay) | {"ACTION_SERVER_TOKEN": "action-token", "RASA_CHANNEL_SECRET": "channel-secret"}
    ours = _expanded_rasa_files(env)
    theirs = _launcher_files(tmp_path, env["DATABASE_URL"], env["REDIS_URL"], env["ACTION_SERVER_URL"])
    assert _comparable(ours) == _comparable(theirs)


def test_rasa_files_in_compose_describe_the_launchers_stores(tmp_path, launcher_settings):
    services = compose()["services"]
    env = {str(k): str(v) for k, v in services["rasa"]["environment"].items()}
    env |= {"ACTION_SERVER_TOKEN": "action-token", "RASA_CHANNEL_SECRET": "channel-secret"}
    web = services["web"]["environment"]
    ours = _expanded_rasa_files(env)
    theirs = _launcher_files(tmp_path, web["DATABASE_URL"], web["REDIS_URL"], web["ACTION_SERVER_URL"])
    assert _comparable(ours) == _comparable(theirs)


def test_the_store_comparison_notices_a_tracker_store_on_another_server(tmp_path, launcher_settings):
    env = overlay_env(OVERLAYS[0]) | {"ACTION_SERVER_TOKEN": "action-token", "RASA_CHANNEL_SECRET": "channel-secret"}
    theirs = _launcher_files(tmp_path, env["DATABASE_URL"], env["REDIS_URL"], env["ACTION_SERVER_URL"])
    env["RECOBRA_TRACKER_STORE_HOST"] = "elsewhere.example.com"
    assert _comparable(_expanded_rasa_files(env)) != _comparable(theirs)


def test_processes_read_no_setting_from_a_file_a_container_cannot_write():
    """The product writes generated secrets under RECOBRA_VAR_DIR: in a read-only container that is /tmp."""
    assert read_env_file(ROOT / "deploy/k8s/base/config.env")["RECOBRA_VAR_DIR"].startswith("/tmp/")
    assert "RECOBRA_VAR_DIR=/tmp/recobra" in (ROOT / "deploy/docker/service.Dockerfile").read_text()
