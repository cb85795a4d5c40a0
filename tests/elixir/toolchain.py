"""The real Elixir/Erlang toolchain (Debian's `elixir` and `erlang` packages) run against
examples/phoenix_app, and the task environments the shipped stacks give the app, taken from the
mock run of each stack (`offline.mocks`), secrets replaced by sample values.

Nothing here skips: a missing tool fails the test and says how to install it.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from offline import mocks

APP = mocks.ROOT / "examples" / "phoenix_app"
BATCH = Path(__file__).with_name("batch.exs")
INSTALL = (
    "apt-get update && apt-get install -y --no-install-recommends "
    "elixir erlang-dev postgresql wget (what .ci/run does)"
)
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE_TASK = re.compile(r"slot-(blue|green)-task")

# The modules that need nothing but Elixir: the batch compiles them and runs the app's ExUnit
# tests (examples/phoenix_app/test) against them. Everything else needs Phoenix, Ecto or ExAws,
# which cannot be fetched here (no Hex), and is only parsed.
PURE_MODULES = [
    "lib/shop/env.ex",
    "lib/shop/health.ex",
    "lib/shop/shutdown.ex",
    "lib/shop/drain/schedule.ex",
    "lib/shop/drain/parameter.ex",
    "lib/shop/drain/sockets.ex",
    "lib/shop/drain/shedder.ex",
    "lib/shop/drain/stops.ex",
    "lib/shop/drain/timing.ex",
    "lib/shop/metrics/emf.ex",
    "lib/shop/metrics/socket_reporter.ex",
    "lib/shop/repo/iam_auth.ex",
    "lib/shop/release/app_role.ex",
]

# Stand-ins for the values of ECS secrets (the mock run has only their ARNs).
SAMPLE_SECRETS = {
    "SECRET_KEY_BASE": "sample-secret-key-base-" + "k" * 48,
    "RELEASE_COOKIE": "sample-release-cookie",
    "REDIS_URL": "rediss://:sample-auth-token@master.pubsub.abc.cache.amazonaws.com:6379",
    "DATABASE_USERNAME": "phoenix_admin",
    "DATABASE_PASSWORD": "sample-master-password",
}


def require(tool: str) -> str:
    """The path of `tool`; fails the test (never skips) when it is not installed."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(
            f"`{tool}` is not installed, and the example app's checks need it. "
            f"Install it with: {INSTALL}",
            pytrace=False,
        )
    return path


# Shipped stacks, and variants of them for paths no shipped stack takes (dev as shipped uses
# distributed Erlang; `dev+redis` is dev with the Redis PubSub fallback switched on).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "dev+redis": (
        "dev",
        {
            "pubsub": {
                "adapter": "redis",
                "redis": {
                    "node_type": "cache.t4g.micro",
                    "replicas": 0,
                    "automatic_failover": False,
                    "protect": False,
                },
            }
        },
    )
}


def stack_config(stack: str) -> dict[str, Any]:
    """The config of a shipped stack or of a variant of one."""
    base, overrides = VARIANTS.get(stack, (stack, {}))
    return mocks.with_overrides(mocks.stack_config(base), **overrides)


@functools.cache
def stack_run(stack: str) -> mocks.Run:
    """The mock run of a shipped stack (or variant), as its config says."""
    base = VARIANTS.get(stack, (stack, {}))[0]
    return mocks.run_main(stack_config(stack), stack=base)


def stacks() -> list[str]:
    return [*mocks.stack_names(), *VARIANTS]


@dataclass(frozen=True)
class Task:
    """One container definition of a stack's mock run: a slot's service task or the admin task."""

    stack: str
    kind: str  # "service" or "admin"
    slot: str | None
    container: dict[str, Any]
    definition: str  # the task definition's resource name in the mock run

    @property
    def id(self) -> str:
        return "/".join(p for p in (self.stack, self.kind, self.slot) if p)

    @property
    def plain(self) -> dict[str, str]:
        return {e["name"]: e["value"] for e in self.container.get("environment", [])}

    @property
    def secret_names(self) -> set[str]:
        return {s["name"] for s in self.container.get("secrets", [])}

    @property
    def environment(self) -> dict[str, str]:
        """What the process sees: plain variables, and secrets as sample values."""
        secrets = {n: SAMPLE_SECRETS.get(n, f"sample-{n.lower()}") for n in self.secret_names}
        return {**self.plain, **secrets}


def _containers(run: mocks.Run, resource: mocks.Resource) -> list[dict[str, Any]]:
    return list(json.loads(resource["containerDefinitions"]))


def service_tasks(stack: str) -> list[Task]:
    run = stack_run(stack)
    tasks = []
    for resource in run.of_type(TASK_DEFINITION):
        match = SERVICE_TASK.fullmatch(resource.name)
        if match:
            (container,) = _containers(run, resource)
            tasks.append(Task(stack, "service", match.group(1), container, resource.name))
    return sorted(tasks, key=lambda t: t.id)


def admin_tasks(stack: str) -> list[Task]:
    """Task definitions whose container logs in with the master password (the migration task)."""
    run = stack_run(stack)
    tasks = []
    for resource in run.of_type(TASK_DEFINITION):
        for container in _containers(run, resource):
            environment = {e["name"]: e["value"] for e in container.get("environment", [])}
            if environment.get("DATABASE_AUTH") == "password":
                slot = environment.get("RELEASE_SLOT")
                tasks.append(Task(stack, "admin", slot, container, resource.name))
    return sorted(tasks, key=lambda t: t.id)


def all_tasks() -> list[Task]:
    return [t for s in stacks() for t in (*service_tasks(s), *admin_tasks(s))]


def elixir_literal(value: Any) -> str:
    """`value` (str, int, bool, None, list, str-keyed dict) as an Elixir literal."""
    if value is None or isinstance(value, bool):
        return {None: "nil", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # JSON's string escapes are Elixir's too; only interpolation has to be escaped.
        return '"' + json.dumps(value)[1:-1].replace("#", "\\#") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(elixir_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{elixir_literal(k)} => {elixir_literal(v)}" for k, v in value.items())
        return "%{" + ", ".join(pairs) + "}"
    raise TypeError(f"no Elixir literal for {value!r}")


# The BRIEF's contract ("The app's environment"): what every slot's service task gets ...
SERVICE_PLAIN = [
    "PHX_SERVER",
    "PORT",
    "PHX_HOST",
    "PHX_SCHEME",
    "PHX_URL_PORT",
    "RELEASE_DISTRIBUTION",
    "RELEASE_NAME",
    "ERL_AFLAGS",
    "RELEASE_SLOT",
    "RELEASE_VERSION",
    "DNS_CLUSTER_QUERY",
    "DATABASE_HOST",
    "DATABASE_PORT",
    "DATABASE_NAME",
    "DATABASE_SSL",
    "DATABASE_USERNAME",
    "DATABASE_AUTH",
    "AWS_REGION",
    "PUBSUB_ADAPTER",
    "DRAIN_PARAMETER",
    "DRAIN_POLL_SECONDS",
    "PHOENIX_AWS_STACK",
    # Beyond the BRIEF's list: the task's stopTimeout, which the SIGTERM drainer must fit in,
    # and the load balancer's timing the drain and the HTTP server fit in (drain_timing).
    "STOP_TIMEOUT_SECONDS",
    "DEREGISTRATION_DELAY_SECONDS",
    "LOAD_BALANCER_IDLE_TIMEOUT_SECONDS",
]
SERVICE_SECRETS = ["SECRET_KEY_BASE", "RELEASE_COOKIE"]  # + REDIS_URL with pubsub redis
# ... and what the admin (migration) task gets instead.
ADMIN_PLAIN = [n for n in SERVICE_PLAIN if n != "DATABASE_USERNAME"] + ["DATABASE_APP_USER"]
ADMIN_SECRETS = [*SERVICE_SECRETS, "DATABASE_USERNAME", "DATABASE_PASSWORD"]

# Read by config/runtime.exs, which refuses to boot without them.
REQUIRED_AT_BOOT = [
    "PORT",
    "PHX_HOST",
    "PHX_SCHEME",
    "PHX_URL_PORT",
    "SECRET_KEY_BASE",
    "AWS_REGION",
    "DATABASE_HOST",
    "DATABASE_PORT",
    "DATABASE_NAME",
    "DATABASE_USERNAME",
    "DATABASE_SSL",
    "DATABASE_AUTH",
    "DNS_CLUSTER_QUERY",
    "PUBSUB_ADAPTER",
    "RELEASE_SLOT",
    "RELEASE_VERSION",
    "DRAIN_PARAMETER",
    "DRAIN_POLL_SECONDS",
    "PHOENIX_AWS_STACK",
    "STOP_TIMEOUT_SECONDS",
    "DEREGISTRATION_DELAY_SECONDS",
    "LOAD_BALANCER_IDLE_TIMEOUT_SECONDS",
]
REQUIRED_WITH_REDIS = ["REDIS_URL"]
REQUIRED_WITH_PASSWORD = ["DATABASE_PASSWORD"]
# Read by the release scripts and the BEAM rather than by runtime.exs (rel/env.sh.eex sets the
# node name; erl reads ERL_AFLAGS; bin/<app> passes the cookie), by runtime.exs without being
# required (PHX_SERVER), or by Shop.Release.migrate/0 (DATABASE_APP_USER). Each has its own test.
READ_ELSEWHERE = [
    "RELEASE_NAME",
    "RELEASE_DISTRIBUTION",
    "RELEASE_COOKIE",
    "ERL_AFLAGS",
    "PHX_SERVER",
    "DATABASE_APP_USER",
]


@dataclass(frozen=True)
class RuntimeCase:
    id: str
    env: dict[str, str]


def reference_task() -> Task:
    """dev+redis's blue service task: with Redis, every conditional variable is there."""
    return next(t for t in service_tasks("dev+redis") if t.slot == "blue")


def removal_case(task: Task, name: str) -> RuntimeCase:
    """`task`'s environment without `name`."""
    return RuntimeCase(
        f"{task.id} without {name}", {k: v for k, v in task.environment.items() if k != name}
    )


def changed_case(task: Task, name: str, value: str) -> RuntimeCase:
    return RuntimeCase(f"{task.id} with {name}={value}", {**task.environment, name: value})


def _cases() -> list[RuntimeCase]:
    tasks = all_tasks()
    cases = [RuntimeCase(t.id, t.environment) for t in tasks]
    reference = reference_task()
    cases += [removal_case(reference, n) for n in [*REQUIRED_AT_BOOT, *REQUIRED_WITH_REDIS]]
    cases += [removal_case(t, n) for t in admin_tasks("dev") for n in REQUIRED_WITH_PASSWORD]
    cases += [
        removal_case(reference, "PHX_SERVER"),
        changed_case(reference, "DATABASE_SSL", "false"),
    ]
    return cases


class Batch:
    """The Elixir batch's results (see tests/elixir/batch.exs)."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        self.runtime = {r["id"]: r for r in result["runtime"]}

    def runtime_config(self, case_id: str) -> dict[str, Any]:
        """The evaluated config/runtime.exs (`config`), health report and metric line."""
        outcome = self.runtime[case_id]
        assert "error" not in outcome, (
            f"config/runtime.exs failed for {case_id}: {outcome['error']}"
        )
        return outcome

    def runtime_error(self, case_id: str) -> str:
        outcome = self.runtime[case_id]
        assert "error" in outcome, f"config/runtime.exs booted for {case_id}"
        return str(outcome["error"])

    def ok(self, key: str) -> Any:
        outcome = self.result[key]
        assert "error" not in outcome, f"{key} failed: {outcome['error']}"
        return outcome["ok"]


@functools.cache
def batch() -> Batch:
    """Runs tests/elixir/batch.exs once per test session. Its first phase (parse, compile,
    ExUnit) needs nothing from us, so the stacks' mock runs happen meanwhile, and their task
    environments are written to its stdin afterwards."""
    elixir = require("elixir")
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        # A clean environment: the evaluated config must see only what a case gives it.
        env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "LANG": "C.UTF-8"}
        process = subprocess.Popen(
            [elixir, str(BATCH), str(APP), str(result_file), *PURE_MODULES],
            cwd=APP,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            cases = _cases()
            all_names = sorted({n for c in cases for n in c.env})
            literal = elixir_literal(
                {
                    "release_name": reference_task().plain.get("RELEASE_NAME", "shop"),
                    "app_user": "shop_app",
                    "database": "app",
                    # A second app on the same instance (PhoenixApp's existing_database).
                    "second_app_user": "admin_app",
                    "second_database": "admin",
                    "runtime": [{"id": c.id, "env": c.env, "all_names": all_names} for c in cases],
                }
            )
            # Newline-terminated: OTP 25's stdin returns :eof for a last line without one.
            output, _ = process.communicate(literal + "\n", timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 0 and result_file.exists(), (
            f"the Elixir batch failed (exit {process.returncode}):\n{output}"
        )
        return Batch(json.loads(result_file.read_text()))
