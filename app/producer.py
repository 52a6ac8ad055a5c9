"""The generator's sending side: transactions onto the Kinesis stream, paced and batched.

Each record is keyed by its sender, so one account's transactions stay in order on one shard,
and gets a unique transaction id before its first send, so a retried send is recognisably the
same transaction. Records go out with PutRecords; when a call succeeds for only part of a batch,
only the failed entries are sent again.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any, Final

from botocore.exceptions import ClientError

from app.errors import ProducerError
from app.pauses import backoff_seconds
from app.records import encode_record

logger = logging.getLogger(__name__)

#: PutRecords takes at most 500 records (and 5 MiB) per call.
PUT_RECORDS_LIMIT: Final = 500
_MAX_ATTEMPTS: Final = 8
#: Pauses between attempts: the first retry waits up to 50 ms, the cap is 2 s.
_RETRY_BASE_SECONDS: Final = 0.05
_MAX_RETRY_PAUSE_SECONDS: Final = 2.0
#: Least time between two PutRecords calls when pacing. Sending each record the moment it is
#: due would make a call per record or two; gathering what falls due within 10 ms cuts the
#: calls (and the stream's per-call work) several times over, and the decision latency is
#: measured from the put, so it does not grow.
DEFAULT_LINGER_SECONDS: Final = 0.01


@dataclass
class ProduceReport:
    sent: int = 0
    retried_entries: int = 0
    calls: int = 0
    elapsed_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed_seconds if self.elapsed_seconds else 0.0


class StreamProducer:
    """Puts transaction rows on one stream."""

    def __init__(
        self,
        kinesis: Any,
        stream: str,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        linger_seconds: float = DEFAULT_LINGER_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self._kinesis = kinesis
        self._rng = rng
        self._linger = linger_seconds
        self._stream = stream
        self._clock = clock
        self._sleep = sleep
        self.report = ProduceReport()

    def put_batch(self, rows: list[dict[str, Any]]) -> None:
        """Send up to 500 rows; return when every one is on the stream.

        Raises:
            ProducerError: some entries still failed after the retries.
        """
        sent_at = self._clock()
        entries = []
        for row in rows:
            row["sent_at"] = sent_at
            entries.append({"Data": encode_record(row), "PartitionKey": str(row["nameOrig"])})

        for attempt in range(_MAX_ATTEMPTS):
            response = self._kinesis.put_records(StreamName=self._stream, Records=entries)
            self.report.calls += 1
            if not response.get("FailedRecordCount"):
                self.report.sent += len(entries)
                return
            failed = [
                entry
                for entry, result in zip(entries, response["Records"], strict=True)
                if result.get("ErrorCode")
            ]
            codes = {r["ErrorCode"] for r in response["Records"] if r.get("ErrorCode")}
            logger.warning(
                "%d of %d records not accepted (%s); re-sending only those",
                len(failed),
                len(entries),
                ", ".join(sorted(codes)),
            )
            self.report.retried_entries += len(failed)
            self.report.sent += len(entries) - len(failed)
            rows_left = len(failed)
            entries = failed
            # Exponential backoff with full jitter, the usual cure for throughput exceptions:
            # generators throttled together must not all come back together. No pause after
            # the last attempt, which only delays the error.
            if attempt + 1 < _MAX_ATTEMPTS:
                self._sleep(
                    backoff_seconds(
                        attempt, _RETRY_BASE_SECONDS, _MAX_RETRY_PAUSE_SECONDS, self._rng
                    )
                )
        raise ProducerError(
            f"{rows_left} records were still refused by stream {self._stream} after "
            f"{_MAX_ATTEMPTS} attempts: the stream is over its write limit; add shards or "
            "lower --rate"
        )

    def _check_stream(self) -> None:
        """Fail early, and clearly, if the stream is missing; also loads the client's model,
        so the first record's put is not slower than the rest."""
        try:
            self._kinesis.describe_stream_summary(StreamName=self._stream)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            raise ProducerError(
                f"stream {self._stream} does not exist: start the local AWS with "
                "`fds local serve` (and export AWS_ENDPOINT_URL), or deploy the stack"
            ) from error

    def run(
        self,
        rows: Iterable[dict[str, Any]],
        *,
        rate: float | None = None,
        limit: int | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> ProduceReport:
        """Send rows at ``rate`` per second (as fast as possible when None), up to ``limit``."""
        source = with_transaction_ids(islice(rows, limit) if limit is not None else iter(rows))
        # Take the first row before the clock starts: a source may need a moment to open (a
        # CSV is read whole), and that moment must not turn into a burst of "overdue" records.
        first = next(source, None)
        if first is None:
            return self.report
        source = chain([first], source)
        self._check_stream()
        started = time.monotonic()
        last_put = -self._linger
        while not should_stop():
            if rate is None:
                room = PUT_RECORDS_LIMIT
            else:
                # Record k is due at k / rate seconds: send everything due, and sleep until the
                # next one when nothing is, so the arrival rate stays constant.
                elapsed = time.monotonic() - started
                due = int(elapsed * rate) + 1 - self.report.sent
                next_due = self.report.sent / rate
                next_put = last_put + self._linger
                if due < 1 or elapsed < next_put:
                    self._sleep(max(next_due, next_put) - elapsed)
                    continue
                last_put = elapsed
                room = min(due, PUT_RECORDS_LIMIT)
            batch = list(islice(source, room))
            if not batch:
                break
            self.put_batch(batch)
        self.report.elapsed_seconds = time.monotonic() - started
        logger.info(
            "sent %d records in %.1fs (%.0f/s, %d calls, %d entries re-sent)",
            self.report.sent,
            self.report.elapsed_seconds,
            self.report.rate,
            self.report.calls,
            self.report.retried_entries,
        )
        return self.report


def with_transaction_ids(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Give each row a transaction id (kept if it has one) before it is first sent."""
    for row in rows:
        if "tx_id" not in row:
            row = {"tx_id": uuid.uuid4().hex, **row}
        yield row
