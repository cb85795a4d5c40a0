"""The operator's daily loop: `logs` (CloudWatch Logs FilterLogEvents, through botocore's Stubber)
and `console` (ECS ListTasks/DescribeTasks through the Stubber, then a fake `aws` on PATH).

AWS docs: CloudWatch Logs API Reference, FilterLogEvents (startTime in ms, logStreamNamePrefix,
nextToken paging); Amazon ECS Developer Guide, "Monitor Amazon ECS containers with ECS Exec"
(`aws ecs execute-command --interactive` needs the Session Manager plugin for the AWS CLI).
"""

from __future__ import annotations

import pytest
from release_support import START, Command, FakeClock, StubbedAws, project_copy

from release.ops import (
    MissingToolError,
    OpsError,
    console_command,
    open_console,
    pick_task,
    tail_logs,
)

GROUP = "/ecs/phoenix-aws-prod"
T0 = int(START * 1000)
CLUSTER = "phoenix-aws-prod"
SERVICE = "shop-prod-green"
TASK = "arn:aws:ecs:eu-west-1:123456789012:task/phoenix-aws-prod/0a1b2c3d4e5f"


def event(n: int, ms: int, stream: str = "green/shop/0a1b2c3d4e5f") -> dict:
    return {
        "eventId": f"e{n}",
        "timestamp": ms,
        "ingestionTime": ms + 200,
        "logStreamName": stream,
        "message": f"line {n}\n",
    }


def expect_page(aws, request, events, token=None):
    response = {"events": events, "searchedLogStreams": []}
    if token:
        response["nextToken"] = token
    aws.stub("logs").add_response("filter_log_events", response, request)


def test_logs_print_every_page_of_one_slot_s_streams_in_order():
    aws, lines = StubbedAws(), []
    request = {"logGroupName": GROUP, "startTime": T0, "logStreamNamePrefix": "green/"}
    expect_page(aws, request, [event(1, T0 + 1000)], token="page-2")
    expect_page(aws, {**request, "nextToken": "page-2"}, [event(2, T0 + 2000)])
    count = tail_logs(
        aws("logs"), GROUP, slot="green", start_ms=T0, follow=False, echo=lines.append
    )
    assert count == 2
    assert lines == [
        "2026-11-24T10:00:01.000Z green/shop/0a1b2c3d4e5f line 1",
        "2026-11-24T10:00:02.000Z green/shop/0a1b2c3d4e5f line 2",
    ]
    aws.assert_no_pending_responses()


def test_logs_without_a_slot_read_the_whole_group():
    aws, lines = StubbedAws(), []
    expect_page(aws, {"logGroupName": GROUP, "startTime": T0}, [event(1, T0, "blue/shop/x")])
    tail_logs(aws("logs"), GROUP, slot=None, start_ms=T0, follow=False, echo=lines.append)
    assert lines == ["2026-11-24T10:00:00.000Z blue/shop/x line 1"]


def test_follow_polls_from_the_newest_event_and_never_prints_one_twice():
    aws, clock, lines = StubbedAws(), FakeClock(), []
    base = {"logGroupName": GROUP, "logStreamNamePrefix": "green/"}
    expect_page(aws, {**base, "startTime": T0}, [event(1, T0 + 9000), event(2, T0 + 10000)])
    # The next poll looks 5 s behind the newest event: event 2 comes again, a late event 3 of
    # another stream (timestamp before event 2) is new.
    expect_page(
        aws,
        {**base, "startTime": T0 + 5000},
        [event(2, T0 + 10000), event(3, T0 + 9500, "green/shop/ffff"), event(4, T0 + 12000)],
    )
    expect_page(aws, {**base, "startTime": T0 + 7000}, [event(4, T0 + 12000)])
    count = tail_logs(
        aws("logs"),
        GROUP,
        slot="green",
        start_ms=T0,
        follow=True,
        echo=lines.append,
        sleep=clock.sleep,
        max_polls=3,
    )
    assert count == 4
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["1", "2", "3", "4"]
    assert clock.slept == [5, 5]
    aws.assert_no_pending_responses()


def test_the_logs_command_reads_the_log_group_output_and_the_since_window(tmp_path):
    command = Command(project_copy(tmp_path))
    since = T0 - 15 * 60 * 1000
    expect_page(
        command.aws,
        {"logGroupName": GROUP, "startTime": since, "logStreamNamePrefix": "blue/"},
        [event(1, since + 1, "blue/shop/a")],
    )
    assert command("prod", "logs", "--slot", "blue", "--since", "15m") == 0, command.errors
    assert command.out == ["2026-11-24T09:45:00.001Z blue/shop/a line 1"]


def test_a_bad_since_value_is_a_usage_error(tmp_path):
    command = Command(project_copy(tmp_path))
    assert command("prod", "logs", "--since", "yesterday") == 2
    assert "argument --since" in command.err[0]


# --- console --------------------------------------------------------------------------------------


def task(arn=TASK, status="RUNNING", exec_enabled=True, agent="RUNNING") -> dict:
    return {
        "taskArn": arn,
        "lastStatus": status,
        "enableExecuteCommand": exec_enabled,
        "containers": [
            {
                "name": "shop",
                "managedAgents": [{"name": "ExecuteCommandAgent", "lastStatus": agent}],
            }
        ],
    }


def expect_tasks(aws, tasks):
    arns = [t["taskArn"] for t in tasks]
    aws.stub("ecs").add_response(
        "list_tasks",
        {"taskArns": arns},
        {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "RUNNING"},
    )
    if arns:
        aws.stub("ecs").add_response(
            "describe_tasks", {"tasks": tasks, "failures": []}, {"cluster": CLUSTER, "tasks": arns}
        )


def test_the_console_picks_a_running_task_whose_exec_agent_runs():
    aws = StubbedAws()
    other = TASK.replace("0a1b", "9999")
    expect_tasks(aws, [task(other, agent="PENDING"), task()])
    assert pick_task(aws("ecs"), CLUSTER, SERVICE, "green") == TASK


def test_a_slot_without_running_tasks_has_no_console():
    aws = StubbedAws()
    expect_tasks(aws, [])
    with pytest.raises(OpsError, match=r"slot green .* has no running task"):
        pick_task(aws("ecs"), CLUSTER, SERVICE, "green")


def test_tasks_without_ecs_exec_are_explained():
    aws = StubbedAws()
    expect_tasks(aws, [task(exec_enabled=False)])
    with pytest.raises(OpsError, match="has ECS Exec ready"):
        pick_task(aws("ecs"), CLUSTER, SERVICE, "green")


def test_the_console_command_is_the_documented_ecs_exec_call():
    assert console_command(CLUSTER, TASK, "shop", "eu-west-1") == [
        "aws", "ecs", "execute-command",
        "--cluster", CLUSTER,
        "--task", TASK,
        "--container", "shop",
        "--interactive",
        "--command", "bin/shop remote",
        "--region", "eu-west-1",
    ]  # fmt: skip


@pytest.fixture
def tools(tmp_path, monkeypatch):
    """A bin directory on PATH (alone) where tests put a fake `aws` and the plugin, or not."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "aws-calls"
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("FAKE_AWS_LOG", str(log))

    def install(name: str, script: str) -> None:
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{script}\n")
        path.chmod(0o755)

    install.log = log  # type: ignore[attr-defined]
    return install


def console(aws, **kwargs):
    lines: list[str] = []
    code = open_console(
        aws("ecs"),
        cluster=CLUSTER,
        service=SERVICE,
        slot="green",
        app="shop",
        region="eu-west-1",
        echo=lines.append,
        **kwargs,
    )
    return code, lines


def test_the_console_runs_aws_ecs_execute_command_on_the_chosen_task(tools):
    tools("aws", 'printf "%s\\n" "$@" > "$FAKE_AWS_LOG"; exit 0')
    tools("session-manager-plugin", "exit 0")
    aws = StubbedAws()
    expect_tasks(aws, [task()])
    code, lines = console(aws)
    assert code == 0
    assert (
        tools.log.read_text().splitlines()
        == console_command(CLUSTER, TASK, "shop", "eu-west-1")[1:]
    )
    assert lines[0].startswith("opening a remote console on 0a1b2c3d4e5f (slot green)")


def test_the_console_returns_the_session_s_exit_code(tools):
    tools("aws", "exit 7")
    tools("session-manager-plugin", "exit 0")
    aws = StubbedAws()
    expect_tasks(aws, [task()])
    assert console(aws)[0] == 7


def test_a_missing_session_manager_plugin_is_named_with_where_to_get_it(tools):
    tools("aws", "exit 0")
    with pytest.raises(MissingToolError) as missing:
        console(StubbedAws())
    assert "the Session Manager plugin for the AWS CLI is not installed" in str(missing.value)
    assert "session-manager-working-with-install-plugin.html" in str(missing.value)
    assert not tools.log.exists()


def test_a_missing_aws_cli_is_named_with_where_to_get_it(tools):
    with pytest.raises(MissingToolError, match=r"the AWS CLI \(v2\) is not installed"):
        console(StubbedAws())


def test_the_console_command_exits_2_when_the_plugin_is_missing(tmp_path, tools):
    tools("aws", "exit 0")
    command = Command(project_copy(tmp_path))
    assert command("prod", "console", "--slot", "green") == 2
    assert command.err[0].startswith(
        "phoenix-aws release: the Session Manager plugin for the AWS CLI is not installed"
    )


def test_the_console_command_opens_the_live_slot_by_default(tmp_path, tools):
    tools("aws", 'printf "%s\\n" "$@" > "$FAKE_AWS_LOG"')
    tools("session-manager-plugin", "exit 0")
    command = Command(project_copy(tmp_path))
    command.stack.stack_outputs["release_state"] = {"live": "green"}
    expect_tasks(command.aws, [task()])
    assert command("prod", "console") == 0, command.errors
    assert f"--task\n{TASK}\n" in tools.log.read_text()
