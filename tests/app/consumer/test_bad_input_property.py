"""Property: however bad the records around them, good records are decided and bad ones are set
aside with their reason, shard and place, and counted, without stopping the batch.

Thousands of generated bad records go through the real processor and the local AWS: invalid
JSON and binary, non-objects, missing, extra and mistyped fields, NaN and infinities, negative
and sub-cent amounts, unknown transaction types in any spelling, malformed account ids,
oversized payloads and repeated transaction ids.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.consumer.effects import Effects
from app.consumer.processor import BatchProcessor
from app.consumer.stats import ConsumerStats
from app.records import MAX_RECORD_BYTES
from ml.schema import TRANSACTION_TYPES

SHARD = "shardId-000000000001"
REQUIRED = (
    "tx_id",
    "step",
    "type",
    "amount",
    "nameOrig",
    "oldbalanceOrg",
    "nameDest",
    "oldbalanceDest",
)


def good_row(index: int) -> dict[str, Any]:
    return {
        "tx_id": f"good-{index}",
        "step": 18,
        "type": "PAYMENT",
        "amount": 12.5 + index,
        "nameOrig": f"C{1_000_000 + index}",
        "oldbalanceOrg": 5000.0,
        "nameDest": f"M{2_000_000 + index}",
        "oldbalanceDest": 0.0,
    }


def _unknown_type(text: str) -> bool:
    return text.strip().upper() not in TRANSACTION_TYPES


mistyped_values = st.one_of(
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.booleans(),
    st.none(),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)

# Each strategy turns a good row (by index) into the bytes of a bad record.
bad_payloads = st.one_of(
    st.binary(min_size=0, max_size=64).filter(lambda b: not _is_json_object(b)),
    st.sampled_from([b"[]", b"42", b'"text"', b"null", b"{", b'{"tx_id": ']),
    st.tuples(st.integers(0, 10**6), st.sampled_from(REQUIRED)).map(
        lambda t: _encode({k: v for k, v in good_row(t[0]).items() if k != t[1]})
    ),
    st.tuples(st.integers(0, 10**6), st.text(min_size=1, max_size=8))
    .filter(
        lambda t: (
            t[1] not in good_row(0)
            and t[1]
            not in ("newbalanceOrig", "newbalanceDest", "isFraud", "isFlaggedFraud", "sent_at")
        )
    )
    .map(lambda t: _encode({**good_row(t[0]), t[1]: 1})),
    st.tuples(st.integers(0, 10**6), st.sampled_from(REQUIRED), mistyped_values)
    .filter(
        lambda t: (
            not (t[1] == "type" and isinstance(t[2], str) and not _unknown_type(t[2]))
            and not (t[1] == "tx_id" and isinstance(t[2], str))
        )
    )
    .map(lambda t: _encode({**good_row(t[0]), t[1]: t[2]})),
    st.tuples(
        st.integers(0, 10**6),
        st.sampled_from(["amount", "oldbalanceOrg", "oldbalanceDest"]),
        st.sampled_from([math.nan, math.inf, -math.inf, -0.01, -1e9, 0.001, 1e-200]),
    ).map(lambda t: _encode({**good_row(t[0]), t[1]: t[2]})),
    st.tuples(st.integers(0, 10**6), st.text(max_size=12).filter(_unknown_type)).map(
        lambda t: _encode({**good_row(t[0]), "type": t[1]})
    ),
    st.tuples(
        st.integers(0, 10**6),
        st.sampled_from(["nameOrig", "nameDest"]),
        st.sampled_from(["", "X123", "C", "c123", "C12 3", "M" * 30, "C" + "9" * 25]),
    )
    .filter(
        lambda t: (
            not (
                t[1] == "nameDest" and t[2].startswith("M") and len(t[2]) > 1 and t[2][1:].isdigit()
            )
        )
    )
    .map(lambda t: _encode({**good_row(t[0]), t[1]: t[2]})),
    st.integers(0, 10**6).map(
        lambda i: _encode({**good_row(i), "tx_id": f"big-{i}", "pad": "x" * MAX_RECORD_BYTES})
    ),
)


def _encode(row: dict[str, Any]) -> bytes:
    return json.dumps(row).encode()  # allow_nan: NaN and Infinity reach the consumer as such


def _is_json_object(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data), dict)
    except (ValueError, UnicodeDecodeError):
        return False


_BATCH_IDS = itertools.count(1)


@pytest.fixture
def processor(local_aws_env, model):
    made = BatchProcessor(
        model,
        Effects(local_aws_env.clients, local_aws_env.resources),
        ConsumerStats(),
        effect_threads=2,
    )
    yield made
    made.close()


def drain_dead_letters(env) -> list[dict[str, Any]]:
    sqs, url = env.clients.sqs, env.resources.dead_letter_url
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies.extend(json.loads(m["Body"]) for m in messages)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
    return bodies


@settings(
    max_examples=150,  # about 3,000 bad records in all
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    bad=st.lists(bad_payloads, min_size=1, max_size=40),
    good_count=st.integers(1, 8),
    repeats=st.integers(0, 2),
    layout=st.randoms(use_true_random=False),
)
def test_bad_records_are_set_aside_and_the_good_ones_decided(
    local_aws_env, processor, bad, good_count, repeats, layout
) -> None:
    # Unique per example, even when hypothesis replays one: the processor is shared between
    # examples and remembers the transaction ids it saw, as a consumer does.
    batch_id = next(_BATCH_IDS)
    good = [_encode({**good_row(i), "tx_id": f"good-{batch_id}-{i}"}) for i in range(good_count)]
    # A repeated transaction id inside a batch is bad too (the first one stands).
    bad = bad + good[:repeats]
    payloads = [("good", p) for p in good] + [("bad", p) for p in bad]
    layout.shuffle(payloads)
    # Keep each good record ahead of its own repeat, so the repeat is the one set aside.
    first_seen: set[bytes] = set()
    ordered = []
    for kind, payload in payloads:
        if payload in good and payload not in first_seen:
            first_seen.add(payload)
            ordered.append(("good", payload))
        else:
            ordered.append(("bad" if payload in first_seen or kind == "bad" else kind, payload))
    records = [
        {"Data": payload, "SequenceNumber": f"{batch_id:030d}{n:026d}", "PartitionKey": "k"}
        for n, (_, payload) in enumerate(ordered)
    ]
    bad_places = {
        r["SequenceNumber"] for r, (kind, _) in zip(records, ordered, strict=True) if kind == "bad"
    }
    before = processor._stats.metrics.dead_letters._value.get()

    decisions = processor.process(SHARD, records)

    assert sorted(d.tx_id for d in decisions) == sorted(
        f"good-{batch_id}-{i}" for i in range(good_count)
    )
    letters = drain_dead_letters(local_aws_env)
    assert {letter["sequence_number"] for letter in letters} == bad_places
    assert len(letters) == len(bad_places)
    assert all(letter["reason"] and letter["shard_id"] == SHARD for letter in letters)
    assert processor._stats.metrics.dead_letters._value.get() - before == len(bad_places)
