"""`python -m release <stack> <action>` — blue-green releases and the operator's daily loop.

  deploy    build (or take --image) and put it on the idle slot, scaled up, without traffic
  promote   pre-flight, migrations, smoke test through the test route, canary steps watching the
            slot's alarms, flip `live`
  drain     bake, tell the old slot to shed its WebSockets, wait for them, scale it down in waves
  rollback  move traffic back to the previous slot in seconds (listener rules), then reconcile
            the stack and drain the bad slot (--redeploy: start a drained previous release again)
  status    the deployed release, the lock's holder, the listener's weights, health, history
  sync      write the deployed release section into the stack file and show the diff
  unlock    break a stale release lock (--force: a live one)
  up        a plain `pulumi up` of the checkout, holding the release lock (what CI runs)
  logs      print the app's recent logs (--slot, --since, --follow)
  console   open a remote IEx on a running node of a slot (ECS Exec)

The deployed stack is the truth: each action plans from the release section the stack exports,
holds the stack's release lock (in AWS) from its first step to its last, and before every
`pulumi up` checks that nobody changed the deployed release since. Each step writes its change
into stacks/Pulumi.<stack>.yaml and runs `pulumi up` (Pulumi Automation API); each kept change is
committed on a release/<stack>/… branch for review. --plan prints the steps and how long each
takes, from the stack file, without running anything (no Pulumi CLI needed).

Exit codes: 0 done (or nothing to do), 1 a step failed, 2 cannot run here (missing tool, stack
or stack file), 3 refused (the message says why; nothing was changed by the refused step).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shlex
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
from release.lock import LockError, LockHeld, ReleaseLock, default_owner
from release.ops import MissingToolError, OpsError, open_console, tail_logs
from release.plan import (
    ACTIONS,
    BUILD,
    Facts,
    NothingToDo,
    Options,
    PlanError,
    StackConfigError,
    plan_for_stack,
)
from release.record import GitRecorder, Recorder
from release.report import describe, print_estimates, status, sync
from release.runner import ReleaseError, Runner, Tester, deployed_release, target_health
from release.smoke import smoke_test
from release.stack_file import StackFile, StackFileError
from release.traffic import TrafficError
from release.truth import (
    check_listener,
    previous_release,
    record_history,
    resumed_options,
    take_the_stack,
)
from stacks.settings import (
    ConfigError,
    check_stack_config,
    raw_config_from_pulumi,
    region_problems,
    release_section,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
OPS_ACTIONS = ("logs", "console")
STACK_ACTIONS = ("sync", "unlock", "up")
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
    parser.add_argument("action", choices=(*ACTIONS, *STACK_ACTIONS, *OPS_ACTIONS))
    parser.add_argument(
        "--image", default=BUILD, help="deploy: image pinned by digest, or 'build' (default)"
    )
    parser.add_argument(
        "--version", dest="release_version", help="deploy: release label (RELEASE_VERSION)"
    )
    parser.add_argument(
        "--count",
        type=_count_at_least(1, "tasks"),
        help="deploy: tasks on the new slot (default: as many as live runs now)",
    )
    parser.add_argument("--canary", default="", help="promote: canary steps in percent, e.g. 10,50")
    parser.add_argument(
        "--bake",
        type=_count_at_least(0, "seconds"),
        default=300,
        help="seconds to bake each canary step (watching its alarms) / before draining "
        "(default 300)",
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
        "--force",
        action="store_true",
        help="drain: scale down even if sockets are still open when the wait ends; "
        "unlock: break a lock whose release is still running",
    )
    parser.add_argument(
        "--redeploy",
        action="store_true",
        help="rollback: start the previous release again when its slot was drained (minutes)",
    )
    parser.add_argument("--refresh", action="store_true", help="up: refresh the state first")
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
        "--plan",
        action="store_true",
        help="print the steps and their durations only (no Pulumi CLI needed)",
    )
    args = parser.parse_args(argv)
    # What the operator typed after the action, to write into `in_progress` (resume).
    args.options_text = shlex.join(a for a in argv[2:] if a != "--plan") if len(argv) > 2 else ""
    return args


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
        force=args.force,
        redeploy=args.redeploy,
    )


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
    owner: str = field(default_factory=default_owner)
    """Who this release is, as the lock and `in_progress` show it."""


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
    except (PlanError, LockHeld) as exc:
        s.error(f"{prefix}: refused: {exc}")
        return 3
    except (EngineUnavailableError, StackFileError, MissingToolError) as exc:
        s.error(f"{prefix}: {exc}")
        return 2
    except (EngineError, ReleaseError, OpsError, LockError, TrafficError) as exc:
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
        options_from(args)
    except PlanError as exc:  # a malformed option value is a bad argument
        raise CommandError(str(exc)) from None
    if args.plan:
        if args.action in STACK_ACTIONS:
            raise PlanError(f"--plan prints release steps; {args.action} has none")
        return _print_plan(args, s, raw_config_from_pulumi(config))

    driver = s.driver(args.stack, s.project_dir, s.echo)
    outputs = driver.outputs()
    on_stack = deployed_release(outputs)
    if args.action == "sync":
        return sync(stack_file, on_stack, s.echo)
    aws = s.aws(config)
    lock = _lock(aws, outputs, args.stack, s)
    if args.action == "status":
        return status(
            echo=s.echo,
            clock=s.clock,
            stack_file=stack_file,
            outputs=outputs,
            on_stack=on_stack,
            aws=aws,
            lock=lock,
        )
    if args.action == "unlock":
        return _unlock(args, s, lock)
    holder = lock.acquire(args.action, f"{args.action} {args.options_text}".strip())
    s.echo(f"release lock of {args.stack} taken by {holder.owner}")
    try:
        outputs = driver.outputs()  # read again under the lock: nobody can change it now
        on_stack = deployed_release(outputs)
        check_listener(args.action, outputs, on_stack, aws)
        take_the_stack(stack_file, on_stack, s.echo, up=args.action == "up")
        if args.action == "up":
            return _plain_up(args, s, driver, stack_file, on_stack, lock)
        recorded = resumed_options(args.action, args.stack, args.options_text, on_stack, s.echo)
        if recorded is not None:
            args = parse_args([args.stack, args.action, *shlex.split(recorded)])
        options = options_from(args)
        raw = raw_config_from_pulumi(stack_file.config())
        healthy = _health(args.action, aws, outputs, s.echo)
        facts = Facts(
            healthy=healthy or {},
            running_images=dict(outputs.get("slot_images") or {}),
            previous=previous_release(lock, on_stack) if args.action == "rollback" else None,
            alarms=dict(outputs.get("slot_alarms") or {}),
        )
        s.echo(describe(on_stack, healthy))
        steps = plan_for_stack(args.action, {**raw, "release": on_stack}, options, healthy, facts)
        print_estimates(steps, on_stack, raw, s.echo, heading="steps")
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
            lock=lock,
            expected=on_stack,
            by=s.owner,
            options=args.options_text,
            force=options.force,
        )
        runner.run(steps)
        record_history(lock, args.action, on_stack, runner.expected or on_stack, s.owner)
        return 0
    finally:
        if lock.release():
            s.echo(f"release lock of {args.stack} released")


def _print_plan(args: argparse.Namespace, s: Services, raw: dict[str, Any]) -> int:
    """--plan: the steps from the stack file as it is, each with how long it takes."""
    release = release_section(raw.get("release") or {}) or dict(raw.get("release") or {})
    s.echo(describe(release))
    steps = plan_for_stack(args.action, {**raw, "release": release}, options_from(args))
    if args.action != "status":
        s.echo(
            f"plan for {args.action} on {args.stack}, from the stack file (nothing is run with "
            "--plan; the release itself plans from the deployed stack):"
        )
        print_estimates(steps, release, raw, s.echo, heading="steps")
    return 0


def _health(
    action: str, aws: Callable[[str], Any], outputs: Mapping[str, Any], echo: Echo
) -> dict[str, int] | None:
    """The slots' healthy targets: required for promote and rollback; a deploy uses them to size
    the new slot like the live one runs now, and falls back to its configured count."""
    if action in HEALTH_GATED:
        return target_health(aws, outputs)
    if action != "deploy":
        return None
    try:
        return target_health(aws, outputs)
    except Exception as exc:  # sizing only: the configured count is a safe floor
        echo(f"note: the slots' health could not be read ({exc}); sizing from the config")
        return None


def _lock(
    aws: Callable[[str], Any], outputs: Mapping[str, Any], stack: str, s: Services
) -> ReleaseLock:
    table = outputs.get("release_lock_table")
    if not table:
        raise LockError(
            f"the stack exports no release_lock_table, so a release cannot take its lock: deploy "
            f"this version of the program once (`pulumi up` of stack {stack}), then release"
        )
    return ReleaseLock(aws("dynamodb"), str(table), stack=stack, owner=s.owner, clock=s.clock)


def _unlock(args: argparse.Namespace, s: Services, lock: ReleaseLock) -> int:
    holder = lock.holder()
    if holder is None:
        raise NothingToDo(f"nobody holds the release lock of {args.stack}")
    now = s.clock()
    if not holder.stale(now) and not args.force:
        raise PlanError(
            f"the release lock is live: {holder.describe(now)}. Breaking it lets two releases "
            "run at once; if you must stop that release, run unlock --force (its next step "
            "then stops)"
        )
    if not holder.stale(now) and holder.up_since is not None:
        raise PlanError(
            f"the release lock's holder is inside a `pulumi up` now: {holder.describe(now)}. "
            "That update would finish its step after anything you do; wait for it to end (a "
            "minute or two), then unlock --force stops the release at its next step"
        )
    lock.break_lock(holder)
    s.echo(
        f"broke the release lock of {args.stack} that {holder.owner} held for "
        f"`{holder.reason}`; the next release continues from what the stack says"
    )
    return 0


def _plain_up(
    args: argparse.Namespace,
    s: Services,
    driver: StackDriver,
    stack_file: StackFile,
    on_stack: Mapping[str, Any],
    lock: ReleaseLock,
) -> int:
    """`pulumi up` of the checkout as it is (a reviewed change), under the release lock, and
    only while the deployed release is what this command read."""
    import json

    from stacks.settings import RELEASE_EXPECTED_ENV

    s.echo(f"pulumi up of {args.stack} with {stack_file.path.name} as it is")
    env = {RELEASE_EXPECTED_ENV: json.dumps(dict(on_stack), sort_keys=True)}
    message = f"up of {args.stack} from the checkout (release lock held)"
    with lock.kept_alive():
        if args.refresh:
            driver.up(message, env, refresh=True)
        else:
            driver.up(message, env)
    s.echo("done")
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
