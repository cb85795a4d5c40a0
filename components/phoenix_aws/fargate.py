"""Fargate's rules for a task: the sizes it runs, how long it waits between SIGTERM and SIGKILL,
and the capacity (on-demand or Spot) a service runs on. Pure: the stack settings call them too.
"""

from enum import StrEnum
from typing import Any

# Fargate stops a task at most 120 s after SIGTERM (the container definition's stopTimeout):
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_timeout
FARGATE_MAX_STOP_TIMEOUT = 120
# What the app's own SIGTERM drainer leaves unused of stopTimeout before SIGKILL.
SIGTERM_MARGIN_SECONDS = 10


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


def capacity_strategy(spot: bool) -> list[dict[str, Any]]:
    """Fargate Spot (about 70% cheaper, interruptible with a 2-minute warning) or on-demand."""
    return [{"capacity_provider": "FARGATE_SPOT" if spot else "FARGATE", "weight": 1, "base": 0}]


# What makes terraform-provider-aws (and so pulumi-aws) replace an ECS service instead of updating
# it: its ForceNew arguments, and a capacity provider strategy change unless
# force_new_deployment is set (capacityProviderStrategyCustomizeDiff; in provider v6 such a
# change without it is an error). Inputs as Pulumi names them.
# https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/ecs/service.go
SERVICE_FORCE_NEW = ("name", "cluster", "iamRole", "launchType", "schedulingStrategy")


def service_replacement_reasons(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why the provider would replace a service whose inputs change from `old` to `new`; empty
    when it updates the live service in place. A replacement of a service with a fixed name
    collides with itself ("Creation of service was not idempotent") and drops every task."""
    reasons = [key for key in SERVICE_FORCE_NEW if old.get(key) != new.get(key)]
    old_type = (old.get("deploymentController") or {}).get("type", "ECS")
    if old_type != (new.get("deploymentController") or {}).get("type", "ECS"):
        reasons.append("deploymentController.type")
    before = old.get("capacityProviderStrategies") or []
    after = new.get("capacityProviderStrategies") or []
    unforced = not new.get("forceNewDeployment") or not before or not after
    if _strategy(before) != _strategy(after) and unforced:
        reasons.append("capacityProviderStrategies (without forceNewDeployment)")
    return reasons


def _strategy(items: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(i.get("capacityProvider"), i.get("weight"), i.get("base")) for i in items}
