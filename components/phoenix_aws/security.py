"""Security-group rules as standalone resources, so two components can wire a client to a server
without a dependency cycle (each side's group exists before either rule is made)."""

import pulumi
import pulumi_aws as aws


def allow_between(
    name: str,
    *,
    client_security_group_id: pulumi.Input[str],
    server_security_group_id: pulumi.Input[str],
    port: pulumi.Input[int],
    description: str,
    opts: pulumi.ResourceOptions,
    to_port: pulumi.Input[int] | None = None,
) -> tuple[aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupEgressRule]:
    """TCP `port` (to `to_port`) from the client group to the server group: ingress on the
    server, egress on the client, each referencing the other group (never a CIDR). Client and
    server may be the same group (node-to-node traffic)."""
    ingress = aws.vpc.SecurityGroupIngressRule(
        f"{name}-in",
        security_group_id=server_security_group_id,
        referenced_security_group_id=client_security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=to_port or port,
        description=description,
        opts=opts,
    )
    egress = aws.vpc.SecurityGroupEgressRule(
        f"{name}-out",
        security_group_id=client_security_group_id,
        referenced_security_group_id=server_security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=to_port or port,
        description=description,
        opts=opts,
    )
    return ingress, egress


def server_security_group(
    name: str,
    *,
    vpc_id: pulumi.Input[str],
    client_security_group_id: pulumi.Input[str],
    port: int,
    what: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.SecurityGroup:
    """A server's group (a data store) that only the client group may reach, on `port`."""
    group = aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=vpc_id,
        description=f"{what}: {port} from the app nodes only",
        tags=tags,
        opts=opts,
    )
    allow_between(
        f"{name}-from-nodes",
        client_security_group_id=client_security_group_id,
        server_security_group_id=group.id,
        port=port,
        description=f"{what.split(' ')[0]} from the app nodes",
        opts=opts,
    )
    return group
