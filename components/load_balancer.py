"""LoadBalancer: the only public entry point of a stack. An ALB tuned for Phoenix WebSockets, with a
blue and a green target group whose forward weights follow the live slot.
"""

import ipaddress
import json
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .naming import LOAD_BALANCER_NAME_MAX, TARGET_GROUP_NAME_MAX, physical_name
from .security import allow_between
from .slots import SLOTS, Slot

# ALB: at most 5 condition values per rule; a path allow rule spends one on the path pattern.
MAX_CONDITION_VALUES = 5
MODERN_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
TEST_ROUTE_PRIORITY_BASE = 1
ALLOW_LIST_PRIORITY_BASE = 100
LIVE_RULE_PRIORITY = 50000  # the last rule ALB allows: everything not matched before
# ECS only registers a service with a target group that the load balancer already uses, so the
# slot test routes always exist. Without operator CIDRs they match only this source, which never
# reaches an internet-facing load balancer.
NO_OPERATOR_CIDRS = ("127.0.0.1/32",)


def forward_weights(live: str, canary_percent: int = 0) -> dict[str, int]:
    """Forward weights per slot: the live slot gets 100 - canary, the idle slot the canary.

    >>> forward_weights("blue")
    {'blue': 100, 'green': 0}
    >>> forward_weights("green", 10)
    {'blue': 10, 'green': 90}
    """
    slot = Slot(live)
    if isinstance(canary_percent, bool) or not isinstance(canary_percent, int):
        raise ValueError(f"canary_percent must be an integer, got {canary_percent!r}")
    if not 0 <= canary_percent <= 100:
        raise ValueError(f"canary_percent must be between 0 and 100, got {canary_percent}")
    return {slot.value: 100 - canary_percent, slot.other.value: canary_percent}


def chunk(values: list[str], size: int) -> list[list[str]]:
    """Split `values` into lists of at most `size` (ALB rules take few condition values)."""
    if size < 1:
        raise ValueError("size must be positive")
    return [values[i : i + size] for i in range(0, len(values), size)]


@dataclass(frozen=True)
class PlannedRule:
    """One listener rule: a priority, its conditions and whether it forwards or answers 403."""

    key: str
    priority: int
    path: str | None
    cidrs: tuple[str, ...]
    header: tuple[str, str] | None
    action: str  # "forward" (weighted, gated) | "forward-slot:<slot>" | "deny"


def plan_listener_rules(
    *,
    operator_cidrs: list[str],
    test_header: str,
    allow_lists: "list[PathAllowList] | list[dict[str, Any]]",
) -> list[PlannedRule]:
    """Listener rules in priority order: slot test routes, per-path allow lists, then the live
    rule that forwards everything else with the blue/green weights.

    - A request with `<test_header>: <slot>` from an operator CIDR goes to that slot's target
      group (both slots get a rule, so flipping `live` never touches these rules).
    - For each allow list, requests on its path from its CIDRs are forwarded with the weights;
      every other request on that path gets 403.
    """
    rules: list[PlannedRule] = []
    priority = TEST_ROUTE_PRIORITY_BASE
    sources = list(operator_cidrs) or list(NO_OPERATOR_CIDRS)
    if sources:
        # The header condition takes one of the rule's condition values, the CIDRs the rest.
        for slot in SLOTS:
            for n, cidrs in enumerate(chunk(sources, MAX_CONDITION_VALUES - 1)):
                rules.append(
                    PlannedRule(
                        key=f"test-{slot}-{n}",
                        priority=priority,
                        path=None,
                        cidrs=tuple(cidrs),
                        header=(test_header, slot),
                        action=f"forward-slot:{slot}",
                    )
                )
                priority += 1
    priority = ALLOW_LIST_PRIORITY_BASE
    for index, entry in enumerate(allow_lists):
        for n, cidrs in enumerate(chunk(list(entry["cidrs"]), MAX_CONDITION_VALUES - 1)):
            rules.append(
                PlannedRule(
                    key=f"allow-{index}-{n}",
                    priority=priority,
                    path=entry["path"],
                    cidrs=tuple(cidrs),
                    header=None,
                    action="forward",
                )
            )
            priority += 1
        rules.append(
            PlannedRule(
                key=f"deny-{index}",
                priority=priority,
                path=entry["path"],
                cidrs=(),
                header=None,
                action="deny",
            )
        )
        priority += 1
    rules.append(
        PlannedRule(
            key="live",
            priority=LIVE_RULE_PRIORITY,
            path="/*",
            cidrs=(),
            header=None,
            action="forward",
        )
    )
    return rules


class PathAllowList(TypedDict):
    """Requests on `path` (an ALB path pattern such as `/api/telegram/*`) only from `cidrs`."""

    path: str
    cidrs: list[str]


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
    """Default: `200`."""


class LoadBalancerArgs(TypedDict):
    """Inputs of a LoadBalancer."""

    name_parts: list[str]
    """Parts of the physical names, e.g. [project, stack]: names stay within 32 characters."""
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    """Public subnets in at least two AZs."""
    target_security_group_id: pulumi.Input[str]
    """The app nodes' SG: the ALB may reach it on `app_port`, and it gets the matching ingress."""
    app_port: NotRequired[int]
    """Port the app listens on (plain HTTP inside the VPC). Default: 4000."""
    ingress_cidrs: NotRequired[list[str]]
    """Who may reach the listeners (IPv4 or IPv6). Default: the internet (`0.0.0.0/0`, `::/0`)."""
    certificate_arn: NotRequired[str]
    """An existing ACM certificate for the HTTPS listener."""
    domain_name: NotRequired[str]
    """Public host name. With `hosted_zone_id` and no `certificate_arn`, a DNS-validated ACM
    certificate and an alias record are created."""
    hosted_zone_id: NotRequired[str]
    """Route 53 zone of `domain_name`."""
    plain_http_only: NotRequired[bool]
    """Serve plain HTTP on port 80 and no HTTPS (dev/local without a domain). Default: false."""
    ssl_policy: NotRequired[str]
    """Default: `ELBSecurityPolicy-TLS13-1-2-2021-06` (TLS 1.3 and 1.2)."""
    idle_timeout_seconds: NotRequired[int]
    """Idle time before the ALB closes a connection. Phoenix sends a WebSocket heartbeat every
    30 s; 120 s leaves room for a slow client or a missed beat. Default: 120."""
    deregistration_delay_seconds: NotRequired[int]
    """Time a draining target keeps its connections, so the app's socket drainer can move clients
    off gradually before the task stops. Default: 60."""
    slow_start_seconds: NotRequired[int]
    """Ramp-up for a new target, so a fresh node is not handed a reconnect storm. Default: 0."""
    health_check: NotRequired[HealthCheck]
    live: NotRequired[str]
    """Slot that takes production traffic: `blue` or `green`. Default: `blue`."""
    canary_percent: NotRequired[int]
    """Share of production traffic sent to the idle slot, 0-100. Default: 0."""
    traffic_gate: NotRequired[pulumi.Input[str]]
    """The weighted forward rules wait for this value and the resources behind it (e.g. the
    migration task and the slots' steady services), so traffic never moves before they are done.
    The listeners themselves answer 503 until the live rule exists. Default: no gate."""
    enable_stickiness: NotRequired[bool]
    """Keep a client on one slot and one target (cookie), for LongPoll-heavy apps.
    Default: false."""
    stickiness_seconds: NotRequired[int]
    """Default: 3600."""
    test_header: NotRequired[str]
    """Header that routes to a slot for smoke tests (`X-Release-Slot: green`). Default:
    `X-Release-Slot`."""
    operator_cidrs: NotRequired[list[str]]
    """Who may use the test header. Default: nobody (the rules still exist, matching only
    127.0.0.1/32, because they attach the target groups to the load balancer)."""
    path_allow_lists: NotRequired[list[PathAllowList]]
    """Per-path source-IP allow lists (the webhook pattern). Default: none."""
    enable_deletion_protection: NotRequired[bool]
    """Default: true."""
    desync_mitigation_mode: NotRequired[str]
    """`defensive` or `strictest`. Default: `defensive`."""
    enable_access_logs: NotRequired[bool]
    """Access logs to an encrypted S3 bucket this component creates. Default: true."""
    access_logs_retention_days: NotRequired[int]
    """Default: 90."""
    tags: NotRequired[dict[str, str]]


class LoadBalancer(pulumi.ComponentResource):
    """A WebSocket-ready ALB with blue/green target groups, test routes and IP allow lists."""

    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    url: pulumi.Output[str]
    host: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    http_listener_arn: pulumi.Output[str]
    https_listener_arn: pulumi.Output[str | None]
    production_listener_arn: pulumi.Output[str]
    target_group_arns: pulumi.Output[dict[str, str]]
    load_balancer_arn_suffix: pulumi.Output[str]
    target_group_arn_suffixes: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("phoenix-aws:components:LoadBalancer", name, None, opts)
        _validate(args)
        parts = list(args["name_parts"])
        tags = dict(args.get("tags") or {})
        child = pulumi.ResourceOptions(parent=self)
        app_port = args.get("app_port", 4000)
        plain_http = args.get("plain_http_only", False)
        weights = forward_weights(args.get("live", "blue"), args.get("canary_percent", 0))
        sticky = args.get("enable_stickiness", False)
        sticky_seconds = args.get("stickiness_seconds", 3600)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args["vpc_id"],
            description="Public load balancer: listener ports in, app port out to the nodes",
            tags={**tags, "Name": physical_name(*parts, "alb", max_length=255)},
            opts=child,
        )
        ports = [80] if plain_http else [80, 443]
        for cidr in args.get("ingress_cidrs", ["0.0.0.0/0", "::/0"]):
            family = "ipv6" if ipaddress.ip_network(cidr).version == 6 else "ipv4"
            for port in ports:
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-in-{port}-{_cidr_key(cidr)}",
                    security_group_id=self.security_group.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"Port {port} from {cidr}",
                    **{f"cidr_{family}": cidr},
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
        if args.get("enable_access_logs", True):
            bucket = self._access_log_bucket(
                name, parts, args.get("access_logs_retention_days", 90), tags
            )
            access_logs = {"bucket": bucket.bucket, "prefix": "alb", "enabled": True}

        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=physical_name(*parts, max_length=LOAD_BALANCER_NAME_MAX),
            load_balancer_type="application",
            internal=False,
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
            opts=child,
        )

        health = args.get("health_check") or {}
        self.target_groups: dict[str, aws.lb.TargetGroup] = {}
        for slot in SLOTS:
            self.target_groups[slot] = aws.lb.TargetGroup(
                f"{name}-{slot}",
                name=target_group_name(parts, slot),
                target_type="ip",
                protocol="HTTP",
                port=app_port,
                vpc_id=args["vpc_id"],
                load_balancing_algorithm_type="least_outstanding_requests",
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
                    "enabled": sticky,
                    "cookie_duration": sticky_seconds,
                },
                tags={**tags, "phoenix-aws:slot": slot},
                opts=child,
            )

        gate = pulumi.Output.from_input(args.get("traffic_gate", "open"))
        arns = pulumi.Output.all(gate, *[self.target_groups[slot].arn for slot in SLOTS])

        def forward() -> pulumi.Output[dict[str, Any]]:
            return arns.apply(
                lambda a: {
                    "type": "forward",
                    "forward": {
                        "target_groups": [
                            {"arn": arn, "weight": weights[slot]}
                            for slot, arn in zip(SLOTS, a[1:], strict=True)
                        ],
                        "stickiness": {"enabled": sticky, "duration": sticky_seconds},
                    },
                }
            )

        # Until the gated live rule exists (first deployment), nothing is served.
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

        planned = plan_listener_rules(
            operator_cidrs=list(args.get("operator_cidrs") or []),
            test_header=args.get("test_header", "X-Release-Slot"),
            allow_lists=list(args.get("path_allow_lists") or []),
        )
        attachments: dict[str, list[aws.lb.ListenerRule]] = {slot: [] for slot in SLOTS}
        for rule in planned:
            conditions: list[dict[str, Any]] = []
            if rule.path:
                conditions.append({"path_pattern": {"values": [rule.path]}})
            if rule.header:
                conditions.append(
                    {
                        "http_header": {
                            "http_header_name": rule.header[0],
                            "values": [rule.header[1]],
                        }
                    }
                )
            if rule.cidrs:
                conditions.append({"source_ip": {"values": list(rule.cidrs)}})
            if rule.action == "deny":
                action: dict[str, Any] = {
                    "type": "fixed-response",
                    "fixed_response": {
                        "content_type": "text/plain",
                        "message_body": "Forbidden",
                        "status_code": "403",
                    },
                }
            elif rule.action.startswith("forward-slot:"):
                slot = rule.action.split(":", 1)[1]
                action = {"type": "forward", "target_group_arn": self.target_groups[slot].arn}
            else:
                action = forward()  # type: ignore[assignment]
            listener_rule = aws.lb.ListenerRule(
                f"{name}-rule-{rule.key}",
                listener_arn=production.arn,
                priority=rule.priority,
                conditions=conditions,
                actions=[action],
                tags=tags,
                opts=child,
            )
            if rule.action.startswith("forward-slot:"):
                attachments[rule.action.split(":", 1)[1]].append(listener_rule)

        self.dns_name = self.load_balancer.dns_name
        self.zone_id = self.load_balancer.zone_id
        domain = args.get("domain_name")
        self.host = pulumi.Output.from_input(domain) if domain else self.dns_name
        scheme = "http" if plain_http else "https"
        self.url = self.host.apply(lambda h: f"{scheme}://{h}")
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
        self.register_outputs(
            {
                "dns_name": self.dns_name,
                "url": self.url,
                "security_group_id": self.security_group_id,
                "http_listener_arn": self.http_listener_arn,
                "https_listener_arn": self.https_listener_arn,
                "production_listener_arn": self.production_listener_arn,
                "target_group_arns": self.target_group_arns,
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
        for record_type in ("A", "AAAA"):
            aws.route53.Record(
                f"{name}-alias-{record_type.lower()}",
                zone_id=args["hosted_zone_id"],
                name=args["domain_name"],
                type=record_type,
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
    ) -> aws.s3.Bucket:
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-logs",
            bucket_prefix=physical_name(*parts, "alb-logs", max_length=37) + "-",
            force_destroy=False,
            tags=tags,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-logs-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-logs-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # ALB log delivery writes only with SSE-S3 (not SSE-KMS).
        aws.s3.BucketServerSideEncryptionConfiguration(
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
        aws.s3.BucketPolicy(
            f"{name}-logs-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, elb_account.arn, caller.account_id).apply(
                lambda a: json.dumps(access_log_bucket_policy(a[0], a[1], a[2]))
            ),
            opts=child,
        )
        return bucket


def access_log_bucket_policy(bucket_arn: str, elb_account_arn: str, account_id: str) -> dict:
    """Let ELB log delivery write under `alb/AWSLogs/<account>/` (the regional ELB account in
    older regions, the log-delivery service principal in newer ones) and refuse plain HTTP."""
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


def target_group_name(name_parts: list[str], slot: str) -> str:
    """`<project>-<stack>-<slot>`, cut with a stable hash to AWS's 32-character limit."""
    return physical_name(*name_parts, slot, max_length=TARGET_GROUP_NAME_MAX)


def _cidr_key(cidr: str) -> str:
    return cidr.replace(".", "-").replace("/", "-").replace(":", "x")


def _validate(args: LoadBalancerArgs) -> None:
    plain = args.get("plain_http_only", False)
    has_cert = bool(args.get("certificate_arn"))
    can_issue = bool(args.get("domain_name") and args.get("hosted_zone_id"))
    if not plain and not (has_cert or can_issue):
        raise ValueError(
            "HTTPS needs certificate_arn, or domain_name with hosted_zone_id; "
            "set plain_http_only to serve plain HTTP explicitly"
        )
    idle = args.get("idle_timeout_seconds", 120)
    if not 60 <= idle <= 4000:
        raise ValueError(
            f"idle_timeout_seconds must be 60-4000 (Phoenix heartbeats every 30 s), got {idle}"
        )
    mode = args.get("desync_mitigation_mode", "defensive")
    if mode not in ("defensive", "strictest"):
        raise ValueError(f"desync_mitigation_mode must be defensive or strictest, got {mode!r}")
    forward_weights(args.get("live", "blue"), args.get("canary_percent", 0))
