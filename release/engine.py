"""The stack engine: `pulumi up` and stack outputs through the Pulumi Automation API.

The Automation API runs the Pulumi CLI in the project directory, so `up` reads the stack file the
release command has just edited (`stackConfigDir: stacks`). Every CLI failure becomes an
`EngineError` with one readable message.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

ERROR_TAIL_LINES = 15


class EngineError(RuntimeError):
    """The Pulumi CLI could not do what was asked; the message says what and why."""


class EngineUnavailableError(EngineError):
    """The stack cannot be reached at all (no CLI, no such stack, no backend login)."""


class PulumiCliMissingError(EngineUnavailableError):
    """The Pulumi CLI is not installed: the release command cannot run `pulumi up`."""


class StackDriver(Protocol):
    """What the runner needs from a stack."""

    def up(
        self, message: str, env: Mapping[str, str] | None = None, refresh: bool = False
    ) -> dict[str, Any]:
        """Run `pulumi up` with the stack file as it is, `env` added to the program's
        environment (and a refresh of the state first); the stack outputs after it."""
        ...

    def outputs(self) -> dict[str, Any]: ...


def require_pulumi_cli(which: Callable[[str], str | None] = shutil.which) -> str:
    path = which("pulumi")
    if not path:
        raise PulumiCliMissingError(
            "the Pulumi CLI is not installed or not on PATH. The release command runs "
            "`pulumi up` through the Pulumi Automation API and needs it: install it "
            "(https://www.pulumi.com/docs/install/) and log in to your state backend."
        )
    return path


def _tail(text: str, lines: int = ERROR_TAIL_LINES) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n  ".join(kept)


def describe_engine_failure(what: str, exc: BaseException, stack: str = "<stack>") -> str:
    """One message for a failed CLI call: what failed, its exit code, the end of its errors."""
    from pulumi.automation import errors

    if isinstance(exc, errors.StackNotFoundError):
        return f"{what}: no such stack in the current Pulumi backend ({_tail(str(exc), 3)})"
    if isinstance(exc, errors.ConcurrentUpdateError):
        # Pulumi Cloud answers 409 Conflict, a self-managed backend finds a lock file; both are
        # left behind by an `up` that was killed, and `pulumi cancel` clears both.
        return (
            f"{what}: the stack is locked by another update. If one is running (see "
            "`python -m release <stack> status` for the release lock's holder), wait for it. If "
            "none is (a killed `up` left the lock behind), clear it with "
            f"`pulumi cancel --stack {stack} --yes` and run `pulumi refresh --stack {stack}` "
            "to settle what the killed update left pending, then run the release again"
        )
    if isinstance(exc, errors.InvalidVersionError):
        return f"{what}: {exc}"
    if isinstance(exc, errors.CommandError):
        # The Automation API keeps only str(CommandResult): "code: N / stdout: … / stderr: …".
        # stdout was already shown line by line while the command ran; stderr says why it failed.
        head, _, stderr = str(exc).rpartition("\n stderr: ")
        code = re.search(r"code: (-?\d+)", head)
        stdout = head.partition("\n stdout: ")[2]
        detail = _tail(stderr) or _tail(stdout) or "no error output"
        return f"{what} failed (exit {code.group(1) if code else '?'}):\n  {detail}"
    return f"{what} failed: {exc}"


class AutomationDriver:
    """The real stack, through the Automation API (needs the Pulumi CLI)."""

    def __init__(
        self, stack_name: str, project_dir: Path, echo: Callable[[str], None] = print
    ) -> None:
        require_pulumi_cli()
        from pulumi import automation as auto
        from pulumi.automation.errors import StackNotFoundError

        self._echo = echo
        self._name = stack_name
        # The CLI inherits the environment (AWS credentials and region, the backend login); each
        # up adds what the release command decides for it.
        try:
            self.stack = auto.select_stack(
                stack_name=stack_name,
                work_dir=str(project_dir),
                opts=auto.LocalWorkspaceOptions(env_vars={}),
            )
        except Exception as exc:  # the Automation API raises CommandError subclasses and OSError
            hint = ""
            if isinstance(exc, StackNotFoundError):
                hint = (
                    f"\n  create it with `pulumi stack init {stack_name}` (after `pulumi login` "
                    "to your state backend), or check the stack name"
                )
            raise EngineUnavailableError(
                describe_engine_failure(f"selecting stack {stack_name}", exc, stack_name) + hint
            ) from None

    def up(
        self, message: str, env: Mapping[str, str] | None = None, refresh: bool = False
    ) -> dict[str, Any]:
        workspace_env: dict[str, str] = self.stack.workspace.env_vars  # type: ignore[assignment]
        workspace_env.update(env or {})
        try:
            result = self.stack.up(on_output=self._echo, message=message, refresh=refresh or None)
        except Exception as exc:
            raise EngineError(
                describe_engine_failure(f"pulumi up of stack {self._name}", exc, self._name)
            ) from None
        finally:
            for key in env or {}:
                workspace_env.pop(key, None)
        return {key: value.value for key, value in result.outputs.items()}

    def outputs(self) -> dict[str, Any]:
        try:
            return {key: value.value for key, value in self.stack.outputs().items()}
        except Exception as exc:
            raise EngineError(
                describe_engine_failure(
                    f"reading the outputs of stack {self._name}", exc, self._name
                )
            ) from None
