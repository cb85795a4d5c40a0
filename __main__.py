"""phoenix-aws: compose the components for one stack. No resource logic, no config parsing here."""

from operator import itemgetter

import pulumi
from phoenix_aws.cluster import Cluster
from phoenix_aws.database import Database
from phoenix_aws.image import AppImage
from phoenix_aws.load_balancer import LoadBalancer, TrafficRouting, plan_test_routes
from phoenix_aws.migration import Migration
from phoenix_aws.monitoring import Monitoring
from phoenix_aws.network import Network
from phoenix_aws.node_security import NodeSecurityGroup
from phoenix_aws.pubsub import RedisPubSub
from phoenix_aws.release_slot import ReleaseSlot

from stacks.settings import BUILD, settings_from_pulumi

settings = settings_from_pulumi()  # raises ConfigError before any resource is registered
project, stack = pulumi.get_project(), pulumi.get_stack()
base_name = f"{project}-{stack}"
tags = {"phoenix-aws:project": project, "phoenix-aws:stack": stack, **settings.tags}
net_cfg, db_cfg, redis_cfg = settings.network, settings.database, settings.pubsub.redis
edge_cfg, app_cfg, cluster_cfg = settings.edge, settings.app, settings.cluster

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
    {
        "vpc_id": network.vpc_id,
        "vpc_cidr_block": network.vpc_cidr_block,
        "distribution_port_min": cluster_cfg.distribution_port_min,
        "distribution_port_max": cluster_cfg.distribution_port_max,
        "tags": tags,
    },
)

# This stack's own last outputs: what is deployed now (empty on the first deployment).
deployed = pulumi.StackReference(f"{pulumi.get_organization()}/{project}/{stack}")

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
        "allow_replacement": db_cfg.allow_replacement,
        "previous_identity": deployed.get_output("database_identity"),
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
        "app_port": app_cfg.port,
        "ingress_cidrs": edge_cfg.ingress_cidrs,
        **({"certificate_arn": edge_cfg.certificate_arn} if edge_cfg.certificate_arn else {}),
        **({"domain_name": edge_cfg.domain} if edge_cfg.domain else {}),
        **({"hosted_zone_id": edge_cfg.hosted_zone_id} if edge_cfg.hosted_zone_id else {}),
        "plain_http_only": edge_cfg.plain_http_only,
        "idle_timeout_seconds": edge_cfg.idle_timeout_seconds,
        "deregistration_delay_seconds": edge_cfg.deregistration_delay_seconds,
        "slow_start_seconds": edge_cfg.slow_start_seconds,
        "health_check": edge_cfg.health_check.model_dump(),
        "enable_stickiness": edge_cfg.enable_stickiness,
        "test_header": edge_cfg.test_header,
        "operator_cidrs": edge_cfg.operator_cidrs,
        "enable_deletion_protection": edge_cfg.deletion_protection,
        "desync_mitigation_mode": edge_cfg.desync_mitigation_mode,
        "enable_access_logs": edge_cfg.access_logs,
        "access_logs_retention_days": edge_cfg.access_logs_retention_days,
        "tags": tags,
    },
)

image_cfg = settings.image
app_image = AppImage(
    "image",
    {
        "name_parts": [project, stack],
        **(
            {
                "build": {
                    "context": image_cfg.context,
                    "dockerfile": image_cfg.dockerfile,
                    "build_args": image_cfg.build_args,
                    "cpu_architecture": app_cfg.cpu_architecture.value,
                    **({"target": image_cfg.target} if image_cfg.target else {}),
                }
            }
            if image_cfg.context
            else {}
        ),
        "keep_last": image_cfg.keep_last,
        "pinned_images": {
            name: app_image_ref
            for name in ("blue", "green")
            if (app_image_ref := settings.release.slot(name).image) and app_image_ref != BUILD
        },
        "protect": image_cfg.protect,
        "tags": tags,
    },
)

app_secret_refs = [database.secret_arn, *app_cfg.secrets.values()]
if redis:
    app_secret_refs.append(redis.url_secret_arn)
cluster = Cluster(
    "cluster",
    {
        "name_parts": [project, stack],
        "vpc_id": network.vpc_id,
        **({"namespace": cluster_cfg.namespace} if cluster_cfg.namespace else {}),
        "share_discovery_across_slots": cluster_cfg.discovery == "shared",
        "readable_secret_arns": app_secret_refs,
        "repository_arns": [app_image.repository_arn],
        "task_role_policy_arns": app_cfg.task_role_policy_arns,
        "log_retention_days": cluster_cfg.log_retention_days,
        "enable_container_insights": cluster_cfg.container_insights,
        "protect_secrets": cluster_cfg.protect_secrets,
        "tags": tags,
    },
)

# Twelve-factor contract: coordinates as environment, credentials only as ECS secrets.
app_environment = database.app_environment.apply(
    lambda db_env: {**app_cfg.env, **db_env, "PUBSUB_ADAPTER": settings.pubsub.adapter.value}
)
app_secrets = pulumi.Output.all(
    cluster.app_secrets,
    database.app_secrets,
    redis.url_secret_arn if redis else None,
).apply(lambda a: {**app_cfg.secrets, **a[0], **a[1], **({"REDIS_URL": a[2]} if a[2] else {})})

slots = {}
migrations = []
for slot_name in ("blue", "green"):
    slot_cfg = settings.release.slot(slot_name)
    if slot_cfg.image is None:
        continue  # a slot is created with its first image
    slot_image = app_image.image if slot_cfg.image == BUILD else slot_cfg.image
    slots[slot_name] = ReleaseSlot(
        f"slot-{slot_name}",
        {
            "name_parts": [project, stack],
            "slot": slot_name,
            "app_name": app_cfg.name,
            "image": slot_image,
            "release_version": slot_cfg.version
            or pulumi.Output.from_input(slot_image).apply(lambda ref: ref.rsplit("@", 1)[-1][:19]),
            "cluster_arn": cluster.cluster_arn,
            "cluster_name": cluster.cluster_name,
            "subnet_ids": network.private_subnet_ids,
            "security_group_ids": [nodes_sg.security_group_id],
            "target_group_arn": edge.target_group_arns.apply(itemgetter(slot_name)),
            "discovery_service_arn": cluster.discovery_service_arns.apply(itemgetter(slot_name)),
            "dns_cluster_query": cluster.dns_cluster_queries.apply(itemgetter(slot_name)),
            "execution_role_arn": cluster.execution_role_arn,
            "task_role_arn": cluster.task_role_arn,
            "log_group_name": cluster.log_group_name,
            "phx_host": edge.host,
            "secrets": app_secrets,
            "environment": app_environment,
            "app_port": app_cfg.port,
            "cpu": app_cfg.cpu,
            "memory": app_cfg.memory,
            "cpu_architecture": app_cfg.cpu_architecture,
            "desired_count": slot_cfg.desired_count,
            "max_count": slot_cfg.max_count or slot_cfg.desired_count,
            "cpu_target_percent": app_cfg.cpu_target_percent,
            "memory_target_percent": app_cfg.memory_target_percent,
            "distribution_port_min": cluster_cfg.distribution_port_min,
            "distribution_port_max": cluster_cfg.distribution_port_max,
            "stop_timeout_seconds": app_cfg.stop_timeout_seconds,
            "health_check_grace_period_seconds": app_cfg.health_check_grace_period_seconds,
            "run_as_user": app_cfg.run_as_user,
            "wait_for_steady_state": app_cfg.wait_for_steady_state,
            "tags": tags,
        },
    )

    if app_cfg.enable_migrations and slot_cfg.run_migrations:
        migrations.append(
            Migration(
                f"migrate-{slot_name}",
                {
                    "slot": slot_name,
                    "image": slot_image,
                    "command": app_cfg.migration_command,
                    "cluster_name": cluster.cluster_name,
                    "task_definition_family": slots[slot_name].task_definition_family,
                    "container_name": app_cfg.name,
                    "subnet_ids": network.private_subnet_ids,
                    "security_group_ids": [nodes_sg.security_group_id],
                    "log_group_name": cluster.log_group_name,
                    "timeout_seconds": app_cfg.migration_timeout_seconds,
                    "depends_on": [slots[slot_name].service],
                },
            )
        )

# The weighted rules wait for every slot's steady service and its migrations.
routing = TrafficRouting(
    "traffic",
    {
        "listener_arn": edge.production_listener_arn,
        "target_group_arns": edge.target_group_arns,
        "live": settings.release.live.value,
        "canary_percent": settings.release.canary_percent,
        "ready": pulumi.Output.all(
            *[m.completed for m in migrations], *[s.service_arn for s in slots.values()]
        ).apply(lambda _: "ready"),
        "path_allow_lists": [entry.model_dump() for entry in edge_cfg.path_allow_lists],
        "previous_rule_bands": deployed.get_output("listener_rule_bands"),
        "other_rule_count": len(plan_test_routes(edge_cfg.operator_cidrs, edge_cfg.test_header)),
        "enable_stickiness": edge_cfg.enable_stickiness,
        "tags": tags,
    },
)
pulumi.export("listener_rule_bands", routing.rule_bands)

if settings.monitoring.enabled:
    monitoring = Monitoring(
        "monitoring",
        {
            "load_balancer_arn_suffix": edge.load_balancer_arn_suffix,
            "target_group_arn_suffixes": edge.target_group_arn_suffixes,
            "cluster_name": cluster.cluster_name,
            "service_names": {name: slot.service_name for name, slot in slots.items()},
            "database_identifier": database.identifier,
            "database_storage_gb": db_cfg.allocated_storage_gb,
            "redis_replication_group_id": redis.replication_group_id if redis else None,
            "alarm_emails": settings.monitoring.alarm_emails,
            "target_5xx_per_minute": settings.monitoring.target_5xx_per_minute,
            "tags": tags,
        },
    )
    pulumi.export("alarm_topic_arn", monitoring.topic_arn)

pulumi.export("url", edge.url)
pulumi.export("load_balancer_dns_name", edge.dns_name)
pulumi.export("live_slot", settings.release.live.value)
pulumi.export("canary_percent", settings.release.canary_percent)
pulumi.export("target_group_arns", edge.target_group_arns)
pulumi.export("image_repository_url", app_image.repository_url)
pulumi.export("built_image", app_image.image)
pulumi.export("cluster_name", cluster.cluster_name)
pulumi.export("log_group_name", cluster.log_group_name)
pulumi.export("dns_cluster_queries", cluster.dns_cluster_queries)
pulumi.export("slot_images", {name: slot.image for name, slot in slots.items()})
pulumi.export("slot_desired_counts", {name: slot.desired_count for name, slot in slots.items()})
pulumi.export("slot_services", {name: slot.service_name for name, slot in slots.items()})
pulumi.export(
    "remote_console",
    cluster.cluster_name.apply(
        lambda c: (
            f"aws ecs execute-command --cluster {c} --task <task-id> "
            f"--container {app_cfg.name} --interactive --command 'bin/{app_cfg.name} remote'"
        )
    ),
)
pulumi.export("vpc_id", network.vpc_id)
pulumi.export("availability_zones", network.availability_zones)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export(
    "database_endpoint", pulumi.Output.concat(database.address, ":", database.port.apply(str))
)
pulumi.export("database_secret_arn", database.secret_arn)
pulumi.export("database_identity", database.identity)
pulumi.export("pubsub_adapter", settings.pubsub.adapter.value)
if redis:
    pulumi.export("redis_endpoint", redis.primary_endpoint)
    pulumi.export("redis_url_secret_arn", redis.url_secret_arn)
