"""One place for every name and knob that the app and the infrastructure share.

The Pulumi program in ``stacks/`` builds its resources from :func:`resource_names`, and the
consumer pods read the same names back from their environment (``FDS_*`` variables set from the
stack's outputs), so a local run, a dev stack and a prod stack can never disagree about what the
stream or a table is called.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from app.errors import SettingsValueError

Environment = Literal["local", "dev", "prod"]

#: The standard variable that boto3 reads to reach another endpoint, here the embedded AWS.
ENDPOINT_ENV = "AWS_ENDPOINT_URL"

#: Where the embedded AWS listens by default (LocalStack's port, so tools that know it work).
DEFAULT_LOCAL_PORT = 4566

#: Credentials handed to boto3 when it talks to the embedded AWS and none are configured: the
#: local server accepts any, and boto3 refuses to sign a request without some.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "fds-local", "AWS_SECRET_ACCESS_KEY": "fds-local"}


class ResourceNames(BaseModel):
    """The names of every AWS resource FDS reads or writes, for one environment."""

    stream: str = Field(description="Kinesis stream the transactions arrive on.")
    blocklist_table: str = Field(description="DynamoDB table of blocked accounts, key `account`.")
    checkpoint_table: str = Field(
        description="DynamoDB table where consumers keep their place per shard, key `shard_id`."
    )
    decisions_bucket: str = Field(
        description="S3 bucket of the decisions log: one JSON-lines object per processed batch."
    )
    alerts_topic: str = Field(description="SNS topic that alerts the operators of each fraud.")
    alerts_inbox_queue: str = Field(
        description="SQS queue subscribed to the alert topic; locally it stands in for the "
        "operators' inbox, in the cloud it feeds whatever ticketing the bank uses."
    )
    dead_letter_queue: str = Field(
        description="SQS queue where records that cannot be processed are set aside."
    )


def resource_names(environment: Environment, suffix: str = "") -> ResourceNames:
    """Names for one environment.

    Args:
        environment: ``local``, ``dev`` or ``prod``.
        suffix: appended to S3 bucket names, which must be unique across all of AWS (the stacks
            pass the account id); empty for the embedded AWS.
    """
    prefix = f"fds-{environment}"
    bucket_suffix = f"-{suffix}" if suffix else ""
    return ResourceNames(
        stream=f"{prefix}-transactions",
        blocklist_table=f"{prefix}-blocklist",
        checkpoint_table=f"{prefix}-checkpoints",
        decisions_bucket=f"{prefix}-decisions{bucket_suffix}",
        alerts_topic=f"{prefix}-fraud-alerts",
        alerts_inbox_queue=f"{prefix}-fraud-alerts-inbox",
        dead_letter_queue=f"{prefix}-dead-letters",
    )


_ENV_PREFIX = "FDS_"
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")


class Settings(BaseSettings):
    """Runtime settings of the generator and the consumer, read from ``FDS_*`` variables.

    Commands build them with :func:`load_settings`, which turns a bad variable into one error
    that names it.
    """

    model_config = SettingsConfigDict(env_prefix=_ENV_PREFIX, extra="ignore")

    environment: Environment = Field(
        default="local", description="Which environment's resource names to use."
    )
    region: str = Field(
        default_factory=lambda: (
            os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        ),
        # Checked whether set as FDS_REGION or taken from AWS_REGION: a region that does not
        # exist otherwise surfaces as retries and a server error page, not as its name.
        validate_default=True,
        description="AWS region of every client, e.g. us-east-1; the embedded AWS keeps state "
        "per region.",
    )
    resource_suffix: str = Field(
        default="", description="Suffix of globally unique names (S3 buckets); see resource_names."
    )
    shard_count: int = Field(
        default=2, ge=1, le=64, description="Shards of the stream the embedded AWS creates."
    )
    model_dir: Path | None = Field(
        default=None, description="Model directory; the model shipped with FDS when unset."
    )
    poll_interval_seconds: float = Field(
        default=0.02,
        ge=0.0,
        le=10.0,
        allow_inf_nan=False,
        description="Least time between the starts of two reads of one shard, in seconds. Real "
        "Kinesis allows 5 reads per second per shard, so 0.2 there; the local server has no "
        "such limit, but every read and batch costs it several calls, so reading back to back "
        "would spend it on tiny batches.",
    )
    blocklist_refresh_seconds: float = Field(
        default=5.0,
        gt=0.0,
        le=3600.0,
        allow_inf_nan=False,
        description="How often the consumer re-reads the whole block list, in seconds: a block "
        "written by someone other than this consumer (an operator) takes effect within it.",
    )
    max_records_per_read: int = Field(
        default=1000,
        ge=1,
        le=10_000,
        description="GetRecords limit. Larger batches score faster per record but hold the "
        "first record of the batch longer.",
    )

    read_mode: Literal["polling", "fan-out"] = Field(
        default="polling",
        description="How the consumer reads shards: `polling` (GetRecords, the only mode the "
        "embedded AWS serves) or `fan-out` (enhanced fan-out through SubscribeToShard, which "
        "needs the stream consumer the prod stack registers).",
    )
    stream_consumer_name: str = Field(
        default="fds-consumer",
        description="Name of the registered enhanced fan-out consumer of the stream.",
    )
    metrics_port: int = Field(
        default=9100,
        ge=0,
        le=65535,
        description="Port of the consumer's HTTP endpoint: `/metrics` (Prometheus), `/healthz` "
        "(alive) and `/readyz` (reading its shards); 0 turns it off.",
    )

    lease_seconds: float = Field(
        default=10.0,
        ge=1.0,
        le=300.0,
        allow_inf_nan=False,
        description="How long a shard lease lasts without renewal: a consumer that dies loses "
        "its shards to the others after about this long (renewed three times per period).",
    )
    consumer_id: str | None = Field(
        default=None,
        max_length=200,
        description="Name under which this consumer holds its shard leases; host name, process "
        "id and a counter when unset, which a container restarted in its pod keeps.",
    )

    shard_ids: list[str] = Field(
        default_factory=list,
        description="Read only these shards (a JSON list in FDS_SHARD_IDS), without leases; when "
        "empty, consumers share every shard through leases. A fixed split between consumers, "
        "for benchmarks: nothing takes over the shards of a consumer that dies.",
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`json` writes every log line as one JSON object with fixed keys (time, "
        "level, logger, message, and the line's fields); read by app.logs.",
    )

    # Optional overrides of single names, set from the stack's outputs in a pod.
    stream_name: str | None = None
    blocklist_table_name: str | None = None
    checkpoint_table_name: str | None = None
    decisions_bucket_name: str | None = None
    alerts_topic_name: str | None = None
    alerts_inbox_queue_name: str | None = None
    dead_letter_queue_name: str | None = None

    @field_validator("consumer_id")
    @classmethod
    def _name_without_edge_spaces(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or value != value.strip()):
            raise ValueError("a name that is not empty and neither starts nor ends with a space")
        return value

    @field_validator("region")
    @classmethod
    def _region_shaped(cls, value: str) -> str:
        if not _REGION.fullmatch(value):
            raise ValueError(
                "an AWS region such as us-east-1 or eu-west-2 (read from FDS_REGION, else "
                "AWS_REGION or AWS_DEFAULT_REGION)"
            )
        return value

    @property
    def names(self) -> ResourceNames:
        """The environment's names with any single-name override applied."""
        names = resource_names(self.environment, self.resource_suffix)
        overrides = {
            "stream": self.stream_name,
            "blocklist_table": self.blocklist_table_name,
            "checkpoint_table": self.checkpoint_table_name,
            "decisions_bucket": self.decisions_bucket_name,
            "alerts_topic": self.alerts_topic_name,
            "alerts_inbox_queue": self.alerts_inbox_queue_name,
            "dead_letter_queue": self.dead_letter_queue_name,
        }
        return names.model_copy(update={k: v for k, v in overrides.items() if v})


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment, with ``overrides`` (field values) applied.

    Raises:
        SettingsValueError: an ``FDS_*`` variable has a value its setting cannot take; the
            message names each such variable, its value and what it should be.
    """
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = [
            _problem(detail["loc"], detail["input"], _expected(detail["msg"]), overrides)
            for detail in error.errors()
            if detail["loc"]
        ]
        raise SettingsValueError(_settings_message(problems)) from error
    except PydanticSettingsError as error:
        # A list (or other JSON) setting whose variable is not JSON fails before validation.
        found = re.search(r'field "(\w+)"', str(error))
        field = found.group(1) if found else "?"
        annotation = (
            Settings.model_fields[field].annotation if field in Settings.model_fields else None
        )
        kind = getattr(annotation, "__name__", "value")
        example = " such as '[\"shardId-000000000000\"]'" if kind == "list" else ""
        problem = _problem((field,), None, f"a JSON {kind}{example}", overrides)
        raise SettingsValueError(_settings_message([problem])) from error


def _problem(
    loc: tuple[int | str, ...], value: object, expected: str, overrides: dict[str, Any]
) -> str:
    field = str(loc[0])
    where = "".join(f"[{part!r}]" for part in loc[1:])
    at = f" (in item {where})" if where else ""
    if field in overrides:
        return f"setting {field}={overrides[field]!r}{at}: expected {expected}"
    variable = f"{_ENV_PREFIX}{field.upper()}"
    raw = _environment_value(variable)
    return f"{variable}={raw if raw is not None else value!r}{at}: expected {expected}"


def _environment_value(variable: str) -> str | None:
    """The variable's value, looked up without regard to case as pydantic-settings reads it."""
    for name, value in os.environ.items():
        if name.upper() == variable:
            return value
    return None


def _expected(message: str) -> str:
    """Pydantic's ``Input should be greater than 0`` as ``a number greater than 0``."""
    expected = re.sub(r"^(Input should be |Value error, )", "", message)
    if expected.startswith(("greater", "less")):
        expected = f"a number {expected}"
    return expected


def _settings_message(problems: list[str]) -> str:
    plural = "s" if len(problems) > 1 else ""
    return f"invalid setting{plural}: {'; '.join(problems)}. Fix or unset the variable{plural}."
