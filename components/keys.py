"""Customer-managed KMS keys, with a key policy that names who may use them besides the account."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components.tagging import with_name


def customer_key(
    name: str,
    *,
    description: str,
    account_id: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    service_principals: Sequence[str] = (),
    deletion_window_days: int = 7,
) -> aws.kms.Key:
    """A rotating KMS key that the account administers and the given services may use.

    Args:
        name: the key's logical name; the alias is ``alias/<name>``.
        description: what the key protects, shown in the KMS console.
        account_id: the account whose IAM policies decide who else may use the key.
        tags: tags of the key.
        parent: the component the key belongs to.
        service_principals: AWS services that encrypt with the key on their own (SNS delivering
            to an encrypted queue, CloudWatch alarming to an encrypted topic).
        deletion_window_days: days a destroyed key waits before it is gone; 7 is the shortest.
    """
    statements: list[dict[str, object]] = [
        {
            # Without this the key could become unmanageable: IAM policies in the account
            # only take effect on a key whose policy delegates to the account.
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if service_principals:
        statements.append(
            {
                "Sid": "ServicesEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": sorted(service_principals)},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        )

    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=deletion_window_days,
        policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        tags=with_name(tags, name),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.kms.Alias(
        name,
        name=f"alias/{name}",
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return key
