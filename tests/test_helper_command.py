"""The helper command line that pulumi-command runs really starts our helpers: the package module,
with the interpreter that runs the program, from any working directory."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from phoenix_aws.helpers import helper_command


def run_in(cwd: Path, command: str, env: dict[str, str] | None = None):
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update(env or {})
    return subprocess.run(
        ["/bin/sh", "-c", command], cwd=cwd, env=environment, capture_output=True, text=True
    )


def test_helper_runs_the_package_module_without_any_path_setup(tmp_path, monkeypatch):
    """pulumi-command runs the command in the program's directory with no PYTHONPATH: the
    helper is found as an installed package module."""
    monkeypatch.chdir(tmp_path)
    result = run_in(tmp_path, helper_command("ecr_tags", "nonsense"))
    assert result.returncode == 2
    assert "usage: python -m phoenix_aws.helpers.ecr_tags add|remove" in result.stderr


def test_migration_helper_fails_clearly_without_its_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {k: "" for k in os.environ if k.startswith("MIGRATION_")}
    result = run_in(tmp_path, helper_command("migrate_task"), env)
    assert result.returncode == 1
    assert "migration failed: missing environment: MIGRATION_CLUSTER" in result.stderr


def test_the_interpreter_is_written_relative_to_the_project(tmp_path, monkeypatch):
    """A command that names `/home/alice/shop/venv/bin/python` would differ on CI's machine and
    show up in every preview; inside the project it reads `venv/bin/python` everywhere."""
    venv_python = tmp_path / "venv" / "bin" / "python"
    monkeypatch.setattr(sys, "executable", str(venv_python))
    monkeypatch.chdir(tmp_path)
    argv = shlex.split(helper_command("migrate_task"))
    assert argv == ["venv/bin/python", "-m", "phoenix_aws.helpers.migrate_task"]


@pytest.mark.parametrize("outside", ["/usr/bin/python3"])
def test_an_interpreter_outside_the_project_is_written_in_full(tmp_path, monkeypatch, outside):
    monkeypatch.setattr(sys, "executable", outside)
    monkeypatch.chdir(tmp_path)
    assert shlex.split(helper_command("ecr_tags", "add"))[0] == outside
