"""`phoenix-aws:edge`: the public load balancer and the weighted routing of releases."""

from typing import Annotated, Any, Literal

from phoenix_aws.load_balancer import (
    LoadBalancerArgs,
    RoutingAlgorithm,
    TrafficRoutingArgs,
    check_algorithm_with_slow_start,
    check_certificate_arn,
    check_cidr_list,
    check_deregistration_delay,
    check_domain,
    check_health_check,
    check_idle_timeout,
    check_ingress_cidrs,
    check_listener_rules,
    check_path_pattern,
    check_slow_start,
    check_test_header,
    plan_test_routes,
)
from phoenix_aws.slots import TEST_HEADER
from pydantic import Field, model_validator

from .base import FieldError, Frozen, field_rule, ruled


def _hosted_zone(zone: str) -> str:
    """A Route 53 hosted zone ID: `Z` and upper-case letters or digits."""
    if not (
        zone.startswith("Z") and zone[1:].isalnum() and zone.upper() == zone and len(zone) <= 32
    ):
        raise ValueError("expected a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ")
    return zone


class HealthCheckSettings(Frozen):
    """`phoenix-aws:edge.health_check`: keep it shallow (no DB call), so a DB blip is no outage."""

    path: str = "/health"
    interval_seconds: int = 15
    timeout_seconds: int = 5
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3
    matcher: str = "200"

    @model_validator(mode="after")
    def _aws_limits(self) -> "HealthCheckSettings":
        try:
            check_health_check(self.model_dump())  # type: ignore[arg-type]
        except ValueError as exc:
            key, _, message = str(exc).partition(": ")
            field = key if key in type(self).model_fields else "timeout_seconds"
            raise FieldError((field,), message or str(exc), getattr(self, field)) from None
        return self


class PathAllowListSettings(Frozen):
    """One entry of `phoenix-aws:edge.path_allow_lists`."""

    path: Annotated[str, ruled(check_path_pattern)]
    """ALB path pattern, e.g. `/api/telegram/*`."""
    cidrs: Annotated[list[str], ruled(check_cidr_list)] = Field(min_length=1)


class EdgeSettings(Frozen):
    """`phoenix-aws:edge`: the public load balancer."""

    domain: Annotated[str, ruled(check_domain)] | None = None
    """Public host name; becomes PHX_HOST. Default: the ALB's DNS name."""
    hosted_zone_id: Annotated[str, ruled(_hosted_zone)] | None = None
    """Route 53 zone of `domain`: a DNS-validated certificate and an alias record are created."""
    certificate_arn: Annotated[str, ruled(check_certificate_arn)] | None = None
    """An existing ACM certificate instead."""
    plain_http_only: bool = False
    """Serve plain HTTP only (dev/local without a domain). Refused in production."""
    ingress_cidrs: Annotated[list[str], ruled(check_ingress_cidrs)] = ["0.0.0.0/0"]
    idle_timeout_seconds: Annotated[int, ruled(check_idle_timeout)] = 120
    load_balancing_algorithm: RoutingAlgorithm = RoutingAlgorithm.LEAST_OUTSTANDING_REQUESTS
    deregistration_delay_seconds: Annotated[int, ruled(check_deregistration_delay)] = 60
    slow_start_seconds: Annotated[int, ruled(check_slow_start)] = 0
    """0 (off) or 30-900; only with load_balancing_algorithm: round_robin."""
    health_check: HealthCheckSettings = HealthCheckSettings()
    enable_stickiness: bool = False
    test_header: Annotated[str, ruled(check_test_header)] = TEST_HEADER
    operator_cidrs: Annotated[list[str], ruled(check_cidr_list)] = []
    """Who may reach a slot directly with the test header. Default: nobody."""
    path_allow_lists: list[PathAllowListSettings] = []
    deletion_protection: bool = True
    desync_mitigation_mode: Literal["defensive", "strictest"] = "defensive"
    access_logs: bool = True
    access_logs_retention_days: int = Field(default=90, ge=1, le=3650)

    @model_validator(mode="after")
    def _aws_rules(self) -> "EdgeSettings":
        field_rule(
            ("slow_start_seconds",),
            self.slow_start_seconds,
            lambda: check_algorithm_with_slow_start(
                self.load_balancing_algorithm, self.slow_start_seconds
            ),
        )
        field_rule(
            ("path_allow_lists",),
            f"{len(self.path_allow_lists)} lists and {len(self.operator_cidrs)} operator CIDRs",
            lambda: check_listener_rules(list(self.operator_cidrs), self._allow_lists()),
        )
        return self

    @model_validator(mode="after")
    def _tls_is_explicit(self) -> "EdgeSettings":
        if self.plain_http_only:
            if self.certificate_arn or self.hosted_zone_id:
                raise FieldError(
                    ("plain_http_only",),
                    "plain HTTP cannot be combined with certificate_arn or hosted_zone_id",
                    True,
                )
            return self
        if not self.certificate_arn and not (self.domain and self.hosted_zone_id):
            raise FieldError(
                ("domain",),
                "HTTPS needs certificate_arn, or domain with hosted_zone_id; "
                "set plain_http_only: true to serve plain HTTP explicitly",
                self.domain,
            )
        return self

    def _allow_lists(self) -> list[Any]:
        return [{"path": e.path, "cidrs": list(e.cidrs)} for e in self.path_allow_lists]

    def load_balancer_args(
        self,
        *,
        name_parts: list[str],
        vpc_id: Any,
        subnet_ids: Any,
        target_security_group_id: Any,
        app_port: int,
        tags: dict[str, str],
    ) -> LoadBalancerArgs:
        args: dict[str, Any] = {
            "name_parts": name_parts,
            "vpc_id": vpc_id,
            "subnet_ids": subnet_ids,
            "target_security_group_id": target_security_group_id,
            "app_port": app_port,
            "ingress_cidrs": list(self.ingress_cidrs),
            "plain_http_only": self.plain_http_only,
            "idle_timeout_seconds": self.idle_timeout_seconds,
            "load_balancing_algorithm": self.load_balancing_algorithm,
            "deregistration_delay_seconds": self.deregistration_delay_seconds,
            "slow_start_seconds": self.slow_start_seconds,
            "health_check": self.health_check.model_dump(),
            "enable_stickiness": self.enable_stickiness,
            "test_header": self.test_header,
            "operator_cidrs": list(self.operator_cidrs),
            "enable_deletion_protection": self.deletion_protection,
            "desync_mitigation_mode": self.desync_mitigation_mode,
            "enable_access_logs": self.access_logs,
            "access_logs_retention_days": self.access_logs_retention_days,
            "tags": tags,
        }
        for key, value in (
            ("certificate_arn", self.certificate_arn),
            ("domain_name", self.domain),
            ("hosted_zone_id", self.hosted_zone_id),
        ):
            if value:
                args[key] = value
        return LoadBalancerArgs(**args)  # type: ignore[typeddict-item]

    def routing_args(
        self,
        *,
        listener_arn: Any,
        target_group_arns: Any,
        live: str,
        canary_percent: int,
        ready: Any,
        previous_rule_bands: dict[str, int] | None,
        tags: dict[str, str],
    ) -> TrafficRoutingArgs:
        args: dict[str, Any] = {
            "listener_arn": listener_arn,
            "target_group_arns": target_group_arns,
            "live": live,
            "canary_percent": canary_percent,
            "ready": ready,
            "path_allow_lists": self._allow_lists(),
            "other_rule_count": len(plan_test_routes(list(self.operator_cidrs), self.test_header)),
            "enable_stickiness": self.enable_stickiness,
            "tags": tags,
        }
        if previous_rule_bands:
            args["previous_rule_bands"] = previous_rule_bands
        return TrafficRoutingArgs(**args)  # type: ignore[typeddict-item]
