"""App nodes: the Cluster (discovery, secrets, IAM, logs) and the blue/green ReleaseSlots."""

from __future__ import annotations

import json

import harness
import pytest
from phoenix_aws.cluster import (
    Cluster,
    check_kms_key_arns,
    execution_role_policy,
    secret_resource_arn,
)
from phoenix_aws.fargate import service_replacement_reasons
from phoenix_aws.release_slot import (
    RESERVED_ENV_NAMES,
    ReleaseSlot,
    check_fargate_size,
    check_run_as_user,
    fargate_memory_options,
)
from phoenix_aws.validation import ComponentArgError
from tests_support import load_settings_with_edge

from stacks.settings import ConfigError

SQS_POLICY = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"


def container(run, slot="blue"):
    (definition,) = json.loads(run.named(f"slot-{slot}-task")["containerDefinitions"])
    return definition


def env(definition):
    return {e["name"]: e["value"] for e in definition["environment"]}


def secrets(definition):
    return {s["name"]: s["valueFrom"] for s in definition["secrets"]}


@pytest.fixture(scope="module")
def prod():
    config = harness.with_overrides(
        harness.stack_config("prod"), release={"green": {"desired_count": 2}}
    )
    return harness.run_main(config, stack="prod")


@pytest.fixture(scope="module")
def dev():
    return harness.run_main(harness.stack_config("dev"), stack="dev")


@pytest.fixture(scope="module")
def dev_redis():
    """dev with the Redis PubSub fallback (dev as shipped uses distributed Erlang)."""
    config = harness.with_overrides(
        harness.stack_config("dev"),
        pubsub={
            "adapter": "redis",
            "redis": {"node_type": "cache.t4g.micro", "replicas": 0, "automatic_failover": False},
        },
    )
    return harness.run_main(config, stack="dev")


# --- twelve-factor contract -----------------------------------------------------------------------


def test_reserved_environment_is_present_and_correct(prod):
    variables = env(container(prod, "green"))
    assert variables["PHX_HOST"] == "app.example.com"
    assert variables["PHX_SERVER"] == "true"
    assert variables["PORT"] == "4000"
    assert variables["DNS_CLUSTER_QUERY"] == "nodes.prod.phoenix-aws.internal"
    assert variables["RELEASE_DISTRIBUTION"] == "name"
    assert variables["RELEASE_NAME"] == "shop"
    assert variables["ERL_AFLAGS"] == "-kernel inet_dist_listen_min 9100 inet_dist_listen_max 9109"
    assert variables["RELEASE_SLOT"] == "green"
    assert variables["RELEASE_VERSION"] == "2026.11.13-2"
    assert variables["POOL_SIZE"] == "10"
    assert variables["DATABASE_HOST"].endswith(".rds.amazonaws.com")


def test_secrets_reach_the_task_only_through_the_secrets_mapping(prod):
    definition = container(prod)
    mapped = secrets(definition)
    assert set(mapped) == {"SECRET_KEY_BASE", "RELEASE_COOKIE", "SENTRY_DSN"}
    assert all(v.startswith("arn:aws") for v in mapped.values())
    assert not set(mapped) & set(env(definition))


def test_no_secret_value_in_any_environment(prod, dev, dev_redis):
    for run in (prod, dev, dev_redis):
        generated = {"R" * 64}  # what the mocked RandomPassword yields (cookie, Redis token)
        for slot in ("blue", "green"):
            if run.maybe(f"slot-{slot}-task") is None:
                continue
            variables = env(container(run, slot))
            for name, value in variables.items():
                assert not any(g in value for g in generated), name
                assert "rediss://" not in value and "password" not in name.lower()
                assert name not in {
                    "SECRET_KEY_BASE",
                    "RELEASE_COOKIE",
                    "DATABASE_PASSWORD",
                    "REDIS_URL",
                    "DATABASE_URL",
                }


def test_redis_url_is_a_secret_when_pubsub_is_redis(dev_redis):
    definition = container(dev_redis)
    assert secrets(definition)["REDIS_URL"] == harness.mock_arn(
        "aws:secretsmanager/secret:Secret", "pubsub-url"
    )
    assert env(definition)["PUBSUB_ADAPTER"] == "redis"


def test_generated_secrets_are_stored_only_as_secrets(prod):
    for name in ("cluster-secret-key-base-value", "cluster-release-cookie-value"):
        assert "secretString" in prod.named(name).secret_inputs
    assert prod.named("cluster-secret-key-base-random")["length"] >= 64
    assert prod.named("cluster-secret-key-base").protect is True


# --- task definition ------------------------------------------------------------------------------


def test_task_definition_is_fargate_sized_and_architecture_aware(prod):
    task = prod.named("slot-blue-task")
    assert (task["cpu"], task["memory"]) == ("1024", "2048")
    assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
    assert task["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    assert task["family"] == "phoenix-aws-prod-blue"


def test_container_runs_as_non_root_with_high_nofile_and_a_drain_window(prod):
    definition = container(prod)
    assert definition["user"] == "1000"
    assert {"name": "nofile", "softLimit": 65536, "hardLimit": 65536} in definition["ulimits"]
    assert definition["stopTimeout"] == 120
    assert definition["linuxParameters"]["initProcessEnabled"] is True
    assert definition["image"].endswith(
        "@sha256:9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"
    )


def test_container_logs_to_the_cluster_log_group(prod):
    options = container(prod)["logConfiguration"]["options"]
    assert container(prod)["logConfiguration"]["logDriver"] == "awslogs"
    assert options["awslogs-group"] == "/ecs/phoenix-aws-prod"
    assert options["awslogs-stream-prefix"] == "blue"
    assert prod.named("cluster-logs")["retentionInDays"] == 90


# --- service --------------------------------------------------------------------------------------


def test_service_sits_in_private_subnets_without_a_public_ip(prod):
    service = prod.named("slot-blue-service")
    network = service["networkConfiguration"]
    assert network["assignPublicIp"] is False
    assert network["subnets"] == [f"network-private-{i}-id" for i in range(3)]
    assert network["securityGroups"] == ["nodes-sg-id"]


def test_each_slot_registers_with_its_own_target_group_and_the_discovery_service(prod):
    for slot in ("blue", "green"):
        service = prod.named(f"slot-{slot}-service")
        (lb,) = service["loadBalancers"]
        assert lb["targetGroupArn"] == harness.mock_arn(
            "aws:lb/targetGroup:TargetGroup", f"edge-{slot}"
        )
        assert (lb["containerName"], lb["containerPort"]) == ("shop", 4000)
        assert service["serviceRegistries"]["registryArn"] == harness.mock_arn(
            "aws:servicediscovery/service:Service", "cluster-discovery-nodes"
        )


def test_service_deploys_safely_and_allows_ecs_exec(prod):
    service = prod.named("slot-blue-service")
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert (service["deploymentMinimumHealthyPercent"], service["deploymentMaximumPercent"]) == (
        100,
        200,
    )
    assert service["enableExecuteCommand"] is True
    assert service["healthCheckGracePeriodSeconds"] == 60
    assert service["desiredCount"] == 3
    assert service["availabilityZoneRebalancing"] == "ENABLED"
    assert service["waitForSteadyState"] is True


def test_autoscaling_floor_is_desired_count_and_ceiling_from_config(prod):
    target = prod.named("slot-blue-scaling")
    assert (target["minCapacity"], target["maxCapacity"]) == (3, 12)
    assert target["resourceId"] == "service/phoenix-aws-prod/phoenix-aws-prod-blue"
    cpu = prod.named("slot-blue-cpu-scaling")["targetTrackingScalingPolicyConfiguration"]
    assert (
        cpu["predefinedMetricSpecification"]["predefinedMetricType"]
        == "ECSServiceAverageCPUUtilization"
    )
    assert cpu["targetValue"] == 60
    assert (
        prod.named("slot-blue-memory-scaling")["targetTrackingScalingPolicyConfiguration"][
            "targetValue"
        ]
        == 75
    )


def test_idle_slot_may_run_zero_tasks(run_stack):
    run = run_stack("prod")
    assert run.named("slot-green-service")["desiredCount"] == 0
    assert (
        run.named("slot-green-scaling")["minCapacity"],
        run.named("slot-green-scaling")["maxCapacity"],
    ) == (0, 0)


def test_a_slot_without_an_image_is_not_created(dev):
    assert dev.maybe("slot-green-service") is None
    assert dev.named("slot-blue-service")["desiredCount"] == 1


# --- security group -------------------------------------------------------------------------------


def node_rules(run, kind):
    token = f"aws:vpc/securityGroup{kind}Rule:SecurityGroup{kind}Rule"
    return [r for r in run.of_type(token) if r["securityGroupId"] == "nodes-sg-id"]


def test_nodes_accept_only_the_alb_on_the_app_port_and_each_other_on_beam_ports(prod):
    seen = {
        (r.get("referencedSecurityGroupId"), r["fromPort"], r["toPort"])
        for r in node_rules(prod, "Ingress")
    }
    assert seen == {
        ("edge-sg-id", 4000, 4000),
        ("nodes-sg-id", 4369, 4369),
        ("nodes-sg-id", 9100, 9109),
    }
    assert not any(r.get("cidrIpv4") or r.get("cidrIpv6") for r in node_rules(prod, "Ingress"))


def test_epmd_and_distribution_are_only_ever_self_referencing(prod, dev):
    for run in (prod, dev):
        for kind in ("Ingress", "Egress"):
            for rule in run.of_type(f"aws:vpc/securityGroup{kind}Rule:SecurityGroup{kind}Rule"):
                touches_beam = rule["fromPort"] <= 4369 <= rule["toPort"] or (
                    rule["fromPort"] <= 9109 and rule["toPort"] >= 9100
                )
                if touches_beam:
                    assert (
                        rule["securityGroupId"]
                        == rule["referencedSecurityGroupId"]
                        == "nodes-sg-id"
                    ), rule.name


def test_node_egress_only_where_needed(dev_redis):
    seen = {
        (r.get("referencedSecurityGroupId") or r.get("cidrIpv4"), r["ipProtocol"], r["fromPort"])
        for r in node_rules(dev_redis, "Egress")
    }
    assert seen == {
        ("0.0.0.0/0", "tcp", 443),
        ("10.40.0.0/16", "udp", 53),
        ("10.40.0.0/16", "tcp", 53),
        ("nodes-sg-id", "tcp", 4369),
        ("nodes-sg-id", "tcp", 9100),
        ("database-sg-id", "tcp", 5432),
        ("pubsub-sg-id", "tcp", 6379),
    }


# --- cluster --------------------------------------------------------------------------------------


def test_cluster_has_container_insights_and_exec_logging(prod):
    cluster = prod.named("cluster-ecs")
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]


def test_every_ecs_exec_session_is_recorded_in_an_encrypted_log_group(prod):
    """ECS Exec logging OVERRIDE to a CloudWatch log group encrypted with a KMS key whose policy
    lets CloudWatch Logs use it for that group; the task role may write there
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html#ecs-exec-logging)."""
    config = prod.named("cluster-ecs")["configuration"]["executeCommandConfiguration"]
    key_arn = harness.mock_arn("aws:kms/key:Key", "cluster-exec-key")
    assert config["logging"] == "OVERRIDE"
    assert config["kmsKeyId"] == key_arn
    assert config["logConfiguration"] == {
        "cloudWatchLogGroupName": "/ecs/phoenix-aws-prod/exec",
        "cloudWatchEncryptionEnabled": True,
    }
    group = prod.named("cluster-exec-logs")
    assert group["kmsKeyId"] == key_arn and group["retentionInDays"] == 90
    key_policy = json.loads(prod.named("cluster-exec-key")["policy"])
    logs = [s for s in key_policy["Statement"] if "Service" in s["Principal"]]
    assert logs[0]["Principal"] == {"Service": f"logs.{harness.REGION}.amazonaws.com"}
    assert logs[0]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"].endswith(
        ":log-group:/ecs/phoenix-aws-prod/exec"
    )
    task = json.loads(prod.named("cluster-task-policy")["policy"])
    by_sid = {st["Sid"]: st for st in task["Statement"]}
    assert by_sid["EcsExecSessionKey"]["Resource"] == key_arn
    assert (
        harness.mock_arn("aws:cloudwatch/logGroup:LogGroup", "cluster-exec-logs")
        in by_sid["EcsExecLogging"]["Resource"]
    )


def test_discovery_is_a_private_namespace_with_multivalue_a_records(prod):
    namespace = prod.named("cluster-namespace")
    assert namespace["vpc"] == "network-vpc-id"
    assert namespace["name"] == "prod.phoenix-aws.internal"
    service = prod.named("cluster-discovery-nodes")
    assert service["dnsConfig"]["routingPolicy"] == "MULTIVALUE"
    assert service["dnsConfig"]["dnsRecords"] == [{"type": "A", "ttl": 10}]


def test_discovery_per_slot_isolates_blue_from_green(run_stack):
    run = run_stack(
        "prod", cluster={"discovery": "per_slot"}, release={"green": {"desired_count": 2}}
    )
    assert (
        env(container(run, "blue"))["DNS_CLUSTER_QUERY"] == "nodes-blue.prod.phoenix-aws.internal"
    )
    assert (
        env(container(run, "green"))["DNS_CLUSTER_QUERY"] == "nodes-green.prod.phoenix-aws.internal"
    )
    assert run.named("slot-green-service")["serviceRegistries"]["registryArn"].endswith(
        "cluster-discovery-nodes-green"
    )


def test_execution_role_reads_exactly_the_app_secrets(prod):
    policy = json.loads(prod.named("cluster-execution-policy")["policy"])
    (read,) = [s for s in policy["Statement"] if s["Sid"] == "ReadAppSecrets"]
    assert sorted(read["Resource"]) == sorted(
        [
            harness.mock_arn("aws:secretsmanager/secret:Secret", "cluster-secret-key-base"),
            harness.mock_arn("aws:secretsmanager/secret:Secret", "cluster-release-cookie"),
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/sentry-dsn-AbCdEf",
        ]
    )
    logs = next(s for s in policy["Statement"] if s["Sid"] == "WriteLogs")
    assert (
        logs["Resource"]
        == harness.mock_arn("aws:cloudwatch/logGroup:LogGroup", "cluster-logs") + ":*"
    )


def test_only_the_admin_execution_role_reads_the_database_master_secret(prod):
    master = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!database-instance"

    def readable(policy_name):
        policy = json.loads(prod.named(policy_name)["policy"])
        return {
            r for st in policy["Statement"] if st["Sid"] == "ReadAppSecrets" for r in st["Resource"]
        }

    assert master not in readable("cluster-execution-policy")
    assert master in readable("cluster-admin-execution-policy")
    for slot in ("blue", "green"):
        service_task = prod.named(f"slot-{slot}-task")
        admin_task = prod.named(f"slot-{slot}-admin-task")
        assert service_task["executionRoleArn"] == harness.mock_arn(
            "aws:iam/role:Role", "cluster-execution-role"
        )
        assert admin_task["executionRoleArn"] == harness.mock_arn(
            "aws:iam/role:Role", "cluster-admin-execution-role"
        )
        (admin,) = json.loads(admin_task["containerDefinitions"])
        assert {s["name"]: s["valueFrom"] for s in admin["secrets"]}[
            "DATABASE_PASSWORD"
        ] == master + ":password::"
        assert (
            env(admin)["DATABASE_AUTH"] == "password"
            and env(admin)["DATABASE_APP_USER"] == "shop_app"
        )
        assert "DATABASE_USERNAME" not in env(admin)


def test_task_role_has_exactly_what_the_app_needs(prod):
    """ECS Exec channels (and its key and log group), `rds-db:connect` as the app role on this
    database only, `ssm:GetParameter` on the slots' drain switches only, and `ecs:DescribeTasks`
    on this cluster's tasks only (a stopping node's drain)."""
    task_role, exec_role = prod.named("cluster-task-role"), prod.named("cluster-execution-role")
    assert task_role["name"] != exec_role["name"]
    policy = json.loads(prod.named("cluster-task-policy")["policy"])
    by_sid = {st["Sid"]: st for st in policy["Statement"]}
    assert set(by_sid) == {
        "EcsExecChannels",
        "EcsExecSessionKey",
        "EcsExecLogging",
        "EcsExecLogGroups",
        "DatabaseLogin",
        "DrainSwitch",
        "DrainStoppingTasks",
    }
    assert all(a.startswith("ssmmessages:") for a in by_sid["EcsExecChannels"]["Action"])
    cluster_arn = harness.mock_arn("aws:ecs/cluster:Cluster", "cluster-ecs")
    assert by_sid["DrainStoppingTasks"] == {
        "Sid": "DrainStoppingTasks",
        "Effect": "Allow",
        "Action": "ecs:DescribeTasks",
        # DescribeTasks' resource: arn:<partition>:ecs:<region>:<account>:task/<cluster name>/*
        "Resource": f"arn:aws:ecs:{harness.REGION}:{harness.ACCOUNT_ID}:task/"
        f"{prod.named('cluster-ecs')['name']}/*",
        "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}},
    }
    assert by_sid["DatabaseLogin"] == {
        "Sid": "DatabaseLogin",
        "Effect": "Allow",
        "Action": "rds-db:connect",
        "Resource": [
            f"arn:aws:rds-db:{harness.REGION}:{harness.ACCOUNT_ID}:dbuser:db-DATABASEINSTANCE/shop_app"
        ],
    }
    assert by_sid["DrainSwitch"]["Action"] == "ssm:GetParameter"
    assert sorted(by_sid["DrainSwitch"]["Resource"]) == sorted(
        harness.mock_arn("aws:ssm/parameter:Parameter", f"cluster-drain-{slot}")
        for slot in ("blue", "green")
    )
    assert prod.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == [
        r
        for r in prod.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.name == "database-monitoring-policy"
    ]
    definition = prod.named("slot-blue-task")
    assert definition["taskRoleArn"] == harness.mock_arn("aws:iam/role:Role", "cluster-task-role")
    assert definition["executionRoleArn"] == harness.mock_arn(
        "aws:iam/role:Role", "cluster-execution-role"
    )


def test_task_role_gets_extra_policies_from_config(run_stack):
    run = run_stack("prod", app={"task_role_policy_arns": [SQS_POLICY]})
    attachment = run.named("cluster-task-policy-0")
    assert attachment["policyArn"] == SQS_POLICY


def test_secret_resource_arn_strips_json_keys():
    arn = "arn:aws:secretsmanager:eu-west-1:1:secret:rds!db-abc"
    assert secret_resource_arn(f"{arn}:password::") == arn
    assert secret_resource_arn(arn) == arn
    policy = execution_role_policy(
        [f"{arn}:username::", f"{arn}:password::", "arn:aws:ssm:eu-west-1:1:parameter/x"], "lg", []
    )
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert sids["ReadAppSecrets"]["Resource"] == [arn]
    assert sids["ReadAppParameters"]["Resource"] == ["arn:aws:ssm:eu-west-1:1:parameter/x"]


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu", "memory"), [(256, 512), (512, 4096), (1024, 8192), (4096, 30720), (16384, 122880)]
)
def test_valid_fargate_sizes(cpu, memory):
    check_fargate_size(cpu, memory)
    assert memory in fargate_memory_options(cpu)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"app": {"name": "shop", "cpu": 300}},
            "phoenix-aws:app.cpu: Fargate CPU sizes are 256, 512, 1024, 2048, 4096, 8192 and 16384 units (got 300)",
        ),
        (
            {"app": {"name": "shop", "cpu": 256, "memory": 4096}},
            "phoenix-aws:app.memory: with cpu 256 Fargate takes memory of one of 512, 1024, 2048 MiB (got 4096)",
        ),
        (
            {"app": {"name": "shop", "cpu": 1024, "memory": 1024}},
            "phoenix-aws:app.memory: with cpu 1024 Fargate takes memory of 2048-8192 in steps of 1024 MiB (got 1024)",
        ),
        (
            {"app": {"name": "shop", "env": {"PHX_HOST": "x"}}},
            "phoenix-aws:app.env: 'PHX_HOST' is set by phoenix-aws and cannot be overridden (got {PHX_HOST: …})",
        ),
        (
            {"app": {"name": "shop", "env": {"AWS_REGION": "x"}}},
            "phoenix-aws:app.env: 'AWS_REGION' is set by phoenix-aws and cannot be overridden (got {AWS_REGION: …})",
        ),
        (
            {"app": {"name": "shop", "env": {"pool-size": "1"}}},
            "phoenix-aws:app.env: 'pool-size' is not a valid environment variable name (A-Z, 0-9, _) (got {pool-size: …})",
        ),
        (
            {"app": {"name": "shop", "secrets": {"SECRET_KEY_BASE": "arn:aws:secretsmanager:x"}}},
            "phoenix-aws:app.secrets: 'SECRET_KEY_BASE' is set by phoenix-aws and cannot be overridden (got a value that is not shown)",
        ),
        (
            {"app": {"name": "shop", "secrets": {"SENTRY_DSN": "https://abc@sentry.io/1"}}},
            "phoenix-aws:app.secrets: SENTRY_DSN: expected the full ARN of a Secrets Manager secret or SSM parameter, e.g. arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/sentry-dsn-AbCdEf (got a value that is not shown)",
        ),
        (
            {"app": {"name": "shop", "run_as_user": "root"}},
            "phoenix-aws:app.run_as_user: the app must not run as root",
        ),
        (
            {"app": {"name": "Shop"}},
            "phoenix-aws:app.name: expected an OTP release name: lower-case letters, digits and underscores, starting with a letter (as in mix.exs) (got 'Shop')",
        ),
        (
            {"app": {"name": "shop", "stop_timeout_seconds": 300}},
            "phoenix-aws:app.stop_timeout_seconds: Fargate allows 2-120 seconds (got 300)",
        ),
        (
            {"cluster": {"distribution_port_min": 4000, "distribution_port_max": 5000}},
            "phoenix-aws:cluster.distribution_port_max: the range must not include EPMD (4369) (got '4000-5000')",
        ),
        (
            {"release": {"live": "blue", "blue": {"desired_count": 2}}},
            "phoenix-aws:release.blue.image: a slot with tasks needs an image (got null)",
        ),
        (
            {"release": {"live": "blue", "blue": {"image": "shop:latest", "desired_count": 2}}},
            "phoenix-aws:release.blue.image: expected an image pinned by digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:<64 hex> (got 'shop:latest')",
        ),
    ],
)
def test_bad_node_config_is_rejected_with_a_clear_message(raw, expected):
    with pytest.raises(ConfigError) as info:
        load_settings_with_edge(raw)
    assert info.value.problems == [expected]


def test_production_needs_two_live_tasks():
    from tests_support import IMAGE

    with pytest.raises(ConfigError) as info:
        load_settings_with_edge(
            {"release": {"live": "blue", "blue": {"image": IMAGE, "desired_count": 1}}}
        )
    assert info.value.problems == [
        "phoenix-aws:release.blue.desired_count: production runs at least 2 live tasks (two AZs, so one restart is no outage) (got 1)"
    ]


def test_reserved_names_cover_the_contract():
    assert {
        "PHX_HOST",
        "PORT",
        "SECRET_KEY_BASE",
        "RELEASE_COOKIE",
        "DATABASE_URL",
        "REDIS_URL",
        "DNS_CLUSTER_QUERY",
        "ERL_AFLAGS",
    } <= RESERVED_ENV_NAMES


SLOT_ARGS = {
    "name_parts": ["a", "b"],
    "slot": "blue",
    "app_name": "shop",
    "image": "registry.example.com/shop@sha256:" + "a" * 64,
    "release_version": "1",
    "cluster_arn": "c",
    "cluster_name": "c",
    "subnet_ids": [],
    "security_group_ids": [],
    "target_group_arn": "t",
    "discovery_service_arn": "d",
    "dns_cluster_query": "q",
    "execution_role_arn": "e",
    "task_role_arn": "r",
    "log_group_name": "l",
    "phx_host": "h",
    "secrets": {},
}


@pytest.mark.parametrize(("before", "after"), [(False, True), (True, False)])
def test_turning_spot_on_or_off_updates_the_live_service_in_place(before, after):
    """The diff of the slot's service between two runs (Spot off, then on, and back), judged by
    terraform-provider-aws's own rule for aws_ecs_service (its ForceNew arguments and
    capacityProviderStrategyCustomizeDiff): the strategy changes, and the service is updated in
    place (a new deployment), not replaced, which a fixed-name service would not survive."""

    def service(spot: bool) -> dict:
        run = harness.run(lambda: ReleaseSlot("s", {**SLOT_ARGS, "spot": spot}))
        return run.named("s-service").inputs

    old, new = service(before), service(after)
    assert old["capacityProviderStrategies"] != new["capacityProviderStrategies"]
    assert service_replacement_reasons(old, new) == []
    # The rule really bites: without forceNewDeployment the same change replaces the service.
    assert service_replacement_reasons(old, {**new, "forceNewDeployment": False}) == [
        "capacityProviderStrategies (without forceNewDeployment)"
    ]
    assert service_replacement_reasons(old, {**new, "name": "other"}) == ["name"]


# AWS's table of Fargate task sizes, every row as the page gives it (CPU units -> memory MiB):
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_TABLE = {
    256: [512, 1024, 2048],
    512: [1024 * g for g in range(1, 5)],  # 1-4 GB in 1 GB steps
    1024: [1024 * g for g in range(2, 9)],  # 2-8 GB in 1 GB steps
    2048: [1024 * g for g in range(4, 17)],  # 4-16 GB in 1 GB steps
    4096: [1024 * g for g in range(8, 31)],  # 8-30 GB in 1 GB steps
    8192: [1024 * g for g in range(16, 61, 4)],  # 16-60 GB in 4 GB steps
    16384: [1024 * g for g in range(32, 121, 8)],  # 32-120 GB in 8 GB steps
}


@pytest.mark.parametrize("cpu", sorted(FARGATE_TABLE))
def test_every_row_of_the_fargate_size_table_is_accepted_and_nothing_else(cpu):
    allowed = FARGATE_TABLE[cpu]
    assert fargate_memory_options(cpu) == allowed
    for memory in allowed:
        check_fargate_size(cpu, memory)
    for memory in range(256, 131072 + 1, 256):
        if memory not in allowed:
            with pytest.raises(ValueError, match=f"with cpu {cpu} Fargate takes memory"):
                check_fargate_size(cpu, memory)


@pytest.mark.parametrize("cpu", [128, 384, 768, 3072, 32768, 0, -256])
def test_cpu_sizes_outside_the_fargate_table_are_refused(cpu):
    with pytest.raises(ValueError, match="Fargate CPU sizes are 256, 512, 1024"):
        check_fargate_size(cpu, 2048)


@pytest.mark.parametrize("user", ["0", "root", "0:0", "1000:0", "1000:root", "app:0", "4294967295"])
def test_a_user_is_checked_with_its_group(user):
    """Never root, nor the root group (0:0 is root; 1000:0 writes what root's group may)."""
    with pytest.raises(ValueError):
        check_run_as_user(user)


@pytest.mark.parametrize("user", ["1000", "1000:1000", "app", "app:app", "nobody:65534"])
def test_non_root_users_and_groups_are_accepted(user):
    assert check_run_as_user(user) == user


def test_components_reject_bad_sizes_and_root_directly():
    common = {
        "name_parts": ["a", "b"],
        "slot": "blue",
        "app_name": "shop",
        "image": "registry.example.com/shop@sha256:" + "a" * 64,
        "release_version": "1",
        "cluster_arn": "c",
        "cluster_name": "c",
        "subnet_ids": [],
        "security_group_ids": [],
        "target_group_arn": "t",
        "discovery_service_arn": "d",
        "dns_cluster_query": "q",
        "execution_role_arn": "e",
        "task_role_arn": "r",
        "log_group_name": "l",
        "phx_host": "h",
        "secrets": {},
    }
    with pytest.raises(ComponentArgError, match="with cpu 512 Fargate takes"):
        harness.run(lambda: ReleaseSlot("s", {**common, "cpu": 512, "memory": 512}))
    with pytest.raises(ComponentArgError, match="root"):
        harness.run(lambda: ReleaseSlot("s", {**common, "run_as_user": "0"}))
    with pytest.raises(ComponentArgError, match="Fargate allows 2-120"):
        harness.run(lambda: ReleaseSlot("s", {**common, "stop_timeout_seconds": 300}))
    with pytest.raises(ComponentArgError, match="did you mean 'desired_count'"):
        harness.run(lambda: ReleaseSlot("s", {**common, "desired_cout": 2}))


def test_cluster_component_is_usable_alone():
    run = harness.run(lambda: Cluster("c", {"name_parts": ["shop", "prod"], "vpc_id": "vpc-1"}))
    assert run.named("c-namespace")["name"] == "prod.shop.internal"
    assert run.named("c-ecs")["name"] == "shop-prod"


def test_logical_names_are_unique_per_program(prod):
    names = [r.name for r in prod.resources]
    assert len(names) == len(set(names))


def closure(run, resource) -> set[str]:
    """Names of everything `resource` waits for, transitively (dependencies and their parents'
    children, as the engine orders them)."""
    seen: set[str] = set()
    pending = list(resource.dependencies)
    while pending:
        urn = pending.pop()
        if urn in seen:
            continue
        seen.add(urn)
        found = [r for r in run.resources if r.urn == urn]
        if found:
            pending.extend(found[0].dependencies)
        pending.extend(r.urn for r in run.resources if r.parent == urn)
    return {r.name for r in run.resources if r.urn in seen}


def test_every_secret_a_task_reads_has_its_value_before_the_task_definition(dev_redis):
    """REDIS_URL's version waits for the Redis endpoint; a task definition that referenced the
    secret as soon as it existed started tasks that failed with ResourceInitializationError
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/troubleshoot-task-init-errors.html).
    Every generated secret the slots read (REDIS_URL, SECRET_KEY_BASE, RELEASE_COOKIE) is
    waited for with its value."""
    versions = {
        r.name.removesuffix("-value"): r.name
        for r in dev_redis.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    }
    assert {"pubsub-url", "cluster-secret-key-base", "cluster-release-cookie"} <= set(versions)
    for task in dev_redis.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        waits_for = closure(dev_redis, task)
        for secret, version in versions.items():
            if secret in waits_for:
                assert version in waits_for, (task.name, secret)
        assert "pubsub-url-value" in waits_for, task.name


def test_ecs_roles_trust_ecs_only_for_this_accounts_tasks_in_this_region(prod):
    """Confused deputy (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html):
    the task role and both execution roles are assumable by ECS only for this account's tasks."""
    for role in ("cluster-task-role", "cluster-execution-role", "cluster-admin-execution-role"):
        (statement,) = json.loads(prod.named(role)["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": harness.ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{harness.REGION}:{harness.ACCOUNT_ID}:*"},
        }


def test_secrets_under_a_customer_managed_key_are_decryptable_with_exactly_that_key():
    """ECS reads a secret encrypted with a customer-managed key only if the execution role may
    kms:Decrypt with it (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html#secrets-iam).
    The grant names exactly the given keys and holds only through Secrets Manager or SSM."""
    key = "arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    policy = execution_role_policy(
        ["arn:aws:secretsmanager:eu-west-1:111122223333:secret:shop/x-AbCdEf"],
        "arn:aws:logs:eu-west-1:111122223333:log-group:/ecs/shop",
        [],
        [key],
        "eu-west-1",
    )
    (decrypt,) = [st for st in policy["Statement"] if "kms:Decrypt" in str(st["Action"])]
    assert decrypt["Resource"] == [key]
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": [
                "secretsmanager.eu-west-1.amazonaws.com",
                "ssm.eu-west-1.amazonaws.com",
            ]
        }
    }
    plain = execution_role_policy(["arn:aws:ssm:eu-west-1:1:parameter/x"], "l", [])
    assert not [st for st in plain["Statement"] if "kms" in str(st["Action"])]
    with pytest.raises(ValueError, match="expected the full ARN of a KMS key"):
        check_kms_key_arns(["alias/shop-secrets"])
