"""`.github/workflows/release.yml`: a release runs end to end from CI with the same command.

Its schema is checked in CI by check-jsonschema (vendor.github-workflows, see .ci/run); here: what
it runs, that it is one run per stack at a time, with OIDC and no long-lived key, that inputs reach
the shell only as environment variables (GitHub's script-injection advice:
https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions#understanding-the-risk-of-script-injections),
that its scripts pass shellcheck, and that the release commit is pushed back for review.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
SHELLCHECK = str(Path(sys.executable).parent / "shellcheck")
STEPS = WORKFLOW["jobs"]["release"]["steps"]


def step(name: str) -> dict:
    return next(s for s in STEPS if s.get("name") == name)


def test_it_is_started_by_hand_with_the_stack_action_image_and_canary():
    inputs = WORKFLOW[True]["workflow_dispatch"]["inputs"]  # PyYAML reads `on:` as True
    assert {"stack", "action", "image", "canary"} <= set(inputs)
    assert set(inputs["action"]["options"]) == {
        "status",
        "deploy",
        "promote",
        "drain",
        "rollback",
        "sync",
        "unlock",
    }
    shipped = {p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml")}
    assert set(inputs["stack"]["options"]) <= shipped


def test_one_run_per_stack_at_a_time_and_never_cancelled_mid_release():
    assert WORKFLOW["concurrency"] == {
        "group": "release-${{ inputs.stack }}",
        "cancel-in-progress": False,
    }


def test_it_uses_oidc_credentials_and_the_stacks_environment():
    assert WORKFLOW["permissions"]["id-token"] == "write"
    aws = next(s for s in STEPS if s.get("uses", "").startswith("aws-actions/configure-aws"))
    assert aws["with"]["role-to-assume"] == "${{ secrets.AWS_RELEASE_ROLE_ARN }}"
    assert "aws-access-key-id" not in aws["with"]
    assert WORKFLOW["jobs"]["release"]["environment"] == "${{ inputs.stack }}"


def test_it_runs_the_release_command_with_inputs_only_through_the_environment():
    release = step("Release")
    assert 'venv/bin/python -m release "${args[@]}"' in release["run"]
    for s in STEPS:
        assert "${{ inputs." not in s.get("run", ""), s.get("name")
    assert release["env"]["ACTION"] == "${{ inputs.action }}"


def test_the_release_commit_is_pushed_back_for_review_even_after_a_failed_step():
    push = step("Push the release commit for review")
    assert push["if"] == "always()"
    assert 'git push origin "$branch"' in push["run"]
    assert "refs/heads/release/" in push["run"]  # the branches the command's recorder writes
    assert WORKFLOW["permissions"]["contents"] == "write"


def test_its_scripts_pass_shellcheck(tmp_path):
    for s in STEPS:
        if "run" not in s:
            continue
        script = tmp_path / "step.sh"
        body = re.sub(r"\$\{\{[^}]*\}\}", "x", s["run"])  # expressions are filled in before
        script.write_text("#!/usr/bin/env bash\n" + body)
        result = subprocess.run([SHELLCHECK, str(script)], capture_output=True, text=True)
        assert result.returncode == 0, (s.get("name"), result.stdout)
