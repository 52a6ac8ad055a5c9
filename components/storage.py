"""What the consumer keeps: the block list, its place in each shard, and the decisions log."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.keys import customer_key
from components.tagging import with_name

logger = logging.getLogger(__name__)

#: Key prefix of the decisions log's objects; the consumer may write nowhere else.
DECISIONS_PREFIX = "decisions/"
#: Attribute of the checkpoint table's alerts-ledger items that holds when they expire.
LEDGER_EXPIRY_ATTRIBUTE = "expires_at"


@dataclass(frozen=True)
class StorageArgs:
    """Names and protection of the consumer's tables and bucket.

    Attributes:
        blocklist_table: DynamoDB table of blocked accounts, keyed by ``account``.
        checkpoint_table: DynamoDB table of the consumer's progress, keyed by ``shard_id``: each
            shard's last processed sequence number, and the alerts ledger (which frauds' alerts
            went out), whose items expire through the table's TTL on ``expires_at``.
        decisions_bucket: S3 bucket of the decisions log (one JSON-lines object per batch).
        decisions_retention_days: days a decisions object is kept before it expires.
        protected: deletion protection on the tables and the bucket, point-in-time recovery on
            the tables; off in dev so that `pulumi destroy` leaves nothing.
        account_id: the account that administers the bucket's key.
        tags: tags of every resource.
    """

    blocklist_table: str
    checkpoint_table: str
    decisions_bucket: str
    decisions_retention_days: int
    protected: bool
    account_id: str
    tags: Mapping[str, str] = field(default_factory=dict)


class Storage(pulumi.ComponentResource):
    """Two DynamoDB tables and the decisions bucket, encrypted at rest."""

    blocklist_table_name: pulumi.Output[str]
    checkpoint_table_name: pulumi.Output[str]
    decisions_bucket_name: pulumi.Output[str]
    blocklist_table_arn: pulumi.Output[str]
    checkpoint_table_arn: pulumi.Output[str]
    decisions_bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fds:storage:Storage", name, None, opts)
        # In prod Pulumi refuses to delete these, on top of AWS's own deletion protection.
        kept = pulumi.ResourceOptions(parent=self, protect=args.protected)

        blocklist = self._table(f"{name}-blocklist", args.blocklist_table, "account", args, kept)
        checkpoints = self._table(
            f"{name}-checkpoints",
            args.checkpoint_table,
            "shard_id",
            args,
            kept,
            expiry_attribute=LEDGER_EXPIRY_ATTRIBUTE,
        )

        key = customer_key(
            f"{name}-key",
            description=f"Encrypts the decisions log in S3 bucket {args.decisions_bucket}",
            account_id=args.account_id,
            tags=args.tags,
            parent=self,
        )
        bucket = aws.s3.Bucket(
            f"{name}-decisions",
            bucket=args.decisions_bucket,
            # Dev's log is disposable, so destroy empties it; prod's bucket must be emptied by
            # hand before it can go.
            force_destroy=not args.protected,
            tags=with_name(args.tags, args.decisions_bucket),
            opts=kept,
        )
        child = pulumi.ResourceOptions(parent=self)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-decisions",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-decisions",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-decisions",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    # A bucket key cuts the KMS calls (and their cost) of one object per batch.
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        # Decisions are read when an incident is looked into, seldom after a month: cheaper
        # storage then, and gone after the retention period.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-decisions",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="decisions-age-out",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(
                        prefix=DECISIONS_PREFIX
                    ),
                    transitions=[
                        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                            days=30, storage_class="STANDARD_IA"
                        )
                    ]
                    if args.decisions_retention_days > 30
                    else None,
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.decisions_retention_days
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abandoned-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                ),
            ],
            opts=child,
        )

        self.blocklist_table_name = blocklist.name
        self.checkpoint_table_name = checkpoints.name
        self.decisions_bucket_name = bucket.bucket
        self.blocklist_table_arn = blocklist.arn
        self.checkpoint_table_arn = checkpoints.arn
        self.decisions_bucket_arn = bucket.arn
        self.key_arn = key.arn
        self.register_outputs(
            {
                "blocklistTableArn": blocklist.arn,
                "checkpointTableArn": checkpoints.arn,
                "decisionsBucketArn": bucket.arn,
                "keyArn": key.arn,
            }
        )
        logger.debug("storage %s declared (protected=%s)", name, args.protected)

    def _table(
        self,
        resource_name: str,
        table_name: str,
        key: str,
        args: StorageArgs,
        opts: pulumi.ResourceOptions,
        expiry_attribute: str | None = None,
    ) -> aws.dynamodb.Table:
        """An on-demand table keyed by one string attribute; items with ``expiry_attribute``
        (epoch seconds) are removed by DynamoDB once that time has passed."""
        return aws.dynamodb.Table(
            resource_name,
            name=table_name,
            hash_key=key,
            attributes=[aws.dynamodb.TableAttributeArgs(name=key, type="S")],
            # Traffic follows the stream's, in bursts: on-demand needs no capacity planning.
            billing_mode="PAY_PER_REQUEST",
            # The AWS managed key (aws/dynamodb): encrypted at rest, and reading the table needs
            # no key permission in the consumer's policy.
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(
                enabled=args.protected
            ),
            deletion_protection_enabled=args.protected,
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=expiry_attribute, enabled=True)
            if expiry_attribute
            else None,
            tags=with_name(args.tags, table_name),
            opts=opts,
        )
