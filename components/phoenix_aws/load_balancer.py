"""The public edge of a stack: `LoadBalancer`, the only public entry point. An ALB tuned for
Phoenix WebSockets, a blue and a green target group, the listeners (503 until a release is live)
and the slot test routes. What moves traffic between the slots is `TrafficRouting`
(traffic_routing.py).

The edge's parts live in modules by concern, and every name stays importable from here:
- load_balancer_checks.py: the rules AWS enforces on the settings (`check_*`, cited);
- listener_rules.py: listener rules and their priorities, planned in pure functions;
- access_logs.py: the access log bucket;
- traffic_routing.py: `TrafficRouting`.
"""

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict, cast

import pulumi
import pulumi_aws as aws

from .access_logs import access_log_bucket_policy, create_access_log_bucket
from .listener_rules import (
    CIDRS_PER_RULE,
    LIVE_RULE_PRIORITY,
    MAX_CONDITION_VALUES,
    MAX_RULES_PER_LOAD_BALANCER,
    NO_OPERATOR_CIDRS,
    RULE_BAND_WIDTH,
    RULE_BANDS,
    TEST_ROUTE_BANDS,
    PathAllowList,
    PlannedRule,
    RouteScope,
    assign_rule_bands,
    band_priority,
    check_listener_rules,
    check_route_hosts,
    check_route_scope,
    chunk,
    count_listener_rules,
    forward_weights,
    path_group,
    plan_allow_list_rules,
    plan_test_routes,
)
from .load_balancer_checks import (
    HealthCheck,
    RoutingAlgorithm,
    check_algorithm_with_slow_start,
    check_certificate_arn,
    check_deregistration_delay,
    check_domain,
    check_health_check,
    check_idle_timeout,
    check_ingress_cidrs,
    check_path_pattern,
    check_slow_start,
    check_test_header,
    listener_ports,
)
from .naming import LOAD_BALANCER_NAME, TAG_VALUE_MAX, physical_name
from .security import allow_between
from .slots import SLOTS, TEST_HEADER
from .target_groups import (
    attached_target_group_arns,
    create_target_groups,
    create_test_routes,
    target_group_name,
)
from .traffic_routing import TrafficRouting, TrafficRoutingArgs
from .validation import (
    arg_error,
    check_arg,
    check_args,
    check_cidr_list,
    check_tags,
    component_type,
    with_legacy_alias,
)

__all__ = [
    "CIDRS_PER_RULE",
    "LIVE_RULE_PRIORITY",
    "MAX_CONDITION_VALUES",
    "MAX_RULES_PER_LOAD_BALANCER",
    "MODERN_TLS_POLICY",
    "NO_OPERATOR_CIDRS",
    "RULE_BANDS",
    "RULE_BAND_WIDTH",
    "SLOTS",
    "TEST_ROUTE_BANDS",
    "HealthCheck",
    "LoadBalancer",
    "LoadBalancerArgs",
    "PathAllowList",
    "PlannedRule",
    "RoutingAlgorithm",
    "TrafficRouting",
    "TrafficRoutingArgs",
    "access_log_bucket_policy",
    "assign_rule_bands",
    "band_priority",
    "check_algorithm_with_slow_start",
    "check_certificate_arn",
    "check_deregistration_delay",
    "check_domain",
    "check_health_check",
    "check_idle_timeout",
    "check_ingress_cidrs",
    "check_listener_rules",
    "check_path_pattern",
    "check_route_hosts",
    "check_slow_start",
    "check_test_header",
    "chunk",
    "count_listener_rules",
    "forward_weights",
    "path_group",
    "plan_allow_list_rules",
    "plan_test_routes",
    "target_group_name",
]

MODERN_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"

# Until the live rule exists (first deployment), nothing is served.
NOT_LIVE: dict[str, Any] = {
    "type": "fixed-response",
    "fixed_response": {
        "content_type": "text/plain",
        "message_body": "No release is live yet",
        "status_code": "503",
    },
}
REDIRECT_TO_HTTPS: dict[str, Any] = {
    "type": "redirect",
    "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"},
}


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
    hosts: NotRequired[list[str]]
    """Host names this app owns on the listener: its test routes (and its TrafficRouting's rules,
    given the same hosts) match only requests for them, so other apps can share the load
    balancer through a ListenerAttachment. Default: every host."""
    paths: NotRequired[list[str]]
    """Path patterns this app owns on the listener (e.g. `/shop/*`). Default: every path."""
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
        check_load_balancer_args(name, args)
        parts = list(args["name_parts"])
        tags = dict(args.get("tags") or {})
        app_port = args.get("app_port", 4000)
        plain_http = args.get("plain_http_only", False)

        self._create_security_group(name, args, parts, app_port, plain_http, tags)
        self._create_load_balancer(name, args, parts, tags)
        self._create_target_groups(name, args, parts, app_port, tags)
        production = self._create_listeners(name, args, plain_http, tags)
        test_routes = plan_test_routes(
            list(args.get("operator_cidrs") or []),
            args.get("test_header", TEST_HEADER),
            _scope(args),
        )
        attachments = create_test_routes(
            self, name, test_routes, production.arn, self.target_groups, tags
        )
        self._register(args, plain_http, production, attachments, len(test_routes))

    def _create_security_group(
        self,
        name: str,
        args: LoadBalancerArgs,
        parts: list[str],
        app_port: int,
        plain_http: bool,
        tags: dict[str, str],
    ) -> None:
        """The ALB's security group: listener ports in from `ingress_cidrs`, the app port out
        to the nodes (and the nodes' matching ingress)."""
        child = pulumi.ResourceOptions(parent=self)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args["vpc_id"],
            description="Public load balancer: listener ports in, app port out to the nodes",
            tags={**tags, "Name": physical_name(*parts, "alb", max_length=TAG_VALUE_MAX)},
            opts=child,
        )
        for cidr in args.get("ingress_cidrs", ["0.0.0.0/0"]):
            for port in listener_ports(plain_http):
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

    def _create_load_balancer(
        self, name: str, args: LoadBalancerArgs, parts: list[str], tags: dict[str, str]
    ) -> None:
        """The internet-facing, IPv4 ALB, with its access log bucket unless switched off."""
        access_logs = None
        log_bucket_ready: list[pulumi.Resource] = []
        if args.get("enable_access_logs", True):
            bucket, log_bucket_ready = create_access_log_bucket(
                self, name, parts, args.get("access_logs_retention_days", 90), tags
            )
            access_logs = {"bucket": bucket.bucket, "prefix": "alb", "enabled": True}
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=physical_name(*parts, rule=LOAD_BALANCER_NAME),
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

    def _create_target_groups(
        self,
        name: str,
        args: LoadBalancerArgs,
        parts: list[str],
        app_port: int,
        tags: dict[str, str],
    ) -> None:
        """One IP target group per slot, with the health check, drain and stickiness settings."""
        self.target_groups = create_target_groups(
            self,
            name,
            cast(Mapping[str, Any], args),
            parts=parts,
            vpc_id=args["vpc_id"],
            app_port=app_port,
            tags=tags,
        )

    def _create_listeners(
        self, name: str, args: LoadBalancerArgs, plain_http: bool, tags: dict[str, str]
    ) -> aws.lb.Listener:
        """HTTPS on 443 and a redirect on 80, or plain HTTP on 80 only; both answer 503 until the
        live rule exists. Returns the production listener."""
        child = pulumi.ResourceOptions(parent=self)
        self.https_listener: aws.lb.Listener | None = None
        if plain_http:
            self.http_listener = self._listener(name, "http", 80, [NOT_LIVE], tags)
            return self.http_listener
        certificate_arn = self._certificate(name, args, tags)
        self.https_listener = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=self.load_balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=args.get("ssl_policy", MODERN_TLS_POLICY),
            certificate_arn=certificate_arn,
            default_actions=[NOT_LIVE],
            tags=tags,
            opts=child,
        )
        self.http_listener = self._listener(name, "http", 80, [REDIRECT_TO_HTTPS], tags)
        return self.https_listener

    def _listener(
        self, name: str, suffix: str, port: int, actions: list[Any], tags: dict[str, str]
    ) -> aws.lb.Listener:
        return aws.lb.Listener(
            f"{name}-{suffix}",
            load_balancer_arn=self.load_balancer.arn,
            port=port,
            protocol="HTTP",
            default_actions=actions,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _register(
        self,
        args: LoadBalancerArgs,
        plain_http: bool,
        production: aws.lb.Listener,
        attachments: dict[str, list[aws.lb.ListenerRule]],
        test_route_count: int,
    ) -> None:
        """Set and register the outputs."""
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
        self.target_group_arns = attached_target_group_arns(self.target_groups, attachments)
        self.load_balancer_arn_suffix = self.load_balancer.arn_suffix
        self.target_group_arn_suffixes = pulumi.Output.all(
            **{slot: tg.arn_suffix for slot, tg in self.target_groups.items()}
        )
        self.test_route_count = pulumi.Output.from_input(test_route_count)
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


def _scope(args: LoadBalancerArgs) -> RouteScope:
    """The load balancer's own app holds priority block 0."""
    return RouteScope(hosts=tuple(args.get("hosts") or ()), paths=tuple(args.get("paths") or ()))


def _cidr_key(cidr: str) -> str:
    return cidr.replace(".", "-").replace("/", "-").replace(":", "x")


def check_load_balancer_args(name: str, args: LoadBalancerArgs) -> None:
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
        (
            "ingress_cidrs",
            args.get("ingress_cidrs"),
            lambda c: check_ingress_cidrs(c, args.get("plain_http_only", False)),
        ),
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
        ("hosts/paths", _scope(args), check_route_scope),
        (
            "operator_cidrs",
            list(args.get("operator_cidrs") or []),
            lambda cidrs: check_listener_rules(cidrs, [], _scope(args)),
        ),
        ("tags", args.get("tags"), check_tags),
    ):
        check_arg("LoadBalancer", name, key, value, rule)


def _one_of(value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}")
    return value
