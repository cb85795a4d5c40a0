"""NodeSecurityGroup: the app nodes' security group and the BEAM's node-to-node rules.

Created before the data stores and the load balancer, which add their own client/server rule pairs
to it (see components/security.py), so no component depends on another in a cycle.
"""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .security import allow_between
from .validation import arg_error, check_args, check_tags, component_type, with_legacy_alias

EPMD_PORT = 4369
DEFAULT_DISTRIBUTION_PORTS = (9100, 9109)


def check_distribution_ports(low: int, high: int) -> None:
    """Erlang distribution ports: a range within 1024-65535 that leaves out EPMD's 4369 (EPMD
    gets its own node-to-node rule). https://www.erlang.org/doc/apps/erts/erl_dist_protocol"""
    if not 1024 <= low <= 65535 or not 1024 <= high <= 65535:
        raise ValueError("use ports between 1024 and 65535")
    if high < low:
        raise ValueError(f"the range ends ({high}) before it starts ({low})")
    if low <= EPMD_PORT <= high:
        raise ValueError(f"the range must not include EPMD ({EPMD_PORT})")


def check_app_port(port: int, low: int, high: int) -> int:
    """The app's HTTP port is its own: not EPMD's 4369 and not inside the Erlang distribution
    range the nodes listen on (a node could not bind both, and the security group opens the
    range node-to-node only). https://www.erlang.org/doc/apps/erts/erl_dist_protocol"""
    if port == EPMD_PORT:
        raise ValueError(f"{port} is EPMD's port (Erlang node discovery); use another, e.g. 4000")
    if low <= port <= high:
        raise ValueError(
            f"{port} is inside the Erlang distribution range {low}-{high}; use a port outside it"
        )
    return port


class NodeSecurityGroupArgs(TypedDict):
    """Inputs of a NodeSecurityGroup."""

    vpc_id: pulumi.Input[str]
    """The VPC of the nodes."""
    vpc_cidr_block: pulumi.Input[str]
    """Where the VPC DNS resolver and interface endpoints live."""
    distribution_port_min: NotRequired[int]
    """First Erlang distribution port (`inet_dist_listen_min`). Default: 9100."""
    distribution_port_max: NotRequired[int]
    """Last Erlang distribution port (`inet_dist_listen_max`). Default: 9109."""
    tags: NotRequired[dict[str, str]]
    """Default: none."""


class NodeSecurityGroup(pulumi.ComponentResource):
    """Nodes reach each other on EPMD and the distribution range, and nothing else can.

    Egress: HTTPS anywhere (AWS APIs, ECR, Secrets Manager, through NAT or endpoints), DNS to the
    VPC, EPMD and distribution to the group itself. Data stores and the load balancer add their
    own rules referencing this group.
    """

    security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: NodeSecurityGroupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("NodeSecurityGroup"),
            name,
            None,
            with_legacy_alias("NodeSecurityGroup", opts),
        )
        low, high = check_node_security_group_args(name, args)
        tags = dict(args.get("tags") or {})
        # No inline rules: every rule is its own resource, so other components can add theirs.
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args["vpc_id"],
            description="Phoenix app nodes",
            tags={**tags, "Name": f"{name}-nodes"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._allow_node_to_node(name, low, high)
        self._allow_egress(name, args["vpc_cidr_block"])
        self.distribution_ports = (low, high)
        self.security_group_id = self.security_group.id
        self.register_outputs({"security_group_id": self.security_group_id})

    def _allow_node_to_node(self, name: str, low: int, high: int) -> None:
        """EPMD and the distribution range, from the group to itself only."""
        sg_id = self.security_group.id
        for suffix, from_port, to_port, what in (
            ("epmd", EPMD_PORT, EPMD_PORT, "EPMD between nodes"),
            ("dist", low, high, "Erlang distribution between nodes"),
        ):
            allow_between(
                f"{name}-{suffix}",
                client_security_group_id=sg_id,
                server_security_group_id=sg_id,
                port=from_port,
                to_port=to_port,
                description=what,
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _allow_egress(self, name: str, vpc_cidr_block: pulumi.Input[str]) -> None:
        """HTTPS anywhere, DNS to the VPC resolver."""
        child = pulumi.ResourceOptions(parent=self)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-https-out",
            security_group_id=self.security_group.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="HTTPS to AWS APIs, ECR and external services",
            opts=child,
        )
        for protocol in ("udp", "tcp"):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-dns-{protocol}-out",
                security_group_id=self.security_group.id,
                cidr_ipv4=vpc_cidr_block,
                ip_protocol=protocol,
                from_port=53,
                to_port=53,
                description="DNS to the VPC resolver",
                opts=child,
            )


def check_node_security_group_args(name: str, args: NodeSecurityGroupArgs) -> tuple[int, int]:
    """The distribution port range, once the args are valid."""
    check_args("NodeSecurityGroup", name, args, NodeSecurityGroupArgs)
    low, high = (
        args.get("distribution_port_min", DEFAULT_DISTRIBUTION_PORTS[0]),
        args.get("distribution_port_max", DEFAULT_DISTRIBUTION_PORTS[1]),
    )
    try:
        check_distribution_ports(low, high)
        check_tags(args.get("tags") or {})
    except ValueError as exc:
        raise arg_error("NodeSecurityGroup", name, "distribution_port_min", str(exc)) from None
    return low, high
