"""Run a release's migrations as a one-off ECS task and fail loudly if they fail.

Started by the Migration component through pulumi-command with `MIGRATION_*` environment
variables, `MIGRATION_REGION` among them: the clients use the stack's Region, never the Region of
the operator's profile or shell (`AWS_REGION`, `~/.aws/config`), which may be another one.
Exit 0 only when the task's container exited 0; otherwise print why, with the last lines of the
task's log, and exit 1 so `pulumi up` stops before traffic moves.

- Never on Fargate Spot: Spot may stop a task at any time with a two-minute warning
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html),
  and a migration stopped half way can leave a schema no release expects.
- One migration at a time per cluster, and never the same one twice: a migration task started
  earlier (an `up` that was killed while it waited) is re-attached to when it runs the same task
  definition and command; any other migration still running is waited for before this one starts.
  Tasks are found with ListTasks by their `startedBy` (`phoenix-aws-migrate`).
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STARTED_BY = "phoenix-aws-migrate"
LOG_TAIL_LINES = 40
CAPACITY_PROVIDER = "FARGATE"
"""Migrations run on on-demand Fargate only (see the module docstring)."""


class MigrationError(Exception):
    """The migration did not run to a zero exit; the message says why (with the log tail)."""


@dataclass(frozen=True)
class MigrationRequest:
    cluster: str
    task_family: str
    container: str
    image: str
    command: str
    subnets: list[str]
    security_groups: list[str]
    log_group: str
    log_prefix: str
    region: str
    timeout_seconds: int = 900
    capacity_provider: str = CAPACITY_PROVIDER

    @classmethod
    def from_environment(cls, env: dict[str, str]) -> MigrationRequest:
        missing = [
            key
            for key in (
                "MIGRATION_CLUSTER",
                "MIGRATION_TASK_FAMILY",
                "MIGRATION_CONTAINER",
                "MIGRATION_IMAGE",
                "MIGRATION_COMMAND",
                "MIGRATION_SUBNETS",
                "MIGRATION_SECURITY_GROUPS",
                "MIGRATION_LOG_GROUP",
                "MIGRATION_LOG_PREFIX",
                "MIGRATION_REGION",
            )
            if not env.get(key)
        ]
        if missing:
            raise MigrationError(f"missing environment: {', '.join(missing)}")
        return cls(
            cluster=env["MIGRATION_CLUSTER"],
            task_family=env["MIGRATION_TASK_FAMILY"],
            container=env["MIGRATION_CONTAINER"],
            image=env["MIGRATION_IMAGE"],
            command=env["MIGRATION_COMMAND"],
            subnets=env["MIGRATION_SUBNETS"].split(","),
            security_groups=env["MIGRATION_SECURITY_GROUPS"].split(","),
            log_group=env["MIGRATION_LOG_GROUP"],
            log_prefix=env["MIGRATION_LOG_PREFIX"],
            region=env["MIGRATION_REGION"],
            timeout_seconds=int(env.get("MIGRATION_TIMEOUT", "900")),
            capacity_provider=check_capacity_provider(
                env.get("MIGRATION_CAPACITY_PROVIDER") or CAPACITY_PROVIDER
            ),
        )


def check_capacity_provider(provider: str) -> str:
    """The migration's capacity provider: on-demand Fargate, never Spot."""
    if provider != CAPACITY_PROVIDER:
        raise MigrationError(
            f"migrations run on {CAPACITY_PROVIDER} only, not {provider}: a Spot interruption "
            "(two minutes' warning, then the task stops) can cut a migration half way"
        )
    return provider


def run_migration(
    ecs: Any,
    logs: Any,
    request: MigrationRequest,
    *,
    poll_seconds: float = 6.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Run the task to completion; return a summary line or raise MigrationError."""
    check_capacity_provider(request.capacity_provider)
    definition_arn = _checked_task_definition(ecs, request)
    task_arn = _running_migration(ecs, logs, request, definition_arn, poll_seconds, sleep, clock)
    if task_arn is None:
        task_arn = _start_task(ecs, request, definition_arn)
    task_id = task_arn.rsplit("/", 1)[-1]
    task = _wait_until_stopped(ecs, logs, request, task_arn, poll_seconds, sleep, clock)
    container: dict[str, Any] = next(
        (c for c in task.get("containers", []) if c["name"] == request.container), {}
    )
    exit_code = container.get("exitCode")
    if exit_code is None:
        reason = container.get("reason") or task.get("stoppedReason", "unknown reason")
        raise MigrationError(
            f"migration task {task_id} stopped without an exit code: {reason}"
            + _tail(logs, request, task_id)
        )
    if exit_code != 0:
        raise MigrationError(
            f"migration task {task_id} exited with {exit_code}" + _tail(logs, request, task_id)
        )
    return f"migration ok: task {task_id} ran {request.command!r} with {request.image}, exit 0"


def _checked_task_definition(ecs: Any, request: MigrationRequest) -> str:
    """The ARN of the admin task definition, once it runs the requested image."""
    definition = ecs.describe_task_definition(taskDefinition=request.task_family)["taskDefinition"]
    containers = {c["name"]: c for c in definition["containerDefinitions"]}
    if request.container not in containers:
        raise MigrationError(
            f"task definition {definition['taskDefinitionArn']} "
            f"has no container {request.container!r}"
        )
    if containers[request.container]["image"] != request.image:
        raise MigrationError(
            f"task definition {definition['taskDefinitionArn']} runs "
            f"{containers[request.container]['image']}, expected {request.image}; "
            "is the slot's new revision registered?"
        )
    return definition["taskDefinitionArn"]


def _running_migration(
    ecs: Any,
    logs: Any,
    request: MigrationRequest,
    definition_arn: str,
    poll_seconds: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> str | None:
    """This migration's task if it is still running (re-attach); otherwise wait for any other
    migration of the cluster to stop first, and None (start one)."""
    arns = ecs.list_tasks(
        cluster=request.cluster, startedBy=STARTED_BY, desiredStatus="RUNNING"
    ).get("taskArns", [])
    if not arns:
        return None
    command = shlex.split(request.command)
    for task in ecs.describe_tasks(cluster=request.cluster, tasks=arns[:100])["tasks"]:
        overrides = (task.get("overrides") or {}).get("containerOverrides") or []
        same = task["taskDefinitionArn"] == definition_arn and any(
            o.get("name") == request.container and o.get("command") == command for o in overrides
        )
        if same:
            print(f"re-attaching to migration task {task['taskArn']}", file=sys.stderr)
            return str(task["taskArn"])
    deadline = clock() + request.timeout_seconds
    for other in arns:  # another image's migration: one at a time, and never stopped by us
        print(f"waiting for migration task {other} to finish first", file=sys.stderr)
        while (
            ecs.describe_tasks(cluster=request.cluster, tasks=[other])["tasks"][0]["lastStatus"]
            != "STOPPED"
        ):
            if clock() >= deadline:
                raise MigrationError(
                    f"another migration ({other}) still runs after {request.timeout_seconds} s; "
                    "this one was not started (two migrations never run at once)"
                )
            sleep(poll_seconds)
    return None


def _start_task(ecs: Any, request: MigrationRequest, definition_arn: str) -> str:
    """Start one task in the private subnets with the migration command; its ARN."""
    started = ecs.run_task(
        cluster=request.cluster,
        taskDefinition=definition_arn,
        capacityProviderStrategy=[{"capacityProvider": request.capacity_provider, "weight": 1}],
        count=1,
        startedBy=STARTED_BY,
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": request.subnets,
                "securityGroups": request.security_groups,
                "assignPublicIp": "DISABLED",
            }
        },
        overrides={
            "containerOverrides": [
                {"name": request.container, "command": shlex.split(request.command)}
            ]
        },
    )
    if started.get("failures") or not started.get("tasks"):
        reasons = "; ".join(
            f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in started.get("failures", [])
        )
        raise MigrationError(f"could not start the migration task: {reasons or 'no task returned'}")
    return started["tasks"][0]["taskArn"]


def _wait_until_stopped(
    ecs: Any,
    logs: Any,
    request: MigrationRequest,
    task_arn: str,
    poll_seconds: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> dict[str, Any]:
    """The stopped task; a task still running at the timeout is stopped and reported."""
    task_id = task_arn.rsplit("/", 1)[-1]
    deadline = clock() + request.timeout_seconds
    while True:
        task = ecs.describe_tasks(cluster=request.cluster, tasks=[task_arn])["tasks"][0]
        if task["lastStatus"] == "STOPPED":
            return task
        if clock() >= deadline:
            ecs.stop_task(
                cluster=request.cluster, task=task_arn, reason="phoenix-aws migration timeout"
            )
            raise MigrationError(
                f"migration task {task_id} still {task['lastStatus']} "
                f"after {request.timeout_seconds} s; stopped it" + _tail(logs, request, task_id)
            )
        sleep(poll_seconds)


def log_stream_name(request: MigrationRequest, task_id: str) -> str:
    """awslogs names streams `<prefix>/<container>/<task id>`."""
    return f"{request.log_prefix}/{request.container}/{task_id}"


def _tail(logs: Any, request: MigrationRequest, task_id: str) -> str:
    try:
        events = logs.get_log_events(
            logGroupName=request.log_group,
            logStreamName=log_stream_name(request, task_id),
            limit=LOG_TAIL_LINES,
            startFromHead=False,
        )["events"]
    except Exception as exc:
        return f"\n(no log tail: {exc})"
    lines = [e["message"].rstrip() for e in events]
    return (
        "\nlast log lines:\n  " + "\n  ".join(lines) if lines else "\n(the task wrote no log lines)"
    )


def main() -> int:
    import boto3

    try:
        request = MigrationRequest.from_environment(dict(os.environ))
        session = boto3.session.Session(region_name=request.region)
        print(run_migration(session.client("ecs"), session.client("logs"), request))
        return 0
    except MigrationError as exc:
        print(f"phoenix-aws: migration failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
