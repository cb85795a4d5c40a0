"""ListenerAttachment: an app's place on a load balancer that another app or stack owns.

The app brings its own blue and green target groups and its slot test routes, scoped to the
hosts or paths it owns and placed in a block of listener rule priorities of its own, and lets
the load balancer reach its nodes. Its `TrafficRouting` (same hosts, paths and block) adds the
live rule and the allow lists. So several apps share one ALB without a name, a priority or a
security group rule in common.
"""

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict, cast

import pulumi

from .listener_rules import RouteScope, check_listener_rules, check_route_scope, plan_test_routes
from .load_balancer_checks import (
    HealthCheck,
    RoutingAlgorithm,
    check_algorithm_with_slow_start,
    check_deregistration_delay,
    check_domain,
    check_health_check,
    check_test_header,
)
from .security import allow_between
from .slots import TEST_HEADER
from .target_groups import (
    attached_target_group_arns,
    create_target_groups,
    create_test_routes,
    load_balancer_arn_suffix,
)
from .validation import (
    check_arg,
    check_args,
    check_cidr_list,
    check_tags,
    component_type,
    with_legacy_alias,
)


class ListenerAttachmentArgs(TypedDict):
    """Inputs of a ListenerAttachment."""

    name_parts: list[str]
    """Parts of the physical names, e.g. [project, stack, app]: target group names derive from
    them, so give each app on the load balancer its own."""
    vpc_id: pulumi.Input[str]
    """The VPC of the load balancer (the target groups are created in it)."""
    listener_arn: pulumi.Input[str]
    """The production listener (HTTPS, or HTTP) of the shared load balancer."""
    load_balancer_security_group_id: pulumi.Input[str]
    """The load balancer's security group: it may reach the app's nodes on `app_port`."""
    target_security_group_id: pulumi.Input[str]
    """The app nodes' security group; it gets the matching ingress rule."""
    host: str
    """The app's public host name (its PHX_HOST), e.g. `shop.example.com`."""
    priority_block: int
    """The block of listener rule priorities this app's rules take (block k: k*1000+1 to
    k*1000+999), 1-49; the load balancer's owner holds block 0. Give each app its own."""
    hosts: NotRequired[list[str]]
    """Host names the app owns on the listener. Default: `[host]`."""
    paths: NotRequired[list[str]]
    """Path patterns the app owns (e.g. `/shop/*`). Default: every path of its hosts."""
    scheme: NotRequired[str]
    """`https` or `http`: what browsers use to reach the listener. Default: `https`."""
    app_port: NotRequired[int]
    """Port the app listens on. Default: 4000."""
    load_balancing_algorithm: NotRequired[RoutingAlgorithm]
    """Default: `least_outstanding_requests`."""
    deregistration_delay_seconds: NotRequired[int]
    """Time a deregistering target keeps its open connections. Default: 60."""
    slow_start_seconds: NotRequired[int]
    """Ramp-up for a new target (round_robin only). Default: 0 (off)."""
    health_check: NotRequired[HealthCheck]
    """Default: see HealthCheck."""
    enable_stickiness: NotRequired[bool]
    """Keep a client on one target (cookie). Default: false."""
    stickiness_seconds: NotRequired[int]
    """Default: 3600."""
    test_header: NotRequired[str]
    """Header that routes to a slot for smoke tests. Default: `X-Release-Slot`."""
    operator_cidrs: NotRequired[list[str]]
    """Who may use the test header. Default: nobody (the rules match only 127.0.0.1/32)."""
    load_balancer_arn_suffix: NotRequired[pulumi.Input[str]]
    """The load balancer's metrics dimension (LoadBalancer.load_balancer_arn_suffix). Default:
    read from the listener's ARN."""
    tags: NotRequired[dict[str, str]]
    """Default: none."""


class ListenerAttachment(pulumi.ComponentResource):
    """An app's target groups and test routes on a shared load balancer's listener."""

    target_group_arns: pulumi.Output[dict[str, str]]
    """slot → target group ARN; resolves once the group is attached to the listener."""
    target_group_arn_suffixes: pulumi.Output[dict[str, str]]
    production_listener_arn: pulumi.Output[str]
    load_balancer_arn_suffix: pulumi.Output[str]
    """The shared load balancer's metrics dimension (from the listener ARN)."""
    host: pulumi.Output[str]
    scheme: pulumi.Output[str]
    url: pulumi.Output[str]
    test_route_count: pulumi.Output[int]

    def __init__(
        self, name: str, args: ListenerAttachmentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("ListenerAttachment"),
            name,
            None,
            with_legacy_alias("ListenerAttachment", opts),
        )
        scope = check_listener_attachment_args(name, args)
        tags = dict(args.get("tags") or {})
        app_port = args.get("app_port", 4000)
        allow_between(
            f"{name}-to-nodes",
            client_security_group_id=args["load_balancer_security_group_id"],
            server_security_group_id=args["target_security_group_id"],
            port=app_port,
            description=f"App port of {args['host']} from the shared load balancer",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.target_groups = create_target_groups(
            self,
            name,
            cast(Mapping[str, Any], args),
            parts=list(args["name_parts"]),
            vpc_id=args["vpc_id"],
            app_port=app_port,
            tags=tags,
        )
        test_routes = plan_test_routes(
            list(args.get("operator_cidrs") or []), args.get("test_header", TEST_HEADER), scope
        )
        attachments = create_test_routes(
            self, name, test_routes, args["listener_arn"], self.target_groups, tags
        )
        self._register(args, attachments, len(test_routes))

    def _register(self, args: ListenerAttachmentArgs, attachments: dict, count: int) -> None:
        """Set and register the outputs (the names LoadBalancer uses for the same things)."""
        self.target_group_arns = attached_target_group_arns(self.target_groups, attachments)
        self.target_group_arn_suffixes = pulumi.Output.all(
            **{slot: tg.arn_suffix for slot, tg in self.target_groups.items()}
        )
        self.production_listener_arn = pulumi.Output.from_input(args["listener_arn"])
        given = args.get("load_balancer_arn_suffix")
        self.load_balancer_arn_suffix = (
            pulumi.Output.from_input(given)
            if given is not None
            else self.production_listener_arn.apply(load_balancer_arn_suffix)
        )
        self.host = pulumi.Output.from_input(args["host"])
        self.scheme = pulumi.Output.from_input(args.get("scheme", "https"))
        self.url = pulumi.Output.concat(self.scheme, "://", self.host)
        self.test_route_count = pulumi.Output.from_input(count)
        self.register_outputs(
            {
                "target_group_arns": self.target_group_arns,
                "target_group_arn_suffixes": self.target_group_arn_suffixes,
                "production_listener_arn": self.production_listener_arn,
                "load_balancer_arn_suffix": self.load_balancer_arn_suffix,
                "host": self.host,
                "scheme": self.scheme,
                "url": self.url,
                "test_route_count": self.test_route_count,
            }
        )


def attachment_scope(args: ListenerAttachmentArgs) -> RouteScope:
    """The hosts (default: the app's host), paths and priority block of the app."""
    return RouteScope(
        hosts=tuple(args.get("hosts") or [args["host"]]),
        paths=tuple(args.get("paths") or ()),
        block=args["priority_block"],
    )


def check_listener_attachment_args(name: str, args: ListenerAttachmentArgs) -> RouteScope:
    check_args("ListenerAttachment", name, args, ListenerAttachmentArgs)
    algorithm = args.get("load_balancing_algorithm", RoutingAlgorithm.LEAST_OUTSTANDING_REQUESTS)
    scope = attachment_scope(args)
    for key, value, rule in (
        ("host", args["host"], check_domain),
        ("priority_block", args["priority_block"], lambda _: check_route_scope(scope)),
        ("scheme", args.get("scheme"), _check_scheme),
        ("operator_cidrs", args.get("operator_cidrs"), check_cidr_list),
        (
            "operator_cidrs",
            list(args.get("operator_cidrs") or []),
            lambda cidrs: check_listener_rules(cidrs, [], scope),
        ),
        (
            "deregistration_delay_seconds",
            args.get("deregistration_delay_seconds"),
            check_deregistration_delay,
        ),
        (
            "slow_start_seconds",
            args.get("slow_start_seconds", 0),
            lambda s: check_algorithm_with_slow_start(algorithm, s),
        ),
        ("test_header", args.get("test_header"), check_test_header),
        ("health_check", args.get("health_check"), check_health_check),
        ("tags", args.get("tags"), check_tags),
    ):
        check_arg("ListenerAttachment", name, key, value, rule)
    if not scope.block:
        check_arg("ListenerAttachment", name, "priority_block", 0, lambda _: _owner_block())
    return scope


def _check_scheme(scheme: str) -> str:
    if scheme not in ("https", "http"):
        raise ValueError("expected https or http")
    return scheme


def _owner_block() -> None:
    raise ValueError("block 0 is the load balancer owner's; use 1-49")
