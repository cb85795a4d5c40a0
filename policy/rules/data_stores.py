"""Rules of the data stores: RDS's and ElastiCache's Security Hub controls (RDS.*,
ElastiCache.*), the slow query log, and Redis alarms that get data."""

from __future__ import annotations

from collections.abc import Iterator

from .model import Context, Enforcement, Finding, Resource, Stack, resource_rule, stack_rule
from .properties import (
    DB_INSTANCE,
    DB_PARAMETER_GROUP,
    METRIC_ALARM,
    REPLICATION_GROUP,
    _map,
    _number,
    _seq,
    _true,
)

RDS_DOCS = "https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html"
MIN_BACKUP_RETENTION_DAYS = 7
ENHANCED_MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
POSTGRES_LOG_EXPORTS = ("postgresql", "upgrade")


@resource_rule("rds-2-not-public", Enforcement.MANDATORY, DB_INSTANCE, control="RDS.2")
def rds_2_not_public(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.2: a DB instance is not publicly accessible.

    The control fails if `PubliclyAccessible` is true.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-2
    """
    if _true(r.props.get("publiclyAccessible")):
        yield f"database {r.name!r} is publicly accessible; set publiclyAccessible to false"


@resource_rule("rds-3-encrypted", Enforcement.MANDATORY, DB_INSTANCE, control="RDS.3")
def rds_3_encrypted(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.3: a DB instance is encrypted at rest.

    The control fails if storage encryption is not enabled (it cannot be turned on later without
    a snapshot-and-restore).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-3
    """
    if not _true(r.props.get("storageEncrypted")):
        yield f"database {r.name!r} stores data unencrypted; set storageEncrypted"


@resource_rule("rds-5-multi-az", Enforcement.ADVISORY, DB_INSTANCE, control="RDS.5")
def rds_5_multi_az(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.5: a DB instance has a standby in another Availability Zone.

    The control fails if Multi-AZ is off. Advisory (a standby doubles the instance cost);
    production settings require it, development stacks waive it.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-5
    """
    if not _true(r.props.get("multiAz")):
        yield f"database {r.name!r} runs in one Availability Zone; set multiAz"


@resource_rule(
    "rds-6-enhanced-monitoring",
    Enforcement.ADVISORY,
    DB_INSTANCE,
    control="RDS.6",
    production_only=True,
)
def rds_6_enhanced_monitoring(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.6: a production DB instance has enhanced monitoring.

    The control fails if enhanced monitoring is off (`MonitoringInterval` 0); with it, RDS
    reports OS-level metrics (per-process CPU, memory, I/O) every 1-60 seconds through a
    monitoring role. Applied to production stacks.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-6
    """
    interval = int(_number(r.props.get("monitoringInterval"), 0) or 0)
    if interval not in ENHANCED_MONITORING_INTERVALS:
        yield (
            f"database {r.name!r} has no enhanced monitoring (monitoringInterval {interval}); "
            "set monitoringInterval (e.g. 60) and a monitoringRoleArn"
        )
    elif not r.props.get("monitoringRoleArn"):
        yield f"database {r.name!r} sets monitoringInterval without a monitoringRoleArn"


@resource_rule("rds-8-deletion-protection", Enforcement.ADVISORY, DB_INSTANCE, control="RDS.8")
def rds_8_deletion_protection(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.8: a DB instance has deletion protection on.

    The control fails if deletion protection is off. Advisory: a disposable development stack
    waives it explicitly (its database goes with the stack).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-8
    """
    if not _true(r.props.get("deletionProtection")):
        yield f"database {r.name!r} can be deleted; set deletionProtection"


@resource_rule("rds-9-logs-exported", Enforcement.ADVISORY, DB_INSTANCE, control="RDS.9")
def rds_9_logs_exported(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.9: a DB instance publishes its logs to CloudWatch Logs.

    The control fails unless the engine's logs are exported; for PostgreSQL that is `postgresql`
    and `upgrade`. Advisory: log ingestion costs money.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-9
    """
    if not str(r.props.get("engine", "")).startswith("postgres"):
        return
    exported = set(map(str, _seq(r.props.get("enabledCloudwatchLogsExports"))))
    missing = [kind for kind in POSTGRES_LOG_EXPORTS if kind not in exported]
    if missing:
        yield (
            f"database {r.name!r} does not export its {', '.join(missing)} log to CloudWatch; "
            "add it to enabledCloudwatchLogsExports"
        )


@resource_rule("rds-11-automatic-backups", Enforcement.ADVISORY, DB_INSTANCE, control="RDS.11")
def rds_11_automatic_backups(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.11: a DB instance keeps automatic backups for at least 7 days.

    The control fails if the backup retention period is below `backupRetentionMinimum` (7 days).
    Advisory: development stacks keep fewer on purpose and waive it.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-11
    """
    days = int(_number(r.props.get("backupRetentionPeriod"), 0) or 0)
    if days < MIN_BACKUP_RETENTION_DAYS:
        yield (
            f"database {r.name!r} keeps backups for {days} day(s); keep at least "
            f"{MIN_BACKUP_RETENTION_DAYS} (backupRetentionPeriod)"
        )


@resource_rule(
    "rds-13-minor-version-upgrades", Enforcement.MANDATORY, DB_INSTANCE, control="RDS.13"
)
def rds_13_minor_version_upgrades(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.13: a DB instance takes automatic minor version upgrades.

    The control fails if automatic minor version upgrades are off (security patches arrive as
    minor versions). The provider's default is on.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-13
    """
    if r.props.get("autoMinorVersionUpgrade") is not None and not _true(
        r.props.get("autoMinorVersionUpgrade")
    ):
        yield f"database {r.name!r} never gets minor version upgrades; set autoMinorVersionUpgrade"


@stack_rule("rds-postgres-slow-query-log", Enforcement.ADVISORY)
def rds_postgres_slow_query_log(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """A PostgreSQL instance logs slow statements (`log_min_duration_statement`).

    With the default parameter group, `log_min_duration_statement` is -1 and no statement is ever
    logged for its duration; the instance's own parameter group must set it to a threshold in
    milliseconds (0 logs everything), and the `postgresql` log is exported (RDS.9).
    AWS docs: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Concepts.PostgreSQL.html
    """
    for instance in stack.of_type(DB_INSTANCE):
        if not str(instance.props.get("engine", "")).startswith("postgres"):
            continue
        groups = stack.dependencies(instance, DB_PARAMETER_GROUP)
        thresholds = []
        for group in groups:
            for parameter in _seq(group.props.get("parameters")):
                parameter = _map(parameter)
                if parameter.get("name") == "log_min_duration_statement":
                    thresholds.append(_number(parameter.get("value"), -1))
        if not any(t is not None and t >= 0 for t in thresholds):
            yield Finding(
                f"database {instance.name!r} does not log slow statements; set "
                "log_min_duration_statement (ms) in its parameter group",
                instance,
            )


# ---------------------------------------------------------------------------------------------
# ElastiCache


@resource_rule(
    "elasticache-3-automatic-failover",
    Enforcement.ADVISORY,
    REPLICATION_GROUP,
    control="ElastiCache.3",
)
def elasticache_3_automatic_failover(r: Resource, ctx: Context) -> Iterator[str]:
    """ElastiCache.3: a replication group fails over automatically.

    The control fails if automatic failover is off (a primary failure stops all PubSub until
    someone promotes a replica). Advisory: it needs a replica, which doubles the cost.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elasticache-controls.html#elasticache-3
    """
    if not _true(r.props.get("automaticFailoverEnabled")):
        yield (
            f"replication group {r.name!r} has no automatic failover; set "
            "automaticFailoverEnabled (with at least one replica)"
        )


@resource_rule(
    "elasticache-4-encrypted-at-rest",
    Enforcement.MANDATORY,
    REPLICATION_GROUP,
    control="ElastiCache.4",
)
def elasticache_4_encrypted_at_rest(r: Resource, ctx: Context) -> Iterator[str]:
    """ElastiCache.4: a replication group is encrypted at rest.

    The control fails if encryption at rest is off (it can only be chosen at creation).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elasticache-controls.html#elasticache-4
    """
    if not _true(r.props.get("atRestEncryptionEnabled")):
        yield f"replication group {r.name!r} is not encrypted at rest; set atRestEncryptionEnabled"


@resource_rule(
    "elasticache-5-encrypted-in-transit",
    Enforcement.MANDATORY,
    REPLICATION_GROUP,
    control="ElastiCache.5",
)
def elasticache_5_encrypted_in_transit(r: Resource, ctx: Context) -> Iterator[str]:
    """ElastiCache.5: a replication group is encrypted in transit.

    The control fails if in-transit encryption (TLS) is off; the AUTH token would cross the
    network in clear text.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elasticache-controls.html#elasticache-5
    """
    if not _true(r.props.get("transitEncryptionEnabled")):
        yield (
            f"replication group {r.name!r} is not encrypted in transit; set "
            "transitEncryptionEnabled"
        )


@resource_rule("elasticache-alarm-dimensions", Enforcement.MANDATORY, METRIC_ALARM)
def elasticache_alarm_dimensions(r: Resource, ctx: Context) -> Iterator[str]:
    """An ElastiCache alarm uses the dimension its metric is published under (CacheClusterId).

    ElastiCache publishes host- and engine-level metrics per cache node, with the dimensions
    CacheClusterId (and CacheNodeId); an alarm on ReplicationGroupId alone never receives data.
    AWS docs: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.html
    """
    if r.props.get("namespace") != "AWS/ElastiCache":
        return
    dimensions = _map(r.props.get("dimensions"))
    if "CacheClusterId" not in dimensions:
        yield (
            f"alarm {r.name!r} watches {r.props.get('metricName')} by "
            f"{', '.join(dimensions) or 'no dimension'}; ElastiCache publishes it per "
            "CacheClusterId, so the alarm never gets data"
        )
