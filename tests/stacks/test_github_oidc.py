"""The GitHub Actions deploy role, declared under the shared Pulumi mocks and read back."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from mocked_cloud import ACCOUNT_ID
from pulumi.runtime.settings import get_monitor
from record import of_type, one

from components.github_oidc import (
    GITHUB_AUDIENCE,
    GITHUB_ISSUER_HOST,
    GithubDeployRole,
    GithubDeployRoleArgs,
    github_subjects,
)

REPOSITORY = "example-org/fds"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


class Declared:
    """The resources one declaration registered, in the shape ``record`` reads."""

    def __init__(self, resources: list[Any]) -> None:
        self.resources = resources


def declare(args: GithubDeployRoleArgs) -> Declared:
    """Declare the component alone under the mocks; return what it registered."""
    recording = get_monitor().recording  # the conftest's RecordingMonitor
    recording.resources.clear()

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        role = GithubDeployRole("fds-github", args)
        return pulumi.Output.all(role.role_arn, role.provider_arn)

    program()
    return Declared(list(recording.resources))


def trust_of(declared: Declared) -> dict[str, Any]:
    role = one(declared, "aws:iam/role:Role", "-role")
    text = role.inputs["assumeRolePolicy"]
    assert isinstance(text, str) and "None" not in text, text
    return dict(json.loads(text))


def test_creates_githubs_provider_for_sts() -> None:
    declared = declare(GithubDeployRoleArgs(repository=REPOSITORY, managed_policy_arns=[ADMIN]))

    provider = one(declared, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == f"https://{GITHUB_ISSUER_HOST}"
    assert provider.inputs["clientIdLists"] == [GITHUB_AUDIENCE]


def test_trust_checks_audience_and_only_this_repos_refs_and_environments() -> None:
    declared = declare(GithubDeployRoleArgs(repository=REPOSITORY, managed_policy_arns=[ADMIN]))
    provider = one(declared, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")

    (statement,) = trust_of(declared)["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
    condition = statement["Condition"]
    assert condition["StringEquals"] == {f"{GITHUB_ISSUER_HOST}:aud": "sts.amazonaws.com"}
    assert sorted(condition["StringLike"][f"{GITHUB_ISSUER_HOST}:sub"]) == sorted(
        [
            "repo:example-org/fds:ref:refs/heads/main",
            "repo:example-org/fds:ref:refs/tags/v*",
            "repo:example-org/fds:environment:dev",
            "repo:example-org/fds:environment:prod",
        ]
    )
    # No subject may match pull requests or every ref of the repository.
    for subject in condition["StringLike"][f"{GITHUB_ISSUER_HOST}:sub"]:
        assert not subject.endswith(":*") and "pull_request" not in subject, subject


def test_policies_are_attached_to_the_role() -> None:
    declared = declare(GithubDeployRoleArgs(repository=REPOSITORY, managed_policy_arns=[ADMIN]))

    (attachment,) = of_type(declared, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == ADMIN
    role = one(declared, "aws:iam/role:Role", "-role")
    assert attachment.inputs["role"] == role.outputs["name"]


def test_an_existing_provider_is_reused_not_created_twice() -> None:
    existing = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{GITHUB_ISSUER_HOST}"
    declared = declare(
        GithubDeployRoleArgs(
            repository=REPOSITORY, managed_policy_arns=[ADMIN], existing_provider_arn=existing
        )
    )

    assert of_type(declared, "aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    (statement,) = trust_of(declared)["Statement"]
    assert statement["Principal"] == {"Federated": existing}


@pytest.mark.parametrize(
    ("repository", "branches"),
    [
        ("fds", ["main"]),  # no owner
        ("example-org/fds/extra", ["main"]),
        ("example-org/*", ["main"]),  # a wildcard repository would trust every repo of the org
        (REPOSITORY, ["*"]),  # a bare wildcard would trust every branch
        (REPOSITORY, ["main:environment:x"]),
    ],
)
def test_subjects_refuse_values_that_widen_the_trust(repository: str, branches: list[str]) -> None:
    with pytest.raises(ValueError):
        github_subjects(repository, branches, ["v*"], ["dev"])


def test_a_preview_role_trusts_pull_requests_only() -> None:
    declared = declare(
        GithubDeployRoleArgs(
            repository=REPOSITORY,
            managed_policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            branches=(),
            tag_patterns=(),
            environments=(),
            pull_requests=True,
        )
    )

    (statement,) = trust_of(declared)["Statement"]
    assert statement["Condition"]["StringLike"] == {
        f"{GITHUB_ISSUER_HOST}:sub": ["repo:example-org/fds:pull_request"]
    }


def test_role_without_a_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="policy"):
        declare(GithubDeployRoleArgs(repository=REPOSITORY, managed_policy_arns=[]))
