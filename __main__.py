"""phoenix-aws: compose the components for one stack. No resource logic, no config parsing here."""

import pulumi

from components.database import Database
from components.load_balancer import LoadBalancer
from components.network import Network
from components.node_security import NodeSecurityGroup
from components.pubsub import RedisPubSub
from stacks.settings import settings_from_pulumi

settings = settings_from_pulumi()  # raises ConfigError before any resource is registered
project, stack = pulumi.get_project(), pulumi.get_stack()
base_name = f"{project}-{stack}"
tags = {"phoenix-aws:project": project, "phoenix-aws:stack": stack, **settings.tags}
net_cfg, db_cfg, redis_cfg = settings.network, settings.database, settings.pubsub.redis
edge_cfg = settings.edge

network = Network(
    "network",
    {
        "cidr_block": net_cfg.cidr,
        "az_count": net_cfg.effective_az_count,
        **(
            {"availability_zones": net_cfg.availability_zones} if net_cfg.availability_zones else {}
        ),
        "nat": net_cfg.nat,
        "nat_instance_type": net_cfg.nat_instance_type,
        "interface_endpoints": net_cfg.interface_endpoints,
        "enable_flow_logs": net_cfg.enable_flow_logs,
        "flow_logs_retention_days": net_cfg.flow_logs_retention_days,
        "tags": tags,
    },
)

nodes_sg = NodeSecurityGroup(
    "nodes",
    {"vpc_id": network.vpc_id, "vpc_cidr_block": network.vpc_cidr_block, "tags": tags},
)

database = Database(
    "database",
    {
        "vpc_id": network.vpc_id,
        "subnet_ids": network.isolated_subnet_ids,
        "client_security_group_id": nodes_sg.security_group_id,
        "identifier": f"{base_name}-db",
        "engine_version": db_cfg.engine_version,
        "instance_class": db_cfg.instance_class,
        "allocated_storage_gb": db_cfg.allocated_storage_gb,
        "max_allocated_storage_gb": db_cfg.max_allocated_storage_gb,
        "database_name": db_cfg.name,
        "master_username": db_cfg.master_username,
        "multi_az": db_cfg.multi_az,
        "backup_retention_days": db_cfg.backup_retention_days,
        "performance_insights": db_cfg.performance_insights,
        "deletion_protection": db_cfg.deletion_protection,
        "skip_final_snapshot": db_cfg.skip_final_snapshot,
        "protect": db_cfg.protect,
        "allow_major_version_upgrade": db_cfg.allow_major_version_upgrade,
        "log_retention_days": db_cfg.log_retention_days,
        "tags": tags,
    },
)

redis = None
if settings.pubsub.redis_enabled:
    redis = RedisPubSub(
        "pubsub",
        {
            "vpc_id": network.vpc_id,
            "subnet_ids": network.isolated_subnet_ids,
            "client_security_group_id": nodes_sg.security_group_id,
            "identifier": f"{base_name}-pubsub",
            "node_type": redis_cfg.node_type,
            "replicas": redis_cfg.replicas,
            "automatic_failover": redis_cfg.automatic_failover,
            "engine_version": redis_cfg.engine_version,
            "snapshot_retention_days": redis_cfg.snapshot_retention_days,
            "maintenance_window": redis_cfg.maintenance_window,
            "protect": redis_cfg.protect,
            "tags": tags,
        },
    )

edge = LoadBalancer(
    "edge",
    {
        "name_parts": [project, stack],
        "vpc_id": network.vpc_id,
        "subnet_ids": network.public_subnet_ids,
        "target_security_group_id": nodes_sg.security_group_id,
        "ingress_cidrs": edge_cfg.ingress_cidrs,
        **({"certificate_arn": edge_cfg.certificate_arn} if edge_cfg.certificate_arn else {}),
        **({"domain_name": edge_cfg.domain} if edge_cfg.domain else {}),
        **({"hosted_zone_id": edge_cfg.hosted_zone_id} if edge_cfg.hosted_zone_id else {}),
        "plain_http_only": edge_cfg.plain_http_only,
        "idle_timeout_seconds": edge_cfg.idle_timeout_seconds,
        "deregistration_delay_seconds": edge_cfg.deregistration_delay_seconds,
        "slow_start_seconds": edge_cfg.slow_start_seconds,
        "health_check": edge_cfg.health_check.model_dump(),
        "live": settings.release.live.value,
        "canary_percent": settings.release.canary_percent,
        "enable_stickiness": edge_cfg.enable_stickiness,
        "test_header": edge_cfg.test_header,
        "operator_cidrs": edge_cfg.operator_cidrs,
        "path_allow_lists": [entry.model_dump() for entry in edge_cfg.path_allow_lists],
        "enable_deletion_protection": edge_cfg.deletion_protection,
        "desync_mitigation_mode": edge_cfg.desync_mitigation_mode,
        "enable_access_logs": edge_cfg.access_logs,
        "access_logs_retention_days": edge_cfg.access_logs_retention_days,
        "tags": tags,
    },
)

pulumi.export("url", edge.url)
pulumi.export("load_balancer_dns_name", edge.dns_name)
pulumi.export("live_slot", settings.release.live.value)
pulumi.export("canary_percent", settings.release.canary_percent)
pulumi.export("target_group_arns", edge.target_group_arns)
pulumi.export("vpc_id", network.vpc_id)
pulumi.export("availability_zones", network.availability_zones)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export(
    "database_endpoint", pulumi.Output.concat(database.address, ":", database.port.apply(str))
)
pulumi.export("database_secret_arn", database.secret_arn)
pulumi.export("pubsub_adapter", settings.pubsub.adapter.value)
if redis:
    pulumi.export("redis_endpoint", redis.primary_endpoint)
    pulumi.export("redis_url_secret_arn", redis.url_secret_arn)
