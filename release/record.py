"""Record each release step as a commit of the stack file on a review branch.

The stack file is the release state's single source of truth, and CI deploys from `main`. So after
every successful `up` the command commits the stack file on `release/<stack>/<UTC time>-<action>`
and says how to open the pull request; once merged, `main` says what is deployed, and CI's next
`up` keeps it (the program refuses to move `live` otherwise).

The commit is made with git plumbing on a private index: the operator's checked-out branch, index
and other uncommitted files are left exactly as they were.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol


class Recorder(Protocol):
    def record(self, title: str) -> None: ...
    def finish(self) -> None: ...


class NoRecorder:
    """Records nothing (plan mode, read-only actions)."""

    def record(self, title: str) -> None:
        return None

    def finish(self) -> None:
        return None


def branch_name(stack: str, action: str, now: datetime) -> str:
    """`release/<stack>/<UTC yyyymmdd-hhmmss>-<action>`."""
    return f"release/{stack.split('/')[-1]}/{now.strftime('%Y%m%d-%H%M%S')}-{action}"


class GitError(RuntimeError):
    pass


class GitRecorder:
    """Commits the stack file on a release branch after each successful up.

    A failure to record is reported and never stops the release: the up already happened, and the
    stack file in the working tree still holds the new state.
    """

    def __init__(
        self,
        stack_file: Path,
        stack: str,
        action: str,
        now: datetime,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.stack_file = stack_file.resolve()
        self.stack = stack
        self.action = action
        self.branch = branch_name(stack, action, now)
        self.echo = echo
        self.commits = 0
        self._head: str | None = None  # the branch's tip, once created
        self._checkout: tuple[Path, str, str] | None = None  # toplevel, relative path, base
        self._disabled = False

    def _git(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
        try:
            result = subprocess.run(
                ["git", *args],
                cwd=cwd,
                env={**os.environ, **(env or {})},
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as exc:
            raise GitError(f"git could not run: {exc}") from None
        if result.returncode != 0:
            raise GitError(result.stderr.strip() or f"git {args[0]} failed")
        return result.stdout.strip()

    def _locate(self) -> tuple[Path, str, str] | None:
        if self._checkout is None and not self._disabled:
            directory = self.stack_file.parent
            try:
                top = Path(self._git("rev-parse", "--show-toplevel", cwd=directory)).resolve()
                self._git("rev-parse", "--verify", "HEAD", cwd=top)
                base = self._git("rev-parse", "--abbrev-ref", "HEAD", cwd=top)
            except GitError:
                self._disabled = True
                self.echo(
                    f"      not in a git checkout (or no commit yet): {self.stack_file.name} "
                    "changed but was not committed; commit it and open a pull request yourself, "
                    "so main says what is deployed"
                )
                return None
            self._checkout = (top, self.stack_file.relative_to(top).as_posix(), base)
        return self._checkout

    def record(self, title: str) -> None:
        checkout = self._locate()
        if checkout is None:
            return
        top, relative, _ = checkout
        parent = self._head or "HEAD"
        try:
            with tempfile.TemporaryDirectory(prefix="phoenix-aws-release-") as scratch:
                index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
                blob = self._git("hash-object", "-w", "--", relative, cwd=top)
                self._git("read-tree", parent, cwd=top, env=index)
                listed = self._git("ls-files", "-s", "--", relative, cwd=top, env=index)
                mode = listed.split()[0] if listed else "100644"
                self._git(
                    "update-index", "--add", "--cacheinfo", f"{mode},{blob},{relative}",
                    cwd=top, env=index,
                )  # fmt: skip
                tree = self._git("write-tree", cwd=top, env=index)
                message = f"release {self.stack} {self.action}: {title}"
                commit = self._git("commit-tree", tree, "-p", parent, "-m", message, cwd=top)
                # The old value makes the update atomic: "" = the branch must not exist yet.
                self._git(
                    "update-ref", f"refs/heads/{self.branch}", commit, self._head or "", cwd=top
                )
        except GitError as exc:
            self.echo(f"      could not record the stack file on {self.branch}: {exc}")
            return
        self._head = commit
        self.commits += 1
        self.echo(f"      recorded {relative} on branch {self.branch} ({commit[:12]})")

    def finish(self) -> None:
        if not self.commits or self._checkout is None:
            return
        _, relative, base = self._checkout
        target = base if base != "HEAD" else "main"
        self.echo(
            f"The new release state of {relative} is on branch {self.branch}. Open a pull request "
            f"into {target} so CI deploys what is live:\n"
            f"  git push -u origin {self.branch}\n"
            f"  gh pr create --base {target} --head {self.branch} --fill"
        )
