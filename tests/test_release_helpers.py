"""The deploy-time helpers the program's graph runs (phoenix_aws.helpers), against botocore's
Stubber with responses shaped like the real APIs (the Stubber checks requests and responses
against the service models):

- capacity: ELBv2 DescribeTargetHealth (a target takes traffic only when `healthy`), Application
  Auto Scaling DescribeScalableTargets/RegisterScalableTarget (the new minimum moves the
  service's desired count), ECS DescribeServices/UpdateService;
- deployment_check: ECS DescribeServices' deployments — after a circuit-breaker rollback the
  PRIMARY deployment runs the previous task definition
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber
from phoenix_aws.helpers.capacity import (
    CapacityError,
    GateSlot,
    full_load_tasks,
    gate,
    required_capacity,
)
from phoenix_aws.helpers.deployment_check import DeploymentError, verify_primary
from release_support import SESSION

BLUE_TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-prod-blue/1a"
GREEN_TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-prod-green/2b"
TD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/phoenix-aws-prod-green:8"
OLD_TD = TD.replace(":8", ":7")


class Clock:
    def __init__(self):
        self.now, self.slept = 0.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def stubbed(service):
    client = SESSION.client(service)
    stub = Stubber(client)
    stub.activate()
    return client, stub


def health(stub, arn, healthy, unhealthy=0):
    stub.add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {"Target": {"Id": f"10.0.3.{i}", "Port": 4000}, "TargetHealth": {"State": s}}
                for i, s in enumerate(["healthy"] * healthy + ["initial"] * unhealthy)
            ]
        },
        {"TargetGroupArn": arn},
    )


@pytest.mark.parametrize(
    ("healthy", "weights", "share", "floor", "needed"),
    [
        ({"blue": 6}, {"blue": 100}, 100, 3, 6),  # a flip: what live runs, not the floor 3
        ({"blue": 6}, {"blue": 100}, 10, 0, 1),  # a 10% canary of 6 tasks' traffic
        ({"blue": 6, "green": 1}, {"blue": 90, "green": 10}, 100, 3, 7),  # 6 at 90%: 6.67
        ({"blue": 3, "green": 3}, {"blue": 90, "green": 10}, 100, 3, 4),  # 3 at 90%: 3.33
        ({}, {}, 100, 3, 3),  # the first deployment: its configured count
        ({"blue": 6}, {"blue": 100}, 0, 3, 0),  # no share, no need
    ],
)
def test_a_slot_needs_its_share_of_what_the_live_slot_carries_now(
    healthy, weights, share, floor, needed
):
    assert required_capacity(full_load_tasks(healthy, weights), share, floor) == needed


def flip(floor=3):
    return {
        "blue": GateSlot(BLUE_TG, "shop-prod-blue", 3, old_weight=100, new_weight=0),
        "green": GateSlot(GREEN_TG, "shop-prod-green", floor, old_weight=0, new_weight=100),
    }


def test_the_gate_raises_the_scaling_floor_and_waits_until_the_targets_are_healthy():
    """Autoscaling grew blue to 6: green (configured 3) must run 6 before it takes everything."""
    elbv2, elb = stubbed("elbv2")
    ecs, _ = stubbed("ecs")
    scaling, scale = stubbed("application-autoscaling")
    health(elb, BLUE_TG, 6)
    resource = "service/shop-prod/shop-prod-green"
    scale.add_response(
        "describe_scalable_targets",
        {
            "ScalableTargets": [
                {
                    "ServiceNamespace": "ecs",
                    "ResourceId": resource,
                    "ScalableDimension": "ecs:service:DesiredCount",
                    "MinCapacity": 3,
                    "MaxCapacity": 12,
                    "RoleARN": "arn:aws:iam::123456789012:role/scaling",
                    "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
                }
            ]
        },
        {
            "ServiceNamespace": "ecs",
            "ResourceIds": [resource],
            "ScalableDimension": "ecs:service:DesiredCount",
        },
    )
    scale.add_response(
        "register_scalable_target",
        {},
        {
            "ServiceNamespace": "ecs",
            "ResourceId": resource,
            "ScalableDimension": "ecs:service:DesiredCount",
            "MinCapacity": 6,
            "MaxCapacity": 12,
        },
    )
    for healthy, starting in ((3, 3), (5, 1), (6, 0)):
        health(elb, GREEN_TG, healthy, starting)
    clock, lines = Clock(), []
    summary = gate(
        elbv2=elbv2,
        ecs=ecs,
        autoscaling=scaling,
        cluster="shop-prod",
        slots=flip(),
        timeout=600,
        sleep=clock.sleep,
        clock=clock,
        echo=lines.append,
    )
    elb.assert_no_pending_responses()
    scale.assert_no_pending_responses()
    assert summary == "capacity ok: green 6/6 healthy for 100%"
    assert clock.slept == [10, 10]
    assert lines[1] == "slot green: 3 of 6 healthy target(s), 600 s left"


def test_the_gate_fails_the_up_when_the_capacity_never_comes():
    elbv2, elb = stubbed("elbv2")
    ecs, ecs_stub = stubbed("ecs")
    health(elb, BLUE_TG, 3)
    ecs_stub.add_response(
        "describe_services",
        {"services": [{"serviceName": "shop-prod-green", "desiredCount": 3}]},
        {"cluster": "shop-prod", "services": ["shop-prod-green"]},
    )
    for _ in range(4):  # t = 0, 10, 20, 30
        health(elb, GREEN_TG, 1, 2)
    ecs_stub.add_response(
        "describe_services",
        {
            "services": [
                {
                    "serviceName": "shop-prod-green",
                    "desiredCount": 3,
                    "runningCount": 1,
                    "pendingCount": 2,
                    "events": [
                        {
                            "id": "1",
                            "createdAt": datetime(2026, 11, 24, tzinfo=UTC),
                            "message": "(service shop-prod-green) has started 2 tasks",
                        }
                    ],
                }
            ]
        },
        {"cluster": "shop-prod", "services": ["shop-prod-green"]},
    )
    clock = Clock()
    with pytest.raises(CapacityError) as failed:
        gate(
            elbv2=elbv2,
            ecs=ecs,
            autoscaling=None,
            cluster="shop-prod",
            slots=flip(),
            timeout=30,
            sleep=clock.sleep,
            clock=clock,
            echo=lambda line: None,
        )
    assert str(failed.value) == (
        "slot green runs 1 healthy target(s) of the 3 it needs before traffic moves to it, "
        "after 30 s; traffic was not moved. ECS: running 1, pending 2, desired 3; latest "
        "events: (service shop-prod-green) has started 2 tasks"
    )


def test_the_gate_reads_nothing_when_no_slot_gains_traffic():
    elbv2, elb = stubbed("elbv2")
    ecs, _ = stubbed("ecs")
    same = {"blue": GateSlot(BLUE_TG, "shop-prod-blue", 3, old_weight=100, new_weight=100)}
    summary = gate(elbv2=elbv2, ecs=ecs, autoscaling=None, cluster="c", slots=same, timeout=60)
    assert summary == "capacity ok: no slot gains traffic"
    elb.assert_no_pending_responses()


# --- what ECS really runs -----------------------------------------------------------------------


def service(stub, *deployments, events=()):
    stub.add_response(
        "describe_services",
        {
            "services": [
                {
                    "serviceName": "shop-prod-green",
                    "deployments": [
                        {
                            "id": f"ecs-svc/{i}",
                            "status": status,
                            "taskDefinition": definition,
                            "runningCount": 3,
                            **({"rolloutState": state} if state else {}),
                            **({"rolloutStateReason": reason} if reason else {}),
                        }
                        for i, (status, definition, state, reason) in enumerate(deployments)
                    ],
                    "events": [
                        {
                            "id": str(i),
                            "createdAt": datetime(2026, 11, 24, tzinfo=UTC),
                            "message": m,
                        }
                        for i, m in enumerate(events)
                    ],
                }
            ]
        },
        {"cluster": "shop-prod", "services": ["shop-prod-green"]},
    )


def test_a_completed_deployment_of_what_was_registered_passes():
    ecs, stub = stubbed("ecs")
    service(stub, ("PRIMARY", TD, "COMPLETED", "ECS deployment ecs-svc/0 completed."))
    line = verify_primary(ecs, "shop-prod", "shop-prod-green", TD)
    assert (
        line
        == "deployment ok: shop-prod-green runs phoenix-aws-prod-green:8 (ecs-svc/0 COMPLETED, 3 running)"
    )


def test_a_circuit_breaker_rollback_fails_the_up_with_what_ecs_said():
    """The new tasks kept failing; ECS rolled back to :7 and the service is steady again, so the
    provider reported success. The check does not."""
    ecs, stub = stubbed("ecs")
    service(
        stub,
        ("PRIMARY", OLD_TD, "COMPLETED", "ECS deployment ecs-svc/0 completed."),
        events=[
            "(service shop-prod-green) (deployment ecs-svc/1) deployment failed: tasks failed "
            "to start.",
            "(service shop-prod-green) rolling back to deployment ecs-svc/0.",
        ],
    )
    with pytest.raises(DeploymentError) as failed:
        verify_primary(ecs, "shop-prod", "shop-prod-green", TD)
    message = str(failed.value)
    assert message.startswith(
        f"ECS rolled service shop-prod-green back: its PRIMARY deployment runs {OLD_TD}, not {TD}"
    )
    assert "deployment failed: tasks failed to start." in message


def test_a_failed_rollout_fails_the_up():
    ecs, stub = stubbed("ecs")
    service(
        stub, ("PRIMARY", TD, "FAILED", "ECS deployment circuit breaker: tasks failed to start.")
    )
    with pytest.raises(DeploymentError, match="failed: ECS deployment circuit breaker"):
        verify_primary(ecs, "shop-prod", "shop-prod-green", TD)


def test_a_rollout_still_in_progress_is_waited_for_then_judged():
    ecs, stub = stubbed("ecs")
    service(stub, ("PRIMARY", TD, "IN_PROGRESS", "in progress"), ("ACTIVE", OLD_TD, None, None))
    service(stub, ("PRIMARY", TD, "COMPLETED", "completed"))
    clock = Clock()
    verify_primary(ecs, "shop-prod", "shop-prod-green", TD, sleep=clock.sleep, clock=clock)
    assert clock.slept == [10]
    service(stub, ("PRIMARY", TD, "IN_PROGRESS", "in progress"))
    service(stub, ("PRIMARY", TD, "IN_PROGRESS", "in progress"))
    with pytest.raises(DeploymentError, match="still IN_PROGRESS after 10 s"):
        verify_primary(
            ecs, "shop-prod", "shop-prod-green", TD, sleep=clock.sleep, clock=clock, settle=10
        )
