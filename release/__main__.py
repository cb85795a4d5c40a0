"""`python -m release <stack> <action>` — blue-green releases and the operator's daily loop.

  deploy    build (or take --image) and put it on the idle slot, scaled up, without traffic
  promote   pre-flight, migrations, smoke test through the test route, canary steps, flip `live`
  drain     bake, tell the old slot to shed its WebSockets, wait for them, scale it down in waves
  rollback  flip `live` back while the old slot still runs (or cancel a promotion in progress)
  status    show both slots, their health and what to do next
  logs      print the app's recent logs (--slot, --since, --follow)
  console   open a remote IEx on a running node of a slot (ECS Exec)

Each step edits stacks/Pulumi.<stack>.yaml and runs `pulumi up` (Pulumi Automation API); the file
is kept only when the up succeeds, and each kept change is committed on a release/<stack>/… branch
for review. Add --plan to print the steps without running anything (no Pulumi CLI needed).

Exit codes: 0 done (or nothing to do), 1 a step failed, 2 cannot run here (missing tool, stack
or stack file), 3 refused (the message says why; nothing was changed by the refused step).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offline.cli import CommandError, Parser
from release.aws import AwsClients
from release.engine import (
    AutomationDriver,
    EngineError,
    EngineUnavailableError,
    StackDriver,
)
from release.ops import MissingToolError, OpsError, open_console, tail_logs
from release.plan import (
    ACTIONS,
    BUILD,
    NothingToDo,
    Options,
    PlanError,
    StackConfigError,
    Step,
    describe_changes,
    other,
    plan_for_stack,
)
from release.record import GitRecorder, Recorder
from release.runner import ReleaseError, Runner, Tester, target_health
from release.smoke import smoke_test
from release.stack_file import StackFile, StackFileError
from stacks.settings import (
    ConfigError,
    check_stack_config,
    raw_config_from_pulumi,
    region_problems,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
OPS_ACTIONS = ("logs", "console")
HEALTH_GATED = ("promote", "rollback")
"""Actions whose plan depends on the slots' health: a failed health read stops them."""

Echo = Callable[[str], None]


def _count_at_least(minimum: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of {what}, got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum} {what}, got {value}")
        return value

    return parse


def _duration(text: str) -> int:
    """`90`, `90s`, `15m`, `2h`, `1d` → seconds."""
    match = re.fullmatch(r"(\d+)([smhd]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90s, 15m, 2h or 1d, got {text!r}"
        )
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = Parser(
        prog="python -m release",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("stack", help="stack name (stacks/Pulumi.<stack>.yaml)")
    parser.add_argument("action", choices=(*ACTIONS, *OPS_ACTIONS))
    parser.add_argument(
        "--image", default=BUILD, help="deploy: image pinned by digest, or 'build' (default)"
    )
    parser.add_argument(
        "--version", dest="release_version", help="deploy: release label (RELEASE_VERSION)"
    )
    parser.add_argument(
        "--count",
        type=_count_at_least(1, "tasks"),
        help="deploy: tasks on the new slot (default: as many as live)",
    )
    parser.add_argument("--canary", default="", help="promote: canary steps in percent, e.g. 10,50")
    parser.add_argument(
        "--bake",
        type=_count_at_least(0, "seconds"),
        default=300,
        help="seconds to bake each canary step / before draining (default 300)",
    )
    parser.add_argument(
        "--drain-batch",
        type=_count_at_least(1, "tasks"),
        default=1,
        help="drain: tasks removed per wave (default 1)",
    )
    parser.add_argument(
        "--drain-pause",
        type=_count_at_least(0, "seconds"),
        default=60,
        help="drain: seconds between waves (default 60)",
    )
    parser.add_argument(
        "--drain-threshold",
        type=_count_at_least(0, "sockets"),
        default=0,
        help="drain: scale down once at most this many WebSockets are open (default 0)",
    )
    parser.add_argument(
        "--slot",
        choices=("blue", "green"),
        help="drain: the slot to drain (default: idle); logs: that slot only; "
        "console: the slot to open it on (default: live)",
    )
    parser.add_argument(
        "--since", type=_duration, default=600, help="logs: how far back to start (default 10m)"
    )
    parser.add_argument("--follow", action="store_true", help="logs: keep printing new events")
    parser.add_argument(
        "--plan", action="store_true", help="print the steps only (no Pulumi CLI needed)"
    )
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> Options:
    try:
        canary = tuple(int(p) for p in args.canary.split(",") if p.strip())
    except ValueError:
        raise PlanError(
            f"--canary takes comma-separated percentages such as 10,50, got {args.canary!r}"
        ) from None
    return Options(
        image=args.image,
        version=args.release_version,
        desired_count=args.count,
        canary_steps=canary,
        bake_seconds=args.bake,
        drain_batch=args.drain_batch,
        drain_pause_seconds=args.drain_pause,
        socket_threshold=args.drain_threshold,
        slot=args.slot,
    )


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
    for slot in ("blue", "green"):
        cfg = release.get(slot) or {}
        health = f", healthy {healthy[slot]}" if healthy and slot in healthy else ""
        role = "live" if slot == live else "idle"
        draining = "  draining" if cfg.get("draining") else ""
        lines.append(
            f"{slot:5} ({role}): {cfg.get('image') or '-'}  "
            f"tasks {cfg.get('desired_count', 0)}{health}  "
            f"version {cfg.get('version') or '-'}{draining}"
        )
    if health_note:
        lines.append(health_note)
    idle = other(live)
    if release.get("promoting"):
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


def describe_step(number: int, step: Step) -> str:
    line = f"{number}. {step.title}"
    if step.changes:
        line += f"\n     set {describe_changes(step.changes)}; pulumi up"
    if step.socket_drain_slot:
        line += f" (at most {step.wait_seconds} s)"
    elif step.wait_seconds:
        line += f" ({step.wait_seconds} s)"
    return line


def check_deployed(release: Mapping[str, Any], state: Any, stack_path: Path) -> list[str]:
    """Where the stack file's `live`, `canary_percent`, `promoting` differ from the deployed
    `release_state` output (a checkout behind the last release)."""
    if not isinstance(state, Mapping):
        return []
    file_values = {
        "live": release.get("live", "blue"),
        "canary_percent": int(release.get("canary_percent", 0) or 0),
        "promoting": release.get("promoting") or None,
    }
    deployed = {
        "live": state.get("live", "blue"),
        "canary_percent": int(state.get("canary_percent", 0) or 0),
        "promoting": state.get("promoting") or None,
    }
    return [
        f"{key} is {file_values[key]!r} in {stack_path.name} but {deployed[key]!r} on the stack"
        for key in file_values
        if file_values[key] != deployed[key]
    ]


@dataclass
class Services:
    """Everything the command touches outside itself; tests replace any of it."""

    project_dir: Path = PROJECT_DIR
    driver: Callable[[str, Path, Echo], StackDriver] = AutomationDriver
    aws: Callable[[Mapping[str, Any]], Callable[[str], Any]] = AwsClients
    recorder: Callable[[Path, str, str, datetime, Echo], Recorder] = GitRecorder
    echo: Echo = print
    error: Echo = field(default=lambda text: print(text, file=sys.stderr))
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    tester: Tester = smoke_test
    which: Callable[[str], str | None] = shutil.which
    run: Callable[..., Any] = subprocess.run


def main(argv: list[str] | None = None, services: Services | None = None) -> int:
    s = services or Services()
    prefix = "phoenix-aws release"
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        return _run(args, s)
    except CommandError as exc:  # a bad argument or a stack file without its Region
        s.error(f"{prefix}: {exc}")
        return 2
    except StackConfigError as exc:
        s.error(f"{prefix}: {exc}")
        return 2
    except NothingToDo as exc:
        s.echo(f"nothing to do: {exc}")
        return 0
    except PlanError as exc:
        s.error(f"{prefix}: refused: {exc}")
        return 3
    except (EngineUnavailableError, StackFileError, MissingToolError) as exc:
        s.error(f"{prefix}: {exc}")
        return 2
    except (EngineError, ReleaseError, OpsError) as exc:
        s.error(f"{prefix}: failed: {exc}")
        return 1
    except OSError as exc:  # the stack file cannot be written, a tool cannot be started
        s.error(f"{prefix}: failed: {exc}")
        return 1
    except KeyboardInterrupt:
        s.error(f"{prefix}: interrupted; run the same action again to continue where it stopped")
        return 130
    except Exception as exc:
        # boto3 raises botocore ClientError/BotoCoreError (credentials, permissions, throttling):
        # one line, no traceback. Anything else is a bug and keeps its traceback.
        if type(exc).__module__.startswith("botocore"):
            s.error(f"{prefix}: failed: AWS: {exc}")
            return 1
        raise


def _run(args: argparse.Namespace, s: Services) -> int:
    stack_file = StackFile.for_stack(s.project_dir, args.stack)
    config = stack_file.config()
    if args.action in OPS_ACTIONS:  # reads only: the stack's Region is all it needs
        if problems := region_problems(config.get("aws:region")):
            raise StackConfigError("invalid stack config:\n  " + "\n  ".join(problems))
        if args.plan:
            raise PlanError(f"--plan prints release steps; {args.action} has none (it only reads)")
        return _ops(args, s, stack_file, config)
    try:
        check_stack_config(config)
    except ConfigError as exc:
        raise StackConfigError(f"the stack file is not valid as it is: {exc}") from None
    try:
        options = options_from(args)
    except PlanError as exc:  # a malformed option value is a bad argument
        raise CommandError(str(exc)) from None
    raw = raw_config_from_pulumi(config)
    release = dict(raw.get("release") or {})
    if args.plan:
        s.echo(describe(release))
        steps = plan_for_stack(args.action, raw, options)
        if args.action != "status":
            s.echo(f"plan for {args.action} on {args.stack} (nothing is run with --plan):")
            for number, step in enumerate(steps, start=1):
                s.echo(describe_step(number, step))
        return 0

    driver = s.driver(args.stack, s.project_dir, s.echo)
    outputs = driver.outputs()
    behind = check_deployed(release, outputs.get("release_state"), stack_file.path)
    if "release_state" not in outputs and args.action != "status":
        s.echo(
            "note: the stack exports no release_state yet, so this checkout cannot be compared "
            "with what is deployed; make sure it is up to date with the last release"
        )
    if behind and args.action != "status":
        raise PlanError(
            "the stack file does not say what is deployed: "
            + "; ".join(behind)
            + ". Your checkout is behind the last release: merge its release branch (or pull "
            "main) before releasing, so this release does not undo it"
        )
    aws = s.aws(config)
    healthy: dict[str, int] | None = None
    note = ""
    if args.action in HEALTH_GATED:
        healthy = target_health(aws, outputs)
    elif args.action == "status":
        try:
            healthy = target_health(aws, outputs)
        except Exception as exc:  # status still shows what it can
            note = f"health: unknown ({exc})"
    s.echo(describe(release, healthy, note))
    if args.action == "status":
        for line in behind:
            s.echo(f"warning: {line}")
        return 0

    steps = plan_for_stack(args.action, raw, options, healthy)
    started = datetime.fromtimestamp(s.clock(), UTC)
    runner = Runner(
        stack_file=stack_file,
        driver=driver,
        action=args.action,
        aws=aws,
        recorder=s.recorder(stack_file.path, args.stack, args.action, started, s.echo),
        echo=s.echo,
        sleep=s.sleep,
        clock=s.clock,
        tester=s.tester,
        _outputs=outputs,
    )
    runner.run(steps)
    return 0


def _ops(
    args: argparse.Namespace, s: Services, stack_file: StackFile, config: dict[str, Any]
) -> int:
    driver = s.driver(args.stack, s.project_dir, s.echo)
    outputs = driver.outputs()
    aws = s.aws(config)
    if args.action == "logs":
        group = outputs.get("log_group_name")
        if not group:
            raise OpsError("the stack has no log_group_name output; run `pulumi up` once")
        since = int((s.clock() - args.since) * 1000)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how --follow ends
            tail_logs(
                aws("logs"),
                group,
                slot=args.slot,
                start_ms=since,
                follow=args.follow,
                echo=s.echo,
                sleep=s.sleep,
            )
        return 0
    raw = raw_config_from_pulumi(config)
    state = outputs.get("release_state")
    live = (state.get("live") if isinstance(state, Mapping) else None) or (
        raw.get("release") or {}
    ).get("live", "blue")
    slot = args.slot or live
    services = outputs.get("slot_services") or {}
    cluster = outputs.get("cluster_name")
    if not cluster or slot not in services:
        raise OpsError(
            f"the stack has no cluster_name or no service for slot {slot} in slot_services; "
            "run `pulumi up` once (a slot without an image has no service)"
        )
    app = outputs.get("app_name") or (raw.get("app") or {}).get("name")
    return open_console(
        aws("ecs"),
        cluster=cluster,
        service=services[slot],
        slot=slot,
        app=str(app),
        region=config.get("aws:region"),
        which=s.which,
        run=s.run,
        echo=s.echo,
    )


if __name__ == "__main__":
    sys.exit(main())
