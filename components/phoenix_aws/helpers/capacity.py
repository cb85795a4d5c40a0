"""Capacity before traffic: a slot gets a share of the traffic only once it runs as many healthy
targets as that share needs, sized from what serves the traffic now.

Why a wait is needed at all: a slot's count moves through its Application Auto Scaling target,
and RegisterScalableTarget moves the service's desired count into the new [min, max] on its own
time (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html);
ECS then starts tasks, and a task takes traffic only once its target is `healthy` in the target
group (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
The provider's "service is steady" says nothing about a count that has not reached the service
yet, so without this wait a rollback of a half-drained slot sends everything to one task.

Used twice, so the rule lives once, here:
- at deploy time by TrafficRouting's capacity gate (`python -m phoenix_aws.helpers.capacity`,
  started through pulumi-command before any listener weight changes, so an `up` from CI or by
  hand cannot skip it);
- by the release command's rollback before it moves traffic with a direct listener change.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

POLL_SECONDS = 10
"""How often the wait reads the target group's health (the ALB's fastest health check
interval is 5 s, its default 30 s)."""


class CapacityError(RuntimeError):
    """The slot did not reach the capacity in time; the message says what ECS reported."""


def full_load_tasks(healthy: dict[str, int], weights: dict[str, int]) -> float:
    """How many tasks carry all of today's traffic, sized from the slot that carries the most of
    it (the live slot): its healthy targets scaled from its share to the whole. 0 when no slot
    carries traffic (a first deployment)."""
    serving = [slot for slot, weight in weights.items() if weight > 0]
    if not serving:
        return 0.0
    anchor = max(serving, key=lambda slot: weights[slot])
    return healthy.get(anchor, 0) * 100 / weights[anchor]


def required_capacity(full_load: float, share_percent: int, floor: int = 0) -> int:
    """Healthy targets a slot needs to take `share_percent` of the traffic that `full_load`
    tasks carry today (`full_load_tasks`): that share of them, rounded up, at least its
    configured floor, and at least 1 for any share. 0 for no share."""
    if share_percent <= 0:
        return 0
    return max(1, floor, math.ceil(full_load * share_percent / 100 - 1e-9))


def healthy_targets(elbv2: Any, target_group_arn: str) -> int:
    """Targets of the group in the `healthy` state (DescribeTargetHealth)."""
    response = elbv2.describe_target_health(TargetGroupArn=target_group_arn)
    return sum(
        1
        for target in response["TargetHealthDescriptions"]
        if target["TargetHealth"]["State"] == "healthy"
    )


def scalable_resource_id(cluster: str, service: str) -> str:
    """Application Auto Scaling's id of an ECS service's desired count."""
    return f"service/{cluster}/{service}"


def raise_capacity(
    *,
    ecs: Any,
    autoscaling: Any | None,
    cluster: str,
    service: str,
    count: int,
) -> str:
    """Make the service run at least `count` tasks: through its scaling target's minimum when it
    has one (a desired count set on the service would be undone by the next scaling activity),
    else the service's desired count. Never lowers anything."""
    if autoscaling is not None:
        resource_id = scalable_resource_id(cluster, service)
        found = autoscaling.describe_scalable_targets(
            ServiceNamespace="ecs",
            ResourceIds=[resource_id],
            ScalableDimension="ecs:service:DesiredCount",
        )["ScalableTargets"]
        if found:
            low, high = found[0]["MinCapacity"], found[0]["MaxCapacity"]
            if low >= count:
                return f"{service}: scaling minimum already {low}"
            autoscaling.register_scalable_target(
                ServiceNamespace="ecs",
                ResourceId=resource_id,
                ScalableDimension="ecs:service:DesiredCount",
                MinCapacity=count,
                MaxCapacity=max(high, count),
            )
            return f"{service}: scaling minimum {low} → {count}"
    described = ecs.describe_services(cluster=cluster, services=[service])["services"]
    desired = described[0]["desiredCount"] if described else 0
    if desired >= count:
        return f"{service}: desired count already {desired}"
    ecs.update_service(cluster=cluster, service=service, desiredCount=count)
    return f"{service}: desired count {desired} → {count}"


def service_report(ecs: Any, cluster: str, service: str, events: int = 3) -> str:
    """`running 1, pending 2, desired 3; latest events: …` for an error message."""
    try:
        found = ecs.describe_services(cluster=cluster, services=[service])["services"]
    except Exception as exc:  # the report must not hide the timeout it explains
        return f"(no service report: {exc})"
    if not found:
        return f"(ECS knows no service {service})"
    svc = found[0]
    latest = "; ".join(e["message"] for e in svc.get("events", [])[:events])
    return (
        f"running {svc.get('runningCount', 0)}, pending {svc.get('pendingCount', 0)}, desired "
        f"{svc.get('desiredCount', 0)}" + (f"; latest events: {latest}" if latest else "")
    )


def wait_for_capacity(
    *,
    elbv2: Any,
    ecs: Any,
    target_group_arn: str,
    cluster: str,
    service: str,
    slot: str,
    required: int,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    echo: Callable[[str], None] = print,
    poll: float = POLL_SECONDS,
) -> int:
    """Wait until the slot's target group has `required` healthy targets; its count, or
    CapacityError after `timeout` seconds (with what ECS says about the service)."""
    deadline = clock() + timeout
    while True:
        healthy = healthy_targets(elbv2, target_group_arn)
        if healthy >= required:
            return healthy
        left = deadline - clock()
        if left <= 0:
            raise CapacityError(
                f"slot {slot} runs {healthy} healthy target(s) of the {required} it needs before "
                f"traffic moves to it, after {timeout:.0f} s; traffic was not moved. ECS: "
                + service_report(ecs, cluster, service)
            )
        echo(f"slot {slot}: {healthy} of {required} healthy target(s), {left:.0f} s left")
        sleep(min(poll, left))


@dataclass(frozen=True)
class GateSlot:
    """One slot as the capacity gate sees it."""

    target_group_arn: str
    service: str
    floor: int
    old_weight: int
    new_weight: int


def gate(
    *,
    elbv2: Any,
    ecs: Any,
    autoscaling: Any | None,
    cluster: str,
    slots: Mapping[str, GateSlot],
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    echo: Callable[[str], None] = print,
) -> str:
    """Before weights change: every slot whose weight grows runs the healthy targets its new
    share of today's traffic needs (raised if it must be); a summary line, or CapacityError."""
    if all(slot.new_weight <= slot.old_weight for slot in slots.values()):
        return "capacity ok: no slot gains traffic"
    serving = full_load_tasks(
        {n: healthy_targets(elbv2, s.target_group_arn) for n, s in slots.items() if s.old_weight},
        {n: s.old_weight for n, s in slots.items()},
    )
    done = []
    for name, slot in sorted(slots.items()):
        if slot.new_weight <= slot.old_weight:
            continue
        required = required_capacity(serving, slot.new_weight, slot.floor)
        echo(raise_capacity(
            ecs=ecs, autoscaling=autoscaling, cluster=cluster, service=slot.service, count=required
        ))  # fmt: skip
        healthy = wait_for_capacity(
            elbv2=elbv2,
            ecs=ecs,
            target_group_arn=slot.target_group_arn,
            cluster=cluster,
            service=slot.service,
            slot=name,
            required=required,
            timeout=timeout,
            sleep=sleep,
            clock=clock,
            echo=echo,
        )
        done.append(f"{name} {healthy}/{required} healthy for {slot.new_weight}%")
    return "capacity ok: " + ", ".join(done)


def main() -> int:
    """The gate TrafficRouting runs: CAPACITY_CLUSTER, CAPACITY_SLOTS (JSON: slot → target group
    ARN, service, floor, old and new weight), CAPACITY_TIMEOUT, CAPACITY_AUTOSCALING (true when
    the slots' counts move through scaling targets)."""
    import boto3

    try:
        specs = json.loads(os.environ["CAPACITY_SLOTS"])
        slots = {name: GateSlot(**spec) for name, spec in specs.items()}
        session = boto3.session.Session()
        autoscaling = (
            session.client("application-autoscaling")
            if os.environ.get("CAPACITY_AUTOSCALING") == "true"
            else None
        )
        print(
            gate(
                elbv2=session.client("elbv2"),
                ecs=session.client("ecs"),
                autoscaling=autoscaling,
                cluster=os.environ["CAPACITY_CLUSTER"],
                slots=slots,
                timeout=float(os.environ.get("CAPACITY_TIMEOUT", "600")),
                echo=lambda line: print(line, file=sys.stderr),
            )
        )
        return 0
    except (CapacityError, KeyError, ValueError, TypeError) as exc:
        print(f"phoenix-aws: capacity gate: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
