"""How long each release step takes, from the stack's own settings: what `--plan` prints next to
each step, and what `python -m release.bench` adds up for every action.

Where a number comes from:
- a new target takes traffic after `healthy_threshold` consecutive passing checks, one every
  `interval_seconds` (edge.health_check;
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html);
- a target leaving a group keeps its connections for the deregistration delay, then ECS sends
  SIGTERM and SIGKILL at most `stop_timeout_seconds` later (edge.deregistration_delay_seconds,
  app.stop_timeout_seconds;
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-connection-draining.html);
- a migration runs at most `app.migration_timeout_seconds`;
- the socket wait lasts at most the drain window plus the nodes' poll and one metric period plus
  delivery (`plan.socket_wait_seconds`); bakes and pauses are what the operator asked for.
The rest are assumptions about this tool and Fargate, named below so they can be measured and
changed in one place: the time an `up` spends outside AWS waits, a Fargate task's start, an
image build.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from phoenix_aws.slots import BUILD

from release.plan import Step, apply_changes, socket_wait_seconds
from release.steps import slot_config

UP_OVERHEAD_SECONDS = 45
"""An `up` outside its AWS waits: the program run, the diff of ~150 resources, the state
writes, and the read of the stack's outputs before it (assumption; measure yours)."""
TASK_START_SECONDS = 60
"""A Fargate task from RunTask to its app listening: ENI, image pull, BEAM boot (assumption)."""
IMAGE_BUILD_SECONDS = 300
"""`image: build`: a Phoenix release built with cached dependencies and pushed (assumption)."""
MIGRATION_RUN_SECONDS = 30
"""A migration that adds a table or a column (assumption; at most migration_timeout_seconds)."""
STEADY_POLL_SECONDS = 15
"""The provider's wait for a steady ECS service notices it up to one poll late."""
BEAM_STOP_SECONDS = 10
"""A drained node stops this fast after SIGTERM (at most stop_timeout_seconds)."""
LISTENER_CHANGE_SECONDS = 2
"""DescribeRules and a ModifyRule per forward rule (API calls, no wait)."""
SMOKE_TEST_SECONDS = 2


@dataclass(frozen=True)
class Timings:
    """The settings a duration depends on, read from a stack's `phoenix-aws:` config."""

    health_interval: int = 15
    healthy_threshold: int = 2
    deregistration_delay: int = 60
    stop_timeout: int = 120
    migration_timeout: int = 900
    capacity_timeout: int = 600
    drain_window: int = 300
    migrations: bool = True

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> Timings:
        from stacks.settings import load_settings

        settings = load_settings(raw)
        health = settings.edge.health_check
        return cls(
            health_interval=health.interval_seconds,
            healthy_threshold=health.healthy_threshold,
            deregistration_delay=settings.edge.deregistration_delay_seconds,
            stop_timeout=settings.app.stop_timeout_seconds,
            migration_timeout=settings.app.migration_timeout_seconds,
            capacity_timeout=settings.release.capacity_timeout_seconds,
            drain_window=settings.release.drain_window_seconds,
            migrations=settings.app.enable_migrations,
        )

    @property
    def healthy_after(self) -> int:
        """A new target's first passing checks: interval times healthy threshold."""
        return self.health_interval * self.healthy_threshold

    @property
    def start(self) -> int:
        """New tasks from the scaling change to healthy targets."""
        return TASK_START_SECONDS + self.healthy_after


@dataclass
class Estimate:
    """One step's duration: expected and at most, and what it waits for."""

    expected: int = 0
    at_most: int = 0
    ups: int = 0
    aws_waits: list[str] = field(default_factory=list)

    def add(self, what: str | None, expected: int, at_most: int | None = None) -> None:
        self.expected += expected
        self.at_most += expected if at_most is None else at_most
        if what:
            self.aws_waits.append(what)

    def shown(self) -> str:
        if self.at_most > self.expected:
            return f"~{fmt(self.expected)}, at most {fmt(self.at_most)}"
        return f"~{fmt(self.expected)}"


def fmt(seconds: int) -> str:
    """`45 s`, `4 min 10 s`, `1 h 5 min`."""
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


def _up(estimate: Estimate, step: Step, before: Mapping[str, Any], t: Timings) -> None:
    after = apply_changes(before, step.changes)
    estimate.ups += 1
    estimate.add(None, UP_OVERHEAD_SECONDS)
    for slot in ("blue", "green"):
        old, new = slot_config(before, slot), slot_config(after, slot)
        image_changes = new.get("image") != old.get("image") and new.get("image")
        if image_changes and new.get("image") == BUILD:
            estimate.add(None, IMAGE_BUILD_SECONDS)
        migrates = (
            t.migrations
            and new.get("run_migrations", True)
            and new.get("image")
            and (image_changes or not old.get("run_migrations", True))
        )
        if migrates:
            estimate.add(
                f"slot {slot}'s migration task",
                TASK_START_SECONDS + MIGRATION_RUN_SECONDS,
                TASK_START_SECONDS + t.migration_timeout,
            )
        old_count, new_count = int(old.get("desired_count", 0)), int(new.get("desired_count", 0))
        if image_changes and new_count and not (old.get("image") == BUILD and step.pin_image_slot):
            # A rolling deployment: new tasks healthy, then the old ones leave.
            leave = t.deregistration_delay + BEAM_STOP_SECONDS if old_count else 0
            estimate.add(
                f"slot {slot}'s service steady on the new image",
                t.start + leave + STEADY_POLL_SECONDS,
                t.start
                + (t.deregistration_delay + t.stop_timeout if old_count else 0)
                + STEADY_POLL_SECONDS,
            )
        elif new_count > old_count:
            estimate.add(f"slot {slot}'s new tasks healthy", t.start + STEADY_POLL_SECONDS)
        elif new_count < old_count:
            estimate.add(
                f"slot {slot}'s tasks deregistered and stopped",
                t.deregistration_delay + BEAM_STOP_SECONDS + STEADY_POLL_SECONDS,
                t.deregistration_delay + t.stop_timeout + STEADY_POLL_SECONDS,
            )
    weights_move = (after.get("live"), after.get("canary_percent", 0)) != (
        before.get("live"),
        before.get("canary_percent", 0),
    )
    if weights_move:
        estimate.add(
            "capacity gate before the weights move", LISTENER_CHANGE_SECONDS, t.capacity_timeout
        )
    if step.pin_image_slot:
        # The pin writes the digest the slot already runs: a second up without AWS waits.
        estimate.ups += 1
        estimate.add(None, UP_OVERHEAD_SECONDS)


def estimate_step(step: Step, before: Mapping[str, Any], t: Timings) -> Estimate:
    """What one step costs, given the release section before it."""
    estimate = Estimate()
    if step.move_traffic_to:
        slot = step.move_traffic_to
        short = max(0, step.capacity - int(slot_config(before, slot).get("desired_count", 0)))
        if short:
            estimate.add(f"slot {slot}'s {short} more task(s) healthy", t.start, t.capacity_timeout)
        estimate.add(None, LISTENER_CHANGE_SECONDS)
    if step.changes:
        _up(estimate, step, before, t)
    if step.smoke_test_slot:
        estimate.add(None, SMOKE_TEST_SECONDS)
    if step.socket_drain_slot:
        estimate.add(
            f"slot {step.socket_drain_slot}'s WebSockets closed",
            t.drain_window + 60,
            socket_wait_seconds(t.drain_window),
        )
    elif step.watch_alarms_slot:
        estimate.add(f"slot {step.watch_alarms_slot}'s alarms", step.wait_seconds)
    elif step.wait_seconds:
        estimate.add(None, step.wait_seconds)
    return estimate


def estimate_plan(
    steps: list[Step], release: Mapping[str, Any], t: Timings
) -> tuple[list[Estimate], Estimate]:
    """Each step's estimate, and the total."""
    each, total, current = [], Estimate(), dict(release)
    for step in steps:
        estimate = estimate_step(step, current, t)
        each.append(estimate)
        total.expected += estimate.expected
        total.at_most += estimate.at_most
        total.ups += estimate.ups
        total.aws_waits += estimate.aws_waits
        if step.move_traffic_to:  # the direct move raised the slot's count already
            count = f"{step.move_traffic_to}.desired_count"
            had = int(slot_config(current, step.move_traffic_to).get("desired_count", 0))
            current = apply_changes(current, {count: max(had, step.capacity)})
        current = apply_changes(current, step.changes)
    return each, total


def traffic_moves_after(steps: list[Step], each: list[Estimate]) -> int | None:
    """Seconds from the start until traffic moves: through the first direct listener change,
    or the first up that changes the weights; None when the plan moves no traffic."""
    elapsed = 0
    for step, estimate in zip(steps, each, strict=True):
        if step.move_traffic_to:
            return elapsed + estimate.expected
        if step.changes and ({"live", "canary_percent"} & set(step.changes)):
            return elapsed + estimate.expected
        elapsed += estimate.expected
    return None
