"""Network: a VPC with public, private and isolated subnets per availability zone.

- public: the load balancer and NAT; no subnet hands out public IPs by default (the ALB and the NAT
  instance ask for their own).
- private: app nodes; egress to the internet only through NAT (or none at all), plus VPC endpoints.
- isolated: data stores; no route to the internet at all.
"""

import base64
import functools
import ipaddress
import json
import operator
from dataclasses import dataclass
from enum import StrEnum
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .policies import allow, assume_role_policy
from .validation import (
    check_arg,
    check_args,
    check_log_retention,
    check_tags,
    component_type,
    with_legacy_alias,
)

# Each tier reserves room for this many AZs, so adding an AZ later never renumbers a subnet.
RESERVED_AZ_SLOTS = 8
MAX_AZS = 6
MIN_VPC_PREFIX = 16
MAX_VPC_PREFIX = 22
TIERS = ("public", "private", "isolated")

# Interface endpoints a private ECS/Fargate node may use instead of NAT, by short name.
KNOWN_INTERFACE_ENDPOINTS = (
    "ecr.api",
    "ecr.dkr",
    "logs",
    "secretsmanager",
    "ssm",
    "ssmmessages",
    "ec2messages",
    "sts",
    "kms",
    "monitoring",
)

# Amazon Linux 2023 for arm64 (t4g): resolved by the launch template at each launch, so a
# replacement NAT instance always boots the current AMI without a program change.
NAT_INSTANCE_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
# Amazon Linux 2023's images need 8 GiB; a NAT instance stores nothing.
NAT_ROOT_VOLUME_GB = 8


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


@dataclass(frozen=True)
class SubnetPlan:
    """One subnet of the plan: its tier, AZ index and CIDR."""

    tier: str
    az_index: int
    cidr: str


def plan_subnets(vpc_cidr: str, az_count: int) -> list[SubnetPlan]:
    """Carve the VPC CIDR into public, private and isolated subnets for `az_count` AZs.

    The VPC is split into quarters: private gets two (half the addresses, where the nodes are),
    public and isolated one each. Each tier block is divided into RESERVED_AZ_SLOTS equal subnets
    and AZ *i* always takes slot *i*, so the plan for N AZs is a prefix of the plan for N+1.
    """
    network = ipaddress.ip_network(vpc_cidr, strict=True)
    if not isinstance(network, ipaddress.IPv4Network):
        raise ValueError("the VPC CIDR must be an IPv4 network")
    if not MIN_VPC_PREFIX <= network.prefixlen <= MAX_VPC_PREFIX:
        raise ValueError(
            f"the VPC CIDR prefix must be between /{MIN_VPC_PREFIX} and /{MAX_VPC_PREFIX}"
        )
    if not 1 <= az_count <= MAX_AZS:
        raise ValueError(f"the AZ count must be between 1 and {MAX_AZS}")

    quarters = list(network.subnets(prefixlen_diff=2))
    blocks = {
        "private": next(network.subnets(prefixlen_diff=1)),
        "public": quarters[2],
        "isolated": quarters[3],
    }
    slot_bits = (RESERVED_AZ_SLOTS - 1).bit_length()
    plan: list[SubnetPlan] = []
    for tier in TIERS:
        slots = list(blocks[tier].subnets(prefixlen_diff=slot_bits))
        plan.extend(SubnetPlan(tier, i, str(slots[i])) for i in range(az_count))
    return plan


def endpoint_service_name(region: str, short_name: str) -> str:
    """`com.amazonaws.<region>.<service>` for an endpoint short name such as `ecr.dkr`."""
    return f"com.amazonaws.{region}.{short_name}"


# AZ IDs (`euw1-az1`) name the same physical zone in every account, unlike AZ names.
# https://docs.aws.amazon.com/ram/latest/userguide/working-with-az-ids.html
_DIRECTIONS = {
    "east": "e",
    "west": "w",
    "north": "n",
    "south": "s",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def zone_id_prefix(region: str) -> str:
    """The region code that starts its AZ IDs: `use1` for us-east-1, `euw1` for eu-west-1,
    `apne1` for ap-northeast-1, `usgw1` for us-gov-west-1."""
    parts = region.split("-")
    if len(parts) == 4 and parts[1] == "gov":
        parts = [parts[0] + "g", parts[2], parts[3]]
    if len(parts) != 3 or parts[1] not in _DIRECTIONS or not parts[2].isdigit():
        raise ValueError(f"{region!r} is not an AWS region name such as eu-west-1")
    return f"{parts[0]}{_DIRECTIONS[parts[1]]}{parts[2]}"


def check_availability_zones(zones: list[str], region: str | None = None) -> list[str]:
    """Pinned AZs: 2-6 distinct AZ names (`eu-west-1a`) or AZ IDs (`euw1-az1`), all of the
    stack's region when it is known."""
    if len(zones) < 2:
        raise ValueError(
            "at least two availability zones are needed, so one AZ outage is not an outage"
        )
    if len(zones) > MAX_AZS:
        raise ValueError(f"at most {MAX_AZS} availability zones are supported")
    if len(set(zones)) != len(zones):
        raise ValueError("availability zones must be distinct")
    if region:
        prefix = zone_id_prefix(region)
        for zone in zones:
            is_name = zone.startswith(region) and len(zone) == len(region) + 1
            is_id = zone.startswith(f"{prefix}-az") and zone[len(prefix) + 3 :].isdigit()
            if not (is_name and zone[-1].isalpha()) and not is_id:
                raise ValueError(
                    f"{zone!r} is not an availability zone of {region} "
                    f"(expected names like {region}a or IDs like {prefix}-az1)"
                )
    return zones


def choose_availability_zones(
    count: int,
    available_names: list[str],
    available_ids: list[str],
    *,
    pinned: list[str] | None = None,
    previous: list[str] | None = None,
) -> list[str]:
    """The AZ names a stack uses, fixed once so that a change in the region's list of available
    AZs never moves (replaces) a subnet.

    Pinned AZs (names or IDs) win. Otherwise the AZs of the last deployment are kept in their
    order (`previous`), trimmed or extended with the first other available AZs up to `count`.
    Only a first deployment takes the region's first `count` available AZs.
    """
    by_id = dict(zip(available_ids, available_names, strict=False))
    if pinned:
        names = [by_id.get(zone, zone) for zone in pinned]
        unknown = [z for z, n in zip(pinned, names, strict=True) if n not in available_names]
        if unknown:
            raise ValueError(
                f"availability zone(s) {', '.join(unknown)} are not available in this region "
                f"(available: {', '.join(available_names)})"
            )
        return names
    chosen = list((previous or [])[:count])
    for name in available_names:
        if len(chosen) == count:
            break
        if name not in chosen:
            chosen.append(name)
    if len(chosen) < count:
        raise ValueError(
            f"the region has {len(available_names)} available AZs "
            f"({', '.join(available_names)}), {count} requested"
        )
    return chosen


def check_vpc_cidr(cidr: str) -> str:
    """An IPv4 network of /16 to /22 that the subnet plan can carve (see `plan_subnets`)."""
    plan_subnets(cidr, 1)
    return cidr


def check_az_count(count: int) -> int:
    if not 2 <= count <= MAX_AZS:
        raise ValueError(
            f"use 2 to {MAX_AZS} availability zones (two, so one AZ outage is not an outage)"
        )
    return count


def check_interface_endpoints(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in KNOWN_INTERFACE_ENDPOINTS]
    if unknown:
        raise ValueError(
            f"unknown endpoint {unknown[0]!r}; "
            f"expected any of {', '.join(KNOWN_INTERFACE_ENDPOINTS)}"
        )
    if len(set(names)) != len(names):
        raise ValueError("each endpoint may be listed once")
    return names


def check_nat_instance_type(instance_type: str) -> str:
    """An arm64 (AWS Graviton) instance type: the NAT instance boots the arm64 Amazon Linux
    image. In EC2's naming a `g` right after the generation digit means Graviton (`t4g`,
    `c7gn`), and `a1` is the first Graviton family.
    https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html"""
    family, _, size = instance_type.partition(".")
    digits = [i for i, c in enumerate(family) if c.isdigit()]
    graviton = family == "a1" or (
        bool(digits) and family[digits[-1] + 1 : digits[-1] + 2] == "g" and family[0].isalpha()
    )
    if not size or not graviton:
        raise ValueError(
            "the NAT instance runs an arm64 image: use an AWS Graviton type such as t4g.nano "
            "or t4g.micro"
        )
    return instance_type


# A private Fargate node with no route to the internet reaches AWS only through these: pull the
# image (ECR API, ECR Docker registry, image layers in S3 through the gateway endpoint), read
# its secrets and ship its logs. https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
# and https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html
FARGATE_NODE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")


def endpoints_missing_without_nat(endpoints: list[str], needed: tuple[str, ...]) -> list[str]:
    """Endpoints that nodes in private subnets without NAT still need."""
    return [name for name in needed if name not in endpoints]


def nat_instance_user_data(eni_id: str) -> str:
    """Cloud-init script that turns a fresh Amazon Linux instance into a NAT for the VPC.

    The instance is replaceable (its auto-scaling group launches a new one), the route target is
    not: it attaches the stable ENI that the private route tables point at as a second
    interface. Traffic from the VPC arrives on that interface and leaves, masqueraded, through
    the primary one, whose address is public. Replies come back on the primary interface, so
    the kernel's reverse-path filter would drop the VPC's packets as arriving on the "wrong"
    interface: it is switched off on every interface (the kernel applies the stricter of `all`
    and the interface's own value, so both are set). Source/destination checks are off on both
    interfaces (the ENI is created without them; the primary one here).
    """
    return f"""#!/bin/bash
set -euo pipefail
dnf install -y iptables-services
IMDS=http://169.254.169.254/latest
TOKEN=$(curl -sX PUT $IMDS/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
MD() {{ curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/meta-data/$1"; }}
INSTANCE_ID=$(MD instance-id)
REGION=$(MD placement/region)
PRIMARY=$(ip -o route get 1.1.1.1 | awk '{{print $5}}')
sysctl -w net.ipv4.conf.default.rp_filter=0
sysctl -w net.ipv4.conf.all.rp_filter=0
aws ec2 modify-instance-attribute --region "$REGION" --instance-id "$INSTANCE_ID" \
  --no-source-dest-check
aws ec2 attach-network-interface --region "$REGION" --instance-id "$INSTANCE_ID" \
  --network-interface-id {eni_id} --device-index 1
# Wait for the kernel to see the attached interface, then take its name.
for _ in $(seq 1 60); do
  INSIDE=$(ip -o link | awk -F': ' '{{print $2}}' | grep -v -e '^lo$' -e "^$PRIMARY$" | head -n1)
  [ -n "$INSIDE" ] && break
  sleep 2
done
[ -n "$INSIDE" ] || {{ echo "the NAT interface {eni_id} never appeared" >&2; exit 1; }}
ip link set "$INSIDE" up
cat > /etc/sysctl.d/90-nat.conf <<SYSCTL
net.ipv4.ip_forward = 1
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.default.rp_filter = 0
net.ipv4.conf.$PRIMARY.rp_filter = 0
net.ipv4.conf.$INSIDE.rp_filter = 0
SYSCTL
sysctl -p /etc/sysctl.d/90-nat.conf
iptables -t nat -A POSTROUTING -o "$PRIMARY" -j MASQUERADE
iptables -F FORWARD
iptables -A FORWARD -i "$INSIDE" -o "$PRIMARY" -j ACCEPT
iptables -A FORWARD -i "$PRIMARY" -o "$INSIDE" -m state --state RELATED,ESTABLISHED -j ACCEPT
service iptables save
systemctl enable --now iptables
"""


def nat_instance_policy(eni_arn: str, instances_arn: str, instance_tag: tuple[str, str]) -> dict:
    """The NAT instance may attach only its own stable interface, and modify only instances that
    carry its own tag (itself: its launch template tags every instance it starts)."""
    key, value = instance_tag
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AttachTheStableInterface",
                "Effect": "Allow",
                "Action": "ec2:AttachNetworkInterface",
                "Resource": eni_arn,
            },
            {
                "Sid": "OnlyItself",
                "Effect": "Allow",
                "Action": ["ec2:AttachNetworkInterface", "ec2:ModifyInstanceAttribute"],
                "Resource": instances_arn,
                "Condition": {"StringEquals": {f"aws:ResourceTag/{key}": value}},
            },
        ],
    }


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
        check_args("Network", name, args, NetworkArgs)
        cidr = args.get("cidr_block", "10.0.0.0/16")
        pinned = list(args.get("availability_zones") or [])
        region = args.get("region")
        for key, value, rule in (
            ("cidr_block", cidr, check_vpc_cidr),
            ("az_count", args.get("az_count"), check_az_count),
            ("availability_zones", pinned or None, lambda z: check_availability_zones(z, region)),
            ("nat_instance_type", args.get("nat_instance_type"), check_nat_instance_type),
            ("interface_endpoints", args.get("interface_endpoints"), check_interface_endpoints),
            ("flow_logs_retention_days", args.get("flow_logs_retention_days"), check_log_retention),
            ("tags", args.get("tags"), check_tags),
        ):
            check_arg("Network", name, key, value, rule)
        az_count = len(pinned) if pinned else args.get("az_count", 3)
        nat = NatStrategy(args.get("nat", NatStrategy.PER_AZ))
        tags = dict(args.get("tags") or {})
        plan = plan_subnets(cidr, az_count)
        child = pulumi.ResourceOptions(parent=self)

        available = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        az_names: pulumi.Output[list[str]] = pulumi.Output.all(
            available.names,
            available.zone_ids,
            pulumi.Output.from_input(args.get("previous_availability_zones")),
        ).apply(
            lambda a: choose_availability_zones(
                az_count, list(a[0]), list(a[1]), pinned=pinned, previous=a[2]
            )
        )

        def tagged(suffix: str, **extra: str) -> dict[str, str]:
            return {**tags, "Name": f"{name}-{suffix}", **extra}

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tagged("vpc"),
            opts=child,
        )
        # Managing the default security group with no rules removes AWS's allow-all defaults.
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=tagged("default-sg-unused"),
            opts=child,
        )
        self.internet_gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=tagged("igw"), opts=child
        )

        self.subnets: dict[str, list[aws.ec2.Subnet]] = {tier: [] for tier in TIERS}
        for entry in plan:
            subnet = aws.ec2.Subnet(
                f"{name}-{entry.tier}-{entry.az_index}",
                vpc_id=self.vpc.id,
                cidr_block=entry.cidr,
                availability_zone=az_names.apply(operator.itemgetter(entry.az_index)),
                # No tier hands out public IPs: the ALB and the NAT instance ask for theirs.
                map_public_ip_on_launch=False,
                tags=tagged(f"{entry.tier}-{entry.az_index}", Tier=entry.tier),
                opts=child,
            )
            self.subnets[entry.tier].append(subnet)
        # Public tier: one route table with the internet gateway as default route.
        self.public_route_table = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=self.vpc.id, tags=tagged("public-rt"), opts=child
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

        # Private and isolated tiers: one route table per AZ (so per-AZ NAT routes stay local).
        self.private_route_tables: list[aws.ec2.RouteTable] = []
        self.isolated_route_tables: list[aws.ec2.RouteTable] = []
        for tier, tables in (
            ("private", self.private_route_tables),
            ("isolated", self.isolated_route_tables),
        ):
            for i, subnet in enumerate(self.subnets[tier]):
                table = aws.ec2.RouteTable(
                    f"{name}-{tier}-{i}-rt",
                    vpc_id=self.vpc.id,
                    tags=tagged(f"{tier}-{i}-rt"),
                    opts=child,
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-{tier}-{i}-rta",
                    subnet_id=subnet.id,
                    route_table_id=table.id,
                    opts=child,
                )
                tables.append(table)

        self.nat_gateways: list[aws.ec2.NatGateway] = []
        self.nat_instance_interface: aws.ec2.NetworkInterface | None = None
        if nat in (NatStrategy.SINGLE, NatStrategy.PER_AZ):
            gateway_count = az_count if nat is NatStrategy.PER_AZ else 1
            for i in range(gateway_count):
                eip = aws.ec2.Eip(
                    f"{name}-nat-{i}-eip", domain="vpc", tags=tagged(f"nat-{i}"), opts=child
                )
                self.nat_gateways.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{i}",
                        allocation_id=eip.id,
                        subnet_id=self.subnets["public"][i].id,
                        tags=tagged(f"nat-{i}"),
                        opts=pulumi.ResourceOptions(
                            parent=self, depends_on=[self.internet_gateway]
                        ),
                    )
                )
            for i, table in enumerate(self.private_route_tables):
                gateway = self.nat_gateways[i if nat is NatStrategy.PER_AZ else 0]
                aws.ec2.Route(
                    f"{name}-private-{i}-default",
                    route_table_id=table.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=gateway.id,
                    opts=child,
                )
        elif nat is NatStrategy.INSTANCE:
            self.nat_instance_interface = self._nat_instance(
                name, args.get("nat_instance_type", "t4g.nano"), cidr, tagged, tags
            )
            for i, table in enumerate(self.private_route_tables):
                aws.ec2.Route(
                    f"{name}-private-{i}-default",
                    route_table_id=table.id,
                    destination_cidr_block="0.0.0.0/0",
                    network_interface_id=self.nat_instance_interface.id,
                    opts=child,
                )

        # S3 gateway endpoint (free): image layers from ECR live in S3.
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self.s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self.vpc.id,
            service_name=region.apply(lambda r: endpoint_service_name(r, "s3")),
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in self.private_route_tables],
            tags=tagged("s3"),
            opts=child,
        )

        self.endpoint_security_group: aws.ec2.SecurityGroup | None = None
        interface_endpoints = list(args.get("interface_endpoints") or [])
        if interface_endpoints:
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
                tags=tagged("endpoints-sg"),
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
                    tags=tagged(short),
                    opts=child,
                )

        if args.get("enable_flow_logs", True):
            self._flow_logs(name, args.get("flow_logs_retention_days", 90), tags)

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

    def _nat_instance(
        self, name, instance_type, vpc_cidr, tagged, tags
    ) -> aws.ec2.NetworkInterface:
        """A NAT instance in an auto-scaling group of one, behind a stable ENI the routes target."""
        child = pulumi.ResourceOptions(parent=self)
        sg = aws.ec2.SecurityGroup(
            f"{name}-nat-sg",
            vpc_id=self.vpc.id,
            description="NAT instance: forward traffic from inside the VPC to the internet",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="-1",
                    from_port=0,
                    to_port=0,
                    cidr_blocks=[vpc_cidr],
                    description="Anything from inside the VPC",
                )
            ],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1",
                    from_port=0,
                    to_port=0,
                    cidr_blocks=["0.0.0.0/0"],
                    description="Out to the internet",
                )
            ],
            tags=tagged("nat-sg"),
            opts=child,
        )
        eni = aws.ec2.NetworkInterface(
            f"{name}-nat-eni",
            subnet_id=self.subnets["public"][0].id,
            security_groups=[sg.id],
            source_dest_check=False,
            tags=tagged("nat-eni"),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-nat-role",
            assume_role_policy=json.dumps(assume_role_policy("ec2.amazonaws.com")),
            tags=tags,
            opts=child,
        )
        # SSM Session Manager instead of SSH: no key pair, no port 22.
        aws.iam.RolePolicyAttachment(
            f"{name}-nat-ssm",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            opts=child,
        )
        nat_tag = ("phoenix-aws:nat", f"{name}-nat")
        invoke = pulumi.InvokeOutputOptions(parent=self)
        instances = pulumi.Output.concat(
            "arn:",
            aws.get_partition_output(opts=invoke).partition,
            ":ec2:",
            aws.get_region_output(opts=invoke).region,
            ":",
            aws.get_caller_identity_output(opts=invoke).account_id,
            ":instance/*",
        )
        aws.iam.RolePolicy(
            f"{name}-nat-eni-policy",
            role=role.id,
            policy=pulumi.Output.all(eni.arn, instances).apply(
                lambda a: json.dumps(nat_instance_policy(a[0], a[1], nat_tag))
            ),
            opts=child,
        )
        profile = aws.iam.InstanceProfile(f"{name}-nat-profile", role=role.name, opts=child)
        template = aws.ec2.LaunchTemplate(
            f"{name}-nat-lt",
            image_id=f"resolve:ssm:{NAT_INSTANCE_AMI_PARAMETER}",
            instance_type=instance_type,
            # An explicit, encrypted root volume (the AMI's own size otherwise, unencrypted).
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=NAT_ROOT_VOLUME_GB,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0,
                    associate_public_ip_address="true",
                    security_groups=[sg.id],
                    delete_on_termination="true",
                )
            ],
            user_data=eni.id.apply(
                lambda eni_id: base64.b64encode(nat_instance_user_data(eni_id).encode()).decode()
            ),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type="instance", tags={**tagged("nat"), nat_tag[0]: nat_tag[1]}
                )
            ],
            opts=child,
        )
        aws.autoscaling.Group(
            f"{name}-nat-asg",
            min_size=1,
            max_size=1,
            desired_capacity=1,
            vpc_zone_identifiers=[self.subnets["public"][0].id],
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version="$Latest"
            ),
            health_check_type="EC2",
            tags=[
                aws.autoscaling.GroupTagArgs(
                    key="Name", value=f"{name}-nat", propagate_at_launch=True
                )
            ],
            opts=child,
        )
        return eni

    def _flow_logs(self, name: str, retention_days: int, tags: dict[str, str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=retention_days,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=json.dumps(assume_role_policy("vpc-flow-logs.amazonaws.com")),
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
