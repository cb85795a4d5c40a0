"""The deployed stack is the source of truth, not the checkout.

- The stack exports its whole release section; the program's guard refuses an `up` that would
  undo a release step, and an up of the release command whose starting point moved.
- Before every up the command reads the stack again and stops when someone else changed it; the
  up then has to report exactly what the step set.
- A crash resumes from the stack: a killed up is never "done", a killed drain never scales down
  before its sockets were told, a killed promote is not refused as behind, an action under way
  keeps its options, and `sync` rebuilds the stack file from the stack.

The FakeStack runs the program's own guard (`release_change_problems`) on every up, with the
environment the command gave it, as the program does at the start of `pulumi up`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import harness
import pytest
import yaml
from release_support import (
    NEW,
    OLD,
    ROOT,
    Command,
    FakeStack,
    alarms_ok,
    healthy_targets,
    project_copy,
)

from release.plan import apply_changes
from release.stack_file import StackFile, read_config
from stacks.settings import (
    ConfigError,
    raw_config_from_pulumi,
    release_change_problems,
    release_section,
)

PROD = raw_config_from_pulumi(harness.stack_config("prod"))
SHIPPED = release_section(PROD["release"])


class Killed(BaseException):
    """The release process died here: nothing after this point runs, no cleanup either."""


@pytest.fixture
def project(tmp_path):
    return project_copy(tmp_path)


def release_in(text: str) -> dict:
    return yaml.safe_load(text)["config"]["phoenix-aws:release"]


def moved(section: dict, **changes) -> dict:
    result = release_section(apply_changes(section, changes))
    assert result is not None
    return result


DEPLOYED = moved(
    SHIPPED,
    **{"green.image": NEW, "green.desired_count": 3, "green.max_count": 12},
    **{"green.run_migrations": False},
)
PROMOTED = moved(DEPLOYED, **{"live": "green", "green.run_migrations": True})


# --- the program's guard ------------------------------------------------------------------------


def test_the_stack_exports_the_whole_release_section():
    run = harness.run_main(harness.stack_config("prod"), stack="prod")
    assert run.exports["release_state"] == SHIPPED
    assert set(SHIPPED["blue"]) == {
        "image",
        "desired_count",
        "max_count",
        "version",
        "run_migrations",
        "draining",
        "spot",
    }
    assert {"live", "canary_percent", "promoting", "drain_window_seconds", "in_progress"} <= set(
        SHIPPED
    )


@pytest.mark.parametrize(
    "undone",
    [
        {"live": "blue", "blue.draining": False},
        {"green.image": OLD},
        {"green.version": "old"},
        {"blue.draining": False},
        {"green.run_migrations": False},
        {"in_progress": None},
    ],
)
def test_an_up_from_a_checkout_behind_the_release_is_refused_by_the_program(undone):
    deployed = moved(
        PROMOTED,
        **{"blue.draining": True},
        in_progress={
            "action": "drain",
            "step": 2,
            "of": 5,
            "title": "tell slot blue",
            "by": "alice",
            "options": None,
        },
    )
    behind = moved(deployed, **undone)
    problems = release_change_problems(behind, deployed)
    assert len(problems) == len(undone)
    assert [p.split(" is ")[0] for p in problems] == [f"release.{path}" for path in undone]
    assert "python -m release <stack> sync" in problems[0]
    assert release_change_problems(behind, deployed, by_hand=True) == []


def test_capacity_and_reviewed_settings_may_change_in_an_ordinary_up():
    changed = moved(
        PROMOTED, **{"green.desired_count": 6, "green.max_count": 20, "green.spot": True}
    )
    assert release_change_problems(changed, PROMOTED) == []


def test_the_release_commands_up_runs_only_on_the_state_it_planned_from():
    planned = moved(PROMOTED, **{"blue.desired_count": 2, "blue.max_count": 2})
    assert release_change_problems(planned, PROMOTED, expected=json.dumps(PROMOTED)) == []
    rolled_back = moved(PROMOTED, live="blue")
    (problem,) = release_change_problems(planned, rolled_back, expected=json.dumps(PROMOTED))
    assert problem.startswith("the deployed release changed since the release command read it")
    assert "live: green → blue" in problem


def test_the_program_raises_the_guard_before_any_resource():
    config = harness.stack_config("prod")
    with pytest.raises(ConfigError) as refused:
        harness.run_main(config, stack="prod", previous_outputs={"release_state": PROMOTED})
    assert refused.value.problems[0].startswith("release.live is blue in the stack file but green")


# --- before every up ----------------------------------------------------------------------------


def test_another_operators_rollback_during_a_wait_stops_the_next_step(project):
    """A drains from one checkout; B rolls back from another during A's bake (B broke the
    lock). A's next up would put `live` back on the bad slot: it stops instead."""
    StackFile.for_stack(project, "prod").write_release(PROMOTED)
    alice = Command(project)
    stack = alice.stack

    def sleep(seconds):
        if not stack.ups:  # Bob's rollback lands on the stack
            stack.stack_outputs["release_state"] = moved(PROMOTED, live="blue")
        alice.clock.sleep(seconds)

    alice.services.sleep = sleep
    assert alice("prod", "drain") == 1
    assert "the deployed release changed since this release last looked" in alice.errors
    assert "live: green → blue" in alice.errors
    assert stack.ups == []  # no up ran
    assert stack.deployed()["live"] == "blue"


def test_a_change_that_lands_between_the_check_and_the_up_is_refused_by_the_up(project):
    """The command's own check passed, then the stack moved: the program's guard, which reads
    the deployed outputs under Pulumi's update lock, refuses the up."""
    alice = Command(project)
    stack = alice.stack
    original = stack.outputs
    reads = []

    def outputs():
        result = original()
        reads.append(1)
        if len(reads) == 3:  # the read before the up: then Bob's change lands
            stack.stack_outputs["release_state"] = moved(SHIPPED, **{"blue.desired_count": 5})
        return result

    stack.outputs = outputs  # type: ignore[method-assign]
    healthy_targets(alice.aws, blue=3, green=0)
    assert alice("prod", "deploy", "--image", NEW) == 1
    assert "the deployed release changed since the release command read it" in alice.errors
    assert "blue.desired_count: 3 → 5" in alice.errors
    assert release_in(StackFile.for_stack(project, "prod").text())["green"]["desired_count"] == 0


def test_an_up_must_leave_the_stack_saying_what_the_step_set(project):
    stack = FakeStack(project / "stacks" / "Pulumi.prod.yaml")
    original = stack.up

    def up_that_loses_a_change(message, env=None):
        result = original(message, env)
        result["release_state"] = SHIPPED  # e.g. an older program that ignores the section
        stack.stack_outputs["release_state"] = SHIPPED
        return result

    stack.up = up_that_loses_a_change  # type: ignore[method-assign]
    command = Command(project, stack)
    assert command("prod", "deploy", "--image", NEW) == 1
    assert "the up finished, but the stack reports another release state" in command.errors
    assert "done" not in command.out


def test_each_step_writes_where_the_release_is_and_the_last_one_clears_it(project):
    StackFile.for_stack(project, "prod").write_release(DEPLOYED)
    command = Command(project)
    healthy_targets(command.aws, blue=3, green=3)
    alarms_ok(command.aws, reads=2)
    assert command("prod", "promote", "--canary", "10", "--bake", "30") == 0, command.errors
    markers = [release_in(text).get("in_progress") for _, text in command.stack.ups]
    assert markers[:-1] == [
        {
            "action": "promote",
            "step": step,
            "of": 6,
            "title": title,
            "by": "alice@laptop (pid 1)",
            "options": "--canary 10 --bake 30",
        }
        for step, title in (
            (2, "run migrations with slot green's image (the listener waits for them)"),
            (4, "canary: 10% of traffic to slot green"),
        )
    ]
    assert markers[-1] is None and command.stack.deployed()["in_progress"] is None


# --- a crash resumes from the stack ---------------------------------------------------------------


def killed_in_up(stack: FakeStack, number: int) -> None:
    """The process dies in the middle of up `number`: the engine saw the stack file, then
    nothing; the stack still reports what was deployed before."""
    original = stack.up

    def up(message, env=None):
        if len(stack.ups) + 1 == number:
            stack.ups.append((message, stack.stack_file.read_text()))
            raise Killed
        return original(message, env)

    stack.up = up  # type: ignore[method-assign]


def run_until_killed(command: Command, *argv: str) -> None:
    """Run the command until it dies; leave the stack file as the dead process left it (no
    cleanup runs after SIGKILL)."""
    path = command.project / "stacks" / "Pulumi.prod.yaml"
    with pytest.raises(Killed):
        command(*argv)
    path.write_text(command.stack.ups[-1][1])


def test_a_deploy_killed_in_its_up_is_not_done_and_is_applied_when_run_again(project):
    stack = FakeStack(project / "stacks" / "Pulumi.prod.yaml")
    killed_in_up(stack, 1)
    first = Command(project, stack)
    run_until_killed(first, "prod", "deploy", "--image", NEW)
    assert "done" not in first.out
    assert release_in(StackFile.for_stack(project, "prod").text())["green"]["image"] == NEW
    assert stack.deployed()["green"]["image"] != NEW  # the stack never got it
    first.stack.stack_outputs["release_lock_table"] = None  # the dead process's lock: a new table
    again = Command(project, stack)
    healthy_targets(again.aws, blue=3, green=0)
    assert again("prod", "deploy", "--image", NEW) == 0, again.errors
    assert stack.deployed()["green"]["image"] == NEW
    assert "done" in again.out


def test_a_drain_killed_in_its_drain_up_tells_the_sockets_before_any_scale_down(project):
    StackFile.for_stack(project, "prod").write_release(PROMOTED)
    stack = FakeStack(project / "stacks" / "Pulumi.prod.yaml")
    killed_in_up(stack, 1)
    run_until_killed(Command(project, stack), "prod", "drain", "--bake", "0")
    assert release_in(StackFile.for_stack(project, "prod").text())["blue"]["draining"] is True
    stack.stack_outputs["release_lock_table"] = None
    again = Command(project, stack)
    again.aws.stub("cloudwatch").add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {
                    "Id": "sockets",
                    "Timestamps": [datetime.fromtimestamp(again.clock.now + 60, UTC)],
                    "Values": [0.0],
                }
            ]
        },
    )
    assert again("prod", "drain", "--bake", "0", "--drain-pause", "0") == 0, again.errors
    resumed = [message for message, _ in stack.ups[1:]]
    assert resumed[0] == "release drain: tell slot blue's nodes to shed their WebSockets over 300 s"
    assert all("scale slot blue down" in m for m in resumed[1:])
    assert stack.deployed()["blue"]["desired_count"] == 0


def test_a_promote_killed_in_its_flip_is_continued_not_refused_as_behind(project):
    StackFile.for_stack(project, "prod").write_release(DEPLOYED)
    stack = FakeStack(project / "stacks" / "Pulumi.prod.yaml")
    killed_in_up(stack, 2)
    first = Command(project, stack)
    healthy_targets(first.aws, blue=3, green=3)
    run_until_killed(first, "prod", "promote")
    assert release_in(StackFile.for_stack(project, "prod").text())["live"] == "green"  # the file
    assert stack.deployed()["live"] == "blue"  # the stack
    stack.stack_outputs["release_lock_table"] = None
    again = Command(project, stack)
    healthy_targets(again.aws, blue=3, green=3)
    assert again("prod", "promote") == 0, again.errors
    assert "did not say what is deployed; the stack is the truth" in again.output
    assert stack.deployed()["live"] == "green"
    # It continued: no second migration up, straight to the smoke test and the flip.
    assert [m for m, _ in stack.ups[2:]] == [
        "release promote: flip live to slot green; slot blue keeps running for instant rollback"
    ]


def test_a_resumed_promote_keeps_the_canary_it_was_started_with(project):
    StackFile.for_stack(project, "prod").write_release(DEPLOYED)
    stack = FakeStack(project / "stacks" / "Pulumi.prod.yaml")
    killed_in_up(stack, 3)  # during the 50% step
    first = Command(project, stack)
    healthy_targets(first.aws, blue=3, green=3)
    alarms_ok(first.aws, reads=2)
    run_until_killed(first, "prod", "promote", "--canary", "10,50", "--bake", "30")
    assert stack.deployed()["canary_percent"] == 10
    stack.stack_outputs["release_lock_table"] = None
    again = Command(project, stack)
    healthy_targets(again.aws, blue=3, green=3)
    alarms_ok(again.aws, reads=2)
    assert again("prod", "promote") == 0, again.errors
    assert "continuing the promote under way with its options: --canary 10,50 --bake 30" in (
        again.output
    )
    assert [m for m, _ in stack.ups[3:]] == [
        "release promote: canary: 50% of traffic to slot green",
        "release promote: flip live to slot green; slot blue keeps running for instant rollback",
    ]


def test_no_other_action_starts_while_one_is_under_way_but_rollback(project):
    StackFile.for_stack(project, "prod").write_release(
        moved(
            PROMOTED,
            **{"blue.draining": True},
            in_progress={
                "action": "drain",
                "step": 2,
                "of": 7,
                "title": "tell slot blue's nodes to shed their WebSockets over 300 s",
                "by": "bob@desk",
                "options": "--drain-batch 2",
            },
        )
    )
    command = Command(project)
    assert command("prod", "deploy", "--image", OLD) == 3
    assert "a drain is under way (step 2/7 done by bob@desk" in command.errors
    assert "python -m release prod drain --drain-batch 2" in command.errors
    healthy_targets(command.aws, blue=3, green=3)
    assert command("prod", "status") == 0
    assert "under way: drain step 2/7 done (tell slot blue's nodes" in command.output


# --- sync ---------------------------------------------------------------------------------------


def test_sync_writes_the_deployed_section_into_the_file_and_shows_the_diff(project):
    path = project / "stacks" / "Pulumi.prod.yaml"
    before = path.read_text()
    command = Command(project)
    command.stack.stack_outputs["release_state"] = PROMOTED
    assert command("prod", "sync") == 0, command.errors
    after = path.read_text()
    assert release_section(raw_config_from_pulumi(read_config(after))["release"]) == PROMOTED
    assert "-    live: blue" in command.output and "+    live: green" in command.output
    # Round trip: comments and everything outside the release section are kept.
    assert all(line in after for line in before.splitlines() if "#" in line)
    assert after.split("  phoenix-aws:release:")[0] == before.split("  phoenix-aws:release:")[0]
    assert command("prod", "sync") == 0
    assert "already says what is deployed" in command.output
    assert command.stack.ups == []


def test_release_settings_not_yet_deployed_are_not_overwritten_by_a_release(project):
    StackFile.for_stack(project, "prod").change_release({"blue.spot": True})
    command = Command(project)
    command.stack.stack_outputs["release_state"] = SHIPPED
    assert command("prod", "deploy", "--image", NEW) == 3
    assert "changes release settings that are not deployed (blue.spot: false → true)" in (
        command.errors
    )
    assert release_in((project / "stacks" / "Pulumi.prod.yaml").read_text())["blue"]["spot"]
    assert command("prod", "up") == 0, command.errors  # the reviewed change, under the lock
    ((message, seen),) = command.stack.ups
    assert message == "up of prod from the checkout (release lock held)"
    assert release_in(seen)["blue"]["spot"] is True
    assert json.loads(command.stack.envs[0]["PHOENIX_AWS_RELEASE_EXPECTED"]) == SHIPPED


def test_up_refuses_a_checkout_that_would_undo_a_release(project):
    command = Command(project)
    command.stack.stack_outputs["release_state"] = PROMOTED
    assert command("prod", "up") == 3
    assert "does not say what is deployed (live: blue → green" in command.errors
    assert "python -m release <stack> sync" in command.errors
    assert command.stack.ups == []


def test_the_shipped_stack_files_say_what_a_fresh_stack_exports():
    for stack in ("dev", "prod", "local"):
        text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
        section = raw_config_from_pulumi(read_config(text))["release"]
        assert release_section(section) is not None, stack
