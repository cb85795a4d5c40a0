"""The operator's daily loop: tail the app's logs, open a remote console on a running node.

- `logs`: CloudWatch Logs FilterLogEvents on the app's log group (`log_group_name` output); a slot's
  streams are `<slot>/<app>/<task id>` (the awslogs prefix is the slot name). `--follow` polls from
  the last event's timestamp, skipping events already shown.
- `console`: a remote IEx (`bin/<app> remote`) on a running task of the slot through ECS Exec:
  `aws ecs execute-command --interactive`, which needs the AWS CLI and its Session Manager plugin.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

from release.waits import utc

LOGS_POLL_SECONDS = 5
"""How often `logs --follow` asks for new events."""
LOGS_OVERLAP_MS = 5000
"""Each follow poll looks this far behind the newest event shown (late events of other streams)."""

SESSION_MANAGER_PLUGIN_URL = (
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
    "session-manager-working-with-install-plugin.html"
)
AWS_CLI_URL = "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"


class OpsError(RuntimeError):
    """The logs or console command cannot run; the message says what to do."""


class MissingToolError(OpsError):
    """A local tool (AWS CLI, Session Manager plugin) is not installed."""


def format_event(event: dict[str, Any]) -> str:
    stamp = utc(event["timestamp"] / 1000).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return f"{stamp} {event.get('logStreamName', '-')} {event['message'].rstrip()}"


def _events(logs: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every event of one FilterLogEvents query, page by page (nextToken)."""
    token: str | None = None
    while True:
        page = logs.filter_log_events(**request, **({"nextToken": token} if token else {}))
        yield from page.get("events", [])
        token = page.get("nextToken")
        if not token:
            return


def tail_logs(
    logs: Any,
    group: str,
    *,
    slot: str | None,
    start_ms: int,
    follow: bool,
    echo: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    poll: float = LOGS_POLL_SECONDS,
    max_polls: int | None = None,
) -> int:
    """Print the group's events since `start_ms` (one slot's streams with `slot`); with `follow`,
    keep polling from the newest timestamp seen. Returns how many events were printed.

    Each poll starts `LOGS_OVERLAP_MS` before the newest event shown, so an event that reaches
    CloudWatch a little late from another stream is still shown; event ids already shown in that
    overlap are skipped.
    """
    request: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    if slot:
        request["logStreamNamePrefix"] = f"{slot}/"
    shown: dict[str, int] = {}  # event id → timestamp, for the overlap of the next poll
    newest = start_ms
    printed = 0
    polls = 0
    while True:
        for event in _events(logs, dict(request)):
            if event["eventId"] in shown:
                continue
            echo(format_event(event))
            printed += 1
            shown[event["eventId"]] = event["timestamp"]
            newest = max(newest, event["timestamp"])
        polls += 1
        if not follow or (max_polls is not None and polls >= max_polls):
            return printed
        request["startTime"] = max(start_ms, newest - LOGS_OVERLAP_MS)
        shown = {k: t for k, t in shown.items() if t >= request["startTime"]}
        sleep(poll)


def pick_task(ecs: Any, cluster: str, service: str, slot: str) -> str:
    """A running task of the slot's service that has the ECS Exec agent running."""
    arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="RUNNING")["taskArns"]
    if not arns:
        raise OpsError(f"slot {slot} ({service}) has no running task to open a console on")
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns[:100])["tasks"]
    for task in tasks:
        agents = [
            agent
            for container in task.get("containers", [])
            for agent in container.get("managedAgents", [])
            if agent.get("name") == "ExecuteCommandAgent"
        ]
        if (
            task.get("lastStatus") == "RUNNING"
            and task.get("enableExecuteCommand")
            and any(agent.get("lastStatus") == "RUNNING" for agent in agents)
        ):
            return str(task["taskArn"])
    raise OpsError(
        f"no running task of slot {slot} has ECS Exec ready (enableExecuteCommand and a running "
        "ExecuteCommandAgent); tasks started before ECS Exec was enabled need a restart"
    )


def console_command(cluster: str, task: str, app: str, region: str | None) -> list[str]:
    command = [
        "aws", "ecs", "execute-command",
        "--cluster", cluster,
        "--task", task,
        "--container", app,
        "--interactive",
        "--command", f"bin/{app} remote",
    ]  # fmt: skip
    if region:
        command += ["--region", region]
    return command


def open_console(
    ecs: Any,
    *,
    cluster: str,
    service: str,
    slot: str,
    app: str,
    region: str | None,
    which: Callable[[str], str | None] = shutil.which,
    run: Callable[..., Any] = subprocess.run,
    echo: Callable[[str], None] = print,
) -> int:
    """Open `bin/<app> remote` on a running task of the slot; returns the session's exit code."""
    if not which("aws"):
        raise MissingToolError(
            "the AWS CLI (v2) is not installed or not on PATH; ECS Exec runs through "
            f"`aws ecs execute-command`. Install it: {AWS_CLI_URL}"
        )
    if not which("session-manager-plugin"):
        raise MissingToolError(
            "the Session Manager plugin for the AWS CLI is not installed or not on PATH; "
            f"`aws ecs execute-command` needs it for the interactive session. Install it: "
            f"{SESSION_MANAGER_PLUGIN_URL}"
        )
    task = pick_task(ecs, cluster, service, slot)
    command = console_command(cluster, task, app, region)
    echo(
        f"opening a remote console on {task.rsplit('/', 1)[-1]} (slot {slot}): {' '.join(command)}"
    )
    return int(run(command, check=False).returncode)
