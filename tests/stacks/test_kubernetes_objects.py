"""The Kubernetes objects the program would apply, validated against their published schemas.

Objects are rendered from the record of the real program run (what the provider would send to
the API server), not from the builder functions, so a change anywhere on the way is caught.
Built-in kinds are checked with kubernetes-validate in strict mode (unknown fields rejected);
KEDA's custom kinds against the openAPIV3 schemas of chart 2.20.2's CRDs, made strict the same
way, since the API server would silently prune a misspelt field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from record import as_ints

from components.keda import KEDA_CHART_VERSION
from stacks.settings import parse_settings

ConfigOf = Callable[..., dict[str, str]]

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Reference schemas beside the repository, not part of it; tests that need them skip without.
KEDA_SCHEMAS = REPO_ROOT.parent / "shared" / "schemas" / f"keda-{KEDA_CHART_VERSION}"
BUILT_IN = ("Namespace", "ServiceAccount", "Deployment", "PodDisruptionBudget")
KEDA_KINDS = {
    "ScaledObject": "scaledobject.json",
    "TriggerAuthentication": "triggerauthentication.json",
}


def rendered(run: Any) -> dict[str, dict[str, Any]]:
    """Each Kubernetes object of the run by kind, as it would be applied."""
    objects = {}
    for resource in run.resources:
        if not resource.type.startswith("kubernetes:") or "helm.sh" in resource.type:
            continue
        body = as_ints(resource.inputs)
        assert body["kind"] not in objects, f"two objects of kind {body['kind']}"
        objects[body["kind"]] = body
    return objects


def kubernetes_version(stack: str, config_of: ConfigOf) -> str:
    version = parse_settings(config_of(stack), stack=stack).kubernetes_version
    assert version in kubernetes_validate.utils.all_versions() or (
        f"{version}.0" in kubernetes_validate.utils.all_versions()
    ), f"kubernetes-validate has no schemas for {version}"
    return f"{version}.0"


def strict(schema: Any) -> Any:
    """The schema with unknown fields rejected wherever the CRD lists the fields it knows."""
    schema = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return schema


def keda_validator(kind: str) -> jsonschema.protocols.Validator:
    path = KEDA_SCHEMAS / KEDA_KINDS[kind]
    if not path.is_file():
        pytest.skip(f"KEDA {KEDA_CHART_VERSION} CRD schemas not found at {KEDA_SCHEMAS}")
    schema = strict(json.loads(path.read_text(encoding="utf-8")))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


def test_program_renders_every_object_the_consumer_needs(deployed: Any) -> None:
    assert sorted(rendered(deployed)) == sorted([*BUILT_IN, *KEDA_KINDS])


@pytest.mark.parametrize("kind", BUILT_IN)
def test_built_in_object_is_valid_kubernetes(
    kind: str, stack: str, deployed: Any, config_of: ConfigOf
) -> None:
    body = rendered(deployed)[kind]

    kubernetes_validate.validate(body, kubernetes_version(stack, config_of), strict=True)


def test_strict_kubernetes_validation_rejects_a_misspelt_field(
    deployed: Any, stack: str, config_of: ConfigOf
) -> None:
    body = rendered(deployed)["Deployment"]
    body["spec"]["template"]["spec"]["terminationGracePeriod"] = 60

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(body, kubernetes_version(stack, config_of), strict=True)


@pytest.mark.parametrize("kind", sorted(KEDA_KINDS))
def test_keda_object_is_valid_against_its_crd(kind: str, deployed: Any) -> None:
    validator = keda_validator(kind)
    body = rendered(deployed)[kind]

    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]

    assert errors == [], f"{kind}: {errors}"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda spec: spec.update(minReplicaCount="1"), "a string replica count"),
        (lambda spec: spec.pop("triggers"), "no triggers"),
        (lambda spec: spec.update(minReplicas=1), "a misspelt field"),
    ],
)
def test_keda_validation_rejects_a_broken_scaled_object(
    change: Callable[[dict[str, Any]], Any], why: str, deployed: Any
) -> None:
    validator = keda_validator("ScaledObject")
    body = rendered(deployed)["ScaledObject"]
    change(body["spec"])

    assert list(validator.iter_errors(body)), f"the CRD schema accepted {why}"


def test_keda_objects_point_at_the_deployment_in_its_namespace(deployed: Any) -> None:
    objects = rendered(deployed)
    deployment = objects["Deployment"]["metadata"]
    scaled = objects["ScaledObject"]

    assert {o["metadata"].get("namespace") for k, o in objects.items() if k != "Namespace"} == {
        objects["Namespace"]["metadata"]["name"]
    }
    target: Mapping[str, str] = scaled["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["name"])
