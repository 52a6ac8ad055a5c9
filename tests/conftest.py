"""Shared fixtures: a hermetic AWS environment, the embedded local AWS, the model, factories.

The embedded AWS (moto's server on 127.0.0.1, a free port) starts once per session; every test
that asks for ``local_aws_env`` gets it reset to an empty state and provisioned afresh, so no
test sees another's stream records, block-list items or queue messages. Every client is pointed
at that endpoint explicitly, and dummy credentials are set for every test, so nothing here can
reach real AWS even if the machine has credentials configured.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from app.aws import AwsClients, is_loopback, make_clients
from app.local.provision import provision
from app.local.server import LocalAws
from app.resources import Resources, inbox_queue_url, resolve
from app.settings import ResourceNames, Settings
from ml.model import FraudModel, load_model
from ml.schema import PAYSIM_COLUMNS
from ml.simulator import simulate_transactions

SHARD_COUNT = 2
_DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "fds-tests",
    "AWS_SECRET_ACCESS_KEY": "fds-tests",
    "AWS_SESSION_TOKEN": "fds-tests",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
#: Variables that would send boto3 elsewhere or change the names FDS derives.
_UNSET = (
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


@pytest.fixture(scope="session", autouse=True)
def _no_real_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Dummy credentials, no endpoint or profile from the machine, no FDS_* overrides.

    Session-wide, so it is in place before any session fixture creates a client.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in _DUMMY_CREDENTIALS.items():
            patch.setenv(name, value)
        for name in _UNSET:
            patch.delenv(name, raising=False)
        for name in [name for name in os.environ if name.startswith("FDS_")]:
            patch.delenv(name)
        # A shared config or credentials file could name a profile with real keys.
        empty = tmp_path_factory.getbasetemp() / "aws-config-empty"
        empty.touch()
        patch.setenv("AWS_CONFIG_FILE", str(empty))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
        yield


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    """The embedded AWS, once per session, on a free loopback port."""
    server = LocalAws(0)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class LocalAwsEnv:
    """A freshly provisioned embedded AWS with the clients and the helpers tests read it with."""

    endpoint_url: str
    settings: Settings
    clients: AwsClients
    resources: Resources

    @property
    def names(self) -> ResourceNames:
        return self.settings.names

    def reset(self) -> None:
        """Forget every resource and record, then provision the empty resources again."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
        assert status == 200, f"reset of {self.endpoint_url} answered {status}"
        provision(self.clients, self.names, SHARD_COUNT)
        self.resources = resolve(self.clients, self.names)

    def with_clients(self, **replaced: Any) -> AwsClients:
        """The clients with some replaced, e.g. by a fault-injecting wrapper."""
        fields = {name: getattr(self.clients, name) for name in AwsClients.__dataclass_fields__}
        return AwsClients(**{**fields, **replaced})

    def stream_records(self) -> list[dict[str, Any]]:
        """Every record on every shard of the stream, shard by shard, each with its ShardId."""
        kinesis, stream = self.clients.kinesis, self.names.stream
        records: list[dict[str, Any]] = []
        for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
            iterator = kinesis.get_shard_iterator(
                StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                response = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
                if not response["Records"]:
                    break
                records.extend({**r, "ShardId": shard["ShardId"]} for r in response["Records"])
                iterator = response.get("NextShardIterator")
        return records

    def drain_queue(self, queue_url: str) -> list[dict[str, Any]]:
        """Receive and delete every message of a queue; return the bodies as JSON."""
        bodies: list[dict[str, Any]] = []
        empty_reads = 0
        while empty_reads < 2:
            messages = self.clients.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            empty_reads = 0 if messages else empty_reads + 1
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                self.clients.sqs.delete_message(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return bodies

    def inbox_alerts(self) -> list[dict[str, Any]]:
        return self.drain_queue(inbox_queue_url(self.clients, self.names))

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.drain_queue(self.resources.dead_letter_url)

    def decision_log_objects(self) -> dict[str, str]:
        """Key and text of every object in the decisions bucket."""
        s3, bucket = self.clients.s3, self.names.decisions_bucket
        objects: dict[str, str] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                objects[item["Key"]] = body.decode()
        return objects

    def decision_log(self) -> list[dict[str, Any]]:
        """Every decision line of every decisions-log object."""
        return [
            json.loads(line)
            for text in self.decision_log_objects().values()
            for line in text.splitlines()
        ]

    def blocklist_item(self, account: str) -> dict[str, Any] | None:
        """The block-list item of an account as the boto3 resource reads it (numbers as Decimal)."""
        resource = _dynamodb_resource(self.endpoint_url, self.clients.region)
        table = resource.Table(self.names.blocklist_table)
        return table.get_item(Key={"account": account}, ConsistentRead=True).get("Item")


@pytest.fixture(scope="session")
def local_settings() -> Settings:
    return Settings(environment="local", region="us-east-1", shard_count=SHARD_COUNT)


@pytest.fixture(scope="session")
def local_clients(local_aws: LocalAws, local_settings: Settings) -> AwsClients:
    """Clients of the embedded AWS; created once, since creating them takes a third of a second."""
    assert is_loopback(local_aws.endpoint_url), f"{local_aws.endpoint_url} is not loopback"
    clients = make_clients(local_settings, local_aws.endpoint_url)
    assert clients.endpoint_url == local_aws.endpoint_url, "clients must use the local endpoint"
    return clients


@functools.cache
def _dynamodb_resource(endpoint_url: str, region: str) -> Any:
    return boto3.resource("dynamodb", endpoint_url=endpoint_url, region_name=region)


@pytest.fixture
def local_aws_env(
    local_aws: LocalAws, local_settings: Settings, local_clients: AwsClients
) -> LocalAwsEnv:
    """The embedded AWS, reset to empty and provisioned with every FDS resource."""
    env = LocalAwsEnv(local_aws.endpoint_url, local_settings, local_clients, resources=None)  # type: ignore[arg-type]
    env.reset()
    return env


@pytest.fixture(scope="session")
def model() -> FraudModel:
    """The model shipped with FDS (ml/models/default, trained on real PaySim rows)."""
    return load_model()


# Factories -------------------------------------------------------------------------------------


@pytest.fixture
def make_row() -> Callable[..., dict[str, Any]]:
    """A valid, legit PaySim row (a small PAYMENT to a merchant); keyword arguments override."""

    def factory(**overrides: Any) -> dict[str, Any]:
        row: dict[str, Any] = {
            "step": 18,
            "type": "PAYMENT",
            "amount": 12.5,
            "nameOrig": "C1000000001",
            "oldbalanceOrg": 5000.0,
            "newbalanceOrig": 4987.5,
            "nameDest": "M2000000001",
            "oldbalanceDest": 0.0,
            "newbalanceDest": 0.0,
            "isFraud": 0,
            "isFlaggedFraud": 0,
        }
        unknown = set(overrides) - set(row) - {"tx_id", "sent_at"}
        assert not unknown, f"make_row got unknown column(s) {unknown}"
        return {**row, **overrides}

    return factory


@pytest.fixture
def make_fraud_row(make_row: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """An account takeover: a TRANSFER of the sender's whole balance to an empty mule."""

    def factory(**overrides: Any) -> dict[str, Any]:
        amount = overrides.get("amount", 18498.8)
        defaults = {
            "step": 4,
            "type": "TRANSFER",
            "amount": amount,
            "nameOrig": "C3000000001",
            "oldbalanceOrg": amount,
            "newbalanceOrig": 0.0,
            "nameDest": "C4000000001",
            "oldbalanceDest": 0.0,
            "newbalanceDest": 0.0,
            "isFraud": 1,
        }
        return make_row(**{**defaults, **overrides})

    return factory


@pytest.fixture
def make_kinesis_record() -> Callable[..., dict[str, Any]]:
    """A record shaped as GetRecords returns it, from a row (JSON-encoded) or from raw bytes."""

    def factory(
        row: dict[str, Any] | None = None,
        *,
        sequence_number: int,
        data: bytes | None = None,
        partition_key: str | None = None,
    ) -> dict[str, Any]:
        if data is None:
            assert row is not None, "give a row or raw data"
            data = json.dumps(row, separators=(",", ":")).encode()
        key = partition_key or (str(row["nameOrig"]) if row else "unknown")
        return {
            "Data": data,
            "SequenceNumber": f"{sequence_number:056d}",
            "PartitionKey": key,
        }

    return factory


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write rows (dicts, or raw text lines written as they are) under a PaySim header."""

    def factory(
        rows: list[dict[str, Any] | str],
        *,
        name: str = "paysim.csv",
        columns: tuple[str, ...] = PAYSIM_COLUMNS,
    ) -> Path:
        path = tmp_path / name
        with path.open("w", newline="") as handle:
            handle.write(",".join(columns) + "\n")
            writer = csv.writer(handle, lineterminator="\n")
            for row in rows:
                if isinstance(row, str):
                    handle.write(row + "\n")
                else:
                    writer.writerow([row[column] for column in columns])
        return path

    return factory


@pytest.fixture
def synthetic_csv(write_csv: Callable[..., Path]) -> Callable[..., Path]:
    """A CSV of simulated PaySim rows (500 legit rows in a mean step, so a few thousand rows
    span many steps), optionally with a weights column."""

    def factory(
        rows: int = 3000,
        *,
        seed: int = 11,
        fraud_rate: float = 0.05,
        name: str = "synthetic.csv",
        weight: Callable[[dict[str, Any]], float] | None = None,
    ) -> Path:
        generated = list(
            simulate_transactions(seed=seed, fraud_rate=fraud_rate, rows=rows, rows_per_step=500)
        )
        columns = PAYSIM_COLUMNS
        if weight is not None:
            columns = (*PAYSIM_COLUMNS, "sample_weight")
            generated = [{**row, "sample_weight": weight(row)} for row in generated]
        return write_csv(generated, name=name, columns=columns)

    return factory


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll until ``condition`` holds; fail naming ``what`` if it does not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def poll() -> Callable[..., None]:
    """``wait_until`` as a fixture, for test modules (which cannot import this conftest)."""
    return wait_until


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo what ``configure_logging`` (run by in-process CLI commands) does to the loggers."""
    names = ("", "fds.decisions", "werkzeug", "botocore")
    saved = {
        name: (
            list(logging.getLogger(name).handlers),
            logging.getLogger(name).level,
            logging.getLogger(name).propagate,
        )
        for name in names
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


class FaultyClient:
    """A boto3 client whose ``method`` fails on the calls ``fails`` picks (numbered from 1)
    with an AWS error of ``code``, as the service would; everything else is passed on."""

    def __init__(
        self, client: Any, method: str, fails: Callable[[int], bool], code: str = "Throttling"
    ) -> None:
        self._client = client
        self._method = method
        self._fails = fails
        self._code = code
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name != self._method:
            return real

        def call(**kwargs: Any) -> Any:
            self.calls += 1
            if self._fails(self.calls):
                raise ClientError({"Error": {"Code": self._code, "Message": "injected"}}, name)
            return real(**kwargs)

        return call


@pytest.fixture
def faulty() -> type[FaultyClient]:
    """``FaultyClient``, for test modules: ``faulty(sns, "publish_batch", lambda n: n == 2)``."""
    return FaultyClient
