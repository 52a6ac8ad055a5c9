"""The state backend setting: which URLs are accepted and what rights a bucket needs."""

from __future__ import annotations

import json

import pytest

from components.state_backend import parse_backend_url, state_access_policy


def test_backend_pulumi_cloud_needs_no_aws_rights() -> None:
    backend = parse_backend_url("https://api.pulumi.com")

    assert backend.kind == "cloud"
    assert state_access_policy(backend, write=True) is None


def test_backend_bucket_with_prefix_and_region_scopes_the_objects() -> None:
    backend = parse_backend_url("s3://acme-state/fds/?region=eu-west-1")

    assert (backend.kind, backend.bucket, backend.prefix) == ("s3", "acme-state", "fds/")
    policy = json.loads(state_access_policy(backend, write=False) or "{}")
    resources = {s["Sid"]: s["Resource"] for s in policy["Statement"]}
    assert resources == {
        "ListState": "arn:aws:s3:::acme-state",
        "ReadState": "arn:aws:s3:::acme-state/fds/*",
        "LockState": "arn:aws:s3:::acme-state/fds/.pulumi/locks/*",
    }


@pytest.mark.parametrize(
    "url", ["file:///home/me/state", "s3://", "s3://Not_A_Bucket", "api.pulumi.com", ""]
)
def test_backend_refuses_what_a_workflow_cannot_keep_state_in(url: str) -> None:
    with pytest.raises(ValueError, match="state backend"):
        parse_backend_url(url)
