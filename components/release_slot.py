"""ReleaseSlot: one colour (blue or green) of the app. A Fargate task definition following the
twelve-factor contract, an ECS service in the private subnets registered with the slot's target
group and the discovery service, and target-tracking autoscaling.
"""

import json
import re
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .naming import ECS_NAME_MAX, physical_name
from .slots import SLOTS

FARGATE_MAX_STOP_TIMEOUT = 120
NOFILE_LIMIT = 65536
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")

# Names the slot sets itself: a user variable with one of these names would silently win or lose.
RESERVED_ENV_NAMES = frozenset(
    {
        "PHX_HOST",
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
        "REDIS_URL",
        "PUBSUB_ADAPTER",
    }
)
RESERVED_ENV_PREFIXES = ("AWS_", "ECS_")


class CpuArchitecture(StrEnum):
    """Fargate CPU architecture; ARM64 (Graviton) is about 20% cheaper for the same size."""

    X86_64 = "X86_64"
    ARM64 = "ARM64"


# Fargate's valid memory (MiB) for each CPU size (CPU units).
def fargate_memory_options(cpu: int) -> list[int]:
    """Valid Fargate memory sizes for `cpu` units; empty for an invalid CPU size."""
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
        raise ValueError(f"cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384, got {cpu}")
    if memory not in options:
        if len(options) <= 4:
            expected = "one of " + ", ".join(map(str, options))
        else:
            expected = f"{options[0]}-{options[-1]} in steps of {options[1] - options[0]}"
        raise ValueError(f"memory {memory} MiB is not valid with cpu {cpu}; expected {expected}")


def check_env_name(name: str) -> None:
    """Raise ValueError for a name that is not a POSIX env name or that phoenix-aws sets itself."""
    if not ENV_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid environment variable name (A-Z, 0-9, _)")
    if name in RESERVED_ENV_NAMES or name.startswith(RESERVED_ENV_PREFIXES):
        raise ValueError(f"{name!r} is set by phoenix-aws and cannot be overridden")


def distribution_flags(low: int, high: int) -> str:
    """`ERL_AFLAGS` that pin Erlang distribution to the range the node security group opens."""
    return f"-kernel inet_dist_listen_min {low} inet_dist_listen_max {high}"


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
    cluster_name: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets (no public IP is ever assigned)."""
    security_group_ids: pulumi.Input[list[str]]
    """The node security group."""
    target_group_arn: pulumi.Input[str]
    discovery_service_arn: pulumi.Input[str]
    dns_cluster_query: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]
    log_group_name: pulumi.Input[str]
    phx_host: pulumi.Input[str]
    """Public host name (`PHX_HOST`, Phoenix's `check_origin`)."""
    secrets: pulumi.Input[dict[str, str]]
    """Env name → Secrets Manager/SSM ARN (`valueFrom`). Only ever passed as task `secrets`."""
    environment: NotRequired[pulumi.Input[dict[str, str]]]
    """Further plain environment (e.g. DATABASE_HOST, user variables). Default: none."""
    app_port: NotRequired[int]
    """Default: 4000."""
    cpu: NotRequired[int]
    """Fargate CPU units. Default: 512."""
    memory: NotRequired[int]
    """MiB, valid for `cpu`. Default: 1024."""
    cpu_architecture: NotRequired[CpuArchitecture]
    """Default: ARM64."""
    desired_count: NotRequired[int]
    """Tasks to run; 0 for an idle slot. Default: 2."""
    max_count: NotRequired[int]
    """Autoscaling ceiling; the floor is `desired_count`. Default: `desired_count`."""
    cpu_target_percent: NotRequired[int]
    """Target-tracking CPU utilisation. Default: 60."""
    memory_target_percent: NotRequired[int]
    """Target-tracking memory utilisation. Default: 75."""
    distribution_port_min: NotRequired[int]
    """Default: 9100."""
    distribution_port_max: NotRequired[int]
    """Default: 9109."""
    stop_timeout_seconds: NotRequired[int]
    """SIGTERM → SIGKILL window for the socket drainer; Fargate allows at most 120. Default: 120."""
    health_check_grace_period_seconds: NotRequired[int]
    """Default: 60."""
    run_as_user: NotRequired[str]
    """Container user (never root). Default: `1000`, the `app` user of the example Dockerfile."""
    wait_for_steady_state: NotRequired[bool]
    """`pulumi up` waits until the service is steady (so a later step may depend on it).
    Default: true."""
    tags: NotRequired[dict[str, str]]


class ReleaseSlot(pulumi.ComponentResource):
    """One blue/green slot: task definition, service, autoscaling."""

    service_name: pulumi.Output[str]
    service_arn: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]
    task_definition_family: pulumi.Output[str]
    container_name: pulumi.Output[str]
    image: pulumi.Output[str]
    desired_count: pulumi.Output[int]

    def __init__(
        self, name: str, args: ReleaseSlotArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("phoenix-aws:components:ReleaseSlot", name, None, opts)
        slot = args["slot"]
        if slot not in SLOTS:
            raise ValueError(f"slot must be blue or green, got {slot!r}")
        cpu, memory = args.get("cpu", 512), args.get("memory", 1024)
        check_fargate_size(cpu, memory)
        stop_timeout = args.get("stop_timeout_seconds", FARGATE_MAX_STOP_TIMEOUT)
        if not 2 <= stop_timeout <= FARGATE_MAX_STOP_TIMEOUT:
            raise ValueError(f"stop_timeout_seconds must be 2-120 on Fargate, got {stop_timeout}")
        run_as = args.get("run_as_user", "1000")
        if run_as.split(":")[0] in ("0", "root"):
            raise ValueError("run_as_user must not be root")
        desired = args.get("desired_count", 2)
        max_count = max(args.get("max_count", desired), desired)
        low, high = args.get("distribution_port_min", 9100), args.get("distribution_port_max", 9109)
        app_port = args.get("app_port", 4000)
        app_name = args["app_name"]
        tags = {**(args.get("tags") or {}), "phoenix-aws:slot": slot}
        child = pulumi.ResourceOptions(parent=self)
        family = physical_name(*args["name_parts"], slot, max_length=ECS_NAME_MAX)

        base_env = {
            "PHX_SERVER": "true",
            "PORT": str(app_port),
            "RELEASE_DISTRIBUTION": "name",
            "RELEASE_NAME": app_name,
            "ERL_AFLAGS": distribution_flags(low, high),
            "RELEASE_SLOT": slot,
        }
        environment = pulumi.Output.all(
            args["phx_host"],
            args["dns_cluster_query"],
            args["release_version"],
            pulumi.Output.from_input(args.get("environment") or {}),
        ).apply(
            lambda a: {
                **a[3],
                **base_env,
                "PHX_HOST": a[0],
                "DNS_CLUSTER_QUERY": a[1],
                "RELEASE_VERSION": a[2],
            }
        )
        container = pulumi.Output.all(
            args["image"],
            environment,
            pulumi.Output.from_input(args["secrets"]),
            args["log_group_name"],
            aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region,
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
        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(cpu),
            memory=str(memory),
            runtime_platform={
                "operating_system_family": "LINUX",
                "cpu_architecture": str(args.get("cpu_architecture", CpuArchitecture.ARM64)),
            },
            execution_role_arn=args["execution_role_arn"],
            task_role_arn=args["task_role_arn"],
            container_definitions=container,
            tags=tags,
            opts=child,
        )
        self.service = aws.ecs.Service(
            f"{name}-service",
            name=family,
            cluster=args["cluster_arn"],
            task_definition=self.task_definition.arn,
            desired_count=desired,
            launch_type="FARGATE",
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
            opts=child,
        )

        self.scaling_target = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat(
                "service/", args["cluster_name"], "/", self.service.name
            ),
            min_capacity=desired,
            max_capacity=max_count,
            tags=tags,
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

        self.service_name = self.service.name
        self.service_arn = self.service.id
        self.task_definition_arn = self.task_definition.arn
        self.task_definition_family = self.task_definition.family
        self.container_name = pulumi.Output.from_input(app_name)
        self.image = pulumi.Output.from_input(args["image"])
        self.desired_count = pulumi.Output.from_input(desired)
        self.register_outputs(
            {
                "service_name": self.service_name,
                "task_definition_arn": self.task_definition_arn,
                "image": self.image,
                "desired_count": self.desired_count,
            }
        )


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
