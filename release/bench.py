"""`python -m release.bench [stack …]`: what every release action costs on every shipped stack.

For each action of a release cycle — from the stack file as shipped: deploy; then promote (with
and without a canary), drain, rollback, and rollback --redeploy after a drain — it plans the steps
as the command would (live slots healthy at their configured counts) and prints the number of
`pulumi up`s, the number of AWS waits the steps make one after the other, and the expected (and
longest) wall time from the stack's own settings (`release.timing`), plus when traffic moves.
Not a timed test: the numbers are the ones `--plan` prints, added up.

The goals it checks: `rollback` moves traffic within 30 s; `promote` without a canary takes at
most 5 minutes after `deploy`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release.plan import (
    BUILD,
    NothingToDo,
    Options,
    PlanError,
    Step,
    apply_changes,
    plan_for_stack,
)
from release.stack_file import read_config
from release.timing import Timings, estimate_plan, fmt, traffic_moves_after

STACKS_DIR = Path(__file__).resolve().parent.parent / "stacks"
ROLLBACK_GOAL_SECONDS = 30
PROMOTE_GOAL_SECONDS = 300
NEW_DIGEST = "sha256:" + "b" * 64


@dataclass(frozen=True)
class Row:
    """One action on one stack."""

    stack: str
    action: str
    ups: int = 0
    waits: int = 0
    expected: int = 0
    at_most: int = 0
    traffic_after: int | None = None
    refused: str = ""

    def cells(self) -> list[str]:
        if self.refused:
            return [f"`{self.action}`", "—", "—", "refused: " + self.refused, "—", "—"]
        return [
            f"`{self.action}`",
            str(self.ups),
            str(self.waits),
            f"~{fmt(self.expected)}",
            fmt(self.at_most),
            "—" if self.traffic_after is None else f"~{fmt(self.traffic_after)}",
        ]


HEADER = ["action", "ups", "AWS waits", "expected", "at most", "traffic moves after"]


def _image_for(raw: Mapping[str, Any], release: Mapping[str, Any]) -> str:
    if (raw.get("image") or {}).get("context"):
        return BUILD
    live = release.get("live", "blue")
    current = str((release.get(live) or {}).get("image") or "repo/app@" + NEW_DIGEST)
    return current.split("@", 1)[0] + "@" + NEW_DIGEST


def _after(release: Mapping[str, Any], steps: list[Step], raw: Mapping[str, Any]) -> dict:
    result = dict(release)
    for step in steps:
        result = apply_changes(result, step.changes)
        if step.pin_image_slot:
            image = _image_for(raw, {"live": "x", "x": {"image": "repo/app@sha256:" + "0" * 64}})
            pinned = image if image != BUILD else "repo/app@" + NEW_DIGEST
            result = apply_changes(result, {f"{step.pin_image_slot}.image": pinned})
    return result


def _running(release: Mapping[str, Any]) -> dict[str, str]:
    """What the slots run: a `build` slot runs some digest (the dev rehearsal pins it)."""
    return {
        slot: "repo/app@sha256:" + "a" * 64
        for slot in ("blue", "green")
        if (release.get(slot) or {}).get("image")
    }


def _row(
    stack: str, label: str, action: str, raw: Mapping[str, Any], release: dict, options: Options
) -> tuple[Row, dict | None]:
    from release.plan import Facts

    healthy = {
        slot: int((release.get(slot) or {}).get("desired_count", 0)) for slot in ("blue", "green")
    }
    facts = Facts(healthy=healthy, running_images=_running(release), previous=None)
    try:
        steps = plan_for_stack(action, {**raw, "release": release}, options, healthy, facts)
    except (PlanError, NothingToDo) as exc:
        return Row(stack, label, refused=_short(str(exc))), None
    timings = Timings.from_config({**raw, "release": release})
    each, total = estimate_plan(steps, release, timings)
    row = Row(
        stack,
        label,
        ups=total.ups,
        waits=len(total.aws_waits),
        expected=total.expected,
        at_most=total.at_most,
        traffic_after=traffic_moves_after(steps, each),
    )
    return row, _after(release, steps, raw)


def _short(reason: str, width: int = 70) -> str:
    """The start of a refusal, cut at a word."""
    first = reason.split(". ")[0]
    return first if len(first) <= width else first[:width].rsplit(" ", 1)[0] + " …"


def bench(stack: str, stacks_dir: Path = STACKS_DIR) -> list[Row]:
    """Every action of a release cycle on `stack`, each from the state the cycle reached."""
    from stacks.settings import raw_config_from_pulumi, release_section

    raw = raw_config_from_pulumi(read_config((stacks_dir / f"Pulumi.{stack}.yaml").read_text()))
    shipped = release_section(raw.get("release") or {}) or dict(raw.get("release") or {})
    rows: list[Row] = []
    deploy, on_stack = _row(
        stack, "deploy", "deploy", raw, shipped, Options(image=_image_for(raw, shipped))
    )
    rows.append(deploy)
    if on_stack is None:
        return rows
    promote, promoted = _row(stack, "promote", "promote", raw, on_stack, Options())
    rows.append(promote)
    canary, _ = _row(
        stack,
        "promote --canary 10,50",
        "promote",
        raw,
        on_stack,
        Options(canary_steps=(10, 50)),
    )
    rows.append(canary)
    if promoted is None:
        return rows
    rows.append(_row(stack, "rollback", "rollback", raw, promoted, Options())[0])
    drain, drained = _row(stack, "drain", "drain", raw, promoted, Options())
    rows.append(drain)
    if drained is not None:
        rows.append(
            _row(stack, "rollback --redeploy", "rollback", raw, drained, Options(redeploy=True))[0]
        )
    return rows


def table(rows: list[Row]) -> str:
    """A Markdown table of the rows."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def goals(rows: list[Row]) -> list[str]:
    """The goals each stack misses (empty: all met)."""
    missed = []
    for row in rows:
        if row.refused:
            continue
        if row.action == "rollback" and (row.traffic_after or 0) > ROLLBACK_GOAL_SECONDS:
            missed.append(f"{row.stack}: rollback moves traffic after {row.traffic_after} s")
        if row.action == "promote" and row.expected > PROMOTE_GOAL_SECONDS:
            missed.append(f"{row.stack}: promote takes {row.expected} s")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m release.bench", description=__doc__)
    parser.add_argument("stacks", nargs="*", help="stack names (default: every shipped stack)")
    args = parser.parse_args(argv)
    names = args.stacks or sorted(p.name.split(".")[1] for p in STACKS_DIR.glob("Pulumi.*.yaml"))
    missed = []
    for name in names:
        rows = bench(name)
        print(f"## {name}\n\n{table(rows)}\n")
        missed += goals(rows)
    print(
        f"goals: rollback moves traffic within {ROLLBACK_GOAL_SECONDS} s, promote without a "
        f"canary within {PROMOTE_GOAL_SECONDS // 60} min: "
        + ("met" if not missed else "MISSED: " + "; ".join(missed))
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
