"""Resource identities a release promises to keep.

Pulumi identifies a resource by its URN: the types of its parents and its own (the qualified
type) and its logical name. Renaming a component's type token, a child's name, or moving a child
to another parent gives it a new URN, and `pulumi up` then replaces it (a new database, a new
load balancer...) unless the new resource declares an alias for the old identity. Aliases on a
parent carry over to its children.

`released.json` records, for the last release, a few configs (the shipped stacks, and variants
that switch on what they leave off) and every resource identity each gave; `python -m
offline.compat record <version>` writes it when a release is cut (see CHANGELOG.md). A test runs
the recorded configs through today's program and fails on any identity lost without an alias.
"""

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from offline import mocks

RELEASED = Path(__file__).with_name("released.json")

Identity = tuple[str, str]  # (qualified type, logical name)


# Variants of shipped stacks that switch on what the stack files leave off.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "dev+redis": (
        "dev",
        {
            "pubsub": {
                "adapter": "redis",
                "redis": {"replicas": 1, "automatic_failover": True, "protect": False},
            },
            "edge": {"waf": {"enabled": True, "logging": True}},
            "release": {"green": {"image": "build", "desired_count": 1}},
        },
    ),
}


def programs() -> dict[str, tuple[str, dict]]:
    """name → (stack, full config) of every program a release keeps the identities of."""
    found = {stack: (stack, mocks.stack_config(stack)) for stack in mocks.stack_names()}
    for name, (base, overrides) in VARIANTS.items():
        found[name] = (base, mocks.with_overrides(mocks.stack_config(base), **overrides))
    return found


def run_program(stack: str, config: dict) -> mocks.Run:
    return mocks.run_main(config, stack=stack)


def identities(run: mocks.Run) -> set[Identity]:
    return {(run.qualified_type(r), r.name) for r in run.resources}


def _alternative_types(run: mocks.Run, resource: mocks.Resource) -> set[str]:
    """Every qualified type the resource may have had, given its aliases and its parents'.

    An alias names another type, another parent, or both: `noParent` (what
    `Alias(parent=pulumi.ROOT_STACK_RESOURCE)` sends) is the top of the stack, anything else
    keeps the current parent. Children inherit their parents' alternatives, as the engine does.
    """
    parent = next((r for r in run.resources if r.urn == resource.parent), None)
    under_parent = {resource.type}
    at_top: set[str] = set()
    for alias in resource.aliases:
        kind = alias.get("type") or resource.type
        (at_top if alias.get("noParent") else under_parent).add(kind)
    if parent is None:
        return under_parent | at_top
    return {f"{p}${t}" for p in _alternative_types(run, parent) for t in under_parent} | at_top


def reachable(run: mocks.Run) -> set[Identity]:
    """Identities the program keeps: each resource's own and those its aliases claim."""
    found: set[Identity] = set()
    for resource in run.resources:
        names = {resource.name} | {a["name"] for a in resource.aliases if a.get("name")}
        found |= {(t, n) for t in _alternative_types(run, resource) for n in names}
    return found


def lost(released: Iterable[Identity], run: mocks.Run) -> list[Identity]:
    """Released identities that the program neither has nor aliases: `pulumi up` would
    delete them (and create their successors anew)."""
    kept = reachable(run)
    return sorted(identity for identity in released if identity not in kept)


def load_released() -> dict:
    """{"version": ..., "programs": {name: {"stack", "config", "identities"}}}."""
    data = json.loads(RELEASED.read_text())
    for program in data["programs"].values():
        program["identities"] = [tuple(i) for i in program["identities"]]
    return data


def record(version: str) -> None:
    data: dict = {"version": version, "programs": {}}
    for name, (stack, config) in programs().items():
        data["programs"][name] = {
            "stack": stack,
            "config": config,
            "identities": sorted(identities(run_program(stack, config))),
        }
    RELEASED.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":  # pragma: no cover - run by hand when a release is cut
    if len(sys.argv) != 3 or sys.argv[1] != "record":
        sys.exit("usage: python -m offline.compat record <version>")
    record(sys.argv[2])
    print(f"recorded the resource identities of {sys.argv[2]} in {RELEASED}")
