"""Each kept release step is committed on a review branch, in a real temporary git repository,
without touching the operator's branch, index or other uncommitted files."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest
from release_support import NEW, Command, FakeStack, project_copy

from release.record import GitRecorder, branch_name
from release.stack_file import StackFile

NOW = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
BRANCH = "release/prod/20261124-100000-promote"


def git(repo, *args):
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def git_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Release Operator")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "ops@example.com")


@pytest.fixture
def repo(tmp_path, git_env):
    """A checkout on `main` whose project lives in `app/`, with unrelated work in progress."""
    root = tmp_path / "repo"
    root.mkdir()
    project = project_copy(root)
    project.rename(root / "app")
    (root / "notes.md").write_text("draft\n")
    (root / "staged.txt").write_text("one\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    (root / "notes.md").write_text("draft, edited but not committed\n")
    (root / "staged.txt").write_text("two\n")
    git(root, "add", "staged.txt")
    return root


def recorder(repo, lines):
    return GitRecorder(
        repo / "app" / "stacks" / "Pulumi.prod.yaml", "prod", "promote", NOW, lines.append
    )


def test_the_branch_name_says_stack_utc_time_and_action():
    assert (
        branch_name("acme/phoenix-aws/prod", "drain", NOW) == "release/prod/20261124-100000-drain"
    )


def test_each_step_becomes_a_commit_of_the_stack_file_on_the_release_branch(repo):
    stack_file = StackFile(repo / "app" / "stacks" / "Pulumi.prod.yaml")
    main_head = git(repo, "rev-parse", "main")
    lines: list[str] = []
    record = recorder(repo, lines)

    stack_file.change_release({"promoting": "green"})
    record.record("run migrations")
    after_first = stack_file.text()
    stack_file.change_release({"promoting": None, "live": "green"})
    record.record("flip live to slot green")

    subjects = git(repo, "log", "--format=%s", f"main..{BRANCH}").splitlines()
    assert subjects == [
        "release prod promote: flip live to slot green",
        "release prod promote: run migrations",
    ]
    assert git(repo, "rev-parse", f"{BRANCH}~2") == main_head
    assert git(repo, "show", f"{BRANCH}~1:app/stacks/Pulumi.prod.yaml") + "\n" == after_first
    assert git(repo, "show", f"{BRANCH}:app/stacks/Pulumi.prod.yaml") + "\n" == stack_file.text()
    assert git(repo, "diff", "--name-only", "main", BRANCH) == "app/stacks/Pulumi.prod.yaml"
    assert f"      recorded app/stacks/Pulumi.prod.yaml on branch {BRANCH}" in lines[0]


def test_recording_leaves_the_operators_branch_index_and_work_in_progress_alone(repo):
    StackFile(repo / "app" / "stacks" / "Pulumi.prod.yaml").change_release({"canary_percent": 10})
    before = {
        "branch": git(repo, "rev-parse", "--abbrev-ref", "HEAD"),
        "head": git(repo, "rev-parse", "HEAD"),
        "status": git(repo, "status", "--porcelain"),
        "staged": git(repo, "diff", "--cached"),
        "notes": (repo / "notes.md").read_text(),
    }
    recorder(repo, []).record("canary")
    after = {
        "branch": git(repo, "rev-parse", "--abbrev-ref", "HEAD"),
        "head": git(repo, "rev-parse", "HEAD"),
        "status": git(repo, "status", "--porcelain"),
        "staged": git(repo, "diff", "--cached"),
        "notes": (repo / "notes.md").read_text(),
    }
    assert after == before
    assert "M  staged.txt" in after["status"] and " M notes.md" in after["status"]


def test_finishing_says_how_to_open_the_pull_request(repo):
    lines: list[str] = []
    record = recorder(repo, lines)
    StackFile(repo / "app" / "stacks" / "Pulumi.prod.yaml").change_release({"canary_percent": 10})
    record.record("canary")
    record.finish()
    assert lines[-1] == (
        f"The new release state of app/stacks/Pulumi.prod.yaml is on branch {BRANCH}. Open a "
        "pull request into main so CI deploys what is live:\n"
        f"  git push -u origin {BRANCH}\n"
        f"  gh pr create --base main --head {BRANCH} --fill"
    )


def test_nothing_recorded_means_no_pull_request_advice(repo):
    lines: list[str] = []
    recorder(repo, lines).finish()
    assert lines == []


def test_outside_a_git_checkout_the_release_says_so_and_goes_on(tmp_path, git_env):
    project = project_copy(tmp_path)
    lines: list[str] = []
    record = GitRecorder(
        project / "stacks" / "Pulumi.prod.yaml", "prod", "deploy", NOW, lines.append
    )
    record.record("deploy")
    record.record("pin")
    record.finish()
    assert len(lines) == 1
    assert lines[0].startswith("      not in a git checkout (or no commit yet): Pulumi.prod.yaml")


def test_a_git_failure_is_reported_and_the_release_goes_on(repo, monkeypatch):
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    monkeypatch.delenv("GIT_COMMITTER_NAME")
    monkeypatch.delenv("GIT_AUTHOR_EMAIL")
    monkeypatch.delenv("GIT_COMMITTER_EMAIL")
    monkeypatch.setenv("EMAIL", "")
    git(repo, "config", "user.useConfigOnly", "true")
    lines: list[str] = []
    recorder(repo, lines).record("canary")
    assert lines[0].startswith(f"      could not record the stack file on {BRANCH}:")
    assert BRANCH not in git(repo, "branch", "--list", "release/*")


def test_the_command_records_what_each_successful_up_kept(repo):
    project = repo / "app"
    path = project / "stacks" / "Pulumi.prod.yaml"
    command = Command(project, FakeStack(path), recorder=GitRecorder)
    assert command("prod", "deploy", "--image", NEW) == 0
    branch = "release/prod/20261124-100000-deploy"
    assert git(repo, "log", "--format=%s", f"main..{branch}").startswith(
        f"release prod deploy: put {NEW} on idle slot green"
    )
    assert git(repo, "show", f"{branch}:app/stacks/Pulumi.prod.yaml") + "\n" == path.read_text()
    assert f"gh pr create --base main --head {branch} --fill" in command.output
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
