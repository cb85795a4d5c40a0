"""The drain's timing inequality (phoenix_aws.drain_timing) as a rule: broken by the stack file,
by the component's args and by the numbers themselves, it is refused with the key that breaks
it. (That each slot's task gets the load balancer's timing: tests/test_settings_reach_resources.py;
the app's side, config/runtime.exs under each stack's tasks, against the stack's resources:
tests/test_elixir_runtime_config.py.)"""

import harness
import pytest
from phoenix_aws.drain_timing import (
    DRAIN_POLL_SECONDS,
    MIN_DEREGISTRATION_DELAY,
    STOP_SHED_MARGIN_SECONDS,
    STOP_SHED_MIN_SECONDS,
    check_drain_timing,
)
from phoenix_aws.release_slot import ReleaseSlot
from phoenix_aws.task_iam import cluster_tasks_arn
from phoenix_aws.validation import ComponentArgError
from tests_support import load_settings_with_edge

from stacks.settings import ConfigError


def test_the_delay_must_hold_the_poll_the_shortest_gradual_shed_and_the_margin():
    assert MIN_DEREGISTRATION_DELAY == (
        DRAIN_POLL_SECONDS + STOP_SHED_MIN_SECONDS + STOP_SHED_MARGIN_SECONDS
    )
    timing = check_drain_timing(
        deregistration_delay_seconds=MIN_DEREGISTRATION_DELAY,
        idle_timeout_seconds=120,
        stop_timeout_seconds=120,
    )
    assert timing.stop_shed_seconds == STOP_SHED_MIN_SECONDS
    with pytest.raises(ValueError, match=f"at least {MIN_DEREGISTRATION_DELAY} s"):
        check_drain_timing(
            deregistration_delay_seconds=MIN_DEREGISTRATION_DELAY - 1,
            idle_timeout_seconds=120,
            stop_timeout_seconds=120,
        )


@pytest.mark.parametrize("delay", [40, 60, 300, 3600])
@pytest.mark.parametrize("idle", [60, 120, 4000])
def test_every_accepted_timing_keeps_the_inequality(delay, idle):
    timing = check_drain_timing(
        deregistration_delay_seconds=delay, idle_timeout_seconds=idle, stop_timeout_seconds=120
    )
    assert timing.poll_seconds + timing.stop_shed_seconds + STOP_SHED_MARGIN_SECONDS <= delay
    assert timing.keepalive_seconds > idle
    assert timing.sigterm_seconds <= timing.stop_timeout_seconds <= 120


def test_the_stack_file_refuses_a_delay_that_leaves_no_gradual_shed():
    with pytest.raises(ConfigError) as info:
        load_settings_with_edge(
            {"edge": {"plain_http_only": True, "deregistration_delay_seconds": 30}}
        )
    (line,) = [p for p in info.value.problems if "deregistration_delay_seconds" in p]
    assert line.startswith("phoenix-aws:edge.deregistration_delay_seconds: at least 40 s")
    assert "(got 30)" in line


def test_the_slot_refuses_a_delay_that_leaves_no_gradual_shed():
    args = {
        "name_parts": ["a", "b"],
        "slot": "blue",
        "app_name": "shop",
        "image": "registry.example.com/shop@sha256:" + "a" * 64,
        "release_version": "1",
        "cluster_arn": "c",
        "cluster_name": "c",
        "subnet_ids": [],
        "security_group_ids": [],
        "target_group_arn": "t",
        "discovery_service_arn": "d",
        "dns_cluster_query": "q",
        "execution_role_arn": "e",
        "task_role_arn": "r",
        "log_group_name": "l",
        "phx_host": "h",
        "secrets": {},
        "deregistration_delay_seconds": 25,
    }
    with pytest.raises(ComponentArgError, match=r"deregistration_delay_seconds.*at least 40 s"):
        harness.run(lambda: ReleaseSlot("s", args))


def test_the_task_role_describes_tasks_of_its_own_cluster_only():
    assert (
        cluster_tasks_arn("aws", "eu-west-1", "123456789012", "shop-prod")
        == "arn:aws:ecs:eu-west-1:123456789012:task/shop-prod/*"
    )
    assert cluster_tasks_arn("aws-cn", "cn-north-1", "123456789012", "shop-prod").startswith(
        "arn:aws-cn:ecs:cn-north-1:"
    )
    with pytest.raises(ValueError, match="expected an ECS cluster name"):
        cluster_tasks_arn("aws", "eu-west-1", "123456789012", "shop-prod/shop")
