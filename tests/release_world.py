"""A simulated stack and AWS account for the release fault tests (tests/test_release_faults.py).

What is ours and what is not:
- The program's part of an `up` runs the program's own code where it decides anything: its
  release guard (`release_change_problems`), the capacity gate (`phoenix_aws.helpers.capacity`),
  the deployment check (`phoenix_aws.helpers.deployment_check`), the migration helper
  (`phoenix_aws.helpers.migrate_task`) and the forward weights (`forward_weights`).
- AWS is a small model of the behaviours the release depends on, each from AWS's docs: a task
  takes traffic only once healthy (a start time after its service asks for it); a scaling floor
  reaches the service's desired count on its own time (RegisterScalableTarget); the circuit
  breaker leaves the previous task definition PRIMARY; a listener's forward weights change when
  a rule is modified; a draining slot's sockets fall over the drain window. Every call goes
  through a real boto3 client with botocore's Stubber, so each request and each answer is checked
  against the AWS service model (names, shapes, types), not against our expectations.
- The release lock is DynamoDB in moto (its conditional writes), through the same process gate.

A `Process` is one release command's process: its AWS clients, stack driver, clock and sleep.
`kill_at` makes it die at its n-th interaction (an outputs read, an up's start or middle, a
sleep, an AWS call): from then on every call of that process raises `Killed`, so nothing it does
after the kill (a cleanup, a lock release) reaches the world, as with SIGKILL.

The invariants are checked at every moment they could break, and recorded in `violations`:
- traffic never moves to a slot that lacks the healthy targets its new share needs (the share of
  what served the traffic just before);
- a slot that carries traffic is never scaled down;
- a slot is never scaled down before its nodes were told to shed their sockets.
"""

from __future__ import annotations

import io
import itertools
import json
import math
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from botocore.stub import Stubber
from phoenix_aws.helpers.capacity import GateSlot, gate
from phoenix_aws.helpers.deployment_check import DeploymentError, verify_primary
from phoenix_aws.helpers.migrate_task import MigrationError, MigrationRequest, run_migration
from phoenix_aws.load_balancer import forward_weights
from release_support import NEW, SESSION, answering_tester, lock_table, project_copy

from release import stack_file as stack_file_module
from release.__main__ import Services, main
from release.engine import EngineError
from release.lock import LOCK_TTL_SECONDS
from release.plan import apply_changes
from release.stack_file import StackFile
from stacks.settings import (
    RELEASE_CHANGE_ENV,
    RELEASE_EXPECTED_ENV,
    raw_config_from_pulumi,
    release_change_problems,
    release_section,
)

SLOTS = ("blue", "green")
ACCOUNT = "123456789012"
CLUSTER = "phoenix-aws-prod"
LISTENER = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:listener/app/prod/1/2"
RULE = LISTENER.replace("listener/", "listener-rule/") + "/9"
TASK_START = 75  # a Fargate task until its target is healthy (start + 2 health checks)
MIGRATION_SECONDS = 40
SOCKETS_PER_TASK = 50


class Killed(BaseException):
    pass


def tg(slot: str) -> str:
    return f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/prod-{slot}/{slot[0]}"


def td(slot: str, revision: int) -> str:
    return f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/phoenix-aws-prod-{slot}:{revision}"


@dataclass
class SlotWorld:
    """One slot's ECS service and target group."""

    name: str
    image: str | None = None
    floor: int = 0
    """The scaling target's minimum (what the last up asked)."""
    ceiling: int = 0
    """The scaling target's maximum."""
    desired: int = 0
    """The service's desired count (the floor reaches it after `scaling_delay`)."""
    floor_applies_at: float = 0.0
    ready_at: list[float] = field(default_factory=list)
    """When each task's target turns healthy."""
    revision: int = 1
    primary: int = 1
    draining_since: float | None = None
    sockets_start: int = 0

    def healthy(self, now: float) -> int:
        return sum(1 for t in self.ready_at[: self.desired] if t <= now)


class World:
    """The stack and the AWS account it lives in (see the module docstring)."""

    def __init__(self, section: dict[str, Any], *, scaling_delay: float = 0.0) -> None:
        self.now = datetime(2026, 11, 24, 10, tzinfo=UTC).timestamp()
        self.deployed = dict(section)
        self.scaling_delay = scaling_delay
        self.ecs_rolls_back = False
        self.alarm_fires_at: float | None = None
        self.migration_seconds = MIGRATION_SECONDS
        self.drain_window = int(section.get("drain_window_seconds", 300))
        self.slots = {s: SlotWorld(s) for s in SLOTS}
        for name in SLOTS:
            cfg = section.get(name) or {}
            slot = self.slots[name]
            slot.image = cfg.get("image")
            slot.floor = slot.desired = int(cfg.get("desired_count", 0))
            slot.ceiling = int(cfg.get("max_count") or slot.floor)
            slot.ready_at = [self.now] * slot.desired
        self.weights = forward_weights(section["live"], int(section.get("canary_percent", 0)))
        self.carried_by = {s: self.slots[s].desired for s, w in self.weights.items() if w}
        for name, weight in self.weights.items():
            if weight:
                self.slots[name].sockets_start = SOCKETS_PER_TASK * self.slots[name].desired
        self.table = lock_table()
        self.migrations: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.ups: list[str] = []
        """Messages of the ups that completed."""
        self.updating: Process | None = None
        """Whose `up` holds the stack's update lock (Pulumi's own: one update at a time; a
        killed `up` leaves it held until `pulumi cancel`)."""

    # --- time -------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Time passes; a scaling target's new range reaches its service once due: the desired
        count moves into [min, max] and no further (a lower minimum lowers nothing)
        (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html)."""
        self.now += seconds
        for slot in self.slots.values():
            wanted = min(max(slot.desired, slot.floor), slot.ceiling)
            if wanted != slot.desired and self.now >= slot.floor_applies_at:
                self._set_desired(slot, wanted)

    def _set_desired(self, slot: SlotWorld, count: int) -> None:
        if count < slot.desired:
            if self.weights.get(slot.name):
                self.violations.append(
                    f"slot {slot.name} scaled down to {count} while it carries "
                    f"{self.weights[slot.name]}% of the traffic"
                )
            if slot.draining_since is None and slot.sockets_start:
                self.violations.append(
                    f"slot {slot.name} scaled down before its nodes were told to shed sockets"
                )
            slot.ready_at = slot.ready_at[:count]
        else:
            slot.ready_at += [self.now + TASK_START] * (count - len(slot.ready_at))
        slot.desired = count

    # --- traffic ----------------------------------------------------------------------------

    def set_weights(self, weights: dict[str, int], by: str) -> None:
        # The spec: sized from what the slot carrying the most traffic runs now, scaled to all of
        # it (the live slot's 3 tasks at 90% make 3.33 tasks of full load). When that slot takes
        # the rest itself, its share was carried by the tasks it had when the share was set.
        serving = [s for s, w in self.weights.items() if w]
        anchor = max(serving, key=lambda s: self.weights[s]) if serving else None
        for slot, weight in weights.items():
            if weight <= self.weights.get(slot, 0):
                continue
            carried = 0
            if anchor is not None:
                now_healthy = self.slots[anchor].healthy(self.now)
                then = self.carried_by.get(anchor, now_healthy)
                carried = then if anchor == slot else max(then, now_healthy)
            full = carried * 100 / self.weights[anchor] if anchor else 0
            needed = max(1, math.ceil(full * weight / 100 - 1e-9))
            have = self.slots[slot].healthy(self.now)
            if have < needed:
                self.violations.append(
                    f"{by} moved {weight}% to slot {slot} with {have} healthy of {needed} needed"
                )
        self.weights = dict(weights)
        self.carried_by = {s: self.slots[s].healthy(self.now) for s, w in weights.items() if w}

    def sockets(self, slot: str) -> int:
        s = self.slots[slot]
        if s.draining_since is None:
            return s.sockets_start
        left = 1 - (self.now - s.draining_since) / self.drain_window
        return max(0, round(s.sockets_start * left))

    def outputs(self) -> dict[str, Any]:
        return {
            "url": "https://app.example.com",
            "release_state": dict(self.deployed),
            "release_lock_table": self.table,
            "target_group_arns": {s: tg(s) for s in SLOTS},
            "production_listener_arn": LISTENER,
            "cluster_name": CLUSTER,
            "slot_services": {s: f"prod-{s}" for s in SLOTS if self.slots[s].image},
            "slot_images": {s: self.slots[s].image for s in SLOTS if self.slots[s].image},
            "slot_versions": {},
            "slot_alarms": {s: [f"prod-canary-{s}-5xx"] for s in SLOTS},
            "slot_autoscaling": True,
            "drain_parameters": {s: f"/prod/{s}/drain" for s in SLOTS},
            "socket_metric": {
                "namespace": "PhoenixAws",
                "metric_name": "WebSockets",
                "dimensions": {"Stack": "phoenix-aws-prod"},
            },
        }


@dataclass
class Process:
    """One release command's process (see the module docstring)."""

    world: World
    owner: str
    stack_file: Any = None
    kill_at: int | None = None
    on_boundary: Any = None
    """Called at each boundary (the other operator acts there)."""
    count: int = 0
    dead: bool = False
    left_behind: str = ""
    """The stack file as the process left it when it died."""

    def tick(self, what: str, boundary: bool = True) -> None:
        """One interaction; `boundary`: a point a kill is tried at (a step boundary, the middle
        of an up, a wait), not every AWS call."""
        if self.dead:
            raise Killed(what)
        if not boundary:
            return
        self.count += 1
        if self.on_boundary is not None:
            self.on_boundary(self.count)
        if self.kill_at is not None and self.count >= self.kill_at:
            self.dead = True
            self.left_behind = self.stack_file.read_text()
            raise Killed(what)

    def sleep(self, seconds: float) -> None:
        self.tick("sleep")
        self.world.advance(seconds)

    def clock(self) -> float:
        return self.world.now

    def aws(self, config: Any = None) -> Any:
        return lambda service: Client(self, service)

    def driver(self, name: str, directory: Any, echo: Any) -> Stack:
        return Stack(self)


class Stack:
    """The stack as the release command drives it (outputs, up)."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.world = process.world

    def outputs(self) -> dict[str, Any]:
        self.process.tick("outputs")
        return self.world.outputs()

    def up(self, message: str, env: dict[str, str] | None = None, refresh: bool = False) -> dict:
        if self.world.updating not in (None, self.process):
            raise EngineError(
                "pulumi up of stack prod: the stack is locked by another update (pulumi cancel "
                "clears a lock a killed update left)"
            )
        self.world.updating = self.process
        try:
            outputs = self._up(message, env or {})
        except Killed:
            raise  # the killed update leaves Pulumi's lock held
        except BaseException:
            self.world.updating = None
            raise
        self.world.updating = None
        return outputs

    def _up(self, message: str, env: dict[str, str]) -> dict[str, Any]:
        from release.stack_file import StackFile

        self.process.tick("up")
        planned = release_section(StackFile(self.stack_file()).release())
        assert planned is not None
        problems = release_change_problems(
            planned,
            self.world.deployed,
            expected=env.get(RELEASE_EXPECTED_ENV),
            by_hand=env.get(RELEASE_CHANGE_ENV) == "1",
        )
        if problems:
            raise EngineError("pulumi up failed:\n  " + "\n  ".join(problems))
        self._slots(planned)
        self.process.tick("up (middle)")  # a kill here: resources changed, outputs not
        self._traffic(planned)
        for name in SLOTS:
            slot = self.world.slots[name]
            if (planned.get(name) or {}).get("draining") and slot.draining_since is None:
                slot.draining_since = self.world.now
            elif not (planned.get(name) or {}).get("draining"):
                slot.draining_since = None
        self.world.deployed = planned
        self.world.ups.append(message)
        return self.world.outputs()

    def stack_file(self) -> Any:
        return self.process.stack_file

    def _slots(self, planned: dict[str, Any]) -> None:
        """Images, migrations, counts and the deployment check of every slot."""
        world, client = self.world, (lambda s: Client(self.process, s))
        for name in SLOTS:
            cfg, slot = planned.get(name) or {}, world.slots[name]
            before = world.deployed.get(name) or {}
            migrate = cfg.get("run_migrations", True) and (
                cfg.get("image") != slot.image or not before.get("run_migrations", True)
            )
            if cfg.get("image") and migrate:
                if cfg.get("image") != slot.image:
                    slot.revision += 1  # the admin task definition of the new image
                request = MigrationRequest(
                    cluster=CLUSTER,
                    task_family=f"phoenix-aws-prod-{name}",
                    container="shop",
                    image=str(cfg["image"]),
                    command="bin/shop eval Shop.Release.migrate()",
                    subnets=["subnet-a"],
                    security_groups=["sg"],
                    log_group="/ecs/prod",
                    log_prefix=name,
                    region="eu-west-1",
                    timeout_seconds=900,
                )
                try:
                    run_migration(
                        client("ecs"), client("logs"), request,
                        sleep=self.process.sleep, clock=self.process.clock,
                    )  # fmt: skip
                except MigrationError as exc:
                    raise EngineError(f"migration failed: {exc}") from None
            if cfg.get("image") != slot.image:
                if cfg.get("image") and not migrate:
                    slot.revision += 1
                slot.image = cfg.get("image")
                if not world.ecs_rolls_back:
                    slot.primary = slot.revision
                    slot.ready_at = [world.now + TASK_START] * slot.desired
            floor = int(cfg.get("desired_count", 0))
            ceiling = max(int(cfg.get("max_count") or floor), floor)
            if (floor, ceiling) != (slot.floor, slot.ceiling):
                slot.floor, slot.ceiling = floor, ceiling
                slot.floor_applies_at = world.now + world.scaling_delay
                world.advance(0)
            # The provider waits for a steady service: the tasks its desired count asks for.
            if slot.ready_at:
                world.advance(max(0.0, max(slot.ready_at) - world.now))
            if slot.image:
                try:
                    verify_primary(client("ecs"), CLUSTER, f"prod-{name}", td(name, slot.revision))
                except DeploymentError as exc:
                    raise EngineError(f"deployment check failed: {exc}") from None

    def _traffic(self, planned: dict[str, Any]) -> None:
        """The capacity gate, then the weights (as the program's graph orders them)."""
        weights = forward_weights(planned["live"], int(planned.get("canary_percent") or 0))
        old = forward_weights(self.world.deployed["live"], self.world.deployed["canary_percent"])

        def client(service: str) -> Client:
            return Client(self.process, service)

        if weights != self.world.weights or weights != old:
            slots = {
                s: GateSlot(
                    tg(s), f"prod-{s}", int((planned.get(s) or {}).get("desired_count", 0)),
                    old[s], weights[s],
                )
                for s in SLOTS
                if self.world.slots[s].image and (old[s] > 0 or weights[s] > old[s])
            }  # fmt: skip
            try:
                gate(
                    elbv2=client("elbv2"),
                    ecs=client("ecs"),
                    autoscaling=client("application-autoscaling"),
                    cluster=CLUSTER,
                    slots=slots,
                    timeout=int(planned.get("capacity_timeout_seconds", 600)),
                    sleep=self.process.sleep,
                    clock=self.process.clock,
                    echo=lambda line: None,
                )
            except Exception as exc:
                if isinstance(exc, Killed):
                    raise
                raise EngineError(f"capacity gate: {exc}") from None
            self.world.set_weights(weights, "an up")


_CLIENTS: dict[str, tuple[Any, Stubber | None]] = {}


def _client(service: str) -> tuple[Any, Stubber | None]:
    """One boto3 client per service for the whole test run (creating one costs milliseconds),
    with an active Stubber that is given each answer just before its call."""
    if service not in _CLIENTS:
        client = SESSION.client(service)
        stub = None
        if service != "dynamodb":
            stub = Stubber(client)
            stub.activate()
        _CLIENTS[service] = (client, stub)
    return _CLIENTS[service]


class Client:
    """A boto3 client of one service whose answers come from the world, each request and answer
    checked by botocore's Stubber against the service model."""

    def __init__(self, process: Process, service: str) -> None:
        self.process, self.service = process, service
        self.world = process.world

    def __getattr__(self, operation: str) -> Any:
        def call(**params: Any) -> Any:
            self.process.tick(f"{self.service}.{operation}", boundary=False)
            client, stub = _client(self.service)
            if stub is None:  # DynamoDB: the lock, in moto
                return getattr(client, operation)(**params)
            stub.add_response(operation, self._answer(operation, params), params)
            return getattr(client, operation)(**params)

        return call

    def _answer(self, op: str, p: dict[str, Any]) -> dict[str, Any]:
        w, now = self.world, self.world.now
        by_tg = {tg(s): s for s in SLOTS}
        by_service = {f"prod-{s}": s for s in SLOTS}
        if op == "describe_target_health":
            slot = w.slots[by_tg[p["TargetGroupArn"]]]
            states = ["healthy" if t <= now else "initial" for t in slot.ready_at[: slot.desired]]
            return {
                "TargetHealthDescriptions": [
                    {"Target": {"Id": f"10.0.0.{i}", "Port": 4000}, "TargetHealth": {"State": s}}
                    for i, s in enumerate(states)
                ]
            }
        if op == "describe_scalable_targets":
            slot = w.slots[by_service[p["ResourceIds"][0].rsplit("/", 1)[1]]]
            target = {
                "ServiceNamespace": "ecs",
                "ResourceId": p["ResourceIds"][0],
                "ScalableDimension": "ecs:service:DesiredCount",
                "MinCapacity": slot.floor,
                "MaxCapacity": slot.ceiling,
                "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/scaling",
                "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
            }
            return {"ScalableTargets": [target]}
        if op == "register_scalable_target":
            slot = w.slots[by_service[p["ResourceId"].rsplit("/", 1)[1]]]
            slot.floor, slot.ceiling = p["MinCapacity"], p["MaxCapacity"]
            slot.floor_applies_at = now + w.scaling_delay
            w.advance(0)
            return {}
        if op == "describe_services":
            slot = w.slots[by_service[p["services"][0]]]
            return {
                "services": [
                    {
                        "serviceName": p["services"][0],
                        "desiredCount": slot.desired,
                        "runningCount": slot.healthy(now),
                        "pendingCount": slot.desired - slot.healthy(now),
                        "deployments": [
                            {
                                "id": f"ecs-svc/{slot.primary}",
                                "status": "PRIMARY",
                                "taskDefinition": td(slot.name, slot.primary),
                                "rolloutState": "COMPLETED",
                                "rolloutStateReason": "ECS deployment completed.",
                            }
                        ],
                    }
                ]
            }
        if op == "update_service":
            self.world._set_desired(w.slots[by_service[p["service"]]], p["desiredCount"])
            return {"service": {"serviceName": p["service"], "desiredCount": p["desiredCount"]}}
        if op == "describe_rules":
            groups = [{"TargetGroupArn": tg(s), "Weight": w.weights[s]} for s in SLOTS]
            return {
                "Rules": [
                    {
                        "RuleArn": RULE,
                        "Priority": "50000",
                        "IsDefault": False,
                        "Actions": [
                            {
                                "Type": "forward",
                                "ForwardConfig": {
                                    "TargetGroups": groups,
                                    "TargetGroupStickinessConfig": {"Enabled": False},
                                },
                            }
                        ],
                    }
                ]
            }
        if op == "modify_rule":
            groups = p["Actions"][0]["ForwardConfig"]["TargetGroups"]
            w.set_weights({by_tg[g["TargetGroupArn"]]: g["Weight"] for g in groups}, "rollback")
            return {"Rules": [{"RuleArn": p["RuleArn"], "Actions": p["Actions"]}]}
        if op == "put_parameter":
            slot = w.slots[p["Name"].split("/")[2]]
            if not json.loads(p["Value"])["shed"]:
                slot.draining_since = None
            return {"Version": 2}
        if op == "describe_alarms":
            fired = w.alarm_fires_at is not None and now >= w.alarm_fires_at
            return {
                "MetricAlarms": [
                    {
                        "AlarmName": name,
                        "StateValue": "ALARM" if fired and "green" in name else "OK",
                        "StateReason": "Threshold Crossed: 12 > 5" if fired else "",
                    }
                    for name in p["AlarmNames"]
                ]
            }
        if op == "get_metric_data":
            slot = p["MetricDataQueries"][0]["MetricStat"]["Metric"]["Dimensions"][-1]["Value"]
            stamp = datetime.fromtimestamp(now, UTC)
            return {
                "MetricDataResults": [
                    {"Id": "sockets", "Timestamps": [stamp], "Values": [float(w.sockets(slot))]}
                ]
            }
        return self._migration_answer(op, p)

    def _migration_answer(self, op: str, p: dict[str, Any]) -> dict[str, Any]:
        w, now = self.world, self.world.now
        if op == "describe_task_definition":
            slot = w.slots[p["taskDefinition"].rsplit("-", 1)[1]]
            return {
                "taskDefinition": {
                    "taskDefinitionArn": td(slot.name, slot.revision),
                    "containerDefinitions": [{"name": "shop", "image": self._admin_image(slot)}],
                }
            }
        if op == "list_tasks":
            running = [m["arn"] for m in w.migrations if m["done_at"] > now]
            return {"taskArns": running}
        if op == "run_task":
            arn = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/{CLUSTER}/{len(w.migrations):016x}"
            command = p["overrides"]["containerOverrides"][0]["command"]
            w.migrations.append(
                {"arn": arn, "definition": p["taskDefinition"], "command": command,
                 "started_at": now, "done_at": now + w.migration_seconds}
            )  # fmt: skip
            return {"tasks": [{"taskArn": arn, "lastStatus": "PROVISIONING"}], "failures": []}
        if op == "describe_tasks":
            found = [m for m in w.migrations if m["arn"] in p["tasks"]]
            return {
                "tasks": [
                    {
                        "taskArn": m["arn"],
                        "taskDefinitionArn": m["definition"],
                        "lastStatus": "STOPPED" if m["done_at"] <= now else "RUNNING",
                        "overrides": {
                            "containerOverrides": [{"name": "shop", "command": m["command"]}]
                        },
                        "containers": [{"name": "shop", "exitCode": 0}]
                        if m["done_at"] <= now
                        else [{"name": "shop"}],
                    }
                    for m in found
                ]
            }
        raise AssertionError(f"the world does not answer {self.service}.{op}")

    def _admin_image(self, slot: SlotWorld) -> str:
        """The image the slot's newest admin task definition runs (the file being applied)."""
        from release.stack_file import StackFile

        section = StackFile(self.process.stack_file).release()
        return str((section.get(slot.name) or {}).get("image"))


# --- the scenarios' harness: a project, a world, operators running the command --------------

ROOT = Path(__file__).resolve().parent.parent


def section(**changes) -> dict:
    raw = raw_config_from_pulumi(
        yaml.safe_load((ROOT / "stacks/Pulumi.prod.yaml").read_text())["config"]
    )
    result = release_section(apply_changes(release_section(raw["release"]), changes))
    assert result is not None
    return result


SHIPPED = section()
DEPLOYED = section(**{"green.image": NEW, "green.desired_count": 3, "green.max_count": 12,
                      "green.run_migrations": False, "green.version": None})  # fmt: skip
PROMOTED = section(**{"green.image": NEW, "green.desired_count": 3, "green.max_count": 12,
                      "green.version": None, "live": "green"})  # fmt: skip

# A production stack file with only what a release reads (each step edits it round trip).
COMPACT = """\
config:
  aws:region: eu-west-1
  phoenix-aws:edge:
    domain: app.example.com
    certificate_arn: arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d
    operator_cidrs: [203.0.113.0/24]
  phoenix-aws:app:
    name: shop
  phoenix-aws:release:
    live: blue
"""

ACTIONS = {
    "deploy": (SHIPPED, ["deploy", "--image", NEW]),
    "promote": (DEPLOYED, ["promote", "--canary", "10", "--bake", "60"]),
    "drain": (PROMOTED, ["drain", "--bake", "0", "--drain-pause", "0"]),
    "rollback": (PROMOTED, ["rollback"]),
}


class Recording:
    """The release's review commits: each step it says happened."""

    def __init__(self, into: list[str], action: str) -> None:
        self.into, self.action = into, action

    def record(self, title: str) -> None:
        self.into.append(f"release {self.action}: {title}")

    def finish(self) -> None:
        return None


# Each scenario replays a release up to its kill point, so the stack file goes through the same
# (text, change) pairs again and again, and ruamel's round trip of them was a third of these
# tests' time. The edit is a pure function of its inputs: while a command runs here, an edit
# seen before is answered from memory (what the release command writes is unchanged).
_EDITS: dict[tuple[str, str], str] = {}
_EDIT = stack_file_module.with_release_changes


def _remembered_edit(text: str, changes: Any, where: str = "the stack file") -> str:
    key = (text, json.dumps(changes, sort_keys=True, default=repr))  # `where` names errors only
    if key not in _EDITS:
        _EDITS[key] = _EDIT(text, changes, where)
    return _EDITS[key]


@contextmanager
def _edits_remembered():
    stack_file_module.with_release_changes = _remembered_edit
    try:
        yield
    finally:
        stack_file_module.with_release_changes = _EDIT


class Scenario:
    """A project directory and a world, started from `start`; operators run commands in it."""

    def __init__(self, tmp_path: Path, start: dict, **world) -> None:
        self.project = project_copy(tmp_path)
        self.path = self.project / "stacks" / "Pulumi.prod.yaml"
        self.path.write_text(COMPACT)  # the release reads (and rewrites) it at every step
        with _edits_remembered():
            StackFile(self.path).write_release(start)
        self.world = World(start, **world)
        self.recorded: list[str] = []

    def process(self, owner: str, **kw) -> Process:
        return Process(self.world, owner, stack_file=self.path, **kw)

    def run(self, process: Process, *argv: str) -> tuple[int | str, str]:
        """One command; the exit code, or "killed" (its stack file left as the kill left it)."""
        out: list[str] = []
        services = Services(
            project_dir=self.project,
            driver=process.driver,
            aws=process.aws,
            recorder=lambda path, stack, action, now, echo: Recording(self.recorded, action),
            echo=out.append,
            error=out.append,
            sleep=process.sleep,
            clock=process.clock,
            tester=answering_tester(),
            owner=process.owner,
        )
        try:
            with (
                redirect_stdout(io.StringIO()),
                redirect_stderr(io.StringIO()),
                _edits_remembered(),
            ):
                code: int | str = main(["prod", *argv], services)
        except Killed:
            self.path.write_text(process.left_behind)  # no cleanup after SIGKILL
            code = "killed"
        return code, "\n".join(out)

    def resume(self, owner: str, argv: list[str]) -> tuple[int | str, str]:
        """After a dead process, as the command's messages say: Pulumi's own lock, if a killed
        `up` left it, is cleared (`pulumi cancel`); the release lock goes stale and is broken;
        the action runs again."""
        self.world.updating = None
        self.world.advance(LOCK_TTL_SECONDS + 1)
        code, text = self.run(self.process(f"{owner} (unlock)"), "unlock")
        assert code == 0, text
        return self.run(self.process(owner), *argv)

    def check(self, settled: bool = True) -> None:
        """The invariants; `settled`: no release is half way (a rollback killed between its
        listener change and its up leaves them apart until it runs again, and says so)."""
        assert self.world.violations == []
        weights = forward_weights(
            self.world.deployed["live"], self.world.deployed["canary_percent"]
        )
        if settled:
            assert self.world.weights == weights, "the listener and the stack disagree"
        assert set(self.recorded) <= set(self.world.ups), "a step recorded that did not happen"
        runs = sorted(self.world.migrations, key=lambda m: m["started_at"])
        for before, after in itertools.pairwise(runs):
            assert after["started_at"] >= before["done_at"], "two migrations ran at once"


def settled(state: dict) -> dict:
    return {k: v for k, v in state.items() if k != "in_progress"}
