"""Fault tests: each replays a release against the simulated stack and AWS of release_world.py
(the program's own guard, capacity gate, deployment check and migration helper; AWS's behaviours
through Stubber-checked boto3 clients; the lock in moto's DynamoDB).

- The process killed at every step boundary, in the middle of every `up` and in every wait of
  deploy, promote (with a canary), drain and rollback, then the same action run again after the
  stale lock is broken: the release ends where an uninterrupted one ends.
- Two operators interleaved, deploy/drain/rollback in every order, the second acting at each
  step boundary of the first: refused by the lock, or (breaking it with --force) never undone by
  the first, which stops at its next step.
- ECS rolling back underneath, scaling still in progress at the flip, a canary alarm firing, a
  migration still running at resume.

Every scenario ends, and is watched all along (release_world's invariants), with no traffic on a
slot without the capacity for it, no slot scaled down while it carries traffic or before its
sockets were told to leave, and no step recorded (committed for review, reported done) that the
stack did not apply.
"""

from __future__ import annotations

import pytest
from release_world import (
    ACTIONS,
    DEPLOYED,
    PROMOTED,
    SHIPPED,
    Scenario,
    settled,
)

from release.lock import LOCK_TTL_SECONDS
from stacks.settings.release import release_differences


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Each action run without a fault: where it ends, and how many kill points it passes."""
    found = {}
    for action, (start, argv) in ACTIONS.items():
        scenario = Scenario(tmp_path_factory.mktemp(action), start)
        process = scenario.process("alice")
        code, text = scenario.run(process, *argv)
        assert code == 0, text
        scenario.check()
        found[action] = (settled(scenario.world.deployed), process.count)
    return found


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_killed_at_any_point_the_release_resumes_to_the_same_end(tmp_path, references, action):
    start, argv = ACTIONS[action]
    end, points = references[action]
    assert points >= 4
    for point in range(1, points + 1):
        scenario = Scenario(tmp_path / str(point), start)
        code, text = scenario.run(scenario.process("alice", kill_at=point), *argv)
        assert code == "killed", (point, text)
        scenario.check(settled=False)
        assert "done" not in text.splitlines()
        code, text = scenario.resume("bob", argv)
        if code != 0 and "nothing to do" not in text:
            raise AssertionError(f"{action} killed at point {point}: resumed with {code}: {text}")
        scenario.check()
        assert release_differences(settled(scenario.world.deployed), end) == [], (point, text)


def test_ecs_rolling_back_underneath_fails_the_deploy_and_marks_nothing_done(tmp_path):
    scenario = Scenario(tmp_path, SHIPPED)
    scenario.world.ecs_rolls_back = True
    code, text = scenario.run(scenario.process("alice"), *ACTIONS["deploy"][1])
    assert code == 1 and "deployment check failed: ECS rolled service prod-green back" in text
    scenario.check()
    assert scenario.world.deployed == SHIPPED and scenario.recorded == []


def test_scaling_still_in_progress_at_the_flip_holds_the_traffic_until_it_lands(tmp_path):
    """The new floor reaches green's service only 4 minutes after the up asked for it; the
    program's capacity gate holds the weights until green runs what blue carries."""
    scenario = Scenario(tmp_path, DEPLOYED, scaling_delay=240)
    scenario.world.slots["blue"].desired = scenario.world.slots["blue"].floor = 5  # autoscaled
    scenario.world.slots["blue"].ready_at = [scenario.world.now] * 5
    code, text = scenario.run(scenario.process("alice"), "promote")
    assert code == 0, text
    scenario.check()
    assert scenario.world.slots["green"].healthy(scenario.world.now) >= 5


def test_a_canary_alarm_rolls_back_and_leaves_traffic_where_it_can_be_carried(tmp_path):
    scenario = Scenario(tmp_path, DEPLOYED)
    scenario.world.alarm_fires_at = scenario.world.now + 400
    code, text = scenario.run(
        scenario.process("alice"), "promote", "--canary", "10", "--bake", "900"
    )
    assert code == 1 and "rolled back because alarm prod-canary-green-5xx is in ALARM" in text
    scenario.check()
    assert scenario.world.weights == {"blue": 100, "green": 0}
    assert scenario.world.deployed["green"]["draining"] is True


def test_a_migration_still_running_at_resume_is_re_attached_not_run_again(tmp_path):
    scenario = Scenario(tmp_path, DEPLOYED)
    scenario.world.migration_seconds = 700  # a long data migration, still running at resume

    def in_the_migration_wait(count):
        if scenario.world.migrations and process.kill_at is None:
            process.kill_at = count  # dies while it waits for the task

    process = scenario.process("alice", on_boundary=in_the_migration_wait)
    code, _ = scenario.run(process, "promote")
    assert code == "killed" and len(scenario.world.migrations) == 1
    code, text = scenario.run(scenario.process("bob"), "unlock", "--force")
    assert code == 3 and "inside a `pulumi up`" in text  # never broken under an update
    code, text = scenario.resume("bob", ["promote"])
    assert code == 0, text
    scenario.check()  # never two migrations at once
    assert len(scenario.world.migrations) == 1  # re-attached to the one still running


def test_a_stale_lock_is_refused_until_broken_then_the_release_resumes(tmp_path):
    scenario = Scenario(tmp_path, PROMOTED)
    code, _ = scenario.run(scenario.process("alice", kill_at=2), "drain", "--bake", "0")
    assert code == "killed"
    code, text = scenario.run(scenario.process("bob"), "drain", "--bake", "0")
    assert code == 3 and "alice holds it" in text
    scenario.world.advance(LOCK_TTL_SECONDS + 1)
    code, text = scenario.run(scenario.process("bob"), "drain", "--bake", "0")
    assert code == 3 and "stale" in text and "unlock" in text
    code, text = scenario.resume("bob", ["drain", "--bake", "0", "--drain-pause", "0"])
    assert code == 0, text
    scenario.check()
