"""`python -m launch PATH_TO_PHOENIX_APP [--stack NAME] [--dry-run]`: put your own Phoenix app on
phoenix-aws.

Reads the app (mix.exs, the endpoint and its sockets, the Repo, config/runtime.exs, a Dockerfile,
rel/), says what it found, and adds only what phoenix-aws's contract needs (docs/app-contract.md),
copied from examples/phoenix_app and renamed: new files where the app has none of that name, and
blocks between `phoenix-aws: begin` / `phoenix-aws: end` markers in config, mix.exs and the
endpoint. Nothing of the app's is overwritten; what launch cannot change safely is printed as a
to-do. Then it writes stacks/Pulumi.<stack>.yaml for the app and prints the next command. Every
change is shown as a diff first; `--dry-run` stops there. A second run changes nothing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from launch.app import App, AppError, describe, read_app
from launch.changes import Plan, write
from launch.contract import EXAMPLE
from launch.stack_file import render
from offline.cli import CommandError, Parser, guarded

PROG = "python -m launch"
PROJECT = Path(__file__).resolve().parent.parent
STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def main(
    argv: Sequence[str] | None = None,
    project: Path = PROJECT,
    echo: Callable[[str], None] = print,
) -> int:
    def body() -> int:
        parser = Parser(prog=PROG, description=__doc__.split("\n\n", 1)[0])
        parser.add_argument("app", type=Path, help="the folder of your Phoenix app (its mix.exs)")
        parser.add_argument(
            "--stack",
            help="the stack to write (stacks/Pulumi.<stack>.yaml); default: the app's name",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would change; write nothing"
        )
        args = parser.parse_args(argv)
        try:
            app = read_app(args.app)
        except AppError as exc:
            raise CommandError(str(exc)) from None
        stack = args.stack or app.otp_app.replace("_", "-")
        if not STACK_NAME.fullmatch(stack):
            raise CommandError(
                f"--stack {stack!r}: a stack name is letters, digits, '-', '_' and '.'"
            )
        echo(f"found in {app.root}:")
        for line in describe(app):
            echo(f"  {line}")
        plan = _plan(app, stack, project)
        for kept in plan.kept:
            echo(f"kept: {kept}")
        if not plan.changes:
            echo("nothing to change: the app and its stack file have what the contract needs")
        for change in plan.changes:
            if change.before is None:  # a new file: its name and size (the diff is all of it)
                shown = _shown(change.path, app.root, project)
                echo(f"new file {shown} ({len(change.after.splitlines())} lines): {change.why}")
        for change in plan.changes:
            if change.before is not None:
                echo(f"\n{change.why}:")
                root = app.root if change.path.is_relative_to(app.root) else project
                echo(change.diff(root).rstrip())
        if plan.todo:
            echo("\nto do by hand (launch does not change these in your code):")
            for item in plan.todo:
                echo(f"  - {item}")
        if args.dry_run:
            echo(f"\n--dry-run: nothing written ({len(plan.changes)} file(s) would change)")
            return 0
        write(plan)
        if plan.changes:
            echo(f"\nwrote {len(plan.changes)} file(s)")
        echo(
            f"next: python -m cost {stack}   (what it costs), then "
            f"pulumi stack init {stack} && pulumi up --stack {stack}"
        )
        return 0

    return guarded(PROG, body)


def _shown(path: Path, *roots: Path) -> str:
    for root in roots:
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return str(path)


def _plan(app: App, stack: str, project: Path) -> Plan:
    from launch.changes import plan_app
    from stacks.settings import ConfigError, check_stack_config

    plan = plan_app(app)
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    text = render(app, stack, project)
    config = yaml.safe_load(text)["config"]
    if any(change.path == app.root / "Dockerfile" for change in plan.changes):
        # The settings look for the Dockerfile this plan is about to write: check the context
        # as it will be, with the example's (the one launch copies).
        config["phoenix-aws:image"]["context"] = str(EXAMPLE)
    try:
        check_stack_config(config)
    except ConfigError as exc:  # pragma: no cover - the template is tested per layout
        raise CommandError(exc.problems, "the stack file launch would write is invalid:") from None
    before = path.read_text() if path.is_file() else None
    if before is None:
        plan.add(path, None, text, f"the stack file stacks/{path.name}")
    elif before != text and f"written by `{PROG}`" not in before.splitlines()[0]:
        plan.kept.append(f"stacks/{path.name}: exists and is not launch's; kept (use --stack)")
    elif before != text:
        plan.kept.append(f"stacks/{path.name}: exists (edited since launch wrote it); kept")
    return plan


if __name__ == "__main__":
    sys.exit(main())
