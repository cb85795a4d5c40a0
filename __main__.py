"""phoenix-aws: compose the components for one stack. No resource logic, no config parsing here:
which components, wired how, exported what."""

import os
from operator import itemgetter

import pulumi
from phoenix_aws.cluster import Cluster
from phoenix_aws.database import Database
from phoenix_aws.image import AppImage
from phoenix_aws.load_balancer import LoadBalancer, TrafficRouting
from phoenix_aws.monitoring import SOCKET_METRIC_NAME, SOCKET_METRIC_NAMESPACE, Monitoring
from phoenix_aws.network import Network
from phoenix_aws.node_security import NodeSecurityGroup
from phoenix_aws.pubsub import RedisPubSub
from phoenix_aws.release_slot import ReleaseSlot
from phoenix_aws.slots import BUILD
from phoenix_aws.waf import WebFirewall

from stacks.deployed import deployed_outputs
from stacks.settings import (
    RELEASE_CHANGE_ENV,
    ConfigError,
    placeholder_warnings,
    release_change_problems,
    settings_from_pulumi,
)

settings = settings_from_pulumi()  # raises ConfigError before any resource is registered
deployed = deployed_outputs()  # this stack's last outputs ({} on the first deployment)
problems = release_change_problems(
    settings.release.state(),
    deployed.get("release_state"),
    allowed=os.environ.get(RELEASE_CHANGE_ENV) == "1",
)
if problems:
    raise ConfigError(problems)
for warning in placeholder_warnings(settings):  # example values the stack file still holds
    pulumi.log.warn(warning)

project, stack = pulumi.get_project(), pulumi.get_stack()
parts = [project, stack]
stack_id = f"{project}-{stack}"
tags = settings.resource_tags(project, stack)
app, release = settings.app, settings.release

network = Network(
    "network",
    settings.network.args(
        region=pulumi.Config("aws").get("region"),
        previous_azs=deployed.get("availability_zones"),
        tags=tags,
    ),
)
nodes_sg = NodeSecurityGroup(
    "nodes",
    settings.cluster.security_args(
        vpc_id=network.vpc_id, vpc_cidr_block=network.vpc_cidr_block, tags=tags
    ),
)
database = Database(
    "database",
    settings.database.args(
        vpc_id=network.vpc_id,
        subnet_ids=network.isolated_subnet_ids,
        client_security_group_id=nodes_sg.security_group_id,
        identifier=f"{stack_id}-db",
        app_username=app.database_role,
        previous_identity=deployed.get("database_identity"),
        tags=tags,
    ),
)
redis = (
    RedisPubSub(
        "pubsub",
        settings.pubsub.redis.args(
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_group_id=nodes_sg.security_group_id,
            identifier=f"{stack_id}-pubsub",
            tags=tags,
        ),
    )
    if settings.pubsub.redis_enabled
    else None
)
edge = LoadBalancer(
    "edge",
    settings.edge.load_balancer_args(
        name_parts=parts,
        vpc_id=network.vpc_id,
        subnet_ids=network.public_subnet_ids,
        target_security_group_id=nodes_sg.security_group_id,
        app_port=app.port,
        tags=tags,
    ),
)
if settings.waf_enabled:
    waf = WebFirewall(
        "edge-waf",
        settings.edge.waf_args(name_parts=parts, load_balancer_arn=edge.arn, tags=tags),
    )
    pulumi.export("web_acl_arn", waf.web_acl_arn)
app_image = AppImage(
    "image",
    settings.image.args(
        name_parts=parts,
        cpu_architecture=app.cpu_architecture.value,
        pinned_images={
            name: image
            for name in settings.slots_in_use
            if (image := release.slot(name).image) != BUILD
        },
        tags=tags,
    ),
)
cluster = Cluster(
    "cluster",
    settings.cluster.args(
        name_parts=parts,
        vpc_id=network.vpc_id,
        readable_secret_arns=[*app.secrets.values(), *([redis.url_secret_arn] if redis else [])],
        admin_secret_arns=[database.secret_arn],
        database_connect_arns=[database.app_connect_arn],
        repository_arns=[app_image.repository_arn],
        app=app,
        draining_slots=release.draining_slots,
        drain_window_seconds=release.drain_window_seconds,
        tags=tags,
    ),
)

# Twelve-factor contract: coordinates as environment, credentials only as ECS secrets.
# A secret `app` section stays secret in the task definitions it reaches.
environment = pulumi.Output.all(
    database.app_environment, settings.keep_secret("app", app.env)
).apply(lambda a: {**a[1], **a[0], "PUBSUB_ADAPTER": settings.pubsub.adapter.value})
secrets = pulumi.Output.all(
    cluster.app_secrets,
    redis.url_secret_arn if redis else None,
    settings.keep_secret("app", app.secrets),
).apply(lambda a: {**a[2], **a[0], **({"REDIS_URL": a[1]} if a[1] else {})})

slots: dict[str, ReleaseSlot] = {}
for name in settings.slots_in_use:
    image = app_image.image if release.slot(name).image == BUILD else release.slot(name).image
    slots[name] = ReleaseSlot(
        f"slot-{name}",
        settings.slot_args(
            name,
            image=image,
            wiring={
                "name_parts": parts,
                "stack_id": stack_id,
                "cluster_arn": cluster.cluster_arn,
                "cluster_name": cluster.cluster_name,
                "subnet_ids": network.private_subnet_ids,
                "security_group_ids": [nodes_sg.security_group_id],
                "target_group_arn": edge.target_group_arns.apply(itemgetter(name)),
                "discovery_service_arn": cluster.discovery_service_arns.apply(itemgetter(name)),
                "dns_cluster_query": cluster.dns_cluster_queries.apply(itemgetter(name)),
                "drain_parameter_name": cluster.drain_parameter_names.apply(itemgetter(name)),
                "execution_role_arn": cluster.execution_role_arn,
                "admin_execution_role_arn": cluster.admin_execution_role_arn,
                "task_role_arn": cluster.task_role_arn,
                "log_group_name": cluster.log_group_name,
                "phx_host": edge.host,
                "phx_scheme": edge.scheme,
                "environment": environment,
                "secrets": secrets,
                "admin_environment": database.admin_environment,
                "admin_secrets": database.admin_secrets,
                "tags": tags,
            },
        ),
    )

# Traffic moves only once every slot is steady and migrated.
routing = TrafficRouting(
    "traffic",
    settings.edge.routing_args(
        listener_arn=edge.production_listener_arn,
        target_group_arns=edge.target_group_arns,
        live=release.live.value,
        canary_percent=release.canary_percent,
        ready=pulumi.Output.all(
            *[s.migrated for s in slots.values()], *[s.service_arn for s in slots.values()]
        ).apply(lambda _: "ready"),
        previous_rule_bands=deployed.get("listener_rule_bands"),
        tags=tags,
    ),
)

if settings.monitoring.enabled:
    monitoring = Monitoring(
        "monitoring",
        {
            "load_balancer_arn_suffix": edge.load_balancer_arn_suffix,
            "target_group_arn_suffixes": edge.target_group_arn_suffixes,
            "cluster_name": cluster.cluster_name,
            "service_names": {name: s.service_name for name, s in slots.items()},
            "database_identifier": database.identifier,
            "database_storage_gb": settings.database.allocated_storage_gb,
            "stack_id": stack_id,
            **(
                {
                    "redis_member_cluster_ids": redis.member_cluster_ids,
                    "redis_node_count": 1 + settings.pubsub.redis.replicas,
                }
                if redis
                else {}
            ),
            "alarm_emails": settings.monitoring.alarm_emails,
            "target_5xx_per_minute": settings.monitoring.target_5xx_per_minute,
            "dashboard_name": stack_id,
            "tags": tags,
        },
    )
    pulumi.export("alarm_topic_arn", monitoring.topic_arn)
    pulumi.export("dashboard_name", monitoring.dashboard_name)

pulumi.export("url", edge.url)
pulumi.export("load_balancer_dns_name", edge.dns_name)
pulumi.export("app_name", app.name)
pulumi.export("live_slot", release.live.value)
pulumi.export("canary_percent", release.canary_percent)
pulumi.export("release_state", release.state())
pulumi.export("listener_rule_bands", routing.rule_bands)
pulumi.export("target_group_arns", edge.target_group_arns)
pulumi.export("image_repository_url", app_image.repository_url)
pulumi.export("built_image", app_image.image)
pulumi.export("cluster_name", cluster.cluster_name)
pulumi.export("log_group_name", cluster.log_group_name)
pulumi.export("exec_log_group_name", cluster.exec_log_group_name)
pulumi.export("dns_cluster_queries", cluster.dns_cluster_queries)
pulumi.export("drain_parameters", cluster.drain_parameter_names)
pulumi.export(
    "socket_metric",
    {
        "namespace": SOCKET_METRIC_NAMESPACE,
        "metric_name": SOCKET_METRIC_NAME,
        "dimensions": {"Stack": stack_id},
    },
)
pulumi.export("slot_images", {name: s.image for name, s in slots.items()})
pulumi.export("slot_desired_counts", {name: s.desired_count for name, s in slots.items()})
pulumi.export("slot_services", {name: s.service_name for name, s in slots.items()})
pulumi.export(
    "remote_console",
    cluster.cluster_name.apply(
        lambda c: (
            f"aws ecs execute-command --cluster {c} --task <task-id> "
            f"--container {app.name} --interactive --command 'bin/{app.name} remote'"
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
