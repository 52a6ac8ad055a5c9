"""The transactions stream: Kinesis under its own key, with a fan-out consumer if asked for."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.keys import customer_key
from components.tagging import with_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamArgs:
    """What the stream holds and how it is read.

    Attributes:
        stream_name: the Kinesis stream's name, as the app reads it.
        shard_count: shards in provisioned mode; ignored in on-demand mode.
        retention_hours: hours a record stays readable (24 to 8760).
        on_demand: let Kinesis size the shards itself (billed per GB, no shard planning).
        fan_out_consumer_name: register an enhanced fan-out consumer of this name (each gets
            2 MiB/s per shard of its own and push delivery); ``None`` for polling readers only.
        account_id: the account that administers the stream's key.
        tags: tags of every resource.
    """

    stream_name: str
    shard_count: int
    retention_hours: int
    account_id: str
    on_demand: bool = False
    fan_out_consumer_name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class Stream(pulumi.ComponentResource):
    """A KMS-encrypted Kinesis stream."""

    stream_name: pulumi.Output[str]
    stream_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    consumer_arn: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: StreamArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fds:stream:Stream", name, None, opts)

        key = customer_key(
            f"{name}-key",
            description=f"Encrypts the records of Kinesis stream {args.stream_name}",
            account_id=args.account_id,
            tags=args.tags,
            parent=self,
        )

        stream = aws.kinesis.Stream(
            f"{name}-stream",
            name=args.stream_name,
            shard_count=None if args.on_demand else args.shard_count,
            retention_period=args.retention_hours,
            stream_mode_details=aws.kinesis.StreamStreamModeDetailsArgs(
                stream_mode="ON_DEMAND" if args.on_demand else "PROVISIONED"
            ),
            encryption_type="KMS",
            kms_key_id=key.arn,
            # Per-shard metrics let the dashboard show which shard lags; a few cents a month.
            shard_level_metrics=["IncomingRecords", "IteratorAgeMilliseconds"],
            tags=with_name(args.tags, args.stream_name),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.consumer_arn = None
        if args.fan_out_consumer_name:
            consumer = aws.kinesis.StreamConsumer(
                f"{name}-consumer",
                name=args.fan_out_consumer_name,
                stream_arn=stream.arn,
                tags=with_name(args.tags, args.fan_out_consumer_name),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.consumer_arn = consumer.arn

        self.stream_name = stream.name
        self.stream_arn = stream.arn
        self.key_arn = key.arn
        self.register_outputs(
            {
                "streamName": stream.name,
                "streamArn": stream.arn,
                "keyArn": key.arn,
                "consumerArn": self.consumer_arn,
            }
        )
        logger.debug("stream %s declared", args.stream_name)
