"""The Automation API driver against a fake `pulumi` executable on PATH (tests/fake_pulumi).

The real `pulumi.automation` code runs unchanged; only the CLI it starts is ours. Each test states
the exact CLI calls an action makes, in order, with their flags, working directory and the
environment the release command controls.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import yaml
from fake_pulumi import FakePulumi
from release_support import (
    BLUE_TG,
    LISTENER,
    NEW,
    ROOT,
    Command,
    healthy_targets,
    listener_has,
    listener_moves_to,
    live_carries,
    lock_table,
    one_group_healthy,
    outputs,
    project_copy,
    service_desired,
)

from release.engine import AutomationDriver
from release.stack_file import StackFile
from stacks.settings import raw_config_from_pulumi, release_section

STACK = "prod"
VERSION = ["version"]
SELECT = ["--non-interactive", "stack", "select", "--stack", STACK]
OUTPUTS = [
    ["--non-interactive", "stack", "output", "--json", "--stack", STACK],
    ["--non-interactive", "stack", "output", "--json", "--show-secrets", "--stack", STACK],
]
HISTORY = [
    "--non-interactive", "stack", "history", "--json", "--show-secrets",
    "--page-size", "1", "--page", "1", "--stack", STACK,
]  # fmt: skip


def reads(count: int, stack: str = STACK) -> list[list[str]]:
    """`count` reads of the stack's outputs: the first to find the lock, one under the lock, one
    before each up (the stack is the truth, read again before every change)."""
    return [[*c[:-1], stack] for c in OUTPUTS] * count


def up(message: str, stack: str = STACK) -> list[list[str]]:
    """`Stack.up`: the update itself, then the outputs and the summary it returns."""
    run = ["--non-interactive", "up", "--yes", "--skip-preview", "--message", message]
    run += ["--exec-kind", "auto.local", "--stack", stack]
    return [run, *[[*c[:-1], stack] for c in OUTPUTS], [*HISTORY[:-1], stack]]


def ups(fake: FakePulumi) -> list[dict]:
    return [call for call in fake.calls() if call["argv"][1:2] == ["up"]]


def release_in(text: str) -> dict:
    return yaml.safe_load(text)["config"]["phoenix-aws:release"]


@pytest.fixture
def project(tmp_path):
    return project_copy(tmp_path)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    fake = FakePulumi(tmp_path / "fake-pulumi", outputs=outputs(release_lock_table=lock_table()))
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    return fake


def command(project, **services):
    return Command(project, driver=AutomationDriver, **services)


def deployed(project):
    StackFile.for_stack(project, STACK).change_release(
        {
            "green.image": NEW,
            "green.desired_count": 3,
            "green.max_count": 12,
            "green.run_migrations": False,
        }
    )


def promoted(project):
    deployed(project)
    StackFile.for_stack(project, STACK).change_release(
        {"live": "green", "green.run_migrations": True}
    )


def test_status_selects_the_stack_and_reads_its_outputs_only(project, fake):
    run = command(project)
    healthy_targets(run.aws, blue=3, green=0)
    assert run(STACK, "status") == 0, run.errors
    assert fake.commands() == [VERSION, SELECT, *OUTPUTS]
    # `pulumi version` runs where the command was started; every stack command in the project.
    assert {call["cwd"] for call in fake.calls()[1:]} == {str(project)}


def test_deploy_runs_one_up_that_reads_the_edited_stack_file(project, fake):
    run = command(project)
    assert run(STACK, "deploy", "--image", NEW) == 0, run.errors
    title = f"put {NEW} on idle slot green and scale it to 3"
    assert fake.commands() == [VERSION, SELECT, *reads(3), *up(f"release deploy: {title}")]
    (up_call,) = ups(fake)
    assert release_in(up_call["stack_file"])["green"] == {
        "image": NEW,  # the previous release's version label is gone with it
        "desired_count": 3,
        "max_count": 12,
        "run_migrations": False,
    }


def test_every_up_runs_in_the_project_with_the_release_section_it_starts_from(project, fake):
    """The program's guard gets the whole deployed section the step was planned from (and no
    by-hand switch), so the up itself refuses if the stack moved after the command looked."""
    run = command(project)
    assert run(STACK, "deploy", "--image", NEW) == 0, run.errors
    (up_call,) = ups(fake)
    assert up_call["cwd"] == str(project)
    assert set(up_call["env"]) == {
        "PHOENIX_AWS_RELEASE_EXPECTED",
        "PULUMI_AUTOMATION_API",
        "PULUMI_DEBUG_COMMANDS",
    }
    expected = json.loads(up_call["env"]["PHOENIX_AWS_RELEASE_EXPECTED"])
    assert expected == release_section(
        raw_config_from_pulumi(
            yaml.safe_load((ROOT / "stacks/Pulumi.prod.yaml").read_text())["config"]
        )["release"]
    )


def test_deploy_of_a_build_pins_the_digest_with_a_second_up(tmp_path, fake):
    project = project_copy(tmp_path, "dev")
    built = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/phoenix-aws-dev@sha256:" + "4" * 64
    running = built.replace("4" * 64, "3" * 64)
    fake.state.update(
        stacks=["dev"],
        outputs=outputs(
            slot_images={"blue": running, "green": built}, release_lock_table=lock_table()
        ),
    )
    fake.save()
    run = command(project)
    assert run("dev", "deploy") == 0, run.errors
    title = (
        "put the new build on idle slot green and scale it to 1; live slot blue followed the "
        "build and is pinned to the digest it runs, so this release does not roll it (set it "
        "back to `build` to follow main again)"
    )
    assert fake.commands() == [
        VERSION,
        [*SELECT[:-1], "dev"],
        *reads(3, "dev"),
        *up(f"release deploy: {title}", "dev"),
        *reads(1, "dev"),
        *up(f"release deploy: pin slot green to {built}", "dev"),
    ]
    seen = [release_in(c["stack_file"]) for c in ups(fake)]
    # dev rehearses a prod release: the live slot keeps what it runs, only green takes the build.
    assert [(r["blue"]["image"], r["green"]["image"]) for r in seen] == [
        (running, "build"),
        (running, built),
    ]


def test_promote_runs_the_migration_up_then_the_flip_up(project, fake):
    deployed(project)
    run = command(project)
    healthy_targets(run.aws, blue=3, green=3)
    assert run(STACK, "promote") == 0, run.errors
    assert fake.commands() == [
        VERSION,
        SELECT,
        *reads(3),
        *up(
            "release promote: run migrations with slot green's image (the listener waits for them)"
        ),
        *reads(1),
        *up(
            "release promote: flip live to slot green; slot blue keeps running for instant rollback"
        ),
    ]
    seen = [release_in(c["stack_file"]) for c in ups(fake)]
    assert [(r["live"], r.get("promoting")) for r in seen] == [("blue", "green"), ("green", None)]


def test_promote_with_a_canary_adds_one_up_per_step(project, fake):
    deployed(project)
    run = command(project)
    healthy_targets(run.aws, blue=3, green=3)
    assert run(STACK, "promote", "--canary", "10,50", "--bake", "0") == 0, run.errors
    messages = [c["argv"][5] for c in ups(fake)]
    assert messages == [
        "release promote: run migrations with slot green's image (the listener waits for them)",
        "release promote: canary: 10% of traffic to slot green",
        "release promote: canary: 50% of traffic to slot green",
        "release promote: flip live to slot green; slot blue keeps running for instant rollback",
    ]


def test_drain_sets_draining_then_scales_down_one_up_per_wave(project, fake):
    promoted(project)
    run = command(project)
    run.aws.stub("cloudwatch").add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {
                    "Id": "sockets",
                    "Timestamps": [datetime.fromtimestamp(run.clock.now + 60, UTC)],
                    "Values": [0.0],
                }
            ]
        },
        None,
    )
    assert run(STACK, "drain", "--bake", "0", "--drain-batch", "2", "--drain-pause", "0") == 0, (
        run.errors
    )
    assert fake.commands() == [
        VERSION,
        SELECT,
        *reads(3),
        *up("release drain: tell slot blue's nodes to shed their WebSockets over 300 s"),
        *reads(1),
        *up("release drain: scale slot blue down to 1 task(s)"),
        *reads(1),
        *up("release drain: scale slot blue down to 0 task(s)"),
    ]


def test_rollback_moves_traffic_on_the_listener_then_one_up_reconciles(project, fake):
    promoted(project)
    fake.state["outputs"]["production_listener_arn"] = LISTENER
    fake.save()
    run = command(project)
    healthy_targets(run.aws, blue=3, green=3)  # the plan sizes blue from green's 3
    live_carries(run.aws, "green", 3, blue=0, green=100)  # and so does the move, at once
    service_desired(run.aws, "shop-prod-blue", 3)  # enough: no count is raised
    one_group_healthy(run.aws, BLUE_TG, 3)  # capacity before traffic
    listener_has(run.aws, blue=0, green=100)
    listener_moves_to(run.aws, blue=100, green=0)
    assert run(STACK, "rollback") == 0, run.errors
    assert fake.commands() == [
        VERSION,
        SELECT,
        *reads(4),  # the move is checked against the stack like an up
        *up("release rollback: reconcile the stack with the listener: live blue"),
        *reads(1),
        *up("release rollback: slot green sheds its WebSockets now (no bake)"),
    ]
    run.aws.assert_no_pending_responses()
    reconcile, shed = [release_in(c["stack_file"]) for c in ups(fake)]
    assert reconcile["live"] == "blue" and not reconcile["green"].get("draining")
    assert shed["green"]["draining"] is True


def test_a_failed_up_is_one_message_with_the_cli_errors_and_the_file_is_restored(project, fake):
    before = (project / "stacks" / "Pulumi.prod.yaml").read_text()
    fake.state["fail_ups"] = [1]
    fake.save()
    run = command(project)
    assert run(STACK, "deploy", "--image", NEW) == 1
    assert run.err == [
        "phoenix-aws release: failed: pulumi up of stack prod failed (exit 255):\n"
        "  error: update failed\n"
        "  error: service shop-prod-green did not stabilize"
    ]
    assert (project / "stacks" / "Pulumi.prod.yaml").read_text() == before
    assert "  aws:ecs:Service green  **updating failed**" in run.out  # the engine's own output


def test_an_unknown_stack_exits_2_and_says_how_to_create_it(project, fake):
    fake.state["stacks"] = []
    fake.save()
    run = command(project)
    assert run(STACK, "status") == 2
    (message,) = run.err
    assert message.startswith("phoenix-aws release: selecting stack prod: no such stack")
    assert "error: no stack named 'prod' found" in message
    assert "create it with `pulumi stack init prod`" in message
    assert "Traceback" not in message


def test_without_the_cli_on_path_the_command_exits_2_before_anything(project, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    run = command(project)
    assert run(STACK, "deploy", "--image", NEW) == 2
    assert "the Pulumi CLI is not installed or not on PATH" in run.errors


def test_a_stack_left_locked_by_a_killed_up_is_reported_with_the_command_that_clears_it(
    project, fake
):
    """Pulumi Cloud answers 409 Conflict while an update holds the stack (a killed `up` keeps
    holding it); the Automation API raises ConcurrentUpdateError, and the command says what to
    check and what clears it."""
    (fake.directory / "locked").write_text("")
    run = command(project)
    assert run(STACK, "deploy", "--image", NEW) == 1
    (message,) = run.err
    assert "the stack is locked by another update" in message
    assert "`pulumi cancel --stack prod --yes`" in message and "pulumi refresh" in message
    assert "python -m release <stack> status" in message
    assert (
        release_in((project / "stacks/Pulumi.prod.yaml").read_text())["green"].get("image") != NEW
    )  # the file says what is deployed again
