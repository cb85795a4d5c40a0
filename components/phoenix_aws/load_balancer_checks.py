"""The rules AWS enforces on an Application Load Balancer's settings, written once as `check_*`
functions (the LoadBalancer component and the stack settings both call them), each citing the AWS
documentation; and the two typed settings they check (the routing algorithm, the health check).
"""

import re
from enum import StrEnum
from typing import NotRequired, TypedDict

from .validation import check_arn, check_cidr, check_distinct, short

# VPC quota: inbound rules per security group (IPv4 and IPv6 counted apart), the default:
# https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups
MAX_INBOUND_RULES_PER_SECURITY_GROUP = 60


def listener_ports(plain_http_only: bool) -> list[int]:
    """The ports the load balancer listens on: 80 (and 443 unless plain HTTP only)."""
    return [80] if plain_http_only else [80, 443]


class RoutingAlgorithm(StrEnum):
    """How the ALB picks a target for a new request or WebSocket."""

    LEAST_OUTSTANDING_REQUESTS = "least_outstanding_requests"
    """The target with the fewest requests in flight: a node added later (or after a deploy)
    gets new connections first, which evens out long-lived WebSockets (default)."""
    ROUND_ROBIN = "round_robin"
    """Targets in turn; the only algorithm that allows slow start."""


class HealthCheck(TypedDict):
    """Target health check. Keep it shallow: a DB outage must not take every node out."""

    path: NotRequired[str]
    """Default: `/health`."""
    interval_seconds: NotRequired[int]
    """Default: 15."""
    timeout_seconds: NotRequired[int]
    """Default: 5."""
    healthy_threshold: NotRequired[int]
    """Default: 2."""
    unhealthy_threshold: NotRequired[int]
    """Default: 3."""
    matcher: NotRequired[str]
    """HTTP codes that mean healthy. Default: `200`."""


def check_slow_start(seconds: int) -> int:
    """Slow start is off (0) or 30-900 seconds.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#slow-start-mode"""
    if seconds != 0 and not 30 <= seconds <= 900:
        raise ValueError("slow start is 0 (off) or 30-900 seconds")
    return seconds


def check_algorithm_with_slow_start(algorithm: str, slow_start_seconds: int) -> None:
    """AWS refuses a target group that combines slow start with the least outstanding requests
    algorithm: slow start works only with round robin.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#slow-start-mode
    """
    RoutingAlgorithm(algorithm)
    check_slow_start(slow_start_seconds)
    if slow_start_seconds and algorithm != RoutingAlgorithm.ROUND_ROBIN:
        raise ValueError(
            "slow start works only with the round_robin algorithm (AWS refuses it together with "
            "least_outstanding_requests); set slow_start_seconds: 0, or "
            "load_balancing_algorithm: round_robin"
        )


def check_idle_timeout(seconds: int) -> int:
    """1-4000 s by AWS; at least 60 here, so Phoenix's 30 s WebSocket heartbeat (and a missed
    one) never finds the connection closed.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#connection-idle-timeout"""
    if not 60 <= seconds <= 4000:
        raise ValueError("use 60-4000 seconds (Phoenix sends a WebSocket heartbeat every 30 s)")
    return seconds


def check_deregistration_delay(seconds: int) -> int:
    """0-3600 seconds.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay"""
    if not 0 <= seconds <= 3600:
        raise ValueError("use 0-3600 seconds")
    return seconds


def check_ingress_cidrs(cidrs: list[str], plain_http_only: bool = False) -> list[str]:
    """Who may reach the listeners: at least one IPv4 network, each once (one is one security
    group rule per listener port, named by the network: a repeat is a duplicate resource), and
    no more than the security group's inbound rules quota holds (60, so 30 networks with HTTPS,
    60 with plain HTTP only). The load balancer is IPv4-only (`ip_address_type: ipv4`), so IPv6
    ranges would open nothing.
    https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups"""
    if not cidrs:
        raise ValueError(
            "nobody could reach the load balancer; give at least one network "
            "(0.0.0.0/0 for the whole internet)"
        )
    for cidr in cidrs:
        try:
            check_cidr(cidr, version=4)
        except ValueError as exc:
            raise ValueError(f"{short(cidr)}: {exc} (the load balancer is IPv4-only)") from None
    check_distinct(cidrs, key=check_cidr)
    ports = listener_ports(plain_http_only)
    rules = len(cidrs) * len(ports)
    if rules > MAX_INBOUND_RULES_PER_SECURITY_GROUP:
        raise ValueError(
            f"{len(cidrs)} networks on ports {' and '.join(map(str, ports))} are {rules} inbound "
            f"rules; a security group holds {MAX_INBOUND_RULES_PER_SECURITY_GROUP}: give at most "
            f"{MAX_INBOUND_RULES_PER_SECURITY_GROUP // len(ports)} (merge into wider networks)"
        )
    return cidrs


_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def check_domain(domain: str) -> str:
    """A DNS host name: lower-case letters, digits and hyphens in dot-separated labels of at most
    63 characters, at most 253 in all, with a top-level domain.
    https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html"""
    if len(domain) > 253:
        raise ValueError("a domain name has at most 253 characters")
    labels = domain.split(".")
    if len(labels) < 2:
        raise ValueError("expected a full host name such as app.example.com")
    for label in labels:
        if len(label) > 63:
            raise ValueError(f"the label {label[:20]}... is longer than 63 characters")
        if not _LABEL.fullmatch(label):
            raise ValueError(
                f"the label {label!r} may only hold lower-case letters, digits and inner hyphens"
            )
    if labels[-1].isdigit():
        raise ValueError("expected a host name, not an address")
    return domain


def check_certificate_arn(arn: str) -> str:
    return check_arn(
        arn,
        service="acm",
        resource="certificate/",
        what="an ACM certificate",
        example="arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-...",
    )


_HEADER = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}")


def check_test_header(name: str) -> str:
    """An HTTP header name of at most 40 characters (ALB's limit for header conditions).
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html#http-header-conditions"""
    if not _HEADER.fullmatch(name):
        raise ValueError("expected an HTTP header name (letters, digits, hyphens; at most 40)")
    return name


def check_path_pattern(path: str) -> str:
    """An ALB path pattern: starts with `/`, at most 128 characters, `*` and `?` wildcards.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html#path-conditions"""
    if not path.startswith("/") or len(path) > 128:
        raise ValueError("expected a path pattern starting with / (at most 128 characters)")
    return path


def check_health_check(health: "HealthCheck") -> "HealthCheck":
    """Target group health check limits: interval 5-300 s, timeout 2-120 s and shorter than the
    interval, thresholds 2-10, a path, and a matcher of HTTP codes (`200`, `200,204`,
    `200-299`). https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html"""
    path = health.get("path", "/health")
    interval = health.get("interval_seconds", 15)
    timeout = health.get("timeout_seconds", 5)
    if not path.startswith("/"):
        raise ValueError("path: expected a path starting with /")
    if not 5 <= interval <= 300:
        raise ValueError("interval_seconds: use 5-300")
    if not 2 <= timeout <= 120:
        raise ValueError("timeout_seconds: use 2-120")
    if timeout >= interval:
        raise ValueError(f"timeout_seconds must be shorter than interval_seconds ({interval})")
    thresholds = {
        "healthy_threshold": health.get("healthy_threshold", 2),
        "unhealthy_threshold": health.get("unhealthy_threshold", 3),
    }
    for key, value in thresholds.items():
        if not 2 <= value <= 10:
            raise ValueError(f"{key}: use 2-10")
    if not re.fullmatch(r"[1-5]\d\d((,|-)[1-5]\d\d)*", health.get("matcher", "200")):
        raise ValueError("matcher: HTTP codes such as 200, 200,204 or 200-299")
    return health
