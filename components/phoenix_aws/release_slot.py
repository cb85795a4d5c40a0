"""ReleaseSlot: one colour (blue or green) of the app. A Fargate task definition following the
twelve-factor contract, an ECS service in the private subnets registered with the slot's target
group and the discovery service, target-tracking autoscaling, and — before any task of a new
image takes traffic — its migrations, run as a one-off admin task.

Order of one `pulumi up` for a slot whose image changes (first deployment, an idle slot, or the
live slot of a stack that follows its main branch): the admin task definition with the new
image → the migration task (exit 0) → the service's new task definition rolls out. The service
depends on the migration, so no task of the new image starts, let alone takes traffic, before the
database is migrated; a failed migration fails the `up` and the running tasks keep serving.
"""

import json
import re
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .cluster import check_secret_reference
from .migration import Migration
from .naming import ECS_NAME_MAX, physical_name
from .slots import SLOTS
from .validation import (
    arg_error,
    check_arg,
    check_args,
    check_tags,
    component_type,
    with_legacy_alias,
)

# Fargate stops a task at most 120 s after SIGTERM (the container definition's stopTimeout):
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_timeout
FARGATE_MAX_STOP_TIMEOUT = 120
NOFILE_LIMIT = 65536
# How often the app polls its drain switch (DRAIN_POLL_SECONDS in its environment).
DRAIN_POLL_SECONDS = 10
# What the app's own SIGTERM drainer leaves unused of stopTimeout before SIGKILL.
SIGTERM_MARGIN_SECONDS = 10
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# PostgreSQL identifiers hold 63 characters; the app's database role is `<app>_app`.
APP_NAME_MAX = 63 - len("_app")

# Names the slot sets itself: a user variable with one of these names would silently win or lose.
RESERVED_ENV_NAMES = frozenset(
    {
        "PHX_HOST",
        "PHX_SCHEME",
        "PHX_URL_PORT",
        "PHX_SERVER",
        "PORT",
        "DNS_CLUSTER_QUERY",
        "RELEASE_DISTRIBUTION",
        "RELEASE_NODE",
        "RELEASE_NAME",
        "RELEASE_COOKIE",
        "RELEASE_SLOT",
        "RELEASE_VERSION",
        "ERL_AFLAGS",
        "SECRET_KEY_BASE",
        "DATABASE_URL",
        "DATABASE_HOST",
        "DATABASE_PORT",
        "DATABASE_NAME",
        "DATABASE_SSL",
        "DATABASE_USERNAME",
        "DATABASE_PASSWORD",
        "DATABASE_AUTH",
        "DATABASE_APP_USER",
        "REDIS_URL",
        "PUBSUB_ADAPTER",
        "DRAIN_PARAMETER",
        "DRAIN_POLL_SECONDS",
        "PHOENIX_AWS_STACK",
        "STOP_TIMEOUT_SECONDS",
    }
)
RESERVED_ENV_PREFIXES = ("AWS_", "ECS_")
# Names that say "secret": their values belong in a secret store, not in a task definition.
SECRET_LOOKING = re.compile(r"(_SECRET|SECRET_|PASSWORD|_TOKEN$|^TOKEN$|_KEY$|^KEY$)")


class CpuArchitecture(StrEnum):
    """Fargate CPU architecture; ARM64 (Graviton) is about 20% cheaper for the same size."""

    X86_64 = "X86_64"
    ARM64 = "ARM64"


def fargate_memory_options(cpu: int) -> list[int]:
    """Valid Fargate memory sizes (MiB) for `cpu` units; empty for an invalid CPU size.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size"""
    ranges = {
        256: [512, 1024, 2048],
        512: list(range(1024, 4097, 1024)),
        1024: list(range(2048, 8193, 1024)),
        2048: list(range(4096, 16385, 1024)),
        4096: list(range(8192, 30721, 1024)),
        8192: list(range(16384, 61441, 4096)),
        16384: list(range(32768, 122881, 8192)),
    }
    return ranges.get(cpu, [])


def check_fargate_size(cpu: int, memory: int) -> None:
    """Raise ValueError unless (cpu, memory) is a combination Fargate accepts."""
    options = fargate_memory_options(cpu)
    if not options:
        raise ValueError("Fargate CPU sizes are 256, 512, 1024, 2048, 4096, 8192 and 16384 units")
    if memory not in options:
        if len(options) <= 4:
            expected = "one of " + ", ".join(map(str, options))
        else:
            expected = f"{options[0]}-{options[-1]} in steps of {options[1] - options[0]}"
        raise ValueError(f"with cpu {cpu} Fargate takes memory of {expected} MiB")


def check_stop_timeout(seconds: int) -> int:
    """SIGTERM → SIGKILL on Fargate: 2-120 seconds."""
    if not 2 <= seconds <= FARGATE_MAX_STOP_TIMEOUT:
        raise ValueError(f"Fargate allows 2-{FARGATE_MAX_STOP_TIMEOUT} seconds")
    return seconds


def sigterm_drain_budget(stop_timeout_seconds: int) -> int:
    """Seconds the app's SIGTERM socket drainer may use: it must end before SIGKILL.

    ECS deregisters a task and waits the target group's deregistration delay before SIGTERM, so
    the gradual drain happens earlier (the drain switch); this drainer only closes what is still
    open when SIGTERM comes, within stopTimeout minus a margin for the BEAM to shut down.
    """
    check_stop_timeout(stop_timeout_seconds)
    return max(1, stop_timeout_seconds - SIGTERM_MARGIN_SECONDS)


def check_app_name(name: str) -> str:
    """The OTP release name: `bin/<name>`, node names `<name>@<ip>`, database role
    `<name>_app` (63 characters at most in PostgreSQL), so at most 59 characters of lower-case
    letters, digits and underscores, starting with a letter."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(
            "expected an OTP release name: lower-case letters, digits and underscores, "
            "starting with a letter (as in mix.exs)"
        )
    if len(name) > APP_NAME_MAX:
        raise ValueError(
            f"use at most {APP_NAME_MAX} characters (the database role {name}_app would exceed "
            "PostgreSQL's 63)"
        )
    return name


def check_env_name(name: str) -> None:
    """Raise ValueError for a name that is not a POSIX env name or that phoenix-aws sets itself."""
    if not ENV_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid environment variable name (A-Z, 0-9, _)")
    if name in RESERVED_ENV_NAMES or name.startswith(RESERVED_ENV_PREFIXES):
        raise ValueError(f"{name!r} is set by phoenix-aws and cannot be overridden")


def check_plain_env(environment: dict[str, str]) -> dict[str, str]:
    """User environment: valid, not ours, and nothing that looks like a credential (those go in
    a secret store and reach the task as ECS secrets; Security Hub ECS.8:
    https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-8)."""
    for name in environment:
        check_env_name(name)
        if SECRET_LOOKING.search(name):
            raise ValueError(
                f"{name!r} looks like a secret; store it in Secrets Manager and list its ARN "
                "under the app's secrets instead"
            )
    return environment


def check_secret_env(secrets: dict[str, str]) -> dict[str, str]:
    """User secrets: valid names, not ours, each a Secrets Manager or SSM parameter ARN."""
    for name, value_from in secrets.items():
        check_env_name(name)
        try:
            check_secret_reference(value_from)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return secrets


def check_run_as_user(user: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_.-]+)?", user):
        raise ValueError("expected a user (and optional group), e.g. 1000 or 1000:1000")
    if user.split(":")[0] in ("0", "root"):
        raise ValueError("the app must not run as root")
    return user


def distribution_flags(low: int, high: int) -> str:
    """`ERL_AFLAGS` that pin Erlang distribution to the range the node security group opens."""
    return f"-kernel inet_dist_listen_min {low} inet_dist_listen_max {high}"


def capacity_strategy(spot: bool) -> list[dict[str, Any]]:
    """Fargate Spot (about 70% cheaper, interruptible with a 2-minute warning) or on-demand."""
    return [{"capacity_provider": "FARGATE_SPOT" if spot else "FARGATE", "weight": 1, "base": 0}]


class ReleaseSlotArgs(TypedDict):
    """Inputs of a ReleaseSlot."""

    name_parts: list[str]
    """Parts of physical names, e.g. [project, stack]; the slot is appended."""
    slot: str
    """`blue` or `green`."""
    app_name: str
    """OTP release name (`bin/<app_name>`), also the node name prefix (`<app_name>@<ip>`)."""
    image: pulumi.Input[str]
    """Image reference, pinned by digest (`repo@sha256:...`) so a running slot never changes."""
    release_version: pulumi.Input[str]
    """Label for this release (`RELEASE_VERSION`), e.g. the image tag."""
    cluster_arn: pulumi.Input[str]
    """The ECS cluster (Cluster.cluster_arn)."""
    cluster_name: pulumi.Input[str]
    """Its name (Cluster.cluster_name)."""
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets (no public IP is ever assigned)."""
    security_group_ids: pulumi.Input[list[str]]
    """The node security group."""
    target_group_arn: pulumi.Input[str]
    """The slot's target group (LoadBalancer.target_group_arns)."""
    discovery_service_arn: pulumi.Input[str]
    """The Cloud Map service the tasks register with (Cluster.discovery_service_arns)."""
    dns_cluster_query: pulumi.Input[str]
    """`DNS_CLUSTER_QUERY`: the name that resolves to the nodes (Cluster.dns_cluster_queries)."""
    execution_role_arn: pulumi.Input[str]
    """Role the ECS agent uses to pull the image, write logs and read the secrets."""
    task_role_arn: pulumi.Input[str]
    """The app's own AWS identity."""
    log_group_name: pulumi.Input[str]
    """Log group of the app's stdout (awslogs, stream prefix: the slot)."""
    phx_host: pulumi.Input[str]
    """Public host name (`PHX_HOST`, Phoenix's `check_origin`)."""
    phx_scheme: NotRequired[pulumi.Input[str]]
    """`https` or `http`: what browsers use (`PHX_SCHEME`). Default: `https`."""
    secrets: pulumi.Input[dict[str, str]]
    """Env name → Secrets Manager/SSM ARN (`valueFrom`). Only ever passed as task `secrets`."""
    environment: NotRequired[pulumi.Input[dict[str, str]]]
    """Further plain environment (e.g. DATABASE_HOST, user variables). Default: none."""
    stack_id: NotRequired[str]
    """`PHOENIX_AWS_STACK`: the dimension of the app's socket metric. Default: the name parts
    joined by `-`."""
    drain_parameter_name: NotRequired[pulumi.Input[str]]
    """`DRAIN_PARAMETER`: the SSM parameter the nodes poll to shed their sockets. Default: none
    (no gradual drain)."""
    admin_execution_role_arn: NotRequired[pulumi.Input[str]]
    """Execution role of one-off admin tasks (may read `admin_secrets`). Default: none (no admin
    task definition, no migrations)."""
    admin_environment: NotRequired[pulumi.Input[dict[str, str]]]
    """Plain environment of admin tasks, replacing the matching keys of `environment`.
    Default: none."""
    admin_secrets: NotRequired[pulumi.Input[dict[str, str]]]
    """ECS secrets of admin tasks only (e.g. the database master user). Default: none."""
    migration_command: NotRequired[str]
    """Run this one-off admin command with the slot's image before its service rolls it out,
    e.g. `bin/shop eval "Shop.Release.migrate()"`. Default: no migrations."""
    migration_timeout_seconds: NotRequired[int]
    """Default: 900."""
    app_port: NotRequired[int]
    """Default: 4000."""
    cpu: NotRequired[int]
    """Fargate CPU units. Default: 512."""
    memory: NotRequired[int]
    """MiB, valid for `cpu`. Default: 1024."""
    cpu_architecture: NotRequired[CpuArchitecture]
    """Default: ARM64."""
    spot: NotRequired[bool]
    """Run on Fargate Spot (interruptible, about 70% cheaper). Default: false (on-demand)."""
    desired_count: NotRequired[int]
    """Tasks to run; 0 for an idle slot. Autoscaling's floor: once created, the service's count
    is autoscaling's, and changing this moves the floor (and so the count). Default: 2."""
    max_count: NotRequired[int]
    """Autoscaling ceiling. Default: `desired_count`."""
    enable_autoscaling: NotRequired[bool]
    """Target-tracking autoscaling between `desired_count` and `max_count`; it then owns the
    running count. Off, the service runs exactly `desired_count` tasks (an emulator without
    Application Auto Scaling). Default: true."""
    cpu_target_percent: NotRequired[int]
    """Target-tracking CPU utilisation. Default: 60."""
    memory_target_percent: NotRequired[int]
    """Target-tracking memory utilisation. Default: 75."""
    distribution_port_min: NotRequired[int]
    """Default: 9100."""
    distribution_port_max: NotRequired[int]
    """Default: 9109."""
    stop_timeout_seconds: NotRequired[int]
    """SIGTERM → SIGKILL window; Fargate allows at most 120. Default: 120."""
    health_check_grace_period_seconds: NotRequired[int]
    """Default: 60."""
    run_as_user: NotRequired[str]
    """Container user (never root). Default: `1000`, the `app` user of the example Dockerfile."""
    wait_for_steady_state: NotRequired[bool]
    """`pulumi up` waits until the service is steady (so a later step may depend on it).
    Default: true."""
    tags: NotRequired[dict[str, str]]
    """Default: none."""


class ReleaseSlot(pulumi.ComponentResource):
    """One blue/green slot: task definitions, migrations, service, autoscaling."""

    service_name: pulumi.Output[str]
    service_arn: pulumi.Output[str]
    """Resolves once the service is steady (and, before that, migrated)."""
    task_definition_arn: pulumi.Output[str]
    task_definition_family: pulumi.Output[str]
    admin_task_definition_family: pulumi.Output[str | None]
    container_name: pulumi.Output[str]
    image: pulumi.Output[str]
    desired_count: pulumi.Output[int]
    migrated: pulumi.Output[str]
    """The migration's summary line once it succeeded (`not run` without migrations)."""

    def __init__(
        self, name: str, args: ReleaseSlotArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("ReleaseSlot"), name, None, with_legacy_alias("ReleaseSlot", opts)
        )
        _validate(name, args)
        slot = args["slot"]
        cpu, memory = args.get("cpu", 512), args.get("memory", 1024)
        stop_timeout = args.get("stop_timeout_seconds", FARGATE_MAX_STOP_TIMEOUT)
        run_as = args.get("run_as_user", "1000")
        desired = args.get("desired_count", 2)
        max_count = max(args.get("max_count", desired), desired)
        autoscaling = args.get("enable_autoscaling", True)
        low, high = args.get("distribution_port_min", 9100), args.get("distribution_port_max", 9109)
        app_port = args.get("app_port", 4000)
        app_name = args["app_name"]
        tags = {**(args.get("tags") or {}), "phoenix-aws:slot": slot}
        child = pulumi.ResourceOptions(parent=self)
        family = physical_name(*args["name_parts"], slot, max_length=ECS_NAME_MAX)
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        scheme = pulumi.Output.from_input(args.get("phx_scheme", "https"))

        base_env = {
            "PHX_SERVER": "true",
            "PORT": str(app_port),
            "RELEASE_DISTRIBUTION": "name",
            "RELEASE_NAME": app_name,
            "ERL_AFLAGS": distribution_flags(low, high),
            "RELEASE_SLOT": slot,
            "PHOENIX_AWS_STACK": args.get("stack_id") or "-".join(args["name_parts"]),
            "STOP_TIMEOUT_SECONDS": str(stop_timeout),
        }
        environment = pulumi.Output.all(
            args["phx_host"],
            scheme,
            args["dns_cluster_query"],
            args["release_version"],
            region,
            pulumi.Output.from_input(args.get("drain_parameter_name")),
            pulumi.Output.from_input(args.get("environment") or {}),
        ).apply(
            lambda a: {
                **a[6],
                **base_env,
                "PHX_HOST": a[0],
                "PHX_SCHEME": a[1],
                "PHX_URL_PORT": "443" if a[1] == "https" else "80",
                "DNS_CLUSTER_QUERY": a[2],
                "RELEASE_VERSION": a[3],
                "AWS_REGION": a[4],
                **(
                    {"DRAIN_PARAMETER": a[5], "DRAIN_POLL_SECONDS": str(DRAIN_POLL_SECONDS)}
                    if a[5]
                    else {}
                ),
            }
        )

        def definitions(env: Any, secrets: Any) -> pulumi.Output[str]:
            return pulumi.Output.all(
                args["image"],
                env,
                pulumi.Output.from_input(secrets),
                args["log_group_name"],
                region,
            ).apply(
                lambda a: container_definitions(
                    name=app_name,
                    image=a[0],
                    port=app_port,
                    environment=a[1],
                    secrets=a[2],
                    log_group=a[3],
                    region=a[4],
                    log_prefix=slot,
                    stop_timeout=stop_timeout,
                    user=run_as,
                )
            )

        task_definition_args = {
            "requires_compatibilities": ["FARGATE"],
            "network_mode": "awsvpc",
            "cpu": str(cpu),
            "memory": str(memory),
            "runtime_platform": {
                "operating_system_family": "LINUX",
                "cpu_architecture": str(args.get("cpu_architecture", CpuArchitecture.ARM64)),
            },
            "task_role_arn": args["task_role_arn"],
            "tags": tags,
        }
        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=family,
            execution_role_arn=args["execution_role_arn"],
            container_definitions=definitions(environment, args["secrets"]),
            **task_definition_args,
            opts=child,
        )

        self.migration: Migration | None = None
        self.admin_task_definition: aws.ecs.TaskDefinition | None = None
        if args.get("admin_execution_role_arn"):
            admin_secrets = pulumi.Output.all(
                pulumi.Output.from_input(args["secrets"]),
                pulumi.Output.from_input(args.get("admin_secrets") or {}),
            ).apply(lambda a: {**a[0], **a[1]})
            # An admin secret (the master user) replaces the app's plain variable of that name.
            admin_environment = pulumi.Output.all(
                environment,
                pulumi.Output.from_input(args.get("admin_environment") or {}),
                admin_secrets,
            ).apply(lambda a: {k: v for k, v in {**a[0], **a[1]}.items() if k not in a[2]})
            self.admin_task_definition = aws.ecs.TaskDefinition(
                f"{name}-admin-task",
                family=physical_name(family, "admin", max_length=ECS_NAME_MAX),
                execution_role_arn=args["admin_execution_role_arn"],
                container_definitions=definitions(admin_environment, admin_secrets),
                **task_definition_args,
                opts=child,
            )
            if args.get("migration_command"):
                self.migration = Migration(
                    f"{name}-migrate",
                    {
                        "slot": slot,
                        "image": args["image"],
                        "command": args["migration_command"],
                        "cluster_name": args["cluster_name"],
                        "task_definition_family": self.admin_task_definition.family,
                        "container_name": app_name,
                        "subnet_ids": args["subnet_ids"],
                        "security_group_ids": args["security_group_ids"],
                        "log_group_name": args["log_group_name"],
                        "timeout_seconds": args.get("migration_timeout_seconds", 900),
                        "spot": args.get("spot", False),
                    },
                    opts=child,
                )

        self.service = aws.ecs.Service(
            f"{name}-service",
            name=family,
            cluster=args["cluster_arn"],
            task_definition=self.task_definition.arn,
            desired_count=desired,
            capacity_provider_strategies=capacity_strategy(args.get("spot", False)),
            platform_version="LATEST",
            network_configuration={
                "subnets": args["subnet_ids"],
                "security_groups": args["security_group_ids"],
                "assign_public_ip": False,
            },
            load_balancers=[
                {
                    "target_group_arn": args["target_group_arn"],
                    "container_name": app_name,
                    "container_port": app_port,
                }
            ],
            service_registries={"registry_arn": args["discovery_service_arn"]},
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            health_check_grace_period_seconds=args.get("health_check_grace_period_seconds", 60),
            enable_execute_command=True,
            availability_zone_rebalancing="ENABLED",
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            wait_for_steady_state=args.get("wait_for_steady_state", True),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                # No task of a new image starts before its migration succeeded.
                depends_on=[self.migration] if self.migration else [],
                # Once created, the running count is autoscaling's: an `up` (even with refresh)
                # never resets a scaled-out service. Counts move through the scaling target.
                ignore_changes=["desiredCount"] if autoscaling else [],
            ),
        )
        if autoscaling:
            self._autoscaling(name, args, desired, max_count)

        self.service_name = self.service.name
        self.service_arn = self.service.id
        self.task_definition_arn = self.task_definition.arn
        self.task_definition_family = self.task_definition.family
        self.admin_task_definition_family = (
            self.admin_task_definition.family
            if self.admin_task_definition
            else pulumi.Output.from_input(None)
        )
        self.container_name = pulumi.Output.from_input(app_name)
        self.image = pulumi.Output.from_input(args["image"])
        self.desired_count = pulumi.Output.from_input(desired)
        self.migrated = (
            self.migration.completed if self.migration else pulumi.Output.from_input("not run")
        )
        self.register_outputs(
            {
                "service_name": self.service_name,
                "service_arn": self.service_arn,
                "task_definition_arn": self.task_definition_arn,
                "admin_task_definition_family": self.admin_task_definition_family,
                "image": self.image,
                "desired_count": self.desired_count,
                "migrated": self.migrated,
            }
        )

    def _autoscaling(self, name: str, args: ReleaseSlotArgs, desired: int, max_count: int) -> None:
        child = pulumi.ResourceOptions(parent=self)
        # RegisterScalableTarget moves the service's count into [min, max] at once, so a
        # release step that changes desired_count (the floor) or max_count still takes effect:
        # https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
        self.scaling_target = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat(
                "service/", args["cluster_name"], "/", self.service.name
            ),
            min_capacity=desired,
            max_capacity=max_count,
            opts=child,
        )
        for metric, target in (
            ("ECSServiceAverageCPUUtilization", args.get("cpu_target_percent", 60)),
            ("ECSServiceAverageMemoryUtilization", args.get("memory_target_percent", 75)),
        ):
            aws.appautoscaling.Policy(
                f"{name}-{'cpu' if 'CPU' in metric else 'memory'}-scaling",
                policy_type="TargetTrackingScaling",
                service_namespace=self.scaling_target.service_namespace,
                scalable_dimension=self.scaling_target.scalable_dimension,
                resource_id=self.scaling_target.resource_id,
                target_tracking_scaling_policy_configuration={
                    "predefined_metric_specification": {"predefined_metric_type": metric},
                    "target_value": target,
                    # Scale out fast; scale in slowly, since every removed node drops sockets.
                    "scale_out_cooldown": 60,
                    "scale_in_cooldown": 300,
                },
                opts=child,
            )


def _validate(name: str, args: ReleaseSlotArgs) -> None:
    check_args("ReleaseSlot", name, args, ReleaseSlotArgs)
    if args["slot"] not in SLOTS:
        raise arg_error(
            "ReleaseSlot", name, "slot", f"expected blue or green, got {args['slot']!r}"
        )
    try:
        check_fargate_size(args.get("cpu", 512), args.get("memory", 1024))
    except ValueError as exc:
        raise arg_error("ReleaseSlot", name, "cpu/memory", str(exc)) from None
    low, high = args.get("distribution_port_min", 9100), args.get("distribution_port_max", 9109)
    if not 1024 <= low <= high <= 65535:
        raise arg_error(
            "ReleaseSlot", name, "distribution_port_min", "expected 1024 <= min <= max <= 65535"
        )
    if args.get("migration_command") and not args.get("admin_execution_role_arn"):
        raise arg_error(
            "ReleaseSlot",
            name,
            "migration_command",
            "migrations run as an admin task: give admin_execution_role_arn too",
        )
    for key, value, rule in (
        ("app_name", args["app_name"], check_app_name),
        ("stop_timeout_seconds", args.get("stop_timeout_seconds"), check_stop_timeout),
        ("run_as_user", args.get("run_as_user"), check_run_as_user),
        ("environment", _known_dict(args.get("environment")), check_plain_env),
        ("secrets", _known_dict(args.get("secrets")), check_secret_env),
        ("tags", args.get("tags"), check_tags),
    ):
        check_arg("ReleaseSlot", name, key, value, rule)


def _known_dict(value: Any) -> dict | None:
    """The plain-valued part of a dict input (values still unknown are checked by AWS)."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if isinstance(v, str)}
    return None


def container_definitions(
    *,
    name: str,
    image: str,
    port: int,
    environment: dict[str, str],
    secrets: dict[str, str],
    log_group: str,
    region: str,
    log_prefix: str,
    stop_timeout: int,
    user: str,
) -> str:
    """The JSON container definitions of a slot (one container, the release)."""
    clash = sorted(set(environment) & set(secrets))
    if clash:
        raise ValueError(f"{', '.join(clash)} given both as environment and as secret")
    definition: dict[str, Any] = {
        "name": name,
        "image": image,
        "essential": True,
        "user": user,
        "portMappings": [{"name": "http", "containerPort": port, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
        "ulimits": [{"name": "nofile", "softLimit": NOFILE_LIMIT, "hardLimit": NOFILE_LIMIT}],
        "stopTimeout": stop_timeout,
        # A tiny init as PID 1 reaps zombies and forwards SIGTERM to the BEAM.
        "linuxParameters": {"initProcessEnabled": True},
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": log_prefix,
                "mode": "non-blocking",
                "max-buffer-size": "4m",
            },
        },
    }
    return json.dumps([definition])
