"""Autoscaling of the consumer with KEDA: the operator, its IAM role, and the scaling rule.

The consumer scales on two triggers: the stream's lag (the age of the oldest record read,
from CloudWatch) and the stream's open shard count. It never goes below one replica, since
the lag metric is only published while someone reads, and never above the shard count,
since a shard is read by one consumer at a time and a replica more would sit idle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.irsa import IrsaRole, IrsaRoleArgs

logger = logging.getLogger(__name__)

#: The official chart, pinned: the CRD schemas the tests validate against are this version's.
KEDA_CHART_REPOSITORY = "https://kedacore.github.io/charts"
KEDA_CHART = "keda"
KEDA_CHART_VERSION = "2.20.2"
KEDA_NAMESPACE = "keda"
#: The chart's name for the operator's service account, which is the one that calls AWS.
KEDA_OPERATOR_SERVICE_ACCOUNT = "keda-operator"


@dataclass(frozen=True)
class AutoscalingArgs:
    """What scales, on which stream, within which bounds.

    Attributes:
        namespace: the consumer's namespace.
        deployment_name: the consumer's Deployment.
        stream_name: the Kinesis stream whose lag and shards drive the scaling.
        region: the stream's region.
        shard_count: the stream's shards, the most replicas that help.
        lag_target_ms: lag per replica KEDA aims for, in milliseconds of iterator age.
        keda_policy: the operator role's IAM policy, as JSON text.
        oidc_provider_arn: ARN of the cluster's IAM OIDC provider.
        oidc_issuer: the cluster's OIDC issuer.
        node_selector: node labels for the KEDA pods (the on-demand nodes, when there are any).
        labels: labels of the consumer-side objects.
        tags: AWS tags of the operator's role.
    """

    namespace: str
    deployment_name: str
    stream_name: pulumi.Input[str]
    region: str
    shard_count: int
    keda_policy: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    lag_target_ms: int = 5_000
    node_selector: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


def trigger_authentication_manifest(args: AutoscalingArgs) -> dict[str, Any]:
    """Credentials for the AWS triggers: the KEDA operator's own IRSA role."""
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {
            "name": f"{args.deployment_name}-aws",
            "namespace": args.namespace,
            "labels": dict(args.labels),
        },
        # `aws` (not the deprecated `aws-eks`); the operator, not the consumer, asks AWS.
        "spec": {"podIdentity": {"provider": "aws", "identityOwner": "keda"}},
    }


def scaled_object_manifest(args: AutoscalingArgs) -> dict[str, Any]:
    """The consumer's scaling rule: lag and shard count, between 1 and the shard count."""
    authentication = {"name": f"{args.deployment_name}-aws"}
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {
            "name": args.deployment_name,
            "namespace": args.namespace,
            "labels": dict(args.labels),
        },
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": args.deployment_name,
            },
            "minReplicaCount": 1,
            "maxReplicaCount": args.shard_count,
            # CloudWatch publishes the lag once a minute; polling faster only costs API calls.
            "pollingInterval": 60,
            # A replica more is cheap, one too few is lag: scale in only after 5 quiet minutes.
            "cooldownPeriod": 300,
            "triggers": [
                {
                    "type": "aws-cloudwatch",
                    "name": "stream-lag",
                    "authenticationRef": authentication,
                    "metadata": {
                        "namespace": "AWS/Kinesis",
                        "metricName": "GetRecords.IteratorAgeMilliseconds",
                        "dimensionName": "StreamName",
                        "dimensionValue": args.stream_name,
                        "metricStat": "Maximum",
                        "metricStatPeriod": "60",
                        "metricCollectionTime": "300",
                        "targetMetricValue": str(args.lag_target_ms),
                        "minMetricValue": "0",
                        "awsRegion": args.region,
                    },
                },
                {
                    # Targets ceil(open shards / shardCount) replicas: with 1, one per shard
                    # once lag has asked for them; it never looks at lag itself.
                    "type": "aws-kinesis-stream",
                    "name": "stream-shards",
                    "authenticationRef": authentication,
                    "metadata": {
                        "streamName": args.stream_name,
                        "shardCount": "1",
                        "activationShardCount": "1",
                        "awsRegion": args.region,
                    },
                },
            ],
        },
    }


def keda_values(role_arn: pulumi.Input[str], node_selector: Mapping[str, str]) -> dict[str, Any]:
    """The chart values: the operator assumes its role through IRSA."""
    return {
        "podIdentity": {"aws": {"irsa": {"enabled": True, "roleArn": role_arn}}},
        "nodeSelector": dict(node_selector),
    }


class Autoscaling(pulumi.ComponentResource):
    """KEDA installed from its chart, and the consumer's ScaledObject."""

    operator_role_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: AutoscalingArgs,
        provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fds:keda:Autoscaling", name, None, opts)
        in_cluster = pulumi.ResourceOptions(parent=self, provider=provider)
        if args.shard_count < 1:
            raise ValueError(f"autoscaling {name}: shard count {args.shard_count} is below 1")

        role = IrsaRole(
            f"{name}-operator-irsa",
            IrsaRoleArgs(
                namespace=KEDA_NAMESPACE,
                service_account=KEDA_OPERATOR_SERVICE_ACCOUNT,
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_issuer=args.oidc_issuer,
                policy=args.keda_policy,
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        release = k8s.helm.v3.Release(
            f"{name}-keda",
            name="keda",
            chart=KEDA_CHART,
            version=KEDA_CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=KEDA_CHART_REPOSITORY),
            namespace=KEDA_NAMESPACE,
            create_namespace=True,
            values=keda_values(role.role_arn, args.node_selector),
            # The release is ready only when its CRDs and webhooks are; the objects below need both.
            atomic=True,
            opts=in_cluster,
        )
        after_keda = pulumi.ResourceOptions.merge(
            in_cluster, pulumi.ResourceOptions(depends_on=[release])
        )

        authentication = trigger_authentication_manifest(args)
        k8s.apiextensions.CustomResource(
            f"{name}-trigger-authentication",
            api_version=authentication["apiVersion"],
            kind=authentication["kind"],
            metadata=authentication["metadata"],
            spec=authentication["spec"],
            opts=after_keda,
        )

        scaled = scaled_object_manifest(args)
        k8s.apiextensions.CustomResource(
            f"{name}-scaled-object",
            api_version=scaled["apiVersion"],
            kind=scaled["kind"],
            metadata=scaled["metadata"],
            spec=scaled["spec"],
            opts=after_keda,
        )

        self.operator_role_arn = role.role_arn
        self.register_outputs({"operatorRoleArn": role.role_arn})
        logger.debug("autoscaling %s: 1 to %d replicas", name, args.shard_count)
