"""Fakes shared by the release command's tests: a stack, a clock, AWS clients with Stubbers."""

from __future__ import annotations

import io
import itertools
import shutil
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber
from moto import mock_aws
from phoenix_aws.release_lock import PARTITION_KEY, SORT_KEY

from release.__main__ import Services, main
from release.engine import EngineError
from release.record import NoRecorder
from release.smoke import HealthAnswer
from release.stack_file import StackFile
from stacks.settings import (
    RELEASE_CHANGE_ENV,
    RELEASE_EXPECTED_ENV,
    release_change_problems,
    release_section,
)

ROOT = Path(__file__).resolve().parent.parent
OLD = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/phoenix-aws-prod@sha256:" + "1" * 64
NEW = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/phoenix-aws-prod@sha256:" + "2" * 64
BLUE_TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-prod-blue/1a"
GREEN_TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-prod-green/2b"
SOCKET_METRIC = {
    "namespace": "PhoenixAws",
    "metric_name": "WebSockets",
    "dimensions": {"Stack": "phoenix-aws-prod"},
}
START = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC).timestamp()


def project_copy(tmp_path: Path, stack: str = "prod") -> Path:
    """A project directory with Pulumi.yaml and one shipped stack file, to edit freely."""
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    shutil.copy(ROOT / "stacks" / f"Pulumi.{stack}.yaml", project / "stacks")
    return project


LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop-prod/1/2"

# DynamoDB for the release lock: moto in this process (its conditional writes are DynamoDB's),
# started by the first table a test asks for and stopped after the test (tests/conftest.py), so
# no other test's AWS clients ever reach it.
_MOTO = mock_aws()
_TABLES = itertools.count()
_started = False


def stop_moto() -> None:
    """End the in-process moto a test started (its tables go with it)."""
    global _started
    if _started:
        _MOTO.stop()
        _started = False


def lock_table() -> str:
    """A fresh release lock table (the ReleaseLockTable's key schema) in in-process moto."""
    global _started
    if not _started:
        _MOTO.start()
        _started = True
    name = f"phoenix-aws-test-{next(_TABLES)}-release"
    dynamodb().create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def outputs(url: str = "https://app.example.com", **extra: Any) -> dict[str, Any]:
    return {
        "url": url,
        "target_group_arns": {"blue": BLUE_TG, "green": GREEN_TG},
        "slot_images": {},
        "socket_metric": SOCKET_METRIC,
        "log_group_name": "/ecs/phoenix-aws-prod",
        "cluster_name": "phoenix-aws-prod",
        "slot_services": {"blue": "shop-prod-blue", "green": "shop-prod-green"},
        "slot_alarms": {slot: [f"phoenix-aws-prod-{slot}-5xx"] for slot in ("blue", "green")},
        **extra,
    }


class FakeStack:
    """A stack that records each up and the stack file the up would have read, and does what
    the program does with the release section: runs the program's own release guard
    (`release_change_problems`, with the environment the up was given), then exports the whole
    section as `release_state`. Until its first up, the deployed section is the stack file's."""

    def __init__(
        self,
        stack_file: Path,
        stack_outputs: dict[str, Any] | None = None,
        fail_up: int = 0,
        up_seconds: float = 0,
        clock: FakeClock | None = None,
    ) -> None:
        self.stack_file = stack_file
        self.up_seconds = up_seconds
        self.clock = clock
        self.stack_outputs = stack_outputs if stack_outputs is not None else outputs()
        self.fail_up = fail_up
        self.ups: list[tuple[str, str]] = []  # (message, stack file text at the up)
        self.envs: list[dict[str, str]] = []
        self.log: list[str] = []
        self.stack_outputs.setdefault("release_lock_table", None)

    def _file_section(self) -> dict[str, Any]:
        section = release_section(StackFile(self.stack_file).release())
        assert section is not None, "the stack file's release section is not valid"
        return section

    def deployed(self) -> dict[str, Any]:
        if "release_state" not in self.stack_outputs:
            self.stack_outputs["release_state"] = self._file_section()
        return dict(self.stack_outputs["release_state"])

    def up(
        self, message: str, env: dict[str, str] | None = None, refresh: bool = False
    ) -> dict[str, Any]:
        self.deployed()
        env = dict(env or {})
        self.ups.append((message, self.stack_file.read_text()))
        self.envs.append(env)
        if self.clock:
            self.clock.now += self.up_seconds
        self.log.append(f"up: {message}")
        if self.fail_up and len(self.ups) == self.fail_up:
            raise EngineError("pulumi up of stack prod failed (exit 255):\n  error: update failed")
        planned = self._file_section()
        problems = release_change_problems(
            planned,
            self.stack_outputs["release_state"],
            expected=env.get(RELEASE_EXPECTED_ENV),
            by_hand=env.get(RELEASE_CHANGE_ENV) == "1",
        )
        if problems:
            raise EngineError(
                "pulumi up of stack prod failed (exit 255):\n  " + "\n  ".join(problems)
            )
        self.stack_outputs["release_state"] = planned
        return dict(self.stack_outputs)

    def outputs(self) -> dict[str, Any]:
        self.log.append("outputs")
        self.deployed()
        return dict(self.stack_outputs)


class FakeClock:
    """Time that moves only when something sleeps."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


# One session for every test: it caches the loaded service models, so each new client (and its
# fresh Stubber) costs milliseconds instead of a JSON model load.
SESSION = boto3.session.Session(
    region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
)


def client(service: str) -> Any:
    return SESSION.client(service)


_DYNAMODB: list[Any] = []


def dynamodb() -> Any:
    """One DynamoDB client for the run (it reaches moto while a test has it started)."""
    if not _DYNAMODB:
        _DYNAMODB.append(SESSION.client("dynamodb"))
    return _DYNAMODB[0]


class StubbedAws:
    """boto3 clients with a botocore Stubber each; `aws(service)` as the runner calls it."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}

    def stub(self, service: str) -> Stubber:
        if service not in self.stubs:
            self.clients[service] = client(service)
            self.stubs[service] = Stubber(self.clients[service])
            self.stubs[service].activate()
        return self.stubs[service]

    def __call__(self, service: str) -> Any:
        if service == "dynamodb":  # the release lock: in-process moto, not a Stubber
            lock_table()
            return dynamodb()
        self.stub(service)
        return self.clients[service]

    def factory(self, config: Any) -> StubbedAws:
        return self

    def assert_no_pending_responses(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def healthy_targets(aws: StubbedAws, blue: int, green: int) -> None:
    """DescribeTargetHealth answers for both slots (read in slot order: blue, then green)."""
    for arn, count in ((BLUE_TG, blue), (GREEN_TG, green)):
        aws.stub("elbv2").add_response(
            "describe_target_health",
            {
                "TargetHealthDescriptions": [
                    {"Target": {"Id": f"10.0.1.{i}", "Port": 4000}, "TargetHealth": {"State": s}}
                    for i, s in enumerate(["healthy"] * count + ["unhealthy"])
                ]
            },
            {"TargetGroupArn": arn},
        )


def answering_tester(calls: list[tuple[str, str, str]] | None = None):
    """A smoke test whose slot always answers for itself."""

    def tester(url: str, header: str, slot: str) -> HealthAnswer:
        if calls is not None:
            calls.append((url, header, slot))
        return HealthAnswer(slot=slot, version="v2")

    return tester


class Command:
    """Runs `python -m release` in-process against fakes; keeps its output."""

    def __init__(self, project: Path, stack: FakeStack | None = None, **services: Any) -> None:
        self.project = project
        self.stack = stack or FakeStack(project / "stacks" / "Pulumi.prod.yaml")
        self.aws = services.pop("aws", None) or StubbedAws()
        self.clock = services.pop("clock", None) or FakeClock()
        self.out: list[str] = []
        self.err: list[str] = []
        if self.stack.stack_outputs.get("release_lock_table") is None:
            self.stack.stack_outputs["release_lock_table"] = lock_table()
        self.services = Services(
            project_dir=project,
            driver=services.pop("driver", lambda name, directory, echo: self.stack),
            aws=self.aws.factory,
            recorder=services.pop("recorder", lambda *args: NoRecorder()),
            echo=self.out.append,
            error=self.err.append,
            sleep=self.clock.sleep,
            clock=self.clock,
            tester=services.pop("tester", answering_tester()),
            owner=services.pop("owner", "alice@laptop (pid 1)"),
            **services,
        )

    def __call__(self, *argv: str) -> int:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            return main(list(argv), self.services)

    @property
    def output(self) -> str:
        return "\n".join(self.out)

    @property
    def errors(self) -> str:
        return "\n".join(self.err)


def alarms_ok(aws: StubbedAws, slot: str = "green", reads: int = 1) -> None:
    """DescribeAlarms answers: the slot's alarm is OK, `reads` times."""
    for _ in range(reads):
        aws.stub("cloudwatch").add_response(
            "describe_alarms",
            {
                "MetricAlarms": [
                    {
                        "AlarmName": f"phoenix-aws-prod-{slot}-5xx",
                        "StateValue": "OK",
                        "StateReason": "Threshold Crossed: no datapoints were received",
                    }
                ]
            },
            {
                "AlarmNames": [f"phoenix-aws-prod-{slot}-5xx"],
                "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
            },
        )


LIVE_RULE = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop-prod/1/2/9"


def one_group_healthy(aws: StubbedAws, arn: str, count: int) -> None:
    """One DescribeTargetHealth answer for one target group: `count` healthy targets."""
    aws.stub("elbv2").add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {
                    "Target": {"Id": f"10.0.2.{i}", "Port": 4000},
                    "TargetHealth": {"State": "healthy"},
                }
                for i in range(count)
            ]
        },
        {"TargetGroupArn": arn},
    )


def service_desired(aws: StubbedAws, service: str, desired: int) -> None:
    """DescribeServices: the slot's service wants `desired` tasks (the count raise reads it)."""
    aws.stub("ecs").add_response(
        "describe_services",
        {"services": [{"serviceName": service, "desiredCount": desired, "runningCount": desired}]},
        {"cluster": "phoenix-aws-prod", "services": [service]},
    )


def forward_rule(weights: dict[str, int]) -> dict[str, Any]:
    """The live rule as DescribeRules returns it, forwarding with `weights`."""
    return {
        "RuleArn": LIVE_RULE,
        "Priority": "50000",
        "IsDefault": False,
        "Conditions": [{"Field": "path-pattern", "Values": ["/*"]}],
        "Actions": [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": BLUE_TG, "Weight": weights["blue"]},
                        {"TargetGroupArn": GREEN_TG, "Weight": weights["green"]},
                    ],
                    "TargetGroupStickinessConfig": {"Enabled": False},
                },
            }
        ],
    }


def listener_has(aws: StubbedAws, **weights: int) -> None:
    """DescribeRules: the production listener's live rule forwards with `weights`."""
    aws.stub("elbv2").add_response(
        "describe_rules",
        {
            "Rules": [
                forward_rule(weights),
                {
                    "RuleArn": LIVE_RULE + "d",
                    "Priority": "default",
                    "IsDefault": True,
                    "Conditions": [],
                    "Actions": [{"Type": "fixed-response"}],
                },
            ]
        },
        {"ListenerArn": LISTENER},
    )


def listener_moves_to(aws: StubbedAws, **weights: int) -> None:
    """ModifyRule of the live rule to `weights` (its stickiness kept)."""
    aws.stub("elbv2").add_response(
        "modify_rule",
        {"Rules": [forward_rule(weights)]},
        {
            "RuleArn": LIVE_RULE,
            "Actions": [
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": BLUE_TG, "Weight": weights["blue"]},
                            {"TargetGroupArn": GREEN_TG, "Weight": weights["green"]},
                        ],
                        "TargetGroupStickinessConfig": {"Enabled": False},
                    },
                }
            ],
        },
    )


def live_carries(aws: StubbedAws, anchor: str, healthy: int, **weights: int) -> None:
    """Before a direct traffic move the runner sizes the slot from the listener's weights and
    the healthy targets of the slot carrying the most traffic (`anchor`)."""
    listener_has(aws, **weights)
    one_group_healthy(aws, BLUE_TG if anchor == "blue" else GREEN_TG, healthy)
