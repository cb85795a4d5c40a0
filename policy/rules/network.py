"""Rules of the network: EC2's Security Hub controls (EC2.*), who may reach the BEAM ports, the
NAT instance and the IAM rights around it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .model import Context, Enforcement, Finding, Resource, Stack, resource_rule, stack_rule
from .properties import (
    DEFAULT_SECURITY_GROUP,
    ECS_SERVICE,
    EPMD_PORT,
    FLOW_LOG,
    IAM_ROLE_POLICY,
    INGRESS_TYPES,
    LAUNCH_TEMPLATE,
    LOAD_BALANCER,
    SECURITY_GROUP,
    SUBNET,
    TASK_DEFINITION,
    VPC,
    _containers,
    _first,
    _ingresses,
    _is_internet_facing,
    _json,
    _map,
    _seq,
    _true,
)

EC2_DOCS = "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html"
AUTHORIZED_PUBLIC_PORTS = (80, 443)
# EC2.19's high-risk ports.
HIGH_RISK_PORTS: tuple[int, ...] = (
    *(20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333),
    *(5000, 5432, 5500, 5601, 8080, 8088, 8888, 9200, 9300),
)


@stack_rule("ec2-2-default-security-group-closed", Enforcement.MANDATORY, control="EC2.2")
def ec2_2_default_security_group_closed(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """EC2.2: a VPC's default security group allows no traffic in or out.

    The control fails if the default security group allows inbound or outbound traffic; AWS
    creates it allowing all traffic between its members, so the stack must manage it, empty.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-2
    """
    for vpc in stack.of_type(VPC):
        managed = stack.dependents(vpc, DEFAULT_SECURITY_GROUP)
        if not managed:
            yield Finding(
                f"VPC {vpc.name!r} leaves its default security group open (AWS creates it "
                "allowing all traffic between members); manage it with no rules",
                vpc,
            )
    for group in stack.of_type(DEFAULT_SECURITY_GROUP):
        if _seq(group.props.get("ingress")) or _seq(group.props.get("egress")):
            yield Finding(
                f"default security group {group.name!r} has rules; remove every ingress and "
                "egress rule",
                group,
            )


@stack_rule("ec2-6-vpc-flow-logs", Enforcement.ADVISORY, control="EC2.6")
def ec2_6_vpc_flow_logs(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """EC2.6: every VPC records flow logs (at least rejected traffic).

    The control fails if a VPC has no flow log with traffic type REJECT (or ALL). Advisory (log
    ingestion costs money); the local emulator stack, which has no log delivery, waives it.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-6
    """
    for vpc in stack.of_type(VPC):
        logs = [
            f
            for f in stack.dependents(vpc, FLOW_LOG)
            if str(f.props.get("trafficType", "")).upper() in ("ALL", "REJECT")
        ]
        if not logs:
            yield Finding(
                f"VPC {vpc.name!r} records no flow logs; add a flow log with trafficType ALL",
                vpc,
            )


@resource_rule("ec2-15-no-automatic-public-ip", Enforcement.MANDATORY, SUBNET, control="EC2.15")
def ec2_15_no_automatic_public_ip(r: Resource, ctx: Context) -> Iterator[str]:
    """EC2.15: no subnet hands out public IPv4 addresses automatically.

    The control passes only if `MapPublicIpOnLaunch` is false. Nothing in a phoenix-aws stack
    needs it: the load balancer gets its addresses from AWS and the NAT uses an Elastic IP or
    asks for one explicitly.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-15
    """
    if _true(r.props.get("mapPublicIpOnLaunch")):
        yield (
            f"subnet {r.name!r} gives every network interface launched in it a public IP; "
            "set mapPublicIpOnLaunch to false"
        )


@resource_rule(
    "ec2-18-public-ingress-web-ports-only", Enforcement.MANDATORY, *INGRESS_TYPES, control="EC2.18"
)
def ec2_18_public_ingress_web_ports_only(r: Resource, ctx: Context) -> Iterator[str]:
    """EC2.18: ingress from anywhere (0.0.0.0/0, ::/0) only on TCP 80 and 443.

    The control fails if a security group allows unrestricted incoming traffic on a port that
    is not in `authorizedTcpPorts` (default 80, 443).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-18
    """
    for ingress in _ingresses(r):
        if not ingress.from_world:
            continue
        if ingress.protocol in ("tcp", "6") and (
            ingress.from_port == ingress.to_port and ingress.from_port in AUTHORIZED_PUBLIC_PORTS
        ):
            continue
        yield (
            f"{r.name!r} allows {ingress.protocol} {ingress.port_text()} from anywhere; "
            "only TCP 80 and 443 may be open to the internet"
        )


@resource_rule(
    "ec2-19-no-public-high-risk-ports", Enforcement.MANDATORY, *INGRESS_TYPES, control="EC2.19"
)
def ec2_19_no_public_high_risk_ports(r: Resource, ctx: Context) -> Iterator[str]:
    """EC2.19: no high-risk port (SSH, RDP, databases, …) is reachable from anywhere.

    The control fails if any rule allows ingress from 0.0.0.0/0 or ::/0 to a high-risk port
    (20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432,
    5500, 5601, 8080, 8088, 8888, 9200, 9300).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-19
    """
    for ingress in _ingresses(r):
        if not ingress.from_world:
            continue
        exposed = [p for p in HIGH_RISK_PORTS if ingress.covers(p)]
        if exposed:
            shown = ", ".join(map(str, exposed[:5])) + (", …" if len(exposed) > 5 else "")
            yield f"{r.name!r} exposes high-risk ports ({shown}) to the internet"


@stack_rule("ec2-18-public-ingress-load-balancer-only", Enforcement.MANDATORY, control="EC2.18")
def ec2_18_public_ingress_load_balancer_only(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """EC2.18: only the internet-facing load balancer's security group is open to the internet.

    Only the load balancer is public (the architecture's first boundary); app nodes, data stores,
    endpoints and NAT are reached from inside the VPC only.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-18
    """
    public_groups = {
        group.urn
        for lb in stack.of_type(*LOAD_BALANCER)
        if _is_internet_facing(lb.props)
        for group in stack.dependencies(lb, SECURITY_GROUP)
    }
    for resource in stack.of_type(*INGRESS_TYPES):
        for ingress in _ingresses(resource):
            if not ingress.from_world:
                continue
            groups = (
                {resource.urn}
                if resource.type == SECURITY_GROUP
                else {g.urn for g in stack.dependencies(resource, SECURITY_GROUP)}
            )
            if not groups & public_groups:
                yield Finding(
                    f"{resource.name!r} opens {ingress.port_text()} to the internet on a "
                    "security group that no internet-facing load balancer uses",
                    resource,
                )


def _distribution_ranges(stack: Stack) -> list[tuple[int, int]]:
    """The Erlang distribution port ranges the task definitions pin (ERL_AFLAGS)."""
    ranges = set()
    for task in stack.of_type(TASK_DEFINITION):
        for container in _containers(task):
            for variable in _seq(container.get("environment")):
                value = str(_map(variable).get("value", ""))
                low = re.search(r"inet_dist_listen_min\s+(\d+)", value)
                high = re.search(r"inet_dist_listen_max\s+(\d+)", value)
                if low and high:
                    ranges.add((int(low.group(1)), int(high.group(1))))
    return sorted(ranges)


@stack_rule("beam-ports-node-to-node-only", Enforcement.MANDATORY)
def beam_ports_node_to_node_only(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """EPMD (4369) and the distribution ports reach a node only from the node security group.

    Anyone who reaches EPMD and a distribution port with the cookie controls the node, so on the
    nodes' security group (the one the ECS services run in) these ports may only be opened to
    that same group. The distribution range is read from the tasks' ERL_AFLAGS.
    Docs: https://www.erlang.org/doc/system/distributed.html (Security) and
    AWS docs: https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html
    """
    ranges = [(EPMD_PORT, EPMD_PORT), *_distribution_ranges(stack)]
    node_group_ids: set[Any] = set()
    node_group_urns: set[str] = set()
    for service in stack.of_type(ECS_SERVICE):
        network = _first(service.props.get("networkConfiguration"))
        node_group_ids.update(g for g in _seq(network.get("securityGroups")) if g)
        node_group_urns.update(g.urn for g in stack.dependencies(service, SECURITY_GROUP))
    if not node_group_ids and not node_group_urns:
        return
    for resource in stack.of_type(*INGRESS_TYPES):
        for ingress in _ingresses(resource):
            on_nodes = (
                resource.urn in node_group_urns
                if resource.type == SECURITY_GROUP
                else ingress.security_group_id in node_group_ids
            )
            if not on_nodes:
                continue
            for low, high in ranges:
                if not ingress.covers(low, high):
                    continue
                outside = bool(ingress.cidrs) or any(
                    s != "self" and s not in node_group_ids for s in ingress.sources
                )
                if outside or not ingress.sources:
                    what = "EPMD (4369)" if low == EPMD_PORT else f"distribution ports {low}-{high}"
                    yield Finding(
                        f"{resource.name!r} opens {what} on the node security group to something "
                        "other than the node security group itself",
                        resource,
                    )


ARM64_INSTANCE_FAMILY = re.compile(r"^(a1|[a-z]+\d+g[a-z]*)\.")


@resource_rule("nat-instance-arm64", Enforcement.MANDATORY, LAUNCH_TEMPLATE)
def nat_instance_arm64(r: Resource, ctx: Context) -> Iterator[str]:
    """An arm64 image runs on an arm64 (Graviton) instance type.

    An AMI's architecture must match the instance type's; an x86_64 type with the arm64 Amazon
    Linux image fails to launch, and the NAT's auto-scaling group retries forever.
    AWS docs: https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-type-specifications.html
    """
    image = str(r.props.get("imageId") or "")
    instance_type = r.props.get("instanceType")
    if "arm64" in image and instance_type and not ARM64_INSTANCE_FAMILY.match(str(instance_type)):
        yield (
            f"launch template {r.name!r} starts the arm64 image on {instance_type}, which is not "
            "an arm64 (Graviton) type; use e.g. t4g.nano"
        )


READ_ONLY_EC2 = re.compile(r"^ec2:(Describe|Get|List)", re.IGNORECASE)


@resource_rule("iam-no-wildcard-ec2-writes", Enforcement.MANDATORY, IAM_ROLE_POLICY)
def iam_no_wildcard_ec2_writes(r: Resource, ctx: Context) -> Iterator[str]:
    """An inline role policy never grants EC2 changes on every resource (`*`).

    Least privilege: a role that may attach interfaces or modify any instance in the account
    (the NAT instance needs its own interface and instance only) is a lateral-movement path.
    AWS docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege
    """
    document = _map(_json(r.props.get("policy")))
    statements = document.get("Statement")
    for statement in _seq(statements) if not isinstance(statements, Mapping) else [statements]:
        statement = _map(statement)
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        resources = statement.get("Resource")
        resources = [resources] if isinstance(resources, str) else _seq(resources)
        if "*" not in resources:
            continue
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else _seq(actions)
        writes = [
            a
            for a in actions
            if str(a).lower().startswith("ec2:") and not READ_ONLY_EC2.match(str(a))
        ]
        if writes:
            yield (
                f"role policy {r.name!r} allows {', '.join(map(str, writes))} on every resource; "
                "limit it to the ARNs it needs (or add a condition)"
            )
