"""Executing planned steps (without the Pulumi CLI) and the command line."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

import pytest

from release.__main__ import describe, main, release_from_stack_file
from release.plan import Options, Step, plan
from release.runner import PulumiCliMissingError, execute, require_pulumi_cli

DIGEST = "repo/shop@sha256:" + "3" * 64


class FakeStack:
    """Records what the runner does to a stack."""

    def __init__(self, release: dict[str, Any], outputs: dict[str, Any] | None = None) -> None:
        self.release = release
        self.log: list[str] = []
        self._outputs = outputs or {"url": "https://app.example.com", "slot_images": {}}

    def release_config(self) -> dict[str, Any]:
        return self.release

    def edge_config(self) -> dict[str, Any]:
        return {"test_header": "X-Release-Slot"}

    def set_release_config(self, release: dict[str, Any]) -> None:
        self.release = release
        self.log.append("set")

    def up(self) -> None:
        self.log.append(
            f"up live={self.release['live']} canary={self.release.get('canary_percent', 0)}"
        )

    def outputs(self) -> dict[str, Any]:
        return self._outputs


def quiet_execute(steps, stack, **kwargs):
    lines: list[str] = []
    execute(steps, stack, echo=lines.append, sleep=kwargs.pop("sleep", lambda s: None), **kwargs)
    return lines


def test_each_config_step_is_saved_before_its_up():
    stack = FakeStack({"live": "blue", "blue": {"image": DIGEST, "desired_count": 2}, "green": {}})
    quiet_execute(plan("deploy", stack.release, Options(image=DIGEST)), stack)
    assert stack.log == ["set", "up live=blue canary=0"]
    assert stack.release["green"]["image"] == DIGEST


def test_promote_smoke_tests_the_new_slot_through_the_test_header_then_flips():
    release = {
        "live": "blue",
        "blue": {"image": DIGEST, "desired_count": 2},
        "green": {"image": DIGEST, "desired_count": 2, "run_migrations": False},
    }
    stack = FakeStack(release)
    calls = []

    def tester(url, header, slot):
        calls.append((url, header, slot, stack.release["live"]))
        return "200 ok"

    lines = quiet_execute(
        plan("promote", release, Options(canary_steps=(20,), bake_seconds=5)), stack, tester=tester
    )
    assert calls == [
        ("https://app.example.com", "X-Release-Slot", "green", "blue")
    ]  # before the flip
    assert stack.log[-1] == "up live=green canary=0"
    assert "up live=blue canary=20" in stack.log
    assert any("200 ok" in line for line in lines)


def test_a_failed_smoke_test_stops_before_the_flip():
    release = {
        "live": "blue",
        "blue": {"image": DIGEST, "desired_count": 2},
        "green": {"image": DIGEST, "desired_count": 2, "run_migrations": False},
    }
    stack = FakeStack(release)

    def failing(url, header, slot):
        raise RuntimeError("smoke test of slot green failed: HTTP 500")

    with pytest.raises(RuntimeError, match="HTTP 500"):
        quiet_execute(plan("promote", release, Options()), stack, tester=failing)
    assert stack.release["live"] == "blue"
    assert stack.release["promoting"] == "green"  # resumable: promote again or roll back


def test_waits_happen_between_drain_waves():
    release = {
        "live": "green",
        "blue": {"image": DIGEST, "desired_count": 2},
        "green": {"image": DIGEST, "desired_count": 2},
    }
    stack = FakeStack(release)
    slept: list[float] = []
    quiet_execute(
        plan("drain", release, Options(bake_seconds=0, drain_pause_seconds=45)),
        stack,
        sleep=slept.append,
    )
    assert slept == [45]
    assert stack.release["blue"]["desired_count"] == 0


def test_a_build_is_pinned_to_its_digest_after_the_up():
    release = {"live": "blue", "blue": {"image": DIGEST, "desired_count": 2}, "green": {}}
    stack = FakeStack(release, {"url": "u", "slot_images": {"green": DIGEST}})
    quiet_execute(plan("deploy", release, Options()), stack)
    assert stack.release["green"]["image"] == DIGEST
    assert stack.log == ["set", "up live=blue canary=0", "set", "up live=blue canary=0"]


def test_missing_digest_after_a_build_is_an_error():
    stack = FakeStack({"live": "blue", "blue": {}, "green": {}}, {"url": "u", "slot_images": {}})
    with pytest.raises(RuntimeError, match="no built digest"):
        quiet_execute(
            [Step(title="x", changes={"green.image": "build"}, pin_image_slot="green")], stack
        )


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


def test_plan_mode_reads_the_stack_file_and_needs_no_cli(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["prod", "deploy", "--plan", "--image", DIGEST])
    assert code == 0
    assert "put repo/shop@sha256:" in out.getvalue() and "idle slot green" in out.getvalue()


def test_refusals_exit_3_with_the_reason():
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        code = main(["prod", "promote", "--plan"])
    assert code == 3
    assert "refused: nothing is deployed on slot green" in err.getvalue()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        code = main(["prod", "rollback", "--plan"])
    assert code == 3
    assert "the previous slot green is gone" in err.getvalue()


def test_stack_files_hold_a_release_section_the_planner_understands():
    for stack in ("dev", "prod", "local"):
        release = release_from_stack_file(stack)
        assert release["live"] in ("blue", "green")
        assert "live:" in describe(release)
