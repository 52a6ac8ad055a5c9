"""The workflows' roles reach the cluster's Kubernetes API: a `pulumi up` from CI needs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mocked_cloud import ACCOUNT_ID
from record import of_type

from components.cluster import CLUSTER_ADMIN_POLICY, CLUSTER_VIEW_POLICY

ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


def test_cluster_admits_the_deploy_role_as_admin_and_the_preview_role_as_viewer(
    stack: str,
    run_program: Callable[..., Any],
    config_of: Callable[..., dict[str, str]],
) -> None:
    deployed = run_program(config_of(stack, githubActionsAccess=True))

    entries = {e.inputs["principalArn"]: e for e in of_type(deployed, ENTRY)}
    deploy = f"arn:aws:iam::{ACCOUNT_ID}:role/fds-github-deploy"
    preview = f"arn:aws:iam::{ACCOUNT_ID}:role/fds-github-preview"
    assert set(entries) == {deploy, preview}, f"{stack}: {sorted(entries)}"
    for entry in entries.values():
        assert entry.inputs["clusterName"] == f"fds-{stack}"
        assert entry.inputs["type"] == "STANDARD"

    policies = {a.inputs["principalArn"]: a for a in of_type(deployed, ASSOCIATION)}
    assert policies[deploy].inputs["policyArn"] == CLUSTER_ADMIN_POLICY
    assert policies[preview].inputs["policyArn"] == CLUSTER_VIEW_POLICY
    for association in policies.values():
        assert association.inputs["accessScope"] == {"type": "cluster"}


def test_cluster_access_off_admits_only_the_creator(stack: str, deployed: Any) -> None:
    # The stack files ship with it off, so that a stack deployed by hand, without the
    # bootstrap's roles, is not refused by EKS for naming roles that do not exist.
    run = deployed

    assert of_type(run, ENTRY) == [] and of_type(run, ASSOCIATION) == []
