"""The stack outputs of a phoenix-aws app, in one place: their names, what each holds, and who
reads them. Pure: the release command imports it without Pulumi.

A program that exports these (the stack program does, through `PhoenixApp`; any other program
can, with the same names) is one the release command can drive: it reads `RELEASE_OUTPUTS` from
the deployed stack. `STATE_OUTPUTS` are what the program itself reads back at its next `up`, so
what is deployed stays put (AZs, the database's identity, listener rule priorities, the release).
"""

APP_OUTPUTS: dict[str, str] = {
    "url": "The app's public URL (`https://<host>`, or `http://` with plain HTTP).",
    "load_balancer_dns_name": "DNS name of the load balancer (point a CNAME or alias at it).",
    "app_name": "The OTP release name (`bin/<app_name>`, node names `<app_name>@<ip>`).",
    "live_slot": "The slot that takes production traffic: `blue` or `green`.",
    "canary_percent": "Share of production traffic the idle slot takes.",
    "release_state": "The whole release section as deployed (every key, defaults filled in): "
    "live slot, canary, promoting slot, drain window, capacity timeout, the step in progress, "
    "and per slot its image, counts, version, spot, migrations and drain switch.",
    "release_lock_table": "The DynamoDB table of the release lock and the release history.",
    "production_listener_arn": "The production listener, whose forward rules carry the slots' "
    "weights (a rollback changes them directly).",
    "slot_versions": "slot → the RELEASE_VERSION its tasks run (what their health check says).",
    "slot_alarms": "slot → the names of its own alarms (unhealthy targets; 5xx and response "
    "time while it is promoted): what a canary watches. Empty without monitoring.",
    "slot_autoscaling": "True when the slots' counts move through Application Auto Scaling "
    "targets (a count is raised through the target's minimum).",
    "listener_rule_bands": "Allow-list path → listener rule priority band (kept across ups).",
    "target_group_arns": "slot → target group ARN (health of each slot's targets).",
    "image_repository_url": "The ECR repository of the app's images.",
    "built_image": "The image built from source, pinned by digest (none without a build).",
    "cluster_name": "The ECS cluster the slots run in.",
    "log_group_name": "CloudWatch log group of the app's stdout (stream prefix: the slot).",
    "exec_log_group_name": "CloudWatch log group of ECS Exec sessions (remote consoles).",
    "dns_cluster_queries": "slot → the DNS name that resolves to its nodes (DNS_CLUSTER_QUERY).",
    "drain_parameters": "slot → the SSM parameter its nodes poll to shed their WebSockets.",
    "socket_metric": "Where the nodes publish their open-WebSocket count: namespace, metric "
    "name, dimensions (plus `Slot`).",
    "slot_images": "slot → the image it runs (slots that exist).",
    "slot_desired_counts": "slot → its desired task count (autoscaling's floor).",
    "slot_services": "slot → its ECS service name.",
    "remote_console": "The command that opens a remote console (`bin/<app> remote`) on a node.",
    "vpc_id": "The VPC the app runs in.",
    "availability_zones": "The AZ names of the subnets (none with a network brought in).",
    "private_subnet_ids": "The subnets of the app's nodes.",
    "database_endpoint": "`host:port` of PostgreSQL.",
    "database_secret_arn": "The RDS-managed master secret (admin tasks only).",
    "database_identity": "What the database must keep to be updated in place (none with a "
    "database brought in).",
    "pubsub_adapter": "How Phoenix.PubSub reaches every node: `erlang` or `redis`.",
    "web_acl_arn": "The web firewall on the load balancer (only with the firewall).",
    "alarm_topic_arn": "SNS topic of the alarms (only with monitoring).",
    "dashboard_name": "The CloudWatch dashboard (only with monitoring).",
    "redis_endpoint": "Primary endpoint of Redis (only with the Redis PubSub adapter).",
    "redis_url_secret_arn": "Secret holding REDIS_URL (only with the Redis PubSub adapter).",
    # What another app (or stack) needs to join this app's network, listener, cluster, database.
    "vpc_cidr_block": "The VPC's CIDR.",
    "public_subnet_ids": "The public subnets (none with a network brought in without them).",
    "isolated_subnet_ids": "The subnets of the data stores.",
    "listener_arn": "The production listener (another app joins it for its own host).",
    "load_balancer_security_group_id": "The load balancer's security group.",
    "cluster_arn": "The ECS cluster's ARN.",
    "exec_key_arn": "The KMS key of the cluster's ECS Exec sessions.",
    "exec_log_group_arn": "The log group of the cluster's ECS Exec sessions.",
    "database_address": "PostgreSQL's host name.",
    "database_port": "PostgreSQL's port.",
    "database_resource_id": "The instance's DbiResourceId (rds-db:connect of other apps' roles).",
    "database_security_group_id": "The instance's security group.",
}
"""Every output an app exports, name → what it holds."""

OPTIONAL_OUTPUTS: frozenset[str] = frozenset(
    {"web_acl_arn", "alarm_topic_arn", "dashboard_name", "redis_endpoint", "redis_url_secret_arn"}
)
"""Outputs exported only when their part exists (firewall, monitoring, Redis)."""

RELEASE_OUTPUTS: frozenset[str] = frozenset(
    {
        "app_name",
        "url",
        "release_state",
        "target_group_arns",
        "cluster_name",
        "log_group_name",
        "slot_services",
        "slot_images",
        "socket_metric",
        "drain_parameters",
        "release_lock_table",
        "production_listener_arn",
        "slot_versions",
        "slot_alarms",
        "slot_autoscaling",
    }
)
"""What `python -m release` reads from a deployed stack (its lock, the release state it plans
from, status, health and capacity, smoke tests, the listener a rollback changes, the canary's
alarms, the drain, logs, the remote console)."""

STATE_OUTPUTS: frozenset[str] = frozenset(
    {"release_state", "availability_zones", "database_identity", "listener_rule_bands"}
)
"""What the program reads back from its own last deployment at the next `up`."""
