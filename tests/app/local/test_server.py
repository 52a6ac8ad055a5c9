"""The embedded AWS: moto's server with its per-request look-ups cached."""

from __future__ import annotations

import boto3
import pytest
from moto.kinesis import models as kinesis_models

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
