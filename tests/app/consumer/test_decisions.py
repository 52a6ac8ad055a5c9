"""Tests for the decision rule (``app.consumer.decisions``), without AWS."""

from __future__ import annotations

import pytest

from app.consumer.decisions import Blocker, StreamRecord, Verdict, decide, scoring_columns
from app.records import Transaction

THRESHOLD = 0.5


@pytest.fixture
def make_stream_record(make_row):
    counter = iter(range(1, 1_000))

    def factory(**overrides) -> StreamRecord:
        number = next(counter)
        row = make_row(**overrides)
        row.setdefault("tx_id", f"tx-{number}")
        return StreamRecord(Transaction(**row), "shardId-000000000001", f"{number:020d}")

    return factory


def run_rule(records, scores, blocked=frozenset()):
    """``blocked`` lists accounts blocked by some earlier transaction (not one in ``records``)."""
    return decide(
        records,
        scores,
        {account: Blocker("tx-earlier") for account in blocked},
        threshold=THRESHOLD,
        model_version="cb-test",
        received_at=10.0,
        decided_at=11.0,
    )


def test_decide_score_at_the_threshold_is_fraud(make_stream_record) -> None:
    records = [make_stream_record(nameOrig="C1"), make_stream_record(nameOrig="C2")]
    scores = {
        records[0].transaction.tx_id: THRESHOLD,
        records[1].transaction.tx_id: THRESHOLD - 1e-9,
    }

    decisions = run_rule(records, scores)

    assert [d.verdict for d in decisions] == [Verdict.FRAUD, Verdict.NORMAL]


def test_decide_blocked_sender_is_refused_whatever_its_score(make_stream_record) -> None:
    record = make_stream_record(nameOrig="C1")

    decisions = run_rule([record], {record.transaction.tx_id: 0.99}, blocked={"C1"})

    assert [(d.verdict, d.score) for d in decisions] == [(Verdict.REFUSED, None)]


def test_decide_fraud_blocks_later_rows_of_the_sender_in_the_batch(make_stream_record) -> None:
    records = [
        make_stream_record(nameOrig="C1"),
        make_stream_record(nameOrig="C2"),
        make_stream_record(nameOrig="C1"),
    ]
    scores = {r.transaction.tx_id: s for r, s in zip(records, (0.9, 0.1, 0.1), strict=True)}

    decisions = run_rule(records, scores)

    assert [d.verdict for d in decisions] == [Verdict.FRAUD, Verdict.NORMAL, Verdict.REFUSED]


def test_decide_earlier_rows_of_a_sender_are_not_refused(make_stream_record) -> None:
    records = [make_stream_record(nameOrig="C1"), make_stream_record(nameOrig="C1")]
    scores = {r.transaction.tx_id: s for r, s in zip(records, (0.1, 0.9), strict=True)}

    decisions = run_rule(records, scores)

    assert [d.verdict for d in decisions] == [Verdict.NORMAL, Verdict.FRAUD]


def test_decide_decision_carries_its_provenance(make_stream_record) -> None:
    record = make_stream_record(nameOrig="C1", amount=99.5, isFraud=1, sent_at=9.5)

    decision = run_rule([record], {record.transaction.tx_id: 0.1234567891})[0]

    assert decision.to_json_dict() == {
        "tx_id": record.transaction.tx_id,
        "account": "C1",
        "recipient": "M2000000001",
        "amount": 99.5,
        "type": "PAYMENT",
        "step": 18,
        "verdict": Verdict.NORMAL,
        "score": 0.123457,
        "threshold": THRESHOLD,
        "model_version": "cb-test",
        "shard_id": "shardId-000000000001",
        "sequence_number": record.sequence_number,
        "label": 1,
        "sent_at": 9.5,
        "received_at": 10.0,
        "decided_at": 11.0,
        # Only frauds are explained, after the rule (app.consumer.processor).
        "reasons": [],
    }


def test_scoring_columns_leave_the_label_out(make_row) -> None:
    tx = Transaction(**make_row(tx_id="t1", isFraud=1))

    columns = scoring_columns([tx])

    assert set(columns) == {"step", "type", "amount", "oldbalanceOrg", "oldbalanceDest", "nameDest"}


@pytest.mark.parametrize(
    ("blocker", "refused"),
    [
        (Blocker("tx-b", "shardId-000000000001", f"{50:020d}"), [False, False, True]),
        (Blocker("tx-b", "shardId-000000000009", f"{50:020d}"), [True, True, True]),
        (Blocker("tx-b"), [True, True, True]),
    ],
    ids=["blocked-on-this-shard", "blocked-on-another-shard", "blocked-with-no-place"],
)
def test_decide_refuses_what_came_after_the_block(make_stream_record, blocker, refused) -> None:
    # Given transactions of a blocked account before, at and after its blocker's place
    records = [make_stream_record(nameOrig="C1", tx_id=f"tx-{n}") for n in (10, 50, 60)]
    records = [
        StreamRecord(record.transaction, record.shard_id, f"{n:020d}")
        for record, n in zip(records, (10, 50, 60), strict=True)
    ]
    scores = {r.transaction.tx_id: 0.0 for r in records}

    # When the rule runs
    decisions = decide(
        records,
        scores,
        {"C1": blocker},
        threshold=THRESHOLD,
        model_version="cb-test",
        received_at=10.0,
        decided_at=11.0,
    )

    # Then only what the stream delivered after the block (or any, when its place is not
    # known) is refused
    assert [d.verdict is Verdict.REFUSED for d in decisions] == refused
