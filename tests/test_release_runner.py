"""Executing planned steps against a stack file and a fake stack, and the command around it."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime

import pytest
import yaml
from release_support import (
    BLUE_TG,
    NEW,
    OLD,
    ROOT,
    Command,
    FakeClock,
    FakeStack,
    StubbedAws,
    alarms_ok,
    answering_tester,
    healthy_targets,
    outputs,
    project_copy,
)

from release.__main__ import describe, main
from release.engine import PulumiCliMissingError, require_pulumi_cli
from release.plan import Options, PlanError, Step, plan
from release.runner import ReleaseError, Runner, target_health
from release.smoke import SmokeTestError, WrongSlotError
from release.stack_file import StackFile
from stacks.settings import load_settings


@pytest.fixture
def project(tmp_path):
    return project_copy(tmp_path)


def runner(project, stack=None, **kwargs):
    stack_file = StackFile.for_stack(project, "prod")
    stack = stack or FakeStack(stack_file.path)
    clock = kwargs.pop("clock", FakeClock())
    lines: list[str] = []
    run = Runner(
        stack_file=stack_file,
        driver=stack,
        action=kwargs.pop("action", "deploy"),
        aws=kwargs.pop("aws", StubbedAws()),
        echo=lines.append,
        sleep=clock.sleep,
        clock=clock,
        tester=kwargs.pop("tester", answering_tester()),
        **kwargs,
    )
    return run, stack, stack_file, lines


def release_in(text: str) -> dict:
    return yaml.safe_load(text)["config"]["phoenix-aws:release"]


def set_release(project, **changes):
    StackFile.for_stack(project, "prod").change_release(changes)


# --- config is saved with a successful up, restored when it fails --------------------------------


def test_each_change_is_in_the_stack_file_when_its_up_runs(project):
    run, stack, stack_file, _ = runner(project)
    run.run(plan("deploy", stack_file.release(), Options(image=NEW)))
    ((message, seen),) = stack.ups
    assert message.startswith("release deploy: put " + NEW)
    assert release_in(seen)["green"]["image"] == NEW
    assert release_in(seen)["green"]["desired_count"] == 3


def test_a_failed_up_restores_the_stack_file_exactly(project):
    before = (project / "stacks" / "Pulumi.prod.yaml").read_text()
    stack = FakeStack(project / "stacks" / "Pulumi.prod.yaml", fail_up=1)
    run, _, stack_file, lines = runner(project, stack=stack)
    with pytest.raises(Exception, match="update failed"):
        run.run(plan("deploy", stack_file.release(), Options(image=NEW)))
    assert release_in(stack.ups[0][1])["green"]["image"] == NEW  # the up saw the change…
    assert stack_file.text() == before  # …and it is gone again
    assert any("Pulumi.prod.yaml says what is deployed again" in line for line in lines)


def test_a_change_is_recorded_only_after_its_up_succeeded(project):
    recorded: list[str] = []

    class Recording:
        def record(self, title):
            recorded.append(title)

        def finish(self):
            recorded.append("finish")

    stack = FakeStack(project / "stacks" / "Pulumi.prod.yaml", fail_up=2)
    run, _, stack_file, _ = runner(project, stack=stack, recorder=Recording())
    steps = [
        Step(title="one", changes={"canary_percent": 0, "green.desired_count": 1}),
        Step(title="two", changes={"green.desired_count": 2}),
    ]
    with pytest.raises(Exception, match="update failed"):
        run.run(steps)
    assert recorded == ["one", "finish"]
    assert stack_file.release()["green"]["desired_count"] == 1


def test_a_build_is_pinned_to_its_digest_by_a_second_up(project):
    stack = FakeStack(
        project / "stacks" / "Pulumi.prod.yaml", outputs(slot_images={"green": NEW, "blue": OLD})
    )
    run, _, stack_file, _ = runner(project, stack=stack)
    run.run(
        [
            Step(
                title="deploy",
                changes={"green.image": "build", "green.desired_count": 1},
                pin_image_slot="green",
            )
        ]
    )
    assert [release_in(text)["green"]["image"] for _, text in stack.ups] == ["build", NEW]
    assert stack.ups[1][0] == f"release deploy: pin slot green to {NEW}"
    assert stack_file.release()["green"]["image"] == NEW


def test_a_missing_digest_after_a_build_is_an_error(project):
    run, _, _, _ = runner(project)
    with pytest.raises(ReleaseError, match="no built digest for slot green"):
        run.run([Step(title="x", changes={"green.desired_count": 1}, pin_image_slot="green")])


# --- smoke tests ---------------------------------------------------------------------------------


def deployed(project):
    set_release(
        project,
        **{
            "green.image": NEW,
            "green.desired_count": 3,
            "green.max_count": 12,
            "green.run_migrations": False,
        },
    )


def test_promote_checks_the_slot_before_any_change_and_again_before_the_flip(project):
    deployed(project)
    calls: list[tuple[str, str, str]] = []
    stack_file = StackFile.for_stack(project, "prod")
    stack = FakeStack(stack_file.path)
    original_tester = answering_tester(calls)

    def tester(url, header, slot):
        calls.append(("ups so far", str(len(stack.ups)), slot))
        return original_tester(url, header, slot)

    aws = StubbedAws()
    alarms_ok(aws, reads=2)  # when the 5 s bake starts and when it ends
    run, _, _, lines = runner(project, stack=stack, tester=tester, action="promote", aws=aws)
    run.run(plan("promote", stack_file.release(), Options(canary_steps=(20,), bake_seconds=5)))
    assert calls == [
        ("ups so far", "0", "green"),  # pre-flight: nothing changed yet
        ("https://app.example.com", "X-Release-Slot", "green"),
        ("ups so far", "1", "green"),  # after the migrations, before the canary and the flip
        ("https://app.example.com", "X-Release-Slot", "green"),
    ]
    assert [release_in(text)["live"] for _, text in stack.ups] == ["blue", "blue", "green"]
    assert "      slot green answered: status ok, version v2" in lines


def test_a_failed_preflight_refuses_with_advice_and_changes_nothing(project):
    deployed(project)
    before = (project / "stacks" / "Pulumi.prod.yaml").read_text()

    def live_answers(url, header, slot):
        raise WrongSlotError(f"asked for slot {slot}, but slot blue answered")

    run, stack, stack_file, _ = runner(project, tester=live_answers, action="promote")
    with pytest.raises(PlanError) as refused:
        run.run(plan("promote", stack_file.release(), Options()))
    assert "edge.operator_cidrs (203.0.113.0/24)" in str(refused.value)
    assert "Nothing was changed" in str(refused.value)
    assert stack.ups == [] and stack_file.text() == before


def test_a_failed_smoke_test_stops_before_the_flip_and_leaves_the_promotion_resumable(project):
    deployed(project)
    checks = iter([None, SmokeTestError("slot green did not pass the smoke test: HTTP 500")])

    def tester(url, header, slot):
        failure = next(checks)
        if failure:
            raise failure
        return answering_tester()(url, header, slot)

    run, stack, stack_file, _ = runner(project, tester=tester, action="promote")
    with pytest.raises(ReleaseError, match=r"HTTP 500.*Traffic has not moved to slot green"):
        run.run(plan("promote", stack_file.release(), Options()))
    assert stack_file.release()["live"] == "blue"
    assert stack_file.release()["promoting"] == "green"
    assert len(stack.ups) == 1


# --- waits show progress ------------------------------------------------------------------------


def test_a_wait_says_what_it_waits_for_until_when_and_how_long_is_left(project):
    run, _, _, lines = runner(project)
    run.run([Step(title="bake", wait_seconds=150, waiting_for="the 10% canary to bake")])
    assert lines == [
        "[1/1] bake",
        "      waiting 150 s for the 10% canary to bake (until 10:02:30 UTC)",
        "      … 90 s left",
        "      … 30 s left",
        "done",
    ]


def test_an_up_says_what_it_changes_and_how_long_it_took(project):
    clock = FakeClock()
    stack = FakeStack(project / "stacks" / "Pulumi.prod.yaml", up_seconds=95, clock=clock)
    run, _, _, lines = runner(project, stack=stack, clock=clock)
    run.run([Step(title="more", changes={"green.desired_count": 1, "green.draining": False})])
    assert lines[1:3] == [
        "      set green.desired_count: 1, green.draining: false; pulumi up",
        "      up finished in 95 s",
    ]


def test_every_planned_wait_says_in_words_what_it_waits_for():
    release = {
        "live": "green",
        "blue": {"image": OLD, "desired_count": 2},
        "green": {"image": NEW, "desired_count": 2},
    }
    waits = [s for s in plan("drain", release, Options()) if s.wait_seconds]
    assert [s.waiting_for.split(" (")[0] for s in waits] == [
        "the bake before slot blue drains",
        "",  # the socket wait prints its own line (metric, threshold, deadline)
        "the clients of this wave to settle before the next one",
    ]


def test_without_a_socket_metric_output_the_drain_waits_the_whole_window(project):
    stack = FakeStack(project / "stacks" / "Pulumi.prod.yaml", outputs(socket_metric=None))
    clock = FakeClock()
    run, _, _, lines = runner(project, stack=stack, clock=clock)
    run._outputs = None
    run.run([Step(title="wait", wait_seconds=430, socket_drain_slot="blue")])
    assert sum(clock.slept) == 430
    assert "no socket_metric output to watch" in lines[1]


# --- health ---------------------------------------------------------------------------------------


def test_target_health_counts_healthy_targets_per_slot():
    aws = StubbedAws()
    healthy_targets(aws, blue=3, green=2)
    assert target_health(aws, outputs()) == {"blue": 3, "green": 2}
    aws.assert_no_pending_responses()


def test_a_failed_health_read_is_an_error_not_an_empty_answer():
    aws = StubbedAws()
    aws.stub("elbv2").add_client_error(
        "describe_target_health",
        "AccessDenied",
        "not authorized",
        expected_params={"TargetGroupArn": BLUE_TG},
    )
    with pytest.raises(ReleaseError, match="could not read the health of slot blue's targets"):
        target_health(aws, outputs())


# --- the command ---------------------------------------------------------------------------------


def cloudwatch_reports(aws: StubbedAws, count: int, at: datetime) -> None:
    aws.stub("cloudwatch").add_response(
        "get_metric_data",
        {"MetricDataResults": [{"Id": "sockets", "Timestamps": [at], "Values": [float(count)]}]},
        None,
    )


def test_deploy_promote_drain_leave_a_stack_file_a_person_would_have_written(project):
    """The whole cycle through the command, then the file read with PyYAML."""
    path = project / "stacks" / "Pulumi.prod.yaml"
    original = path.read_text()
    command = Command(project, FakeStack(path))
    healthy_targets(command.aws, blue=3, green=0)
    assert command("prod", "deploy", "--image", NEW, "--version", "2026.11.24-1") == 0
    healthy_targets(command.aws, blue=3, green=3)
    alarms_ok(command.aws, reads=3)
    assert command("prod", "promote", "--canary", "10", "--bake", "60") == 0, command.errors
    cloudwatch_reports(command.aws, 0, datetime.fromtimestamp(command.clock.now + 60, UTC))
    assert command("prod", "drain", "--bake", "0", "--drain-pause", "0") == 0, command.errors

    text = path.read_text()
    release = release_in(text)
    assert release == {
        "live": "green",
        "canary_percent": 0,
        "blue": {
            "image": release_in(original)["blue"]["image"],
            "version": "2026.11.20-1",
            "desired_count": 0,
            "max_count": 0,
            "draining": True,
        },
        "green": {
            "image": NEW,
            "version": "2026.11.24-1",
            "desired_count": 3,
            "max_count": 12,
            "run_migrations": True,
        },
    }
    assert type(release["green"]["desired_count"]) is int
    # Every comment of the original file is still there, and outside the release section no line
    # moved.
    comments = [line.split("#", 1)[1] for line in original.splitlines() if "#" in line]
    assert all(comment in text for comment in comments)
    head = original.split("  phoenix-aws:release:")[0]
    assert text.startswith(head)
    load_settings(StackFile(path).settings_config())
    for action in ("deploy", "promote", "drain", "rollback", "status"):
        assert command("prod", action, "--plan", "--image", NEW) in (0, 3), (
            command.errors
        )  # plans again, refusals are refusals
    assert "Traceback" not in command.errors


def test_drain_with_nothing_to_do_says_so_and_exits_0(project):
    command = Command(project)
    assert command("prod", "drain") == 0
    assert "nothing to do: slot green runs no tasks: nothing to drain" in command.output
    assert command.stack.ups == []


def test_a_failed_health_read_stops_a_promote_before_any_change(project):
    deployed(project)
    before = (project / "stacks" / "Pulumi.prod.yaml").read_text()
    command = Command(project)
    command.aws.stub("elbv2").add_client_error(
        "describe_target_health",
        "Throttling",
        "Rate exceeded",
        expected_params={"TargetGroupArn": BLUE_TG},
    )
    assert command("prod", "promote") == 1
    assert "could not read the health of slot blue's targets" in command.errors
    assert "Rate exceeded" in command.errors
    assert command.stack.ups == []
    assert (project / "stacks" / "Pulumi.prod.yaml").read_text() == before


def test_a_promote_of_a_slot_with_no_healthy_task_is_refused(project):
    deployed(project)
    command = Command(project)
    healthy_targets(command.aws, blue=3, green=0)
    assert command("prod", "promote") == 3
    assert "refused: refusing to promote slot green: it has 0 healthy tasks" in command.errors


def deployed_elsewhere(command: Command, **changes) -> dict:
    """Another checkout released: the stack's release section moved, this file did not."""
    from release.plan import apply_changes
    from stacks.settings import release_section

    state = release_section(apply_changes(command.stack.deployed(), changes))
    command.stack.stack_outputs["release_state"] = state
    return state


def test_a_checkout_behind_the_deployed_release_takes_the_stack_and_plans_from_it(project):
    command = Command(project)
    deployed_elsewhere(
        command,
        **{"green.image": NEW, "green.desired_count": 3, "green.max_count": 12, "live": "green"},
    )
    healthy_targets(command.aws, blue=0, green=3)
    assert command("prod", "deploy", "--image", OLD.replace("1" * 64, "3" * 64)) == 0
    assert "Pulumi.prod.yaml did not say what is deployed; the stack is the truth" in (
        command.output
    )
    ((_, seen),) = command.stack.ups
    # The idle slot is blue, as the stack says, and green (live on the stack) is untouched.
    assert release_in(seen)["live"] == "green"
    assert release_in(seen)["green"]["image"] == NEW
    assert release_in(seen)["blue"]["image"].endswith("3" * 64)


def test_status_shows_where_the_stack_file_differs_from_the_stack(project):
    command = Command(project)
    deployed_elsewhere(command, **{"green.image": NEW, "green.desired_count": 3, "live": "green"})
    healthy_targets(command.aws, blue=3, green=0)
    assert command("prod", "status") == 0
    assert "stack file differs: live: green → blue (sync takes the stack's)" in command.output


def test_status_still_shows_the_slots_when_health_cannot_be_read(project):
    command = Command(project)
    command.aws.stub("elbv2").add_client_error(
        "describe_target_health",
        "AccessDenied",
        "denied",
        expected_params={"TargetGroupArn": BLUE_TG},
    )
    assert command("prod", "status") == 0
    assert "health: unknown (could not read the health of slot blue's targets" in command.output


def test_a_failed_up_ends_with_one_message_exit_1_and_the_file_restored(project):
    before = (project / "stacks" / "Pulumi.prod.yaml").read_text()
    command = Command(project, FakeStack(project / "stacks" / "Pulumi.prod.yaml", fail_up=1))
    assert command("prod", "deploy", "--image", NEW) == 1
    assert command.err == [
        "phoenix-aws release: failed: pulumi up of stack prod failed (exit 255):\n"
        "  error: update failed"
    ]
    assert (project / "stacks" / "Pulumi.prod.yaml").read_text() == before


def promoted(project):
    deployed(project)
    set_release(project, **{"live": "green", "green.run_migrations": True})


def test_an_aws_error_ends_with_one_line_and_exit_1(project):
    promoted(project)
    command = Command(project)
    command.aws.stub("cloudwatch").add_client_error(
        "get_metric_data", "AccessDenied", "no cloudwatch:GetMetricData"
    )
    assert command("prod", "drain", "--bake", "0") == 1
    assert len(command.err) == 1
    assert command.err[0].startswith("phoenix-aws release: failed: AWS: An error occurred")
    assert "no cloudwatch:GetMetricData" in command.err[0]
    assert StackFile.for_stack(project, "prod").release()["blue"]["draining"] is True  # kept


def test_a_stack_the_backend_does_not_know_exits_2(project):
    from release.engine import EngineUnavailableError

    def no_stack(name, directory, echo):
        raise EngineUnavailableError("selecting stack prod: no such stack")

    command = Command(project, driver=no_stack)
    assert command("prod", "status") == 2
    assert command.err == ["phoenix-aws release: selecting stack prod: no such stack"]


def test_missing_pulumi_cli_is_a_clear_error():
    with pytest.raises(PulumiCliMissingError, match="Pulumi CLI is not installed"):
        require_pulumi_cli(which=lambda name: None)


def test_command_line_without_the_cli_exits_2_with_the_message(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        code = main(["prod", "status"])
    assert code == 2
    assert "the Pulumi CLI is not installed or not on PATH" in err.getvalue()


def test_stack_files_hold_a_release_section_the_planner_understands():
    for stack in ("dev", "prod", "local"):
        release = StackFile.for_stack(ROOT, stack).release()
        assert release["live"] in ("blue", "green")
        assert "live:" in describe(release)


def test_an_interrupted_up_restores_the_file_and_says_how_to_continue(project):
    path = project / "stacks" / "Pulumi.prod.yaml"
    before = path.read_text()
    stack = FakeStack(path)

    def interrupted(message, env=None):
        raise KeyboardInterrupt

    stack.up = interrupted  # type: ignore[method-assign]
    command = Command(project, stack)
    assert command("prod", "deploy", "--image", NEW) == 130
    assert command.err == [
        "phoenix-aws release: interrupted; run the same action again to continue where it stopped"
    ]
    assert path.read_text() == before
