"""The EKS cluster: control plane with its OIDC provider, Spot workers, optional system nodes."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

from components.tagging import with_name

logger = logging.getLogger(__name__)

#: Node label that tells the Spot workers from the on-demand system nodes.
CAPACITY_LABEL = "fds/capacity"

#: Managed policies every EKS worker needs: join the cluster, run the VPC CNI, pull images.
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)


@dataclass(frozen=True)
class NodeGroupSize:
    """Bounds of a node group, in nodes."""

    min: int
    desired: int
    max: int


#: EKS access policies, the cluster-wide rights an IAM principal can be given without RBAC edits.
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
CLUSTER_VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"


@dataclass(frozen=True)
class ClusterAccess:
    """An IAM role let into the cluster's Kubernetes API with one access policy.

    Attributes:
        name: a short name for the entry's resources, such as ``deploy``.
        principal_arn: the IAM role's ARN; the role must exist before the entry is created.
        policy_arn: one of the EKS access policies, cluster-wide.
    """

    name: str
    principal_arn: pulumi.Input[str]
    policy_arn: str


@dataclass(frozen=True)
class ClusterArgs:
    """What the cluster runs on.

    Attributes:
        cluster_name: the EKS cluster's name; the node groups and the subnet tags use it.
        kubernetes_version: EKS minor version, such as ``1.35``.
        vpc_id: the VPC of :class:`components.network.Network`.
        public_subnet_ids: subnets for internet-facing load balancers.
        private_subnet_ids: subnets of the nodes; they reach AWS through NAT.
        spot_instance_types: several types of one size, so that one Spot pool running dry
            does not take every node.
        spot_size: bounds of the Spot group; an autoscaler owns the desired size after creation.
        system_node_count: on-demand nodes for system pods (CoreDNS, the KEDA operator), which
            a Spot reclaim must not take down; 0 for none.
        system_instance_type: the on-demand nodes' type.
        access: IAM roles besides the cluster's creator that may use the Kubernetes API, such
            as the roles the workflows deploy and preview with.
        tags: tags of every resource.
    """

    cluster_name: str
    kubernetes_version: str
    vpc_id: pulumi.Input[str]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    spot_instance_types: Sequence[str]
    spot_size: NodeGroupSize
    system_node_count: int = 0
    system_instance_type: str = "t3.medium"
    access: Sequence[ClusterAccess] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class Cluster(pulumi.ComponentResource):
    """An EKS cluster with IRSA enabled and managed node groups of its own."""

    cluster_name: str
    kubeconfig: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    provider: eks.Cluster

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fds:cluster:Cluster", name, None, opts)
        if len(args.spot_instance_types) < 2:
            raise ValueError(
                f"cluster {name}: Spot needs at least 2 instance types, got "
                f"{list(args.spot_instance_types)}; add types of the same size"
            )
        child = pulumi.ResourceOptions(parent=self)

        # CoreDNS is pinned to the on-demand nodes when there are any, so that a Spot
        # interruption wave cannot take name resolution with it.
        coredns = None
        if args.system_node_count:
            coredns = eks.CoreDnsAddonOptionsArgs(
                configuration_values={"nodeSelector": {CAPACITY_LABEL: "on-demand"}}
            )

        cluster = eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=args.kubernetes_version,
            vpc_id=args.vpc_id,
            public_subnet_ids=list(args.public_subnet_ids),
            private_subnet_ids=list(args.private_subnet_ids),
            node_associate_public_ip_address=False,
            # No default group: its one instance type and on-demand capacity are what this
            # component replaces with the groups below.
            skip_default_node_group=True,
            # IRSA: pods assume IAM roles through the cluster's OIDC issuer.
            create_oidc_provider=True,
            # Access entries instead of the aws-auth ConfigMap: EKS itself admits the managed
            # node groups' role, and no ConfigMap edit can lock the operators out.
            authentication_mode=eks.AuthenticationMode.API,
            coredns_addon_options=coredns,
            tags=dict(args.tags),
            opts=child,
        )

        node_role = aws.iam.Role(
            f"{name}-node",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=with_name(args.tags, f"{name}-node"),
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{arn.rsplit('/', 1)[-1]}",
                role=node_role.name,
                policy_arn=arn,
                opts=child,
            )
            for arn in NODE_POLICIES
        ]

        # The node groups take the cluster by its plain name and wait on it explicitly: passing
        # the eks.Cluster component itself as an input is what made runs flaky.
        after_cluster = pulumi.ResourceOptions(parent=self, depends_on=[cluster, *attachments])
        self.spot_nodes = aws.eks.NodeGroup(
            f"{name}-spot",
            cluster_name=args.cluster_name,
            node_role_arn=node_role.arn,
            subnet_ids=list(args.private_subnet_ids),
            capacity_type="SPOT",
            instance_types=list(args.spot_instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.spot_size.min,
                desired_size=args.spot_size.desired,
                max_size=args.spot_size.max,
            ),
            # One node at a time, so a rolling AMI update never halves the consumers.
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels={CAPACITY_LABEL: "spot"},
            tags=with_name(args.tags, f"{name}-spot"),
            # The autoscaler moves the desired size; the next `pulumi up` must not undo it.
            opts=pulumi.ResourceOptions.merge(
                after_cluster,
                pulumi.ResourceOptions(ignore_changes=["scalingConfig.desiredSize"]),
            ),
        )

        self.system_nodes: aws.eks.NodeGroup | None = None
        if args.system_node_count:
            self.system_nodes = aws.eks.NodeGroup(
                f"{name}-system",
                cluster_name=args.cluster_name,
                node_role_arn=node_role.arn,
                subnet_ids=list(args.private_subnet_ids),
                capacity_type="ON_DEMAND",
                instance_types=[args.system_instance_type],
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=args.system_node_count,
                    desired_size=args.system_node_count,
                    max_size=args.system_node_count,
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                labels={CAPACITY_LABEL: "on-demand"},
                tags=with_name(args.tags, f"{name}-system"),
                opts=after_cluster,
            )

        # Only the cluster's creator is admitted by EKS itself. A `pulumi up` from a workflow
        # runs as another role, and its Kubernetes objects need an entry of their own.
        for access in args.access:
            entry = aws.eks.AccessEntry(
                f"{name}-access-{access.name}",
                cluster_name=args.cluster_name,
                principal_arn=access.principal_arn,
                type="STANDARD",
                tags=with_name(args.tags, f"{name}-access-{access.name}"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-access-{access.name}-policy",
                cluster_name=args.cluster_name,
                principal_arn=entry.principal_arn,
                policy_arn=access.policy_arn,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child,
            )

        self.cluster_name = args.cluster_name
        self.provider = cluster
        self.kubeconfig = cluster.kubeconfig_json
        self.oidc_provider_arn = cluster.oidc_provider_arn
        self.oidc_issuer = cluster.oidc_issuer
        self.register_outputs(
            {
                "clusterName": args.cluster_name,
                "kubeconfig": self.kubeconfig,
                "oidcProviderArn": self.oidc_provider_arn,
                "oidcIssuer": self.oidc_issuer,
            }
        )
        logger.debug("cluster %s declared with %d system nodes", name, args.system_node_count)
