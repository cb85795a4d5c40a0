"""The app's container, following the twelve-factor contract: the release's name, the environment
a user may set (never a name phoenix-aws sets, never a credential), secrets only as ECS
`secrets`, a non-root user, and the container definition that puts it together.
"""

import json
import re
from typing import Any

from .task_iam import check_secret_reference

NOFILE_LIMIT = 65536
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
        "DEREGISTRATION_DELAY_SECONDS",
        "LOAD_BALANCER_IDLE_TIMEOUT_SECONDS",
    }
)
RESERVED_ENV_PREFIXES = ("AWS_", "ECS_")
# Names that say "secret": their values belong in a secret store, not in a task definition.
SECRET_LOOKING = re.compile(r"(_SECRET|SECRET_|PASSWORD|_TOKEN$|^TOKEN$|_KEY$|^KEY$)")


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


def check_env_and_secrets(environment: dict[str, Any], secrets: dict[str, Any]) -> None:
    """A variable is plain or secret, not both: ECS refuses a container definition that names a
    variable in `environment` and in `secrets` alike (which value the app would see is not
    defined). https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html"""
    clash = sorted(set(environment) & set(secrets))
    if clash:
        raise ValueError(
            f"{', '.join(clash)} {'is' if len(clash) == 1 else 'are'} also given as plain "
            "environment (app.env); a variable is either plain or secret"
        )


# Linux user and group IDs: 0 (root) to 2^32 - 2 (4294967295 is the invalid -1).
MAX_LINUX_ID = 2**32 - 2


def check_run_as_user(user: str) -> str:
    """The container's `user`: `user`, `uid`, `user:group` or `uid:gid` (ECS's forms), never
    root, and never the root group either (`1000:0` can still write what root's group may; ECS.20
    wants a non-root user). IDs are Linux IDs (at most 4294967294).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_security
    and https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-20"""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?", user):
        raise ValueError("expected a user (and optional group), e.g. 1000 or 1000:1000")
    name, _, group = user.partition(":")
    if name in ("0", "root"):
        raise ValueError("the app must not run as root")
    if group in ("0", "root"):
        raise ValueError("the app must not run in the root group (0); use its own, e.g. 1000:1000")
    for part in (name, group):
        if part.isdigit() and int(part) > MAX_LINUX_ID:
            raise ValueError(f"{part} is not a Linux user or group ID (0-{MAX_LINUX_ID})")
    return user


def distribution_flags(low: int, high: int) -> str:
    """`ERL_AFLAGS` that pin Erlang distribution to the range the node security group opens."""
    return f"-kernel inet_dist_listen_min {low} inet_dist_listen_max {high}"


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
    check_env_and_secrets(environment, secrets)
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


def app_database_role(app_name: str) -> str:
    """The app's own database role, which logs in with IAM authentication: `<app>_app`."""
    return f"{app_name}_app"


def release_module(app_name: str) -> str:
    """`<CamelName>.Release`: the module `mix phx.gen.release` generates (`shop` → Shop.Release)."""
    return "".join(part.capitalize() for part in app_name.split("_")) + ".Release"


def default_migration_command(app_name: str, module: str | None = None) -> str:
    """`bin/<app> eval "<module>.migrate()"`, the migration gate's command."""
    return f'bin/{app_name} eval "{module or release_module(app_name)}.migrate()"'
