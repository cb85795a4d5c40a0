"""The names a cluster gives, in pure functions the stack settings call too: its private DNS
namespace, the SSM parameters of its slots' drain switches, and a log group's name in its ARN.
"""

import json
import re

from .naming import SSM_PARAMETER_NAME, dns_labels, physical_name, slug


def check_namespace(namespace: str) -> str:
    """A private DNS namespace name such as `prod.shop.internal`."""
    if not re.fullmatch(
        r"([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]*[a-z0-9])?", namespace
    ):
        raise ValueError("expected a DNS name such as prod.shop.internal")
    return namespace


def default_namespace(name_parts: list[str]) -> str:
    """`<stack>.<project>.internal`: one DNS label per part (lower-case, at most 63 characters),
    whatever the project and stack are called (Pulumi allows dots, underscores and 100
    characters). https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html"""
    return dns_labels(*reversed(name_parts), suffix="internal")


def drain_parameter_name(name_parts: list[str], slot: str) -> str:
    """`/<project>/<stack>/<slot>/drain`: the SSM parameter that tells a slot to shed sockets
    (`/app-aws-shop/…` for a project named like AWS's reserved `aws…`/`ssm…` prefixes).
    https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html"""
    parts = [slug(p) or physical_name(p, max_length=16) for p in name_parts]
    name = "/" + "/".join(parts) + f"/{slot}/drain"
    if SSM_PARAMETER_NAME.problems(name):
        name = f"/{SSM_PARAMETER_NAME.lead}-" + name[1:]
    return SSM_PARAMETER_NAME.check(name)


def drain_parameter_value(draining: bool, window_seconds: int) -> str:
    """What a slot's nodes read: shed their WebSockets gradually over the window, or keep them."""
    if draining:
        return json.dumps({"shed": True, "window_seconds": window_seconds})
    return json.dumps({"shed": False})


def log_group_name_of(arn: str | None) -> str | None:
    """The name in a log group ARN (`arn:aws:logs:<region>:<account>:log-group:<name>[:*]`)."""
    if not arn or ":log-group:" not in arn:
        return None
    return arn.split(":log-group:", 1)[1].removesuffix(":*")
