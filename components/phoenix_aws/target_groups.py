"""An app's place behind a load balancer: its blue and green target groups, and the slot test
routes that attach them to a listener. `LoadBalancer` (which creates the listener) and
`ListenerAttachment` (which joins a listener another app or stack owns) both build them here.
"""

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from .listener_rules import TEST_ROUTE_BANDS, PlannedRule, rule_conditions
from .load_balancer_checks import RoutingAlgorithm
from .naming import TARGET_GROUP_NAME, physical_name
from .slots import SLOTS


def target_group_name(
    name_parts: list[str], slot: str, port: int = 4000, protocol: str = "HTTP", target_type="ip"
) -> str:
    """`<project>-<stack>-<slot>-<hash>` within AWS's 32 characters. The hash covers what forces
    a new target group (port, protocol, target type), so the replacement gets a new name and is
    created before the old one is deleted instead of colliding with it."""
    fingerprint = hashlib.sha256(f"{port}/{protocol}/{target_type}".encode()).hexdigest()[:4]
    return physical_name(*name_parts, slot, fingerprint, rule=TARGET_GROUP_NAME)


# An ALB listener ARN ends in `listener/app/<load balancer name>/<id>/<listener id>`; the load
# balancer's metrics dimension is `app/<name>/<id>`.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
_LISTENER = re.compile(r"arn:[^:]+:elasticloadbalancing:[^:]*:\d*:listener/(app/[^/]+/[^/]+)/[^/]+")


def load_balancer_arn_suffix(listener_arn: str) -> str:
    """The `LoadBalancer` metrics dimension of the load balancer a listener belongs to."""
    match = _LISTENER.fullmatch(listener_arn)
    if not match:
        raise ValueError(
            "expected the ARN of an Application Load Balancer listener, e.g. "
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c49/f2f7dc8e"
        )
    return match.group(1)


def create_target_groups(
    parent: pulumi.Resource,
    name: str,
    settings: Mapping[str, Any],
    *,
    parts: list[str],
    vpc_id: pulumi.Input[str],
    app_port: int,
    tags: dict[str, str],
) -> dict[str, aws.lb.TargetGroup]:
    """One IP target group per slot (children of `parent`, named `<name>-<slot>`), with the
    health check, drain and stickiness `settings` (keys as in LoadBalancerArgs)."""
    health = settings.get("health_check") or {}
    algorithm = RoutingAlgorithm(
        settings.get("load_balancing_algorithm", RoutingAlgorithm.LEAST_OUTSTANDING_REQUESTS)
    )
    return {
        slot: aws.lb.TargetGroup(
            f"{name}-{slot}",
            name=target_group_name(parts, slot, app_port),
            target_type="ip",
            protocol="HTTP",
            port=app_port,
            vpc_id=vpc_id,
            load_balancing_algorithm_type=algorithm.value,
            deregistration_delay=settings.get("deregistration_delay_seconds", 60),
            slow_start=settings.get("slow_start_seconds", 0),
            health_check={
                "enabled": True,
                "protocol": "HTTP",
                "path": health.get("path", "/health"),
                "matcher": health.get("matcher", "200"),
                "interval": health.get("interval_seconds", 15),
                "timeout": health.get("timeout_seconds", 5),
                "healthy_threshold": health.get("healthy_threshold", 2),
                "unhealthy_threshold": health.get("unhealthy_threshold", 3),
            },
            stickiness={
                "type": "lb_cookie",
                "enabled": settings.get("enable_stickiness", False),
                "cookie_duration": settings.get("stickiness_seconds", 3600),
            },
            tags={**tags, "phoenix-aws:slot": slot},
            # A changed port means a new group (new name); it replaces the old one first.
            opts=pulumi.ResourceOptions(parent=parent, delete_before_replace=False),
        )
        for slot in SLOTS
    }


def create_test_routes(
    parent: pulumi.Resource,
    name: str,
    test_routes: list[PlannedRule],
    listener_arn: pulumi.Input[str],
    target_groups: dict[str, aws.lb.TargetGroup],
    tags: dict[str, str],
) -> dict[str, list[aws.lb.ListenerRule]]:
    """The slot test routes (header + operator CIDRs → one slot, within the app's scope); they
    also attach each target group to the load balancer, which ECS needs before it registers a
    service with it."""
    attachments: dict[str, list[aws.lb.ListenerRule]] = {slot: [] for slot in SLOTS}
    for rule in test_routes:
        slot = rule.action.split(":", 1)[1]
        attachments[slot].append(
            aws.lb.ListenerRule(
                f"{name}-rule-{rule.key}",
                listener_arn=listener_arn,
                priority=rule.scope.priority(TEST_ROUTE_BANDS[slot], rule.offset),
                conditions=rule_conditions(rule),
                actions=[{"type": "forward", "target_group_arn": target_groups[slot].arn}],
                tags=tags,
                opts=pulumi.ResourceOptions(parent=parent),
            )
        )
    return attachments


def attached_target_group_arns(
    target_groups: dict[str, aws.lb.TargetGroup],
    attachments: dict[str, list[aws.lb.ListenerRule]],
) -> pulumi.Output[dict[str, str]]:
    """slot → target group ARN, resolving once the group is attached to the load balancer, so an
    ECS service that uses it is created only after that."""
    return pulumi.Output.all(
        **{
            slot: pulumi.Output.all(tg.arn, *[r.arn for r in attachments[slot]]).apply(
                lambda a: a[0]
            )
            for slot, tg in target_groups.items()
        }
    )
