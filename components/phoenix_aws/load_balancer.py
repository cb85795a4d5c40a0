"""The public edge of a stack, in two components.

- `LoadBalancer`: the only public entry point. An ALB tuned for Phoenix WebSockets, a blue and a
  green target group, the listeners (503 until a release is live) and the slot test routes.
- `TrafficRouting`: what moves traffic. The live rule and the per-path allow lists, forwarding to
  both target groups with the blue/green weights. It is created after the slots and their
  migrations and waits for them (`ready`), so traffic never moves before they are done.

Rules AWS enforces are written once here as `check_*` functions (the stack settings call them
too), each citing the AWS documentation.
"""

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .naming import LOAD_BALANCER_NAME_MAX, TARGET_GROUP_NAME_MAX, physical_name, slug
from .security import allow_between
from .slots import SLOTS, TEST_HEADER, Slot
from .validation import (
    arg_error,
    check_arg,
    check_args,
    check_arn,
    check_cidr,
    check_cidr_list,
    check_tags,
    component_type,
    with_legacy_alias,
)

MODERN_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
LIVE_RULE_PRIORITY = 50000  # the last priority ALB allows: everything not matched before

# Listener rule quotas of an Application Load Balancer (not adjustable for condition values):
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
MAX_RULES_PER_LOAD_BALANCER = 100
MAX_CONDITION_VALUES = 5
# A test route spends one value on the header, an allow-list rule one on its path pattern.
CIDRS_PER_RULE = MAX_CONDITION_VALUES - 1

# Priorities come in bands of RULE_BAND_WIDTH: band 0 and 1 are the blue and green test routes,
# every allow-listed path gets a band of its own (its allow rules first, its 403 rule last). A
# band, once deployed, never moves, so editing one list never renumbers another's rules.
RULE_BAND_WIDTH = 20
RULE_BANDS = (LIVE_RULE_PRIORITY - 1) // RULE_BAND_WIDTH  # bands 0 .. RULE_BANDS-1
TEST_ROUTE_BANDS = {"blue": 0, "green": 1}

# ECS only registers a service with a target group that the load balancer already uses, so the
# slot test routes always exist. Without operator CIDRs they match only this source, which never
# reaches an internet-facing load balancer.
NO_OPERATOR_CIDRS = ("127.0.0.1/32",)


class RoutingAlgorithm(StrEnum):
    """How the ALB picks a target for a new request or WebSocket."""

    LEAST_OUTSTANDING_REQUESTS = "least_outstanding_requests"
    """The target with the fewest requests in flight: a node added later (or after a deploy)
    gets new connections first, which evens out long-lived WebSockets (default)."""
    ROUND_ROBIN = "round_robin"
    """Targets in turn; the only algorithm that allows slow start."""


# --- rules AWS enforces ----------------------------------------------------------------------


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


def check_ingress_cidrs(cidrs: list[str]) -> list[str]:
    """Who may reach the listeners: at least one IPv4 network. The load balancer is IPv4-only
    (`ip_address_type: ipv4`), so IPv6 ranges would open nothing."""
    if not cidrs:
        raise ValueError(
            "nobody could reach the load balancer; give at least one network "
            "(0.0.0.0/0 for the whole internet)"
        )
    for cidr in cidrs:
        try:
            check_cidr(cidr, version=4)
        except ValueError as exc:
            raise ValueError(f"{cidr!r}: {exc} (the load balancer is IPv4-only)") from None
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


# --- pure helpers ----------------------------------------------------------------------------


def forward_weights(live: str, canary_percent: int = 0) -> dict[str, int]:
    """Forward weights per slot: the live slot gets 100 - canary, the idle slot the canary.

    >>> forward_weights("blue")
    {'blue': 100, 'green': 0}
    >>> forward_weights("green", 10)
    {'green': 90, 'blue': 10}
    """
    slot = Slot(live)
    if isinstance(canary_percent, bool) or not isinstance(canary_percent, int):
        raise ValueError(f"canary_percent must be an integer, got {canary_percent!r}")
    if not 0 <= canary_percent <= 100:
        raise ValueError(f"canary_percent must be between 0 and 100, got {canary_percent}")
    return {slot.value: 100 - canary_percent, slot.other.value: canary_percent}


def chunk(values: list[str], size: int = CIDRS_PER_RULE) -> list[list[str]]:
    """Split `values` into lists of at most `size` (ALB rules take few condition values)."""
    if size < 1:
        raise ValueError("size must be positive")
    return [values[i : i + size] for i in range(0, len(values), size)]


def path_group(path: str) -> str:
    """The stable identity of an allow-listed path: its rules' names and band derive from it."""
    return f"path-{slug(path)[:24] or 'root'}-{hashlib.sha256(path.encode()).hexdigest()[:8]}"


def assign_rule_bands(groups: list[str], previous: dict[str, int] | None) -> dict[str, int]:
    """A priority band for each allow-list group (path).

    A group that was deployed keeps its band. A new group takes the lowest band that no group of
    the deployed graph holds and no other group takes now, so a new rule never receives a
    priority that a different rule holds in the deployed graph (AWS refuses duplicate
    priorities while both exist), and no unrelated rule is ever renumbered.
    """
    previous = dict(previous or {})
    held = set(previous.values()) | set(TEST_ROUTE_BANDS.values())
    bands: dict[str, int] = {}
    for group in groups:
        if group in previous:
            bands[group] = previous[group]
    taken = held | set(bands.values())
    free = (band for band in range(len(TEST_ROUTE_BANDS), RULE_BANDS) if band not in taken)
    for group in groups:
        if group not in bands:
            band = next(free, None)
            if band is None:
                raise ValueError("no free listener rule priorities are left")
            bands[group] = band
    return bands


def band_priority(band: int, offset: int) -> int:
    """The priority of the rule at `offset` in `band` (offset RULE_BAND_WIDTH - 1 is last)."""
    if not 0 <= offset < RULE_BAND_WIDTH:
        raise ValueError(f"a band holds {RULE_BAND_WIDTH} rules")
    return band * RULE_BAND_WIDTH + offset + 1


@dataclass(frozen=True)
class PlannedRule:
    """One listener rule: its stable key, its group and offset in the group's band, its
    conditions, and whether it forwards (to a slot, or weighted) or answers 403."""

    key: str
    group: str
    offset: int
    path: str | None
    cidrs: tuple[str, ...]
    header: tuple[str, str] | None
    action: str  # "forward" (weighted, gated) | "forward-slot:<slot>" | "deny"

    @property
    def condition_values(self) -> int:
        return len(self.cidrs) + (1 if self.path else 0) + (1 if self.header else 0)


def plan_test_routes(operator_cidrs: list[str], test_header: str) -> list[PlannedRule]:
    """A request with `<test_header>: <slot>` from an operator CIDR goes to that slot's target
    group. Both slots get their rules, so flipping `live` never touches them."""
    sources = list(operator_cidrs) or list(NO_OPERATOR_CIDRS)
    return [
        PlannedRule(
            key=f"test-{slot}-{n}",
            group=f"test-{slot}",
            offset=n,
            path=None,
            cidrs=tuple(cidrs),
            header=(test_header, slot),
            action=f"forward-slot:{slot}",
        )
        for slot in SLOTS
        for n, cidrs in enumerate(chunk(sources))
    ]


def plan_allow_list_rules(allow_lists: list["PathAllowList"]) -> list[PlannedRule]:
    """For each allow list, requests on its path from its CIDRs are forwarded with the weights;
    every other request on that path gets 403 (the last rule of the path's band)."""
    rules: list[PlannedRule] = []
    for entry in allow_lists:
        group = path_group(entry["path"])
        for n, cidrs in enumerate(chunk(list(entry["cidrs"]))):
            rules.append(
                PlannedRule(f"{group}-{n}", group, n, entry["path"], tuple(cidrs), None, "forward")
            )
        rules.append(
            PlannedRule(
                f"{group}-deny", group, RULE_BAND_WIDTH - 1, entry["path"], (), None, "deny"
            )
        )
    return rules


def count_listener_rules(operator_cidrs: list[str], allow_lists: list["PathAllowList"]) -> int:
    """Listener rules the edge needs: test routes, allow lists (+ their 403 rules), the live
    rule."""
    live_rule = 1
    return (
        len(plan_test_routes(operator_cidrs, TEST_HEADER))
        + len(plan_allow_list_rules(allow_lists))
        + live_rule
    )


def check_listener_rules(operator_cidrs: list[str], allow_lists: list["PathAllowList"]) -> None:
    """The planned rules fit ALB's quotas: at most 100 rules per load balancer, 5 condition
    values per rule, and no allow list with more CIDRs than one band holds.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html"""
    paths = [entry["path"] for entry in allow_lists]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise ValueError(f"the path {duplicates[0]} has two allow lists; merge them")
    groups = [plan_test_routes(operator_cidrs, TEST_HEADER)] + [
        plan_allow_list_rules([entry]) for entry in allow_lists
    ]
    for rules in groups:
        if max(rule.offset for rule in rules if rule.action != "deny") >= RULE_BAND_WIDTH - 1:
            limit = (RULE_BAND_WIDTH - 1) * CIDRS_PER_RULE
            raise ValueError(f"one list holds at most {limit} networks")
        for rule in rules:
            if rule.condition_values > MAX_CONDITION_VALUES:  # pragma: no cover - by construction
                raise ValueError(f"rule {rule.key} has {rule.condition_values} condition values")
    total = count_listener_rules(operator_cidrs, allow_lists)
    if total > MAX_RULES_PER_LOAD_BALANCER:
        raise ValueError(
            f"these lists need {total} listener rules; an Application Load Balancer allows "
            f"{MAX_RULES_PER_LOAD_BALANCER} (each rule holds {CIDRS_PER_RULE} networks): "
            "merge networks into wider CIDRs"
        )


def target_group_name(
    name_parts: list[str], slot: str, port: int = 4000, protocol: str = "HTTP", target_type="ip"
) -> str:
    """`<project>-<stack>-<slot>-<hash>` within AWS's 32 characters. The hash covers what forces
    a new target group (port, protocol, target type), so the replacement gets a new name and is
    created before the old one is deleted instead of colliding with it."""
    fingerprint = hashlib.sha256(f"{port}/{protocol}/{target_type}".encode()).hexdigest()[:4]
    return physical_name(*name_parts, slot, fingerprint, max_length=TARGET_GROUP_NAME_MAX)


def access_log_bucket_policy(bucket_arn: str, elb_account_arn: str, account_id: str) -> dict:
    """Let ELB log delivery write under `alb/AWSLogs/<account>/` (the regional ELB account in
    older regions, the log-delivery service principal in newer ones) and refuse plain HTTP.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html"""
    target = f"{bucket_arn}/alb/AWSLogs/{account_id}/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ElbAccountLogDelivery",
                "Effect": "Allow",
                "Principal": {"AWS": elb_account_arn},
                "Action": "s3:PutObject",
                "Resource": target,
            },
            {
                "Sid": "ElbServiceLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": target,
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def _conditions(rule: PlannedRule) -> list[dict[str, Any]]:
    conditions: list[dict[str, Any]] = []
    if rule.path:
        conditions.append({"path_pattern": {"values": [rule.path]}})
    if rule.header:
        conditions.append(
            {"http_header": {"http_header_name": rule.header[0], "values": [rule.header[1]]}}
        )
    if rule.cidrs:
        conditions.append({"source_ip": {"values": list(rule.cidrs)}})
    return conditions


_FORBIDDEN: dict[str, Any] = {
    "type": "fixed-response",
    "fixed_response": {
        "content_type": "text/plain",
        "message_body": "Forbidden",
        "status_code": "403",
    },
}


# --- LoadBalancer ----------------------------------------------------------------------------


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


class LoadBalancerArgs(TypedDict):
    """Inputs of a LoadBalancer."""

    name_parts: list[str]
    """Parts of the physical names, e.g. [project, stack]: names stay within 32 characters."""
    vpc_id: pulumi.Input[str]
    """The VPC of the load balancer and its target groups."""
    subnet_ids: pulumi.Input[list[str]]
    """Public subnets in at least two AZs."""
    target_security_group_id: pulumi.Input[str]
    """The app nodes' SG: the ALB may reach it on `app_port`, and it gets the matching ingress."""
    app_port: NotRequired[int]
    """Port the app listens on (plain HTTP inside the VPC). Default: 4000."""
    ingress_cidrs: NotRequired[list[str]]
    """Who may reach the listeners (IPv4; the load balancer is IPv4-only). Default: the
    internet, `0.0.0.0/0`."""
    certificate_arn: NotRequired[str]
    """An existing ACM certificate for the HTTPS listener. Default: none (see domain_name)."""
    domain_name: NotRequired[str]
    """Public host name. With `hosted_zone_id` and no `certificate_arn`, a DNS-validated ACM
    certificate and an A alias record are created. Default: the ALB's DNS name."""
    hosted_zone_id: NotRequired[str]
    """Route 53 zone of `domain_name`. Default: none (no certificate or record is created)."""
    plain_http_only: NotRequired[bool]
    """Serve plain HTTP on port 80 and no HTTPS (dev/local without a domain). Default: false."""
    ssl_policy: NotRequired[str]
    """Default: `ELBSecurityPolicy-TLS13-1-2-2021-06` (TLS 1.3 and 1.2)."""
    idle_timeout_seconds: NotRequired[int]
    """Idle time before the ALB closes a connection. Phoenix sends a WebSocket heartbeat every
    30 s; 120 s leaves room for a slow client or a missed beat. Default: 120."""
    load_balancing_algorithm: NotRequired[RoutingAlgorithm]
    """Default: `least_outstanding_requests` (new connections go to the least busy node)."""
    deregistration_delay_seconds: NotRequired[int]
    """Time a deregistering target keeps its open connections. Default: 60."""
    slow_start_seconds: NotRequired[int]
    """Ramp-up for a new target (round_robin only). Default: 0 (off)."""
    health_check: NotRequired[HealthCheck]
    """Default: see HealthCheck."""
    enable_stickiness: NotRequired[bool]
    """Keep a client on one target (cookie), for LongPoll-heavy apps. Default: false."""
    stickiness_seconds: NotRequired[int]
    """Default: 3600."""
    test_header: NotRequired[str]
    """Header that routes to a slot for smoke tests (`X-Release-Slot: green`). Default:
    `X-Release-Slot`."""
    operator_cidrs: NotRequired[list[str]]
    """Who may use the test header. Default: nobody (the rules still exist, matching only
    127.0.0.1/32, because they attach the target groups to the load balancer)."""
    enable_deletion_protection: NotRequired[bool]
    """Default: true."""
    desync_mitigation_mode: NotRequired[str]
    """`defensive` or `strictest`. Default: `defensive`."""
    enable_access_logs: NotRequired[bool]
    """Access logs to an encrypted S3 bucket this component creates. Default: true."""
    access_logs_retention_days: NotRequired[int]
    """Default: 90."""
    tags: NotRequired[dict[str, str]]
    """Tags for every taggable child. Default: none."""


class LoadBalancer(pulumi.ComponentResource):
    """A WebSocket-ready ALB with blue/green target groups and slot test routes."""

    arn: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    url: pulumi.Output[str]
    """`https://<host>` (or `http://` with plain_http_only)."""
    host: pulumi.Output[str]
    """The public host name (the domain, else the ALB's DNS name): the app's PHX_HOST."""
    scheme: pulumi.Output[str]
    """`http` or `https`: what browsers use, so the app's check_origin matches."""
    security_group_id: pulumi.Output[str]
    http_listener_arn: pulumi.Output[str]
    https_listener_arn: pulumi.Output[str | None]
    production_listener_arn: pulumi.Output[str]
    """The listener that serves the app (HTTPS, or HTTP with plain_http_only)."""
    target_group_arns: pulumi.Output[dict[str, str]]
    """slot → target group ARN; resolves once the group is attached to the load balancer."""
    load_balancer_arn_suffix: pulumi.Output[str]
    target_group_arn_suffixes: pulumi.Output[dict[str, str]]
    test_route_count: pulumi.Output[int]
    """Listener rules this component created (for the per-load-balancer rule quota)."""

    def __init__(
        self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("LoadBalancer"), name, None, with_legacy_alias("LoadBalancer", opts)
        )
        _validate(name, args)
        parts = list(args["name_parts"])
        tags = dict(args.get("tags") or {})
        child = pulumi.ResourceOptions(parent=self)
        app_port = args.get("app_port", 4000)
        plain_http = args.get("plain_http_only", False)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args["vpc_id"],
            description="Public load balancer: listener ports in, app port out to the nodes",
            tags={**tags, "Name": physical_name(*parts, "alb", max_length=255)},
            opts=child,
        )
        ports = [80] if plain_http else [80, 443]
        for cidr in args.get("ingress_cidrs", ["0.0.0.0/0"]):
            for port in ports:
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-in-{port}-{_cidr_key(cidr)}",
                    security_group_id=self.security_group.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"Port {port} from {cidr}",
                    cidr_ipv4=cidr,
                    opts=child,
                )
        allow_between(
            f"{name}-to-nodes",
            client_security_group_id=self.security_group.id,
            server_security_group_id=args["target_security_group_id"],
            port=app_port,
            description="App port from the load balancer",
            opts=child,
        )

        access_logs = None
        log_bucket_ready: list[pulumi.Resource] = []
        if args.get("enable_access_logs", True):
            bucket, log_bucket_ready = self._access_log_bucket(
                name, parts, args.get("access_logs_retention_days", 90), tags
            )
            access_logs = {"bucket": bucket.bucket, "prefix": "alb", "enabled": True}

        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=physical_name(*parts, max_length=LOAD_BALANCER_NAME_MAX),
            load_balancer_type="application",
            internal=False,
            ip_address_type="ipv4",
            security_groups=[self.security_group.id],
            subnets=args["subnet_ids"],
            idle_timeout=args.get("idle_timeout_seconds", 120),
            enable_deletion_protection=args.get("enable_deletion_protection", True),
            drop_invalid_header_fields=True,
            desync_mitigation_mode=args.get("desync_mitigation_mode", "defensive"),
            enable_http2=True,
            xff_header_processing_mode="append",
            access_logs=access_logs,
            tags=tags,
            # ELB checks that it may write to the bucket when access logs are switched on: the
            # bucket policy and ownership settings must exist first ("Access Denied for bucket").
            # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
            opts=pulumi.ResourceOptions(parent=self, depends_on=log_bucket_ready),
        )

        health = args.get("health_check") or {}
        algorithm = RoutingAlgorithm(
            args.get("load_balancing_algorithm", RoutingAlgorithm.LEAST_OUTSTANDING_REQUESTS)
        )
        self.target_groups: dict[str, aws.lb.TargetGroup] = {}
        for slot in SLOTS:
            self.target_groups[slot] = aws.lb.TargetGroup(
                f"{name}-{slot}",
                name=target_group_name(parts, slot, app_port),
                target_type="ip",
                protocol="HTTP",
                port=app_port,
                vpc_id=args["vpc_id"],
                load_balancing_algorithm_type=algorithm.value,
                deregistration_delay=args.get("deregistration_delay_seconds", 60),
                slow_start=args.get("slow_start_seconds", 0),
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
                    "enabled": args.get("enable_stickiness", False),
                    "cookie_duration": args.get("stickiness_seconds", 3600),
                },
                tags={**tags, "phoenix-aws:slot": slot},
                # A changed port means a new group (new name); it replaces the old one first.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
            )

        # Until the live rule exists (first deployment), nothing is served.
        not_live: dict[str, Any] = {
            "type": "fixed-response",
            "fixed_response": {
                "content_type": "text/plain",
                "message_body": "No release is live yet",
                "status_code": "503",
            },
        }
        self.https_listener: aws.lb.Listener | None = None
        if plain_http:
            self.http_listener = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=self.load_balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=[not_live],
                tags=tags,
                opts=child,
            )
            production = self.http_listener
        else:
            certificate_arn = self._certificate(name, args, tags)
            self.https_listener = aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=self.load_balancer.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=args.get("ssl_policy", MODERN_TLS_POLICY),
                certificate_arn=certificate_arn,
                default_actions=[not_live],
                tags=tags,
                opts=child,
            )
            self.http_listener = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=self.load_balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    {
                        "type": "redirect",
                        "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"},
                    }
                ],
                tags=tags,
                opts=child,
            )
            production = self.https_listener

        test_routes = plan_test_routes(
            list(args.get("operator_cidrs") or []), args.get("test_header", TEST_HEADER)
        )
        attachments: dict[str, list[aws.lb.ListenerRule]] = {slot: [] for slot in SLOTS}
        for rule in test_routes:
            slot = rule.action.split(":", 1)[1]
            attachments[slot].append(
                aws.lb.ListenerRule(
                    f"{name}-rule-{rule.key}",
                    listener_arn=production.arn,
                    priority=band_priority(TEST_ROUTE_BANDS[slot], rule.offset),
                    conditions=_conditions(rule),
                    actions=[{"type": "forward", "target_group_arn": self.target_groups[slot].arn}],
                    tags=tags,
                    opts=child,
                )
            )

        self.arn = self.load_balancer.arn
        self.dns_name = self.load_balancer.dns_name
        self.zone_id = self.load_balancer.zone_id
        domain = args.get("domain_name")
        self.host = pulumi.Output.from_input(domain) if domain else self.dns_name
        self.scheme = pulumi.Output.from_input("http" if plain_http else "https")
        self.url = pulumi.Output.concat(self.scheme, "://", self.host)
        self.security_group_id = self.security_group.id
        self.http_listener_arn = self.http_listener.arn
        self.https_listener_arn = (
            self.https_listener.arn if self.https_listener else pulumi.Output.from_input(None)
        )
        self.production_listener_arn = production.arn
        # A slot's ARN resolves once its group is attached to the load balancer, so an ECS
        # service that uses it is created only after that.
        self.target_group_arns = pulumi.Output.all(
            **{
                slot: pulumi.Output.all(tg.arn, *[r.arn for r in attachments[slot]]).apply(
                    lambda a: a[0]
                )
                for slot, tg in self.target_groups.items()
            }
        )
        self.load_balancer_arn_suffix = self.load_balancer.arn_suffix
        self.target_group_arn_suffixes = pulumi.Output.all(
            **{slot: tg.arn_suffix for slot, tg in self.target_groups.items()}
        )
        self.test_route_count = pulumi.Output.from_input(len(test_routes))
        self.register_outputs(
            {
                "arn": self.arn,
                "dns_name": self.dns_name,
                "zone_id": self.zone_id,
                "url": self.url,
                "host": self.host,
                "scheme": self.scheme,
                "security_group_id": self.security_group_id,
                "http_listener_arn": self.http_listener_arn,
                "https_listener_arn": self.https_listener_arn,
                "production_listener_arn": self.production_listener_arn,
                "target_group_arns": self.target_group_arns,
                "load_balancer_arn_suffix": self.load_balancer_arn_suffix,
                "target_group_arn_suffixes": self.target_group_arn_suffixes,
                "test_route_count": self.test_route_count,
            }
        )

    def _certificate(self, name: str, args: LoadBalancerArgs, tags: dict[str, str]) -> Any:
        """The listener certificate: the given ARN, or a new DNS-validated ACM certificate."""
        if args.get("certificate_arn"):
            if args.get("domain_name") and args.get("hosted_zone_id"):
                self._alias(name, args)
            return args["certificate_arn"]
        child = pulumi.ResourceOptions(parent=self)
        domain, zone = args["domain_name"], args["hosted_zone_id"]
        certificate = aws.acm.Certificate(
            f"{name}-cert",
            domain_name=domain,
            validation_method="DNS",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{name}-cert-validation",
            zone_id=zone,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=child,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-cert-validated",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=child,
        )
        self._alias(name, args)
        return validation.certificate_arn

    def _alias(self, name: str, args: LoadBalancerArgs) -> None:
        # An A alias only: the load balancer is IPv4-only, so an AAAA alias would resolve to
        # nothing.
        aws.route53.Record(
            f"{name}-alias-a",
            zone_id=args["hosted_zone_id"],
            name=args["domain_name"],
            type="A",
            aliases=[
                {
                    "name": self.load_balancer.dns_name,
                    "zone_id": self.load_balancer.zone_id,
                    "evaluate_target_health": True,
                }
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _access_log_bucket(
        self, name: str, parts: list[str], retention_days: int, tags: dict[str, str]
    ) -> tuple[aws.s3.Bucket, list[pulumi.Resource]]:
        """The log bucket, and what must exist before ELB can write to it.

        The bucket and its settings outlive the stack (`retain_on_delete`): a teardown keeps the
        access logs, private, TLS-only and still expiring by the lifecycle rule, and the next stack
        gets a new bucket (the name is a prefix)."""
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        bucket = aws.s3.Bucket(
            f"{name}-logs",
            bucket_prefix=physical_name(*parts, "alb-logs", max_length=37) + "-",
            force_destroy=False,
            tags=tags,
            opts=child,
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-logs-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-logs-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # ALB log delivery writes only with SSE-S3 (not SSE-KMS).
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-logs-encryption",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-logs-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-access-logs",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": retention_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=child,
        )
        elb_account = aws.elb.get_service_account_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        )
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        policy = aws.s3.BucketPolicy(
            f"{name}-logs-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, elb_account.arn, caller.account_id).apply(
                lambda a: json.dumps(access_log_bucket_policy(a[0], a[1], a[2]))
            ),
            # Public access block first: with it in place the policy is checked as non-public.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[public_access])
            ),
        )
        return bucket, [policy, ownership, public_access, encryption]


# --- TrafficRouting --------------------------------------------------------------------------


class PathAllowList(TypedDict):
    """Requests on `path` (an ALB path pattern such as `/api/telegram/*`) only from `cidrs`."""

    path: str
    """ALB path pattern."""
    cidrs: list[str]
    """Networks allowed on that path; everyone else gets 403."""


class TrafficRoutingArgs(TypedDict):
    """Inputs of a TrafficRouting."""

    listener_arn: pulumi.Input[str]
    """The production listener (LoadBalancer.production_listener_arn)."""
    target_group_arns: pulumi.Input[dict[str, str]]
    """slot → target group ARN (LoadBalancer.target_group_arns)."""
    live: NotRequired[str]
    """Slot that takes production traffic: `blue` or `green`. Default: `blue`."""
    canary_percent: NotRequired[int]
    """Share of production traffic sent to the idle slot, 0-100. Default: 0."""
    ready: NotRequired[pulumi.Input[str]]
    """The rules wait for this value and the resources behind it (e.g. the migrations and the
    slots' steady services), so traffic never moves before they are done. Default: no wait."""
    path_allow_lists: NotRequired[list[PathAllowList]]
    """Per-path source-IP allow lists (the webhook pattern). Default: none."""
    previous_rule_bands: NotRequired[pulumi.Input[dict[str, int]]]
    """`rule_bands` of the last deployment (read back from the stack's outputs): deployed paths
    keep their priorities. Default: none (a first deployment)."""
    other_rule_count: NotRequired[int]
    """Listener rules that exist besides these (LoadBalancer.test_route_count), for the rule
    quota. Default: 2."""
    enable_stickiness: NotRequired[bool]
    """Keep a client on the slot it first reached while weights are split. Default: false."""
    stickiness_seconds: NotRequired[int]
    """Default: 3600."""
    tags: NotRequired[dict[str, str]]
    """Default: none."""


class TrafficRouting(pulumi.ComponentResource):
    """The weighted forward rules: the live rule (`/*`, last) and the per-path allow lists."""

    rule_bands: pulumi.Output[dict[str, int]]
    """Allow-list path group → priority band. Export it and pass it back as
    `previous_rule_bands` so deployed rules keep their priorities."""
    weights: pulumi.Output[dict[str, int]]
    """slot → forward weight."""

    def __init__(
        self, name: str, args: TrafficRoutingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("TrafficRouting"), name, None, with_legacy_alias("TrafficRouting", opts)
        )
        check_args("TrafficRouting", name, args, TrafficRoutingArgs)
        allow_lists = list(args.get("path_allow_lists") or [])
        for entry in allow_lists:
            check_arg("TrafficRouting", name, "path_allow_lists", entry["path"], check_path_pattern)
            check_arg("TrafficRouting", name, "path_allow_lists", entry["cidrs"], check_cidr_list)
        check_arg(
            "TrafficRouting",
            name,
            "path_allow_lists",
            allow_lists,
            lambda lists: check_listener_rules([], lists),
        )
        total = len(plan_allow_list_rules(allow_lists)) + 1 + args.get("other_rule_count", 2)
        if total > MAX_RULES_PER_LOAD_BALANCER:
            raise arg_error(
                "TrafficRouting",
                name,
                "path_allow_lists",
                f"{total} listener rules in all; an Application Load Balancer allows "
                f"{MAX_RULES_PER_LOAD_BALANCER}",
            )
        try:
            weights = forward_weights(args.get("live", "blue"), args.get("canary_percent", 0))
        except ValueError as exc:
            raise arg_error("TrafficRouting", name, "live/canary_percent", str(exc)) from None
        tags = dict(args.get("tags") or {})
        sticky = args.get("enable_stickiness", False)
        sticky_seconds = args.get("stickiness_seconds", 3600)
        child = pulumi.ResourceOptions(parent=self)

        planned = plan_allow_list_rules(allow_lists)
        groups = list(dict.fromkeys(rule.group for rule in planned))
        bands = pulumi.Output.from_input(args.get("previous_rule_bands")).apply(
            lambda previous: assign_rule_bands(groups, previous)
        )
        ready = pulumi.Output.from_input(args.get("ready", "ready"))
        arns = pulumi.Output.from_input(args["target_group_arns"])
        forward = pulumi.Output.all(ready, arns).apply(
            lambda a: {
                "type": "forward",
                "forward": {
                    "target_groups": [
                        {"arn": a[1][slot], "weight": weights[slot]} for slot in SLOTS
                    ],
                    "stickiness": {"enabled": sticky, "duration": sticky_seconds},
                },
            }
        )
        for rule in planned:
            aws.lb.ListenerRule(
                f"{name}-{rule.key}",
                listener_arn=args["listener_arn"],
                priority=pulumi.Output.all(bands, ready).apply(
                    functools.partial(_priority_of, rule)
                ),
                conditions=_conditions(rule),
                actions=[_FORBIDDEN if rule.action == "deny" else forward],
                tags=tags,
                opts=child,
            )
        aws.lb.ListenerRule(
            f"{name}-live",
            listener_arn=args["listener_arn"],
            priority=LIVE_RULE_PRIORITY,
            conditions=[{"path_pattern": {"values": ["/*"]}}],
            actions=[forward],
            tags=tags,
            opts=child,
        )
        self.rule_bands = bands
        self.weights = pulumi.Output.from_input(weights)
        self.register_outputs({"rule_bands": self.rule_bands, "weights": self.weights})


def _priority_of(rule: PlannedRule, resolved: list[Any]) -> int:
    bands = resolved[0]
    return band_priority(bands[rule.group], rule.offset)


def _cidr_key(cidr: str) -> str:
    return cidr.replace(".", "-").replace("/", "-").replace(":", "x")


def _validate(name: str, args: LoadBalancerArgs) -> None:
    check_args("LoadBalancer", name, args, LoadBalancerArgs)
    plain = args.get("plain_http_only", False)
    has_cert = bool(args.get("certificate_arn"))
    can_issue = bool(args.get("domain_name") and args.get("hosted_zone_id"))
    if not plain and not (has_cert or can_issue):
        raise arg_error(
            "LoadBalancer",
            name,
            "certificate_arn",
            "HTTPS needs certificate_arn, or domain_name with hosted_zone_id; "
            "set plain_http_only to serve plain HTTP explicitly",
        )
    algorithm = args.get("load_balancing_algorithm", RoutingAlgorithm.LEAST_OUTSTANDING_REQUESTS)
    slow_start = args.get("slow_start_seconds", 0)
    for key, value, rule in (
        ("ingress_cidrs", args.get("ingress_cidrs"), check_ingress_cidrs),
        ("operator_cidrs", args.get("operator_cidrs"), check_cidr_list),
        ("certificate_arn", args.get("certificate_arn"), check_certificate_arn),
        ("domain_name", args.get("domain_name"), check_domain),
        ("idle_timeout_seconds", args.get("idle_timeout_seconds"), check_idle_timeout),
        (
            "deregistration_delay_seconds",
            args.get("deregistration_delay_seconds"),
            check_deregistration_delay,
        ),
        ("slow_start_seconds", slow_start, lambda s: check_algorithm_with_slow_start(algorithm, s)),
        ("test_header", args.get("test_header"), check_test_header),
        ("health_check", args.get("health_check"), check_health_check),
        (
            "desync_mitigation_mode",
            args.get("desync_mitigation_mode"),
            lambda m: _one_of(m, ("defensive", "strictest")),
        ),
        ("tags", args.get("tags"), check_tags),
    ):
        check_arg("LoadBalancer", name, key, value, rule)


def _one_of(value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}")
    return value
