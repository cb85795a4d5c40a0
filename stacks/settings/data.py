"""`phoenix-aws:database` (RDS PostgreSQL) and `phoenix-aws:pubsub` (the Redis fallback)."""

from enum import StrEnum
from typing import Annotated

from phoenix_aws.app_args import DatabaseOptions, RedisOptions
from phoenix_aws.database import (
    MAX_STORAGE_GB,
    MIN_STORAGE_GB,
    check_engine_version,
    check_instance_class,
    check_master_username,
    check_monitoring_interval,
    check_role_name,
)
from phoenix_aws.pubsub import (
    check_failover,
    check_maintenance_window,
    check_node_type,
    check_redis_engine_version,
)
from phoenix_aws.validation import check_log_retention
from pydantic import Field, model_validator

from .base import FieldError, Frozen, field_rule, ruled

Retention = Annotated[int, ruled(check_log_retention)]


class DatabaseSettings(Frozen):
    """`phoenix-aws:database`: RDS PostgreSQL."""

    engine_version: Annotated[str, ruled(check_engine_version)] = "17"
    """Major (`"17"`) or major.minor (`"17.2"`), quoted. Default: "17"."""
    instance_class: Annotated[str, ruled(check_instance_class)] = "db.t4g.medium"
    """RDS instance class (`db.<family>.<size>`)."""
    allocated_storage_gb: int = Field(default=20, ge=MIN_STORAGE_GB, le=MAX_STORAGE_GB)
    """Initial gp3 storage, 20-65536 GiB."""
    max_allocated_storage_gb: int = Field(default=100, ge=MIN_STORAGE_GB, le=MAX_STORAGE_GB)
    """Storage autoscaling ceiling (at least `allocated_storage_gb`)."""
    name: Annotated[str, ruled(check_role_name)] = "app"
    """The initial database. Default: app."""
    master_username: Annotated[str, ruled(check_master_username)] = "phoenix_admin"
    """The master user; its password is generated and rotated by RDS in Secrets Manager (only admin
    tasks get it). Well-known names are refused."""
    multi_az: bool = True
    """A synchronous standby in another AZ (production requires it)."""
    backup_retention_days: int = Field(default=14, ge=0, le=35)
    """Days of automated backups (production requires at least 7)."""
    performance_insights: bool = True
    """Performance Insights (7 days, free tier)."""
    monitoring_interval_seconds: Annotated[int, ruled(check_monitoring_interval)] = 60
    """Enhanced monitoring (OS metrics), 0 = off. Default: 60."""
    slow_query_ms: int = Field(default=500, ge=-1, le=3_600_000)
    """Log statements slower than this (`log_min_duration_statement`), -1 = off. Default: 500."""
    deletion_protection: bool = True
    """AWS-side deletion protection."""
    skip_final_snapshot: bool = False
    """Skip the final snapshot (`<id>-final`) when the database is deleted."""
    protect: bool = True
    """Pulumi protect: `pulumi up` refuses to delete or replace the database."""
    allow_major_version_upgrade: bool = False
    """Needed to move `engine_version` to another major version."""
    allow_replacement: bool = False
    """Accept a change (name, master_username, …) that replaces the database with a new one."""
    log_retention_days: Retention = 30
    """Days the exported Postgres logs are kept."""

    @model_validator(mode="after")
    def _replacement_needs_protection_off(self) -> "DatabaseSettings":
        if self.allow_replacement and self.protect:
            raise FieldError(
                ("allow_replacement",),
                "replacing the database also needs protect: false (Pulumi refuses to replace a "
                "protected resource)",
                True,
            )
        return self

    @model_validator(mode="after")
    def _storage_ceiling(self) -> "DatabaseSettings":
        if self.max_allocated_storage_gb < self.allocated_storage_gb:
            raise FieldError(
                ("max_allocated_storage_gb",),
                f"must be at least allocated_storage_gb ({self.allocated_storage_gb})",
                self.max_allocated_storage_gb,
            )
        return self

    def options(self) -> DatabaseOptions:
        """PhoenixApp's `database` section."""
        return DatabaseOptions(
            engine_version=self.engine_version,
            instance_class=self.instance_class,
            allocated_storage_gb=self.allocated_storage_gb,
            max_allocated_storage_gb=self.max_allocated_storage_gb,
            database_name=self.name,
            master_username=self.master_username,
            multi_az=self.multi_az,
            backup_retention_days=self.backup_retention_days,
            performance_insights=self.performance_insights,
            monitoring_interval_seconds=self.monitoring_interval_seconds,
            slow_query_ms=self.slow_query_ms,
            deletion_protection=self.deletion_protection,
            skip_final_snapshot=self.skip_final_snapshot,
            protect=self.protect,
            allow_major_version_upgrade=self.allow_major_version_upgrade,
            allow_replacement=self.allow_replacement,
            log_retention_days=self.log_retention_days,
        )


class PubSubAdapter(StrEnum):
    """How Phoenix.PubSub reaches every node."""

    ERLANG = "erlang"
    """Distributed Erlang between the nodes (default; no extra service)."""
    REDIS = "redis"
    """phoenix_pubsub_redis through an ElastiCache Redis replication group."""


class RedisSettings(Frozen):
    """`phoenix-aws:pubsub.redis`: the ElastiCache replication group."""

    enabled: bool | None = None
    """Create Redis even when the adapter is erlang (e.g. for caches). Default: adapter == redis."""
    node_type: Annotated[str, ruled(check_node_type)] = "cache.t4g.small"
    """ElastiCache node type (`cache.<family>.<size>`)."""
    replicas: int = Field(default=1, ge=0, le=5)
    """Replicas besides the primary, 0-5."""
    automatic_failover: bool = True
    """Promote a replica when the primary fails (also Multi-AZ); needs a replica; production
    requires it."""
    engine_version: Annotated[str, ruled(check_redis_engine_version)] = "7.1"
    """Redis OSS version, quoted ("7.1"). Default: "7.1"."""
    snapshot_retention_days: int = Field(default=7, ge=0, le=35)
    """Days of daily snapshots."""
    maintenance_window: Annotated[str, ruled(check_maintenance_window)] = "sun:05:00-sun:06:00"
    """Weekly UTC window, `ddd:hh:mm-ddd:hh:mm`, at least 60 minutes."""
    protect: bool = True
    """Pulumi `protect` on the replication group, its AUTH token and its secret."""

    @model_validator(mode="after")
    def _failover_needs_a_replica(self) -> "RedisSettings":
        field_rule(
            ("replicas",),
            self.replicas,
            lambda: check_failover(self.replicas, self.automatic_failover),
        )
        return self

    def options(self, *, enabled: bool) -> RedisOptions:
        """PhoenixApp's `redis` section."""
        if not enabled:
            return RedisOptions(enabled=False)
        return RedisOptions(
            enabled=True,
            node_type=self.node_type,
            replicas=self.replicas,
            automatic_failover=self.automatic_failover,
            engine_version=self.engine_version,
            snapshot_retention_days=self.snapshot_retention_days,
            maintenance_window=self.maintenance_window,
            protect=self.protect,
        )


class PubSubSettings(Frozen):
    """`phoenix-aws:pubsub`: how Phoenix.PubSub reaches every node."""

    adapter: PubSubAdapter = PubSubAdapter.ERLANG
    """`erlang`: Phoenix.PubSub over distributed Erlang (no extra service). `redis`:
    `phoenix_pubsub_redis` through ElastiCache."""
    redis: RedisSettings = RedisSettings()
    """The ElastiCache replication group (with `adapter: redis`, or `enabled: true`)."""

    @property
    def redis_enabled(self) -> bool:
        return bool(self.redis.enabled) or self.adapter is PubSubAdapter.REDIS

    @model_validator(mode="after")
    def _redis_settings_need_redis(self) -> "PubSubSettings":
        if self.adapter is PubSubAdapter.REDIS and self.redis.enabled is False:
            raise FieldError(("redis", "enabled"), "adapter 'redis' needs Redis enabled", False)
        if not self.redis_enabled and self.redis.model_fields_set - {"enabled"}:
            keys = ", ".join(sorted(self.redis.model_fields_set - {"enabled"}))
            raise FieldError(
                ("redis",),
                f"these Redis settings ({keys}) have no effect with adapter 'erlang'; set "
                "adapter: redis (or redis.enabled: true), or remove them",
                {k: getattr(self.redis, k) for k in sorted(self.redis.model_fields_set)},
            )
        return self
