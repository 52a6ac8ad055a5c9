"""Turning resource names into the ARNs and URLs the AWS APIs want."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from app.aws import AwsClients
from app.errors import AwsSetupError
from app.settings import ResourceNames


@dataclass(frozen=True)
class Resources:
    """Names plus the addresses derived from them."""

    names: ResourceNames
    alerts_topic_arn: str
    dead_letter_url: str


def resolve(clients: AwsClients, names: ResourceNames) -> Resources:
    """Look up the topic ARN and the queue URLs.

    Raises:
        AwsSetupError: a queue does not exist (on the local AWS: run ``fds local serve`` first).
    """
    # The caller's own identity needs no permission, so the consumer's role can stay minimal.
    sts_account = _account_id(clients)
    topic_arn = f"arn:aws:sns:{clients.region}:{sts_account}:{names.alerts_topic}"
    return Resources(
        names=names,
        alerts_topic_arn=topic_arn,
        dead_letter_url=_queue_url(clients, names.dead_letter_queue),
    )


def inbox_queue_url(clients: AwsClients, names: ResourceNames) -> str:
    """The operators' inbox: the queue subscribed to the alert topic (read by the demo)."""
    return _queue_url(clients, names.alerts_inbox_queue)


def _account_id(clients: AwsClients) -> str:
    return str(clients.sts.get_caller_identity()["Account"])


def _queue_url(clients: AwsClients, name: str) -> str:
    try:
        return str(clients.sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
            raise AwsSetupError(
                f"queue {name} does not exist at {clients.endpoint_url or 'AWS'}: start the local "
                "AWS with `fds local serve`, or deploy the stack"
            ) from error
        raise
