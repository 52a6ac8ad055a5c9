"""What the bootstrap stack deploys: GitHub's OIDC provider and the two roles of the workflows."""

from __future__ import annotations

import logging
from typing import Any

from bootstrap.settings import BootstrapSettings
from components.github_oidc import (
    DEPLOY_ROLE_NAME,
    PREVIEW_ROLE_NAME,
    GithubDeployRole,
    GithubDeployRoleArgs,
)
from components.state_backend import state_access_policy

logger = logging.getLogger(__name__)


def build(settings: BootstrapSettings) -> dict[str, Any]:
    """Declare the provider and the roles.

    Returns:
        The stack outputs: the roles' ARNs (for the repository's variables), the provider's ARN
        and the state backend the roles may use.

    Raises:
        ValueError: from :func:`components.github_oidc.github_subjects`, if a branch or an
            environment would widen the trust past a name.
    """
    tags = {"project": "fds", "purpose": "github-actions", "managed-by": "pulumi"}
    backend = settings.backend

    # Trusted by the deploy jobs only: their `sub` is the environment they run in, and the
    # environment's own rules decide which refs may run there (dev from main, prod from v*).
    deploy = GithubDeployRole(
        "fds-github-deploy",
        GithubDeployRoleArgs(
            repository=settings.repository,
            managed_policy_arns=settings.deploy_policy_arns,
            branches=settings.deploy_branches,
            tag_patterns=(),
            environments=settings.deploy_environments,
            existing_provider_arn=settings.existing_provider_arn or None,
            role_name=DEPLOY_ROLE_NAME,
            inline_policy=state_access_policy(backend, write=True),
            tags=tags,
        ),
    )

    # Trusted by pull-request jobs only, whose code nobody has reviewed yet: read-only rights,
    # and the state's lock files. Forks' pull requests get no OIDC token from GitHub at all.
    preview = GithubDeployRole(
        "fds-github-preview",
        GithubDeployRoleArgs(
            repository=settings.repository,
            managed_policy_arns=settings.preview_policy_arns,
            branches=(),
            tag_patterns=(),
            environments=(),
            pull_requests=True,
            existing_provider_arn=deploy.provider_arn,
            role_name=PREVIEW_ROLE_NAME,
            inline_policy=state_access_policy(backend, write=False),
            tags=tags,
        ),
    )

    logger.info("bootstrap for %s, state in %s", settings.repository, backend.url)
    return {
        "deployRoleArn": deploy.role_arn,
        "previewRoleArn": preview.role_arn,
        "oidcProviderArn": deploy.provider_arn,
        "stateBackend": backend.url,
    }
