"""The consumer in the cluster: namespace, IRSA service account, Deployment and disruption budget.

The Kubernetes objects are built as plain manifests first (what ``kubectl apply`` would take),
then handed to the typed Pulumi resources unchanged, so that what is declared, tested and
validated against the Kubernetes schema is one and the same object.
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

#: The non-root user and group the image runs as (see the Dockerfile).
RUN_AS_ID = 10001

#: Annotation by which the EKS pod identity webhook gives pods the role's credentials.
ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"

#: Tells the Pulumi Kubernetes provider not to wait for the pods to become ready: on the very
#: first `pulumi up` the registry is still empty, and the pods start once the image is pushed.
SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait"


@dataclass(frozen=True)
class ContainerResources:
    """Requests and limits of the consumer container, in Kubernetes quantities."""

    cpu_request: str = "500m"
    memory_request: str = "1Gi"
    # Memory is limited (a leak must not take the node), CPU is not: a CPU limit throttles
    # the scoring of a burst even when the node has cores to spare.
    memory_limit: str = "1Gi"


@dataclass(frozen=True)
class WorkloadArgs:
    """What runs, where, and as whom.

    Attributes:
        namespace: the namespace of every object.
        name: the name of the Deployment, its service account and its pods' app label.
        image: the consumer image, ``<repository>:<tag>``.
        command: the arguments after the image's ``fds`` entry point.
        environment: the ``FDS_*`` variables, from the stack's outputs.
        metrics_port: the consumer's HTTP port (/metrics, /healthz, /readyz).
        termination_grace_seconds: time to finish the batch in hand, publish its alerts and
            save the shard's place after SIGTERM. The consumer waits up to 30 s for alerts and
            5 s more for its readers; a Spot reclaim notice gives 120 s.
        node_selector: node labels the pods must run on.
        policy: the IAM policy of the pods' role, as JSON text.
        oidc_provider_arn: ARN of the cluster's IAM OIDC provider.
        oidc_issuer: the cluster's OIDC issuer.
        resources: the container's requests and limits.
        labels: labels of every object.
        tags: AWS tags of the role.
    """

    namespace: str
    name: str
    image: pulumi.Input[str]
    environment: Mapping[str, pulumi.Input[str]]
    metrics_port: int
    policy: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    command: tuple[str, ...] = ("consume",)
    termination_grace_seconds: int = 60
    node_selector: Mapping[str, str] = field(default_factory=dict)
    resources: ContainerResources = field(default_factory=ContainerResources)
    labels: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


def service_account_manifest(args: WorkloadArgs, role_arn: pulumi.Input[str]) -> dict[str, Any]:
    """The pods' service account, annotated with the IAM role they assume."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": args.name,
            "namespace": args.namespace,
            "labels": dict(args.labels),
            "annotations": {ROLE_ANNOTATION: role_arn},
        },
    }


def deployment_manifest(args: WorkloadArgs) -> dict[str, Any]:
    """The consumer's Deployment. Its replica count is left to KEDA, so it is not set here."""
    selector = {"app.kubernetes.io/name": args.name}
    probe_port = "metrics"
    container = {
        "name": args.name,
        "image": args.image,
        "imagePullPolicy": "IfNotPresent",
        "args": list(args.command),
        "env": [{"name": key, "value": value} for key, value in sorted(args.environment.items())],
        "ports": [{"name": probe_port, "containerPort": args.metrics_port, "protocol": "TCP"}],
        # Loading the model takes seconds; the start-up probe holds the others off until then.
        "startupProbe": {
            "httpGet": {"path": "/healthz", "port": probe_port},
            "periodSeconds": 2,
            "failureThreshold": 30,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": probe_port},
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        # Ready once it reads its shards; a pod that lost its place is taken out of rotation.
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": probe_port},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "resources": {
            "requests": {
                "cpu": args.resources.cpu_request,
                "memory": args.resources.memory_request,
            },
            "limits": {"memory": args.resources.memory_limit},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_ID,
            "runAsGroup": RUN_AS_ID,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
        },
        # The root filesystem is read-only; libraries that want scratch space get /tmp.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": args.name,
            "namespace": args.namespace,
            "labels": {**args.labels, **selector},
            "annotations": {SKIP_AWAIT_ANNOTATION: "true"},
        },
        "spec": {
            "selector": {"matchLabels": selector},
            # One new pod before an old one goes: a shard is never left without a reader.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": {**args.labels, **selector},
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(args.metrics_port),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "serviceAccountName": args.name,
                    "terminationGracePeriodSeconds": args.termination_grace_seconds,
                    "nodeSelector": dict(args.node_selector),
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS_ID,
                        "runAsGroup": RUN_AS_ID,
                        "fsGroup": RUN_AS_ID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    # Replicas spread over zones, so one zone's Spot reclaim is not all of them.
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": selector},
                        }
                    ],
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
                },
            },
        },
    }


def disruption_budget_manifest(args: WorkloadArgs) -> dict[str, Any]:
    """A budget that lets a drain evict one consumer at a time, never block it.

    ``maxUnavailable: 1`` rather than ``minAvailable: 1``: with a single replica the latter
    would stop every node drain until the Spot node is taken anyway.
    """
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": args.name, "namespace": args.namespace, "labels": dict(args.labels)},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": args.name}},
        },
    }


class Workload(pulumi.ComponentResource):
    """The consumer Deployment with its own IAM role and disruption budget."""

    role_arn: pulumi.Output[str]
    deployment_name: str

    def __init__(
        self,
        name: str,
        args: WorkloadArgs,
        provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fds:workload:Workload", name, None, opts)
        in_cluster = pulumi.ResourceOptions(parent=self, provider=provider)

        role = IrsaRole(
            f"{name}-irsa",
            IrsaRoleArgs(
                namespace=args.namespace,
                service_account=args.name,
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_issuer=args.oidc_issuer,
                policy=args.policy,
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": args.namespace, "labels": dict(args.labels)},
            opts=in_cluster,
        )
        after_namespace = pulumi.ResourceOptions.merge(
            in_cluster, pulumi.ResourceOptions(depends_on=[namespace])
        )

        account = service_account_manifest(args, role.role_arn)
        k8s.core.v1.ServiceAccount(
            f"{name}-service-account", metadata=account["metadata"], opts=after_namespace
        )

        deployment = deployment_manifest(args)
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=deployment["metadata"],
            spec=deployment["spec"],
            opts=after_namespace,
        )

        budget = disruption_budget_manifest(args)
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb", metadata=budget["metadata"], spec=budget["spec"], opts=after_namespace
        )

        self.role_arn = role.role_arn
        self.deployment_name = args.name
        self.register_outputs({"roleArn": role.role_arn, "deploymentName": args.name})
        logger.debug("workload %s declared in namespace %s", args.name, args.namespace)
