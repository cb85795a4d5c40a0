"""`python -m release … --plan` on every shipped stack, in every state a release cycle passes
through, for every action: it prints a plan that the program accepts at every step, or refuses
with a reason. Plus the command line's own input checks."""

from __future__ import annotations

import functools
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml
from release_support import NEW, ROOT, Command, project_copy

from release.__main__ import main
from release.plan import ACTIONS, NothingToDo, Options, PlanError, apply_changes, plan_for_stack
from release.stack_file import StackFile, read_config, with_release_changes
from stacks.settings import load_settings, raw_config_from_pulumi

STAGES = ("as shipped", "deployed", "promoted", "drained")
CYCLE = (
    ("deploy", Options(image=NEW, bake_seconds=0)),
    ("promote", Options(canary_steps=(10,))),
    ("drain", Options()),
)


@functools.cache
def stage_text(stack: str, stage: str) -> str | None:
    """The stack file after the cycle up to `stage` (None: the stack refuses an earlier step, e.g.
    local cannot promote without operator CIDRs). Built once per stack and stage."""
    if stage == STAGES[0]:
        return (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    previous = stage_text(stack, STAGES[STAGES.index(stage) - 1])
    if previous is None:
        return None
    action, options = CYCLE[STAGES.index(stage) - 1]
    try:
        steps = plan_for_stack(action, raw_config_from_pulumi(read_config(previous)), options)
    except (PlanError, NothingToDo):
        return None
    changes: dict = {}
    for step in steps:
        changes.update(step.changes)  # later steps win, as when applied one by one
    return with_release_changes(previous, changes)


def stack_at(tmp_path: Path, stack: str, stage: str) -> Path | None:
    """A project whose stack file went through the cycle up to `stage`."""
    text = stage_text(stack, stage)
    if text is None:
        return None
    project = project_copy(tmp_path, stack)
    (project / "stacks" / f"Pulumi.{stack}.yaml").write_text(text)
    return project


def printed_plan(output: str) -> list[dict]:
    """The `set …; pulumi up` lines of a printed plan, parsed back into changes."""
    changes = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("set ") and line.endswith("; pulumi up"):
            step = {}
            for pair in line[4 : -len("; pulumi up")].split(", "):
                path, value = pair.split(": ", 1)
                step[path] = None if value == "(removed)" else yaml.safe_load(value)
            changes.append(step)
    return changes


def run(project: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    command = Command(project)
    with redirect_stdout(out), redirect_stderr(err):
        code = command(*argv)
    return code, command.output, command.errors


REACHABLE = [
    *((stack, stage) for stack in ("dev", "prod") for stage in STAGES),
    # local has no operator CIDRs, so it never gets past deploy (see the test below).
    ("local", "as shipped"),
    ("local", "deployed"),
]


@pytest.mark.parametrize(("stack", "stage"), REACHABLE)
def test_every_plan_the_command_prints_is_one_the_program_accepts(tmp_path, stack, stage):
    project = stack_at(tmp_path, stack, stage)
    assert project is not None
    config = StackFile.for_stack(project, stack).config()
    raw = raw_config_from_pulumi(config)
    load_settings(raw)
    for action in ACTIONS:
        for extra in ([], ["--image", NEW]) if action == "deploy" else ([],):
            code, output, errors = run(project, stack, action, "--plan", *extra)
            assert code in (0, 3), (action, extra, errors)
            assert "Traceback" not in output + errors
            if code == 3:
                assert errors.startswith("phoenix-aws release: refused: "), errors
                continue
            # Replay the printed plan on the stack file's config, checking every step.
            release = raw["release"]
            for changes in printed_plan(output):
                release = apply_changes(release, changes)
                load_settings({**raw, "release": release})


def test_local_stops_after_deploy_because_its_test_route_is_closed(tmp_path):
    assert stack_at(tmp_path, "local", "promoted") is None
    code, _, errors = run(
        stack_at(tmp_path / "2", "local", "deployed"), "local", "promote", "--plan"
    )
    assert code == 3 and "phoenix-aws:edge.operator_cidrs is empty" in errors


def test_the_cycle_reaches_every_stage_on_dev_and_prod(tmp_path):
    for stack in ("dev", "prod"):
        project = stack_at(tmp_path / stack, stack, "drained")
        assert project is not None
        release = StackFile.for_stack(project, stack).release()
        assert release["live"] == "green" and release["blue"]["desired_count"] == 0


def test_a_plan_prints_each_change_and_each_wait(tmp_path):
    project = stack_at(tmp_path, "prod", "promoted")
    assert project is not None
    code, output, _ = run(project, "prod", "drain", "--plan", "--bake", "600")
    assert code == 0
    lines = output.splitlines()
    start = lines.index("steps (durations from this stack's settings):")
    assert lines[start + 1 :] == [
        "1. bake: slot blue stays up for instant rollback  [~10 min]",
        "2. tell slot blue's nodes to shed their WebSockets over 300 s  [~45 s]",
        "     set blue.draining: true; pulumi up",
        "3. wait for slot blue's WebSockets to fall to 0 or fewer  [~6 min, at most 7 min 10 s]",
        "4. scale slot blue down to 2 task(s)  [~2 min 10 s, at most 4 min]",
        "     set blue.desired_count: 2, blue.max_count: 2; pulumi up",
        "5. pause before the next wave  [~1 min]",
        "6. scale slot blue down to 1 task(s)  [~2 min 10 s, at most 4 min]",
        "     set blue.desired_count: 1, blue.max_count: 1; pulumi up",
        "7. pause before the next wave  [~1 min]",
        "8. scale slot blue down to 0 task(s)  [~2 min 10 s, at most 4 min]",
        "     set blue.desired_count: 0, blue.max_count: 0; pulumi up",
        "total: ~25 min 15 s, at most 31 min 55 s; 4 up(s), 4 AWS wait(s)",
    ]


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--bake", "-5", "argument --bake: must be at least 0 seconds, got -5"),
        ("--drain-pause", "-1", "argument --drain-pause: must be at least 0 seconds, got -1"),
        ("--drain-batch", "0", "argument --drain-batch: must be at least 1 tasks, got 0"),
        ("--count", "0", "argument --count: must be at least 1 tasks, got 0"),
        ("--drain-threshold", "-3", "argument --drain-threshold: must be at least 0 sockets"),
        ("--bake", "ten", "argument --bake: expected a whole number of seconds, got 'ten'"),
    ],
)
def test_bad_numbers_are_refused_by_the_command_line_with_the_flag_named(flag, value, message):
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        code = main(["prod", "drain", "--plan", flag, value])
    assert code == 2
    assert message in err.getvalue()
    assert len(err.getvalue().splitlines()) == 1  # one line, no usage block


def test_bad_canary_steps_are_refused_with_what_is_expected(tmp_path):
    code, _, errors = run(project_copy(tmp_path), "prod", "promote", "--plan", "--canary", "ten")
    assert code == 2
    assert "--canary takes comma-separated percentages such as 10,50, got 'ten'" in errors


def test_options_refuse_negative_values_when_used_as_a_library():
    with pytest.raises(PlanError, match="--bake must be 0 or more seconds, got -1"):
        Options(bake_seconds=-1)
    with pytest.raises(PlanError, match="--drain-batch must be at least 1 task, got 0"):
        Options(drain_batch=0)


def test_a_missing_stack_file_exits_2_naming_the_file(tmp_path):
    project = project_copy(tmp_path)
    code, _, errors = run(project, "staging", "status", "--plan")
    assert code == 2
    assert "no stack file" in errors and "Pulumi.staging.yaml" in errors
