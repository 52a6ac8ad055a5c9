"""The stack's configuration, read once from Pulumi config into a typed, validated model.

Components never read config themselves: the entry point calls :func:`load_settings` once and
hands plain values on. Every field is aliased by its full config key (``fds:shardCount``), so a
validation error already names the key the operator has to fix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pulumi
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from components.config_values import decode_json_text

logger = logging.getLogger(__name__)

InstanceType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")]
EmailAddress = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class StackConfigError(Exception):
    """The stack's config lacks a key or holds a value the program cannot use.

    Attributes:
        keys: the config keys at fault, in the order the problems are listed.
    """

    def __init__(self, message: str, keys: tuple[str, ...]) -> None:
        super().__init__(message)
        self.keys = keys


class StackSettings(BaseModel):
    """What one stack deploys, as the components will receive it."""

    # Aliases are the config keys; field names stay usable for settings built in code (tests).
    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_alias=True, validate_by_name=True
    )

    environment: Literal["dev", "prod"] = Field(
        alias="fds:environment",
        description="Which environment's resource names the stack creates (fds-<environment>-*).",
        examples=["dev"],
    )
    region: str = Field(
        alias="aws:region",
        pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$",
        description="AWS region of every resource; the pods read the same region back.",
        examples=["us-east-1"],
    )
    shard_count: int = Field(
        alias="fds:shardCount",
        ge=1,
        le=200,
        description="Shards of the transactions stream. At most 200, the smallest default "
        "account quota of Kinesis shards in a region; more needs a quota increase first.",
        examples=[2],
    )
    retention_hours: int = Field(
        alias="fds:retentionHours",
        ge=24,
        le=8760,
        description="Hours Kinesis keeps a record, 24 (its minimum) to 8760 (365 days).",
        examples=[24],
    )
    node_min_size: int = Field(
        alias="fds:nodeMinSize",
        ge=1,
        description="Fewest Spot nodes. At least 1: the consumers never scale to zero, since "
        "the lag metric they scale on is only published while someone reads the stream.",
        examples=[1],
    )
    node_desired_size: int = Field(
        alias="fds:nodeDesiredSize", ge=1, description="Spot nodes at start.", examples=[2]
    )
    node_max_size: int = Field(
        alias="fds:nodeMaxSize", ge=1, description="Most Spot nodes.", examples=[3]
    )
    spot_instance_types: list[InstanceType] = Field(
        alias="fds:spotInstanceTypes",
        min_length=2,
        max_length=20,
        description="Instance types of the Spot node group. At least 2 capacity pools so that one "
        "interruption wave cannot take every node; at most 20, the EKS API's limit.",
        examples=[["m5.large", "m5a.large"]],
    )
    availability_zone_count: int = Field(
        alias="fds:availabilityZoneCount",
        ge=2,
        le=6,
        description="Availability zones the VPC spans, a public and a private subnet each. At "
        "least 2, which EKS requires; 3 lets a zone fail with two thirds of the nodes left.",
        examples=[2],
    )
    nat_per_zone: bool = Field(
        alias="fds:natPerZone",
        description="One NAT gateway per zone (true: a zone outage keeps the others online) or "
        "one shared by all (false: about a third of the NAT cost in a 3-zone VPC).",
        examples=["false"],
    )
    vpc_cidr: str = Field(
        alias="fds:vpcCidr",
        pattern=r"^10\.\d{1,3}\.0\.0/16$",
        description="The VPC's private range, a 10.x.0.0/16: room for a /20 per subnet.",
        examples=["10.10.0.0/16"],
    )
    kubernetes_version: str = Field(
        alias="fds:kubernetesVersion",
        pattern=r"^1\.\d{2}$",
        description="EKS minor version of the cluster, such as 1.35.",
        examples=["1.35"],
    )
    system_node_count: int = Field(
        alias="fds:systemNodeCount",
        ge=0,
        le=10,
        description="On-demand nodes for system pods (CoreDNS, the KEDA operator), which a Spot "
        "reclaim must not take down; 0 runs them on the Spot nodes.",
        examples=[0],
    )
    system_instance_type: InstanceType = Field(
        alias="fds:systemInstanceType",
        description="Instance type of the on-demand system nodes.",
        examples=["t3.medium"],
    )
    stream_mode: Literal["provisioned", "on-demand"] = Field(
        alias="fds:streamMode",
        description="Kinesis capacity mode: `provisioned` (fds:shardCount shards, billed per "
        "shard-hour) or `on-demand` (Kinesis sizes itself, billed per GB).",
        examples=["provisioned"],
    )
    read_mode: Literal["polling", "fan-out"] = Field(
        alias="fds:readMode",
        description="How consumers read: `polling` (GetRecords, shares a shard's 2 MiB/s) or "
        "`fan-out` (a registered consumer with 2 MiB/s per shard of its own, about 70 ms "
        "delivery instead of about 200 ms, billed per consumer-shard-hour).",
        examples=["polling"],
    )
    protect_data: bool = Field(
        alias="fds:protectData",
        description="Deletion protection on the tables and the decisions bucket, and point-in-"
        "time recovery on the tables. Off in dev so that `pulumi destroy` removes everything.",
        examples=["true"],
    )
    decisions_retention_days: int = Field(
        alias="fds:decisionsRetentionDays",
        ge=1,
        le=3650,
        description="Days a decisions-log object is kept in S3 before it expires.",
        examples=[30],
    )
    image_tag: str = Field(
        alias="fds:imageTag",
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        description="Tag of the consumer image in the stack's ECR repository. Tags are "
        "immutable there, so a new build needs a new tag (the git commit works well).",
        examples=["0.1.0"],
    )
    github_actions_access: bool = Field(
        alias="fds:githubActionsAccess",
        description="Let the workflows' roles (bootstrap/: fds-github-deploy as cluster admin, "
        "fds-github-preview as viewer) use the cluster's Kubernetes API, which a `pulumi up` "
        "from a workflow needs. The roles must exist first; false for a stack deployed by hand "
        "only.",
        examples=["true"],
    )
    alert_emails: list[EmailAddress] = Field(
        alias="fds:alertEmails",
        description="Addresses subscribed to the fraud-alert topic; prod needs at least one.",
        examples=[["fraud-ops@example.com"]],
    )

    @field_validator("spot_instance_types", "alert_emails", mode="before")
    @classmethod
    def _decode_json_list(cls, value: Any) -> Any:
        return decode_json_text(value)

    @field_validator("spot_instance_types")
    @classmethod
    def _distinct_instance_types(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists an instance type twice; each entry must be a distinct pool")
        return value

    @model_validator(mode="after")
    def _check_across_keys(self) -> StackSettings:
        # A rule across keys has no single location for pydantic to report, so the keys at
        # fault travel in the error's context.
        if not self.node_min_size <= self.node_desired_size <= self.node_max_size:
            raise PydanticCustomError(
                "config_conflict",
                "must hold min <= desired <= max, got {sizes}",
                {
                    "keys": "fds:nodeMinSize,fds:nodeDesiredSize,fds:nodeMaxSize",
                    "sizes": f"{self.node_min_size}, {self.node_desired_size}, "
                    f"{self.node_max_size}",
                },
            )
        if self.system_node_count == 0 and self.environment == "prod":
            raise PydanticCustomError(
                "config_conflict",
                "is 0, and a prod stack keeps its system pods off Spot nodes",
                {"keys": "fds:systemNodeCount"},
            )
        if self.environment == "prod" and not self.alert_emails:
            raise PydanticCustomError(
                "config_conflict",
                "is empty, and a prod stack must alert at least one operator",
                {"keys": "fds:alertEmails"},
            )
        return self


def config_keys() -> tuple[str, ...]:
    """Every config key the settings are read from, as written in the stack files."""
    return tuple(field.alias or name for name, field in StackSettings.model_fields.items())


def parse_settings(raw: Mapping[str, object], stack: str) -> StackSettings:
    """Validate config values, keyed by full config key, into settings.

    Args:
        raw: config values as the CLI hands them to the program (text, lists as JSON text);
            a key that is unset is absent.
        stack: the stack's name, for the fix-it commands in the error.

    Raises:
        StackConfigError: listing every missing or invalid key, with a command that sets it.
    """
    try:
        return StackSettings.model_validate(dict(raw))
    except ValidationError as error:
        problems = [_describe(detail, stack) for detail in error.errors()]
        message = f"stack {stack} has unusable config:\n" + "\n".join(line for _, line in problems)
        keys = tuple(dict.fromkeys(key for found, _ in problems for key in found))
        raise StackConfigError(message, keys=keys) from error


def load_settings() -> StackSettings:
    """Read the current stack's config, once, into settings.

    Raises:
        StackConfigError: if a key is missing or invalid.
    """
    raw: dict[str, object] = {}
    for key in config_keys():
        namespace, name = key.split(":", 1)
        value = pulumi.Config(namespace).get(name)
        if value is not None:
            raw[key] = value

    settings = parse_settings(raw, pulumi.get_stack())
    logger.info(
        "stack settings loaded: environment=%s region=%s shards=%d",
        settings.environment,
        settings.region,
        settings.shard_count,
    )
    return settings


def _describe(detail: ErrorDetails, stack: str) -> tuple[tuple[str, ...], str]:
    """One problem as (keys at fault, a line naming them, the problem and its fix)."""
    location = detail["loc"]
    if not location:
        keys = tuple(str(detail.get("ctx", {}).get("keys", "")).split(","))
        label = "key" if len(keys) == 1 else "keys"
        line = f"Pulumi config {label} {', '.join(keys)}: {detail['msg']}"
        if len(keys) == 1:
            line += f"; set it with `{_set_command(keys[0], stack, detail['input'])}`"
        return keys, line

    key = str(location[0])
    if detail["type"] == "extra_forbidden":
        return (key,), f"Pulumi config key {key}: is not a setting FDS reads; remove it"

    if detail["type"] == "missing":
        problem = "is not set"
    else:
        problem = f"{detail['msg']} (got {detail['input']!r})"
    where = key + "".join(f"[{part}]" for part in location[1:])
    fix = _set_command(key, stack, detail["input"], location[1:])
    return (key,), f"Pulumi config key {where}: {problem}; set it with `{fix}`"


def _set_command(key: str, stack: str, given: object, index: tuple[int | str, ...] = ()) -> str:
    """The CLI command that sets ``key``, with an example value from the field's definition."""
    fields = {field.alias or name: field for name, field in StackSettings.model_fields.items()}
    examples = fields[key].examples
    example = examples[0] if examples else "<value>"
    if not isinstance(example, list):
        return f"pulumi config set {key} {example} --stack {stack}"

    # Lists are set one element at a time through a path: the faulty element if there is one,
    # else the next free slot of a list that is too short.
    if index:
        slot = int(index[0])
    elif isinstance(given, list):
        slot = len(given)
    else:
        slot = 0
    value = example[min(slot, len(example) - 1)]
    return f"pulumi config set --path '{key}[{slot}]' {value} --stack {stack}"
