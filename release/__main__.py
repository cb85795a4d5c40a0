"""`python -m release <stack> deploy|promote|drain|rollback|status` — blue-green releases.

  deploy    build (or take --image) and put it on the idle slot, scaled up, without traffic
  promote   run migrations, smoke-test through the test route, step the canary, flip `live`
  drain     after a bake period, scale the old slot to zero in waves (WebSockets reconnect calmly)
  rollback  flip `live` back while the old slot still runs (or cancel a promotion in progress)
  status    show both slots and what to do next

Add --plan to print the steps without running anything (reads stacks/Pulumi.<stack>.yaml; no
Pulumi CLI needed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from release.plan import ACTIONS, BUILD, Options, PlanError, other, plan
from release.runner import PROJECT_DIR, AutomationDriver, PulumiCliMissingError, execute


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m release",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("stack")
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument(
        "--image", default=BUILD, help="deploy: image pinned by digest, or 'build' (default)"
    )
    parser.add_argument(
        "--version", dest="release_version", help="deploy: release label (RELEASE_VERSION)"
    )
    parser.add_argument(
        "--count", type=int, help="deploy: tasks on the new slot (default: as many as live)"
    )
    parser.add_argument("--canary", default="", help="promote: canary steps in percent, e.g. 10,50")
    parser.add_argument(
        "--bake", type=int, default=300, help="seconds to bake a canary step / before draining"
    )
    parser.add_argument("--drain-batch", type=int, default=1, help="drain: tasks removed per wave")
    parser.add_argument("--drain-pause", type=int, default=60, help="drain: seconds between waves")
    parser.add_argument(
        "--slot", choices=("blue", "green"), help="drain: slot to drain (default: idle)"
    )
    parser.add_argument(
        "--plan", action="store_true", help="print the steps only (no Pulumi CLI needed)"
    )
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> Options:
    try:
        canary = tuple(int(p) for p in args.canary.split(",") if p.strip())
    except ValueError:
        raise PlanError(
            f"--canary takes comma-separated percentages, got {args.canary!r}"
        ) from None
    return Options(
        image=args.image,
        version=args.release_version,
        desired_count=args.count,
        canary_steps=canary,
        bake_seconds=args.bake,
        drain_batch=args.drain_batch,
        drain_pause_seconds=args.drain_pause,
        slot=args.slot,
    )


def release_from_stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    path = project_dir / "stacks" / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise PlanError(f"no stack file {path}")
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return dict(config.get("phoenix-aws:release") or {})


def describe(release: dict[str, Any], healthy: dict[str, int] | None = None) -> str:
    live = release.get("live", "blue")
    lines = [f"live: {live}   canary to idle: {release.get('canary_percent', 0)}%"]
    if release.get("promoting"):
        lines.append(
            f"promoting: {release['promoting']} (run promote to continue, rollback to cancel)"
        )
    for slot in ("blue", "green"):
        cfg = release.get(slot) or {}
        health = f", healthy {healthy[slot]}" if healthy and slot in healthy else ""
        role = "live" if slot == live else "idle"
        lines.append(
            f"{slot:5} ({role}): {cfg.get('image') or '-'}  "
            f"tasks {cfg.get('desired_count', 0)}{health}  "
            f"version {cfg.get('version') or '-'}"
        )
    idle = other(live)
    if release.get("promoting"):
        lines.append("next: promote")
    elif (release.get(idle) or {}).get("desired_count"):
        lines.append(
            "next: promote (new release on idle), or drain (old release kept for rollback)"
        )
    else:
        lines.append("next: deploy")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        options = options_from(args)
        if args.plan:
            release = release_from_stack_file(args.stack)
            print(describe(release))
            for number, step in enumerate(plan(args.action, release, options), start=1):
                print(f"{number}. {step.title}" + (f"  {step.changes}" if step.changes else ""))
            return 0
        driver = AutomationDriver(args.stack)
        release = driver.release_config()
        healthy = live_health(driver.outputs())
        print(describe(release, healthy))
        execute(plan(args.action, release, options, healthy), driver)
        return 0
    except PulumiCliMissingError as exc:
        print(f"phoenix-aws release: {exc}", file=sys.stderr)
        return 2
    except PlanError as exc:
        print(f"phoenix-aws release: refused: {exc}", file=sys.stderr)
        return 3
    except RuntimeError as exc:
        print(f"phoenix-aws release: failed: {exc}", file=sys.stderr)
        return 1


def live_health(outputs: dict[str, Any]) -> dict[str, int]:
    """Healthy targets per slot, from the load balancer (boto3); empty when unknown."""
    try:
        import boto3

        elbv2 = boto3.client("elbv2")
        result = {}
        for slot, arn in (outputs.get("target_group_arns") or {}).items():
            targets = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
            result[slot] = sum(1 for t in targets if t["TargetHealth"]["State"] == "healthy")
        return result
    except Exception as exc:
        print(f"(could not read target health: {exc})", file=sys.stderr)
        return {}


if __name__ == "__main__":
    sys.exit(main())
