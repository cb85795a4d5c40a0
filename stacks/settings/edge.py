"""`phoenix-aws:edge`: the public load balancer and the weighted routing of releases."""

from typing import Annotated, Any, Literal, cast

from phoenix_aws.app_args import EdgeOptions, FirewallOptions
from phoenix_aws.load_balancer import (
    RoutingAlgorithm,
    check_algorithm_with_slow_start,
    check_certificate_arn,
    check_deregistration_delay,
    check_domain,
    check_health_check,
    check_idle_timeout,
    check_ingress_cidrs,
    check_listener_rules,
    check_path_pattern,
    check_slow_start,
    check_test_header,
)
from phoenix_aws.slots import TEST_HEADER
from phoenix_aws.validation import check_cidr_list, check_log_retention
from phoenix_aws.waf import (
    PathRateLimit,
    check_count_only_rules,
    check_path_rate_limits,
    check_rate_limit,
    check_rate_window,
)
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
    """Shallow endpoint (no database call) the load balancer checks."""
    interval_seconds: int = 15
    """Seconds between checks, 5-300."""
    timeout_seconds: int = 5
    """Seconds to answer, 2-120, less than the interval."""
    healthy_threshold: int = 2
    """Passed checks before a target takes traffic, 2-10."""
    unhealthy_threshold: int = 3
    """Failed checks before a target is taken out, 2-10."""
    matcher: str = "200"
    """HTTP codes that mean healthy (`200`, `200,204`, `200-299`)."""

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
    """The only networks (IPv4 CIDRs) whose requests to `path` are forwarded; others get 403."""


class WafSettings(Frozen):
    """`phoenix-aws:edge.waf`: the AWS WAF web ACL in front of the load balancer."""

    enabled: bool | None = None
    """The web ACL (AWS managed rule groups plus a per-IP rate limit). Default: on in production,
    off in development."""
    rate_limit: Annotated[int, ruled(check_rate_limit)] = 2000
    """Requests one client IP may send per window before it is blocked. Default: 2000."""
    rate_limit_window_seconds: Annotated[int, ruled(check_rate_window)] = 300
    """Window the rate is counted over: 60, 120, 300 or 600 seconds."""
    path_rate_limits: Annotated[list[dict[str, Any]], ruled(check_path_rate_limits)] = []
    """Paths counted apart, `[{path: /users/log_in, limit: 100}]`: each with its own `limit`, or
    none (left out of the per-IP limit). The allow-listed paths of `edge.path_allow_lists` are
    exempt from the per-IP limit unless listed here."""
    count_only_common_rules: Annotated[list[str], ruled(check_count_only_rules)] = []
    """Core rule set rules that only count (e.g. SizeRestrictions_BODY for large uploads)."""
    logging: bool = True
    """Log blocked and counted requests to CloudWatch Logs (`aws-waf-logs-…`, Authorization and
    Cookie redacted): Security Hub WAF.11."""
    log_all_requests: bool = False
    """Log allowed requests too."""
    log_retention_days: Annotated[int, ruled(check_log_retention)] = 30
    """Days WAF logs are kept."""


class EdgeSettings(Frozen):
    """`phoenix-aws:edge`: the public load balancer. At least: how it is served, either `domain`
    with `hosted_zone_id` or `certificate_arn` (HTTPS), or `plain_http_only: true` (not in
    production)."""

    domain: Annotated[str, ruled(check_domain)] | None = None
    """Public host name; becomes PHX_HOST. Default: the ALB's DNS name."""
    hosted_zone_id: Annotated[str, ruled(_hosted_zone)] | None = None
    """Route 53 zone of `domain`: a DNS-validated certificate and an alias record are created."""
    certificate_arn: Annotated[str, ruled(check_certificate_arn)] | None = None
    """An existing ACM certificate instead."""
    plain_http_only: bool = False
    """Serve plain HTTP only (dev/local without a domain). Refused in production."""
    ingress_cidrs: Annotated[list[str], ruled(check_ingress_cidrs)] = ["0.0.0.0/0"]
    """Who may reach ports 80/443 (IPv4 networks; the load balancer is IPv4-only)."""
    idle_timeout_seconds: Annotated[int, ruled(check_idle_timeout)] = 120
    """Idle time before the ALB closes a connection, 60-4000; above Phoenix's 30 s WebSocket
    heartbeat with margin."""
    load_balancing_algorithm: RoutingAlgorithm = RoutingAlgorithm.LEAST_OUTSTANDING_REQUESTS
    """`least_outstanding_requests` (new connections go to the least busy node) or `round_robin`
    (needed for slow start)."""
    deregistration_delay_seconds: Annotated[int, ruled(check_deregistration_delay)] = 60
    """Time a deregistering node keeps its open connections, 40-3600: a node ECS stops closes
    its WebSockets gradually within it, less a 10 s poll and a 10 s margin
    (docs/app-contract.md, Timing)."""
    slow_start_seconds: Annotated[int, ruled(check_slow_start)] = 0
    """0 (off) or 30-900; only with load_balancing_algorithm: round_robin."""
    health_check: HealthCheckSettings = HealthCheckSettings()
    """The target health check (path, timing, thresholds, matcher)."""
    enable_stickiness: bool = False
    """Keep a client on one slot and one node (cookie), for LongPoll-heavy apps."""
    test_header: Annotated[str, ruled(check_test_header)] = TEST_HEADER
    """Header that reaches one slot (`X-Release-Slot: green`) from `operator_cidrs`."""
    operator_cidrs: Annotated[list[str], ruled(check_cidr_list)] = []
    """Who may reach a slot directly with the test header (nobody when empty)."""
    path_allow_lists: list[PathAllowListSettings] = []
    """`[{path: /api/telegram/*, cidrs: [...]}]`: a path only these networks reach (403 for others);
    exempt from the web firewall's per-IP limit."""
    deletion_protection: bool = True
    """AWS-side deletion protection of the load balancer."""
    desync_mitigation_mode: Literal["defensive", "strictest"] = "defensive"
    """HTTP desync mitigation: `defensive` or `strictest`."""
    access_logs: bool = True
    """Access logs to an encrypted, private S3 bucket (expiring)."""
    access_logs_retention_days: int = Field(default=90, ge=1, le=3650)
    """Days access logs are kept."""
    waf: WafSettings = WafSettings()
    """The AWS WAF web ACL in front of the load balancer."""

    @model_validator(mode="after")
    def _aws_rules(self) -> "EdgeSettings":
        field_rule(
            ("ingress_cidrs",),
            self.ingress_cidrs,
            lambda: check_ingress_cidrs(list(self.ingress_cidrs), self.plain_http_only),
        )
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

    def options(self) -> EdgeOptions:
        """PhoenixApp's `edge` section."""
        options: dict[str, Any] = {
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
            "path_allow_lists": self._allow_lists(),
            "enable_deletion_protection": self.deletion_protection,
            "desync_mitigation_mode": self.desync_mitigation_mode,
            "enable_access_logs": self.access_logs,
            "access_logs_retention_days": self.access_logs_retention_days,
        }
        for key, value in (
            ("certificate_arn", self.certificate_arn),
            ("domain_name", self.domain),
            ("hosted_zone_id", self.hosted_zone_id),
        ):
            if value:
                options[key] = value
        return EdgeOptions(**options)  # type: ignore[typeddict-item]

    def firewall_options(self, *, enabled: bool) -> FirewallOptions:
        """PhoenixApp's `firewall` section."""
        return FirewallOptions(
            enabled=enabled,
            rate_limit=self.waf.rate_limit,
            rate_limit_window_seconds=self.waf.rate_limit_window_seconds,
            path_rate_limits=cast(list[PathRateLimit], list(self.waf.path_rate_limits)),
            count_only_common_rules=list(self.waf.count_only_common_rules),
            enable_logging=self.waf.logging,
            log_all_requests=self.waf.log_all_requests,
            log_retention_days=self.waf.log_retention_days,
        )
