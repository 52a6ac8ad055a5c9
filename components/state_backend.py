"""Where Pulumi keeps the stacks' state, and the IAM rights the CI roles need on it.

The backend is a setting, the same URL the CLI reads from ``PULUMI_BACKEND_URL``: Pulumi Cloud
(``https://api.pulumi.com``, or a self-hosted service's URL) or an S3 bucket
(``s3://<bucket>[/<prefix>][?region=...]``). Pulumi Cloud authenticates with its own access
token, so the roles need nothing from AWS for it; a bucket needs rights on its objects.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

#: S3's bucket naming rules, the ones that matter for an ARN: 3-63 of a-z, 0-9, '.', '-'.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: The self-managed backend's lock files, one per stack operation, under the state's prefix.
LOCKS_FOLDER = ".pulumi/locks/"


@dataclass(frozen=True)
class StateBackend:
    """A parsed backend URL.

    Attributes:
        kind: ``cloud`` for a Pulumi service, ``s3`` for a bucket.
        url: the URL as given, for ``PULUMI_BACKEND_URL``.
        bucket: the bucket's name (``s3`` only).
        prefix: the key prefix inside the bucket, ending in ``/`` or empty (``s3`` only).
    """

    kind: Literal["cloud", "s3"]
    url: str
    bucket: str = ""
    prefix: str = ""


def parse_backend_url(url: str) -> StateBackend:
    """Read a ``PULUMI_BACKEND_URL`` value.

    Raises:
        ValueError: for any other scheme (``file://`` state on a runner's disk is gone when the
            job ends), or an S3 URL without a valid bucket name.
    """
    parts = urlsplit(url.strip())
    if parts.scheme == "https" and parts.netloc:
        return StateBackend(kind="cloud", url=url.strip())
    if parts.scheme == "s3":
        if not _BUCKET.match(parts.netloc):
            raise ValueError(f"state backend {url!r}: {parts.netloc!r} is not an S3 bucket name")
        prefix = parts.path.strip("/")
        return StateBackend(
            kind="s3", url=url.strip(), bucket=parts.netloc, prefix=f"{prefix}/" if prefix else ""
        )
    raise ValueError(
        f"state backend {url!r}: expected https://api.pulumi.com (Pulumi Cloud) or "
        "s3://<bucket>[/<prefix>] (an S3 bucket)"
    )


def state_access_policy(backend: StateBackend, write: bool) -> str | None:
    """The policy a CI role needs on the state, or ``None`` when the backend is Pulumi Cloud.

    Args:
        backend: where the state is.
        write: ``True`` for a deploy role, which writes checkpoints and history; ``False`` for
            a preview role, which reads the state and only writes (and removes) lock files.
    """
    if backend.kind == "cloud":
        return None
    bucket_arn = f"arn:aws:s3:::{backend.bucket}"
    objects = f"{bucket_arn}/{backend.prefix}*"
    statements: list[dict[str, object]] = [
        {
            "Sid": "ListState",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": bucket_arn,
        },
        {"Sid": "ReadState", "Effect": "Allow", "Action": "s3:GetObject", "Resource": objects},
    ]
    # A preview takes the stack's lock like an update does, so even the read-only role writes
    # there, and only there.
    writable = objects if write else f"{bucket_arn}/{backend.prefix}{LOCKS_FOLDER}*"
    statements.append(
        {
            "Sid": "WriteState" if write else "LockState",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": writable,
        }
    )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
