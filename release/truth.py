"""The deployed stack is the truth: checks an action makes before it plans, and what it writes
into the release history after.

- the load balancer sends traffic where the stack says (or a direct rollback is being finished);
- the stack file's release section is made to say what is deployed (release settings only a
  reviewed change sets are not overwritten: the action refuses until they are deployed);
- an action under way (the stack's `in_progress`) continues with its own options, and no other
  action but rollback starts meanwhile;
- a flip goes into the release history, which `rollback --redeploy` reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from phoenix_aws.load_balancer import forward_weights

from release.lock import ReleaseLock
from release.plan import PlanError
from release.stack_file import StackFile
from release.traffic import listener_weights
from stacks.settings import release_differences
from stacks.settings.release import SETTING_PATHS

Echo = Callable[[str], None]


def check_listener(
    action: str, outputs: Mapping[str, Any], on_stack: Mapping[str, Any], aws: Callable[[str], Any]
) -> None:
    """The load balancer must send traffic where the stack says, unless a rollback that moved it
    directly is being finished."""
    listener, arns = outputs.get("production_listener_arn"), outputs.get("target_group_arns")
    if not listener or not arns or action == "rollback":
        return
    actual = listener_weights(aws("elbv2"), listener, arns)
    wanted = forward_weights(on_stack["live"], int(on_stack.get("canary_percent") or 0))
    if actual != wanted:
        raise PlanError(
            f"the load balancer sends {weights_shown(actual)}, but the stack says "
            f"{weights_shown(wanted)}: "
            "a rollback moved traffic directly and its `up` did not finish. Run rollback again "
            "to reconcile the stack with the listener (it does not move traffic back)"
        )


def weights_shown(weights: Mapping[str, int]) -> str:
    return ", ".join(f"{w}% to {slot}" for slot, w in sorted(weights.items()))


def take_the_stack(
    stack_file: StackFile, on_stack: Mapping[str, Any], echo: Echo, *, up: bool = False
) -> None:
    """Make the file's release section say what is deployed: the stack is the truth. Release
    settings only a reviewed change sets (spot, windows) are not overwritten: such a difference
    is a change still to deploy, and the release refuses until it is deployed."""
    from stacks.settings import release_section

    written = release_section(stack_file.release())
    if written is None:
        raise PlanError(
            f"the release section of {stack_file.path.name} is not valid; `python -m release "
            "<stack> sync` rewrites it from the stack"
        )
    pending = release_differences(on_stack, written, SETTING_PATHS)
    if pending and not up:
        raise PlanError(
            f"{stack_file.path.name} changes release settings that are not deployed "
            f"({'; '.join(pending)}): deploy them first (a reviewed `pulumi up`, or `python -m "
            "release <stack> up`), or drop them with `python -m release <stack> sync`"
        )
    taken = [
        d for d in release_differences(written, on_stack) if d.split(":")[0] not in SETTING_PATHS
    ]
    if not taken:
        return
    if up:
        raise PlanError(
            f"{stack_file.path.name} does not say what is deployed ({'; '.join(taken)}): this "
            "up would undo a release step. Take the deployed state with `python -m release "
            "<stack> sync` (or merge the release branch), then run up again"
        )
    echo(
        f"{stack_file.path.name} did not say what is deployed; the stack is the truth, so the "
        f"file now says: {'; '.join(taken)}"
    )
    stack_file.write_release(on_stack)


def resumed_options(
    action: str, stack: str, given: str, on_stack: Mapping[str, Any], echo: Echo
) -> str | None:
    """The options to run `action` with when the stack says an action is under way: its own
    recorded options when the operator gave none (None: keep the given ones). Any action but
    rollback waits for the one under way."""
    step = on_stack.get("in_progress")
    if not step:
        return None
    if step["action"] != action:
        if action == "rollback":
            return None
        raise PlanError(
            f"a {step['action']} is under way (step {step['step']}/{step['of']} done by "
            f"{step['by']}: {step['title']}); continue it with `python -m release {stack} "
            f"{step['action']} {step.get('options') or ''}`".rstrip()
            + ", or roll back"
        )
    if given or not step.get("options"):
        return None
    echo(f"continuing the {step['action']} under way with its options: {step['options']}")
    return str(step["options"])


def previous_release(lock: ReleaseLock, on_stack: Mapping[str, Any]) -> dict[str, str] | None:
    """The release that was live before the live one, from the release history."""
    live = on_stack["live"]
    image = (on_stack.get(live) or {}).get("image")
    for entry in lock.history(limit=50):
        if entry.get("event") == "flip" and entry.get("live_image") == image:
            return {
                "image": entry.get("replaced_image", ""),
                "version": entry.get("replaced_version", ""),
            }
    return None


def record_history(
    lock: ReleaseLock,
    action: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    owner: str,
) -> None:
    """A flip (promote, rollback) goes into the release history: what became live, what it
    replaced (what `rollback --redeploy` brings back)."""
    if before.get("live") == after.get("live"):
        return
    new, old = after["live"], before["live"]
    lock.record(
        "flip",
        {
            "action": action,
            "by": owner,
            "live_slot": new,
            "live_image": (after.get(new) or {}).get("image") or "",
            "live_version": (after.get(new) or {}).get("version") or "",
            "replaced_slot": old,
            "replaced_image": (before.get(old) or {}).get("image") or "",
            "replaced_version": (before.get(old) or {}).get("version") or "",
        },
    )
