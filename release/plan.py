"""Blue-green release planning: a pure function from (release config, live health, options) to
the list of steps that moves the stack forward. No I/O; `runner.py` executes the steps.

Every step is a change to `phoenix-aws:release` followed by `pulumi up` (or a pause or smoke test),
so each is visible in a preview diff. The plan depends only on the current config, so running the
same action again after an interruption continues where it stopped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from phoenix_aws.slots import SLOTS, Slot

ACTIONS = ("deploy", "promote", "drain", "rollback", "status")
BUILD = "build"


class PlanError(Exception):
    """The action is refused in the current state; the message says why and what to do."""


def other(slot: str) -> str:
    return Slot(slot).other.value


@dataclass(frozen=True)
class Options:
    """What the operator asked for."""

    image: str = BUILD
    """deploy: an image pinned by digest, or `build` to build from `phoenix-aws:image`."""
    version: str | None = None
    """deploy: release label for RELEASE_VERSION."""
    desired_count: int | None = None
    """deploy: tasks on the new slot. Default: as many as the live slot runs."""
    canary_steps: tuple[int, ...] = ()
    """promote: canary percentages before the flip, e.g. (10, 50)."""
    bake_seconds: int = 300
    """promote: pause after each canary step; drain: pause before the first scale-down, while
    instant rollback is still possible."""
    drain_batch: int = 1
    """drain: tasks removed per wave."""
    drain_pause_seconds: int = 60
    """drain: pause between waves, so WebSocket clients reconnect gradually."""
    slot: str | None = None
    """drain: the slot to drain. Default: the idle slot."""


@dataclass(frozen=True)
class Step:
    """One step: `changes` to the release config then `pulumi up`, or a pause, or a smoke test."""

    title: str
    changes: dict[str, Any] = field(default_factory=dict)
    """Release-config paths (`green.image`, `live`, …) → new values."""
    up: bool = True
    wait_seconds: int = 0
    smoke_test_slot: str | None = None
    pin_image_slot: str | None = None
    """After the up: write the slot's built digest into its config (`image: build` → digest)."""


def apply_changes(release: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of the release config with dotted-path `changes` applied (None deletes a key)."""
    updated = copy.deepcopy(release)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = updated
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return updated


def _slot(release: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(release.get(name) or {})


def _count(release: dict[str, Any], name: str) -> int:
    return int(_slot(release, name).get("desired_count", 0))


def plan(
    action: str,
    release: dict[str, Any],
    options: Options | None = None,
    healthy: dict[str, int] | None = None,
) -> list[Step]:
    """The steps for `action` from the current `release` config.

    `healthy` maps slot → healthy targets right now (None: unknown, e.g. a dry run).
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
    ](release, live, options, healthy or {})
    return _without_done(release, steps)


def _without_done(release: dict[str, Any], steps: list[Step]) -> list[Step]:
    """Drop leading config steps whose changes already hold (resuming after an interruption)."""
    current = release
    remaining: list[Step] = []
    for step in steps:
        if step.changes and apply_changes(current, step.changes) == current and not remaining:
            continue
        remaining.append(step)
        current = apply_changes(current, step.changes)
    return remaining


def _deploy(
    release: dict[str, Any], live: str, options: Options, healthy: dict[str, int]
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
    if count < 1:
        raise PlanError("deploy needs at least one task on the new slot")
    live_max = _slot(release, live).get("max_count")
    changes: dict[str, Any] = {
        f"{idle}.image": options.image,
        f"{idle}.desired_count": count,
        f"{idle}.max_count": max(int(live_max or count), count),
        f"{idle}.run_migrations": False,
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
    release: dict[str, Any], live: str, options: Options, healthy: dict[str, int]
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
    steps = [
        Step(
            title=f"run migrations with slot {target}'s image (the listener waits for them)",
            changes={"promoting": target, f"{target}.run_migrations": True},
        ),
        Step(
            title=f"smoke-test slot {target} through the test route",
            up=False,
            smoke_test_slot=target,
        ),
    ]
    current = int(release.get("canary_percent", 0))
    steps_pct = sorted(set(options.canary_steps))
    if any(not 0 < pct < 100 for pct in steps_pct):
        raise PlanError(f"canary steps must be between 1 and 99, got {list(options.canary_steps)}")
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
                Step(title=f"bake the {pct}% canary", up=False, wait_seconds=options.bake_seconds)
            )
    steps.append(
        Step(
            title=f"flip live to slot {target}; slot {live} keeps running for instant rollback",
            changes={"live": target, "canary_percent": 0, "promoting": None},
        )
    )
    return steps


def _drain(
    release: dict[str, Any], live: str, options: Options, healthy: dict[str, int]
) -> list[Step]:
    target = options.slot or other(live)
    if target not in SLOTS:
        raise PlanError(f"unknown slot {target!r}")
    if target == live:
        raise PlanError(f"refusing to drain slot {target}: it is live")
    if release.get("promoting") == target or (
        release.get("canary_percent", 0) and target == other(live)
    ):
        raise PlanError(
            f"refusing to drain slot {target}: it is being promoted or takes canary traffic"
        )
    if options.drain_batch < 1:
        raise PlanError("drain batch must be at least 1 task")
    count = _count(release, target)
    if count == 0:
        return []
    steps: list[Step] = []
    if options.bake_seconds:
        steps.append(
            Step(
                title=f"bake: slot {target} stays up for instant rollback",
                up=False,
                wait_seconds=options.bake_seconds,
            )
        )
    while count > 0:
        count = max(0, count - options.drain_batch)
        steps.append(
            Step(
                title=f"drain slot {target} to {count} task(s)",
                changes={f"{target}.desired_count": count, f"{target}.max_count": count},
            )
        )
        if count and options.drain_pause_seconds:
            steps.append(
                Step(
                    title="let disconnected WebSocket clients reconnect before the next wave",
                    up=False,
                    wait_seconds=options.drain_pause_seconds,
                )
            )
    return steps


def _rollback(
    release: dict[str, Any], live: str, options: Options, healthy: dict[str, int]
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
    if healthy.get(previous) == 0:
        raise PlanError(f"refusing to roll back to slot {previous}: it has 0 healthy tasks")
    return [
        Step(
            title=f"roll back: live to slot {previous} (slot {live} keeps running)",
            changes={"live": previous, "canary_percent": 0},
        )
    ]
