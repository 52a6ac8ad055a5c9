"""How operators hear of frauds: the alert topic, its subscribers, and the dead-letter queue."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.keys import customer_key
from components.tagging import with_name

logger = logging.getLogger(__name__)

#: Longest SQS keeps a message (14 days): time to look into a bad record after a holiday.
MAX_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class AlertsArgs:
    """The topic, its subscribers and the queues.

    Attributes:
        topic_name: SNS topic the consumer publishes each fraud to.
        inbox_queue_name: SQS queue subscribed to the topic (raw delivery), for whatever
            ticketing reads alerts as messages.
        dead_letter_queue_name: SQS queue where the consumer sets bad records aside.
        emails: addresses subscribed to the topic; each must confirm its subscription.
        account_id: the account that administers the key of the topic and the queues.
        tags: tags of every resource.
    """

    topic_name: str
    inbox_queue_name: str
    dead_letter_queue_name: str
    account_id: str
    emails: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class Alerts(pulumi.ComponentResource):
    """A KMS-encrypted SNS topic with e-mail and SQS subscribers, and the dead-letter queue."""

    topic_name: pulumi.Output[str]
    inbox_queue_name: pulumi.Output[str]
    dead_letter_queue_name: pulumi.Output[str]
    topic_arn: pulumi.Output[str]
    inbox_queue_arn: pulumi.Output[str]
    dead_letter_queue_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fds:alerts:Alerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # SNS must encrypt into the inbox queue and CloudWatch must publish its alarms to the
        # topic, both with this key, so the key policy lets those two services use it.
        key = customer_key(
            f"{name}-key",
            description=f"Encrypts the fraud alerts of SNS topic {args.topic_name} and its queues",
            account_id=args.account_id,
            tags=args.tags,
            parent=self,
            service_principals=("sns.amazonaws.com", "cloudwatch.amazonaws.com"),
        )

        topic = aws.sns.Topic(
            f"{name}-topic",
            name=args.topic_name,
            kms_master_key_id=key.arn,
            tags=with_name(args.tags, args.topic_name),
            opts=child,
        )

        for index, address in enumerate(args.emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}",
                topic=topic.arn,
                protocol="email",
                endpoint=address,
                opts=child,
            )

        inbox = aws.sqs.Queue(
            f"{name}-inbox",
            name=args.inbox_queue_name,
            kms_master_key_id=key.arn,
            # One data key per 5 minutes instead of per message: fewer KMS calls, same key.
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=MAX_RETENTION_SECONDS,
            tags=with_name(args.tags, args.inbox_queue_name),
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-inbox",
            queue_url=inbox.url,
            policy=pulumi.Output.all(inbox.arn, topic.arn).apply(
                lambda arns: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "AlertTopicDelivers",
                                "Effect": "Allow",
                                "Principal": {"Service": "sns.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": arns[0],
                                "Condition": {"ArnEquals": {"aws:SourceArn": arns[1]}},
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-inbox",
            topic=topic.arn,
            protocol="sqs",
            endpoint=inbox.arn,
            # The message as published, not wrapped in SNS's envelope: what the local inbox
            # queue receives too.
            raw_message_delivery=True,
            opts=child,
        )

        dead_letters = aws.sqs.Queue(
            f"{name}-dead-letters",
            name=args.dead_letter_queue_name,
            kms_master_key_id=key.arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=MAX_RETENTION_SECONDS,
            tags=with_name(args.tags, args.dead_letter_queue_name),
            opts=child,
        )

        self.topic_name = topic.name
        self.inbox_queue_name = inbox.name
        self.dead_letter_queue_name = dead_letters.name
        self.topic_arn = topic.arn
        self.inbox_queue_arn = inbox.arn
        self.dead_letter_queue_arn = dead_letters.arn
        self.key_arn = key.arn
        self.register_outputs(
            {
                "topicArn": topic.arn,
                "inboxQueueArn": inbox.arn,
                "deadLetterQueueArn": dead_letters.arn,
                "keyArn": key.arn,
            }
        )
        logger.debug("alerts %s declared with %d e-mail subscribers", name, len(args.emails))
