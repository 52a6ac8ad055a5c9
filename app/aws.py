"""boto3 clients for FDS, pointed at real AWS or at the embedded local AWS.

Which one is decided by the standard ``AWS_ENDPOINT_URL`` variable (or an explicit endpoint):
when it is set, every client talks to that endpoint; when it is not, boto3 reaches real AWS with
its usual credential chain. Clients are created here once and passed down, so tests can hand in
their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from app.errors import AwsSetupError
from app.settings import ENDPOINT_ENV, LOCAL_CREDENTIALS, Settings

#: Adaptive retries back off on throttling (Kinesis, DynamoDB, SNS) with jitter; the pool is
#: larger than botocore's 10 because each shard reader and the producer run their own calls.
_CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=32,
)


@dataclass(frozen=True)
class AwsClients:
    """The service clients FDS uses, all in one region and against one endpoint."""

    kinesis: Any
    dynamodb: Any
    s3: Any
    sns: Any
    sqs: Any
    sts: Any
    endpoint_url: str | None
    region: str


def endpoint_from_environment() -> str | None:
    """The endpoint set in ``AWS_ENDPOINT_URL``, or ``None`` for real AWS."""
    return os.environ.get(ENDPOINT_ENV) or None


def is_loopback(endpoint_url: str | None) -> bool:
    host = urlparse(endpoint_url or "").hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def _check_endpoint(endpoint_url: str) -> None:
    """Refuse an endpoint boto3 would fail on with a traceback, saying how to fix it."""
    fix = f"set {ENDPOINT_ENV}=http://127.0.0.1:4566 for the local AWS, or unset it for AWS"
    try:
        parsed = urlparse(endpoint_url)
    except ValueError as error:  # e.g. an unclosed [ of an IPv6 address
        raise AwsSetupError(f"endpoint {endpoint_url!r} is not a URL ({error}): {fix}") from error
    if parsed.scheme not in {"http", "https"}:
        raise AwsSetupError(f"endpoint {endpoint_url!r} has no http:// or https:// scheme: {fix}")
    try:
        port = parsed.port
    except ValueError as error:  # not a number, or out of range
        raise AwsSetupError(_bad_port(endpoint_url, fix)) from error
    if port == 0:
        raise AwsSetupError(_bad_port(endpoint_url, fix))
    if not parsed.hostname:
        raise AwsSetupError(f"endpoint {endpoint_url!r} has no host name: {fix}")


def _bad_port(endpoint_url: str, fix: str) -> str:
    return (
        f"endpoint {endpoint_url!r} has an invalid port: after the host put a number from 1 to "
        f"65535, or none for the scheme's default; {fix}"
    )


def make_clients(settings: Settings, endpoint_url: str | None = None) -> AwsClients:
    """Create every client FDS needs.

    Args:
        settings: gives the region.
        endpoint_url: overrides ``AWS_ENDPOINT_URL``; ``None`` reads the variable.
    """
    endpoint_url = endpoint_url or endpoint_from_environment()
    if endpoint_url:
        _check_endpoint(endpoint_url)
    credentials: dict[str, str] = {}
    if is_loopback(endpoint_url) and not os.environ.get("AWS_ACCESS_KEY_ID"):
        # The embedded AWS accepts any key, but boto3 will not sign a request without one.
        credentials = {
            "aws_access_key_id": LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        }
    session = boto3.session.Session(region_name=settings.region, **credentials)

    def client(service: str) -> Any:
        config = _CLIENT_CONFIG
        if service == "s3" and endpoint_url:
            # Bucket names as host names (the default) do not resolve on a loopback address.
            config = config.merge(Config(s3={"addressing_style": "path"}))
        return session.client(service, endpoint_url=endpoint_url, config=config)

    return AwsClients(
        kinesis=client("kinesis"),
        dynamodb=client("dynamodb"),
        s3=client("s3"),
        sns=client("sns"),
        sqs=client("sqs"),
        sts=client("sts"),
        endpoint_url=endpoint_url,
        region=settings.region,
    )


#: The codes AWS answers with when a named resource does not exist, service by service.
MISSING_RESOURCE_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "NoSuchBucket",
        "404",
        "NotFound",
        "AWS.SimpleQueueService.NonExistentQueue",
    }
)


def error_code(error: Exception) -> str:
    """The AWS error code of a failed call, or the kind of failure when AWS did not answer."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return f"{type(error).__name__}: {error}"
