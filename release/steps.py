"""The parts every release plan is made of: the operator's options, a step, what the stack and
AWS say (facts), and the small pure functions the planner, the runner and the timings share."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from phoenix_aws.release_slot import DRAIN_POLL_SECONDS
from phoenix_aws.slots import BUILD, SLOTS, Slot

from stacks.settings import ReleaseSettings

ACTIONS = ("deploy", "promote", "drain", "rollback", "status")
STEP_ACTIONS = ("deploy", "promote", "drain", "rollback")
"""Actions that change the stack (and hold the release lock while they run)."""

DEFAULT_DRAIN_WINDOW_SECONDS: int = ReleaseSettings.model_fields["drain_window_seconds"].default
"""`release.drain_window_seconds` when the stack file does not set it (the settings' default)."""
APP_DRAIN_POLL_SECONDS = DRAIN_POLL_SECONDS
"""How often a node reads its drain parameter: the slot's DRAIN_POLL_SECONDS."""
SOCKET_METRIC_PERIOD_SECONDS = 60
"""Each node writes its `WebSockets` count once a minute; CloudWatch keeps 1-minute datapoints."""
SOCKET_METRIC_DELAY_SECONDS = 60
"""Allowance for a metric line to travel awslogs → CloudWatch Logs → metric extraction."""


class PlanError(Exception):
    """The action is refused in the current state; the message says why and what to do."""


class StackConfigError(PlanError):
    """The stack file as it is fails the program's own validation: bad input, exit status 2 like
    every command's answer to a bad config."""


class NothingToDo(Exception):  # noqa: N818 - not an error: the command says so and exits 0
    """The action has nothing left to do (e.g. drain of a slot that runs no tasks)."""


def other(slot: str) -> str:
    return Slot(slot).other.value


def socket_wait_seconds(drain_window_seconds: int) -> int:
    """How long the drain waits at most for a draining slot's WebSockets to close.

    A node notices the drain within one poll of its parameter, then sheds its sockets evenly over
    the window; the count that shows it reaches CloudWatch one metric period (plus delivery) later.
    """
    return (
        drain_window_seconds
        + APP_DRAIN_POLL_SECONDS
        + SOCKET_METRIC_PERIOD_SECONDS
        + SOCKET_METRIC_DELAY_SECONDS
    )


@dataclass(frozen=True)
class Options:
    """What the operator asked for. Checked on creation: bad values raise `PlanError`."""

    image: str = BUILD
    """deploy: an image pinned by digest, or `build` to build from `phoenix-aws:image`."""
    version: str | None = None
    """deploy: release label for RELEASE_VERSION. Default: none (the program uses the digest)."""
    desired_count: int | None = None
    """deploy: tasks on the new slot. Default: as many as the live slot runs (at least 1)."""
    canary_steps: tuple[int, ...] = ()
    """promote: canary percentages before the flip, e.g. (10, 50). Default: flip at once."""
    bake_seconds: int = 300
    """promote: pause after each canary step; drain: pause before the slot starts shedding, while
    instant rollback is still possible. Default 300."""
    drain_batch: int = 1
    """drain: tasks removed per wave. Default 1."""
    drain_pause_seconds: int = 60
    """drain: pause between waves. Default 60."""
    socket_threshold: int = 0
    """drain: the slot is scaled down once at most this many WebSockets remain open. Default 0."""
    slot: str | None = None
    """drain: the slot to drain. Default: the idle slot."""
    force: bool = False
    """drain: scale the slot down even when its WebSockets did not fall to the threshold in
    time (those sockets are cut). Default: stop and ask."""
    redeploy: bool = False
    """rollback: start the previous release again when its slot was drained to 0 tasks (or its
    image replaced), then move traffic. Default: refuse, since that takes minutes."""

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be {rule}, got {value}"
            for name, value, ok, rule in (
                ("--bake", self.bake_seconds, self.bake_seconds >= 0, "0 or more seconds"),
                (
                    "--drain-pause",
                    self.drain_pause_seconds,
                    self.drain_pause_seconds >= 0,
                    "0 or more seconds",
                ),
                ("--drain-batch", self.drain_batch, self.drain_batch >= 1, "at least 1 task"),
                (
                    "--count",
                    self.desired_count,
                    self.desired_count is None or self.desired_count >= 1,
                    "at least 1 task",
                ),
                (
                    "--drain-threshold",
                    self.socket_threshold,
                    self.socket_threshold >= 0,
                    "0 or more sockets",
                ),
            )
            if not ok
        ]
        if self.slot is not None and self.slot not in SLOTS:
            problems.append(f"--slot must be blue or green, got {self.slot!r}")
        if problems:
            raise PlanError("; ".join(problems))


@dataclass(frozen=True)
class Step:
    """One step: `changes` to the release config then `pulumi up`, or a wait, or a smoke test."""

    title: str
    changes: dict[str, Any] = field(default_factory=dict)
    """Release-config paths (`green.image`, `live`, …) → new values (None removes the key)."""
    wait_seconds: int = 0
    """A plain wait; with `socket_drain_slot`, the longest the socket wait may take."""
    smoke_test_slot: str | None = None
    """GET the health route with the test header and require this slot to answer."""
    preflight: bool = False
    """The smoke test runs before anything changes: a failure refuses the action."""
    pin_image_slot: str | None = None
    """After the up: write the slot's built digest into its config (`image: build` → digest)."""
    socket_drain_slot: str | None = None
    """Wait until this slot's open WebSockets are at most `socket_threshold` (or the wait ends)."""
    socket_threshold: int = 0
    waiting_for: str = ""
    """What a wait waits for, in words ("the 10% canary to bake"). Default: the title."""
    watch_alarms_slot: str | None = None
    """During the wait, read this slot's alarms; one firing rolls the promotion back."""
    move_traffic_to: str | None = None
    """Move all traffic to this slot with a direct change of the listener rules (rollback),
    once it runs `capacity` healthy targets."""
    capacity: int = 0
    """Healthy targets the slot must run before traffic moves to it."""


def describe_changes(changes: Mapping[str, Any]) -> str:
    """`green.image: repo@sha256:…, green.draining: false, promoting: (removed)`."""

    def shown(value: Any) -> str:
        if value is None:
            return "(removed)"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return ", ".join(f"{path}: {shown(value)}" for path, value in changes.items())


def apply_changes(release: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the release config with dotted-path `changes` applied (None deletes a key)."""
    updated = copy.deepcopy(dict(release))
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = updated
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return updated


def slot_config(release: Mapping[str, Any], name: str) -> dict[str, Any]:
    return dict(release.get(name) or {})


def slot_count(release: Mapping[str, Any], name: str) -> int:
    return int(slot_config(release, name).get("desired_count", 0))


@dataclass(frozen=True)
class Facts:
    """What the stack and AWS say right now, read before planning (all empty in a dry run)."""

    healthy: Mapping[str, int] = field(default_factory=dict)
    """slot → healthy targets (DescribeTargetHealth)."""
    running_images: Mapping[str, str] = field(default_factory=dict)
    """slot → the image it runs (the `slot_images` output: a `build` slot's digest)."""
    previous: Mapping[str, Any] | None = None
    """The release that was live before the live one (release history): slot, image, version."""
    alarms: Mapping[str, Any] | None = None
    """slot → its alarm names (the `slot_alarms` output); None: not known (a dry run)."""


PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")
"""An image reference pinned by digest."""


def live_runs(release: Mapping[str, Any], live: str, facts: Facts) -> int:
    """How many tasks the live slot carries its traffic with now: its healthy targets (what
    autoscaling made of it), at least its configured floor, at least 1."""
    return max(facts.healthy.get(live, 0), slot_count(release, live), 1)
