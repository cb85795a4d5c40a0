"""The migration helper against a stubbed boto3 ECS/Logs client: exit codes, log tails, timeouts."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber
from phoenix_aws.helpers.migrate_task import (
    MigrationError,
    MigrationRequest,
    log_stream_name,
    main,
    run_migration,
)

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:" + "a" * 64
TASK_DEF = "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-prod-green:7"
TASK = "arn:aws:ecs:eu-west-1:123456789012:task/shop-prod/0123456789abcdef"
REQUEST = MigrationRequest(
    cluster="shop-prod",
    task_family="shop-prod-green",
    container="shop",
    image=IMAGE,
    command='bin/shop eval "Shop.Release.migrate()"',
    subnets=["subnet-a", "subnet-b"],
    security_groups=["sg-nodes"],
    log_group="/ecs/shop-prod",
    log_prefix="green",
    region="eu-west-1",
    timeout_seconds=60,
)


def clients():
    session = boto3.session.Session(
        region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    ecs, logs = session.client("ecs"), session.client("logs")
    return ecs, Stubber(ecs), logs, Stubber(logs)


def expect_start(stub, image=IMAGE):
    stub.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": TASK_DEF,
                "containerDefinitions": [{"name": "shop", "image": image}],
            }
        },
        {"taskDefinition": "shop-prod-green"},
    )
    if image != IMAGE:
        return
    no_migration_running(stub)
    stub.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []},
        {
            "cluster": "shop-prod",
            "taskDefinition": TASK_DEF,
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
            "count": 1,
            "startedBy": "phoenix-aws-migrate",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": ["subnet-a", "subnet-b"],
                    "securityGroups": ["sg-nodes"],
                    "assignPublicIp": "DISABLED",
                }
            },
            "overrides": {
                "containerOverrides": [
                    {"name": "shop", "command": ["bin/shop", "eval", "Shop.Release.migrate()"]}
                ]
            },
        },
    )


def no_migration_running(stub):
    """ListTasks: no task started by the migration helper runs in the cluster."""
    stub.add_response(
        "list_tasks",
        {"taskArns": []},
        {"cluster": "shop-prod", "startedBy": "phoenix-aws-migrate", "desiredStatus": "RUNNING"},
    )


def task_status(status, exit_code=None, reason=None):
    container = {"name": "shop"}
    if exit_code is not None:
        container["exitCode"] = exit_code
    if reason:
        container["reason"] = reason
    return {
        "tasks": [
            {
                "taskArn": TASK,
                "lastStatus": status,
                "containers": [container],
                "stoppedReason": "Essential container in task exited",
            }
        ],
        "failures": [],
    }


def expect_logs(stub, lines):
    stub.add_response(
        "get_log_events",
        {"events": [{"timestamp": 1, "message": m, "ingestionTime": 1} for m in lines]},
        {
            "logGroupName": "/ecs/shop-prod",
            "logStreamName": "green/shop/0123456789abcdef",
            "limit": 40,
            "startFromHead": False,
        },
    )


def test_successful_migration_polls_until_stopped_and_reports_exit_0():
    ecs, ecs_stub, logs, logs_stub = clients()
    expect_start(ecs_stub)
    ecs_stub.add_response(
        "describe_tasks", task_status("RUNNING"), {"cluster": "shop-prod", "tasks": [TASK]}
    )
    ecs_stub.add_response(
        "describe_tasks", task_status("STOPPED", 0), {"cluster": "shop-prod", "tasks": [TASK]}
    )
    slept = []
    with ecs_stub, logs_stub:
        summary = run_migration(ecs, logs, REQUEST, sleep=slept.append, clock=lambda: 0)
    assert summary.startswith("migration ok: task 0123456789abcdef")
    assert slept == [6.0]
    ecs_stub.assert_no_pending_responses()


def test_non_zero_exit_fails_with_the_log_tail():
    ecs, ecs_stub, logs, logs_stub = clients()
    expect_start(ecs_stub)
    ecs_stub.add_response(
        "describe_tasks", task_status("STOPPED", 1), {"cluster": "shop-prod", "tasks": [TASK]}
    )
    expect_logs(
        logs_stub,
        ['** (Postgrex.Error) ERROR 42P07 relation "users" already exists', "migration failed"],
    )
    with ecs_stub, logs_stub, pytest.raises(MigrationError) as info:
        run_migration(ecs, logs, REQUEST, sleep=lambda s: None, clock=lambda: 0)
    message = str(info.value)
    assert "exited with 1" in message
    assert 'relation "users" already exists' in message


def test_a_task_that_never_started_its_container_fails_with_the_reason():
    ecs, ecs_stub, logs, logs_stub = clients()
    expect_start(ecs_stub)
    ecs_stub.add_response(
        "describe_tasks",
        task_status("STOPPED", reason="CannotPullContainerError: not found"),
        {"cluster": "shop-prod", "tasks": [TASK]},
    )
    expect_logs(logs_stub, [])
    with ecs_stub, logs_stub, pytest.raises(MigrationError, match="CannotPullContainerError"):
        run_migration(ecs, logs, REQUEST, sleep=lambda s: None, clock=lambda: 0)


def test_timeout_stops_the_task_and_fails():
    ecs, ecs_stub, logs, logs_stub = clients()
    expect_start(ecs_stub)
    ecs_stub.add_response(
        "describe_tasks", task_status("RUNNING"), {"cluster": "shop-prod", "tasks": [TASK]}
    )
    ecs_stub.add_response(
        "stop_task",
        {"task": {"taskArn": TASK}},
        {"cluster": "shop-prod", "task": TASK, "reason": ANY},
    )
    expect_logs(logs_stub, ["still migrating..."])
    times = iter([0, 61])
    with ecs_stub, logs_stub, pytest.raises(MigrationError, match="after 60 s; stopped it"):
        run_migration(ecs, logs, REQUEST, sleep=lambda s: None, clock=lambda: next(times))
    ecs_stub.assert_no_pending_responses()


def test_refuses_to_migrate_with_a_task_definition_of_another_image():
    ecs, ecs_stub, logs, _ = clients()
    expect_start(ecs_stub, image="other@sha256:" + "f" * 64)
    with ecs_stub, pytest.raises(MigrationError, match="expected " + IMAGE.split("@")[0]):
        run_migration(ecs, logs, REQUEST)


def test_start_failures_are_reported():
    ecs, ecs_stub, logs, _ = clients()
    ecs_stub.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": TASK_DEF,
                "containerDefinitions": [{"name": "shop", "image": IMAGE}],
            }
        },
    )
    no_migration_running(ecs_stub)
    ecs_stub.add_response(
        "run_task", {"tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:ENI"}]}
    )
    with ecs_stub, pytest.raises(MigrationError, match="RESOURCE:ENI"):
        run_migration(ecs, logs, REQUEST)


def test_request_from_environment_names_missing_variables():
    with pytest.raises(MigrationError, match="MIGRATION_CLUSTER"):
        MigrationRequest.from_environment({})


def test_log_stream_follows_the_awslogs_naming():
    assert log_stream_name(REQUEST, "abc") == "green/shop/abc"


def test_main_exits_1_with_the_reason_on_stderr(monkeypatch, capsys):
    for key in list(__import__("os").environ):
        if key.startswith("MIGRATION_"):
            monkeypatch.delenv(key)
    assert main() == 1
    assert "phoenix-aws: migration failed: missing environment" in capsys.readouterr().err


def test_the_migration_runs_in_the_stacks_region_not_the_operators(monkeypatch, capsys):
    """An operator whose profile points at another Region (us-east-1 here) still migrates the
    stack's cluster: the helper builds its clients for MIGRATION_REGION. moto keeps Regions apart
    as AWS does, so the task definition exists only in the stack's Region."""
    from moto import mock_aws

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with mock_aws():
        ecs = boto3.client("ecs", region_name="eu-west-1")
        ecs.create_cluster(clusterName="shop-prod")
        ecs.register_task_definition(
            family="shop-prod-green-admin",
            containerDefinitions=[{"name": "shop", "image": IMAGE, "memory": 512}],
        )
        environment = {
            "MIGRATION_CLUSTER": "shop-prod",
            "MIGRATION_TASK_FAMILY": "shop-prod-green-admin",
            "MIGRATION_CONTAINER": "shop",
            "MIGRATION_IMAGE": IMAGE,
            "MIGRATION_COMMAND": "bin/shop eval Shop.Release.migrate()",
            "MIGRATION_SUBNETS": "subnet-a",
            "MIGRATION_SECURITY_GROUPS": "sg-nodes",
            "MIGRATION_LOG_GROUP": "/ecs/shop-prod",
            "MIGRATION_LOG_PREFIX": "green",
            "MIGRATION_TIMEOUT": "0",  # moto never stops a task: give up at once, after starting
        }
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("MIGRATION_REGION", raising=False)
        assert main() == 1
        assert "MIGRATION_REGION" in capsys.readouterr().err  # never a silent default

        monkeypatch.setenv("MIGRATION_REGION", "eu-west-1")
        assert main() == 1
        error = capsys.readouterr().err
        # It found the stack's task definition and started the task there (moto leaves it
        # running, so the zero timeout stops it): the Region was the stack's.
        assert "still" in error and "stopped it" in error, error
        started = ecs.list_tasks(cluster="shop-prod", desiredStatus="STOPPED")["taskArns"]
        assert len(started) == 1
        assert boto3.client("ecs", region_name="us-east-1").list_clusters()["clusterArns"] == []


# --- never on Spot, never twice, one at a time ----------------------------------------------------

OTHER = "arn:aws:ecs:eu-west-1:123456789012:task/shop-prod/fedcba9876543210"
COMMAND = ["bin/shop", "eval", "Shop.Release.migrate()"]


def describe_definition(stub):
    stub.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": TASK_DEF,
                "containerDefinitions": [{"name": "shop", "image": IMAGE}],
            }
        },
        {"taskDefinition": "shop-prod-green"},
    )


def running_migrations(stub, *tasks):
    """ListTasks and DescribeTasks: these migration tasks still run (arn, task definition)."""
    stub.add_response(
        "list_tasks",
        {"taskArns": [arn for arn, _ in tasks]},
        {"cluster": "shop-prod", "startedBy": "phoenix-aws-migrate", "desiredStatus": "RUNNING"},
    )
    stub.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": arn,
                    "taskDefinitionArn": definition,
                    "lastStatus": "RUNNING",
                    "startedBy": "phoenix-aws-migrate",
                    "overrides": {"containerOverrides": [{"name": "shop", "command": COMMAND}]},
                }
                for arn, definition in tasks
            ]
        },
        {"cluster": "shop-prod", "tasks": [arn for arn, _ in tasks]},
    )


def test_a_resumed_up_re_attaches_to_its_migration_instead_of_starting_another():
    """The `up` that started the task was killed; the next one waits for that same task."""
    ecs, ecs_stub, logs, _ = clients()
    describe_definition(ecs_stub)
    running_migrations(ecs_stub, (TASK, TASK_DEF))
    ecs_stub.add_response("describe_tasks", task_status("RUNNING"))
    ecs_stub.add_response("describe_tasks", task_status("STOPPED", exit_code=0))
    with ecs_stub:
        line = run_migration(ecs, logs, REQUEST, sleep=lambda s: None)
    ecs_stub.assert_no_pending_responses()  # and no RunTask
    assert line.startswith("migration ok: task 0123456789abcdef")


def test_another_migration_still_running_is_waited_for_and_never_stopped():
    ecs, ecs_stub, logs, _ = clients()
    describe_definition(ecs_stub)
    other_definition = TASK_DEF.replace("green:7", "blue:3")
    running_migrations(ecs_stub, (OTHER, other_definition))
    for status in ("RUNNING", "STOPPED"):
        ecs_stub.add_response(
            "describe_tasks",
            {"tasks": [{"taskArn": OTHER, "lastStatus": status}]},
            {"cluster": "shop-prod", "tasks": [OTHER]},
        )
    # RunTask only after the other stopped: the Stubber answers calls strictly in this order.
    ecs_stub.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []},
    )
    ecs_stub.add_response("describe_tasks", task_status("STOPPED", exit_code=0))
    slept = []
    with ecs_stub:
        run_migration(ecs, logs, REQUEST, sleep=slept.append)
    ecs_stub.assert_no_pending_responses()
    assert slept == [6.0]


def test_a_migration_that_outlasts_the_other_is_not_started_at_all():
    ecs, ecs_stub, logs, _ = clients()
    describe_definition(ecs_stub)
    running_migrations(ecs_stub, (OTHER, TASK_DEF.replace("green:7", "blue:3")))
    now = [0.0]
    for _ in range(3):
        ecs_stub.add_response(
            "describe_tasks",
            {"tasks": [{"taskArn": OTHER, "lastStatus": "RUNNING"}]},
            {"cluster": "shop-prod", "tasks": [OTHER]},
        )

    def sleep(seconds):
        now[0] += 30

    with ecs_stub, pytest.raises(MigrationError, match="two migrations never run at once"):
        run_migration(ecs, logs, REQUEST, sleep=sleep, clock=lambda: now[0])


def test_a_migration_never_runs_on_fargate_spot():
    from dataclasses import replace

    ecs, _, logs, _ = clients()
    spot = replace(REQUEST, capacity_provider="FARGATE_SPOT")
    with pytest.raises(MigrationError, match="not FARGATE_SPOT"):
        run_migration(ecs, logs, spot)
    env = {
        "MIGRATION_CLUSTER": "c",
        "MIGRATION_TASK_FAMILY": "f",
        "MIGRATION_CONTAINER": "shop",
        "MIGRATION_IMAGE": IMAGE,
        "MIGRATION_COMMAND": "bin/shop eval x",
        "MIGRATION_SUBNETS": "s",
        "MIGRATION_SECURITY_GROUPS": "g",
        "MIGRATION_LOG_GROUP": "l",
        "MIGRATION_LOG_PREFIX": "green",
        "MIGRATION_CAPACITY_PROVIDER": "FARGATE_SPOT",
        "MIGRATION_REGION": "eu-west-1",
    }
    with pytest.raises(MigrationError, match="Spot interruption"):
        MigrationRequest.from_environment(env)
