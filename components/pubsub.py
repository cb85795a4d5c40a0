"""RedisPubSub: ElastiCache Redis for `phoenix_pubsub_redis`, when distributed Erlang is not wanted.

All PubSub messages pass through this one replication group, so it is encrypted, authenticated,
replicated across AZs and monitored. It replaces PubSub only, not the rest of distribution.
"""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from .naming import ELASTICACHE_ID_MAX, physical_name
from .secrets import stored_secret
from .security import server_security_group

REDIS_PORT = 6379


def redis_url(token: str, host: str, port: int) -> str:
    """`rediss://` (TLS) URL with the AUTH token, as `phoenix_pubsub_redis` and Redix accept."""
    return f"rediss://:{token}@{host}:{port}"


class RedisPubSubArgs(TypedDict):
    """Inputs of a RedisPubSub."""

    vpc_id: pulumi.Input[str]
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
    """Default: `7.1`."""
    snapshot_retention_days: NotRequired[int]
    """Default: 7."""
    maintenance_window: NotRequired[str]
    """Default: `sun:05:00-sun:06:00`."""
    protect: NotRequired[bool]
    """Pulumi `protect` on the replication group and its secret. Default: true."""
    tags: NotRequired[dict[str, str]]


class RedisPubSub(pulumi.ComponentResource):
    """Encrypted, AUTH-protected Redis whose URL reaches the app only through Secrets Manager."""

    primary_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    url_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    replication_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: RedisPubSubArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("phoenix-aws:components:RedisPubSub", name, None, opts)
        replicas = args.get("replicas", 1)
        failover = args.get("automatic_failover", True)
        if failover and replicas < 1:
            raise ValueError(
                f"automatic_failover needs at least one replica, got replicas={replicas}"
            )
        identifier = physical_name(args["identifier"], max_length=ELASTICACHE_ID_MAX)
        tags = dict(args.get("tags") or {})
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=args.get("protect", True))

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
            snapshot_window="03:00-04:00",
            maintenance_window=args.get("maintenance_window", "sun:05:00-sun:06:00"),
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            tags=tags,
            opts=protected,
        )
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
            protect=args.get("protect", True),
            parent=self,
        )

        self.primary_endpoint = self.replication_group.primary_endpoint_address
        self.port = self.replication_group.port.apply(lambda p: int(p or REDIS_PORT))
        self.url_secret_arn = self.url_secret.arn
        self.security_group_id = self.security_group.id
        self.replication_group_id = self.replication_group.replication_group_id
        self.register_outputs(
            {
                "primary_endpoint": self.primary_endpoint,
                "port": self.port,
                "url_secret_arn": self.url_secret_arn,
                "security_group_id": self.security_group_id,
            }
        )
