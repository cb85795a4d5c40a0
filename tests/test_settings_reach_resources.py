"""Every setting a stack file can hold reaches the resource it is for.

One run of the program with every setting away from its default (valid for production), and a
table: setting → where it must show up. A settings section that drops a field on its way to its
component (say `edge.idle_timeout_seconds`) fails here, whatever the component does with it.
"""

import json
from typing import Any

import harness
import pytest

from stacks.settings import StackSettings

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/phoenix-aws-prod@sha256:" + "c" * 64
SENTRY = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/sentry-AbCdEf"
POLICY = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"
SECRETS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"

NON_DEFAULT = {
    "network": {
        "cidr": "10.55.0.0/16",
        "az_count": 2,
        "nat": "single",
        "interface_endpoints": ["logs", "sts"],
        "flow_logs_retention_days": 60,
        "peer_cidrs": ["10.99.0.0/16"],
    },
    "database": {
        "engine_version": "16.4",
        "instance_class": "db.r7g.large",
        "allocated_storage_gb": 50,
        "max_allocated_storage_gb": 500,
        "name": "shopdb",
        "master_username": "shop_admin",
        "backup_retention_days": 21,
        "performance_insights": False,
        "monitoring_interval_seconds": 30,
        "slow_query_ms": 250,
        "deletion_protection": False,
        "skip_final_snapshot": True,
        "protect": False,
        "allow_major_version_upgrade": True,
        "log_retention_days": 60,
    },
    "pubsub": {
        "adapter": "redis",
        "redis": {
            "node_type": "cache.r7g.large",
            "replicas": 2,
            "engine_version": "7.0",
            "snapshot_retention_days": 3,
            "maintenance_window": "tue:04:30-tue:06:00",
            "protect": False,
        },
    },
    "edge": {
        "ingress_cidrs": ["198.51.100.0/24"],
        "idle_timeout_seconds": 300,
        "load_balancing_algorithm": "round_robin",
        "slow_start_seconds": 60,
        "deregistration_delay_seconds": 90,
        "health_check": {
            "path": "/up",
            "interval_seconds": 30,
            "timeout_seconds": 10,
            "healthy_threshold": 3,
            "unhealthy_threshold": 4,
            "matcher": "200-299",
        },
        "enable_stickiness": True,
        "test_header": "X-Slot",
        "operator_cidrs": ["192.0.2.0/24"],
        "deletion_protection": False,
        "desync_mitigation_mode": "strictest",
        "access_logs_retention_days": 30,
        "waf": {"rate_limit": 500, "rate_limit_window_seconds": 60, "logging": False},
    },
    "app": {
        "port": 4100,
        "cpu": 1024,
        "memory": 4096,
        "cpu_architecture": "X86_64",
        "env": {"POOL_SIZE": "25"},
        "secrets": {"SENTRY_DSN": SENTRY},
        "secret_kms_key_arns": [SECRETS_KEY],
        "stop_timeout_seconds": 100,
        "health_check_grace_period_seconds": 90,
        "run_as_user": "1001",
        "cpu_target_percent": 50,
        "memory_target_percent": 70,
        "task_role_policy_arns": [POLICY],
        "release_module": "Shop.Ops",
        "migration_timeout_seconds": 1200,
        "wait_for_steady_state": False,
    },
    "cluster": {
        "namespace": "nodes.shop.internal",
        "discovery": "per_slot",
        "distribution_port_min": 9200,
        "distribution_port_max": 9210,
        "log_retention_days": 60,
        "container_insights": False,
        "protect_secrets": False,
    },
    "image": {"keep_last": 5, "protect": False},
    "monitoring": {"alarm_emails": ["ops@example.com"], "target_5xx_per_minute": 3},
    "release": {
        "live": "green",
        "canary_percent": 20,
        "drain_window_seconds": 120,
        "capacity_timeout_seconds": 300,
        "protect_lock_table": False,
        "blue": {
            "image": IMAGE,
            "desired_count": 2,
            "max_count": 4,
            "version": "old-1",
            "draining": False,
            "spot": True,
        },
        "green": {
            "image": IMAGE.replace("c" * 64, "d" * 64),
            "desired_count": 3,
            "max_count": 9,
            "version": "new-2",
        },
    },
    "tags": {"owner": "web-team"},
}


@pytest.fixture(scope="module")
def run():
    config = harness.with_overrides(harness.stack_config("prod"), **NON_DEFAULT)
    return harness.run_main(config, stack="prod")


def at(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, str) and value[:1] in "[{":
            value = json.loads(value)
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def container(run, slot="green"):
    (definition,) = json.loads(run.named(f"slot-{slot}-task")["containerDefinitions"])
    return definition


def env(run, slot="green"):
    return {e["name"]: e["value"] for e in container(run, slot)["environment"]}


# setting path → (resource name, input path, expected) or a callable check on the run
WHERE = {
    "network.cidr": ("network-vpc", "cidrBlock", "10.55.0.0/16"),
    "network.az_count": lambda r: len(r.of_type("aws:ec2/subnet:Subnet")) == 2 * 3,  # prod: 3
    "network.nat": lambda r: len(r.of_type("aws:ec2/natGateway:NatGateway")) == 1,
    "network.interface_endpoints": lambda r: r.maybe("network-endpoint-sts") is not None,
    "network.flow_logs_retention_days": ("network-flow-logs", "retentionInDays", 60),
    "database.engine_version": ("database-instance", "engineVersion", "16.4"),
    "database.instance_class": ("database-instance", "instanceClass", "db.r7g.large"),
    "database.allocated_storage_gb": ("database-instance", "allocatedStorage", 50),
    "database.max_allocated_storage_gb": ("database-instance", "maxAllocatedStorage", 500),
    "database.name": ("database-instance", "dbName", "shopdb"),
    "database.master_username": ("database-instance", "username", "shop_admin"),
    "database.backup_retention_days": ("database-instance", "backupRetentionPeriod", 21),
    "database.performance_insights": ("database-instance", "performanceInsightsEnabled", False),
    "database.monitoring_interval_seconds": ("database-instance", "monitoringInterval", 30),
    "database.slow_query_ms": ("database-params", "parameters.1.value", "250"),
    "database.deletion_protection": ("database-instance", "deletionProtection", False),
    "database.skip_final_snapshot": ("database-instance", "skipFinalSnapshot", True),
    "database.protect": lambda r: r.named("database-instance").protect is False,
    "database.allow_major_version_upgrade": ("database-instance", "allowMajorVersionUpgrade", True),
    "database.log_retention_days": ("database-log-postgresql", "retentionInDays", 60),
    "pubsub.adapter": lambda r: env(r)["PUBSUB_ADAPTER"] == "redis",
    "pubsub.redis.node_type": ("pubsub-redis", "nodeType", "cache.r7g.large"),
    "pubsub.redis.replicas": ("pubsub-redis", "numCacheClusters", 3),
    "pubsub.redis.engine_version": ("pubsub-redis", "engineVersion", "7.0"),
    "pubsub.redis.snapshot_retention_days": ("pubsub-redis", "snapshotRetentionLimit", 3),
    "pubsub.redis.maintenance_window": ("pubsub-redis", "maintenanceWindow", "tue:04:30-tue:06:00"),
    "pubsub.redis.protect": lambda r: r.named("pubsub-redis").protect is False,
    "edge.ingress_cidrs": ("edge-in-443-198-51-100-0-24", "cidrIpv4", "198.51.100.0/24"),
    "edge.idle_timeout_seconds": lambda r: (
        r.named("edge-alb")["idleTimeout"] == 300
        and env(r)["LOAD_BALANCER_IDLE_TIMEOUT_SECONDS"] == "300"
    ),
    "edge.load_balancing_algorithm": ("edge-blue", "loadBalancingAlgorithmType", "round_robin"),
    "edge.slow_start_seconds": ("edge-green", "slowStart", 60),
    "edge.deregistration_delay_seconds": lambda r: (
        r.named("edge-blue")["deregistrationDelay"] == 90
        and env(r)["DEREGISTRATION_DELAY_SECONDS"] == "90"
    ),
    "edge.health_check.path": ("edge-blue", "healthCheck.path", "/up"),
    "edge.health_check.interval_seconds": ("edge-blue", "healthCheck.interval", 30),
    "edge.health_check.timeout_seconds": ("edge-blue", "healthCheck.timeout", 10),
    "edge.health_check.healthy_threshold": ("edge-blue", "healthCheck.healthyThreshold", 3),
    "edge.health_check.unhealthy_threshold": ("edge-blue", "healthCheck.unhealthyThreshold", 4),
    "edge.health_check.matcher": ("edge-blue", "healthCheck.matcher", "200-299"),
    "edge.enable_stickiness": ("edge-blue", "stickiness.enabled", True),
    "edge.test_header": (
        "edge-rule-test-green-0",
        "conditions.0.httpHeader.httpHeaderName",
        "X-Slot",
    ),
    "edge.operator_cidrs": (
        "edge-rule-test-green-0",
        "conditions.1.sourceIp.values",
        ["192.0.2.0/24"],
    ),
    "edge.deletion_protection": ("edge-alb", "enableDeletionProtection", False),
    "edge.desync_mitigation_mode": ("edge-alb", "desyncMitigationMode", "strictest"),
    "edge.access_logs_retention_days": ("edge-logs-lifecycle", "rules.0.expiration.days", 30),
    "edge.waf.rate_limit": lambda r: any(
        rule.get("statement", {}).get("rateBasedStatement", {}).get("limit") == 500
        for rule in r.of_type("aws:wafv2/webAcl:WebAcl")[0]["rules"]
    ),
    "edge.waf.rate_limit_window_seconds": lambda r: any(
        rule.get("statement", {}).get("rateBasedStatement", {}).get("evaluationWindowSec") == 60
        for rule in r.of_type("aws:wafv2/webAcl:WebAcl")[0]["rules"]
    ),
    "edge.waf.logging": lambda r: (
        not (r.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"))
    ),
    "app.port": lambda r: env(r)["PORT"] == "4100" and r.named("edge-blue")["port"] == 4100,
    "app.cpu": ("slot-green-task", "cpu", "1024"),
    "app.memory": ("slot-green-task", "memory", "4096"),
    "app.cpu_architecture": ("slot-green-task", "runtimePlatform.cpuArchitecture", "X86_64"),
    "app.env": lambda r: env(r)["POOL_SIZE"] == "25",
    "app.secrets": lambda r: {"name": "SENTRY_DSN", "valueFrom": SENTRY} in container(r)["secrets"],
    "app.stop_timeout_seconds": lambda r: container(r)["stopTimeout"] == 100,
    "app.health_check_grace_period_seconds": (
        "slot-green-service",
        "healthCheckGracePeriodSeconds",
        90,
    ),
    "app.run_as_user": lambda r: container(r)["user"] == "1001",
    "app.cpu_target_percent": (
        "slot-green-cpu-scaling",
        "targetTrackingScalingPolicyConfiguration.targetValue",
        50,
    ),
    "app.memory_target_percent": (
        "slot-green-memory-scaling",
        "targetTrackingScalingPolicyConfiguration.targetValue",
        70,
    ),
    "app.task_role_policy_arns": ("cluster-task-policy-0", "policyArn", POLICY),
    "app.secret_kms_key_arns": lambda r: any(
        st.get("Action") == "kms:Decrypt" and st.get("Resource") == [SECRETS_KEY]
        for st in json.loads(r.named("cluster-execution-policy")["policy"])["Statement"]
    ),
    "app.release_module": (
        "slot-green-migrate-run",
        "environment.MIGRATION_COMMAND",
        'bin/shop eval "Shop.Ops.migrate()"',
    ),
    "app.migration_timeout_seconds": (
        "slot-green-migrate-run",
        "environment.MIGRATION_TIMEOUT",
        "1200",
    ),
    "app.wait_for_steady_state": ("slot-green-service", "waitForSteadyState", False),
    "cluster.namespace": ("cluster-namespace", "name", "nodes.shop.internal"),
    "cluster.discovery": lambda r: env(r)["DNS_CLUSTER_QUERY"] == "nodes-green.nodes.shop.internal",
    "cluster.distribution_port_min": lambda r: "inet_dist_listen_min 9200" in env(r)["ERL_AFLAGS"],
    "cluster.distribution_port_max": lambda r: "inet_dist_listen_max 9210" in env(r)["ERL_AFLAGS"],
    "cluster.log_retention_days": ("cluster-logs", "retentionInDays", 60),
    "cluster.container_insights": ("cluster-ecs", "settings.0.value", "disabled"),
    "cluster.protect_secrets": lambda r: r.named("cluster-secret-key-base").protect is False,
    "image.keep_last": ("image-lifecycle", "policy.rules.1.selection.countNumber", 5),
    "image.protect": lambda r: r.named("image-repo").protect is False,
    "monitoring.alarm_emails": ("monitoring-email-0", "endpoint", "ops@example.com"),
    "monitoring.target_5xx_per_minute": ("monitoring-target-5xx", "threshold", 3),
    "release.live": lambda r: r.exports["live_slot"] == "green",
    "release.canary_percent": lambda r: (
        {t["weight"] for t in r.named("traffic-live")["actions"][0]["forward"]["targetGroups"]}
        == {80, 20}
    ),
    "release.drain_window_seconds": lambda r: (
        r.exports["release_state"]["blue"]["draining"] is False
        and r.exports["release_state"]["drain_window_seconds"] == 120
        and json.loads(r.named("cluster-drain-blue")["value"]) == {"shed": False}
    ),
    "release.capacity_timeout_seconds": lambda r: (
        r.exports["release_state"]["capacity_timeout_seconds"] == 300
    ),
    "release.protect_lock_table": lambda r: (
        r.named("release-lock-table").protect is False
        and r.named("release-lock-table")["deletionProtectionEnabled"] is False
    ),
    "release.blue.image": lambda r: container(r, "blue")["image"] == IMAGE,
    "release.blue.desired_count": ("slot-blue-scaling", "minCapacity", 2),
    "release.blue.max_count": ("slot-blue-scaling", "maxCapacity", 4),
    "release.blue.version": lambda r: env(r, "blue")["RELEASE_VERSION"] == "old-1",
    "release.blue.spot": (
        "slot-blue-service",
        "capacityProviderStrategies.0.capacityProvider",
        "FARGATE_SPOT",
    ),
    "tags": ("network-vpc", "tags.owner", "web-team"),
}


def leaves(model: type, prefix: str = "") -> list[str]:
    """Every setting path of the model (nested sections expanded)."""
    found = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        inner = getattr(annotation, "model_fields", None)
        if inner is not None:
            found += leaves(annotation, f"{prefix}{name}.")
        else:
            found.append(f"{prefix}{name}")
    return found


@pytest.mark.parametrize("setting", sorted(WHERE))
def test_a_non_default_setting_reaches_its_resource(run, setting):
    where = WHERE[setting]
    if callable(where):
        assert where(run), setting
        return
    name, path, expected = where
    assert at(run.named(name).inputs, path) == expected


def test_the_run_really_moves_every_listed_setting_off_its_default():
    settings = StackSettings.model_validate(
        {
            k.split(":", 1)[1]: v
            for k, v in harness.with_overrides(harness.stack_config("prod"), **NON_DEFAULT).items()
            if k.startswith("phoenix-aws:")
        }
    )
    defaults = StackSettings.model_validate(
        {
            "edge": {
                "domain": "app.example.com",
                "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/x",
            },
            "app": {"name": "shop"},
            "release": {"blue": {"image": IMAGE, "desired_count": 2}},
        }
    )
    for setting in WHERE:
        if setting.startswith("release.") or setting == "tags":
            continue
        value, default = settings, defaults
        for part in setting.split("."):
            value, default = getattr(value, part), getattr(default, part)
        assert value != default, f"{setting} is at its default in the run"


COVERED_ELSEWHERE = {
    # validation-only or stage settings, each with a test of its own
    "stage": "tests/test_settings.py (stage defaults)",
    "network.availability_zones": "tests/test_network.py (pinned zones)",
    "network.nat_instance_type": "tests/test_network.py (NAT instance)",
    "network.enable_flow_logs": "tests/test_network.py (flow logs switch)",
    "network.peer_cidrs": "validation only (no resource): tests/test_settings.py",
    "database.multi_az": "tests/test_data_services.py (dev opts out)",
    "database.allow_replacement": "tests/test_data_services.py (replacement guard)",
    "pubsub.redis.enabled": "tests/test_data_services.py (Redis alongside Erlang)",
    "pubsub.redis.automatic_failover": "tests/test_data_services.py",
    "edge.domain": "tests/test_load_balancer.py (certificate and alias)",
    "edge.hosted_zone_id": "tests/test_load_balancer.py (certificate and alias)",
    "edge.certificate_arn": "tests/test_load_balancer.py (HTTPS listener)",
    "edge.plain_http_only": "tests/test_load_balancer.py (plain HTTP mode)",
    "edge.path_allow_lists": "tests/test_load_balancer.py (allow lists)",
    "edge.access_logs": "tests/test_program.py (local turns it off)",
    "edge.waf.enabled": "tests/test_waf.py and the production default",
    "edge.waf.path_rate_limits": "tests/test_waf.py",
    "edge.waf.count_only_common_rules": "tests/test_waf.py",
    "edge.waf.log_all_requests": "tests/test_waf.py",
    "edge.waf.log_retention_days": "tests/test_waf.py",
    "app.name": "every test (the release name)",
    "app.autoscaling": "tests/test_program.py (local stack)",
    "app.migrate_command": "tests/test_release_gate.py (custom command)",
    "app.enable_migrations": "tests/test_program.py (local stack)",
    "image.context": "tests/test_image.py (build)",
    "image.dockerfile": "tests/test_image.py (build)",
    "image.build_args": "tests/test_image.py (build)",
    "image.target": "tests/test_image.py (build)",
    "monitoring.enabled": "tests/test_monitoring.py (switch off)",
    "release.promoting": "tests/test_release_gate.py",
    "release.in_progress": "tests/test_release_truth.py (written by the release command)",
    "release.blue.run_migrations": "tests/test_release_gate.py",
    "release.blue.draining": "tests/test_nodes.py (drain switch)",
    "release.green.image": "same fields as release.blue",
    "release.green.desired_count": "same fields as release.blue",
    "release.green.max_count": "same fields as release.blue",
    "release.green.version": "same fields as release.blue",
    "release.green.run_migrations": "same fields as release.blue",
    "release.green.draining": "same fields as release.blue",
    "release.green.spot": "same fields as release.blue",
}


def test_every_setting_is_checked_here_or_named_with_the_test_that_checks_it():
    missing = sorted(set(leaves(StackSettings)) - set(WHERE) - set(COVERED_ELSEWHERE))
    assert missing == [], f"settings nobody checks reach their resource: {missing}"
