"""The release step planner: pure, exhaustive over the states a stack can be in, and every plan
checked against the program's own settings model before anything runs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from release.plan import (
    APP_DRAIN_POLL_SECONDS,
    BUILD,
    SOCKET_METRIC_PERIOD_SECONDS,
    Facts,
    NothingToDo,
    Options,
    PlanError,
    apply_changes,
    other,
    plan,
    plan_for_stack,
    socket_wait_seconds,
)
from release.stack_file import StackFile
from release.waits import SOCKET_POLL_SECONDS
from stacks.settings import load_settings

OLD = "repo/shop@sha256:" + "1" * 64
NEW = "repo/shop@sha256:" + "2" * 64


def state(live="blue", canary=0, promoting=None, blue=None, green=None):
    release = {"live": live, "canary_percent": canary}
    if promoting:
        release["promoting"] = promoting
    release["blue"] = (
        blue if blue is not None else {"image": OLD, "desired_count": 3, "max_count": 6}
    )
    release["green"] = green if green is not None else {"image": OLD, "desired_count": 0}
    return release


def run_all(action, release, options=None, healthy=None):
    """Apply every step's changes in order; the release config the action ends with."""
    for step in plan(action, release, options, healthy):
        release = apply_changes(release, step.changes)
    return release


# --- deploy --------------------------------------------------------------------------------------


def test_deploy_puts_the_image_on_the_idle_slot_at_live_size_without_migrations_or_drain():
    (step,) = plan("deploy", state(), Options(image=NEW, version="v2"))
    assert step.changes == {
        "green.image": NEW,
        "green.desired_count": 3,
        "green.max_count": 6,
        "green.run_migrations": False,
        "green.draining": False,
        "green.version": "v2",
    }
    assert step.pin_image_slot is None


def test_deploy_onto_a_slot_left_draining_turns_its_drain_off():
    release = state(green={"image": OLD, "desired_count": 0, "max_count": 0, "draining": True})
    (step,) = plan("deploy", release, Options(image=NEW))
    assert apply_changes(release, step.changes)["green"]["draining"] is False


def test_deploy_of_a_build_pins_the_digest_afterwards():
    (step,) = plan(
        "deploy", state(live="green", green={"image": OLD, "desired_count": 2}, blue={}), Options()
    )
    assert step.changes["blue.image"] == BUILD
    assert step.pin_image_slot == "blue"


def test_deploy_never_touches_the_live_slot():
    for live in ("blue", "green"):
        for step in plan(
            "deploy", state(live=live, green={"image": OLD, "desired_count": 2}), Options(image=NEW)
        ):
            assert not any(path.startswith(live) for path in step.changes)
            assert "live" not in step.changes


def test_deploy_warns_when_it_replaces_the_rollback_target():
    (step,) = plan("deploy", state(green={"image": OLD, "desired_count": 2}), Options(image=NEW))
    assert "rollback to it is no longer possible" in step.title


def test_deploy_refuses_during_a_promotion_or_canary():
    with pytest.raises(PlanError, match="being promoted"):
        plan(
            "deploy",
            state(promoting="green", green={"image": NEW, "desired_count": 3}),
            Options(image=NEW),
        )
    with pytest.raises(PlanError, match="canary"):
        plan(
            "deploy", state(canary=10, green={"image": NEW, "desired_count": 3}), Options(image=NEW)
        )


def test_deploy_with_explicit_count():
    (step,) = plan("deploy", state(), Options(image=NEW, desired_count=5))
    assert step.changes["green.desired_count"] == 5 and step.changes["green.max_count"] == 6


# --- promote -------------------------------------------------------------------------------------


def deployed():
    return run_all("deploy", state(), Options(image=NEW))


def test_promote_checks_reachability_first_then_migrates_smoke_tests_and_flips():
    steps = plan("promote", deployed(), Options(bake_seconds=0))
    assert [s.title.split(" ")[0] for s in steps] == ["pre-flight:", "run", "smoke-test", "flip"]
    assert steps[0].preflight and steps[0].smoke_test_slot == "green" and not steps[0].changes
    assert steps[1].changes == {"promoting": "green", "green.run_migrations": True}
    assert steps[2].smoke_test_slot == "green" and not steps[2].preflight
    assert steps[3].changes == {"live": "green", "canary_percent": 0, "promoting": None}


def test_promote_steps_the_canary_with_bakes_in_between():
    steps = plan("promote", deployed(), Options(canary_steps=(50, 10), bake_seconds=120))
    canary = [
        s.changes["canary_percent"]
        for s in steps
        if "canary_percent" in s.changes and s.changes.get("live") is None
    ]
    assert canary == [10, 50]
    assert [s.wait_seconds for s in steps if s.wait_seconds] == [120, 120]
    assert steps[-1].changes["live"] == "green"


def test_promote_ends_with_the_old_slot_still_running():
    final = run_all("promote", deployed(), Options(canary_steps=(10,)))
    assert final["live"] == "green" and final["canary_percent"] == 0 and "promoting" not in final
    assert final["blue"]["desired_count"] == 3


def test_promote_resumes_after_an_interruption():
    release = deployed()
    steps = plan("promote", release, Options(canary_steps=(10, 50)))
    # Interrupted after the 10% canary step was applied:
    cut = next(i for i, s in enumerate(steps) if s.changes.get("canary_percent") == 10)
    done = steps[: cut + 1]
    for step in done:
        release = apply_changes(release, step.changes)
    resumed = plan("promote", release, Options(canary_steps=(10, 50)))
    assert [s.smoke_test_slot for s in resumed[:2]] == ["green", "green"]  # checked again
    assert not any(s.changes.get("promoting") for s in resumed)  # migrations are not rerun
    assert [s.changes.get("canary_percent") for s in resumed if "canary_percent" in s.changes] == [
        50,
        0,
    ]


def test_refuse_to_promote_a_slot_with_zero_healthy_tasks():
    with pytest.raises(PlanError, match="0 healthy tasks"):
        plan("promote", deployed(), Options(), healthy={"green": 0, "blue": 3})


def test_refuse_to_promote_when_nothing_is_deployed():
    with pytest.raises(PlanError, match="run deploy first"):
        plan("promote", state(), Options())


def test_refuse_to_promote_an_unpinned_build():
    with pytest.raises(PlanError, match="not pinned"):
        plan(
            "promote",
            state(green={"image": BUILD, "desired_count": 3, "run_migrations": False}),
            Options(),
        )


def test_refuse_to_promote_the_previous_release_back():
    promoted = run_all("promote", deployed())
    with pytest.raises(PlanError, match="use rollback"):
        plan("promote", promoted, Options())


@pytest.mark.parametrize("steps", [(0,), (100,), (-5,)])
def test_refuse_canary_steps_out_of_range(steps):
    with pytest.raises(PlanError, match="between 1 and 99"):
        plan("promote", deployed(), Options(canary_steps=steps))


# --- drain ---------------------------------------------------------------------------------------


def promoted():
    return run_all("promote", deployed())


def test_drain_bakes_then_sheds_sockets_then_scales_the_old_slot_down_in_waves():
    steps = plan(
        "drain", promoted(), Options(drain_batch=1, drain_pause_seconds=30, bake_seconds=600)
    )
    assert steps[0].wait_seconds == 600 and not steps[0].changes  # rollback still instant
    assert steps[1].changes == {"blue.draining": True}
    assert steps[2].socket_drain_slot == "blue" and steps[2].wait_seconds == socket_wait_seconds(
        300
    )
    counts = [s.changes["blue.desired_count"] for s in steps[3:] if s.changes]
    assert counts == [2, 1, 0]
    pauses = [s.wait_seconds for s in steps[3:] if s.wait_seconds]
    assert pauses == [30, 30]  # between waves, none after the last


def test_drain_waits_as_long_as_the_stack_s_drain_window_says():
    release = apply_changes(promoted(), {"drain_window_seconds": 900})
    (wait_step,) = [s for s in plan("drain", release, Options()) if s.socket_drain_slot]
    assert wait_step.wait_seconds == socket_wait_seconds(900)


def test_drain_scales_down_only_after_the_socket_wait():
    steps = plan("drain", promoted(), Options(socket_threshold=5))
    wait_at = next(i for i, s in enumerate(steps) if s.socket_drain_slot)
    first_wave = next(i for i, s in enumerate(steps) if "blue.desired_count" in s.changes)
    draining_at = next(i for i, s in enumerate(steps) if s.changes.get("blue.draining"))
    assert draining_at < wait_at < first_wave
    assert steps[wait_at].socket_threshold == 5


def test_the_socket_wait_outlasts_the_app_side_drain_and_the_metric_that_shows_it():
    """The runner scales a draining slot down when its WebSockets metric is low or when this wait
    ends. A node notices the drain within one poll of its parameter, closes its sockets evenly over
    the window, and the count that shows it reaches CloudWatch one metric period later; the runner
    reads the metric once per SOCKET_POLL_SECONDS. So, for every window the settings allow:
    wait >= window + app poll interval + metric period + runner poll interval."""
    for window in (30, 300, 3600):
        assert socket_wait_seconds(window) >= (
            window + APP_DRAIN_POLL_SECONDS + SOCKET_METRIC_PERIOD_SECONDS + SOCKET_POLL_SECONDS
        )


def test_drain_never_removes_more_than_a_batch_per_wave():
    release = promoted()
    release["blue"]["desired_count"] = 10
    counts = [
        s.changes["blue.desired_count"]
        for s in plan("drain", release, Options(drain_batch=3))
        if "blue.desired_count" in s.changes
    ]
    assert counts == [7, 4, 1, 0]
    assert all(a - b <= 3 for a, b in itertools.pairwise([10, *counts]))


def test_drain_keeps_autoscaling_from_scaling_the_old_slot_back_up():
    for step in plan("drain", promoted(), Options()):
        if "blue.desired_count" in step.changes:
            assert step.changes["blue.max_count"] == step.changes["blue.desired_count"]


def test_refuse_to_drain_the_live_slot():
    with pytest.raises(PlanError, match="it is live"):
        plan("drain", promoted(), Options(slot="green"))


def test_refuse_to_drain_a_slot_taking_canary_traffic():
    release = apply_changes(
        deployed(), {"promoting": "green", "green.run_migrations": True, "canary_percent": 10}
    )
    with pytest.raises(PlanError, match="canary"):
        plan("drain", release, Options())


def test_drain_of_an_empty_slot_is_nothing_to_do():
    with pytest.raises(NothingToDo, match="slot green runs no tasks: nothing to drain"):
        plan("drain", state(), Options())


def test_drain_resumes_where_it_stopped_without_baking_again():
    release = promoted()
    release["blue"].update(desired_count=1, max_count=1, draining=True)
    steps = plan("drain", release, Options(bake_seconds=600))
    assert [s.changes for s in steps if s.changes] == [
        {"blue.desired_count": 0, "blue.max_count": 0}
    ]
    assert not any(s.wait_seconds == 600 for s in steps)
    assert steps[0].socket_drain_slot == "blue"  # the sockets are checked again


# --- rollback ------------------------------------------------------------------------------------


def test_rollback_moves_traffic_first_then_reconciles_and_drains_the_bad_slot():
    move, reconcile, shed = plan("rollback", promoted(), Options())
    assert (move.move_traffic_to, move.capacity, move.changes) == ("blue", 3, {})
    assert reconcile.changes == {"live": "blue", "canary_percent": 0}
    # No bake: the bad slot sheds its sockets in the very next up (not the same one, so the
    # program's drain order holds: traffic left it in a finished up first).
    assert (shed.changes, shed.wait_seconds) == ({"green.draining": True}, 0)


def test_rollback_sizes_the_old_slot_from_what_the_live_slot_runs_now():
    """Autoscaling grew green to 7 tasks since the flip: blue must carry that, not its floor."""
    move, reconcile, _ = plan("rollback", promoted(), Options(), healthy={"blue": 3, "green": 7})
    assert move.capacity == 7
    assert reconcile.changes["blue.desired_count"] == 7
    assert reconcile.changes["blue.max_count"] == 7  # above green's ceiling of 6


def test_rollback_to_a_draining_slot_stops_its_drain_and_restores_its_size():
    release = apply_changes(
        promoted(), {"blue.draining": True, "blue.desired_count": 1, "blue.max_count": 1}
    )
    move, reconcile, _ = plan("rollback", release, Options())
    assert move.capacity == 3  # traffic waits until blue runs 3 healthy tasks again
    assert reconcile.changes == {
        "live": "blue",
        "canary_percent": 0,
        "blue.draining": False,
        "blue.desired_count": 3,
        "blue.max_count": 6,
    }


def test_refuse_rollback_right_after_a_deploy():
    with pytest.raises(PlanError, match="never promoted"):
        plan("rollback", deployed(), Options())


def test_rollback_during_a_promotion_cancels_it():
    release = apply_changes(
        deployed(), {"promoting": "green", "green.run_migrations": True, "canary_percent": 10}
    )
    move, cancel, shed = plan("rollback", release, Options())
    assert move.move_traffic_to == "blue"  # the canary's 10% come back at once
    assert cancel.changes == {"canary_percent": 0, "promoting": None}
    assert shed.changes == {"green.draining": True}


def test_rollback_during_a_promotion_before_its_canary_is_one_up():
    release = apply_changes(deployed(), {"promoting": "green", "green.run_migrations": True})
    (cancel,) = plan("rollback", release, Options())
    assert cancel.changes == {"canary_percent": 0, "promoting": None}


def test_rollback_to_a_drained_slot_asks_for_redeploy_and_then_starts_it_again():
    drained = run_all("drain", promoted(), Options(bake_seconds=0))
    with pytest.raises(PlanError, match=r"drained to 0 tasks.*rollback --redeploy"):
        plan("rollback", drained, Options())
    move, reconcile, _ = plan("rollback", drained, Options(redeploy=True))
    assert (move.move_traffic_to, move.capacity) == ("blue", 3)
    assert reconcile.changes["blue.desired_count"] == 3


def test_rollback_redeploy_brings_the_previous_image_back_from_the_history():
    """The previous slot now holds a newer, never promoted release: only the history knows what
    was live before."""
    release = run_all(
        "deploy",
        run_all("drain", promoted(), Options(bake_seconds=0)),
        Options(image=NEW.replace("2" * 64, "5" * 64)),
    )
    with pytest.raises(PlanError, match=r"never promoted.*--redeploy"):
        plan("rollback", release, Options(), facts=Facts(previous={"image": OLD}))
    back, move, reconcile, _ = plan(
        "rollback",
        release,
        Options(redeploy=True),
        facts=Facts(previous={"image": OLD, "version": "1.0"}),
    )
    assert back.changes["blue.image"] == OLD and back.changes["blue.run_migrations"] is True
    assert move.move_traffic_to == "blue"
    assert reconcile.changes["live"] == "blue"


def test_refuse_rollback_to_an_unhealthy_slot():
    with pytest.raises(PlanError, match="0 healthy tasks"):
        plan("rollback", promoted(), Options(), healthy={"blue": 0})


# --- the whole cycle -----------------------------------------------------------------------------


def test_a_full_release_cycle_alternates_slots():
    release = state()
    for expected_live in ("green", "blue", "green"):
        release = run_all("deploy", release, Options(image=NEW))
        release = run_all("promote", release, Options(canary_steps=(10,)))
        assert release["live"] == expected_live
        release = run_all("drain", release, Options())
        assert release[other(expected_live)]["desired_count"] == 0
        assert release[other(expected_live)]["draining"] is True
        assert release[expected_live]["desired_count"] == 3


@given(
    live=st.sampled_from(["blue", "green"]),
    canary=st.integers(0, 99),
    live_count=st.integers(1, 8),
    idle_count=st.integers(0, 8),
    promoting=st.booleans(),
    action=st.sampled_from(["deploy", "promote", "drain", "rollback"]),
)
def test_no_plan_ever_drops_the_live_slot_below_its_count_or_leaves_it_without_image(
    live, canary, live_count, idle_count, promoting, action
):
    idle = other(live)
    release = {
        "live": live,
        "canary_percent": canary if idle_count else 0,
        live: {"image": OLD, "desired_count": live_count},
        idle: {"image": NEW, "desired_count": idle_count, "run_migrations": not promoting},
    }
    if promoting and idle_count:
        release["promoting"] = idle
    try:
        steps = plan(action, release, Options(image=NEW, canary_steps=(25,)))
    except (PlanError, NothingToDo):
        return
    current = release
    for step in steps:
        current = apply_changes(current, step.changes)
        serving = current["live"]
        assert current[serving].get("image")
        assert current[serving].get("desired_count", 0) >= 1
        if current.get("canary_percent"):
            assert current[other(serving)].get("desired_count", 0) >= 1


def test_unknown_action_is_refused():
    with pytest.raises(PlanError, match="unknown action"):
        plan("yolo", state())


# --- plans checked against the settings model (plan_for_stack) ---------------------------------

ROOT = Path(__file__).resolve().parent.parent


def shipped(stack):
    """A shipped stack file's `phoenix-aws:` config, as the program validates it."""
    return StackFile.for_stack(ROOT, stack).settings_config()


def after(raw, action, options=None):
    """The config once every step of `action` has been applied."""
    release = raw["release"]
    for step in plan_for_stack(action, raw, options):
        release = apply_changes(release, step.changes)
    return {**raw, "release": release}


def test_an_unpinned_image_is_refused_with_the_settings_message():
    with pytest.raises(PlanError) as refused:
        plan_for_stack("deploy", shipped("prod"), Options(image="shop:latest"))
    assert "step 1 (put shop:latest on idle slot green" in str(refused.value)
    assert "phoenix-aws:release.green.image: expected an image pinned by digest" in str(
        refused.value
    )


def test_deploying_a_build_on_a_stack_without_a_build_context_is_refused():
    with pytest.raises(PlanError) as refused:
        plan_for_stack("deploy", shipped("local"), Options())
    message = str(refused.value)
    assert "'build' needs phoenix-aws:image.context" in message
    assert "pass --image <repository>@sha256:<digest>" in message


def test_a_task_count_beyond_the_settings_limit_is_refused():
    with pytest.raises(PlanError, match=r"release\.green\.desired_count"):
        plan_for_stack("deploy", shipped("prod"), Options(image=NEW, desired_count=5000))


def test_rollback_right_after_a_deploy_is_refused_on_every_shipped_stack():
    for stack in ("dev", "prod", "local"):
        deployed_raw = after(shipped(stack), "deploy", Options(image=NEW))
        with pytest.raises(PlanError, match="never promoted"):
            plan_for_stack("rollback", deployed_raw, Options())


def test_the_settings_model_alone_refuses_traffic_to_a_slot_whose_migrations_did_not_run():
    """The planner's own rule aside, the settings model catches the same plan: the check is a
    second, independent line."""
    deployed_raw = after(shipped("prod"), "deploy", Options(image=NEW))
    release = apply_changes(deployed_raw["release"], {"live": "green"})
    with pytest.raises(
        Exception, match="slot green takes traffic, so its image must be migrated before it serves"
    ):
        load_settings({**deployed_raw, "release": release})


def test_promote_is_refused_up_front_when_no_operator_cidr_opens_the_test_route():
    deployed_raw = after(shipped("local"), "deploy", Options(image=NEW))
    assert not deployed_raw["edge"].get("operator_cidrs")
    with pytest.raises(PlanError, match=r"edge\.operator_cidrs is empty"):
        plan_for_stack("promote", deployed_raw, Options())


def test_a_stack_file_that_is_invalid_already_is_refused_before_planning():
    raw = {**shipped("prod"), "release": {"live": "purple"}}
    with pytest.raises(PlanError, match="the stack file is not valid as it is"):
        plan_for_stack("status", raw)


def test_a_whole_release_cycle_on_every_shipped_stack_passes_the_settings_model():
    for stack in ("dev", "prod"):
        raw = shipped(stack)
        raw = after(raw, "deploy", Options(image=NEW))
        raw = after(raw, "promote", Options(canary_steps=(10,)))
        assert raw["release"]["live"] == "green"
        raw = after(raw, "drain", Options())
        assert raw["release"]["blue"]["desired_count"] == 0
        load_settings(raw)
