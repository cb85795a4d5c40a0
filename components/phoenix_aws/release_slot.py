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

from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .container import (
    APP_NAME_MAX,
    ENV_NAME,
    NOFILE_LIMIT,
    RESERVED_ENV_NAMES,
    RESERVED_ENV_PREFIXES,
    SECRET_LOOKING,
    check_app_name,
    check_env_name,
    check_plain_env,
    check_run_as_user,
    check_secret_env,
    container_definitions,
    distribution_flags,
)
from .deployment_check import slot_deployment_check
from .drain_timing import DRAIN_POLL_SECONDS, check_drain_timing
from .fargate import (
    FARGATE_MAX_STOP_TIMEOUT,
    SIGTERM_MARGIN_SECONDS,
    CpuArchitecture,
    capacity_strategy,
    check_fargate_size,
    check_stop_timeout,
    fargate_memory_options,
    sigterm_drain_budget,
)
from .migration import Migration, MigrationArgs
from .naming import ECS_NAME, physical_name
from .slots import SLOTS
from .validation import (
    arg_error,
    check_arg,
    check_args,
    check_tags,
    component_type,
    with_legacy_alias,
)

# The container contract and Fargate's rules live in their own modules; their names stay
# importable from here.
__all__ = [
    "APP_NAME_MAX",
    "DRAIN_POLL_SECONDS",
    "ENV_NAME",
    "FARGATE_MAX_STOP_TIMEOUT",
    "NOFILE_LIMIT",
    "RESERVED_ENV_NAMES",
    "RESERVED_ENV_PREFIXES",
    "SECRET_LOOKING",
    "SIGTERM_MARGIN_SECONDS",
    "CpuArchitecture",
    "ReleaseSlot",
    "ReleaseSlotArgs",
    "capacity_strategy",
    "check_app_name",
    "check_env_name",
    "check_fargate_size",
    "check_plain_env",
    "check_run_as_user",
    "check_secret_env",
    "check_stop_timeout",
    "container_definitions",
    "distribution_flags",
    "fargate_memory_options",
    "sigterm_drain_budget",
]


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
    deregistration_delay_seconds: NotRequired[int]
    """The target group's deregistration delay (`DEREGISTRATION_DELAY_SECONDS`): a node ECS
    stops sheds its sockets within it (see `drain_timing`); at least 40. Default: 60, the
    LoadBalancer's."""
    load_balancer_idle_timeout_seconds: NotRequired[int]
    """The load balancer's idle timeout (`LOAD_BALANCER_IDLE_TIMEOUT_SECONDS`): the app keeps
    idle connections open longer. Default: 120, the LoadBalancer's."""
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
    migrate_after: NotRequired[pulumi.Input[str]]
    """Migrate only after this resolves (the other slot's `migrated`). Default: no wait."""
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
    release_version: pulumi.Output[str]
    """RELEASE_VERSION of its tasks (what their health check answers)."""
    migrated: pulumi.Output[str]
    """The migration's summary line once it succeeded (`not run` without migrations)."""
    deployment_verified: pulumi.Output[str]
    """Resolves once ECS runs what this update registered (`not checked`: not waited for)."""

    def __init__(
        self, name: str, args: ReleaseSlotArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("ReleaseSlot"), name, None, with_legacy_alias("ReleaseSlot", opts)
        )
        check_release_slot_args(name, args)
        slot = args["slot"]
        desired = args.get("desired_count", 2)
        autoscaling = args.get("enable_autoscaling", True)
        tags = {**(args.get("tags") or {}), "phoenix-aws:slot": slot}
        family = physical_name(*args["name_parts"], slot, rule=ECS_NAME)
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        environment = _task_environment(args, region)
        shape = _task_definition_shape(args, tags)

        self._create_task_definition(name, args, family, environment, region, shape)
        self._create_admin_task_and_migration(name, args, family, environment, region, shape)
        self._create_service(name, args, family, desired, autoscaling, tags)
        self.deployment_check = slot_deployment_check(self, name, args, region)
        if autoscaling:
            self._create_autoscaling(
                name, args, desired, max(args.get("max_count", desired), desired)
            )
        self._register(args, desired)

    def _create_task_definition(
        self,
        name: str,
        args: ReleaseSlotArgs,
        family: str,
        environment: pulumi.Output[dict[str, str]],
        region: pulumi.Output[str],
        shape: dict[str, Any],
    ) -> None:
        """The app's task definition: the slot's image, environment and ECS secrets."""
        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=family,
            execution_role_arn=args["execution_role_arn"],
            container_definitions=_definitions(args, environment, args["secrets"], region),
            **shape,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_admin_task_and_migration(
        self,
        name: str,
        args: ReleaseSlotArgs,
        family: str,
        environment: pulumi.Output[dict[str, str]],
        region: pulumi.Output[str],
        shape: dict[str, Any],
    ) -> None:
        """With an admin execution role: the admin task definition (the app's, plus the admin
        secrets), and with a migration command, the migration that runs it before the service
        rolls the image out."""
        self.migration: Migration | None = None
        self.admin_task_definition: aws.ecs.TaskDefinition | None = None
        if not args.get("admin_execution_role_arn"):
            return
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
            family=physical_name(family, "admin", rule=ECS_NAME),
            execution_role_arn=args["admin_execution_role_arn"],
            container_definitions=_definitions(args, admin_environment, admin_secrets, region),
            **shape,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.get("migration_command"):
            migration: MigrationArgs = {
                "slot": args["slot"],
                "image": args["image"],
                "command": args["migration_command"],
                "cluster_name": args["cluster_name"],
                "task_definition_family": self.admin_task_definition.family,
                "container_name": args["app_name"],
                "subnet_ids": args["subnet_ids"],
                "security_group_ids": args["security_group_ids"],
                "log_group_name": args["log_group_name"],
                "timeout_seconds": args.get("migration_timeout_seconds", 900),
            }  # never on Spot, even when the slot's tasks are (Migration refuses it)
            if args.get("migrate_after"):
                migration["after"] = args["migrate_after"]
            self.migration = Migration(
                f"{name}-migrate", migration, opts=pulumi.ResourceOptions(parent=self)
            )

    def _create_service(
        self,
        name: str,
        args: ReleaseSlotArgs,
        family: str,
        desired: int,
        autoscaling: bool,
        tags: dict[str, str],
    ) -> None:
        """The ECS service in the private subnets, behind the slot's target group and in the
        discovery service; it waits for the migration, and rolls back a failed deployment."""
        self.service = aws.ecs.Service(
            f"{name}-service",
            name=family,
            cluster=args["cluster_arn"],
            task_definition=self.task_definition.arn,
            desired_count=desired,
            capacity_provider_strategies=capacity_strategy(args.get("spot", False)),
            # Turning Spot on or off changes the strategy: with this set, the provider updates
            # the live service (a new deployment) instead of replacing it, which a service with
            # a fixed name cannot survive (see fargate.service_replacement_reasons).
            force_new_deployment=True,
            platform_version="LATEST",
            **_service_attachments(args),
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

    def _create_autoscaling(
        self, name: str, args: ReleaseSlotArgs, desired: int, max_count: int
    ) -> None:
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

    def _register(self, args: ReleaseSlotArgs, desired: int) -> None:
        """Set and register the outputs."""
        self.service_name = self.service.name
        self.service_arn = self.service.id
        self.task_definition_arn = self.task_definition.arn
        self.task_definition_family = self.task_definition.family
        self.admin_task_definition_family = (
            self.admin_task_definition.family
            if self.admin_task_definition
            else pulumi.Output.from_input(None)
        )
        self.container_name = pulumi.Output.from_input(args["app_name"])
        self.image = pulumi.Output.from_input(args["image"])
        self.desired_count = pulumi.Output.from_input(desired)
        self.release_version = pulumi.Output.from_input(args["release_version"])
        self.migrated = (
            self.migration.completed if self.migration else pulumi.Output.from_input("not run")
        )
        self.deployment_verified = (
            self.deployment_check.stdout
            if self.deployment_check
            else pulumi.Output.from_input("not checked")
        )
        self.register_outputs(
            {
                "service_name": self.service_name,
                "service_arn": self.service_arn,
                "task_definition_arn": self.task_definition_arn,
                "admin_task_definition_family": self.admin_task_definition_family,
                "image": self.image,
                "desired_count": self.desired_count,
                "release_version": self.release_version,
                "migrated": self.migrated,
                "deployment_verified": self.deployment_verified,
            }
        )


def _service_attachments(args: ReleaseSlotArgs) -> dict[str, Any]:
    """Where a slot's tasks run and what they join: the private subnets (no public IP), the
    slot's target group, and the discovery service."""
    return {
        "network_configuration": {
            "subnets": args["subnet_ids"],
            "security_groups": args["security_group_ids"],
            "assign_public_ip": False,
        },
        "load_balancers": [
            {
                "target_group_arn": args["target_group_arn"],
                "container_name": args["app_name"],
                "container_port": args.get("app_port", 4000),
            }
        ],
        "service_registries": {"registry_arn": args["discovery_service_arn"]},
    }


def _task_environment(args: ReleaseSlotArgs, region: pulumi.Output[str]) -> pulumi.Output[dict]:
    """The app's plain environment: the user's, then what phoenix-aws sets (host, port,
    distribution, discovery, release, drain switch), which always wins."""
    low, high = args.get("distribution_port_min", 9100), args.get("distribution_port_max", 9109)
    app_port = args.get("app_port", 4000)
    base_env = {
        "PHX_SERVER": "true",
        "PORT": str(app_port),
        "RELEASE_DISTRIBUTION": "name",
        "RELEASE_NAME": args["app_name"],
        "ERL_AFLAGS": distribution_flags(low, high),
        "RELEASE_SLOT": args["slot"],
        "PHOENIX_AWS_STACK": args.get("stack_id") or "-".join(args["name_parts"]),
        "STOP_TIMEOUT_SECONDS": str(args.get("stop_timeout_seconds", FARGATE_MAX_STOP_TIMEOUT)),
        "DEREGISTRATION_DELAY_SECONDS": str(args.get("deregistration_delay_seconds", 60)),
        "LOAD_BALANCER_IDLE_TIMEOUT_SECONDS": str(
            args.get("load_balancer_idle_timeout_seconds", 120)
        ),
    }
    return pulumi.Output.all(
        args["phx_host"],
        pulumi.Output.from_input(args.get("phx_scheme", "https")),
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


def _definitions(
    args: ReleaseSlotArgs, env: Any, secrets: Any, region: pulumi.Output[str]
) -> pulumi.Output[str]:
    """The container definitions (JSON) of the app's or the admin task definition."""
    return pulumi.Output.all(
        args["image"],
        env,
        pulumi.Output.from_input(secrets),
        args["log_group_name"],
        region,
    ).apply(
        lambda a: container_definitions(
            name=args["app_name"],
            image=a[0],
            port=args.get("app_port", 4000),
            environment=a[1],
            secrets=a[2],
            log_group=a[3],
            region=a[4],
            log_prefix=args["slot"],
            stop_timeout=args.get("stop_timeout_seconds", FARGATE_MAX_STOP_TIMEOUT),
            user=args.get("run_as_user", "1000"),
        )
    )


def _task_definition_shape(args: ReleaseSlotArgs, tags: dict[str, str]) -> dict[str, Any]:
    """What the app's and the admin task definition share: Fargate, size, platform, task role."""
    return {
        "requires_compatibilities": ["FARGATE"],
        "network_mode": "awsvpc",
        "cpu": str(args.get("cpu", 512)),
        "memory": str(args.get("memory", 1024)),
        "runtime_platform": {
            "operating_system_family": "LINUX",
            "cpu_architecture": str(args.get("cpu_architecture", CpuArchitecture.ARM64)),
        },
        "task_role_arn": args["task_role_arn"],
        "tags": tags,
    }


def check_release_slot_args(name: str, args: ReleaseSlotArgs) -> None:
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
    try:
        check_drain_timing(
            deregistration_delay_seconds=args.get("deregistration_delay_seconds", 60),
            idle_timeout_seconds=args.get("load_balancer_idle_timeout_seconds", 120),
            stop_timeout_seconds=args.get("stop_timeout_seconds", FARGATE_MAX_STOP_TIMEOUT),
        )
    except ValueError as exc:
        raise arg_error("ReleaseSlot", name, "deregistration_delay_seconds", str(exc)) from None
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
