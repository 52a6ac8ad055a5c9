"""Processing one batch of stream records, from bytes to durable decisions."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from app.consumer.alerting import AlertSender
from app.consumer.blocklist import BlockList
from app.consumer.decisions import (
    Decision,
    StreamRecord,
    Verdict,
    decide,
    is_refused,
    scoring_columns,
)
from app.consumer.effects import Effects, RejectedRecord
from app.consumer.stats import ConsumerStats
from app.errors import InvalidRecordError
from app.records import parse_record
from ml.explain import explain
from ml.features import build_features
from ml.model import FraudModel

logger = logging.getLogger(__name__)

#: Decision lines go to their own logger so the CLI can show them plainly while the rest of the
#: logging stays structured.
decision_log = logging.getLogger("fds.decisions")

#: Transactions per shard whose ids are remembered to catch duplicates: about 4 MB per shard,
#: and at 500 transactions a second per shard (1 MB/s of records), the last 40 seconds; a
#: producer's retried send comes back within seconds.
_DUPLICATE_WINDOW = 20_000


class BatchProcessor:
    """Validates, scores, decides and applies the effects of one batch of records."""

    def __init__(
        self,
        model: FraudModel,
        effects: Effects,
        stats: ConsumerStats,
        clock: Callable[[], float] = time.time,
        effect_threads: int = 8,
        blocklist: BlockList | None = None,
    ) -> None:
        self._model = model
        self._effects = effects
        self._stats = stats
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=effect_threads, thread_name_prefix="effects")
        self._alerts = AlertSender(effects, on_retry=stats.record_retry)
        self._blocklist = blocklist or BlockList(effects)
        # Per shard, the first sequence numbers of batches logged after its saved place.
        self._logged_starts: dict[str, list[int]] = {}
        self._starts_lock = threading.Lock()
        self._recent_ids: dict[str, RecentIds] = {}
        # Per shard, the last place whose record went to the dead-letter queue: a batch
        # retried after its effects failed sends its dead letters once, not once per try.
        self._set_aside_up_to: dict[str, int] = {}
        self._uncounted_letters: dict[str, int] = {}

    def settle(self, shard_id: str, wait: bool = True) -> bool:
        """Whether the alerts of this shard's processed batches are out; see ``AlertSender``."""
        return self._alerts.settle(shard_id, wait)

    def catch_up_on_blocks(self, since: float) -> None:
        """Make sure the block list was read at or after ``since`` (a shard taken over then)."""
        self._blocklist.ensure_taken_since(since)

    def close(self) -> None:
        """Stop retrying alerts (their batches will be read again) and refreshing the block list."""
        self._alerts.close()
        self._blocklist.close()

    def process(self, shard_id: str, records: Sequence[dict[str, Any]]) -> list[Decision]:
        """Handle a GetRecords batch of one shard; returns once every effect is durable.

        Raises whatever AWS error survived the retries; the caller keeps the batch and tries
        again, which is safe because every effect can be repeated.
        """
        try:
            return self._process(shard_id, records)
        except Exception:
            self._stats.record_failure()
            raise

    def _process(self, shard_id: str, records: Sequence[dict[str, Any]]) -> list[Decision]:
        started_at = self._clock()
        valid, rejected = self._validate(shard_id, records)
        rejected = self._not_yet_set_aside(shard_id, rejected)
        if rejected:
            self._effects.set_aside(rejected)
            self._set_aside_up_to[shard_id] = int(rejected[-1].sequence_number)
            # Counted with the batch once it is durable, even if that takes another try.
            self._uncounted_letters[shard_id] = self._uncounted_letters.get(shard_id, 0) + len(
                rejected
            )
            for item in rejected:
                logger.error(
                    "record %s of shard %s set aside: %s",
                    item.sequence_number,
                    shard_id,
                    item.reason,
                    extra={"shard_id": shard_id, "sequence_number": item.sequence_number},
                )

        blocked = self._blocklist.blocked_among({r.transaction.nameOrig for r in valid})
        to_score = [r.transaction for r in valid if not is_refused(r, blocked)]
        scores = dict(
            zip(
                (tx.tx_id for tx in to_score),
                self._model.score(scoring_columns(to_score)).tolist(),
                strict=True,
            )
        )
        decisions = decide(
            valid,
            scores,
            blocked,
            threshold=self._model.threshold,
            model_version=self._model.version,
            received_at=started_at,
            decided_at=self._clock(),
        )

        # A decision is durable once it is in the log and its sender on the block list; the
        # two writes run side by side. The block-list writes need no reasons, so they start
        # first and the frauds are explained while they are in flight; the log waits for the
        # reasons. The alerts follow in the background (app.consumer.alerting).
        frauds = [d for d in decisions if d.verdict is Verdict.FRAUD]
        blocking = self._pool.submit(self._effects.block, frauds) if frauds else None
        decisions = self._with_reasons(decisions, valid)
        records_out = [d.to_json_dict() for d in decisions]
        logged = [
            self._pool.submit(self._effects.log_decisions, shard_id, part)
            for part in self._cut_at_logged_starts(shard_id, records_out)
        ]
        owed: list[Decision] = []
        if blocking is not None:
            blockers = {d.tx_id for d in blocking.result()}
            owed = [d for d in decisions if d.verdict is Verdict.FRAUD and d.tx_id in blockers]
            self._blocklist.record(frauds)
        for written in logged:
            written.result()
        durable_at = self._clock()
        if owed:
            self._alerts.send(shard_id, owed)

        self._stats.record_batch(
            [(d.verdict.value, d.label, d.sent_at) for d in decisions],
            dead_lettered=self._uncounted_letters.pop(shard_id, 0),
            durable_at=durable_at,
            received_at=started_at,
        )
        for decision, record in zip(decisions, records_out, strict=True):
            _log_decision(decision, record)
        return decisions

    def _with_reasons(self, decisions: list[Decision], valid: list[StreamRecord]) -> list[Decision]:
        """The decisions with each fraud's reasons, all of the batch's frauds explained at once.

        Only frauds are explained, after scoring: a batch without one costs nothing more, and
        one with frauds a fraction of a millisecond per fraud, from the model's SHAP table
        (``ml.contributions``; the README's figures come from ``fds bench --scoring``). Their
        features are built again for those few rows rather than kept from scoring, which would
        hold every row's features for the rare fraud.
        """
        fraud_ids = {d.tx_id for d in decisions if d.verdict is Verdict.FRAUD}
        if not fraud_ids:
            return decisions
        flagged = [r.transaction for r in valid if r.transaction.tx_id in fraud_ids]
        reasons = dict(
            zip(
                (tx.tx_id for tx in flagged),
                explain(self._model, build_features(scoring_columns(flagged))),
                strict=True,
            )
        )
        return [
            replace(d, reasons=reasons[d.tx_id]) if d.tx_id in reasons else d for d in decisions
        ]

    def _not_yet_set_aside(
        self, shard_id: str, rejected: list[RejectedRecord]
    ) -> list[RejectedRecord]:
        up_to = self._set_aside_up_to.get(shard_id, -1)
        return [item for item in rejected if int(item.sequence_number) > up_to]

    def align_with_log(self, shard_id: str, after: str | None) -> None:
        """Learn where the shard's batches after its saved place were cut when first logged.

        A consumer that stops between logging a batch and saving its place leaves logged
        batches after that place. Their records are read again, in batches that may be cut
        elsewhere; cutting them at the logged batches' first numbers rewrites each logged
        object with the same key instead of logging its decisions a second time.
        """
        starts = self._effects.logged_batch_starts(shard_id, after)
        with self._starts_lock:
            self._logged_starts[shard_id] = starts
        if starts:
            logger.info(
                "shard %s: %d batches logged after its saved place; replaying them in step",
                shard_id,
                len(starts),
            )

    def _cut_at_logged_starts(
        self, shard_id: str, records_out: list[dict[str, Any]]
    ) -> list[list[dict[str, Any]]]:
        with self._starts_lock:
            starts = self._logged_starts.get(shard_id)
            if not starts or not records_out:
                return [records_out] if records_out else []
            last = int(records_out[-1]["sequence_number"])
            cuts = [start for start in starts if start <= last]
            # Starts passed now are behind the reader for good.
            self._logged_starts[shard_id] = [start for start in starts if start > last]
        parts: list[list[dict[str, Any]]] = []
        for record in records_out:
            number = int(record["sequence_number"])
            if not parts or (cuts and number >= cuts[0]):
                while cuts and number >= cuts[0]:
                    cuts.pop(0)
                parts.append([])
            parts[-1].append(record)
        return parts

    def _validate(
        self, shard_id: str, records: Sequence[dict[str, Any]]
    ) -> tuple[list[StreamRecord], list[RejectedRecord]]:
        valid: list[StreamRecord] = []
        rejected: list[RejectedRecord] = []
        with self._starts_lock:
            recent = self._recent_ids.setdefault(shard_id, RecentIds())
        for record in records:
            data: bytes = record["Data"]
            sequence_number: str = record["SequenceNumber"]
            try:
                transaction = parse_record(data)
                recent.check(transaction.tx_id, sequence_number)
            except InvalidRecordError as error:
                rejected.append(
                    RejectedRecord(
                        reason=error.reason,
                        shard_id=shard_id,
                        sequence_number=sequence_number,
                        partition_key=str(record.get("PartitionKey", "")),
                        data=data,
                    )
                )
                continue
            valid.append(StreamRecord(transaction, shard_id, sequence_number))
        return valid, rejected


class RecentIds:
    """The transaction ids a shard delivered lately, each with the place it came at.

    A producer that retries a send whose answer it lost puts the same transaction on the
    stream twice, at two places; the second is a duplicate and is set aside. A record read
    again at its own place is a replay, decided again as before. The window is the last
    ``size`` transactions of the shard, held in memory: a copy that arrives later than that,
    or after the shard changed consumers, is decided a second time (and the decisions export
    keeps one).
    """

    def __init__(self, size: int = _DUPLICATE_WINDOW) -> None:
        self._size = size
        self._places: OrderedDict[str, str] = OrderedDict()

    def check(self, tx_id: str, sequence_number: str) -> None:
        """Remember where ``tx_id`` came; raise if it came before at another place."""
        first = self._places.get(tx_id)
        if first is not None and first != sequence_number:
            raise InvalidRecordError(
                f"duplicate transaction id {tx_id}: first delivered at sequence number {first}"
            )
        self._places[tx_id] = sequence_number
        if len(self._places) > self._size:
            self._places.popitem(last=False)


def _log_decision(decision: Decision, record: dict[str, Any]) -> None:
    fields = {"decision": record}
    if decision.verdict is Verdict.FRAUD:
        decision_log.warning(
            "🚨 FRAUD DETECTED: %.2f %s score=%.4f because %s",
            decision.amount,
            decision.account,
            decision.score,
            decision.reasons_in_words() or "of the score alone",
            extra=fields,
        )
        decision_log.warning("🚫 BLOCKED: %s", decision.account, extra=fields)
    elif decision.verdict is Verdict.REFUSED:
        decision_log.warning("⛔ REFUSED: %s is blocked", decision.account, extra=fields)
    else:
        decision_log.info("✅ NORMAL: %.2f", decision.amount, extra=fields)
