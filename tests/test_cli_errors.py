"""Every command the README shows answers bad input the same way: the program's own lines for a bad
stack file (`invalid stack config:` and one line per key), one line for a bad argument, exit status
2, never a traceback; `--help` writes nothing.

The commands run in-process on a stack directory of the test's own (bad files never touch
`stacks/`); a config problem stops the program before any resource, so these runs are quick.
"""

from __future__ import annotations

import io
import os
import runpy
import shutil
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml

from offline import mocks
from offline.mocks import ROOT

GENERATE = runpy.run_path(str(ROOT / "docs" / "generate.py"))


def _release(argv: list[str]) -> int:
    from release.__main__ import Services, main

    return main(argv, Services(project_dir=mocks.STACKS_DIR.parent))


def _commands() -> dict[str, Callable[[list[str]], int]]:
    from cost.__main__ import main as cost
    from launch.__main__ import main as launch
    from local.__main__ import main as local
    from policy.offline import main as policy

    return {
        "python -m local": lambda argv: local(argv, mocks.STACKS_DIR.parent),
        "python -m launch": lambda argv: launch(argv, mocks.STACKS_DIR.parent),
        "python -m cost": cost,
        "python -m policy.offline": policy,
        "python -m release": _release,
        "python docs/generate.py": GENERATE["main"],
    }


def run(command: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = _commands()[command](list(argv))
        except SystemExit as exit_:  # --help
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def stacks(tmp_path, monkeypatch) -> Path:
    """A project of the test's own: Pulumi.yaml and a copy of the dev stack file to spoil."""
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(ROOT / "stacks" / "Pulumi.dev.yaml", tmp_path / "stacks" / "Pulumi.dev.yaml")
    monkeypatch.setattr(mocks, "STACKS_DIR", tmp_path / "stacks")
    return tmp_path / "stacks"


def spoil(stacks: Path, name: str = "bad", **changes) -> str:
    """Write stacks/Pulumi.<name>.yaml: the dev stack with `changes` (None removes a key)."""
    document = yaml.safe_load((stacks / "Pulumi.dev.yaml").read_text())
    for key, value in changes.items():
        key = key.replace("__", ":").replace("_dot_", ".")
        if value is None:
            document["config"].pop(key)
        else:
            document["config"][key] = value
    (stacks / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(document))
    return name


PREFIX = {"python -m release": "phoenix-aws release"}
STACK_COMMANDS = [
    ("python -m cost", []),
    ("python -m policy.offline", []),
    ("python -m release", ["status", "--plan"]),
]


@pytest.mark.parametrize(("command", "extra"), STACK_COMMANDS)
def test_a_bad_stack_file_gets_the_programs_lines_and_status_2(stacks, command, extra):
    network = {"nat": "gateway", "cidr": "10.0.0.0/16"}
    stack = spoil(stacks, **{"aws__region": None, "phoenix-aws__network": network})
    code, _, err = run(command, stack, *extra)
    assert code == 2
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0].endswith("invalid stack config:")
    assert lines[1].startswith("  aws:region: required, not set: the AWS Region")
    assert lines[2] == (
        "  phoenix-aws:network.nat: expected one of none, single, per_az, instance (got 'gateway')"
    )
    assert len(lines) == 3


def test_the_lines_are_the_ones_the_program_raises(stacks):
    """Not a rewording: the program's ConfigError carries exactly the lines the commands print."""
    from stacks.settings import ConfigError

    stack = spoil(stacks, **{"phoenix-aws__app": {"name": "shop", "cpu": 300}})
    with pytest.raises(ConfigError) as raised:
        mocks.run_main(mocks.stack_config(stack), stack=stack)
    _, _, err = run("python -m cost", stack)
    assert err.splitlines()[1:] == [f"  {problem}" for problem in raised.value.problems]


@pytest.mark.parametrize(("command", "extra"), STACK_COMMANDS)
def test_a_stack_file_that_is_not_yaml_is_one_line(stacks, command, extra):
    (stacks / "Pulumi.broken.yaml").write_text("config:\n  aws:region: [eu-west-1\n")
    code, _, err = run(command, "broken", *extra)
    assert code == 2
    (line,) = err.splitlines()
    assert "stacks/Pulumi.broken.yaml" in line and "line" in line


@pytest.mark.parametrize(("command", "extra"), STACK_COMMANDS)
def test_an_unknown_stack_is_one_line(stacks, command, extra):
    code, _, err = run(command, "prdo", *extra)
    assert code == 2
    (line,) = err.splitlines()
    assert "prdo" in line


@pytest.mark.parametrize(
    ("command", "argv", "says"),
    [
        ("python -m cost", ["dev", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        ("python -m cost", [], "the following arguments are required: stack"),
        ("python -m policy.offline", ["--strict"], "unrecognized arguments: --strict"),
        ("python -m release", ["dev", "launch"], "argument action: invalid choice: 'launch'"),
        ("python docs/generate.py", ["--write"], "unrecognized arguments: --write"),
        ("python -m local", ["sideways"], "argument action: invalid choice: 'sideways'"),
        ("python -m launch", [], "the following arguments are required: app"),
    ],
)
def test_a_bad_argument_is_one_line_naming_it(stacks, command, argv, says):
    code, _, err = run(command, *argv)
    assert code == 2
    (line,) = err.splitlines()
    assert line.startswith(f"{PREFIX.get(command, command)}: ") and says in line
    assert line.endswith(f"(see {command} --help)")


def _tree() -> dict[str, int]:
    skipped = {".venv", "venv", ".git", "node_modules", "__pycache__", "build", "dist"}
    found = {}
    for directory, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in skipped and not d.startswith(".") and "egg" not in d]
        for name in files:
            path = Path(directory, name)
            found[str(path)] = path.stat().st_mtime_ns
    return found


def test_help_writes_nothing():
    before = _tree()
    for command in _commands():
        code, out, _ = run(command, "--help")
        assert code == 0 and out.startswith("usage: ")
    assert _tree() == before
