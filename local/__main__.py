"""`python -m local`: the `local` stack in one command, against a moto emulator on your machine.

    python -m local          # moto on 127.0.0.1 (started, or the running one reused), state in
                             # .pulumi-local/ of this checkout, stack `local`, `pulumi up`
    python -m local down     # `pulumi destroy`, then stop the moto this command started

It needs the Pulumi CLI, not an AWS account, a Pulumi account or a Docker engine. The state
backend is a directory of the checkout (`.pulumi-local/`, ignored by git), selected with
`PULUMI_BACKEND_URL` for these commands only, so your own `pulumi login` stays as it is. The
generated secrets of the stack are encrypted with the passphrase `local` unless you set
`PULUMI_CONFIG_PASSPHRASE` (or `PULUMI_CONFIG_PASSPHRASE_FILE`) yourself. The emulator's address
is the one `stacks/Pulumi.local.yaml` sends every AWS service to (`aws:endpoints`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local.emulator import LOOPBACK_HOSTS, Emulator, EmulatorError, emulator_endpoints
from offline.cli import CommandError, Parser, guarded, stack_file_config

PROG = "python -m local"
STACK = "local"
STATE_DIR = ".pulumi-local"
PASSPHRASE = "local"
ROOT = Path(__file__).resolve().parent.parent


class StepFailedError(RuntimeError):
    """`pulumi up` or `destroy` failed; the message has the CLI's own error lines."""


def emulator_for(project: Path) -> Emulator:
    """The moto address every `aws:endpoints` entry of the local stack file names (one)."""
    config = _local_config(project)
    urls = emulator_endpoints(config)
    if len(urls) != 1:
        raise CommandError(
            f"stacks/Pulumi.{STACK}.yaml: aws:endpoints must send every service to one emulator "
            f"address, e.g. http://127.0.0.1:5000 (got {sorted(urls) or 'none'})"
        )
    parts = urlsplit(urls.pop())
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS[:2] or not parts.port:
        raise CommandError(
            f"stacks/Pulumi.{STACK}.yaml: aws:endpoints must point at moto on this machine, "
            f"http://127.0.0.1:<port> (got {parts.geturl()!r})"
        )
    return Emulator("127.0.0.1", parts.port, project / STATE_DIR)


def _local_config(project: Path) -> dict[str, Any]:
    return stack_file_config(STACK, project / "stacks")


def cli_environment(project: Path) -> dict[str, str]:
    """What the Pulumi CLI gets besides the caller's environment: the checkout's file backend
    and, unless the caller has one, the local passphrase."""
    env = {"PULUMI_BACKEND_URL": (project / STATE_DIR / "state").as_uri()}
    own = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
    if not any(os.environ.get(name) for name in own):
        env["PULUMI_CONFIG_PASSPHRASE"] = PASSPHRASE
    return env


def _workspace_stack(project: Path, *, create: bool) -> Any:
    """The `local` stack through the Automation API: created when `create` and missing; None
    when it does not exist and `create` is false."""
    from pulumi import automation as auto
    from pulumi.automation.errors import StackNotFoundError

    from release.engine import describe_engine_failure

    (project / STATE_DIR / "state").mkdir(parents=True, exist_ok=True)
    options = auto.LocalWorkspaceOptions(env_vars=cli_environment(project))
    try:
        if create:
            return auto.create_or_select_stack(STACK, work_dir=str(project), opts=options)
        return auto.select_stack(STACK, work_dir=str(project), opts=options)
    except StackNotFoundError:
        return None
    except Exception as exc:  # the Automation API raises CommandError subclasses and OSError
        raise StepFailedError(describe_engine_failure(f"selecting stack {STACK}", exc)) from None


def _require_cli() -> None:
    from release.engine import EngineUnavailableError, require_pulumi_cli

    try:
        require_pulumi_cli()
    except EngineUnavailableError:
        raise CommandError(
            "the Pulumi CLI is not installed or not on PATH: install it "
            "(curl -fsSL https://get.pulumi.com | sh, then add ~/.pulumi/bin to PATH; "
            "https://www.pulumi.com/docs/install/)"
        ) from None


def up(project: Path, echo: Callable[[str], None]) -> int:
    _require_cli()
    emulator = emulator_for(project)
    found = emulator.answers()
    if found == "other":
        raise CommandError(
            f"{emulator.url} answers, but it is not moto: stop what listens on port "
            f"{emulator.port}, or send the local stack elsewhere (aws:endpoints in "
            f"stacks/Pulumi.{STACK}.yaml). On macOS the AirPlay Receiver listens on port 5000: "
            "System Settings > General > AirDrop & Handoff"
        )
    if found == "moto":
        echo(f"moto already answers on {emulator.url}: using it")
    else:
        echo(f"starting moto on {emulator.url} (log: {emulator.log_file})")
        emulator.start()
    echo(f"state: {project / STATE_DIR / 'state'} (file backend), stack {STACK}")
    stack = _workspace_stack(project, create=True)
    try:
        # refresh: a new moto has forgotten what an earlier one held; the state learns it first.
        result = stack.up(on_output=echo, refresh=True, color="auto")
    except Exception as exc:
        raise StepFailedError(_engine_failure(f"pulumi up of stack {STACK}", exc)) from None
    url = result.outputs.get("url")
    if url is not None:
        echo(f"the local stack is up: {url.value} (in the emulator; nothing runs there)")
    echo(f"take it down with: {PROG} down")
    return 0


def down(project: Path, echo: Callable[[str], None]) -> int:
    _require_cli()
    emulator = emulator_for(project)
    stack = _workspace_stack(project, create=False)
    if stack is None:
        echo(f"no stack {STACK} in {project / STATE_DIR}: nothing to destroy")
    elif emulator.answers() != "moto":
        # moto holds its resources in memory: with it gone, so are they. Only the state is left.
        echo(f"moto is not running on {emulator.url}, so what the stack created went with it")
        stack.workspace.remove_stack(STACK, force=True, preserve_config=True)
        echo(f"removed the stack's state (stacks/Pulumi.{STACK}.yaml stays)")
    else:
        try:
            stack.destroy(on_output=echo, color="auto")
        except Exception as exc:
            failure = _engine_failure(f"pulumi destroy of stack {STACK}", exc)
            raise StepFailedError(failure) from None
    if emulator.stop():
        echo(f"stopped the moto this command started on {emulator.url}")
    elif emulator.answers() == "moto":
        echo(f"moto on {emulator.url} was not started by {PROG}: left running")
    return 0


def _engine_failure(what: str, exc: BaseException) -> str:
    from release.engine import describe_engine_failure

    return describe_engine_failure(what, exc)


def main(
    argv: Sequence[str] | None = None,
    project: Path = ROOT,
    echo: Callable[[str], None] = print,
) -> int:
    def body() -> int:
        parser = Parser(prog=PROG, description=__doc__.split("\n\n", 1)[0])
        parser.add_argument(
            "action",
            nargs="?",
            default="up",
            choices=("up", "down"),
            help="up (default): start or update the local stack; down: destroy it",
        )
        args = parser.parse_args(argv)
        try:
            return (up if args.action == "up" else down)(project, echo)
        except EmulatorError as exc:
            raise CommandError(str(exc)) from None
        except StepFailedError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return 1

    return guarded(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
