"""The program's release-change guard: an `up` whose stack file moves traffic away from what is
deployed (`live`, `canary_percent`, `promoting`; tests/test_release_truth.py covers the rest of
what the release command owns) is refused before any resource, unless the release command (or an
operator, with PHOENIX_AWS_RELEASE_CHANGE=1) runs it. CI's `up` from a
branch without the release command's last commit would otherwise undo a promote or a rollback."""

from __future__ import annotations

import pytest

from offline import mocks
from stacks.settings import (
    RELEASE_CHANGE_ENV,
    ConfigError,
    load_settings,
    raw_config_from_pulumi,
    release_change_problems,
)

PROD = mocks.stack_config("prod")
DEPLOYED = load_settings(raw_config_from_pulumi(PROD)).release.state()


def moved(**changes) -> dict:
    return {**DEPLOYED, **changes}


def test_a_first_deployment_and_an_unchanged_release_pass():
    assert release_change_problems(DEPLOYED, None, by_hand=False) == []
    assert release_change_problems(DEPLOYED, {}, by_hand=False) == []
    assert release_change_problems(DEPLOYED, dict(DEPLOYED), by_hand=False) == []


@pytest.mark.parametrize(
    ("key", "value"), [("live", "green"), ("canary_percent", 10), ("promoting", "green")]
)
def test_each_traffic_key_moved_by_hand_is_refused_naming_it_and_the_way_out(key, value):
    (problem,) = release_change_problems(moved(**{key: value}), DEPLOYED, by_hand=False)
    assert problem.startswith(f"release.{key} is {value} in the stack file but ")
    assert RELEASE_CHANGE_ENV in problem and "this up would undo a release step" in problem
    assert release_change_problems(moved(**{key: value}), DEPLOYED, by_hand=True) == []


def test_every_moved_key_is_reported_at_once():
    problems = release_change_problems(
        moved(live="green", canary_percent=5), DEPLOYED, by_hand=False
    )
    assert [p.split(" ")[0] for p in problems] == ["release.live", "release.canary_percent"]


def test_the_program_refuses_before_any_resource_and_runs_when_allowed(monkeypatch):
    """The deployed stack exports `release_state`; the stack file says otherwise."""
    deployed = {"release_state": moved(live="green")}
    monkeypatch.delenv(RELEASE_CHANGE_ENV, raising=False)
    with pytest.raises(ConfigError) as refused:
        mocks.run_main(PROD, stack="prod", previous_outputs=deployed)
    assert refused.value.recorded == []  # type: ignore[attr-defined]
    assert "release.live is blue in the stack file but green is deployed" in str(refused.value)
    monkeypatch.setenv(RELEASE_CHANGE_ENV, "1")
    run = mocks.run_main(PROD, stack="prod", previous_outputs=deployed)
    assert run.exports["release_state"]["live"] == "blue"
