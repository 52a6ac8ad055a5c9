"""IAM roles for Kubernetes service accounts (IRSA): one role per service account."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.policies import web_identity_trust_policy
from components.tagging import with_name

logger = logging.getLogger(__name__)


def trust_policy(provider_arn: str, issuer: str, namespace: str, service_account: str) -> str:
    """The role's trust policy: only this service account's tokens, issued for STS.

    Args:
        provider_arn: ARN of the cluster's IAM OIDC provider.
        issuer: the OIDC issuer, with or without ``https://``.
        namespace: the service account's namespace.
        service_account: the service account's name.
    """
    host = issuer.removeprefix("https://")
    if not host or host == "None":
        raise ValueError(
            f"IRSA role for {namespace}/{service_account}: the cluster's OIDC issuer is "
            f"{issuer!r}; create the cluster with its OIDC provider"
        )
    # Both claims: `sub` pins the one service account, `aud` that the token was minted for
    # STS and not for some other audience.
    return web_identity_trust_policy(
        provider_arn,
        {
            "StringEquals": {
                f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{host}:aud": "sts.amazonaws.com",
            }
        },
    )


@dataclass(frozen=True)
class IrsaRoleArgs:
    """Whose role it is and what it may do.

    Attributes:
        namespace: the Kubernetes namespace of the service account.
        service_account: the service account's name.
        oidc_provider_arn: ARN of the cluster's IAM OIDC provider.
        oidc_issuer: the cluster's OIDC issuer URL (``https://`` optional).
        policy: the role's inline policy, as JSON text; ``None`` for managed policies only.
        managed_policy_arns: AWS managed policies to attach, for agents AWS defines the needs of.
        tags: tags of the role.
    """

    namespace: str
    service_account: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    policy: pulumi.Input[str] | None = None
    managed_policy_arns: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class IrsaRole(pulumi.ComponentResource):
    """An IAM role that exactly one Kubernetes service account may assume."""

    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: IrsaRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fds:irsa:IrsaRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        assume: pulumi.Output[Any] = pulumi.Output.all(
            args.oidc_provider_arn, args.oidc_issuer
        ).apply(
            lambda found: trust_policy(found[0], found[1], args.namespace, args.service_account)
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume,
            description=f"Assumed by Kubernetes service account "
            f"{args.namespace}/{args.service_account}",
            tags=with_name(args.tags, f"{name}-role"),
            opts=child,
        )
        if args.policy is None and not args.managed_policy_arns:
            raise ValueError(f"IRSA role {name}: give it a policy or a managed policy to attach")
        if args.policy is not None:
            aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=args.policy, opts=child)
        for arn in args.managed_policy_arns:
            aws.iam.RolePolicyAttachment(
                f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=child
            )

        self.role_arn = role.arn
        self.register_outputs({"roleArn": role.arn})
        logger.debug("IRSA role %s for %s/%s", name, args.namespace, args.service_account)
