"""Creating, in the embedded AWS, every resource the pipeline needs.

In the cloud the Pulumi stacks create these from the same names (``app.settings``); locally this
module does it. Every step is idempotent, so provisioning an already provisioned server is safe.
"""

from __future__ import annotations

import json
import logging
import time

from botocore.exceptions import ClientError

from app.aws import AwsClients
from app.consumer.effects import LEDGER_EXPIRY
from app.errors import AwsSetupError
from app.settings import ResourceNames

logger = logging.getLogger(__name__)

_STREAM_ACTIVE_TIMEOUT_SECONDS = 30.0


def provision(clients: AwsClients, names: ResourceNames, shard_count: int) -> None:
    """Create the stream, tables, bucket, topic and queues; wait until the stream is active."""
    _create_stream(clients, names.stream, shard_count)
    _create_table(clients, names.blocklist_table, key="account")
    _create_table(clients, names.checkpoint_table, key="shard_id")
    _expire_items(clients, names.checkpoint_table, LEDGER_EXPIRY)
    _create_bucket(clients, names.decisions_bucket)
    _create_alerts(clients, names)
    clients.sqs.create_queue(QueueName=names.dead_letter_queue)
    _wait_for_stream(clients, names.stream)
    logger.info("local resources ready: %s", names.model_dump())


def _create_stream(clients: AwsClients, name: str, shard_count: int) -> None:
    try:
        clients.kinesis.create_stream(StreamName=name, ShardCount=shard_count)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise


def _wait_for_stream(clients: AwsClients, name: str) -> None:
    deadline = time.monotonic() + _STREAM_ACTIVE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        summary = clients.kinesis.describe_stream_summary(StreamName=name)
        if summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.1)
    raise AwsSetupError(f"stream {name} did not become ACTIVE in {_STREAM_ACTIVE_TIMEOUT_SECONDS}s")


def _create_table(clients: AwsClients, name: str, *, key: str) -> None:
    try:
        clients.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise


def _expire_items(clients: AwsClients, table: str, attribute: str) -> None:
    """Turn on the table's TTL on ``attribute``, as the stacks do; already on is fine."""
    try:
        clients.dynamodb.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ValidationException":
            raise


def _create_bucket(clients: AwsClients, name: str) -> None:
    try:
        if clients.region == "us-east-1":
            clients.s3.create_bucket(Bucket=name)
        else:
            clients.s3.create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": clients.region}
            )
    except ClientError as error:
        if error.response["Error"]["Code"] not in {
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        }:
            raise


def _create_alerts(clients: AwsClients, names: ResourceNames) -> None:
    """The alert topic, and the inbox queue subscribed to it with raw message delivery."""
    topic_arn = clients.sns.create_topic(Name=names.alerts_topic)["TopicArn"]
    queue_url = clients.sqs.create_queue(QueueName=names.alerts_inbox_queue)["QueueUrl"]
    queue_arn = clients.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    # The same policy the cloud needs: only this topic may send to the inbox.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    clients.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    subscriptions = clients.sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    if not any(sub["Endpoint"] == queue_arn for sub in subscriptions):
        clients.sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
