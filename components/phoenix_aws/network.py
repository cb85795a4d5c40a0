"""Network: a VPC with public, private and isolated subnets per availability zone.

- public: the load balancer and NAT; no subnet hands out public IPs by default (the ALB and the NAT
  instance ask for their own).
- private: app nodes; egress to the internet only through NAT (or none at all), plus VPC endpoints.
- isolated: data stores; no route to the internet at all.
"""

import functools
import json
import operator
from enum import StrEnum
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .nat_instance import (
    NAT_INSTANCE_AMI_PARAMETER,
    NAT_ROOT_VOLUME_GB,
    check_nat_instance_type,
    create_nat_instance,
    nat_instance_policy,
    nat_instance_user_data,
)
from .network_plan import (
    FARGATE_NODE_ENDPOINTS,
    KNOWN_INTERFACE_ENDPOINTS,
    MAX_AZS,
    MAX_VPC_PREFIX,
    MIN_VPC_PREFIX,
    RESERVED_AZ_SLOTS,
    TIERS,
    SubnetPlan,
    check_availability_zones,
    check_az_count,
    check_interface_endpoints,
    check_vpc_cidr,
    choose_availability_zones,
    endpoint_service_name,
    endpoints_missing_without_nat,
    plan_subnets,
    zone_id_prefix,
)
from .policies import allow, flow_logs_trust
from .validation import (
    check_arg,
    check_args,
    check_log_retention,
    check_tags,
    component_type,
    with_legacy_alias,
)

# The plan and the NAT instance live in their own modules; their names stay importable from here.
__all__ = [
    "FARGATE_NODE_ENDPOINTS",
    "KNOWN_INTERFACE_ENDPOINTS",
    "MAX_AZS",
    "MAX_VPC_PREFIX",
    "MIN_VPC_PREFIX",
    "NAT_INSTANCE_AMI_PARAMETER",
    "NAT_ROOT_VOLUME_GB",
    "RESERVED_AZ_SLOTS",
    "TIERS",
    "NatStrategy",
    "Network",
    "NetworkArgs",
    "SubnetPlan",
    "check_availability_zones",
    "check_az_count",
    "check_interface_endpoints",
    "check_nat_instance_type",
    "check_vpc_cidr",
    "choose_availability_zones",
    "endpoint_service_name",
    "endpoints_missing_without_nat",
    "nat_instance_policy",
    "nat_instance_user_data",
    "plan_subnets",
    "zone_id_prefix",
]


class NatStrategy(StrEnum):
    """How private subnets reach the internet."""

    NONE = "none"
    """No NAT: private subnets reach AWS only through VPC endpoints."""
    SINGLE = "single"
    """One NAT gateway in the first AZ for all private subnets (cheaper, one AZ of failure)."""
    PER_AZ = "per_az"
    """One NAT gateway per AZ; an AZ outage never cuts the others' egress (production)."""
    INSTANCE = "instance"
    """One small self-healing NAT instance (development cost-saver, ~$3/month vs ~$33)."""


class NetworkArgs(TypedDict):
    """Inputs of a Network."""

    cidr_block: NotRequired[str]
    """VPC IPv4 CIDR, /16 to /22. Default: `10.0.0.0/16`."""
    az_count: NotRequired[int]
    """Number of availability zones, 2 to 6. Default: 3."""
    availability_zones: NotRequired[list[str]]
    """Pin the AZs by ID (`euw1-az1`, the same physical zone in every account) or by name
    (`eu-west-1a`); their count wins over `az_count`. Default: not pinned (see
    `previous_availability_zones`)."""
    previous_availability_zones: NotRequired[pulumi.Input[list[str]]]
    """The AZ names of the last deployment (e.g. read back from the stack's own outputs). They
    are kept, so a change in the region's list of available AZs never replaces a subnet.
    Default: none (a first deployment takes the region's first `az_count` available AZs)."""
    region: NotRequired[str]
    """The stack's region, to check pinned AZs against it before anything is created. Default:
    not checked here (an unknown AZ still fails before any subnet is created)."""
    nat: NotRequired[NatStrategy]
    """Egress for private subnets. Default: `per_az` (one NAT gateway per AZ)."""
    nat_instance_type: NotRequired[str]
    """EC2 instance type for `nat: instance`; must be arm64 (Graviton). Default: `t4g.nano`."""
    interface_endpoints: NotRequired[list[str]]
    """Interface endpoints to create in the private subnets (e.g. `ecr.api`, `ecr.dkr`, `logs`,
    `secretsmanager`, `ssm`, `ssmmessages`). Default: none."""
    enable_flow_logs: NotRequired[bool]
    """Send VPC flow logs (all traffic) to CloudWatch Logs. Default: true."""
    flow_logs_retention_days: NotRequired[int]
    """Retention of the flow log group (a CloudWatch Logs retention value). Default: 90."""
    tags: NotRequired[dict[str, str]]
    """Tags for every taggable child. Default: none."""


class Network(pulumi.ComponentResource):
    """A three-tier VPC for a Phoenix cluster: public, private and isolated subnets per AZ."""

    vpc_id: pulumi.Output[str]
    """The VPC."""
    vpc_cidr_block: pulumi.Output[str]
    availability_zones: pulumi.Output[list[str]]
    """AZ names in subnet order (export them: they are this stack's fixed AZs)."""
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    isolated_subnet_ids: pulumi.Output[list[str]]
    public_route_table_id: pulumi.Output[str]
    private_route_table_ids: pulumi.Output[list[str]]
    isolated_route_table_ids: pulumi.Output[list[str]]
    endpoint_security_group_id: pulumi.Output[str | None]
    """SG of the interface endpoints (none without endpoints)."""

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("Network"), name, None, with_legacy_alias("Network", opts))
        check_network_args(name, args)
        cidr = args.get("cidr_block", "10.0.0.0/16")
        pinned = list(args.get("availability_zones") or [])
        az_count = len(pinned) if pinned else args.get("az_count", 3)
        nat = NatStrategy(args.get("nat", NatStrategy.PER_AZ))
        tags = dict(args.get("tags") or {})
        self._tagged = functools.partial(_tagged, name, tags)

        az_names = self._choose_availability_zones(
            az_count, pinned, args.get("previous_availability_zones")
        )
        self._create_vpc(name, cidr)
        self._create_subnets(name, plan_subnets(cidr, az_count), az_names)
        self._create_route_tables(name)
        self._create_nat(
            name,
            nat,
            az_count,
            args.get("nat_instance_type", "t4g.nano"),
            cidr,
            tags,
        )
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self._create_endpoints(name, region, list(args.get("interface_endpoints") or []), cidr)
        if args.get("enable_flow_logs", True):
            self._create_flow_logs(name, args.get("flow_logs_retention_days", 90), tags)
        self._register(az_names)

    def _choose_availability_zones(
        self, az_count: int, pinned: list[str], previous: pulumi.Input[list[str]] | None
    ) -> pulumi.Output[list[str]]:
        """The stack's AZ names, fixed once (see `choose_availability_zones`)."""
        available = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        return pulumi.Output.all(
            available.names, available.zone_ids, pulumi.Output.from_input(previous)
        ).apply(
            lambda a: choose_availability_zones(
                az_count, list(a[0]), list(a[1]), pinned=pinned, previous=a[2]
            )
        )

    def _create_vpc(self, name: str, cidr: str) -> None:
        """The VPC, its default security group closed, and its internet gateway."""
        child = pulumi.ResourceOptions(parent=self)
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=self._tagged("vpc"),
            opts=child,
        )
        # Managing the default security group with no rules removes AWS's allow-all defaults.
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=self._tagged("default-sg-unused"),
            opts=child,
        )
        self.internet_gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=self._tagged("igw"), opts=child
        )

    def _create_subnets(
        self, name: str, plan: list[SubnetPlan], az_names: pulumi.Output[list[str]]
    ) -> None:
        """One subnet per tier and AZ, as planned."""
        self.subnets: dict[str, list[aws.ec2.Subnet]] = {tier: [] for tier in TIERS}
        for entry in plan:
            subnet = aws.ec2.Subnet(
                f"{name}-{entry.tier}-{entry.az_index}",
                vpc_id=self.vpc.id,
                cidr_block=entry.cidr,
                availability_zone=az_names.apply(operator.itemgetter(entry.az_index)),
                # No tier hands out public IPs: the ALB and the NAT instance ask for theirs.
                map_public_ip_on_launch=False,
                tags=self._tagged(f"{entry.tier}-{entry.az_index}", Tier=entry.tier),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.subnets[entry.tier].append(subnet)

    def _create_route_tables(self, name: str) -> None:
        """Public: one table whose default route is the internet gateway. Private and isolated:
        one table per AZ (so per-AZ NAT routes stay local); isolated ones get no default route."""
        child = pulumi.ResourceOptions(parent=self)
        self.public_route_table = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=self.vpc.id, tags=self._tagged("public-rt"), opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=self.public_route_table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=self.internet_gateway.id,
            opts=child,
        )
        for i, subnet in enumerate(self.subnets["public"]):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}-rta",
                subnet_id=subnet.id,
                route_table_id=self.public_route_table.id,
                opts=child,
            )
        self.private_route_tables = self._per_az_route_tables(name, "private")
        self.isolated_route_tables = self._per_az_route_tables(name, "isolated")

    def _per_az_route_tables(self, name: str, tier: str) -> list[aws.ec2.RouteTable]:
        child = pulumi.ResourceOptions(parent=self)
        tables: list[aws.ec2.RouteTable] = []
        for i, subnet in enumerate(self.subnets[tier]):
            table = aws.ec2.RouteTable(
                f"{name}-{tier}-{i}-rt",
                vpc_id=self.vpc.id,
                tags=self._tagged(f"{tier}-{i}-rt"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-{tier}-{i}-rta",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=child,
            )
            tables.append(table)
        return tables

    def _create_nat(
        self,
        name: str,
        nat: NatStrategy,
        az_count: int,
        instance_type: str,
        cidr: str,
        tags: dict[str, str],
    ) -> None:
        """The private tier's default routes: NAT gateways (one, or one per AZ), a NAT instance,
        or none at all."""
        self.nat_gateways: list[aws.ec2.NatGateway] = []
        self.nat_instance_interface: aws.ec2.NetworkInterface | None = None
        if nat in (NatStrategy.SINGLE, NatStrategy.PER_AZ):
            self._create_nat_gateways(name, az_count if nat is NatStrategy.PER_AZ else 1)
            for i, table in enumerate(self.private_route_tables):
                gateway = self.nat_gateways[i if nat is NatStrategy.PER_AZ else 0]
                self._default_route(name, i, table, nat_gateway_id=gateway.id)
        elif nat is NatStrategy.INSTANCE:
            self.nat_instance_interface = create_nat_instance(
                self,
                name,
                instance_type=instance_type,
                vpc_id=self.vpc.id,
                vpc_cidr=cidr,
                subnet_id=self.subnets["public"][0].id,
                tagged=self._tagged,
                tags=tags,
            )
            for i, table in enumerate(self.private_route_tables):
                self._default_route(
                    name, i, table, network_interface_id=self.nat_instance_interface.id
                )

    def _create_nat_gateways(self, name: str, count: int) -> None:
        for i in range(count):
            eip = aws.ec2.Eip(
                f"{name}-nat-{i}-eip",
                domain="vpc",
                tags=self._tagged(f"nat-{i}"),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.nat_gateways.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.id,
                    subnet_id=self.subnets["public"][i].id,
                    tags=self._tagged(f"nat-{i}"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.internet_gateway]),
                )
            )

    def _default_route(
        self, name: str, index: int, table: aws.ec2.RouteTable, **target: pulumi.Input[str]
    ) -> None:
        aws.ec2.Route(
            f"{name}-private-{index}-default",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            **target,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_endpoints(
        self, name: str, region: pulumi.Output[str], interface_endpoints: list[str], cidr: str
    ) -> None:
        """The S3 gateway endpoint (free: ECR's image layers live in S3), and the interface
        endpoints asked for, reachable on 443 from inside the VPC only."""
        child = pulumi.ResourceOptions(parent=self)
        self.s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self.vpc.id,
            service_name=region.apply(lambda r: endpoint_service_name(r, "s3")),
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in self.private_route_tables],
            tags=self._tagged("s3"),
            opts=child,
        )
        self.endpoint_security_group: aws.ec2.SecurityGroup | None = None
        if not interface_endpoints:
            return
        self.endpoint_security_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=self.vpc.id,
            description="HTTPS from inside the VPC to AWS interface endpoints",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[cidr],
                    description="HTTPS from the VPC",
                )
            ],
            egress=[],
            tags=self._tagged("endpoints-sg"),
            opts=child,
        )
        for short in interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{name}-endpoint-{short.replace('.', '-')}",
                vpc_id=self.vpc.id,
                service_name=region.apply(
                    functools.partial(endpoint_service_name, short_name=short)
                ),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in self.subnets["private"]],
                security_group_ids=[self.endpoint_security_group.id],
                tags=self._tagged(short),
                opts=child,
            )

    def _create_flow_logs(self, name: str, retention_days: int, tags: dict[str, str]) -> None:
        """Every packet's metadata to a CloudWatch log group, through a role that may write
        only there."""
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        where = pulumi.Output.all(
            aws.get_partition_output(opts=invoke).partition,
            aws.get_region_output(opts=invoke).region,
            aws.get_caller_identity_output(opts=invoke).account_id,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=retention_days,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            # Only VPC flow logs of this account and Region may assume it (confused deputy).
            assume_role_policy=where.apply(lambda w: json.dumps(flow_logs_trust(w[0], w[1], w[2]))),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: json.dumps(
                    allow(
                        ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        [arn, f"{arn}:*"],
                    )
                )
            ),
            opts=child,
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=tags,
            opts=child,
        )

    def _register(self, az_names: pulumi.Output[list[str]]) -> None:
        """Set and register the outputs."""
        self.vpc_id = self.vpc.id
        self.vpc_cidr_block = self.vpc.cidr_block
        self.availability_zones = az_names
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in self.subnets["public"]])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in self.subnets["private"]])
        self.isolated_subnet_ids = pulumi.Output.all(*[s.id for s in self.subnets["isolated"]])
        self.public_route_table_id = self.public_route_table.id
        self.private_route_table_ids = pulumi.Output.all(*[t.id for t in self.private_route_tables])
        self.isolated_route_table_ids = pulumi.Output.all(
            *[t.id for t in self.isolated_route_tables]
        )
        self.endpoint_security_group_id = (
            self.endpoint_security_group.id
            if self.endpoint_security_group
            else pulumi.Output.from_input(None)
        )
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "vpc_cidr_block": self.vpc_cidr_block,
                "availability_zones": self.availability_zones,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "isolated_subnet_ids": self.isolated_subnet_ids,
                "public_route_table_id": self.public_route_table_id,
                "private_route_table_ids": self.private_route_table_ids,
                "isolated_route_table_ids": self.isolated_route_table_ids,
                "endpoint_security_group_id": self.endpoint_security_group_id,
            }
        )


def _tagged(name: str, tags: dict[str, str], suffix: str, **extra: str) -> dict[str, str]:
    """The component's tags plus `Name: <name>-<suffix>` (and any `extra`)."""
    return {**tags, "Name": f"{name}-{suffix}", **extra}


def check_network_args(name: str, args: NetworkArgs) -> None:
    check_args("Network", name, args, NetworkArgs)
    region = args.get("region")
    for key, value, rule in (
        ("cidr_block", args.get("cidr_block", "10.0.0.0/16"), check_vpc_cidr),
        ("az_count", args.get("az_count"), check_az_count),
        (
            "availability_zones",
            list(args.get("availability_zones") or []) or None,
            lambda z: check_availability_zones(z, region),
        ),
        ("nat_instance_type", args.get("nat_instance_type"), check_nat_instance_type),
        ("interface_endpoints", args.get("interface_endpoints"), check_interface_endpoints),
        ("flow_logs_retention_days", args.get("flow_logs_retention_days"), check_log_retention),
        ("tags", args.get("tags"), check_tags),
    ):
        check_arg("Network", name, key, value, rule)
