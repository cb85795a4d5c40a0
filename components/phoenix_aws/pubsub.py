"""RedisPubSub: ElastiCache Redis for `phoenix_pubsub_redis`, when distributed Erlang is not wanted.

All PubSub messages pass through this one replication group, so it is encrypted, authenticated,
replicated across AZs and monitored. It replaces PubSub only, not the rest of distribution.
"""

import re
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from .naming import CACHE_REPLICATION_GROUP_ID, physical_name
from .secrets import stored_secret
from .security import server_security_group
from .validation import (
    arg_error,
    check_arg,
    check_args,
    check_tags,
    component_type,
    with_legacy_alias,
)

REDIS_PORT = 6379
# Redis OSS versions ElastiCache offers for node-based clusters that we support (TLS in transit
# and AUTH with automatic failover need 6.x or newer):
# https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/supported-engine-versions.html
REDIS_ENGINE_VERSIONS = ("6.2", "7.0", "7.1")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEK = 7 * 1440
# The daily window in which ElastiCache takes the group's snapshot (fixed here, UTC).
SNAPSHOT_WINDOW = "03:00-04:00"


def check_node_type(node_type: str) -> str:
    """An ElastiCache node type: `cache.<family>.<size>`, e.g. cache.t4g.small.
    https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheNodes.SupportedTypes.html"""
    if not re.fullmatch(r"cache\.[a-z][a-z0-9-]*\.[a-z0-9]+", node_type):
        raise ValueError("expected an ElastiCache node type such as cache.t4g.small")
    return node_type


def check_redis_engine_version(version: str) -> str:
    """A Redis OSS version that ElastiCache offers and this component supports."""
    if not isinstance(version, str):
        raise ValueError(
            f"expected a version in quotes (YAML read {version!r} as a number), "
            f"one of {', '.join(REDIS_ENGINE_VERSIONS)}"
        )
    if version not in REDIS_ENGINE_VERSIONS:
        raise ValueError(f"ElastiCache Redis OSS versions here: {', '.join(REDIS_ENGINE_VERSIONS)}")
    return version


def _maintenance_minutes(window: str) -> tuple[int, int]:
    """(start, length) in minutes of the week of a `ddd:hh24:mi-ddd:hh24:mi` window."""
    match = re.fullmatch(r"([a-z]{3}):(\d\d):(\d\d)-([a-z]{3}):(\d\d):(\d\d)", str(window))
    if not match:
        raise ValueError("expected day:hh:mm-day:hh:mm in UTC, e.g. sun:05:00-sun:06:00")
    start_day, start_h, start_m, end_day, end_h, end_m = match.groups()
    minutes = []
    for day, hour, minute in ((start_day, start_h, start_m), (end_day, end_h, end_m)):
        if day not in _DAYS:
            raise ValueError(f"{day!r} is not a day; use mon, tue, wed, thu, fri, sat or sun")
        if int(hour) > 23 or int(minute) > 59:
            raise ValueError(f"{hour}:{minute} is not a time of day")
        minutes.append(_DAYS.index(day) * 1440 + int(hour) * 60 + int(minute))
    return minutes[0], (minutes[1] - minutes[0]) % _WEEK


def _daily_minutes(window: str) -> tuple[int, int]:
    """(start, length) in minutes of the day of a `hh24:mi-hh24:mi` window."""
    start, end = (int(t[:2]) * 60 + int(t[3:]) for t in window.split("-"))
    return start, (end - start) % 1440


def windows_overlap(maintenance: str, daily: str) -> bool:
    """Whether a weekly maintenance window meets a daily window on any day of the week."""
    start, length = _maintenance_minutes(maintenance)
    daily_start, daily_length = _daily_minutes(daily)
    for day in range(8):  # the week wraps: the last day's window also meets Monday's
        other = day * 1440 + daily_start
        for offset in (0, _WEEK):
            if start + offset < other + daily_length and other < start + offset + length:
                return True
    return False


def check_maintenance_window(window: str) -> str:
    """`ddd:hh24:mi-ddd:hh24:mi` in UTC, at least 60 minutes long (ElastiCache's
    PreferredMaintenanceWindow, e.g. sun:05:00-sun:06:00), and apart from the daily snapshot
    window (SNAPSHOT_WINDOW): ElastiCache refuses "The snapshot window and maintenance window
    must not overlap".
    https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
    and https://github.com/hashicorp/terraform/issues/17247"""
    _, length = _maintenance_minutes(window)
    if length < 60:
        raise ValueError("the window must be at least 60 minutes long")
    if windows_overlap(window, SNAPSHOT_WINDOW):
        raise ValueError(
            f"the window overlaps the daily snapshot window ({SNAPSHOT_WINDOW} UTC), which "
            "ElastiCache refuses; choose a time outside it"
        )
    return window


def check_failover(replicas: int, automatic_failover: bool) -> None:
    """Automatic failover (and Multi-AZ) needs at least one replica to promote.
    https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html"""
    if not 0 <= replicas <= 5:
        raise ValueError("use 0-5 replicas")
    if automatic_failover and replicas < 1:
        raise ValueError("automatic failover needs at least 1 replica to promote")


def redis_url(token: str, host: str, port: int) -> str:
    """`rediss://` (TLS) URL with the AUTH token, as `phoenix_pubsub_redis` and Redix accept."""
    return f"rediss://:{token}@{host}:{port}"


class RedisPubSubArgs(TypedDict):
    """Inputs of a RedisPubSub."""

    vpc_id: pulumi.Input[str]
    """The VPC to place the Redis security group in."""
    subnet_ids: pulumi.Input[list[str]]
    """Isolated subnets for the cache subnet group."""
    client_security_group_id: pulumi.Input[str]
    """The only security group allowed to connect (the app nodes' SG); it gets the matching
    egress rule."""
    identifier: str
    """Replication group id (40 characters at most after derivation)."""
    node_type: NotRequired[str]
    """Default: `cache.t4g.small`."""
    replicas: NotRequired[int]
    """Read replicas besides the primary. Default: 1."""
    automatic_failover: NotRequired[bool]
    """Promote a replica when the primary fails; needs replicas >= 1. Also turns on Multi-AZ.
    Default: true."""
    engine_version: NotRequired[str]
    """Redis OSS version (6.2, 7.0, 7.1). Default: `7.1`."""
    snapshot_retention_days: NotRequired[int]
    """Default: 7."""
    maintenance_window: NotRequired[str]
    """Default: `sun:05:00-sun:06:00`."""
    protect: NotRequired[bool]
    """Pulumi `protect` on the replication group and its secret. Default: true."""
    tags: NotRequired[dict[str, str]]
    """Default: none."""


class RedisPubSub(pulumi.ComponentResource):
    """Encrypted, AUTH-protected Redis whose URL reaches the app only through Secrets Manager."""

    primary_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    url_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    replication_group_id: pulumi.Output[str]
    member_cluster_ids: pulumi.Output[list[str]]
    """The cache clusters (one node each) of the group: ElastiCache publishes its host and
    engine metrics per `CacheClusterId`, so alarms address these."""

    def __init__(
        self, name: str, args: RedisPubSubArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("RedisPubSub"), name, None, with_legacy_alias("RedisPubSub", opts)
        )
        check_redis_pubsub_args(name, args)
        identifier = physical_name(args["identifier"], rule=CACHE_REPLICATION_GROUP_ID)
        tags = dict(args.get("tags") or {})

        self._create_network_access(name, args, identifier, tags)
        self._create_replication_group(name, args, identifier, tags)
        self._create_url_secret(name, identifier, args.get("protect", True), tags)
        self._register()

    def _create_network_access(
        self, name: str, args: RedisPubSubArgs, identifier: str, tags: dict[str, str]
    ) -> None:
        """The cache subnet group (isolated subnets) and the security group that lets only the
        client security group in."""
        child = pulumi.ResourceOptions(parent=self)
        self.subnet_group = aws.elasticache.SubnetGroup(
            f"{name}-subnets", name=identifier, subnet_ids=args["subnet_ids"], tags=tags, opts=child
        )
        self.security_group = server_security_group(
            name,
            vpc_id=args["vpc_id"],
            client_security_group_id=args["client_security_group_id"],
            port=REDIS_PORT,
            what=f"Redis {identifier}",
            tags={**tags, "Name": f"{identifier}-redis"},
            opts=child,
        )

    def _create_replication_group(
        self, name: str, args: RedisPubSubArgs, identifier: str, tags: dict[str, str]
    ) -> None:
        """The AUTH token and the encrypted replication group (Multi-AZ with failover)."""
        protected = pulumi.ResourceOptions(parent=self, protect=args.get("protect", True))
        replicas = args.get("replicas", 1)
        failover = args.get("automatic_failover", True)
        # ElastiCache AUTH tokens: 16-128 printable chars without @ " /; alphanumerics are safe.
        self.auth_token = random.RandomPassword(
            f"{name}-auth-token", length=64, special=False, opts=protected
        )
        self.replication_group = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            replication_group_id=identifier,
            description=f"Phoenix PubSub for {identifier}",
            engine="redis",
            engine_version=args.get("engine_version", "7.1"),
            node_type=args.get("node_type", "cache.t4g.small"),
            num_cache_clusters=1 + replicas,
            port=REDIS_PORT,
            subnet_group_name=self.subnet_group.name,
            security_group_ids=[self.security_group.id],
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            auth_token=self.auth_token.result,
            automatic_failover_enabled=failover,
            multi_az_enabled=failover,
            snapshot_retention_limit=args.get("snapshot_retention_days", 7),
            snapshot_window=SNAPSHOT_WINDOW,
            maintenance_window=args.get("maintenance_window", "sun:05:00-sun:06:00"),
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            tags=tags,
            opts=protected,
        )

    def _create_url_secret(
        self, name: str, identifier: str, protect: bool, tags: dict[str, str]
    ) -> None:
        """`REDIS_URL` (rediss:// with the AUTH token) in Secrets Manager: the only way the URL
        reaches the app."""
        url: pulumi.Output[str] = pulumi.Output.all(
            self.auth_token.result,
            self.replication_group.primary_endpoint_address,
            self.replication_group.port,
        ).apply(lambda a: redis_url(a[0], a[1], int(a[2] or REDIS_PORT)))
        self.url_secret = stored_secret(
            f"{name}-url",
            name_prefix=f"{identifier}/REDIS_URL-",
            description="REDIS_URL for phoenix_pubsub_redis (rediss:// with AUTH token)",
            value=url,
            tags=tags,
            protect=protect,
            parent=self,
        )

    def _register(self) -> None:
        """Set and register the outputs."""
        self.primary_endpoint = self.replication_group.primary_endpoint_address
        self.port = self.replication_group.port.apply(lambda p: int(p or REDIS_PORT))
        self.url_secret_arn = self.url_secret.arn
        self.security_group_id = self.security_group.id
        self.replication_group_id = self.replication_group.replication_group_id
        self.member_cluster_ids = self.replication_group.member_clusters.apply(
            lambda members: sorted(members or [])
        )
        self.register_outputs(
            {
                "primary_endpoint": self.primary_endpoint,
                "port": self.port,
                "url_secret_arn": self.url_secret_arn,
                "security_group_id": self.security_group_id,
                "replication_group_id": self.replication_group_id,
                "member_cluster_ids": self.member_cluster_ids,
            }
        )


def check_redis_pubsub_args(name: str, args: RedisPubSubArgs) -> None:
    check_args("RedisPubSub", name, args, RedisPubSubArgs)
    try:
        check_failover(args.get("replicas", 1), args.get("automatic_failover", True))
    except ValueError as exc:
        raise arg_error("RedisPubSub", name, "replicas", str(exc)) from None
    for key, value, rule in (
        ("node_type", args.get("node_type"), check_node_type),
        ("engine_version", args.get("engine_version"), check_redis_engine_version),
        ("maintenance_window", args.get("maintenance_window"), check_maintenance_window),
        ("tags", args.get("tags"), check_tags),
    ):
        check_arg("RedisPubSub", name, key, value, rule)
