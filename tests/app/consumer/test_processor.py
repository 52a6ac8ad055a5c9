"""Tests for processing one batch of stream records (``app.consumer.processor``).

The effects are real: block list in DynamoDB, alerts through SNS into the inbox queue, the
decisions log in S3 and dead letters in SQS, all on the local AWS.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from itertools import islice
from typing import Any

import pytest
from botocore.exceptions import ClientError

from app.consumer.decisions import Verdict
from app.consumer.effects import Effects
from app.consumer.processor import BatchProcessor, RecentIds
from app.consumer.stats import ConsumerStats
from app.errors import InvalidRecordError
from ml import explain as explain_module
from ml.simulator import simulate_transactions

SHARD = "shardId-000000000000"


class SettledBatchProcessor(BatchProcessor):
    """Waits for each batch's alerts, so that a test can read the inbox right after."""

    def process(self, shard_id, records):
        decisions = super().process(shard_id, records)
        assert self.settle(shard_id), "alerts of the batch were not published"
        return decisions


@pytest.fixture
def make_processor(local_aws_env, model):
    """A BatchProcessor with real effects on the local AWS (optionally other clients)."""

    made: list[BatchProcessor] = []

    def factory(clients=None, settled=True) -> BatchProcessor:
        effects = Effects(clients or local_aws_env.clients, local_aws_env.resources)
        kind = SettledBatchProcessor if settled else BatchProcessor
        made.append(kind(model, effects, ConsumerStats(), effect_threads=2))
        return made[-1]

    yield factory
    for processor in made:
        processor.close()


@pytest.fixture
def make_batch(make_kinesis_record):
    """Kinesis records of rows, with increasing sequence numbers from ``first``."""

    def factory(rows: list[dict[str, Any]], first: int = 1) -> list[dict[str, Any]]:
        return [make_kinesis_record(row, sequence_number=first + i) for i, row in enumerate(rows)]

    return factory


def verdicts(decisions) -> dict[str, Verdict]:
    return {d.tx_id: d.verdict for d in decisions}


def test_batch_processor_fraud_blocks_the_sender_alerts_and_logs(
    local_aws_env, make_processor, make_batch, make_fraud_row, make_row, model
) -> None:
    # Given a takeover transfer of 18498.8 and a normal payment
    fraud = make_fraud_row(tx_id="tx-fraud", nameOrig="C3000000001", amount=18498.8)
    normal = make_row(tx_id="tx-normal", nameOrig="C1000000001")
    records = make_batch([fraud, normal], first=7)

    # When the batch is processed
    decisions = make_processor().process(SHARD, records)

    # Then the takeover is fraud and the payment normal
    assert verdicts(decisions) == {"tx-fraud": Verdict.FRAUD, "tx-normal": Verdict.NORMAL}
    fraud_decision = decisions[0]
    assert fraud_decision.score is not None and fraud_decision.score >= model.threshold

    # And the sender is on the block list, the amount stored as the exact DynamoDB number
    item = local_aws_env.blocklist_item("C3000000001")
    assert item is not None, "C3000000001 is not on the block list"
    assert item["amount"] == Decimal("18498.8"), f"amount stored as {item['amount']!r}"
    assert item["tx_id"] == "tx-fraud"
    assert item["score"] == Decimal(repr(fraud_decision.score)), f"score {item['score']!r}"
    assert item["model_version"] == model.version
    assert local_aws_env.blocklist_item("C1000000001") is None, "the payer must not be blocked"

    # And exactly one alert reached the inbox, raw JSON naming the transaction and why
    alerts = local_aws_env.inbox_alerts()
    assert len(alerts) == 1, f"inbox holds {alerts}"
    alert = alerts[0]
    assert alert["tx_id"] == "tx-fraud" and alert["account"] == "C3000000001"
    assert alert["score"] == fraud_decision.score
    assert "threshold" in alert["reason"] and "C3000000001" in alert["reason"], alert["reason"]

    # And the decisions log holds one object with one JSON line per decision, in stream order
    objects = local_aws_env.decision_log_objects()
    key = f"decisions/{SHARD}/{records[0]['SequenceNumber']}.jsonl"
    assert list(objects) == [key], f"decisions bucket holds {list(objects)}"
    logged = local_aws_env.decision_log()
    assert [(d["tx_id"], d["verdict"]) for d in logged] == [
        ("tx-fraud", "fraud"),
        ("tx-normal", "normal"),
    ]
    assert logged[0]["sequence_number"] == records[0]["SequenceNumber"]
    assert logged[0]["shard_id"] == SHARD and logged[0]["label"] == 1


def test_batch_processor_later_row_of_a_blocked_sender_is_refused(
    local_aws_env, make_processor, make_batch, make_fraud_row, make_row
) -> None:
    # Given a sender blocked by an earlier batch
    processor = make_processor()
    processor.process(SHARD, make_batch([make_fraud_row(tx_id="tx-1", nameOrig="C55")]))
    assert len(local_aws_env.inbox_alerts()) == 1

    # When the same sender makes a harmless-looking payment in a later batch
    later = make_row(tx_id="tx-2", nameOrig="C55")
    decisions = processor.process(SHARD, make_batch([later], first=2))

    # Then it is refused without a score, and nobody is alerted again
    assert [(d.tx_id, d.verdict, d.score) for d in decisions] == [("tx-2", Verdict.REFUSED, None)]
    assert local_aws_env.inbox_alerts() == [], "a refusal must not alert again"
    item = local_aws_env.blocklist_item("C55")
    assert item is not None and item["tx_id"] == "tx-1", f"block item changed: {item}"


def test_batch_processor_later_row_of_a_sender_blocked_in_the_same_batch_is_refused(
    local_aws_env, make_processor, make_batch, make_fraud_row
) -> None:
    # Given a takeover and a second drain by the same sender in one batch
    rows = [
        make_fraud_row(tx_id="tx-1", nameOrig="C56"),
        make_fraud_row(tx_id="tx-2", nameOrig="C56", amount=999.0),
    ]

    # When processed
    decisions = make_processor().process(SHARD, make_batch(rows))

    # Then the first is fraud, the second refused, and one alert goes out
    assert [(d.verdict, d.score is None) for d in decisions] == [
        (Verdict.FRAUD, False),
        (Verdict.REFUSED, True),
    ]
    assert [a["tx_id"] for a in local_aws_env.inbox_alerts()] == ["tx-1"]


def test_batch_processor_normal_row_is_normal_with_no_effect_but_the_log(
    local_aws_env, make_processor, make_batch, make_row, model
) -> None:
    decisions = make_processor().process(SHARD, make_batch([make_row(tx_id="tx-n")]))

    assert [(d.tx_id, d.verdict) for d in decisions] == [("tx-n", Verdict.NORMAL)]
    assert decisions[0].score is not None and decisions[0].score < model.threshold
    assert local_aws_env.blocklist_item("C1000000001") is None
    assert local_aws_env.inbox_alerts() == []
    assert [d["tx_id"] for d in local_aws_env.decision_log()] == ["tx-n"]


def test_batch_processor_never_uses_the_label(local_aws_env, make_processor, make_batch) -> None:
    # Given 150 simulated rows (takeovers, retries by blocked senders, legit rows)
    rows = [
        {**row, "tx_id": f"tx-{i}"}
        for i, row in enumerate(
            islice(simulate_transactions(seed=9, fraud_rate=0.1, retry_share=0.5), 150)
        )
    ]

    def outcome(batch_rows: list[dict[str, Any]]) -> list[tuple[str, str, float | None]]:
        local_aws_env.reset()
        decisions = make_processor().process(SHARD, make_batch(batch_rows))
        return [(d.tx_id, d.verdict.value, d.score) for d in decisions]

    # When they are processed as they are, with every label flipped, and with no label at all
    as_labelled = outcome(rows)
    flipped = outcome([{**row, "isFraud": 1 - row["isFraud"]} for row in rows])
    unlabelled = outcome([{k: v for k, v in row.items() if k != "isFraud"} for row in rows])

    # Then the verdicts and scores are identical
    assert {v for _, v, _ in as_labelled} == {"fraud", "normal", "refused"}, "need every verdict"
    assert flipped == as_labelled, "flipping isFraud changed a decision"
    assert unlabelled == as_labelled, "removing isFraud changed a decision"


def test_batch_processor_sets_malformed_records_aside_and_decides_the_rest(
    local_aws_env, make_processor, make_kinesis_record, make_row
) -> None:
    # Given good records around bad JSON, binary bytes, an unknown type and a repeated tx_id
    records = [
        make_kinesis_record(make_row(tx_id="good-1", nameOrig="C1"), sequence_number=1),
        make_kinesis_record(data=b'{"tx_id": "broken', sequence_number=2, partition_key="C2"),
        make_kinesis_record(make_row(tx_id="good-2", nameOrig="C3"), sequence_number=3),
        make_kinesis_record(make_row(tx_id="bad-type", type="CASH-OUT"), sequence_number=4),
        make_kinesis_record(data=b"\x89PNG\xff\x00", sequence_number=5, partition_key="C5"),
        make_kinesis_record(make_row(tx_id="good-1", nameOrig="C6"), sequence_number=6),
        make_kinesis_record(make_row(tx_id="good-3", nameOrig="C7"), sequence_number=7),
    ]
    processor = make_processor()

    # When the batch is processed
    decisions = processor.process(SHARD, records)

    # Then the good records are decided
    assert [d.tx_id for d in decisions] == ["good-1", "good-2", "good-3"]

    # And each bad one is in the dead-letter queue with its reason and place on the stream
    letters = {letter["sequence_number"]: letter for letter in local_aws_env.dead_letters()}
    expected = {
        records[1]["SequenceNumber"]: "Invalid JSON",
        records[3]["SequenceNumber"]: "type:",
        records[4]["SequenceNumber"]: "Invalid JSON",
        records[5]["SequenceNumber"]: "duplicate transaction id good-1",
    }
    assert set(letters) == set(expected), f"dead letters at {sorted(letters)}"
    for sequence_number, reason in expected.items():
        letter = letters[sequence_number]
        assert reason in letter["reason"], f"dead letter {sequence_number}: {letter['reason']}"
        assert letter["shard_id"] == SHARD, f"dead letter {sequence_number}: {letter}"
    binary = letters[records[4]["SequenceNumber"]]
    assert binary["payload_encoding"] == "base64" and binary["partition_key"] == "C5"
    assert letters[records[3]["SequenceNumber"]]["payload_encoding"] == "utf-8"

    # And the statistics count both
    assert processor._stats.decisions == 3 and processor._stats.dead_lettered == 4


def test_batch_processor_sets_aside_a_transaction_id_repeated_in_a_later_batch(
    local_aws_env, make_processor, make_batch, make_row
) -> None:
    # Given a transaction decided in one batch
    processor = make_processor()
    first = make_batch([make_row(tx_id="tx-twice", nameOrig="C71")], first=1)
    assert [d.tx_id for d in processor.process(SHARD, first)] == ["tx-twice"]

    # When a later batch holds a copy at another place (a producer's retried send), and the
    # first batch is then read again at its own place (a replay)
    later = make_batch([make_row(tx_id="tx-twice", nameOrig="C71")], first=50)
    copy = processor.process(SHARD, later)
    replay = processor.process(SHARD, first)

    # Then the copy is set aside naming where the transaction first came, and the replay is
    # decided again
    assert copy == []
    [letter] = local_aws_env.dead_letters()
    assert letter["sequence_number"] == later[0]["SequenceNumber"]
    assert letter["reason"] == (
        f"duplicate transaction id tx-twice: first delivered at sequence number "
        f"{first[0]['SequenceNumber']}"
    )
    assert [d.tx_id for d in replay] == ["tx-twice"]


def test_recent_ids_forget_the_oldest_beyond_their_window() -> None:
    # Given a window of two ids
    recent = RecentIds(size=2)
    for tx_id, place in [("a", "1"), ("b", "2"), ("c", "3")]:
        recent.check(tx_id, place)

    # When the oldest comes again elsewhere it is no longer known; a recent one is
    recent.check("a", "9")
    with pytest.raises(InvalidRecordError, match="duplicate transaction id c"):
        recent.check("c", "10")


def test_batch_processor_logs_each_decision(
    make_processor, make_batch, make_fraud_row, make_row, caplog, monkeypatch
) -> None:
    # Given the decision logger reaching the capture (the CLI may have cut it off)
    monkeypatch.setattr(logging.getLogger("fds.decisions"), "propagate", True)
    rows = [
        make_fraud_row(tx_id="tx-1", nameOrig="C77", amount=5000.0),
        make_row(tx_id="tx-2", nameOrig="C78", amount=12.5),
        make_row(tx_id="tx-3", nameOrig="C77"),
    ]

    # When a batch with a fraud, a normal payment and a refusal is processed
    with caplog.at_level(logging.INFO, logger="fds.decisions"):
        make_processor().process(SHARD, make_batch(rows))

    # Then each has its line, with the structured decision attached
    lines = [r.getMessage() for r in caplog.records if r.name == "fds.decisions"]
    assert any(line.startswith("🚨 FRAUD DETECTED: 5000.00 C77") for line in lines), lines
    assert "🚫 BLOCKED: C77" in lines, lines
    assert "✅ NORMAL: 12.50" in lines, lines
    assert "⛔ REFUSED: C77 is blocked" in lines, lines
    fraud_record = next(r for r in caplog.records if r.getMessage().startswith("🚨"))
    assert fraud_record.decision["tx_id"] == "tx-1"  # type: ignore[attr-defined]


def test_batch_processor_batch_of_only_blocked_senders_scores_nothing(
    local_aws_env, make_processor, make_batch, make_fraud_row, make_row
) -> None:
    processor = make_processor()
    processor.process(SHARD, make_batch([make_fraud_row(tx_id="tx-1", nameOrig="C9")]))

    decisions = processor.process(SHARD, make_batch([make_row(tx_id="tx-2", nameOrig="C9")], 5))

    assert [(d.verdict, d.score) for d in decisions] == [(Verdict.REFUSED, None)]


def test_batch_processor_empty_batch_has_no_effect(local_aws_env, make_processor) -> None:
    assert make_processor().process(SHARD, []) == []
    assert local_aws_env.decision_log_objects() == {}


def test_batch_processor_replayed_batch_keeps_its_decisions(
    local_aws_env, make_processor, make_batch, make_fraud_row
) -> None:
    # Given a batch with a takeover, processed once
    records = make_batch([make_fraud_row(tx_id="tx-1", nameOrig="C61")])
    first = make_processor().process(SHARD, records)
    assert [d.verdict for d in first] == [Verdict.FRAUD]

    # When the same batch is delivered again (a new consumer resumes before it)
    again = make_processor().process(SHARD, records)

    # Then the decision is the same, the log still records the fraud, and the operators
    # were alerted once: the block-list entry knows its alert went out
    assert [(d.verdict, d.score) for d in again] == [(d.verdict, d.score) for d in first]
    assert [d["verdict"] for d in local_aws_env.decision_log()] == ["fraud"]
    assert [a["tx_id"] for a in local_aws_env.inbox_alerts()] == ["tx-1"]


def test_batch_processor_replay_keeps_an_earlier_normal_of_an_account_blocked_later(
    local_aws_env, make_processor, make_batch, make_fraud_row, make_row
) -> None:
    # Given a payment and then a takeover by the same account, decided once
    records = make_batch(
        [
            make_row(tx_id="tx-early", nameOrig="C65"),
            make_fraud_row(tx_id="tx-fraud", nameOrig="C65"),
            make_row(tx_id="tx-late", nameOrig="C65"),
        ]
    )
    first = make_processor().process(SHARD, records)
    assert verdicts(first) == {
        "tx-early": Verdict.NORMAL,
        "tx-fraud": Verdict.FRAUD,
        "tx-late": Verdict.REFUSED,
    }

    # When the batch is read again, the account now on the block list
    again = make_processor().process(SHARD, records)

    # Then every decision is what it was: the payment before the block stays normal
    assert verdicts(again) == verdicts(first)
    logged = {d["tx_id"]: d["verdict"] for d in local_aws_env.decision_log()}
    assert logged == {"tx-early": "normal", "tx-fraud": "fraud", "tx-late": "refused"}


def test_batch_processor_replay_sends_an_alert_a_crash_left_unsent(
    local_aws_env, make_processor, make_batch, make_fraud_row, faulty
) -> None:
    # Given a batch whose consumer blocked the sender but died before alerting
    records = make_batch([make_fraud_row(tx_id="tx-1", nameOrig="C64")])
    dying = make_processor(
        local_aws_env.with_clients(sns=faulty(local_aws_env.clients.sns, "publish_batch", bool)),
        settled=False,
    )
    dying.process(SHARD, records)
    dying.close()
    assert local_aws_env.inbox_alerts() == []

    # When the batch is read again by the next consumer
    make_processor().process(SHARD, records)

    # Then the alert goes out, once
    assert [a["tx_id"] for a in local_aws_env.inbox_alerts()] == ["tx-1"]

    # And a third reading sends none: the ledger knows it went out
    make_processor().process(SHARD, records)
    assert [a["tx_id"] for a in local_aws_env.inbox_alerts()] == [], "alerted a second time"


@pytest.mark.parametrize(
    "replay_cuts",
    [[9], [2, 7], [5, 4], [1, 1, 1, 1, 1, 1, 1, 1, 1]],
    ids=["one-batch", "shorter-first", "across-a-start", "one-by-one"],
)
def test_batch_processor_replay_after_a_crash_logs_each_decision_once(
    local_aws_env, make_processor, make_batch, make_row, replay_cuts
) -> None:
    # Given three batches logged by a consumer that died before saving its place
    rows = [make_row(tx_id=f"tx-{i}", nameOrig=f"C7{i}") for i in range(9)]
    records = make_batch(rows)
    dead = make_processor()
    for start in (0, 3, 6):
        dead.process(SHARD, records[start : start + 3])

    # When the next consumer aligns with the log and reads them again, cut differently
    replay = make_processor()
    replay.align_with_log(SHARD, after=None)
    position = 0
    for size in replay_cuts:
        replay.process(SHARD, records[position : position + size])
        position += size

    # Then every transaction is in the log exactly once
    logged = [d["tx_id"] for d in local_aws_env.decision_log()]
    assert sorted(logged) == sorted(row["tx_id"] for row in rows), logged


def test_align_with_log_only_counts_batches_after_the_saved_place(
    local_aws_env, make_processor, make_batch, make_row
) -> None:
    records = make_batch([make_row(tx_id=f"tx-{i}", nameOrig=f"C8{i}") for i in range(4)])
    processor = make_processor()
    processor.process(SHARD, records[:2])
    processor.process(SHARD, records[2:])
    effects = Effects(local_aws_env.clients, local_aws_env.resources)

    assert effects.logged_batch_starts(SHARD, after=None) == [1, 3]
    assert effects.logged_batch_starts(SHARD, after=records[1]["SequenceNumber"]) == [3]
    assert effects.logged_batch_starts(SHARD, after=records[3]["SequenceNumber"]) == []


def test_batch_processor_failed_alert_is_retried_in_the_background(
    local_aws_env, make_processor, make_batch, make_fraud_row, faulty
) -> None:
    # Given an alert topic that fails once
    sns = faulty(local_aws_env.clients.sns, "publish_batch", lambda n: n == 1, "InternalError")
    processor = make_processor(local_aws_env.with_clients(sns=sns), settled=False)

    # When a batch with a takeover is processed, the decision is durable at once
    decisions = processor.process(SHARD, make_batch([make_fraud_row(tx_id="tx-1", nameOrig="C62")]))
    assert verdicts(decisions) == {"tx-1": Verdict.FRAUD}
    assert local_aws_env.blocklist_item("C62") is not None, "C62 must be blocked before alerting"

    # Then the alert is published on a second try, once, before the shard's place may move
    assert processor.settle(SHARD) is True
    assert sns.calls == 2, f"{sns.calls} publish calls"
    assert [a["tx_id"] for a in local_aws_env.inbox_alerts()] == ["tx-1"]


def test_batch_processor_unpublished_alert_holds_the_shard_place(
    local_aws_env, make_processor, make_batch, make_fraud_row, faulty
) -> None:
    # Given an alert topic that keeps failing
    sns = faulty(local_aws_env.clients.sns, "publish_batch", bool, "InternalError")
    processor = make_processor(local_aws_env.with_clients(sns=sns), settled=False)
    processor.process(SHARD, make_batch([make_fraud_row(tx_id="tx-1", nameOrig="C63")]))

    # When the consumer closes with the alert still out
    processor.close()

    # Then the shard is not settled, so its place stays before that batch
    assert processor.settle(SHARD) is False
    assert local_aws_env.inbox_alerts() == []


def test_batch_processor_retried_batch_sends_and_counts_its_dead_letters_once(
    local_aws_env, make_processor, make_kinesis_record, make_row, faulty
) -> None:
    # Given a batch with a bad record whose decisions log write fails the first time
    s3 = faulty(local_aws_env.clients.s3, "put_object", lambda n: n == 1, "InternalError")
    processor = make_processor(local_aws_env.with_clients(s3=s3))
    records = [
        make_kinesis_record(make_row(tx_id="ok-1", nameOrig="C81"), sequence_number=1),
        make_kinesis_record(data=b"not json", sequence_number=2, partition_key="C82"),
    ]

    # When the batch fails and is tried again, as the shard reader does
    with pytest.raises(ClientError):
        processor.process(SHARD, records)
    decisions = processor.process(SHARD, records)

    # Then it is decided, its bad record is in the dead-letter queue once, and counted once
    assert [d.tx_id for d in decisions] == ["ok-1"]
    assert [letter["sequence_number"] for letter in local_aws_env.dead_letters()] == [
        records[1]["SequenceNumber"]
    ]
    assert processor._stats.dead_lettered == 1


@pytest.fixture
def shap_calls(monkeypatch) -> list[int]:
    """The row count of every computation of SHAP values while the test runs."""
    calls: list[int] = []
    real = explain_module.shap_values

    def counting(model, rows):
        calls.append(len(rows))
        return real(model, rows)

    monkeypatch.setattr(explain_module, "shap_values", counting)
    return calls


def test_batch_processor_fraud_carries_its_reasons_to_the_alert_the_log_and_the_line(
    local_aws_env,
    make_processor,
    make_batch,
    make_fraud_row,
    make_row,
    shap_calls,
    caplog,
    monkeypatch,
) -> None:
    # Given a batch with two takeovers around a payment, the decision lines reaching the capture
    monkeypatch.setattr(logging.getLogger("fds.decisions"), "propagate", True)
    rows = [
        make_fraud_row(tx_id="tx-fraud-1", nameOrig="C91", amount=181.0),
        make_row(tx_id="tx-normal", nameOrig="C92"),
        make_fraud_row(tx_id="tx-fraud-2", nameOrig="C93", amount=9000.0, type="CASH_OUT"),
    ]

    # When it is processed
    with caplog.at_level(logging.INFO, logger="fds.decisions"):
        decisions = make_processor().process(SHARD, make_batch(rows))

    # Then both frauds were explained in one SHAP call of two rows
    assert shap_calls == [2], f"SHAP calls (rows each): {shap_calls}"
    by_id = {d.tx_id: d for d in decisions}
    fraud = by_id["tx-fraud-1"]
    assert fraud.verdict is Verdict.FRAUD and len(fraud.reasons) == 3, fraud.reasons
    # ...led by the emptied account, in plain words
    assert fraud.reasons[0].feature in {"drains_sender", "balance_left", "amount_over_balance"}
    words = [reason.words for reason in fraud.reasons]
    if "drains_sender" in {reason.feature for reason in fraud.reasons}:
        assert "the amount equals the sender's whole balance (181.00)" in words, words
    assert by_id["tx-normal"].reasons == ()

    # And the alerts in the inbox carry the same reasons, in the list and in the sentence
    alerts = {a["tx_id"]: a for a in local_aws_env.inbox_alerts()}
    assert set(alerts) == {"tx-fraud-1", "tx-fraud-2"}, f"inbox holds {list(alerts)}"
    for tx_id, alert in alerts.items():
        expected = [reason.to_json_dict() for reason in by_id[tx_id].reasons]
        assert alert["reasons"] == expected, f"alert of {tx_id}: {alert['reasons']}"
        assert all(reason["words"] in alert["reason"] for reason in expected), alert["reason"]

    # And the decisions log holds them for the frauds and an empty list for the payment
    logged = {d["tx_id"]: d["reasons"] for d in local_aws_env.decision_log()}
    assert logged["tx-fraud-1"] == [reason.to_json_dict() for reason in fraud.reasons]
    assert logged["tx-normal"] == []

    # And the consumer's line for the fraud says them
    line = next(
        r.getMessage() for r in caplog.records if r.getMessage().startswith("🚨 FRAUD DETECTED")
    )
    assert line.startswith("🚨 FRAUD DETECTED: 181.00 C91"), line
    assert all(w in line for w in words), line


def test_batch_processor_batch_without_fraud_asks_for_no_explanation(
    local_aws_env, make_processor, make_batch, make_fraud_row, make_row, shap_calls
) -> None:
    # Given a sender blocked by an earlier batch (which was explained once)
    processor = make_processor()
    processor.process(SHARD, make_batch([make_fraud_row(tx_id="tx-1", nameOrig="C94")]))
    assert shap_calls == [1]

    # When a batch of payments and a refusal of that sender is processed
    rows = [make_row(tx_id=f"tx-p{i}", nameOrig=f"C95{i}") for i in range(20)]
    rows.append(make_row(tx_id="tx-refused", nameOrig="C94"))
    decisions = processor.process(SHARD, make_batch(rows, first=10))

    # Then no SHAP call was made and no decision carries reasons, in memory or in the log
    assert shap_calls == [1], f"SHAP calls (rows each): {shap_calls}"
    assert {d.verdict for d in decisions} == {Verdict.NORMAL, Verdict.REFUSED}
    assert all(d.reasons == () for d in decisions)
    logged = [d for d in local_aws_env.decision_log() if d["tx_id"] != "tx-1"]
    assert len(logged) == 21 and all(d["reasons"] == [] for d in logged)


def test_batch_processor_alert_words_do_not_depend_on_the_batch(
    local_aws_env, make_processor, make_batch, make_fraud_row, make_row
) -> None:
    # Given a takeover decided alone
    fraud = make_fraud_row(tx_id="tx-1", nameOrig="C96", amount=4321.0)
    make_processor().process(SHARD, make_batch([fraud]))
    [alone] = local_aws_env.inbox_alerts()

    # When the same record is read again in another batch, among other rows and frauds (as a
    # replay cut elsewhere would), on a fresh AWS so that it is alerted again
    local_aws_env.reset()
    others = [make_fraud_row(tx_id=f"tx-o{i}", nameOrig=f"C97{i}") for i in range(3)]
    others += [make_row(tx_id=f"tx-n{i}", nameOrig=f"C98{i}") for i in range(5)]
    make_processor().process(SHARD, make_batch([*others[:4], fraud, *others[4:]]))
    again = next(a for a in local_aws_env.inbox_alerts() if a["tx_id"] == "tx-1")

    # Then its alert says the same, to the digit
    assert again["reason"] == alone["reason"]
    assert again["reasons"] == alone["reasons"]
