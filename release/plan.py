"""Blue-green release planning: a pure function from (release config, live health, options) to
the list of steps that moves the stack forward. No I/O; `runner.py` executes the steps.

Every step is a change to `phoenix-aws:release` followed by `pulumi up` (or a wait or a smoke
test), so each is visible in a preview diff. The plan depends only on the current config, so running
the same action again after an interruption continues where it stopped.

`plan_for_stack` is what the command uses: it plans from the whole `phoenix-aws:` config and checks
the config after every step with the program's own settings model, so no plan is ever saved or
applied that `pulumi up` would then refuse.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from phoenix_aws.release_slot import DRAIN_POLL_SECONDS
from phoenix_aws.slots import BUILD, SLOTS, Slot

from stacks.settings import ReleaseSettings

ACTIONS = ("deploy", "promote", "drain", "rollback", "status")

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


def _slot(release: Mapping[str, Any], name: str) -> dict[str, Any]:
    return dict(release.get(name) or {})


def _count(release: Mapping[str, Any], name: str) -> int:
    return int(_slot(release, name).get("desired_count", 0))


def plan(
    action: str,
    release: Mapping[str, Any],
    options: Options | None = None,
    healthy: Mapping[str, int] | None = None,
) -> list[Step]:
    """The steps for `action` from the current `release` config.

    `healthy` maps slot → healthy targets right now (None: unknown, e.g. a dry run).
    Raises `PlanError` when the action is refused, `NothingToDo` when it has nothing left to do.
    """
    options = options or Options()
    if action not in ACTIONS:
        raise PlanError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    live = release.get("live", "blue")
    if live not in SLOTS:
        raise PlanError(f"release.live is {live!r}; expected blue or green")
    if action == "status":
        return []
    steps = {"deploy": _deploy, "promote": _promote, "drain": _drain, "rollback": _rollback}[
        action
    ](release, live, options, dict(healthy or {}))
    return _without_done(release, steps)


def plan_for_stack(
    action: str,
    raw_config: Mapping[str, Any],
    options: Options | None = None,
    healthy: Mapping[str, int] | None = None,
) -> list[Step]:
    """Plan from a stack's whole `phoenix-aws:` config (keys without the namespace) and refuse
    any plan that would leave the config in a state the program refuses, at any step.

    Checks, in order: the config as it is now; the test route a smoke test needs
    (`edge.operator_cidrs`); the config after each step, with the settings model itself.
    """
    from stacks.settings import ConfigError, load_settings

    try:
        load_settings(raw_config)
    except ConfigError as exc:
        raise StackConfigError(f"the stack file is not valid as it is: {exc}") from None
    release = dict(raw_config.get("release") or {})
    steps = plan(action, release, options, healthy)
    if any(step.smoke_test_slot for step in steps):
        edge = raw_config.get("edge") or {}
        if not edge.get("operator_cidrs"):
            header = edge.get("test_header", "X-Release-Slot")
            raise PlanError(
                f"{action} smoke-tests the new slot through the test route, but "
                f"phoenix-aws:edge.operator_cidrs is empty, so the {header} header reaches no "
                "slot from anywhere. Add the address you run the release from (your office "
                "range, or your CI runner's /32) to edge.operator_cidrs and deploy that first."
            )
    try:
        check_steps(raw_config, steps)
    except PlanError as exc:
        image = raw_config.get("image") or {}
        building = (options or Options()).image == BUILD
        if action == "deploy" and building and not image.get("context"):
            raise PlanError(
                f"{exc}\n  This stack builds no image: pass --image <repository>@sha256:<digest>"
            ) from None
        raise
    return steps


def check_steps(raw_config: Mapping[str, Any], steps: list[Step]) -> None:
    """Apply each step's changes to the config in turn and validate it with the settings model;
    `PlanError` names the first step that the program would refuse, with the settings' message."""
    from stacks.settings import ConfigError, load_settings

    release = dict(raw_config.get("release") or {})
    for number, step in enumerate(steps, start=1):
        if not step.changes:
            continue
        release = apply_changes(release, step.changes)
        try:
            load_settings({**raw_config, "release": release})
        except ConfigError as exc:
            raise PlanError(
                f"step {number} ({step.title}) would leave the stack config invalid, and "
                f"`pulumi up` would refuse it: {exc}"
            ) from None


def _without_done(release: Mapping[str, Any], steps: list[Step]) -> list[Step]:
    """Drop config steps whose changes already hold (resuming after an interruption): the stack
    file holds what is deployed (the runner restores it when an up fails), so such an up would
    change nothing."""
    current = dict(release)
    remaining: list[Step] = []
    for step in steps:
        if step.changes and apply_changes(current, step.changes) == current:
            continue
        remaining.append(step)
        current = apply_changes(current, step.changes)
    return remaining


def _deploy(
    release: Mapping[str, Any], live: str, options: Options, healthy: dict[str, int]
) -> list[Step]:
    promoting = release.get("promoting")
    if promoting:
        raise PlanError(
            f"slot {promoting} is being promoted; finish it (promote) or cancel it (rollback) first"
        )
    idle = other(live)
    if release.get("canary_percent", 0):
        raise PlanError(f"the idle slot {idle} takes canary traffic; set canary_percent to 0 first")
    count = (
        options.desired_count
        if options.desired_count is not None
        else max(_count(release, live), 1)
    )
    live_max = _slot(release, live).get("max_count")
    changes: dict[str, Any] = {
        f"{idle}.image": options.image,
        f"{idle}.desired_count": count,
        f"{idle}.max_count": max(int(live_max or count), count),
        f"{idle}.run_migrations": False,
        f"{idle}.draining": False,
        f"{idle}.version": options.version,
    }
    was_running = _count(release, idle)
    what = "the new build" if options.image == BUILD else options.image
    title = f"put {what} on idle slot {idle} and scale it to {count}"
    if was_running:
        title += (
            f" (replacing the previous release it still ran on {was_running} task(s): "
            "rollback to it is no longer possible)"
        )
    return [
        Step(title=title, changes=changes, pin_image_slot=idle if options.image == BUILD else None)
    ]


def _promote(
    release: Mapping[str, Any], live: str, options: Options, healthy: dict[str, int]
) -> list[Step]:
    target = release.get("promoting") or other(live)
    if target == live:
        raise PlanError(f"slot {target} is already live")
    slot = _slot(release, target)
    if not slot.get("image") or _count(release, target) == 0:
        raise PlanError(f"nothing is deployed on slot {target}; run deploy first")
    if slot.get("image") == BUILD:
        raise PlanError(f"slot {target} is not pinned to a digest yet; run deploy again to pin it")
    if healthy.get(target) == 0:
        raise PlanError(f"refusing to promote slot {target}: it has 0 healthy tasks")
    if not release.get("promoting") and slot.get("run_migrations", True):
        raise PlanError(
            f"slot {target} runs a release that was live before (its migrations ran); "
            "use rollback to return to it, or deploy a new release"
        )
    steps_pct = sorted(set(options.canary_steps))
    if any(not 0 < pct < 100 for pct in steps_pct):
        raise PlanError(f"canary steps must be between 1 and 99, got {list(options.canary_steps)}")
    steps = [
        Step(
            title=f"pre-flight: slot {target} answers through the test route from here",
            smoke_test_slot=target,
            preflight=True,
        ),
        Step(
            title=f"run migrations with slot {target}'s image (the listener waits for them)",
            changes={"promoting": target, f"{target}.run_migrations": True},
        ),
        Step(
            title=f"smoke-test slot {target} through the test route",
            smoke_test_slot=target,
        ),
    ]
    current = int(release.get("canary_percent", 0))
    for pct in steps_pct:
        if pct <= current:
            continue
        steps.append(
            Step(
                title=f"canary: {pct}% of traffic to slot {target}", changes={"canary_percent": pct}
            )
        )
        if options.bake_seconds:
            steps.append(
                Step(
                    title=f"bake the {pct}% canary",
                    wait_seconds=options.bake_seconds,
                    waiting_for=f"the {pct}% canary to bake (rollback cancels it at once)",
                )
            )
    steps.append(
        Step(
            title=f"flip live to slot {target}; slot {live} keeps running for instant rollback",
            changes={"live": target, "canary_percent": 0, "promoting": None},
        )
    )
    return steps


def _drain(
    release: Mapping[str, Any], live: str, options: Options, healthy: dict[str, int]
) -> list[Step]:
    target = options.slot or other(live)
    if target == live:
        raise PlanError(f"refusing to drain slot {target}: it is live")
    if release.get("promoting") == target or (
        release.get("canary_percent", 0) and target == other(live)
    ):
        raise PlanError(
            f"refusing to drain slot {target}: it is being promoted or takes canary traffic"
        )
    count = _count(release, target)
    if count == 0:
        raise NothingToDo(f"slot {target} runs no tasks: nothing to drain")
    window = int(release.get("drain_window_seconds", DEFAULT_DRAIN_WINDOW_SECONDS))
    steps: list[Step] = []
    if options.bake_seconds and not _slot(release, target).get("draining"):
        steps.append(
            Step(
                title=f"bake: slot {target} stays up for instant rollback",
                wait_seconds=options.bake_seconds,
                waiting_for=(
                    f"the bake before slot {target} drains (rollback is instant until then)"
                ),
            )
        )
    steps.append(
        Step(
            title=f"tell slot {target}'s nodes to shed their WebSockets over {window} s",
            changes={f"{target}.draining": True},
        )
    )
    steps.append(
        Step(
            title=(
                f"wait for slot {target}'s WebSockets to fall to {options.socket_threshold} "
                "or fewer"
            ),
            wait_seconds=socket_wait_seconds(window),
            socket_drain_slot=target,
            socket_threshold=options.socket_threshold,
        )
    )
    while count > 0:
        count = max(0, count - options.drain_batch)
        steps.append(
            Step(
                title=f"scale slot {target} down to {count} task(s)",
                changes={f"{target}.desired_count": count, f"{target}.max_count": count},
            )
        )
        if count and options.drain_pause_seconds:
            steps.append(
                Step(
                    title="pause before the next wave",
                    wait_seconds=options.drain_pause_seconds,
                    waiting_for="the clients of this wave to settle before the next one",
                )
            )
    return steps


def _rollback(
    release: Mapping[str, Any], live: str, options: Options, healthy: dict[str, int]
) -> list[Step]:
    promoting = release.get("promoting")
    if promoting or release.get("canary_percent", 0):
        return [
            Step(
                title=f"cancel the promotion of slot {promoting or other(live)}: "
                f"all traffic back to slot {live}",
                changes={"canary_percent": 0, "promoting": None},
            )
        ]
    previous = other(live)
    slot = _slot(release, previous)
    if not slot.get("image") or _count(release, previous) == 0:
        raise PlanError(
            f"refusing to roll back: the previous slot {previous} is gone (no running tasks); "
            "deploy the previous image again instead"
        )
    if not slot.get("run_migrations", True):
        raise PlanError(
            f"nothing to roll back to: slot {previous} holds a new release that was never "
            f"promoted (promote it, or deploy again); slot {live} stays live"
        )
    if healthy.get(previous) == 0:
        raise PlanError(f"refusing to roll back to slot {previous}: it has 0 healthy tasks")
    changes: dict[str, Any] = {"live": previous, "canary_percent": 0}
    if slot.get("draining"):
        changes[f"{previous}.draining"] = False
    title = f"roll back: live to slot {previous} (slot {live} keeps running)"
    # A partly drained slot gets the live slot's size back, and its autoscaling ceiling (the
    # drain lowered both); the listener waits for the slot's service to be steady again.
    live_slot = _slot(release, live)
    live_count = _count(release, live)
    if _count(release, previous) < live_count:
        changes[f"{previous}.desired_count"] = live_count
        changes[f"{previous}.max_count"] = max(int(live_slot.get("max_count") or 0), live_count)
        title += f", scaled back to {live_count} task(s)"
    return [Step(title=title, changes=changes)]
