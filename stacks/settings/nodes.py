"""`phoenix-aws:app` (the release and how its nodes run) and `phoenix-aws:cluster` (discovery,
distribution, logs, generated secrets)."""

from typing import Annotated, Literal

from phoenix_aws.app_args import AppOptions, ClusterOptions
from phoenix_aws.cluster import check_kms_key_arns, check_namespace, check_task_role_policy_arns
from phoenix_aws.container import (
    app_database_role,
    check_app_name,
    check_env_and_secrets,
    check_plain_env,
    check_run_as_user,
    check_secret_env,
    default_migration_command,
    release_module,
)
from phoenix_aws.fargate import (
    CpuArchitecture,
    check_fargate_size,
    check_stop_timeout,
    fargate_memory_options,
)
from phoenix_aws.node_security import check_distribution_ports
from phoenix_aws.validation import check_log_retention
from pydantic import Field, model_validator

from .base import Frozen, field_rule, ruled


def _module(name: str) -> str:
    parts = name.split(".")
    if not all(p[:1].isupper() and p.replace("_", "").isalnum() for p in parts):
        raise ValueError("expected an Elixir module name such as Shop.Release")
    return name


class AppSettings(Frozen):
    """`phoenix-aws:app`: the Phoenix release and how its nodes run. At least: `name`."""

    name: Annotated[str, ruled(check_app_name)]
    """OTP release name: `bin/<name>`, node names `<name>@<ip>`, database role `<name>_app`."""
    port: int = Field(default=4000, ge=1024, le=65535)
    """The app's plain-HTTP port inside the VPC (`PORT`)."""
    cpu: int = 512
    """Fargate CPU units per task (256, 512, 1024, 2048, 4096, 8192, 16384)."""
    memory: int = 1024
    """MiB per task, a size Fargate offers with `cpu`."""
    cpu_architecture: CpuArchitecture = CpuArchitecture.ARM64
    """`ARM64` (Graviton, about 20% cheaper) or `X86_64`; must match the image."""
    env: Annotated[dict[str, str], ruled(check_plain_env)] = {}
    """Extra plain environment. Reserved and secret-looking names are refused."""
    secrets: Annotated[dict[str, str], ruled(check_secret_env)] = {}
    """Extra secrets: env name → an existing Secrets Manager secret or SSM parameter ARN."""
    secret_kms_key_arns: Annotated[list[str], ruled(check_kms_key_arns)] = []
    """Customer-managed KMS keys (key ARNs) that encrypt `secrets`: the tasks' execution roles
    may decrypt with exactly these keys, and only through Secrets Manager or SSM."""
    stop_timeout_seconds: Annotated[int, ruled(check_stop_timeout)] = 120
    """SIGTERM → SIGKILL, 2-120 on Fargate. The app fits its shutdown into it: 10 s for the BEAM,
    the rest split between the socket drainer and the HTTP server's wait for open requests (a
    quarter, at most 15 s): with 120 s, 95 s and 15 s."""
    health_check_grace_period_seconds: int = Field(default=60, ge=0, le=3600)
    """Seconds ECS ignores failed health checks of a new task."""
    run_as_user: Annotated[str, ruled(check_run_as_user)] = "1000"
    """Container user (never root)."""
    autoscaling: bool = True
    """Target-tracking autoscaling (it owns each slot's running count, between desired_count and
    max_count). Off only where Application Auto Scaling is missing (the local moto stack)."""
    cpu_target_percent: int = Field(default=60, ge=10, le=95)
    """Target-tracking autoscaling on CPU."""
    memory_target_percent: int = Field(default=75, ge=10, le=95)
    """Target-tracking autoscaling on memory."""
    task_role_policy_arns: Annotated[list[str], ruled(check_task_role_policy_arns)] = []
    """Managed policies for the app's own AWS calls, at most 10 (its task role has only what
    phoenix-aws needs otherwise)."""
    release_module: Annotated[str, ruled(_module)] | None = None
    """Module with `migrate/0`. Default: `<CamelName>.Release` (as `mix phx.gen.release`)."""
    migrate_command: str | None = None
    """The migration gate's command. Default: `bin/<name> eval "<release_module>.migrate()"`."""
    enable_migrations: bool = True
    """Run the migration gate before traffic moves. Off only for apps without a database
    schema (or the local moto stack, which cannot run tasks)."""
    migration_timeout_seconds: int = Field(default=900, ge=60, le=3600)
    """The migration task fails after this long."""
    wait_for_steady_state: bool = True
    """`pulumi up` waits for each slot's service to be steady (the traffic gate relies on it).
    Off only where tasks never run (the local moto stack)."""

    @model_validator(mode="after")
    def _plain_or_secret(self) -> "AppSettings":
        field_rule(
            ("secrets",),
            sorted(set(self.env) & set(self.secrets)),
            lambda: check_env_and_secrets(dict(self.env), dict(self.secrets)),
        )
        return self

    @model_validator(mode="after")
    def _fargate_size(self) -> "AppSettings":
        field = "cpu" if not fargate_memory_options(self.cpu) else "memory"
        field_rule(
            (field,), getattr(self, field), lambda: check_fargate_size(self.cpu, self.memory)
        )
        return self

    @property
    def module(self) -> str:
        return self.release_module or release_module(self.name)

    @property
    def migration_command(self) -> str:
        return self.migrate_command or default_migration_command(self.name, self.module)

    @property
    def database_role(self) -> str:
        """The app's own database role (IAM authentication)."""
        return app_database_role(self.name)

    def options(self, *, secret: bool = False) -> AppOptions:
        """PhoenixApp's `app` section (`secret`: the section is Pulumi secret config)."""
        return AppOptions(
            name=self.name,
            secret_env=secret,
            port=self.port,
            cpu=self.cpu,
            memory=self.memory,
            cpu_architecture=self.cpu_architecture,
            env=dict(self.env),
            secrets=dict(self.secrets),
            secret_kms_key_arns=list(self.secret_kms_key_arns),
            stop_timeout_seconds=self.stop_timeout_seconds,
            health_check_grace_period_seconds=self.health_check_grace_period_seconds,
            run_as_user=self.run_as_user,
            enable_autoscaling=self.autoscaling,
            cpu_target_percent=self.cpu_target_percent,
            memory_target_percent=self.memory_target_percent,
            task_role_policy_arns=list(self.task_role_policy_arns),
            enable_migrations=self.enable_migrations,
            migration_command=self.migration_command,
            migration_timeout_seconds=self.migration_timeout_seconds,
            wait_for_steady_state=self.wait_for_steady_state,
        )


class ClusterSettings(Frozen):
    """`phoenix-aws:cluster`: discovery, distribution, logs, generated secrets."""

    namespace: Annotated[str, ruled(check_namespace)] | None = None
    """Private DNS namespace. Default: `<stack>.<project>.internal`."""
    discovery: Literal["shared", "per_slot"] = "shared"
    """shared: blue and green nodes form one BEAM cluster (PubSub spans both during a swap).
    per_slot: each slot is its own cluster."""
    distribution_port_min: int = 9100
    """First Erlang distribution port (`ERL_AFLAGS`), open node-to-node only."""
    distribution_port_max: int = 9109
    """Last Erlang distribution port; the range leaves out EPMD's 4369."""
    log_retention_days: Annotated[int, ruled(check_log_retention)] = 30
    """Days the app's logs (`/ecs/<project>-<stack>`) and ECS Exec session logs are kept."""
    container_insights: bool = True
    """ECS Container Insights (the per-slot CPU/memory metrics)."""
    protect_secrets: bool = True
    """Pulumi `protect` on the generated SECRET_KEY_BASE and RELEASE_COOKIE."""

    @model_validator(mode="after")
    def _port_range(self) -> "ClusterSettings":
        field_rule(
            ("distribution_port_max",),
            f"{self.distribution_port_min}-{self.distribution_port_max}",
            lambda: check_distribution_ports(
                self.distribution_port_min, self.distribution_port_max
            ),
        )
        return self

    def options(self) -> ClusterOptions:
        """PhoenixApp's `cluster` section."""
        options = ClusterOptions(
            share_discovery_across_slots=self.discovery == "shared",
            distribution_port_min=self.distribution_port_min,
            distribution_port_max=self.distribution_port_max,
            log_retention_days=self.log_retention_days,
            enable_container_insights=self.container_insights,
            protect_secrets=self.protect_secrets,
        )
        if self.namespace:
            options["namespace"] = self.namespace
        return options
