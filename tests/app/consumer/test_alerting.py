"""Tests for publishing alerts in the background (``app.consumer.alerting``) on the local AWS."""

from __future__ import annotations

from typing import Any

from app.consumer.alerting import MARK_OPERATION, PUBLISH_OPERATION, AlertSender
from app.consumer.effects import Effects
from app.consumer.stats import ConsumerStats

SHARD_A = "shardId-000000000000"
SHARD_B = "shardId-000000000001"


class CountingPublish:
    """An SNS client that counts its PublishBatch calls and passes them on."""

    def __init__(self, sns: Any) -> None:
        self._sns = sns
        self.entries_per_call: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sns, name)

    def publish_batch(self, **kwargs: Any) -> Any:
        self.entries_per_call.append(len(kwargs["PublishBatchRequestEntries"]))
        return self._sns.publish_batch(**kwargs)


def test_alert_sender_batches_handed_in_together_share_publish_calls(
    local_aws_env, make_decision
) -> None:
    # Given a sender with one thread that waits up to a second for more batches
    sns = CountingPublish(local_aws_env.clients.sns)
    effects = Effects(local_aws_env.with_clients(sns=sns), local_aws_env.resources)
    sender = AlertSender(effects, threads=1, coalesce_seconds=1.0)
    frauds = [
        make_decision(tx_id=f"tx-{n}", account=f"C{n}", sequence_number=str(n)) for n in range(12)
    ]
    for fraud in frauds:
        effects.block([fraud])

    # When twelve batches of one fraud each are handed in, on two shards
    for n, fraud in enumerate(frauds):
        sender.send(SHARD_A if n % 2 else SHARD_B, [fraud])

    # Then both shards settle, with all twelve alerts in two calls of SNS's ten at most
    assert sender.settle(SHARD_A) and sender.settle(SHARD_B)
    assert sns.entries_per_call == [10, 2], f"entries per PublishBatch: {sns.entries_per_call}"
    alerted = sorted(alert["tx_id"] for alert in local_aws_env.inbox_alerts())
    assert alerted == sorted(f.tx_id for f in frauds), f"alerts in the inbox: {alerted}"
    assert effects.alerts_sent(frauds) == {f.tx_id for f in frauds}, "not all in the ledger"
    sender.close()


def test_alert_sender_lone_batch_goes_out_after_the_wait(local_aws_env, make_decision) -> None:
    # Given a sender that waits 50 ms for company
    effects = Effects(local_aws_env.clients, local_aws_env.resources)
    sender = AlertSender(effects, threads=1, coalesce_seconds=0.05)
    fraud = make_decision(tx_id="tx-lone", account="C77")
    effects.block([fraud])

    # When a single batch is handed in and none follows
    sender.send(SHARD_A, [fraud])

    # Then it is published anyway
    assert sender.settle(SHARD_A) is True
    assert [a["tx_id"] for a in local_aws_env.inbox_alerts()] == ["tx-lone"]
    sender.close()


class PartlyFailing:
    """An SNS client whose first PublishBatch answers half of the entries as failed."""

    def __init__(self, sns: Any) -> None:
        self._sns = sns
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sns, name)

    def publish_batch(self, **kwargs: Any) -> Any:
        self.calls += 1
        entries = kwargs["PublishBatchRequestEntries"]
        if self.calls > 1:
            return self._sns.publish_batch(**kwargs)
        kept, failed = entries[::2], entries[1::2]
        response = self._sns.publish_batch(**{**kwargs, "PublishBatchRequestEntries": kept})
        response["Failed"] = [
            {"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in failed
        ]
        return response


def test_an_outage_in_the_middle_of_a_group_repeats_no_alert_sent_before_it(
    local_aws_env, make_decision, faulty
) -> None:
    # Given fifteen frauds handed in together, and SNS failing on the second call of the group
    sns = faulty(local_aws_env.clients.sns, "publish_batch", lambda n: n == 2)
    effects = Effects(local_aws_env.with_clients(sns=sns), local_aws_env.resources)
    sender = AlertSender(effects, threads=1, coalesce_seconds=0.5)
    frauds = [
        make_decision(tx_id=f"tx-{n}", account=f"C{n}", sequence_number=str(n)) for n in range(15)
    ]
    effects.block(frauds)

    # When they are sent
    sender.send(SHARD_A, frauds)

    # Then each fraud has exactly one alert in the inbox, the first ten not sent again
    assert sender.settle(SHARD_A)
    alerted = sorted(alert["tx_id"] for alert in local_aws_env.inbox_alerts())
    assert alerted == sorted(f.tx_id for f in frauds), f"alerts in the inbox: {alerted}"
    sender.close()


def test_entries_sns_answers_as_failed_are_sent_again_alone(local_aws_env, make_decision) -> None:
    # Given SNS failing every other entry of the first call
    sns = PartlyFailing(local_aws_env.clients.sns)
    effects = Effects(local_aws_env.with_clients(sns=sns), local_aws_env.resources)
    frauds = [make_decision(tx_id=f"tx-{n}", account=f"C{n}") for n in range(6)]
    published: set[str] = set()

    # When they are published
    effects.publish_alerts(frauds, published)

    # Then every one is alerted once, and all are known as published
    alerted = sorted(alert["tx_id"] for alert in local_aws_env.inbox_alerts())
    assert alerted == sorted(f.tx_id for f in frauds), f"alerts in the inbox: {alerted}"
    assert published == {f.tx_id for f in frauds}
    assert sns.calls == 2


def retries(stats: ConsumerStats, operation: str) -> float | None:
    return stats.metrics.registry.get_sample_value("fds_retries_total", {"operation": operation})


def test_alert_sender_counts_each_retry_by_operation(local_aws_env, make_decision, faulty) -> None:
    # Given SNS failing the first publish, and DynamoDB the first write to the alerts ledger
    sns = faulty(local_aws_env.clients.sns, "publish_batch", lambda n: n == 1)
    dynamodb = faulty(
        local_aws_env.clients.dynamodb, "batch_write_item", lambda n: n == 1, "ThrottlingException"
    )
    clients = local_aws_env.with_clients(sns=sns, dynamodb=dynamodb)
    effects = Effects(clients, local_aws_env.resources)
    stats = ConsumerStats()
    sender = AlertSender(effects, threads=1, coalesce_seconds=0.0, on_retry=stats.record_retry)
    fraud = make_decision(tx_id="tx-retried", account="C5")
    effects.block([fraud])

    # When its alert is sent
    sender.send(SHARD_A, [fraud])

    # Then it goes out once, after one retry of each step, and the metrics count both
    assert sender.settle(SHARD_A), "the alert never settled"
    sender.close()
    assert [a["tx_id"] for a in local_aws_env.inbox_alerts()] == ["tx-retried"]
    assert effects.alerts_sent([fraud]) == {"tx-retried"}, "not in the ledger"
    assert retries(stats, PUBLISH_OPERATION) == 1, "the failed publish was not counted"
    assert retries(stats, MARK_OPERATION) == 1, "the failed ledger write was not counted"


def test_alert_sender_counts_no_retry_when_nothing_fails(local_aws_env, make_decision) -> None:
    # Given a sender on a healthy SNS and DynamoDB
    effects = Effects(local_aws_env.clients, local_aws_env.resources)
    stats = ConsumerStats()
    sender = AlertSender(effects, threads=1, coalesce_seconds=0.0, on_retry=stats.record_retry)
    fraud = make_decision(tx_id="tx-fine", account="C6")
    effects.block([fraud])

    # When an alert is sent
    sender.send(SHARD_A, [fraud])

    # Then no retry shows on the metrics
    assert sender.settle(SHARD_A), "the alert never settled"
    sender.close()
    assert retries(stats, PUBLISH_OPERATION) is None, "a retry counted without a failure"
    assert retries(stats, MARK_OPERATION) is None, "a retry counted without a failure"


def test_alerts_the_ledger_knows_went_out_are_not_sent_again(local_aws_env, make_decision) -> None:
    # Given two frauds, one already alerted and recorded in the ledger (a replayed batch, or an
    # account blocked again after an operator unblocked it)
    effects = Effects(local_aws_env.clients, local_aws_env.resources)
    sender = AlertSender(effects, threads=1, coalesce_seconds=0.0)
    sent_before = make_decision(tx_id="tx-sent", account="C91")
    owed = make_decision(tx_id="tx-owed", account="C92")
    effects.mark_alerted([sent_before])

    # When both are handed to the sender
    sender.send(SHARD_A, [sent_before, owed])

    # Then only the owed one is published, and both are in the ledger
    assert sender.settle(SHARD_A)
    assert [alert["tx_id"] for alert in local_aws_env.inbox_alerts()] == ["tx-owed"]
    assert effects.alerts_sent([sent_before, owed]) == {"tx-sent", "tx-owed"}
    sender.close()


def test_each_call_of_alerts_is_in_the_ledger_as_soon_as_it_is_out(
    local_aws_env, make_decision, poll, faulty
) -> None:
    # Given fifteen frauds handed in together, and SNS failing from its second call on
    sns = faulty(local_aws_env.clients.sns, "publish_batch", lambda n: n >= 2)
    effects = Effects(local_aws_env.with_clients(sns=sns), local_aws_env.resources)
    sender = AlertSender(effects, threads=1, coalesce_seconds=0.5)
    frauds = [
        make_decision(tx_id=f"tx-{n}", account=f"C{n}", sequence_number=str(n)) for n in range(15)
    ]
    try:
        # When they are sent
        sender.send(SHARD_A, frauds)

        # Then the first call's ten are recorded while the other five wait for SNS, so a
        # consumer dying now would repeat none of the ten
        first_ten = {f.tx_id for f in frauds[:10]}
        poll(
            lambda: effects.alerts_sent(frauds) == first_ten,
            timeout=10,
            what="the first ten alerts in the ledger",
        )
        assert not sender.settle(SHARD_A, wait=False), "five alerts are still out"
    finally:
        sender.close()
