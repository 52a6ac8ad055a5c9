"""The embedded AWS: moto's server with its per-request look-ups cached."""

from __future__ import annotations

import boto3
import botocore.exceptions
import pytest
from moto.kinesis import models as kinesis_models
from moto.sqs import models as sqs_models

from app.local.server import LocalAws, speed_up_request_dispatch


@pytest.fixture
def shard():
    speed_up_request_dispatch()
    shard = kinesis_models.Shard(0, 0, 2**128)
    for number in range(60):
        shard.put_record(f"C{number}", "ZGF0YQ==", "")
    return shard


def test_indexed_get_records_equals_moto_scan_from_every_position(shard) -> None:
    scan = kinesis_models.Shard.get_records.moto_scan
    for after in range(0, 62):
        for limit in (1, 7, 1000, None):
            fast = shard.get_records(str(after), limit)
            slow = scan(shard, str(after), limit)
            assert [r.sequence_number for r in fast[0]] == [r.sequence_number for r in slow[0]], (
                f"records after {after} with limit {limit} differ from moto's scan"
            )
            assert fast[1] == slow[1], f"next position after {after}/{limit} differs"


def test_indexed_get_records_falls_back_to_scan_when_numbers_have_gaps(shard) -> None:
    # Given a shard whose sequence numbers are no longer consecutive (as after a merge)
    del shard.records[10], shard.records[11]

    # When reading after number 9
    found, position, _ = shard.get_records("9", 3)

    # Then the gap is skipped as moto's own scan would
    assert [r.sequence_number for r in found] == [12, 13, 14]
    assert position == 14


@pytest.mark.parametrize("age_seconds", [0, 59, 61, 3600])
def test_sqs_retention_check_agrees_with_moto(age_seconds: int) -> None:
    # Given a queue that keeps messages for a minute, and a message of some age
    speed_up_request_dispatch()
    backend = sqs_models.SQSBackend("us-east-1", "123456789012")
    backend.create_queue("inbox", MessageRetentionPeriod="60")
    message = backend.send_message("inbox", "body")
    message.sent_timestamp -= age_seconds * 1000

    # When both checks judge it, Then they agree
    check = sqs_models.SQSBackend.is_message_valid_based_on_retention_period
    fast = check(backend, "inbox", message)
    slow = check.moto_check(backend, "inbox", message)
    assert fast == slow == (age_seconds < 60), f"{age_seconds}s old: fast {fast}, moto {slow}"


def test_newest_and_oldest_sequence_numbers(shard) -> None:
    assert shard.get_max_sequence_number() == 60
    assert shard.get_min_sequence_number() == 1


def test_local_aws_serves_on_a_free_loopback_port() -> None:
    with LocalAws(0) as aws:
        assert aws.endpoint_url.startswith("http://127.0.0.1:"), aws.endpoint_url
        client = boto3.client(
            "dynamodb",
            endpoint_url=aws.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        client.create_table(
            TableName="served-table",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        # moto keeps its state per process, so other tests' tables may be listed too.
        assert "served-table" in client.list_tables()["TableNames"]


def _client(service: str, aws: LocalAws):
    return boto3.client(
        service,
        endpoint_url=aws.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_one_client_reuses_one_connection_for_many_calls() -> None:
    with LocalAws(0) as aws:
        sqs = _client("sqs", aws)
        queue_url = sqs.create_queue(QueueName="kept-alive")["QueueUrl"]
        for number in range(20):
            sqs.send_message(QueueUrl=queue_url, MessageBody=f"message {number}")
        assert aws.connections_opened == 1
        assert (
            sqs.get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
            == "20"
        )


def test_a_body_the_server_refuses_unread_does_not_spill_into_the_next_request() -> None:
    with LocalAws(0) as aws:
        s3 = _client("s3", aws)
        with pytest.raises(s3.exceptions.NoSuchBucket):
            s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"x" * 200_000)
        s3.create_bucket(Bucket="spill-check")
        s3.put_object(Bucket="spill-check", Key="k", Body=b"payload")
        assert s3.get_object(Bucket="spill-check", Key="k")["Body"].read() == b"payload"
        assert aws.connections_opened == 1


def test_a_stopped_server_stops_answering_kept_alive_clients() -> None:
    aws = LocalAws(0)
    sqs = _client("sqs", aws)
    sqs.list_queues()
    aws.stop()
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        sqs.list_queues()


def test_a_taken_port_is_refused_at_once() -> None:
    with LocalAws(0) as aws, pytest.raises(OSError):
        LocalAws(aws.port)
