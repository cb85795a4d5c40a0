"""Migration: the gate before a new image takes traffic. A one-off ECS task runs the new image
with the slot's admin task definition (the app's config plus the database master credentials)
and the migrate command (`bin/APP eval "APP.Release.migrate()"`); a non-zero exit fails
`pulumi up` with the task's log tail, so nothing that depends on it (the slot's service, the
listener's weights) changes.

The task is started by `phoenix_aws.helpers.migrate_task` (boto3) through pulumi-command, on the
machine that runs `pulumi up`, with the interpreter that runs the program, in the Region the
stack's provider reports (never the operator's default Region). It runs again only
when the slot's image or the command changes.
"""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_command as command

from .helpers import helper_command
from .helpers.migrate_task import CAPACITY_PROVIDER
from .validation import arg_error, check_args, component_type, with_legacy_alias


class MigrationArgs(TypedDict):
    """Inputs of a Migration."""

    slot: str
    """The slot whose image is migrated (names the log stream prefix)."""
    image: pulumi.Input[str]
    """The image being released; a new image re-runs the migration."""
    command: str
    """Shell-style command run in the container, e.g. `bin/shop eval "Shop.Release.migrate()"`."""
    cluster_name: pulumi.Input[str]
    """The ECS cluster that runs the task."""
    task_definition_family: pulumi.Input[str]
    """The slot's admin task definition family (same image, environment and app secrets, plus
    the database master credentials)."""
    container_name: pulumi.Input[str]
    """The container of the task definition that runs the command."""
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets for the task."""
    security_group_ids: pulumi.Input[list[str]]
    """Security groups of the task (the nodes')."""
    log_group_name: pulumi.Input[str]
    """Log group of the task's output (its tail is shown when the migration fails)."""
    timeout_seconds: NotRequired[int]
    """Give up (and fail) after this long. Default: 900."""
    spot: NotRequired[bool]
    """Must be false. Default: false (on-demand Fargate): a migration never runs on Fargate
    Spot, whose interruptions can stop it half way (kept so a program that passes it learns
    why)."""
    after: NotRequired[pulumi.Input[str]]
    """Start only once this value resolves, e.g. another slot's migration summary: two slots
    migrating in one `up` (a first deployment with both) run one after the other. Default: no
    wait."""


class Migration(pulumi.ComponentResource):
    """Run the release's migrations once per (image, command), before traffic moves."""

    completed: pulumi.Output[str]
    """Resolves (to the helper's summary line) only after the migration task exited 0."""

    def __init__(
        self, name: str, args: MigrationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("Migration"), name, None, with_legacy_alias("Migration", opts)
        )
        timeout = _validate(name, args)
        after = args.get("after")
        # The helper runs on the operator's machine, whose default Region may be another one.
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self.task = command.local.Command(
            f"{name}-run",
            create=helper_command("migrate_task"),
            environment={
                "MIGRATION_REGION": region,
                "MIGRATION_CLUSTER": args["cluster_name"],
                "MIGRATION_TASK_FAMILY": args["task_definition_family"],
                "MIGRATION_CONTAINER": args["container_name"],
                # Waits for `after` (ordering only: the value stays the image, so another
                # slot's migration never changes this one's inputs and never re-runs it).
                "MIGRATION_IMAGE": pulumi.Output.all(args["image"], after).apply(lambda a: a[0]),
                "MIGRATION_COMMAND": args["command"],
                "MIGRATION_SUBNETS": pulumi.Output.from_input(args["subnet_ids"]).apply(",".join),
                "MIGRATION_SECURITY_GROUPS": pulumi.Output.from_input(
                    args["security_group_ids"]
                ).apply(",".join),
                "MIGRATION_LOG_GROUP": args["log_group_name"],
                "MIGRATION_LOG_PREFIX": args["slot"],
                "MIGRATION_TIMEOUT": str(timeout),
                "MIGRATION_CAPACITY_PROVIDER": CAPACITY_PROVIDER,
            },
            triggers=[args["image"], args["command"]],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.completed = self.task.stdout
        self.register_outputs({"completed": self.completed})


def _validate(name: str, args: MigrationArgs) -> int:
    """Check the args; the timeout in seconds."""
    check_args("Migration", name, args, MigrationArgs)
    if not str(args["command"]).strip():
        raise arg_error("Migration", name, "command", "must not be empty or blank")
    timeout = args.get("timeout_seconds", 900)
    if not 60 <= timeout <= 3600:
        raise arg_error("Migration", name, "timeout_seconds", f"use 60-3600, got {timeout}")
    if args.get("spot"):
        raise arg_error(
            "Migration",
            name,
            "spot",
            "a migration never runs on Fargate Spot: an interruption (two minutes' warning, "
            "then the task stops) can cut it half way; leave spot out",
        )
    return timeout
