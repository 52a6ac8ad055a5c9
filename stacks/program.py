"""What a stack deploys, given its settings: the function the entry point and the tests run."""

from __future__ import annotations

import logging
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from app.settings import Settings, resource_names
from components.alerts import Alerts, AlertsArgs
from components.cluster import (
    CAPACITY_LABEL,
    CLUSTER_ADMIN_POLICY,
    CLUSTER_VIEW_POLICY,
    Cluster,
    ClusterAccess,
    ClusterArgs,
    NodeGroupSize,
)
from components.github_oidc import DEPLOY_ROLE_NAME, PREVIEW_ROLE_NAME
from components.keda import Autoscaling, AutoscalingArgs
from components.network import Network, NetworkArgs
from components.observability import Observability, ObservabilityArgs
from components.policies import ConsumerAccess, consumer_policy, keda_policy
from components.registry import Registry, RegistryArgs
from components.storage import DECISIONS_PREFIX, Storage, StorageArgs
from components.stream import Stream, StreamArgs
from components.workload import Workload, WorkloadArgs
from stacks.settings import StackConfigError, StackSettings

logger = logging.getLogger(__name__)

#: Kubernetes namespace and Deployment of the consumer.
CONSUMER_NAMESPACE = "fds"
CONSUMER_NAME = "fds-consumer"


def build(settings: StackSettings) -> dict[str, Any]:
    """Declare the stack's resources.

    Every component gets plain values from ``settings``; none reads config itself.

    Args:
        settings: the stack's validated settings.

    Returns:
        The stack outputs, by name; the entry point exports each of them.

    Raises:
        StackConfigError: if the region has fewer zones than fds:availabilityZoneCount.
    """
    environment = settings.environment
    prefix = f"fds-{environment}"
    # The account id makes the bucket's globally unique name differ between accounts that
    # deploy the same environment.
    account_id = aws.get_caller_identity().account_id
    names = resource_names(environment, account_id)
    tags = {"project": "fds", "environment": environment, "managed-by": "pulumi"}
    labels = {"app.kubernetes.io/part-of": "fds", "fds/environment": environment}
    zones = _zones(settings)

    network = Network(
        f"{prefix}-network",
        NetworkArgs(
            cidr_block=settings.vpc_cidr,
            availability_zones=zones,
            nat_per_zone=settings.nat_per_zone,
            cluster_name=prefix,
            tags=tags,
        ),
    )

    cluster = Cluster(
        f"{prefix}-cluster",
        ClusterArgs(
            cluster_name=prefix,
            kubernetes_version=settings.kubernetes_version,
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            private_subnet_ids=network.private_subnet_ids,
            spot_instance_types=settings.spot_instance_types,
            spot_size=NodeGroupSize(
                min=settings.node_min_size,
                desired=settings.node_desired_size,
                max=settings.node_max_size,
            ),
            system_node_count=settings.system_node_count,
            system_instance_type=settings.system_instance_type,
            access=_workflow_access(account_id) if settings.github_actions_access else (),
            tags=tags,
        ),
    )

    registry = Registry(
        f"{prefix}-registry",
        RegistryArgs(
            repository_name=f"{prefix}-consumer",
            force_delete=not settings.protect_data,
            tags=tags,
        ),
    )

    fan_out = settings.read_mode == "fan-out"
    consumer_name = str(Settings.model_fields["stream_consumer_name"].default)
    stream = Stream(
        f"{prefix}-stream",
        StreamArgs(
            stream_name=names.stream,
            shard_count=settings.shard_count,
            retention_hours=settings.retention_hours,
            on_demand=settings.stream_mode == "on-demand",
            fan_out_consumer_name=consumer_name if fan_out else None,
            account_id=account_id,
            tags=tags,
        ),
    )

    storage = Storage(
        f"{prefix}-storage",
        StorageArgs(
            blocklist_table=names.blocklist_table,
            checkpoint_table=names.checkpoint_table,
            decisions_bucket=names.decisions_bucket,
            decisions_retention_days=settings.decisions_retention_days,
            protected=settings.protect_data,
            account_id=account_id,
            tags=tags,
        ),
    )

    alerts = Alerts(
        f"{prefix}-alerts",
        AlertsArgs(
            topic_name=names.alerts_topic,
            inbox_queue_name=names.alerts_inbox_queue,
            dead_letter_queue_name=names.dead_letter_queue,
            emails=settings.alert_emails,
            account_id=account_id,
            tags=tags,
        ),
    )

    # Every Kubernetes object waits for nodes: KEDA's chart is installed atomically, which
    # needs its pods scheduled.
    node_groups = [group for group in (cluster.spot_nodes, cluster.system_nodes) if group]
    kubernetes = k8s.Provider(
        f"{prefix}-kubernetes",
        kubeconfig=cluster.kubeconfig,
        opts=pulumi.ResourceOptions(depends_on=node_groups),
    )

    policy = pulumi.Output.all(
        stream.stream_arn,
        stream.consumer_arn,
        storage.blocklist_table_arn,
        storage.checkpoint_table_arn,
        storage.decisions_bucket_arn,
        alerts.topic_arn,
        alerts.dead_letter_queue_arn,
        stream.key_arn,
        storage.key_arn,
        alerts.key_arn,
    ).apply(
        lambda arns: consumer_policy(
            ConsumerAccess(
                stream_arn=arns[0],
                consumer_arn=arns[1],
                table_arns=[arns[2], arns[3]],
                decisions_bucket_arn=arns[4],
                decisions_prefix=DECISIONS_PREFIX,
                topic_arn=arns[5],
                dead_letter_queue_arn=arns[6],
                key_arns=arns[7:10],
            )
        )
    )

    image = pulumi.Output.concat(registry.repository_url, ":", settings.image_tag)
    metrics_port = int(Settings.model_fields["metrics_port"].default)
    workload = Workload(
        f"{prefix}-consumer",
        WorkloadArgs(
            namespace=CONSUMER_NAMESPACE,
            name=CONSUMER_NAME,
            image=image,
            environment=consumer_environment(
                settings, account_id, stream, storage, alerts, consumer_name, metrics_port
            ),
            metrics_port=metrics_port,
            policy=policy,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            node_selector={CAPACITY_LABEL: "spot"},
            labels=labels,
            tags=tags,
        ),
        provider=kubernetes,
    )

    autoscaling = Autoscaling(
        f"{prefix}-autoscaling",
        AutoscalingArgs(
            namespace=CONSUMER_NAMESPACE,
            deployment_name=workload.deployment_name,
            stream_name=stream.stream_name,
            region=settings.region,
            shard_count=settings.shard_count,
            keda_policy=stream.stream_arn.apply(keda_policy),
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            node_selector={CAPACITY_LABEL: "on-demand"} if cluster.system_nodes else {},
            labels=labels,
            tags=tags,
        ),
        provider=kubernetes,
        opts=pulumi.ResourceOptions(depends_on=[workload]),
    )

    observability = Observability(
        f"{prefix}-observability",
        ObservabilityArgs(
            cluster_name=cluster.cluster_name,
            stream_name=names.stream,
            dead_letter_queue_name=names.dead_letter_queue,
            alarm_topic_arn=alerts.topic_arn,
            metric_namespace=f"FDS/{environment}",
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            region=settings.region,
            wait_for=node_groups,
            tags=tags,
        ),
    )
    logger.info("stack %s declared in %s over %s", prefix, settings.region, ", ".join(zones))

    return {
        "environment": environment,
        "region": settings.region,
        "accountId": account_id,
        "names": names.model_dump(),
        "clusterName": cluster.cluster_name,
        "kubeconfig": pulumi.Output.secret(cluster.kubeconfig),
        "streamName": stream.stream_name,
        "streamConsumerName": consumer_name if fan_out else None,
        "blocklistTableName": storage.blocklist_table_name,
        "checkpointTableName": storage.checkpoint_table_name,
        "decisionsBucketName": storage.decisions_bucket_name,
        "alertsTopicName": alerts.topic_name,
        "alertsInboxQueueName": alerts.inbox_queue_name,
        "deadLetterQueueName": alerts.dead_letter_queue_name,
        "repositoryUrl": registry.repository_url,
        "consumerImage": image,
        "consumerNamespace": CONSUMER_NAMESPACE,
        "consumerRoleArn": workload.role_arn,
        "kedaRoleArn": autoscaling.operator_role_arn,
        "dashboardName": observability.dashboard_name,
    }


def consumer_environment(
    settings: StackSettings,
    account_id: str,
    stream: Stream,
    storage: Storage,
    alerts: Alerts,
    consumer_name: str,
    metrics_port: int,
) -> dict[str, pulumi.Input[str]]:
    """The consumer's ``FDS_*`` variables, from the resources this stack created.

    Each name is taken from the resource's own output rather than recomputed, so the pods read
    exactly what exists; every variable is a field of ``app.settings.Settings``.
    """
    return {
        "FDS_ENVIRONMENT": settings.environment,
        "FDS_REGION": settings.region,
        "FDS_RESOURCE_SUFFIX": account_id,
        "FDS_STREAM_NAME": stream.stream_name,
        "FDS_BLOCKLIST_TABLE_NAME": storage.blocklist_table_name,
        "FDS_CHECKPOINT_TABLE_NAME": storage.checkpoint_table_name,
        "FDS_DECISIONS_BUCKET_NAME": storage.decisions_bucket_name,
        "FDS_ALERTS_TOPIC_NAME": alerts.topic_name,
        "FDS_ALERTS_INBOX_QUEUE_NAME": alerts.inbox_queue_name,
        "FDS_DEAD_LETTER_QUEUE_NAME": alerts.dead_letter_queue_name,
        "FDS_READ_MODE": settings.read_mode,
        "FDS_STREAM_CONSUMER_NAME": consumer_name,
        "FDS_METRICS_PORT": str(metrics_port),
        # One JSON object per line, so CloudWatch Logs Insights can query the decisions.
        "FDS_LOG_FORMAT": "json",
    }


def _zones(settings: StackSettings) -> list[str]:
    """The first fds:availabilityZoneCount zones of the region that are available."""
    available = sorted(aws.get_availability_zones(state="available").names)
    if len(available) < settings.availability_zone_count:
        raise StackConfigError(
            f"Pulumi config key fds:availabilityZoneCount: {settings.availability_zone_count} "
            f"zones asked for, region {settings.region} has {len(available)} available; set it "
            f"with `pulumi config set fds:availabilityZoneCount {len(available)}`",
            keys=("fds:availabilityZoneCount",),
        )
    return available[: settings.availability_zone_count]


def _workflow_access(account_id: pulumi.Input[str]) -> tuple[ClusterAccess, ...]:
    """The bootstrap program's two roles, by their fixed names in this account."""

    def arn(role_name: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("arn:aws:iam::", account_id, ":role/", role_name)

    return (
        ClusterAccess("deploy", arn(DEPLOY_ROLE_NAME), CLUSTER_ADMIN_POLICY),
        ClusterAccess("preview", arn(PREVIEW_ROLE_NAME), CLUSTER_VIEW_POLICY),
    )
