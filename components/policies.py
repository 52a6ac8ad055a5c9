"""Least-privilege IAM policies of the pods, built from the exact ARNs of one stack's resources."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def web_identity_trust_policy(provider_arn: str, conditions: dict[str, Any]) -> str:
    """A role's trust policy for tokens of one OIDC provider, under these conditions (the
    claims that say whose token it is and for which audience it was minted)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": conditions,
                }
            ],
        }
    )


#: What a polling reader calls on the stream.
STREAM_READ_ACTIONS = (
    "kinesis:DescribeStreamSummary",
    "kinesis:ListShards",
    "kinesis:GetShardIterator",
    "kinesis:GetRecords",
)
#: What an enhanced fan-out reader calls on its registered consumer.
FAN_OUT_ACTIONS = ("kinesis:SubscribeToShard", "kinesis:DescribeStreamConsumer")
#: Block-list look-ups and writes, checkpoint reads and saves, the alerts ledger's batches.
TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Scan",
    "dynamodb:BatchWriteItem",
)
#: Using a customer key to read what it encrypted and to encrypt what is written.
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class ConsumerAccess:
    """The ARNs the consumer touches, resolved.

    Attributes:
        stream_arn: the transactions stream.
        consumer_arn: the registered fan-out consumer, or ``None`` when reading by polling.
        table_arns: the block-list and checkpoint tables.
        decisions_bucket_arn: the bucket of the decisions log; writes go under ``prefix``.
        decisions_prefix: key prefix of the decisions objects, ending in ``/``.
        topic_arn: the alert topic.
        dead_letter_queue_arn: where bad records are set aside.
        key_arns: the customer keys of the stream, bucket, topic and queue.
    """

    stream_arn: str
    consumer_arn: str | None
    table_arns: Sequence[str]
    decisions_bucket_arn: str
    decisions_prefix: str
    topic_arn: str
    dead_letter_queue_arn: str
    key_arns: Sequence[str]


def consumer_policy(access: ConsumerAccess) -> str:
    """The consumer's policy: the actions it calls, on this stack's ARNs and nothing else."""
    statements: list[dict[str, object]] = [
        _allow("ReadStream", STREAM_READ_ACTIONS, [access.stream_arn]),
        _allow("BlockListAndCheckpoints", TABLE_ACTIONS, access.table_arns),
        _allow(
            "WriteDecisions",
            ["s3:PutObject"],
            [f"{access.decisions_bucket_arn}/{access.decisions_prefix}*"],
        ),
        # Listing the log's own objects lets a consumer that takes a shard over cut its
        # batches where the previous reader logged them (no decision logged twice).
        {
            **_allow("ListDecisions", ["s3:ListBucket"], [access.decisions_bucket_arn]),
            "Condition": {"StringLike": {"s3:prefix": [f"{access.decisions_prefix}*"]}},
        },
        _allow("PublishAlerts", ["sns:Publish"], [access.topic_arn]),
        _allow(
            "SetAsideBadRecords",
            ["sqs:SendMessage", "sqs:GetQueueUrl"],
            [access.dead_letter_queue_arn],
        ),
        _allow("UseStackKeys", KEY_ACTIONS, access.key_arns),
    ]
    if access.consumer_arn:
        statements.insert(1, _allow("ReadByFanOut", FAN_OUT_ACTIONS, [access.consumer_arn]))
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def keda_policy(stream_arn: str) -> str:
    """The KEDA operator's policy: the stream's shard count and the stream's lag metric.

    CloudWatch's GetMetricData has no resource-level permissions (AWS only accepts ``*`` for
    it), so that one statement cannot name an ARN; it reads metrics and changes nothing.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                _allow("CountShards", ["kinesis:DescribeStreamSummary"], [stream_arn]),
                _allow("ReadLagMetric", ["cloudwatch:GetMetricData"], ["*"]),
            ],
        }
    )


def _allow(sid: str, actions: Sequence[str], resources: Sequence[str]) -> dict[str, object]:
    if not resources:
        raise ValueError(f"policy statement {sid}: no resource ARN given")
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": list(resources)}
