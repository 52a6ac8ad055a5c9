"""The operators' hands on the block list: list, show, and unblock with a recorded reason.

An unblock deletes the account's entry and writes an audit record (who, when, why, and the
entry removed) to the decisions bucket under ``audit/unblocks/``. Consumers re-read the whole
block list every few seconds (``FDS_BLOCKLIST_REFRESH_SECONDS``), so an unblock takes effect
within that time.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from app.aws import AwsClients
from app.errors import FdsError
from app.settings import ResourceNames

logger = logging.getLogger(__name__)

UNBLOCKS_PREFIX = "audit/unblocks/"
_ACCOUNT = re.compile(r"^C[0-9]{1,20}$")


class NotBlockedError(FdsError):
    """The account is not on the block list; ``unblocks`` are its recorded past unblocks."""

    def __init__(self, message: str, unblocks: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.unblocks = unblocks or []


def check_account(account: str) -> str:
    """The account id as given, if it has the shape of a customer account.

    Raises:
        FdsError: it does not (only customer accounts, C followed by digits, are blocked).
    """
    if not _ACCOUNT.match(account):
        raise FdsError(
            f"{account!r} is not a customer account id: expected C followed by digits, "
            "like C1231006815"
        )
    return account


def list_blocked(clients: AwsClients, names: ResourceNames) -> Iterator[dict[str, Any]]:
    """Every block-list entry, as plain values."""
    pages = clients.dynamodb.get_paginator("scan").paginate(TableName=names.blocklist_table)
    for page in pages:
        for item in page["Items"]:
            yield _plain(item)


def show_blocked(clients: AwsClients, names: ResourceNames, account: str) -> dict[str, Any]:
    """The account's entry and its past unblocks.

    Raises:
        NotBlockedError: it is not blocked (its past unblocks are in the message).
    """
    item = clients.dynamodb.get_item(
        TableName=names.blocklist_table, Key={"account": {"S": check_account(account)}}
    ).get("Item")
    history = list(unblock_history(clients, names, account))
    if item is None:
        past = f"; unblocked {len(history)} time(s) before" if history else ""
        raise NotBlockedError(f"{account} is not on the block list{past}", history)
    return {**_plain(item), "unblocks": history}


def unblock(
    clients: AwsClients, names: ResourceNames, account: str, reason: str, by: str | None = None
) -> dict[str, Any]:
    """Take the account off the block list and record who did it, when and why.

    Returns:
        The audit record written.

    Raises:
        NotBlockedError: the account is not blocked (nothing is recorded).
        FdsError: the reason is empty.
    """
    check_account(account)
    if not reason.strip():
        raise FdsError(
            "give the reason for the unblock with --reason, "
            "e.g. --reason 'customer verified by phone'"
        )
    try:
        removed = clients.dynamodb.delete_item(
            TableName=names.blocklist_table,
            Key={"account": {"S": account}},
            ConditionExpression="attribute_exists(account)",
            ReturnValues="ALL_OLD",
        )["Attributes"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise NotBlockedError(f"{account} is not on the block list") from error
        raise
    now = time.time()
    record = {
        "account": account,
        "unblocked_by": by or _caller(clients),
        "unblocked_at": now,
        "unblocked_at_utc": datetime.fromtimestamp(now, tz=UTC).isoformat(),
        "reason": reason.strip(),
        "removed_entry": _plain(removed),
    }
    key = f"{UNBLOCKS_PREFIX}{account}/{record['unblocked_at_utc']}.json"
    clients.s3.put_object(
        Bucket=names.decisions_bucket,
        Key=key,
        Body=json.dumps(record).encode(),
        ContentType="application/json",
    )
    logger.warning("%s unblocked by %s: %s", account, record["unblocked_by"], record["reason"])
    return record


def unblock_history(
    clients: AwsClients, names: ResourceNames, account: str
) -> Iterator[dict[str, Any]]:
    """The account's recorded unblocks, oldest first."""
    pages = clients.s3.get_paginator("list_objects_v2").paginate(
        Bucket=names.decisions_bucket, Prefix=f"{UNBLOCKS_PREFIX}{account}/"
    )
    for page in pages:
        for item in page.get("Contents", []):
            body = clients.s3.get_object(Bucket=names.decisions_bucket, Key=item["Key"])["Body"]
            yield json.loads(body.read())


def _caller(clients: AwsClients) -> str:
    """Who is running this, as AWS knows them."""
    try:
        return str(clients.sts.get_caller_identity()["Arn"])
    except ClientError:
        return "unknown"


def _plain(item: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A DynamoDB item as JSON-ready values (numbers as int or float, never Decimal)."""
    plain: dict[str, Any] = {}
    for name, typed in item.items():
        ((kind, value),) = typed.items()
        if kind == "N":
            number = Decimal(value)
            plain[name] = int(number) if number == number.to_integral_value() else float(number)
        else:
            plain[name] = value
    return plain
