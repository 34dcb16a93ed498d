"""What deploy/ says, read as data: the Compose file (with Compose's own interpolation), the Kustomize overlays
rendered by kubectl, the env files, and each process's command and environment, for the tests of deploy/."""

from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
COMPOSE_ENV_EXAMPLE = DEPLOY / "compose.env.example"
K8S = DEPLOY / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
RASA_FILES = K8S / "base" / "rasa"
DOCKERFILES = sorted((DEPLOY / "docker").glob("*.Dockerfile"))


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (comments and blank lines skipped), as Kustomize's and Compose's env files are read."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


_INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default}, ${NAME:?error} and $$, for the values the tests read; a missing
    ${NAME:?...} raises, as Compose refuses to start."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = env.get(name)
        if op in (":-", "-"):
            return value if value else (arg or "")
        if op in (":?", "?") and not value:
            raise KeyError(f"{name}: {arg}")
        return value or ""

    return _INTERPOLATION.sub(one, text)


def compose(env: dict[str, str] | None = None) -> dict:
    """compose.yaml as Compose sees it with ``env`` as deploy/.env (default: the committed example)."""
    values = read_env_file(COMPOSE_ENV_EXAMPLE) if env is None else env
    return yaml.safe_load(interpolate(COMPOSE_FILE.read_text(), values))


def compose_raw() -> dict:
    """compose.yaml as written (anchors merged, ${...} left as they are)."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl (with Kustomize built in) is needed to render deploy/k8s: apt-get install kubectl")
    return found


def render(overlay: str) -> list[dict]:
    """``kubectl kustomize`` of an overlay, on a copy of deploy/k8s whose git-ignored secrets.env files are the
    committed examples (as an operator's would be, filled in). Rendered once per test session; each caller gets
    its own copy to change."""
    return copy.deepcopy(_rendered(overlay))


@functools.cache
def _rendered(overlay: str) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "k8s"
        shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("secrets.env"))
        for example in tree.glob("overlays/*/secrets.env.example"):
            shutil.copy(example, example.with_name("secrets.env"))
        out = subprocess.run(
            [kubectl(), "kustomize", str(tree / "overlays" / overlay)], capture_output=True, text=True, timeout=120
        )
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def overlay_env(overlay: str) -> dict[str, str]:
    """The environment every service container of an overlay gets (envFrom: the config, then the Secret)."""
    env = read_env_file(K8S / "base" / "config.env")
    env.update(read_env_file(K8S / "overlays" / overlay / "config.env"))
    env.update(read_env_file(K8S / "overlays" / overlay / "secrets.env.example"))
    return env


@dataclass
class Process:
    """One container of deploy/: where it is declared, its command and the names of its environment."""

    where: str
    name: str
    command: list[str]
    env_names: set[str] = field(default_factory=set)


def k8s_processes(docs: list[dict], overlay: str) -> dict[str, Process]:
    """Each workload's container by its short name (web, worker, rasa, actions, migrate)."""
    configs = {name.rsplit("-", 1)[0]: doc for name, doc in of_kind(docs, "ConfigMap").items()}
    secrets = {name.rsplit("-", 1)[0]: doc for name, doc in of_kind(docs, "Secret").items()}
    out: dict[str, Process] = {}
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            names = {e["name"] for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    names |= set(configs[source["configMapRef"]["name"].rsplit("-", 1)[0]]["data"])
                if "secretRef" in source:
                    names |= set(secrets[source["secretRef"]["name"].rsplit("-", 1)[0]]["data"])
            short = doc["metadata"]["name"].removeprefix("recobra-")
            out[short] = Process(f"k8s/{overlay}", short, list(container["command"]), names)
    return out


def compose_processes() -> dict[str, Process]:
    services = compose()["services"]
    env_file = set(read_env_file(COMPOSE_ENV_EXAMPLE))
    out: dict[str, Process] = {}
    for name, service in services.items():
        if "command" not in service or name in ("postgres", "redis"):
            continue
        names = set(service.get("environment", {}))
        if "env_file" in service:
            names |= env_file
        out[name] = Process("compose", name, list(service["command"]), names)
    return out
