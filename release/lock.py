"""One lock per stack for a whole release, held in AWS (a DynamoDB item), so a laptop, another
laptop and CI exclude each other from the first step of a release to its last.

The stack's `ReleaseLockTable` (output `release_lock_table`) holds one lock item and the release
history. Every write is a DynamoDB conditional write, which DynamoDB applies atomically: of two
writers with the same condition exactly one succeeds, the other gets
ConditionalCheckFailedException
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).

- acquire: PutItem if no lock item exists. A lock that is held, even one whose holder stopped
  renewing it (stale), is never taken silently: the refusal says who holds it, for what, since
  when, and how to break it.
- renew (before every `up`, during every wait, and from a heartbeat thread while an `up` runs):
  UpdateItem of the expiry, only while the item still carries this holder's token; the renewal
  just before an `up` also marks the lock as inside it (one write), cleared when the up ends.
  A holder that lost its lock (broken by someone else) learns it at its next step and stops.
- release: DeleteItem of this holder's own item. break: DeleteItem of exactly the item that was
  shown (its token), so a break never removes a lock taken after it was looked at.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from release.waits import clock_time

LOCK_KEY = {"pk": {"S": "lock"}, "sk": {"S": "release"}}
HISTORY_PK = "history"
LOCK_TTL_SECONDS = 600
"""A held lock expires this long after its last renewal; until then nobody else may take it."""
HEARTBEAT_SECONDS = 60
"""How often a running release renews its lock (10 renewals per expiry)."""


class LockError(RuntimeError):
    """The lock table cannot be used (missing, no permission); the message says what to do."""


class LockHeld(LockError):  # noqa: N818 - a refusal, reported like PlanError
    """Someone else holds the stack's release lock."""


class LockLost(LockError):  # noqa: N818
    """This release's lock was broken or expired and taken: it must stop."""


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, for what, and until when (unless renewed)."""

    owner: str
    token: str
    action: str
    reason: str
    acquired_at: float
    expires_at: float
    up_since: float | None = None
    """When the `pulumi up` the holder runs now began (None: not in an up)."""
    up_title: str = ""

    def stale(self, now: float) -> bool:
        return now >= self.expires_at

    def describe(self, now: float) -> str:
        age = int(now - self.acquired_at)
        state = (
            f"stale: not renewed since {clock_time(self.expires_at - LOCK_TTL_SECONDS)} "
            f"(expired {int(now - self.expires_at)} s ago)"
            if self.stale(now)
            else f"renewed every {HEARTBEAT_SECONDS} s, expires {clock_time(self.expires_at)} "
            "unless renewed"
        )
        inside = (
            f"; inside `pulumi up` ({self.up_title}) since {clock_time(self.up_since)}"
            if self.up_since is not None
            else ""
        )
        return (
            f"{self.owner} holds it for `{self.reason}` since {clock_time(self.acquired_at)} "
            f"({age} s), {state}{inside}"
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Holder:
        return cls(
            owner=item["owner"]["S"],
            token=item["token"]["S"],
            action=item.get("action", {}).get("S", ""),
            reason=item.get("reason", {}).get("S", ""),
            acquired_at=float(item["acquired_at"]["N"]),
            expires_at=float(item["expires_at"]["N"]),
            up_since=float(item["up_since"]["N"]) if "up_since" in item else None,
            up_title=item.get("up_title", {}).get("S", ""),
        )


def default_owner(environ: dict[str, str] | None = None) -> str:
    """`alice@laptop (pid 4242)`, or on GitHub Actions the repository, run and actor."""
    env = dict(os.environ if environ is None else environ)
    if env.get("GITHUB_ACTIONS") == "true":
        return (
            f"github-actions {env.get('GITHUB_REPOSITORY', '?')} run "
            f"{env.get('GITHUB_RUN_ID', '?')} by {env.get('GITHUB_ACTOR', '?')}"
        )
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} (pid {os.getpid()})"


def _conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class ReleaseLock:
    """The release lock of one stack (see the module docstring)."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        *,
        stack: str,
        owner: str,
        clock: Callable[[], float] = time.time,
        ttl: float = LOCK_TTL_SECONDS,
    ) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.stack = stack
        self.owner = owner
        self.clock = clock
        self.ttl = ttl
        self.token: str | None = None
        self.renewed_at = 0.0
        self._lost: LockLost | None = None

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self.dynamodb, operation)(TableName=self.table, **kwargs))
        except ClientError as exc:
            if _conditional_failure(exc):
                raise
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise LockError(
                    f"the release lock table {self.table} does not exist: deploy this version "
                    f"of the program once (`pulumi up` of stack {self.stack}) so it does"
                ) from None
            raise LockError(f"the release lock table {self.table}: {exc}") from None
        except BotoCoreError as exc:  # credentials, network
            raise LockError(f"the release lock table {self.table}: {exc}") from None

    def holder(self) -> Holder | None:
        """Who holds the lock now (a strongly consistent read), or None."""
        item = self._call("get_item", Key=LOCK_KEY, ConsistentRead=True).get("Item")
        return Holder.from_item(item) if item else None

    def acquire(self, action: str, reason: str) -> Holder:
        """Take the lock for a release, or raise LockHeld saying who has it."""
        now = self.clock()
        token = uuid.uuid4().hex
        item = {
            **LOCK_KEY,
            "owner": {"S": self.owner},
            "token": {"S": token},
            "action": {"S": action},
            "reason": {"S": reason},
            "acquired_at": {"N": f"{now:.3f}"},
            "expires_at": {"N": f"{now + self.ttl:.3f}"},
        }
        try:
            self._call(
                "put_item",
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            held = exc.response.get("Item")
            holder = Holder.from_item(held) if held else self.holder()
            raise LockHeld(self._held_message(holder, now)) from None
        self.token = token
        self.renewed_at = now
        self._lost = None
        return Holder.from_item(item)

    def _held_message(self, holder: Holder | None, now: float) -> str:
        if holder is None:  # released between the write and the read: just try again
            return f"the release lock of {self.stack} was busy a moment ago; run again"
        advice = (
            f"If that release is dead (its laptop or runner is gone), break the lock with "
            f"`python -m release {self.stack} unlock`; the next release resumes from what the "
            "stack says."
            if holder.stale(now)
            else "Wait for it to finish (`python -m release "
            f"{self.stack} status` shows its progress), or, if you must stop it, "
            f"`python -m release {self.stack} unlock --force` (its next step then stops)."
        )
        return f"another release of {self.stack} is under way: {holder.describe(now)}. {advice}"

    def renew(self, up_title: str | None = None) -> None:
        """Push the expiry forward; LockLost when this release no longer holds the lock. With
        `up_title`, the same write says the release is now inside that `pulumi up` (until
        left_up)."""
        if self._lost is not None:
            raise self._lost
        if self.token is None:
            raise LockLost("this release does not hold the release lock")
        now = self.clock()
        values = {":expires": {"N": f"{now + self.ttl:.3f}"}, ":token": {"S": self.token}}
        expression = "SET expires_at = :expires"
        if up_title is not None:
            expression += ", up_since = :now, up_title = :title"
            values.update({":now": {"N": f"{now:.3f}"}, ":title": {"S": up_title[:300]}})
        try:
            self._call(
                "update_item",
                Key=LOCK_KEY,
                UpdateExpression=expression,
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues=values,
            )
        except ClientError:
            holder = self.holder()
            now_held = f" {holder.describe(now)}" if holder else " nobody holds it now."
            self._lost = LockLost(
                f"this release lost the release lock of {self.stack} (it was broken):{now_held} "
                "Stopped before changing anything else; see `python -m release "
                f"{self.stack} status`"
            )
            self.token = None
            raise self._lost from None
        self.renewed_at = now

    def left_up(self) -> None:
        """Say on the lock that this release's `pulumi up` has ended (`renew(up_title=…)` said it
        began): while it ran, nobody could break the lock, since that update would finish its
        step after whatever the breaker did."""
        if self.token is None:
            return
        with contextlib.suppress(ClientError):  # lost: the next renew says so, and stops
            self._call(
                "update_item",
                Key=LOCK_KEY,
                UpdateExpression="REMOVE up_since, up_title",
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": self.token}},
            )

    def renew_if_due(self) -> None:
        """Renew when the last renewal is a heartbeat old (called from waits)."""
        if self.clock() - self.renewed_at >= HEARTBEAT_SECONDS:
            self.renew()

    @contextlib.contextmanager
    def kept_alive(self, interval: float = HEARTBEAT_SECONDS) -> Iterator[None]:
        """Renew from a background thread while a blocking call (a `pulumi up`) runs; raise
        LockLost after it if the lock was lost meanwhile."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    self.renew()
                except LockError:
                    return

        thread = threading.Thread(target=beat, name="release-lock-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        if self._lost is not None:
            raise self._lost

    def release(self) -> bool:
        """Give the lock back (only this holder's own item); False if it was no longer ours."""
        if self.token is None:
            return False
        token, self.token = self.token, None
        try:
            self._call(
                "delete_item",
                Key=LOCK_KEY,
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except ClientError:
            return False
        return True

    def break_lock(self, holder: Holder) -> None:
        """Remove exactly the lock `holder` describes (not one taken after it was read), and
        write who broke whose lock into the release history."""
        try:
            self._call(
                "delete_item",
                Key=LOCK_KEY,
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": holder.token}},
            )
        except ClientError:
            raise LockHeld(
                f"the release lock of {self.stack} changed hands while you looked at it; "
                f"nothing was broken. Run `python -m release {self.stack} status` again"
            ) from None
        self.record("unlock", {"broke": holder.owner, "was_for": holder.reason, "by": self.owner})

    def record(self, event: str, details: dict[str, str]) -> None:
        """Add an entry to the release history (what happened, by whom, when)."""
        now = self.clock()
        item = {
            "pk": {"S": HISTORY_PK},
            "sk": {"S": f"{now:017.3f}-{uuid.uuid4().hex[:8]}"},
            "event": {"S": event},
            "at": {"N": f"{now:.3f}"},
            **{key: {"S": str(value)} for key, value in details.items()},
        }
        self._call("put_item", Item=item)

    def history(self, limit: int = 20) -> list[dict[str, str]]:
        """The latest release history entries, newest first, as plain strings."""
        response = self._call(
            "query",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": HISTORY_PK}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [
            {key: next(iter(value.values())) for key, value in item.items() if key != "pk"}
            for item in response.get("Items", [])
        ]
