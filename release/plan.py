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

import dataclasses
from collections.abc import Mapping
from typing import Any

from phoenix_aws.slots import BUILD, SLOTS

from release.steps import (
    ACTIONS,
    APP_DRAIN_POLL_SECONDS,
    DEFAULT_DRAIN_WINDOW_SECONDS,
    PINNED,
    SOCKET_METRIC_DELAY_SECONDS,
    SOCKET_METRIC_PERIOD_SECONDS,
    STEP_ACTIONS,
    Facts,
    NothingToDo,
    Options,
    PlanError,
    StackConfigError,
    Step,
    apply_changes,
    describe_changes,
    live_runs,
    other,
    slot_config,
    slot_count,
    socket_wait_seconds,
)

__all__ = [  # the planner's public names, with the parts it is made of (release.steps)
    "ACTIONS",
    "APP_DRAIN_POLL_SECONDS",
    "BUILD",
    "PINNED",
    "SOCKET_METRIC_DELAY_SECONDS",
    "SOCKET_METRIC_PERIOD_SECONDS",
    "STEP_ACTIONS",
    "Facts",
    "NothingToDo",
    "Options",
    "PlanError",
    "StackConfigError",
    "Step",
    "apply_changes",
    "check_steps",
    "describe_changes",
    "live_runs",
    "other",
    "plan",
    "plan_for_stack",
    "socket_wait_seconds",
]


def plan(
    action: str,
    release: Mapping[str, Any],
    options: Options | None = None,
    healthy: Mapping[str, int] | None = None,
    facts: Facts | None = None,
) -> list[Step]:
    """The steps for `action` from the deployed `release` section.

    `healthy` maps slot → healthy targets right now (None: unknown, e.g. a dry run); `facts`
    carries that and more (running images, the previous release).
    Raises `PlanError` when the action is refused, `NothingToDo` when it has nothing left to do.
    """
    options = options or Options()
    facts = facts or Facts(healthy=dict(healthy or {}))
    if healthy is not None and not facts.healthy:
        facts = dataclasses.replace(facts, healthy=dict(healthy))
    if action not in ACTIONS:
        raise PlanError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    live = release.get("live", "blue")
    if live not in SLOTS:
        raise PlanError(f"release.live is {live!r}; expected blue or green")
    if action == "status":
        return []
    steps = {"deploy": _deploy, "promote": _promote, "drain": _drain, "rollback": _rollback}[
        action
    ](release, live, options, facts)
    return _without_done(release, steps)


def plan_for_stack(
    action: str,
    raw_config: Mapping[str, Any],
    options: Options | None = None,
    healthy: Mapping[str, int] | None = None,
    facts: Facts | None = None,
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
    steps = plan(action, release, options, healthy, facts)
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


def _pruned(value: Any) -> Any:
    """A release section without None values (a key set to None and a missing key mean the
    same: the default)."""
    if isinstance(value, Mapping):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    return value


def _without_done(release: Mapping[str, Any], steps: list[Step]) -> list[Step]:
    """Drop config steps whose changes already hold (resuming after an interruption): `release`
    is the deployed section, read from the stack, so such an up would change nothing."""
    current = dict(release)
    remaining: list[Step] = []
    for step in steps:
        if step.changes and _pruned(apply_changes(current, step.changes)) == _pruned(current):
            continue
        remaining.append(step)
        current = apply_changes(current, step.changes)
    return remaining


def _deploy(release: Mapping[str, Any], live: str, options: Options, facts: Facts) -> list[Step]:
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
        else live_runs(release, live, facts)
    )
    live_max = slot_config(release, live).get("max_count")
    changes: dict[str, Any] = {
        f"{idle}.image": options.image,
        f"{idle}.desired_count": count,
        f"{idle}.max_count": max(int(live_max or count), count),
        f"{idle}.run_migrations": False,
        f"{idle}.draining": False,
        f"{idle}.version": options.version,
    }
    was_running = slot_count(release, idle)
    what = "the new build" if options.image == BUILD else options.image
    title = f"put {what} on idle slot {idle} and scale it to {count}"
    if was_running:
        title += (
            f" (replacing the previous release it still ran on {was_running} task(s): "
            "rollback to it is no longer possible)"
        )
    if slot_config(release, live).get("image") == BUILD:
        # `build` means "the image this up builds": left as it is, the live slot would roll
        # to the new build in this very up. Only the slot the release targets follows it.
        running = facts.running_images.get(live)
        if running and PINNED.search(running):
            changes[f"{live}.image"] = running
            title += (
                f"; live slot {live} followed the build and is pinned to the digest it runs, so "
                "this release does not roll it (set it back to `build` to follow main again)"
            )
        elif facts.running_images or facts.healthy:
            raise PlanError(
                f"live slot {live} follows the build (image: build), and the stack reports no "
                f"digest it runs (slot_images: {running!r}); a deploy would roll it too. Run "
                "`pulumi up` once so the stack exports the digest, then deploy"
            )
        else:
            title += f" (live slot {live} follows the build: the deploy pins it to its digest)"
    return [
        Step(title=title, changes=changes, pin_image_slot=idle if options.image == BUILD else None)
    ]


def _promote(release: Mapping[str, Any], live: str, options: Options, facts: Facts) -> list[Step]:
    target = release.get("promoting") or other(live)
    if target == live:
        raise PlanError(f"slot {target} is already live")
    slot = slot_config(release, target)
    if not slot.get("image") or slot_count(release, target) == 0:
        raise PlanError(f"nothing is deployed on slot {target}; run deploy first")
    if slot.get("image") == BUILD:
        raise PlanError(f"slot {target} is not pinned to a digest yet; run deploy again to pin it")
    if facts.healthy.get(target) == 0:
        raise PlanError(f"refusing to promote slot {target}: it has 0 healthy tasks")
    if not release.get("promoting") and slot.get("run_migrations", True):
        raise PlanError(
            f"slot {target} runs a release that was live before (its migrations ran); "
            "use rollback to return to it, or deploy a new release"
        )
    steps_pct = sorted(set(options.canary_steps))
    if any(not 0 < pct < 100 for pct in steps_pct):
        raise PlanError(f"canary steps must be between 1 and 99, got {list(options.canary_steps)}")
    watchless = facts.alarms is not None and not facts.alarms.get(target)
    if steps_pct and options.bake_seconds and watchless:
        raise PlanError(
            f"a canary watches slot {target}'s alarms while it bakes, and the stack exports "
            "none (slot_alarms): turn monitoring on (phoenix-aws:monitoring.enabled) and "
            "deploy it, or promote without --canary"
        )
    migrate: dict[str, Any] = {"promoting": target, f"{target}.run_migrations": True}
    if slot.get("draining"):
        migrate[f"{target}.draining"] = False
    # Sized from what the live slot runs now (autoscaling may have grown it since the deploy),
    # so the flip never hands the whole load to fewer tasks than carry it today.
    size = live_runs(release, live, facts)
    if slot_count(release, target) < size:
        migrate[f"{target}.desired_count"] = size
        migrate[f"{target}.max_count"] = max(int(slot.get("max_count") or 0), size)
    steps = [
        Step(
            title=f"pre-flight: slot {target} answers through the test route from here",
            smoke_test_slot=target,
            preflight=True,
        ),
        Step(
            title=f"run migrations with slot {target}'s image (the listener waits for them)",
            changes=migrate,
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
                    title=f"bake the {pct}% canary, watching slot {target}'s alarms",
                    wait_seconds=options.bake_seconds,
                    waiting_for=f"the {pct}% canary to bake (an alarm of slot {target} rolls "
                    "it back)",
                    watch_alarms_slot=target,
                )
            )
    steps.append(
        Step(
            title=f"flip live to slot {target}; slot {live} keeps running for instant rollback",
            changes={"live": target, "canary_percent": 0, "promoting": None},
        )
    )
    return steps


def _drain(release: Mapping[str, Any], live: str, options: Options, facts: Facts) -> list[Step]:
    target = options.slot or other(live)
    if target == live:
        raise PlanError(f"refusing to drain slot {target}: it is live")
    if release.get("promoting") == target or (
        release.get("canary_percent", 0) and target == other(live)
    ):
        raise PlanError(
            f"refusing to drain slot {target}: it is being promoted or takes canary traffic"
        )
    count = slot_count(release, target)
    if count == 0:
        raise NothingToDo(f"slot {target} runs no tasks: nothing to drain")
    window = int(release.get("drain_window_seconds", DEFAULT_DRAIN_WINDOW_SECONDS))
    steps: list[Step] = []
    if options.bake_seconds and not slot_config(release, target).get("draining"):
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


def _rollback(release: Mapping[str, Any], live: str, options: Options, facts: Facts) -> list[Step]:
    under_way = release.get("in_progress") or {}
    if under_way.get("action") == "rollback" and str(under_way.get("title", "")).startswith(
        ("reconcile the stack", "cancel the promotion")
    ):
        # A rollback that died after its traffic move was reconciled: what is left is the
        # bad slot's shed. (Planned afresh, "rollback" would now roll back the rollback.)
        return [_shed_now(other(live))]
    promoting = release.get("promoting")
    canary = int(release.get("canary_percent", 0) or 0)
    if promoting or canary:
        target = promoting or other(live)
        cancelling: list[Step] = []
        cancel: dict[str, Any] = {"canary_percent": 0, "promoting": None}
        if canary:
            cancelling.append(
                Step(
                    title=f"move all traffic back to slot {live} now (listener rules)",
                    move_traffic_to=live,
                    capacity=live_runs(release, live, facts),
                )
            )
        cancelling.append(
            Step(
                title=f"cancel the promotion of slot {target}: all traffic back to slot {live}",
                changes=cancel,
            )
        )
        if canary:  # its canary clients reconnect to the live slot, in the next up (see below)
            cancelling.append(_shed_now(target))
        return cancelling
    previous = other(live)
    slot = slot_config(release, previous)
    required = live_runs(release, live, facts)
    history = facts.previous or {}
    replaced = not slot.get("image") or not slot.get("run_migrations", True)
    steps: list[Step] = []
    back: dict[str, Any] = {}
    if replaced:
        if not (options.redeploy and history.get("image")):
            holds = (
                f"slot {previous} holds a new release that was never promoted (promote it, or "
                "deploy again)"
                if slot.get("image")
                else f"slot {previous} runs nothing"
            )
            hint = (
                f"; `rollback --redeploy` puts the release that was live before "
                f"({history['image']}) back on it first"
                if history.get("image")
                else ""
            )
            raise PlanError(f"nothing to roll back to: {holds}; slot {live} stays live{hint}")
        back = {
            f"{previous}.image": history["image"],
            f"{previous}.version": history.get("version") or None,
            f"{previous}.run_migrations": True,
            f"{previous}.draining": False,
            f"{previous}.desired_count": required,
            f"{previous}.max_count": max(int(slot.get("max_count") or 0), required),
        }
        steps.append(
            Step(
                title=(
                    f"put the previous release {history['image']} back on slot {previous} with "
                    f"{required} task(s)"
                ),
                changes=back,
            )
        )
    elif slot_count(release, previous) == 0 and not options.redeploy:
        raise PlanError(
            f"slot {previous} was drained to 0 tasks, so rollback is not instant: "
            f"`rollback --redeploy` starts {required} task(s) of its release again and moves "
            "traffic once they are healthy (`--plan` shows how long that takes)"
        )
    elif facts.healthy.get(previous) == 0 and not options.redeploy:
        # Tasks that should run but none is healthy: broken, or starting (--redeploy waits).
        raise PlanError(f"refusing to roll back to slot {previous}: it has 0 healthy tasks")
    steps.append(
        Step(
            title=(
                f"move all traffic to slot {previous} now (listener rules), once it runs "
                f"{required} healthy task(s)"
            ),
            move_traffic_to=previous,
            capacity=required,
        )
    )
    changes: dict[str, Any] = {"live": previous, "canary_percent": 0}
    if slot.get("draining") and not back:
        changes[f"{previous}.draining"] = False
    if slot_count(release, previous) < required and not back:
        # The drain lowered the ceiling with the count: it gets the live slot's ceiling back.
        ceiling = max(int(slot_config(release, live).get("max_count") or 0), required)
        changes[f"{previous}.desired_count"] = required
        changes[f"{previous}.max_count"] = ceiling
    steps.append(
        Step(
            title=f"reconcile the stack with the listener: live {previous}",
            changes=changes,
        )
    )
    steps.append(_shed_now(live))
    return steps


def _shed_now(slot: str) -> Step:
    """The slot that lost its traffic sheds its WebSockets at once, without a bake. In an up of
    its own: the program starts a drain only after the up that took the slot's traffic away has
    finished (`drain_order_problems`), so no shed client is sent back to it."""
    return Step(
        title=f"slot {slot} sheds its WebSockets now (no bake)",
        changes={f"{slot}.draining": True},
    )
