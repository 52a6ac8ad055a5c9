"""Tests that every decision of the consumer names the model that made it, in its log line.

The effects are real, on the local AWS.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from app.consumer.effects import Effects
from app.consumer.processor import BatchProcessor
from app.consumer.stats import ConsumerStats

SHARD = "shardId-000000000000"


@pytest.fixture
def processor(local_aws_env, model):
    made = BatchProcessor(
        model, Effects(local_aws_env.clients, local_aws_env.resources), ConsumerStats()
    )
    yield made
    made.close()


def _batch(make_kinesis_record, rows: list[dict[str, Any]], first: int) -> list[dict[str, Any]]:
    return [make_kinesis_record(row, sequence_number=first + i) for i, row in enumerate(rows)]


def test_consumer_logs_the_model_version_with_every_decision(
    processor, model, make_kinesis_record, make_fraud_row, make_row, caplog, monkeypatch
) -> None:
    # Given the decision logger reaching the capture, and a fraud, a payment and a refusal
    monkeypatch.setattr(logging.getLogger("fds.decisions"), "propagate", True)
    rows = [
        make_fraud_row(tx_id="tx-1", nameOrig="C77", amount=5000.0),
        make_row(tx_id="tx-2", nameOrig="C78"),
        make_row(tx_id="tx-3", nameOrig="C77"),
    ]

    # When the batch is processed
    with caplog.at_level(logging.INFO, logger="fds.decisions"):
        processor.process(SHARD, _batch(make_kinesis_record, rows, 1))

    # Then every decision line carries the version of the model that decided
    lines = [r for r in caplog.records if r.name == "fds.decisions"]
    assert {r.decision["tx_id"] for r in lines} == {"tx-1", "tx-2", "tx-3"}  # type: ignore[attr-defined]
    for record in lines:
        decided = record.decision  # type: ignore[attr-defined]
        assert decided["model_version"] == model.version, f"{record.getMessage()}: {decided}"
