"""deploy/ is valid for the tools that will read it: every overlay's Kustomize output against the Kubernetes
schemas (kubernetes-validate bundles them: no network), compose.yaml against the Compose spec's JSON schema
(vendored in deploy/schemas/, its source in the README there). Nothing here needs a cluster or a container daemon."""

from __future__ import annotations

import copy
import json

import pytest

from tests.deploy.manifests import DEPLOY, OVERLAYS, compose, compose_raw, render

# The oldest Kubernetes the manifests must be valid for (autoscaling/v2, policy/v1 and the restricted Pod Security
# labels are all older); kubernetes-validate checks each object against that version's schema, strictly (an
# unknown field is an error, as `kubectl apply --validate=strict` makes it).
KUBERNETES_VERSION = "1.28.0"


def _validate_all(docs: list[dict]) -> list[str]:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate (requirements/service-dev.in) is not installed"
    )
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except Exception as exc:  # ValidationError, SchemaNotFoundError: either way the object is not accepted
            errors.append(f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}: {exc}")
    return errors


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_objects_kubernetes_accepts(overlay):
    docs = render(overlay)
    assert {d["kind"] for d in docs} >= {
        "Deployment",
        "Job",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",
        "Secret",
    }
    assert _validate_all(docs) == []


def test_the_kubernetes_check_rejects_a_misspelt_field():
    docs = render(OVERLAYS[0])
    deployment = copy.deepcopy(next(d for d in docs if d["kind"] == "Deployment"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenessProbe"]["httpGet"]["paht"] = container["livenessProbe"]["httpGet"].pop("path")
    assert len(_validate_all([deployment])) == 1


def _compose_validator():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text())
    return jsonschema.Draft7Validator(schema)


def test_compose_file_follows_the_compose_spec():
    validator = _compose_validator()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []


def test_the_compose_check_rejects_an_unknown_service_key():
    doc = compose_raw()
    doc["services"]["web"]["healthcheck"]["intervall"] = "10s"
    assert any("intervall" in e.message for e in _compose_validator().iter_errors(doc))


def test_compose_stops_on_a_missing_secret():
    with pytest.raises(KeyError, match="ACTION_SERVER_TOKEN"):
        given = ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "RASA_AUTH_TOKEN", "RASA_JWT_SECRET", "RASA_CHANNEL_SECRET")
        compose(dict.fromkeys(given, "x"))
