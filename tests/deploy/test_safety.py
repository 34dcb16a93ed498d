"""Safe by default: production's overlay is a set-up the product itself accepts as production (and never the demo's
sandbox), every container runs without root, privileges or a writable root file system, with limits and probes,
and the network policies let through exactly worker -> Rasa -> action server and the Ingress -> web (the web's
readiness leaves Rasa out: webhooks are stored and queued while Rasa is away)."""

from __future__ import annotations

import pytest

from actions.server import OPEN_PATHS
from bot.platform import preflight
from bot.platform.config import Settings, reset_settings
from tests.deploy.manifests import OVERLAYS, compose, of_kind, overlay_env, render
from tests.deploy.test_drift import product_names


@pytest.fixture
def production_env(monkeypatch):
    """The production overlay's environment (its config and its Secret's example) and nothing else of ours."""
    env = overlay_env("production")
    for name in product_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    yield env
    reset_settings()


def test_production_overlay_passes_the_products_own_preflight(production_env):
    settings = Settings()
    assert settings.production
    assert not settings.demo
    assert preflight.problems(settings, production_env) == []


def test_production_overlay_has_no_demo_or_sandbox_setting():
    env = overlay_env("production")
    assert env["RECOBRA_ENV"] == "production"
    assert env["MESSAGING_PROVIDER"] == "twilio" and env["PAYMENTS_PROVIDER"] == "mercadopago"
    assert env["PUBLIC_BASE_URL"].startswith("https://")
    assert not env["DATABASE_URL"].startswith("sqlite")
    assert "DEMO_PASSWORD" not in env and "RECOBRA_ALLOW_SQLITE" not in env


def test_the_preflight_check_would_refuse_the_demo_overlay_as_production(monkeypatch):
    env = overlay_env("demo") | {"RECOBRA_ENV": "production"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    try:
        found = preflight.problems(Settings(), env)
    finally:
        reset_settings()
    assert any("MESSAGING_PROVIDER=sandbox" in line for line in found)


def _pod_specs(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_locked_down_and_sized(overlay):
    for name, pod in _pod_specs(render(overlay)).items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_long_running_process_is_probed_where_it_answers(overlay):
    docs = render(overlay)
    config = next(d for n, d in of_kind(docs, "ConfigMap").items() if n.startswith("recobra-config"))["data"]
    expected = {
        # the web edge stores and queues a webhook while Rasa is away: its readiness does not ask Rasa
        "recobra-web": ("/healthz", "/readyz?skip=rasa", 8000),
        "recobra-worker": ("/healthz", "/readyz", int(config["RECOBRA_WORKER_HEALTH_PORT"])),
        "recobra-rasa": ("/", "/", 5005),
        "recobra-actions": ("/health", "/health", 5055),
    }
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == set(expected)
    for name, (live, ready, port) in expected.items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe, path in (("livenessProbe", live), ("readinessProbe", ready)):
            get = container[probe]["httpGet"]
            assert (get["path"], ports[get["port"]]) == (path, port), (name, probe)
    # the action server answers its probe without the token (it runs nothing else without it)
    assert expected["recobra-actions"][0] in OPEN_PATHS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_worker_and_rasa_scale_and_every_process_has_a_disruption_budget(overlay):
    docs = render(overlay)
    scaled = {d["spec"]["scaleTargetRef"]["name"] for d in of_kind(docs, "HorizontalPodAutoscaler").values()}
    assert scaled == {"recobra-web", "recobra-worker", "recobra-rasa"}
    budgets = of_kind(docs, "PodDisruptionBudget").values()
    protected = {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for d in budgets}
    assert protected == set(of_kind(docs, "Deployment"))


def _admits(policies: list[dict], target: dict[str, str], source: dict[str, str] | None, namespace: str) -> bool:
    """Whether a connection from a pod with ``source`` labels (None: from another namespace named ``namespace``)
    to a pod with ``target`` labels is let in: allowed when no policy selects the target, else when a rule of one
    that does admits the source (the subset of NetworkPolicy semantics these manifests use)."""
    selecting = [p for p in policies if p["spec"]["podSelector"].get("matchLabels", {}).items() <= target.items()]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if source is not None and "podSelector" in peer and "namespaceSelector" not in peer:
                    if peer["podSelector"].get("matchLabels", {}).items() <= source.items():
                        return True
                if source is None and "namespaceSelector" in peer:
                    wanted = peer["namespaceSelector"].get("matchLabels", {})
                    if wanted.get("kubernetes.io/metadata.name") == namespace:
                        return True
    return False


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_exactly_the_product_paths(overlay):
    docs = render(overlay)
    policies = list(of_kind(docs, "NetworkPolicy").values())
    pods = {
        name.removeprefix("recobra-"): pod["metadata"]["labels"]
        for name, pod in ((d["metadata"]["name"], d["spec"]["template"]) for d in docs if d["kind"] == "Deployment")
    }
    allowed = {(src, dst) for src in pods for dst in pods if src != dst and _admits(policies, pods[dst], pods[src], "")}
    assert allowed == {("worker", "rasa"), ("rasa", "actions")}
    from_ingress = {dst for dst in pods if _admits(policies, pods[dst], None, "ingress-nginx")}
    assert from_ingress == {"web"}
    assert not any(_admits(policies, pods[dst], None, "default") for dst in pods)


def test_compose_containers_of_ours_are_locked_down():
    services = compose()["services"]
    ours = {name: s for name, s in services.items() if name not in ("postgres", "redis")}
    assert set(ours) == {"migrate", "seed-demo", "web", "worker", "actions", "rasa"}
    for name, service in ours.items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert not service["user"].startswith("0"), name
    # only the web edge is published, and on the host's loopback
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert published == {"web": ["127.0.0.1:8000:8000"]}
