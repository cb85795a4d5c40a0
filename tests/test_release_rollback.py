"""Rollback in seconds, a canary that watches, a drain that stops when its sockets stay.

AWS is botocore's Stubber with responses shaped like the real APIs (the Stubber checks every
request and response against the service model): ELBv2 DescribeRules/ModifyRule (a forward
action's weights change in place), DescribeTargetHealth, ECS DescribeServices, Application Auto
Scaling DescribeScalableTargets/RegisterScalableTarget (it moves the service's count into the
new range: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html),
SSM PutParameter, CloudWatch DescribeAlarms and GetMetricData.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from release_support import (
    BLUE_TG,
    GREEN_TG,
    LISTENER,
    NEW,
    OLD,
    ROOT,
    SESSION,
    Command,
    alarms_ok,
    forward_rule,
    healthy_targets,
    listener_has,
    listener_moves_to,
    live_carries,
    one_group_healthy,
    project_copy,
    service_desired,
)

from release.lock import ReleaseLock
from release.plan import apply_changes
from release.stack_file import StackFile
from stacks.settings import raw_config_from_pulumi, release_section

SHIPPED = release_section(
    raw_config_from_pulumi(
        yaml.safe_load((ROOT / "stacks/Pulumi.prod.yaml").read_text())["config"]
    )["release"]
)
DRAIN_PARAMETER = "/phoenix-aws/prod/blue/drain"


def moved(section, **changes):
    result = release_section(apply_changes(section, changes))
    assert result is not None
    return result


PROMOTED = moved(
    SHIPPED,
    live="green",
    **{"green.image": NEW, "green.desired_count": 3, "green.max_count": 12},
)


def released(tmp_path, section, **outputs) -> Command:
    project = project_copy(tmp_path)
    StackFile.for_stack(project, "prod").write_release(section)
    command = Command(project)
    command.stack.stack_outputs.update(
        production_listener_arn=LISTENER,
        drain_parameters={"blue": DRAIN_PARAMETER, "green": DRAIN_PARAMETER.replace("blue", "g")},
        **outputs,
    )
    return command


def ups(command: Command) -> list[str]:
    return [message for message, _ in command.stack.ups]


def test_rollback_moves_traffic_before_any_up_then_reconciles_and_drains_the_bad_slot(tmp_path):
    command = released(tmp_path, PROMOTED)
    healthy_targets(command.aws, blue=3, green=3)
    live_carries(command.aws, "green", 3, blue=0, green=100)
    service_desired(command.aws, "shop-prod-blue", 3)
    one_group_healthy(command.aws, BLUE_TG, 3)
    listener_has(command.aws, blue=0, green=100)
    listener_moves_to(command.aws, blue=100, green=0)
    original = command.stack.up

    def up(message, env=None):  # traffic is already on blue when the (slow) up starts
        command.aws.assert_no_pending_responses()
        return original(message, env)

    command.stack.up = up  # type: ignore[method-assign]
    assert command("prod", "rollback") == 0, command.errors
    assert "traffic moved to slot blue (3 healthy, 1 listener rule(s) changed) in 0 s" in (
        command.output
    )
    assert ups(command) == [
        "release rollback: reconcile the stack with the listener: live blue",
        "release rollback: slot green sheds its WebSockets now (no bake)",
    ]
    deployed = command.stack.deployed()
    assert deployed["live"] == "blue" and deployed["green"]["draining"] is True


def test_a_half_drained_slot_gets_its_capacity_back_before_traffic_moves(tmp_path):
    """Blue was drained to 1 task: moving everything there now would hand green's load to one
    task. Its scaling floor goes back to what green runs, its drain switch off, and traffic
    waits until 3 targets are healthy."""
    half = moved(PROMOTED, **{"blue.desired_count": 1, "blue.max_count": 1, "blue.draining": True})
    command = released(tmp_path, half, slot_autoscaling=True)
    healthy_targets(command.aws, blue=1, green=3)
    live_carries(command.aws, "green", 3, blue=0, green=100)
    scaling = command.aws.stub("application-autoscaling")
    target = {
        "ServiceNamespace": "ecs",
        "ResourceIds": ["service/phoenix-aws-prod/shop-prod-blue"],
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    scaling.add_response(
        "describe_scalable_targets",
        {
            "ScalableTargets": [
                {
                    "ServiceNamespace": "ecs",
                    "ResourceId": "service/phoenix-aws-prod/shop-prod-blue",
                    "ScalableDimension": "ecs:service:DesiredCount",
                    "MinCapacity": 1,
                    "MaxCapacity": 1,
                    "RoleARN": "arn:aws:iam::123456789012:role/ecsAutoscale",
                    "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
                }
            ]
        },
        target,
    )
    scaling.add_response(
        "register_scalable_target",
        {},
        {
            "ServiceNamespace": "ecs",
            "ResourceId": "service/phoenix-aws-prod/shop-prod-blue",
            "ScalableDimension": "ecs:service:DesiredCount",
            "MinCapacity": 3,
            "MaxCapacity": 3,
        },
    )
    command.aws.stub("ssm").add_response(
        "put_parameter",
        {"Version": 4},
        {"Name": DRAIN_PARAMETER, "Value": '{"shed": false}', "Type": "String", "Overwrite": True},
    )
    for count in (1, 2, 3):  # the new tasks pass their health checks one after another
        one_group_healthy(command.aws, BLUE_TG, count)
    listener_has(command.aws, blue=0, green=100)
    listener_moves_to(command.aws, blue=100, green=0)
    assert command("prod", "rollback") == 0, command.errors
    command.aws.assert_no_pending_responses()
    assert command.clock.slept == [10, 10]
    reconcile = release_section(
        yaml.safe_load(command.stack.ups[0][1])["config"]["phoenix-aws:release"]
    )
    assert reconcile["blue"]["desired_count"] == 3 and reconcile["blue"]["draining"] is False


def test_traffic_stays_where_it_is_when_the_capacity_never_comes(tmp_path):
    half = moved(
        PROMOTED,
        capacity_timeout_seconds=60,
        **{"blue.desired_count": 1, "blue.max_count": 1},
    )
    command = released(tmp_path, half)
    healthy_targets(command.aws, blue=1, green=3)
    live_carries(command.aws, "green", 3, blue=0, green=100)
    service_desired(command.aws, "shop-prod-blue", 1)
    command.aws.stub("ecs").add_response(
        "update_service",
        {"service": {"serviceName": "shop-prod-blue", "desiredCount": 3}},
        {"cluster": "phoenix-aws-prod", "service": "shop-prod-blue", "desiredCount": 3},
    )
    for _ in range(7):  # t = 0, 10, … 60
        one_group_healthy(command.aws, BLUE_TG, 1)
    command.aws.stub("ecs").add_response(
        "describe_services",
        {
            "services": [
                {
                    "serviceName": "shop-prod-blue",
                    "desiredCount": 3,
                    "runningCount": 1,
                    "pendingCount": 2,
                    "events": [
                        {
                            "id": "e1",
                            "createdAt": datetime(2026, 11, 24, tzinfo=UTC),
                            "message": "(service shop-prod-blue) was unable to place a task "
                            "because no container instance met all of its requirements.",
                        }
                    ],
                }
            ]
        },
        {"cluster": "phoenix-aws-prod", "services": ["shop-prod-blue"]},
    )
    assert command("prod", "rollback") == 1
    command.aws.assert_no_pending_responses()  # and no DescribeRules, no ModifyRule
    assert "slot blue runs 1 healthy target(s) of the 3 it needs" in command.errors
    assert "running 1, pending 2, desired 3; latest events: (service shop-prod-blue) was" in (
        command.errors
    )
    assert "Traffic stays where it was" in command.errors
    assert command.stack.ups == []


def test_a_rollback_killed_after_its_traffic_move_is_finished_by_running_it_again(tmp_path):
    command = released(tmp_path, PROMOTED)
    listener_has(command.aws, blue=100, green=0)  # the listener was moved; the stack was not
    assert command("prod", "deploy", "--image", OLD) == 3
    assert "the load balancer sends 100% to blue, 0% to green, but the stack says 0% to blue" in (
        command.errors
    )
    assert "Run rollback again" in command.errors
    healthy_targets(command.aws, blue=3, green=3)
    live_carries(command.aws, "blue", 3, blue=100, green=0)
    service_desired(command.aws, "shop-prod-blue", 3)
    one_group_healthy(command.aws, BLUE_TG, 3)
    listener_has(command.aws, blue=100, green=0)  # nothing left to move
    assert command("prod", "rollback") == 0, command.errors
    assert "1 listener rule(s) changed" not in command.output
    assert command.stack.deployed()["live"] == "blue"


def test_rollback_redeploy_brings_back_the_release_the_history_recorded(tmp_path):
    """After the drain a newer release was deployed on blue (never promoted): only the release
    history knows what was live before green."""
    newer = OLD.replace("1" * 64, "7" * 64)
    section = moved(
        PROMOTED,
        **{"blue.image": newer, "blue.run_migrations": False, "blue.version": "3.0"},
    )
    command = released(tmp_path, section)
    ReleaseLock(
        SESSION.client("dynamodb"),
        command.stack.stack_outputs["release_lock_table"],
        stack="prod",
        owner="bob",
    ).record(
        "flip",
        {"live_image": NEW, "replaced_image": OLD, "replaced_version": "2026.11.20-1"},
    )
    healthy_targets(command.aws, blue=3, green=3)
    assert command("prod", "rollback") == 3
    assert f"`rollback --redeploy` puts the release that was live before ({OLD})" in (
        command.errors
    )
    healthy_targets(command.aws, blue=3, green=3)
    live_carries(command.aws, "green", 3, blue=0, green=100)
    service_desired(command.aws, "shop-prod-blue", 3)
    one_group_healthy(command.aws, BLUE_TG, 3)
    listener_has(command.aws, blue=0, green=100)
    listener_moves_to(command.aws, blue=100, green=0)
    assert command("prod", "rollback", "--redeploy") == 0, command.errors
    assert ups(command) == [
        f"release rollback: put the previous release {OLD} back on slot blue with 3 task(s)",
        "release rollback: reconcile the stack with the listener: live blue",
        "release rollback: slot green sheds its WebSockets now (no bake)",
    ]
    deployed = command.stack.deployed()
    assert (deployed["live"], deployed["blue"]["image"]) == ("blue", OLD)
    assert deployed["blue"]["version"] == "2026.11.20-1"


# --- the canary watches -------------------------------------------------------------------------


def alarm(command, state, reason=""):
    command.aws.stub("cloudwatch").add_response(
        "describe_alarms",
        {
            "MetricAlarms": [
                {
                    "AlarmName": "phoenix-aws-prod-green-5xx",
                    "StateValue": state,
                    "StateReason": reason,
                }
            ]
        },
        {
            "AlarmNames": ["phoenix-aws-prod-green-5xx"],
            "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        },
    )


def test_a_canary_alarm_rolls_the_promotion_back_by_itself_and_says_why(tmp_path):
    deployed = moved(PROMOTED, live="blue", **{"green.run_migrations": False})
    command = released(tmp_path, deployed)
    listener_has(command.aws, blue=100, green=0)  # where the stack says traffic goes
    healthy_targets(command.aws, blue=3, green=3)
    alarm(command, "OK")
    reason = "Threshold Crossed: 1 datapoint [31.0] was greater than the threshold (5.0)."
    alarm(command, "ALARM", reason)
    # Blue's 3 tasks carried 90%: all of it needs 4 before the canary's share comes back.
    live_carries(command.aws, "blue", 3, blue=90, green=10)
    service_desired(command.aws, "shop-prod-blue", 3)
    command.aws.stub("ecs").add_response(
        "update_service",
        {"service": {"serviceName": "shop-prod-blue", "desiredCount": 4}},
        {"cluster": "phoenix-aws-prod", "service": "shop-prod-blue", "desiredCount": 4},
    )
    one_group_healthy(command.aws, BLUE_TG, 4)
    listener_has(command.aws, blue=90, green=10)
    listener_moves_to(command.aws, blue=100, green=0)
    assert command("prod", "promote", "--canary", "10", "--bake", "300") == 1
    assert (
        "the canary of slot green was rolled back because alarm phoenix-aws-prod-green-5xx is "
        f"in ALARM: {reason}" in command.errors
    )
    assert command.clock.slept == [30]  # it watched, and stopped at the first ALARM
    assert "shop-prod-blue: desired count 3 → 4" in command.output
    assert ups(command)[-2:] == [
        "release promote: cancel the promotion of slot green (an alarm fired)",
        "release promote: slot green sheds its WebSockets now (no bake)",
    ]
    after = command.stack.deployed()
    assert (after["canary_percent"], after["promoting"], after["live"]) == (0, None, "blue")
    assert after["green"]["draining"] is True and after["in_progress"] is None


def test_a_canary_on_a_stack_without_alarms_is_refused_before_anything_moves(tmp_path):
    deployed = moved(PROMOTED, live="blue", **{"green.run_migrations": False})
    command = released(tmp_path, deployed, slot_alarms={})
    listener_has(command.aws, blue=100, green=0)
    healthy_targets(command.aws, blue=3, green=3)
    assert command("prod", "promote", "--canary", "10") == 3
    assert "a canary watches slot green's alarms while it bakes, and the stack exports none" in (
        command.errors
    )
    assert command.stack.ups == []


def test_a_quiet_canary_goes_on_to_the_flip(tmp_path):
    deployed = moved(PROMOTED, live="blue", **{"green.run_migrations": False})
    command = released(tmp_path, deployed)
    listener_has(command.aws, blue=100, green=0)
    healthy_targets(command.aws, blue=3, green=3)
    alarms_ok(command.aws, reads=3)
    assert command("prod", "promote", "--canary", "10", "--bake", "60") == 0, command.errors
    assert command.clock.slept == [30, 30]
    assert command.stack.deployed()["live"] == "green"


# --- a drain that times out stops ----------------------------------------------------------------


def sockets(command, count, reads):
    for _ in range(reads):
        command.aws.stub("cloudwatch").add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {
                        "Id": "sockets",
                        "Timestamps": [datetime.fromtimestamp(command.clock.now + 1, UTC)],
                        "Values": [float(count)],
                    }
                ]
            },
        )


@pytest.mark.parametrize("force", [False, True])
def test_a_drain_whose_sockets_stay_open_stops_and_asks_unless_forced(tmp_path, force):
    command = released(tmp_path, PROMOTED)
    listener_has(command.aws, blue=0, green=100)
    sockets(command, 12, reads=16)  # every read of the 430 s wait: 12 still open
    argv = ["prod", "drain", "--bake", "0", "--drain-pause", "0"] + (["--force"] if force else [])
    code = command(*argv)
    drained = [m for m in ups(command) if "scale slot blue down" in m]
    if force:
        assert code == 0, command.errors
        assert "12 WebSockets are still open: scaling slot blue down anyway (--force)" in (
            command.output
        )
        assert len(drained) == 3
    else:
        assert code == 1
        assert "12 WebSockets are still open on slot blue after 430 s, so it was not scaled " in (
            command.errors
        )
        assert "`drain --force`" in command.errors
        assert drained == [] and command.stack.deployed()["blue"]["desired_count"] == 3


# --- the smoke test asserts the version -----------------------------------------------------------


def test_a_slot_answering_with_another_version_than_deployed_stops_the_promote(tmp_path):
    """ECS rolled green back underneath: it answers for itself, but with the old version."""
    deployed = moved(PROMOTED, live="blue", **{"green.run_migrations": False})
    command = released(tmp_path, deployed, slot_versions={"blue": "old", "green": "2026.11.24-1"})
    listener_has(command.aws, blue=100, green=0)
    healthy_targets(command.aws, blue=3, green=3)
    assert command("prod", "promote") == 3  # the tester answers version "v2"
    assert (
        "slot green answered with version v2, but the stack deployed version 2026.11.24-1 on it"
        in command.errors
    )
    assert "Nothing was changed" in command.errors and command.stack.ups == []


def test_a_rollback_from_a_sticky_canary_turns_stickiness_off_with_the_weights(tmp_path):
    """Group stickiness wins over weights: left on, a client's cookie would keep it on the slot
    that just lost all its weight. The direct change sets what the program sets: not sticky."""
    from release.traffic import move_traffic

    elbv2 = SESSION.client("elbv2")
    from botocore.stub import Stubber

    stub = Stubber(elbv2)
    sticky_rule = forward_rule({"blue": 90, "green": 10})
    sticky_rule["Actions"][0]["ForwardConfig"]["TargetGroupStickinessConfig"] = {
        "Enabled": True,
        "DurationSeconds": 3600,
    }
    stub.add_response("describe_rules", {"Rules": [sticky_rule]}, {"ListenerArn": LISTENER})
    moved_rule = forward_rule({"blue": 100, "green": 0})
    stub.add_response(
        "modify_rule",
        {"Rules": [moved_rule]},
        {"RuleArn": moved_rule["RuleArn"], "Actions": moved_rule["Actions"]},
    )
    with stub:
        assert move_traffic(elbv2, LISTENER, {"blue": BLUE_TG, "green": GREEN_TG}, "blue") == 1
    stub.assert_no_pending_responses()
