"""Network: a VPC with public, private and isolated subnets per availability zone.

- public: the load balancer and NAT; the only tier whose subnets assign public IPs.
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
        raise ValueError(f"VPC CIDR must be IPv4, got {vpc_cidr}")
    if not MIN_VPC_PREFIX <= network.prefixlen <= MAX_VPC_PREFIX:
        raise ValueError(
            f"VPC CIDR prefix must be between /{MIN_VPC_PREFIX} and /{MAX_VPC_PREFIX}, "
            f"got {vpc_cidr}"
        )
    if not 1 <= az_count <= MAX_AZS:
        raise ValueError(f"AZ count must be between 1 and {MAX_AZS}, got {az_count}")

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


def nat_instance_user_data(eni_id: str) -> str:
    """Cloud-init script that turns a fresh Amazon Linux instance into a NAT for the VPC.

    It attaches the stable ENI that the private route tables point at (the instance itself is
    replaceable by its auto-scaling group), turns off source/dest checks and masquerades traffic
    from that ENI out of the primary interface.
    """
    return f"""#!/bin/bash
set -euo pipefail
dnf install -y iptables-services
IMDS=http://169.254.169.254/latest
TOKEN=$(curl -sX PUT $IMDS/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
MD() {{ curl -s -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/meta-data/$1"; }}
INSTANCE_ID=$(MD instance-id)
REGION=$(MD placement/region)
aws ec2 modify-instance-attribute --region "$REGION" --instance-id "$INSTANCE_ID" \\
  --no-source-dest-check
aws ec2 attach-network-interface --region "$REGION" --instance-id "$INSTANCE_ID" \\
  --network-interface-id {eni_id} --device-index 1
sysctl -w net.ipv4.ip_forward=1
echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-nat.conf
PRIMARY=$(ip -o route get 1.1.1.1 | awk '{{print $5}}')
iptables -t nat -A POSTROUTING -o "$PRIMARY" -j MASQUERADE
iptables -F FORWARD
service iptables save
systemctl enable --now iptables
"""


class NetworkArgs(TypedDict):
    """Inputs of a Network."""

    cidr_block: NotRequired[str]
    """VPC IPv4 CIDR, /16 to /22. Default: `10.0.0.0/16`."""
    az_count: NotRequired[int]
    """Number of availability zones, 2 to 6. Default: 3."""
    availability_zones: NotRequired[list[str]]
    """Explicit AZ names (their count wins over `az_count`). Default: the first `az_count`
    AZs of the region's available list."""
    nat: NotRequired[NatStrategy]
    """Egress for private subnets. Default: `per_az` (one NAT gateway per AZ)."""
    nat_instance_type: NotRequired[str]
    """EC2 instance type for `nat: instance` (must be arm64). Default: `t4g.nano`."""
    interface_endpoints: NotRequired[list[str]]
    """Interface endpoints to create in the private subnets (e.g. `ecr.api`, `ecr.dkr`, `logs`,
    `secretsmanager`, `ssmmessages`). Default: none."""
    enable_flow_logs: NotRequired[bool]
    """Send VPC flow logs (all traffic) to CloudWatch Logs. Default: true."""
    flow_logs_retention_days: NotRequired[int]
    """Retention of the flow log group. Default: 90."""
    tags: NotRequired[dict[str, str]]
    """Tags for every taggable child. Default: none."""


class Network(pulumi.ComponentResource):
    """A three-tier VPC for a Phoenix cluster: public, private and isolated subnets per AZ."""

    vpc_id: pulumi.Output[str]
    vpc_cidr_block: pulumi.Output[str]
    availability_zones: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    isolated_subnet_ids: pulumi.Output[list[str]]
    public_route_table_id: pulumi.Output[str]
    private_route_table_ids: pulumi.Output[list[str]]
    isolated_route_table_ids: pulumi.Output[list[str]]
    endpoint_security_group_id: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("phoenix-aws:components:Network", name, None, opts)
        cidr = args.get("cidr_block", "10.0.0.0/16")
        explicit_azs = args.get("availability_zones")
        az_count = len(explicit_azs) if explicit_azs else args.get("az_count", 3)
        nat = NatStrategy(args.get("nat", NatStrategy.PER_AZ))
        tags = dict(args.get("tags") or {})
        plan = plan_subnets(cidr, az_count)
        child = pulumi.ResourceOptions(parent=self)

        if explicit_azs:
            az_names: pulumi.Output[list[str]] = pulumi.Output.from_input(list(explicit_azs))
        else:
            available = aws.get_availability_zones_output(
                state="available", opts=pulumi.InvokeOutputOptions(parent=self)
            )
            az_names = available.names.apply(lambda names: _first_azs(names, az_count))

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
                map_public_ip_on_launch=entry.tier == "public",
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
        aws.iam.RolePolicy(
            f"{name}-nat-eni-policy",
            role=role.id,
            policy=json.dumps(
                allow(["ec2:AttachNetworkInterface", "ec2:ModifyInstanceAttribute"], "*")
            ),
            opts=child,
        )
        profile = aws.iam.InstanceProfile(f"{name}-nat-profile", role=role.name, opts=child)
        template = aws.ec2.LaunchTemplate(
            f"{name}-nat-lt",
            image_id=f"resolve:ssm:{NAT_INSTANCE_AMI_PARAMETER}",
            instance_type=instance_type,
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
                    resource_type="instance", tags=tagged("nat")
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


def _first_azs(names: list[str], count: int) -> list[str]:
    if len(names) < count:
        raise ValueError(
            f"the region has {len(names)} available AZs ({', '.join(names)}), {count} requested"
        )
    return list(names[:count])
