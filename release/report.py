"""What the release command shows: the deployed release (status), each step with how long it
takes (plans), and the stack file rewritten from the stack (sync)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from phoenix_aws.load_balancer import forward_weights

from release.lock import ReleaseLock
from release.plan import Step, describe_changes, other
from release.runner import target_health
from release.stack_file import StackFile, release_changes_to, with_release_changes
from release.timing import Timings, estimate_plan, fmt, traffic_moves_after
from release.traffic import listener_weights
from release.truth import weights_shown
from stacks.settings import release_differences

Echo = Callable[[str], None]


def describe(
    release: Mapping[str, Any],
    healthy: Mapping[str, int] | None = None,
    health_note: str = "",
) -> str:
    live = release.get("live", "blue")
    lines = [f"live: {live}   canary to idle: {release.get('canary_percent', 0)}%"]
    if release.get("promoting"):
        lines.append(
            f"promoting: {release['promoting']} (run promote to continue, rollback to cancel)"
        )
    step = release.get("in_progress")
    if step:
        lines.append(
            f"under way: {step['action']} step {step['step']}/{step['of']} done ({step['title']}) "
            f"by {step['by']}" + (f", options {step['options']}" if step.get("options") else "")
        )
    for slot in ("blue", "green"):
        cfg = release.get(slot) or {}
        health = f", healthy {healthy[slot]}" if healthy and slot in healthy else ""
        role = "live" if slot == live else "idle"
        draining = "  draining" if cfg.get("draining") else ""
        spot = "  spot" if cfg.get("spot") else ""
        lines.append(
            f"{slot:5} ({role}): {cfg.get('image') or '-'}  "
            f"tasks {cfg.get('desired_count', 0)}{health}  "
            f"version {cfg.get('version') or '-'}{draining}{spot}"
        )
    if health_note:
        lines.append(health_note)
    idle = other(live)
    if step:
        lines.append(f"next: {step['action']} (continues it), or rollback")
    elif release.get("promoting"):
        lines.append("next: promote")
    elif (release.get(idle) or {}).get("desired_count"):
        lines.append(
            "next: promote (new release on idle), or drain (old release kept for rollback)"
            if not (release.get(idle) or {}).get("run_migrations", True)
            else "next: drain (the previous release, kept for rollback), or rollback"
        )
    else:
        lines.append("next: deploy")
    return "\n".join(lines)


def describe_step(number: int, step: Step, duration: str = "") -> str:
    line = f"{number}. {step.title}"
    if duration:
        line += f"  [{duration}]"
    if step.changes:
        line += f"\n     set {describe_changes(step.changes)}; pulumi up"
    return line


def print_estimates(
    steps: list[Step], release: Mapping[str, Any], raw: Mapping[str, Any], echo: Echo, heading: str
) -> None:
    timings = Timings.from_config({**raw, "release": dict(release)})
    each, total = estimate_plan(steps, release, timings)
    echo(f"{heading} (durations from this stack's settings):")
    for number, (step, estimate) in enumerate(zip(steps, each, strict=True), start=1):
        echo(describe_step(number, step, estimate.shown()))
    moved = traffic_moves_after(steps, each)
    echo(
        f"total: {total.shown()}; {total.ups} up(s), {len(total.aws_waits)} AWS wait(s)"
        + (f"; traffic moves after ~{fmt(moved)}" if moved is not None else "")
    )


def sync(stack_file: StackFile, on_stack: Mapping[str, Any], echo: Echo) -> int:
    """Write the deployed release section into the stack file; show the diff."""
    before = stack_file.text()
    changes = release_changes_to(stack_file.release(), on_stack)
    if not changes:
        echo(f"{stack_file.path.name} already says what is deployed")
        return 0
    after = with_release_changes(before, changes, str(stack_file.path))
    stack_file.write(after)
    name = stack_file.path.name
    echo("".join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f"{name} (before)", tofile=f"{name} (the deployed stack)",
    )).rstrip())  # fmt: skip
    return 0


def status(
    *,
    echo: Echo,
    clock: Callable[[], float],
    stack_file: StackFile,
    outputs: Mapping[str, Any],
    on_stack: Mapping[str, Any],
    aws: Callable[[str], Any],
    lock: ReleaseLock,
) -> int:
    try:
        healthy: dict[str, int] | None = target_health(aws, outputs)
        note = ""
    except Exception as exc:  # status still shows what it can
        healthy, note = None, f"health: unknown ({exc})"
    echo(describe(on_stack, healthy, note))
    holder = lock.holder()
    echo(f"release lock: {holder.describe(clock())}" if holder else "release lock: free")
    listener, arns = outputs.get("production_listener_arn"), outputs.get("target_group_arns")
    if listener and arns:
        try:
            actual = listener_weights(aws("elbv2"), listener, arns)
            wanted = forward_weights(on_stack["live"], int(on_stack.get("canary_percent") or 0))
            suffix = (
                ""
                if actual == wanted
                else f" (the stack says {weights_shown(wanted)}: run rollback)"
            )
            echo(f"load balancer: {weights_shown(actual)}{suffix}")
        except Exception as exc:
            echo(f"load balancer: unknown ({exc})")
    from stacks.settings import release_section

    written = release_section(stack_file.release())
    if written is not None:
        for line in release_differences(on_stack, written):
            echo(f"stack file differs: {line} (sync takes the stack's)")
    for entry in lock.history(limit=3):
        when = datetime.fromtimestamp(float(entry.get("at", 0)), UTC).strftime("%Y-%m-%d %H:%M")
        details = ", ".join(f"{k} {v}" for k, v in entry.items() if k not in ("sk", "at", "event"))
        echo(f"history: {when} {entry.get('event')}: {details}")
    return 0
