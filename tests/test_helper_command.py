"""The helper command line that pulumi-command runs really starts our helpers."""

from __future__ import annotations

import os
import subprocess
import sys

import harness

from components.image import HELPER_PYTHON


def test_helper_prefix_runs_the_project_module_from_anywhere(tmp_path):
    env = {
        **os.environ,
        "PHOENIX_AWS_PYTHON": sys.executable,
        "PHOENIX_AWS_HOME": str(harness.ROOT),
    }
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        ["/bin/sh", "-c", f"{HELPER_PYTHON} -m release.ecr_tags nonsense"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "usage: python -m release.ecr_tags add|remove" in result.stderr


def test_migration_helper_fails_clearly_without_its_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATION_")}
    env.update(PHOENIX_AWS_PYTHON=sys.executable, PHOENIX_AWS_HOME=str(harness.ROOT))
    result = subprocess.run(
        ["/bin/sh", "-c", f"{HELPER_PYTHON} -m release.migrate_task"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "migration failed: missing environment: MIGRATION_CLUSTER" in result.stderr
