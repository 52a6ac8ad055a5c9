"""The VPC the cluster runs in: public and private subnets in each zone, and NAT for egress."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.tagging import with_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NetworkArgs:
    """What the network spans.

    Attributes:
        cidr_block: the VPC's range; each subnet takes a /20 of it (4,091 addresses, room for
            the VPC CNI's one address per pod).
        availability_zones: zone names, one public and one private subnet each; EKS needs two.
        nat_per_zone: one NAT gateway per zone (a zone outage keeps the others' egress) or a
            single one shared by every zone (a third of the cost, one zone's failure domain).
        cluster_name: the EKS cluster that will use the subnets, for its discovery tag.
        tags: tags of every resource.
    """

    cidr_block: str
    availability_zones: Sequence[str]
    nat_per_zone: bool
    cluster_name: str
    tags: Mapping[str, str] = field(default_factory=dict)


class Network(pulumi.ComponentResource):
    """A VPC with a public and a private subnet per zone; nodes live in the private ones."""

    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fds:network:Network", name, None, opts)
        if len(args.availability_zones) < 2:
            raise ValueError(
                f"network {name}: {len(args.availability_zones)} availability zone(s) given; "
                "EKS needs subnets in at least 2"
            )
        child = pulumi.ResourceOptions(parent=self)
        ranges = list(ipaddress.ip_network(args.cidr_block).subnets(new_prefix=20))
        if len(ranges) < 2 * len(args.availability_zones):
            raise ValueError(
                f"network {name}: {args.cidr_block} holds {len(ranges)} /20 subnets, "
                f"{2 * len(args.availability_zones)} are needed; use a /19 or larger range"
            )

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr_block,
            # EKS nodes register by private DNS name; the endpoint and nodes need both.
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=with_name(args.tags, f"{name}-vpc"),
            opts=child,
        )

        gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags=with_name(args.tags, f"{name}-igw"), opts=child
        )

        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            tags=with_name(args.tags, f"{name}-public"),
            opts=child,
        )

        # The cluster tag lets EKS and the load-balancer controller find the subnets; the role
        # tags tell them where internet-facing and internal load balancers go.
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        public_ids: list[pulumi.Output[str]] = []
        private_ids: list[pulumi.Output[str]] = []
        nat_ids: list[pulumi.Output[str]] = []
        for index, zone in enumerate(args.availability_zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                availability_zone=zone,
                cidr_block=str(ranges[index]),
                map_public_ip_on_launch=False,
                tags={
                    **with_name(args.tags, f"{name}-public-{zone}"),
                    **cluster_tag,
                    "kubernetes.io/role/elb": "1",
                },
                opts=child,
            )
            public_ids.append(public.id)

            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone}",
                subnet_id=public.id,
                route_table_id=public_routes.id,
                opts=child,
            )

            if args.nat_per_zone or index == 0:
                address = aws.ec2.Eip(
                    f"{name}-nat-{zone}",
                    domain="vpc",
                    tags=with_name(args.tags, f"{name}-nat-{zone}"),
                    opts=child,
                )
                nat = aws.ec2.NatGateway(
                    f"{name}-nat-{zone}",
                    allocation_id=address.id,
                    subnet_id=public.id,
                    tags=with_name(args.tags, f"{name}-nat-{zone}"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
                )
                nat_ids.append(nat.id)

            private = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                availability_zone=zone,
                cidr_block=str(ranges[len(args.availability_zones) + index]),
                tags={
                    **with_name(args.tags, f"{name}-private-{zone}"),
                    **cluster_tag,
                    "kubernetes.io/role/internal-elb": "1",
                },
                opts=child,
            )
            private_ids.append(private.id)

            # Each zone's private subnet leaves through its own zone's NAT when there is one,
            # so that losing a zone does not cut the others off.
            private_routes = aws.ec2.RouteTable(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                routes=[
                    aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_ids[-1])
                ],
                tags=with_name(args.tags, f"{name}-private-{zone}"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}",
                subnet_id=private.id,
                route_table_id=private_routes.id,
                opts=child,
            )

        self.vpc_id = vpc.id
        self.public_subnet_ids = public_ids
        self.private_subnet_ids = private_ids
        self.register_outputs(
            {
                "vpcId": vpc.id,
                "publicSubnetIds": public_ids,
                "privateSubnetIds": private_ids,
            }
        )
        logger.debug("network %s declared over %s", name, ", ".join(args.availability_zones))
