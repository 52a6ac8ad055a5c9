"""The bootstrap program, run for real under the shared mocks with bootstrap/Pulumi.ci.yaml."""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.automation import ProjectSettings
from record import of_type, one, policy_of

from bootstrap.settings import BootstrapConfigError, BootstrapSettings, config_keys
from components.github_oidc import (
    DEPLOY_ROLE_NAME,
    GITHUB_ISSUER_HOST,
    PREVIEW_ROLE_NAME,
)

RunBootstrap = Callable[..., Any]
SUB = f"{GITHUB_ISSUER_HOST}:sub"
AUD = f"{GITHUB_ISSUER_HOST}:aud"
REPOSITORY = "example-org/fds"  # bootstrap/Pulumi.ci.yaml's
STATE_BUCKET = "arn:aws:s3:::example-org-fds-pulumi-state"

#: Resource types that hold long-lived credentials: none may exist anywhere in the bootstrap.
KEY_TYPES = (
    "aws:iam/user:User",
    "aws:iam/accessKey:AccessKey",
    "aws:iam/userLoginProfile:UserLoginProfile",
    "aws:iam/serviceSpecificCredential:ServiceSpecificCredential",
    "aws:iam/signingCertificate:SigningCertificate",
    "aws:iam/sshKey:SshKey",
)


def role(run: Any, name: str) -> Any:
    (found,) = [r for r in of_type(run, "aws:iam/role:Role") if r.inputs.get("name") == name]
    return found


def trust(run: Any, name: str) -> dict[str, Any]:
    (statement,) = policy_of(role(run, name), "assumeRolePolicy")["Statement"]
    return dict(statement)


def attached(run: Any, name: str) -> list[str]:
    role_name = role(run, name).outputs["name"]
    return sorted(
        a.inputs["policyArn"]
        for a in of_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == role_name
    )


def inline(run: Any, name: str) -> dict[str, Any]:
    role_name = role(run, name).outputs["name"]
    (policy,) = [
        p for p in of_type(run, "aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role_name
    ]
    return policy_of(policy)


def test_bootstrap_deploy_role_trusts_exactly_this_repos_environments(
    run_bootstrap: RunBootstrap,
) -> None:
    run = run_bootstrap()
    provider = one(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")

    statement = trust(run, DEPLOY_ROLE_NAME)
    assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {AUD: "sts.amazonaws.com"},
        "StringLike": {
            SUB: [f"repo:{REPOSITORY}:environment:dev", f"repo:{REPOSITORY}:environment:prod"]
        },
    }, "the deploy role must trust the dev and prod environments of this repository only"


def test_bootstrap_branches_and_environments_come_from_config(
    run_bootstrap: RunBootstrap,
) -> None:
    run = run_bootstrap(
        {
            "githubRepository": "acme/fraud",
            "deployEnvironments": ["staging"],
            "deployBranches": ["main", "release/2026"],
        }
    )

    subjects = trust(run, DEPLOY_ROLE_NAME)["Condition"]["StringLike"][SUB]
    assert subjects == [
        "repo:acme/fraud:ref:refs/heads/main",
        "repo:acme/fraud:ref:refs/heads/release/2026",
        "repo:acme/fraud:environment:staging",
    ]
    preview = trust(run, PREVIEW_ROLE_NAME)["Condition"]["StringLike"][SUB]
    assert preview == ["repo:acme/fraud:pull_request"]


def test_bootstrap_preview_role_trusts_only_pull_requests_of_this_repo(
    run_bootstrap: RunBootstrap,
) -> None:
    run = run_bootstrap()
    provider = one(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")

    statement = trust(run, PREVIEW_ROLE_NAME)
    # One provider for both roles: an account holds one per issuer.
    assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
    assert statement["Condition"] == {
        "StringEquals": {AUD: "sts.amazonaws.com"},
        "StringLike": {SUB: [f"repo:{REPOSITORY}:pull_request"]},
    }


def test_bootstrap_creates_no_long_lived_keys(run_bootstrap: RunBootstrap) -> None:
    run = run_bootstrap()

    assert [r.type for r in run.resources if r.type in KEY_TYPES] == []
    # Every role is assumed with a web-identity token of GitHub's provider, and nothing else.
    for found in of_type(run, "aws:iam/role:Role"):
        (statement,) = policy_of(found, "assumeRolePolicy")["Statement"]
        assert set(statement["Principal"]) == {"Federated"}, found.name
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity", found.name
    provider = one(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == f"https://{GITHUB_ISSUER_HOST}"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_bootstrap_role_permissions(run_bootstrap: RunBootstrap) -> None:
    run = run_bootstrap()

    assert attached(run, DEPLOY_ROLE_NAME) == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    assert attached(run, PREVIEW_ROLE_NAME) == [
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
    ]

    deploy = {s["Sid"]: s for s in inline(run, DEPLOY_ROLE_NAME)["Statement"]}
    assert deploy["WriteState"]["Resource"] == f"{STATE_BUCKET}/*"
    assert sorted(deploy["WriteState"]["Action"]) == ["s3:DeleteObject", "s3:PutObject"]
    assert deploy["ReadState"]["Resource"] == f"{STATE_BUCKET}/*"

    preview = {s["Sid"]: s for s in inline(run, PREVIEW_ROLE_NAME)["Statement"]}
    assert set(preview) == {"ListState", "ReadState", "LockState"}
    # The preview role writes lock files and nothing else of the state.
    assert preview["LockState"]["Resource"] == f"{STATE_BUCKET}/.pulumi/locks/*"
    for statement in preview.values():
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        if statement["Sid"] != "LockState":
            assert all(a.startswith(("s3:Get", "s3:List")) for a in actions), statement


def test_bootstrap_with_pulumi_cloud_grants_no_state_rights(run_bootstrap: RunBootstrap) -> None:
    run = run_bootstrap({"stateBackend": "https://api.pulumi.com"})

    assert of_type(run, "aws:iam/rolePolicy:RolePolicy") == []
    assert run.exports["stateBackend"] == "https://api.pulumi.com"


def test_bootstrap_reuses_an_existing_provider(run_bootstrap: RunBootstrap) -> None:
    existing = f"arn:aws:iam::123456789012:oidc-provider/{GITHUB_ISSUER_HOST}"
    run = run_bootstrap({"existingProviderArn": existing})

    assert of_type(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    for name in (DEPLOY_ROLE_NAME, PREVIEW_ROLE_NAME):
        assert trust(run, name)["Principal"] == {"Federated": existing}, name


def test_bootstrap_exports_what_the_repository_variables_take(
    run_bootstrap: RunBootstrap,
) -> None:
    run = run_bootstrap()

    assert run.exports["deployRoleArn"] == role(run, DEPLOY_ROLE_NAME).outputs["arn"]
    assert run.exports["previewRoleArn"] == role(run, PREVIEW_ROLE_NAME).outputs["arn"]
    assert run.exports["stateBackend"] == "s3://example-org-fds-pulumi-state"
    assert json.dumps(run.exports).count("None") == 0


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"githubRepository": None}, "githubRepository"),
        ({"githubRepository": "example-org/*"}, "githubRepository"),
        ({"deployEnvironments": ["*"]}, "deployEnvironments"),
        ({"stateBackend": "file:///tmp/state"}, "stateBackend"),
        ({"deployPolicyArns": []}, "deployPolicyArns"),
        ({"deployEnvironments": [], "deployBranches": []}, "deployEnvironments"),
    ],
)
def test_bootstrap_refuses_config_that_would_widen_or_break_the_trust(
    run_bootstrap: RunBootstrap, changes: dict[str, Any], key: str
) -> None:
    with pytest.raises(BootstrapConfigError, match=f"fds-bootstrap:{key}"):
        run_bootstrap(changes)


# The project and stack files, against the loader and Pulumi's own rules

BOOTSTRAP_DIR = Path(__file__).resolve().parents[2] / "bootstrap"


def load_yaml(name: str) -> dict[str, Any]:
    with (BOOTSTRAP_DIR / name).open(encoding="utf-8") as file:
        return dict(yaml.safe_load(file))


def test_bootstrap_project_file_parses_with_pulumi_sdk() -> None:
    project = ProjectSettings.from_dict(load_yaml("Pulumi.yaml"))

    assert project.name == "fds-bootstrap"
    assert project.runtime is not None and not isinstance(project.runtime, str)
    # The repository's one virtualenv, relative to bootstrap/.
    assert project.runtime.options == {"toolchain": "pip", "virtualenv": "../.venv"}
    assert (BOOTSTRAP_DIR / "__main__.py").is_file()


def test_bootstrap_project_file_declares_every_key_with_its_type() -> None:
    declared = load_yaml("Pulumi.yaml")["config"]
    fields = {f.alias: f for f in BootstrapSettings.model_fields.values()}

    assert set(declared) == set(config_keys())
    for key, spec in declared.items():
        assert spec.get("description") and "default" not in spec, key
        expected = "array" if typing.get_origin(fields[key].annotation) is list else "string"
        assert spec["type"] == expected, f"{key}: declared {spec['type']}"
        if expected == "array":
            assert spec["items"] == {"type": "string"}, key


def test_bootstrap_stack_file_sets_exactly_the_keys_the_loader_reads() -> None:
    config = load_yaml("Pulumi.ci.yaml")["config"]

    assert set(config) - {"aws:region"} == set(config_keys())
