"""What a stack deploys, given its settings: the function the entry point and the tests run."""

from __future__ import annotations

from typing import Any

from app.settings import resource_names
from stacks.settings import StackSettings


def build(settings: StackSettings) -> dict[str, Any]:
    """Declare the stack's resources.

    The components (network, cluster, stream, tables, topic) slot in here, each given plain
    values from ``settings``; none reads config itself.

    Args:
        settings: the stack's validated settings.

    Returns:
        The stack outputs, by name; the entry point exports each of them.
    """
    # NOTE: the S3 bucket suffix stays empty for now, so two AWS accounts deploying the same
    # environment would collide on the decisions bucket's global name. The fix is to pass the
    # account id, from aws.get_caller_identity(), once the bucket component exists.
    names = resource_names(settings.environment)

    return {
        "environment": settings.environment,
        "region": settings.region,
        "names": names.model_dump(),
    }
