"""Security-group rules as standalone resources, so two components can wire a client to a server
without a dependency cycle (each side's group exists before either rule is made)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def allow_between(
    name: str,
    *,
    client_security_group_id: pulumi.Input[str],
    server_security_group_id: pulumi.Input[str],
    port: int,
    description: str,
    opts: pulumi.ResourceOptions,
) -> tuple[aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupEgressRule]:
    """TCP `port` from the client group to the server group: ingress on the server, egress on the
    client, each referencing the other group (never a CIDR)."""
    ingress = aws.vpc.SecurityGroupIngressRule(
        f"{name}-in",
        security_group_id=server_security_group_id,
        referenced_security_group_id=client_security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=description,
        opts=opts,
    )
    egress = aws.vpc.SecurityGroupEgressRule(
        f"{name}-out",
        security_group_id=client_security_group_id,
        referenced_security_group_id=server_security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=description,
        opts=opts,
    )
    return ingress, egress
