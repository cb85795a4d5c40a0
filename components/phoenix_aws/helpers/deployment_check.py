"""After a slot's service changed: does ECS really run what was just registered?

The deployment circuit breaker rolls a failed deployment back to the last one that completed
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html):
ECS then starts a new PRIMARY deployment with the previous task definition, the service becomes
steady again, and the provider's wait for a steady service reports success. So after every
service change this check reads the service (DescribeServices) and requires its PRIMARY deployment
to run the task definition the `up` registered, with rolloutState COMPLETED
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html); otherwise it
fails the `up` with what ECS said, before traffic moves.

`python -m phoenix_aws.helpers.deployment_check` with DEPLOYMENT_CLUSTER, DEPLOYMENT_SERVICE and
DEPLOYMENT_TASK_DEFINITION (set by ReleaseSlot through pulumi-command).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

SETTLE_SECONDS = 120
"""How long a PRIMARY deployment still IN_PROGRESS after the service is steady may take to say
COMPLETED (ECS updates rolloutState on its own time)."""
POLL_SECONDS = 10


class DeploymentError(RuntimeError):
    """ECS does not run what was registered; the message says what ECS reports."""


def _events(service: dict[str, Any], count: int = 3) -> str:
    latest = [e["message"] for e in service.get("events", [])[:count]]
    return ("; latest events: " + "; ".join(latest)) if latest else ""


def verify_primary(
    ecs: Any,
    cluster: str,
    service: str,
    task_definition: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    settle: float = SETTLE_SECONDS,
) -> str:
    """A summary line when the service's PRIMARY deployment runs `task_definition` and has
    completed; DeploymentError when ECS rolled it back or the rollout failed."""
    deadline = clock() + settle
    while True:
        found = ecs.describe_services(cluster=cluster, services=[service])["services"]
        if not found:
            raise DeploymentError(f"ECS knows no service {service} in {cluster}")
        svc = found[0]
        primary = next((d for d in svc.get("deployments", []) if d["status"] == "PRIMARY"), None)
        if primary is None:
            raise DeploymentError(f"service {service} has no PRIMARY deployment{_events(svc)}")
        state = primary.get("rolloutState")
        reason = primary.get("rolloutStateReason") or ""
        if primary["taskDefinition"] != task_definition:
            raise DeploymentError(
                f"ECS rolled service {service} back: its PRIMARY deployment runs "
                f"{primary['taskDefinition']}, not {task_definition} that this update registered "
                f"(rollout {state or 'unknown'}: {reason or 'no reason given'}){_events(svc)}"
            )
        if state == "FAILED":
            raise DeploymentError(
                f"the deployment of {task_definition} to service {service} failed: "
                f"{reason or 'no reason given'}{_events(svc)}"
            )
        if state in (None, "COMPLETED"):  # None: a service without the circuit breaker
            return (
                f"deployment ok: {service} runs {task_definition.rsplit('/', 1)[-1]} "
                f"({primary['id']} {state or 'steady'}, {primary.get('runningCount', 0)} running)"
            )
        if clock() >= deadline:
            raise DeploymentError(
                f"the deployment of {task_definition} to service {service} is still {state} "
                f"after {settle:.0f} s: {reason}{_events(svc)}"
            )
        sleep(POLL_SECONDS)


def main() -> int:
    import boto3

    try:
        print(
            verify_primary(
                boto3.session.Session().client("ecs"),
                os.environ["DEPLOYMENT_CLUSTER"],
                os.environ["DEPLOYMENT_SERVICE"],
                os.environ["DEPLOYMENT_TASK_DEFINITION"],
            )
        )
        return 0
    except (DeploymentError, KeyError) as exc:
        print(f"phoenix-aws: deployment check: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
