"""The validated settings of one stack: the only place that reads Pulumi stack config.

`load_settings` turns the raw `phoenix-aws:*` config map into a frozen `StackSettings`, or raises
`ConfigError` listing every problem as `phoenix-aws:<path>: <what is wrong> (got <value>)`.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from enum import Enum, StrEnum
from typing import Any, Literal

import pulumi
from phoenix_aws.database import (
    MAX_STORAGE_GB,
    MIN_STORAGE_GB,
    SUPPORTED_MAJOR_VERSIONS,
    engine_major,
)
from phoenix_aws.network import KNOWN_INTERFACE_ENDPOINTS, MAX_AZS, NatStrategy, plan_subnets
from phoenix_aws.node_security import EPMD_PORT
from phoenix_aws.release_slot import (
    CpuArchitecture,
    check_env_name,
    check_fargate_size,
    fargate_memory_options,
)
from phoenix_aws.slots import Slot
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

NAMESPACE = "phoenix-aws"

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


class ConfigError(pulumi.RunError):
    """Stack config is invalid. Raised before any resource is registered.

    A `pulumi.RunError`, so the CLI prints the message without a Python traceback.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack config:\n  " + "\n  ".join(problems))


class Stage(StrEnum):
    """What a stack is for. Only cost defaults differ by stage; safety is opted out explicitly."""

    PRODUCTION = "production"
    DEVELOPMENT = "development"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


def _parse_cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise ValueError(f"not a valid IPv4/IPv6 CIDR: {exc}") from None


class NetworkSettings(_Frozen):
    """`phoenix-aws:network`: the VPC."""

    cidr: str = "10.0.0.0/16"
    """VPC CIDR, /16 to /22."""
    az_count: int = Field(default=3, ge=2, le=MAX_AZS)
    """Availability zones used. Default 3 (production), 2 (development)."""
    availability_zones: list[str] | None = None
    """Pin AZ names instead of taking the region's first `az_count`."""
    nat: NatStrategy = NatStrategy.PER_AZ
    """none | single | per_az | instance. Default per_az (production), instance (development)."""
    nat_instance_type: str = "t4g.nano"
    interface_endpoints: list[str] = []
    """Interface endpoints in the private subnets, e.g. [ecr.api, ecr.dkr, logs, secretsmanager]."""
    enable_flow_logs: bool = True
    flow_logs_retention_days: int = 90
    peer_cidrs: list[str] = []
    """Networks this VPC is or will be connected to (peering, VPN, TGW); must not overlap `cidr`."""

    @field_validator("cidr")
    @classmethod
    def _cidr_plans(cls, value: str) -> str:
        value = _parse_cidr(value)
        try:
            plan_subnets(value, 1)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("peer_cidrs")
    @classmethod
    def _peer_cidrs_parse(cls, values: list[str]) -> list[str]:
        return [_parse_cidr(v) for v in values]

    @field_validator("availability_zones")
    @classmethod
    def _at_least_two_azs(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        if len(values) < 2:
            raise ValueError(
                "at least two availability zones are needed, so one AZ outage is not an outage"
            )
        if len(values) > MAX_AZS:
            raise ValueError(f"at most {MAX_AZS} availability zones are supported")
        if len(set(values)) != len(values):
            raise ValueError("availability zones must be distinct")
        return values

    @field_validator("interface_endpoints")
    @classmethod
    def _known_endpoints(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in KNOWN_INTERFACE_ENDPOINTS]
        if unknown:
            raise ValueError(
                f"unknown endpoint {unknown[0]!r}; "
                f"expected one of {', '.join(KNOWN_INTERFACE_ENDPOINTS)}"
            )
        return values

    @field_validator("flow_logs_retention_days")
    @classmethod
    def _valid_retention(cls, value: int) -> int:
        return _check_retention(value)

    @model_validator(mode="after")
    def _no_overlap(self) -> NetworkSettings:
        vpc = ipaddress.ip_network(self.cidr)
        for peer in self.peer_cidrs:
            other = ipaddress.ip_network(peer)
            if vpc.version == other.version and vpc.overlaps(other):  # type: ignore[arg-type]
                raise _FieldError(
                    ("peer_cidrs",), f"{peer} overlaps the VPC CIDR {self.cidr}", self.peer_cidrs
                )
        return self

    @property
    def effective_az_count(self) -> int:
        return len(self.availability_zones) if self.availability_zones else self.az_count


def _check_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"CloudWatch Logs retention must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    return value


class _FieldError(ValueError):
    """A cross-field problem that belongs to one field (so the message names that path)."""

    def __init__(self, loc: tuple[str | int, ...], message: str, value: Any) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.value = value


class DatabaseSettings(_Frozen):
    """`phoenix-aws:database`: RDS PostgreSQL."""

    engine_version: str = "17"
    """Major (`17`) or major.minor (`17.2`)."""
    instance_class: str = "db.t4g.medium"
    allocated_storage_gb: int = Field(default=20, ge=MIN_STORAGE_GB, le=MAX_STORAGE_GB)
    max_allocated_storage_gb: int = Field(default=100, ge=MIN_STORAGE_GB, le=MAX_STORAGE_GB)
    name: str = Field(default="app", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    master_username: str = Field(default="phoenix_admin", pattern=r"^[a-z][a-z0-9_]{0,15}$")
    multi_az: bool = True
    backup_retention_days: int = Field(default=14, ge=0, le=35)
    performance_insights: bool = True
    deletion_protection: bool = True
    skip_final_snapshot: bool = False
    protect: bool = True
    """Pulumi protect: `pulumi up` refuses to delete or replace the database."""
    allow_major_version_upgrade: bool = False
    allow_replacement: bool = False
    """Accept a change (name, master_username, …) that replaces the database with a new one."""
    log_retention_days: int = 30

    @field_validator("engine_version")
    @classmethod
    def _supported_major(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)?", value):
            raise ValueError("expected a PostgreSQL version such as '17' or '17.2'")
        if engine_major(value) not in SUPPORTED_MAJOR_VERSIONS:
            raise ValueError(
                f"PostgreSQL {engine_major(value)} is not supported; "
                f"expected one of {', '.join(SUPPORTED_MAJOR_VERSIONS)}"
            )
        return value

    @field_validator("master_username")
    @classmethod
    def _not_a_default_user(cls, value: str) -> str:
        if value in ("postgres", "admin", "root", "rdsadmin"):
            raise ValueError(
                "use a non-default master user name (well-known names are guessed first)"
            )
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _valid_retention(cls, value: int) -> int:
        return _check_retention(value)

    @model_validator(mode="after")
    def _replacement_needs_protection_off(self) -> DatabaseSettings:
        if self.allow_replacement and self.protect:
            raise _FieldError(
                ("allow_replacement",),
                "replacing the database also needs protect: false (Pulumi refuses to replace a "
                "protected resource)",
                True,
            )
        return self

    @model_validator(mode="after")
    def _storage_ceiling(self) -> DatabaseSettings:
        if self.max_allocated_storage_gb < self.allocated_storage_gb:
            raise _FieldError(
                ("max_allocated_storage_gb",),
                f"must be at least allocated_storage_gb ({self.allocated_storage_gb})",
                self.max_allocated_storage_gb,
            )
        return self


class PubSubAdapter(StrEnum):
    """How Phoenix.PubSub reaches every node."""

    ERLANG = "erlang"
    """Distributed Erlang between the nodes (default; no extra service)."""
    REDIS = "redis"
    """phoenix_pubsub_redis through an ElastiCache Redis replication group."""


class RedisSettings(_Frozen):
    """`phoenix-aws:pubsub.redis`: the ElastiCache replication group."""

    enabled: bool | None = None
    """Create Redis even when the adapter is erlang (e.g. for caches). Default: adapter == redis."""
    node_type: str = "cache.t4g.small"
    replicas: int = Field(default=1, ge=0, le=5)
    automatic_failover: bool = True
    engine_version: str = "7.1"
    snapshot_retention_days: int = Field(default=7, ge=0, le=35)
    maintenance_window: str = Field(
        default="sun:05:00-sun:06:00",
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d-(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d$",
    )
    protect: bool = True

    @model_validator(mode="after")
    def _failover_needs_a_replica(self) -> RedisSettings:
        if self.automatic_failover and self.replicas < 1:
            raise _FieldError(
                ("replicas",), "automatic_failover needs at least 1 replica", self.replicas
            )
        return self


class PubSubSettings(_Frozen):
    """`phoenix-aws:pubsub`."""

    adapter: PubSubAdapter = PubSubAdapter.ERLANG
    redis: RedisSettings = RedisSettings()

    @property
    def redis_enabled(self) -> bool:
        if self.redis.enabled is not None:
            return self.redis.enabled or self.adapter is PubSubAdapter.REDIS
        return self.adapter is PubSubAdapter.REDIS

    @model_validator(mode="after")
    def _redis_adapter_needs_redis(self) -> PubSubSettings:
        if self.adapter is PubSubAdapter.REDIS and self.redis.enabled is False:
            raise _FieldError(("redis", "enabled"), "adapter 'redis' needs Redis enabled", False)
        return self


class HealthCheckSettings(_Frozen):
    """`phoenix-aws:edge.health_check`: keep it shallow (no DB call), so a DB blip is no outage."""

    path: str = Field(default="/health", pattern=r"^/")
    interval_seconds: int = Field(default=15, ge=5, le=300)
    timeout_seconds: int = Field(default=5, ge=2, le=120)
    healthy_threshold: int = Field(default=2, ge=2, le=10)
    unhealthy_threshold: int = Field(default=3, ge=2, le=10)
    matcher: str = Field(default="200", pattern=r"^\d{3}([-,]\d{3})*$")

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> HealthCheckSettings:
        if self.timeout_seconds >= self.interval_seconds:
            raise _FieldError(
                ("timeout_seconds",),
                f"must be less than interval_seconds ({self.interval_seconds})",
                self.timeout_seconds,
            )
        return self


class PathAllowListSettings(_Frozen):
    """One entry of `phoenix-aws:edge.path_allow_lists`."""

    path: str = Field(pattern=r"^/")
    """ALB path pattern, e.g. `/api/telegram/*`."""
    cidrs: list[str] = Field(min_length=1)

    @field_validator("cidrs")
    @classmethod
    def _cidrs_parse(cls, values: list[str]) -> list[str]:
        return [_parse_cidr(v) for v in values]


class EdgeSettings(_Frozen):
    """`phoenix-aws:edge`: the public load balancer."""

    domain: str | None = Field(default=None, pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")
    """Public host name; becomes PHX_HOST. Default: the ALB's DNS name."""
    hosted_zone_id: str | None = Field(default=None, pattern=r"^Z[A-Z0-9]+$")
    """Route 53 zone of `domain`: a DNS-validated certificate and an alias record are created."""
    certificate_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:acm:")
    """An existing ACM certificate instead."""
    plain_http_only: bool = False
    """Serve plain HTTP only (dev/local without a domain). Refused in production."""
    ingress_cidrs: list[str] = ["0.0.0.0/0"]
    idle_timeout_seconds: int = Field(default=120, ge=60, le=4000)
    deregistration_delay_seconds: int = Field(default=60, ge=0, le=3600)
    slow_start_seconds: int = Field(default=0, ge=0, le=900)
    health_check: HealthCheckSettings = HealthCheckSettings()
    enable_stickiness: bool = False
    test_header: str = Field(default="X-Release-Slot", pattern=r"^[A-Za-z0-9-]+$")
    operator_cidrs: list[str] = []
    """Who may reach a slot directly with the test header. Default: nobody."""
    path_allow_lists: list[PathAllowListSettings] = []
    deletion_protection: bool = True
    desync_mitigation_mode: Literal["defensive", "strictest"] = "defensive"
    access_logs: bool = True
    access_logs_retention_days: int = Field(default=90, ge=1, le=3650)

    @field_validator("ingress_cidrs", "operator_cidrs")
    @classmethod
    def _cidrs_parse(cls, values: list[str]) -> list[str]:
        return [_parse_cidr(v) for v in values]

    @field_validator("slow_start_seconds")
    @classmethod
    def _slow_start_range(cls, value: int) -> int:
        if value != 0 and not 30 <= value <= 900:
            raise ValueError("slow start must be 0 (off) or 30-900 seconds")
        return value

    @model_validator(mode="after")
    def _tls_is_explicit(self) -> EdgeSettings:
        if self.plain_http_only:
            if self.certificate_arn or self.hosted_zone_id:
                raise _FieldError(
                    ("plain_http_only",),
                    "plain HTTP cannot be combined with certificate_arn or hosted_zone_id",
                    True,
                )
            return self
        if not self.certificate_arn and not (self.domain and self.hosted_zone_id):
            raise _FieldError(
                ("domain",),
                "HTTPS needs certificate_arn, or domain with hosted_zone_id; "
                "set plain_http_only: true to serve plain HTTP explicitly",
                self.domain,
            )
        return self


class AppSettings(_Frozen):
    """`phoenix-aws:app`: the Phoenix release and how its nodes run."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """OTP release name: `bin/<name>`, node names `<name>@<ip>`."""
    port: int = Field(default=4000, ge=1024, le=65535)
    cpu: int = 512
    memory: int = 1024
    cpu_architecture: CpuArchitecture = CpuArchitecture.ARM64
    env: dict[str, str] = {}
    """Extra plain environment. Reserved names (PHX_HOST, PORT, ...) are refused."""
    secrets: dict[str, str] = {}
    """Extra secrets: env name → an existing Secrets Manager secret or SSM parameter ARN."""
    stop_timeout_seconds: int = Field(default=120, ge=2, le=120)
    health_check_grace_period_seconds: int = Field(default=60, ge=0, le=3600)
    run_as_user: str = Field(
        default="1000", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_.-]+)?$"
    )
    cpu_target_percent: int = Field(default=60, ge=10, le=95)
    memory_target_percent: int = Field(default=75, ge=10, le=95)
    task_role_policy_arns: list[str] = []
    release_module: str | None = Field(
        default=None, pattern=r"^[A-Z][A-Za-z0-9_]*(\.[A-Z][A-Za-z0-9_]*)*$"
    )
    """Module with `migrate/0`. Default: `<CamelName>.Release` (as `mix phx.gen.release`)."""
    migrate_command: str | None = None
    """Default: `bin/<name> eval "<release_module>.migrate()"`."""
    enable_migrations: bool = True
    """Run the migration gate before traffic moves. Off only for apps without a database
    schema (or the local moto stack, which cannot run tasks)."""
    migration_timeout_seconds: int = Field(default=900, ge=60, le=3600)
    wait_for_steady_state: bool = True
    """`pulumi up` waits for each slot's service to be steady (the traffic gate relies on it).
    Off only where tasks never run (the local moto stack)."""

    @field_validator("env", "secrets")
    @classmethod
    def _names(cls, values: dict[str, str]) -> dict[str, str]:
        for key in values:
            check_env_name(key)
        return values

    @field_validator("secrets")
    @classmethod
    def _secret_arns(cls, values: dict[str, str]) -> dict[str, str]:
        for key, arn in values.items():
            if not re.match(r"^arn:aws[a-z-]*:(secretsmanager|ssm):", arn):
                raise ValueError(f"{key}: expected a Secrets Manager secret or SSM parameter ARN")
        return values

    @field_validator("run_as_user")
    @classmethod
    def _not_root(cls, value: str) -> str:
        if value.split(":")[0] in ("0", "root"):
            raise ValueError("the app must not run as root")
        return value

    @model_validator(mode="after")
    def _fargate_size(self) -> AppSettings:
        try:
            check_fargate_size(self.cpu, self.memory)
        except ValueError as exc:
            field = "cpu" if not fargate_memory_options(self.cpu) else "memory"
            raise _FieldError((field,), str(exc), getattr(self, field)) from None
        return self

    @property
    def module(self) -> str:
        return (
            self.release_module
            or "".join(p.capitalize() for p in self.name.split("_")) + ".Release"
        )

    @property
    def migration_command(self) -> str:
        return self.migrate_command or f'bin/{self.name} eval "{self.module}.migrate()"'


class ClusterSettings(_Frozen):
    """`phoenix-aws:cluster`: discovery, distribution, logs, generated secrets."""

    namespace: str | None = Field(default=None, pattern=r"^([a-z0-9-]+\.)+[a-z0-9-]+$")
    """Private DNS namespace. Default: `<stack>.<project>.internal`."""
    discovery: Literal["shared", "per_slot"] = "shared"
    """shared: blue and green nodes form one BEAM cluster (PubSub spans both during a swap).
    per_slot: each slot is its own cluster."""
    distribution_port_min: int = Field(default=9100, ge=1024, le=65535)
    distribution_port_max: int = Field(default=9109, ge=1024, le=65535)
    log_retention_days: int = 30
    container_insights: bool = True
    protect_secrets: bool = True

    @field_validator("log_retention_days")
    @classmethod
    def _valid_retention(cls, value: int) -> int:
        return _check_retention(value)

    @model_validator(mode="after")
    def _port_range(self) -> ClusterSettings:
        if self.distribution_port_max < self.distribution_port_min:
            raise _FieldError(
                ("distribution_port_max",),
                f"must be at least distribution_port_min ({self.distribution_port_min})",
                self.distribution_port_max,
            )
        if self.distribution_port_min <= EPMD_PORT <= self.distribution_port_max:
            raise _FieldError(
                ("distribution_port_min",),
                f"the range must not include EPMD ({EPMD_PORT})",
                self.distribution_port_min,
            )
        return self


BUILD = "build"


class MonitoringSettings(_Frozen):
    """`phoenix-aws:monitoring`: CloudWatch alarms to an SNS topic."""

    enabled: bool = True
    alarm_emails: list[str] = []
    """Subscribed to the alarm topic (each address confirms once)."""
    target_5xx_per_minute: int = Field(default=10, ge=1)

    @field_validator("alarm_emails")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
                raise ValueError(f"{value!r} is not an e-mail address")
        return values


class ImageSettings(_Frozen):
    """`phoenix-aws:image`: the ECR repository and the optional build from source."""

    context: str | None = None
    """Build context (the Phoenix app, relative to the project). Default: no build."""
    dockerfile: str = "Dockerfile"
    """Relative to `context`."""
    build_args: dict[str, str] = {}
    """Build args: never secrets (they stay in the image history)."""
    target: str | None = None
    keep_last: int = Field(default=30, ge=1, le=1000)
    """Images kept besides those the slots run."""
    protect: bool = True

    @field_validator("build_args")
    @classmethod
    def _no_secrets_in_build_args(cls, values: dict[str, str]) -> dict[str, str]:
        for key in values:
            if re.search(r"SECRET|PASSWORD|TOKEN|KEY_BASE|COOKIE", key):
                raise ValueError(f"{key}: secrets must not be build args (they stay in the image)")
        return values


class SlotSettings(_Frozen):
    """`phoenix-aws:release.blue` / `.green`: one slot."""

    image: str | None = None
    """Image pinned by digest (`repo@sha256:<64 hex>`), or `build`: the image built from
    `phoenix-aws:image` (the release command pins the digest right after the build)."""
    desired_count: int = Field(default=0, ge=0, le=1000)
    max_count: int | None = Field(default=None, ge=0, le=1000)
    """Autoscaling ceiling (the floor is desired_count). Default: desired_count."""
    version: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,128}$")
    """Release label (RELEASE_VERSION). Default: the start of the image digest."""
    run_migrations: bool = True
    """Run the migration gate for this slot's image. The release command turns it off while a new
    image warms up on the idle slot and on at promote, right before traffic moves."""
    draining: bool = False
    """Tell this slot's nodes to shed their WebSockets gradually (over `drain_window_seconds`), so
    clients reconnect to the live slot in a controlled flow before the slot is scaled down."""
    spot: bool = False
    """Run this slot on Fargate Spot (about 70% cheaper, may be interrupted with a 2-minute
    warning). Default: on-demand Fargate."""

    @field_validator("image")
    @classmethod
    def _pinned(cls, value: str | None) -> str | None:
        if value is None or value == BUILD:
            return value
        if not re.fullmatch(r"[a-z0-9.:/_-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}", value):
            raise ValueError("expected an image pinned by digest, e.g. repo/app@sha256:<64 hex>")
        return value

    @model_validator(mode="after")
    def _ceiling(self) -> SlotSettings:
        if self.max_count is not None and self.max_count < self.desired_count:
            raise _FieldError(
                ("max_count",),
                f"must be at least desired_count ({self.desired_count})",
                self.max_count,
            )
        if self.desired_count > 0 and self.image is None:
            raise _FieldError(("image",), "a slot with tasks needs an image", None)
        return self


class ReleaseSettings(_Frozen):
    """`phoenix-aws:release`: the two slots, which one is live, and the canary toward the other."""

    live: Slot = Slot.BLUE
    canary_percent: int = Field(default=0, ge=0, le=100)
    """Share of production traffic sent to the idle slot."""
    blue: SlotSettings = SlotSettings()
    green: SlotSettings = SlotSettings()
    promoting: Slot | None = None
    """Set by the release command while it promotes a slot (migrations, smoke test, canary)."""
    drain_window_seconds: int = Field(default=300, ge=30, le=3600)
    """How long a draining slot's nodes take to shed their WebSockets. Default: 300."""

    def slot(self, name: str | Slot) -> SlotSettings:
        return self.blue if Slot(name) is Slot.BLUE else self.green

    @model_validator(mode="after")
    def _traffic_has_somewhere_to_go(self) -> ReleaseSettings:
        idle = self.live.other
        if self.canary_percent > 0 and self.slot(idle).desired_count == 0:
            raise _FieldError(
                ("canary_percent",),
                f"a canary goes to the idle slot ({idle.value}), which has no tasks",
                self.canary_percent,
            )
        if self.promoting is self.live:
            raise _FieldError(
                ("promoting",), "the live slot cannot be promoted", self.promoting.value
            )
        if self.slot(self.live).desired_count == 0:
            raise _FieldError(
                (self.live.value, "desired_count"),
                f"the live slot ({self.live.value}) must run at least one task",
                0,
            )
        return self


# Defaults that differ by stage. Only cost, never safety.
# Production uses the field defaults; development overrides these.
STAGE_DEFAULTS: dict[Stage, dict[str, dict[str, Any]]] = {
    Stage.DEVELOPMENT: {"network": {"az_count": 2, "nat": "instance"}},
}


class StackSettings(_Frozen):
    """Everything under the `phoenix-aws:` namespace of a stack file."""

    stage: Stage = Stage.PRODUCTION
    """production | development. Development only changes cost defaults (2 AZs, NAT instance)."""
    network: NetworkSettings = NetworkSettings()
    database: DatabaseSettings = DatabaseSettings()
    pubsub: PubSubSettings = PubSubSettings()
    edge: EdgeSettings
    """Required: every stack says how it is served (HTTPS, or plain HTTP explicitly)."""
    app: AppSettings
    """Required: at least the release name."""
    cluster: ClusterSettings = ClusterSettings()
    image: ImageSettings = ImageSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    release: ReleaseSettings
    tags: dict[str, str] = {}
    """Tags added to every taggable resource."""

    @model_validator(mode="before")
    @classmethod
    def _stage_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        try:
            stage = Stage(data.get("stage", Stage.PRODUCTION))
        except ValueError:
            return data  # the field validator reports the bad stage
        merged = dict(data)
        for section, defaults in STAGE_DEFAULTS.get(stage, {}).items():
            given = merged.get(section, {})
            if isinstance(given, dict):
                merged[section] = {**defaults, **given}
        return merged

    @model_validator(mode="after")
    def _release_rules(self) -> StackSettings:
        release = self.release
        for name in ("blue", "green"):
            if release.slot(name).image == BUILD and self.image.context is None:
                raise _FieldError(
                    ("release", name, "image"),
                    "'build' needs phoenix-aws:image.context (the app's build context)",
                    BUILD,
                )
        if self.app.enable_migrations:
            bearing = [release.live] + ([release.live.other] if release.canary_percent else [])
            for slot in bearing:
                if not release.slot(slot).run_migrations:
                    raise _FieldError(
                        ("release", slot.value, "run_migrations"),
                        f"slot {slot.value} takes traffic, so its migrations must have run",
                        False,
                    )
        return self

    @model_validator(mode="after")
    def _production_rules(self) -> StackSettings:
        if self.stage is not Stage.PRODUCTION:
            return self
        if self.edge.plain_http_only:
            raise _FieldError(
                ("edge", "plain_http_only"),
                "production must serve HTTPS (give domain + hosted_zone_id or certificate_arn)",
                True,
            )
        live = self.release.slot(self.release.live)
        if live.image == BUILD:
            raise _FieldError(
                ("release", self.release.live.value, "image"),
                "the live slot in production must be pinned to a digest, not 'build'",
                BUILD,
            )
        if live.desired_count < 2:
            raise _FieldError(
                ("release", self.release.live.value, "desired_count"),
                "production runs at least 2 live tasks (two AZs, so one restart is no outage)",
                live.desired_count,
            )
        if not self.database.multi_az:
            raise _FieldError(("database", "multi_az"), "production requires Multi-AZ", False)
        if self.database.backup_retention_days < 7:
            raise _FieldError(
                ("database", "backup_retention_days"),
                "production requires at least 7 days of backups",
                self.database.backup_retention_days,
            )
        if self.pubsub.redis_enabled and not self.pubsub.redis.automatic_failover:
            raise _FieldError(
                ("pubsub", "redis", "automatic_failover"),
                "production requires automatic failover (and so a replica) for Redis",
                False,
            )
        return self


def load_settings(raw: Mapping[str, Any]) -> StackSettings:
    """Validate a raw config map (keys without the namespace, values parsed) into settings."""
    try:
        return StackSettings.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def raw_config_from_pulumi(config: Mapping[str, Any], namespace: str = NAMESPACE) -> dict[str, Any]:
    """Pick the `namespace:` keys out of a full Pulumi config map and parse JSON values."""
    raw: dict[str, Any] = {}
    prefix = f"{namespace}:"
    for key, value in config.items():
        if key.startswith(prefix):
            raw[key[len(prefix) :]] = _parse_value(value)
    return raw


def settings_from_pulumi() -> StackSettings:
    """Load and validate the current stack's config from the Pulumi runtime."""
    from pulumi.runtime import config as runtime_config

    full = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return load_settings(raw_config_from_pulumi(full))


def _parse_value(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _describe(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        ctx_error = (error.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _FieldError):
            problems.append(_line(loc + ctx_error.loc, ctx_error.message, ctx_error.value))
            continue
        if error["type"] == "missing":
            problems.append(
                f"{NAMESPACE}:{'.'.join(map(str, loc))}: required, not set (got nothing)"
            )
            continue
        if error["type"] == "extra_forbidden":
            problems.append(_line(loc, _unknown_key_message(loc), error["input"]))
            continue
        message = error["msg"].removeprefix("Value error, ")
        problems.append(_line(loc, message, error.get("input")))
    return problems


def _line(loc: tuple[str | int, ...], message: str, value: Any) -> str:
    path = ".".join(str(p) for p in loc)
    return f"{NAMESPACE}:{path}: {message} (got {_show(value)})"


def _show(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value, default=str)
    except TypeError:  # pragma: no cover
        return repr(value)


def _unknown_key_message(loc: tuple[str | int, ...]) -> str:
    valid = _fields_at(StackSettings, loc[:-1])
    key = str(loc[-1])
    guess = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"; did you mean {guess[0]!r}?" if guess else f"; valid keys: {', '.join(sorted(valid))}"
    return f"unknown key{hint}"


def _fields_at(model: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
    """Field names of the (nested) model found at `path` below `model`."""
    current: Any = model
    for part in path:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            current = _unwrap(current)
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = _unwrap(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """The model class inside `X | None`, `list[X]` or `dict[str, X]`, else the annotation."""
    for arg in getattr(annotation, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = _unwrap(arg)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return annotation
