"""The role GitHub Actions deploys with: GitHub's OIDC provider and a role only this repo may use.

The workflows under ``.github/workflows/`` hold no AWS keys. Each job that needs AWS asks GitHub
for an OIDC token and exchanges it with STS for this role's credentials; the trust policy decides
which jobs may, by the token's ``aud`` and ``sub`` claims.

This is a bootstrap resource: it must exist before the first workflow runs, and a stack must not
manage the role it is being deployed with (a broken ``pulumi up`` would lock CI out, a destroy
would delete the role mid-run). It is therefore declared by the bootstrap program
(``bootstrap/``), not by the stacks' program. An AWS account holds one provider per issuer URL, so
a second role in the same account passes the first one's ``existing_provider_arn``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.policies import web_identity_trust_policy
from components.tagging import with_name

logger = logging.getLogger(__name__)

#: GitHub Actions' token issuer, and the audience configure-aws-credentials asks tokens for.
GITHUB_ISSUER_HOST = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"

#: IAM names of the two roles the bootstrap program creates: the workflows' settings hold their
#: ARNs, and the stacks give them access to the cluster by these names.
DEPLOY_ROLE_NAME = "fds-github-deploy"
PREVIEW_ROLE_NAME = "fds-github-preview"

_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
# A claim value may hold IAM's StringLike wildcards (`v*`), nothing that widens it past a name.
_CLAIM_PART = re.compile(r"^[A-Za-z0-9._/*-]+$")


def github_subjects(
    repository: str,
    branches: Sequence[str],
    tag_patterns: Sequence[str],
    environments: Sequence[str],
    pull_requests: bool = False,
) -> list[str]:
    """The ``sub`` claims the role accepts, one per branch, tag pattern and environment.

    A job that names an ``environment:`` gets ``repo:<owner>/<name>:environment:<env>`` as its
    subject instead of its ref, so the environments are listed on their own. A pull request's
    job gets ``repo:<owner>/<name>:pull_request``, accepted only with ``pull_requests``: for a
    read-only preview role, never for the deploy role.

    Raises:
        ValueError: if the repository is not ``owner/name`` or a part is empty or too wide.
    """
    if not _REPOSITORY.match(repository):
        raise ValueError(f"GitHub repository {repository!r}: expected owner/name")
    parts = [*branches, *tag_patterns, *environments]
    if not parts and not pull_requests:
        raise ValueError("GitHub deploy role: name at least one branch, tag or environment")
    for part in parts:
        if not _CLAIM_PART.match(part) or part.strip("*") == "":
            raise ValueError(f"GitHub deploy role: {part!r} is not a branch, tag or environment")
    prefix = f"repo:{repository}"
    return [
        *(f"{prefix}:ref:refs/heads/{branch}" for branch in branches),
        *(f"{prefix}:ref:refs/tags/{tag}" for tag in tag_patterns),
        *(f"{prefix}:environment:{environment}" for environment in environments),
        *([f"{prefix}:pull_request"] if pull_requests else []),
    ]


def github_trust_policy(provider_arn: str, subjects: Sequence[str]) -> str:
    """The trust policy: tokens from GitHub's provider, minted for STS, with a listed subject."""
    return web_identity_trust_policy(
        provider_arn,
        {
            "StringEquals": {f"{GITHUB_ISSUER_HOST}:aud": GITHUB_AUDIENCE},
            # StringLike for the `v*` tag pattern; every other subject is exact.
            "StringLike": {f"{GITHUB_ISSUER_HOST}:sub": list(subjects)},
        },
    )


@dataclass(frozen=True)
class GithubDeployRoleArgs:
    """Which repository's workflows may deploy, from where, and with what rights.

    Attributes:
        repository: the GitHub repository, ``owner/name``.
        managed_policy_arns: managed policies of the role. The stacks create IAM roles, a
            cluster and KMS keys, so deploying them takes administrator-level rights.
        branches: branches whose pushes may assume the role.
        tag_patterns: tags (IAM wildcards allowed) whose pushes may assume the role.
        environments: GitHub environments whose jobs may assume the role.
        pull_requests: let pull-request jobs assume it (their code is unreviewed): only for a
            preview role with read-only policies. GitHub gives forks' pull requests no token.
        existing_provider_arn: the account's GitHub OIDC provider if it already exists;
            ``None`` creates it.
        max_session_seconds: longest session the role grants (a prod `pulumi up` takes ~20 min).
        role_name: the role's IAM name, fixed so that the workflows' settings and the stacks'
            cluster access can name it; ``None`` lets Pulumi generate one.
        inline_policy: a policy document (JSON) the role holds besides the managed ones, for
            rights on named resources such as the state bucket; ``None`` for none.
        tags: tags of the role and the provider.
    """

    repository: str
    managed_policy_arns: Sequence[str]
    branches: Sequence[str] = ("main",)
    tag_patterns: Sequence[str] = ("v*",)
    environments: Sequence[str] = ("dev", "prod")
    pull_requests: bool = False
    existing_provider_arn: pulumi.Input[str] | None = None
    max_session_seconds: int = 3600
    role_name: str | None = None
    inline_policy: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class GithubDeployRole(pulumi.ComponentResource):
    """GitHub's OIDC provider (unless given) and a role only the named refs may assume."""

    provider_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: GithubDeployRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fds:github:GithubDeployRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        subjects = github_subjects(
            args.repository,
            args.branches,
            args.tag_patterns,
            args.environments,
            args.pull_requests,
        )
        if not args.managed_policy_arns and args.inline_policy is None:
            raise ValueError(f"GitHub deploy role {name}: give it a policy to attach")

        provider_arn: pulumi.Output[str]
        if args.existing_provider_arn is None:
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-oidc",
                url=f"https://{GITHUB_ISSUER_HOST}",
                client_id_lists=[GITHUB_AUDIENCE],
                tags=with_name(args.tags, f"{name}-oidc"),
                opts=child,
            )
            provider_arn = provider.arn
        else:
            provider_arn = pulumi.Output.from_input(args.existing_provider_arn)

        assume: pulumi.Output[Any] = provider_arn.apply(
            lambda arn: github_trust_policy(arn, subjects)
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            assume_role_policy=assume,
            description=f"Assumed by the GitHub Actions workflows of {args.repository}",
            max_session_duration=args.max_session_seconds,
            tags=with_name(args.tags, f"{name}-role"),
            opts=child,
        )
        for arn in args.managed_policy_arns:
            aws.iam.RolePolicyAttachment(
                f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=child
            )
        if args.inline_policy is not None:
            aws.iam.RolePolicy(
                f"{name}-inline", role=role.name, policy=args.inline_policy, opts=child
            )

        self.provider_arn = provider_arn
        self.role_arn = role.arn
        self.role_name = role.name
        self.register_outputs({"providerArn": provider_arn, "roleArn": role.arn})
        logger.debug("GitHub deploy role %s for %s", name, args.repository)
