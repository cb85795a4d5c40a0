"""The user-facing edge the offline commands share (`python -m cost`, `python -m policy.offline`,
`python -m launch`, `python docs/generate.py`): bad arguments and a bad stack file are answered
with one line per problem, the same lines the program itself prints (`invalid stack config:` and
a line per key), exit status 2 and no traceback; the program's example-value warnings are shown
as the Pulumi CLI shows them (`warning: …`).

Imports stay inside the functions: `python -m release --help` should not load the AWS SDK.

Exit statuses: 0 done, 1 the command ran and found a problem (e.g. a mandatory policy violation),
2 cannot run with this input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import yaml

USAGE_ERROR = 2
INTERRUPTED = 130


class CommandError(Exception):
    """Input a command cannot use, in plain words: a heading and one line per problem."""

    def __init__(self, problems: str | Sequence[str], heading: str = "") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.heading = heading
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.heading:
            return "\n  ".join([self.heading, *self.problems])
        return "\n  ".join(self.problems)


class Parser(argparse.ArgumentParser):
    """argparse, but a wrong argument is one line (what is wrong, where to read more), not the
    usage block followed by the error; `--help` still prints the whole help."""

    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{message} (see {self.prog} --help)")


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader: the C one when libyaml is there (an order of magnitude faster)."""


def load_yaml(text: str) -> Any:
    """A YAML document's plain values (safe loading; yaml.YAMLError when it is not YAML)."""
    return yaml.load(text, Loader=SAFE_LOADER)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML parse error on one line: where, and what the parser found."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or "cannot be read"
    return f"not valid YAML{where}: {problem}"


def stack_file_config(stack: str, directory: Path | None = None) -> dict[str, Any]:
    """The `config:` map of `stacks/Pulumi.<stack>.yaml` (in `directory`, default this checkout's
    stacks/), or a CommandError that says which stack files exist or what is wrong with the file
    (never a YAML traceback)."""
    from offline import mocks

    directory = directory or mocks.STACKS_DIR
    names = sorted(p.name.split(".")[1] for p in directory.glob("Pulumi.*.yaml"))
    if stack not in names:
        raise CommandError(
            f"unknown stack {stack!r}: expected one of {', '.join(names)} "
            "(the stacks/Pulumi.<stack>.yaml files)"
        )
    path = directory / f"Pulumi.{stack}.yaml"
    try:
        document = load_yaml(path.read_text())
    except yaml.YAMLError as exc:
        raise CommandError(f"stacks/{path.name}: {yaml_problem(exc)}") from None
    except OSError as exc:
        raise CommandError(f"stacks/{path.name}: cannot read it ({exc.strerror})") from None
    if document is None:
        document = {}
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise CommandError(
            f"stacks/{path.name}: expected a `config:` section of key: value pairs "
            "(see docs/configuration.md)"
        )
    return dict(document.get("config") or {})


def run_stack(stack: str, config: dict[str, Any] | None = None) -> Any:
    """The program for a stack file under mocks (an `offline.mocks.Run`, one per process and
    config), its config problems raised as a CommandError carrying the program's own lines."""
    from phoenix_aws.validation import ComponentArgError

    from offline import mocks
    from stacks.settings import ConfigError

    config = stack_file_config(stack) if config is None else config
    try:
        return mocks.run_main(config, stack=stack)
    except ConfigError as exc:
        raise CommandError(exc.problems, "invalid stack config:") from None
    except ComponentArgError as exc:
        raise CommandError(str(exc)) from None


def show_warnings(run: Any, stream: TextIO | None = None) -> None:
    """The program's warnings (example values the stack file still holds), as the CLI shows them."""
    for warning in run.warnings:
        print(f"warning: {warning}", file=stream or sys.stderr)


def guarded(prog: str, body: Callable[[], int], stream: TextIO | None = None) -> int:
    """Run a command's body: a CommandError is printed as `<prog>: <problems>` with exit status 2,
    Ctrl-C as one line with 130. Anything else is a bug and keeps its traceback."""
    try:
        return body()
    except CommandError as exc:
        print(f"{prog}: {exc}", file=stream or sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=stream or sys.stderr)
        return INTERRUPTED
