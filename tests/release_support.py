"""Fakes shared by the release command's tests: a stack, a clock, AWS clients with Stubbers."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

from release.__main__ import Services, main
from release.record import NoRecorder
from release.smoke import HealthAnswer

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


def outputs(url: str = "https://app.example.com", **extra: Any) -> dict[str, Any]:
    return {
        "url": url,
        "target_group_arns": {"blue": BLUE_TG, "green": GREEN_TG},
        "slot_images": {},
        "socket_metric": SOCKET_METRIC,
        "log_group_name": "/ecs/phoenix-aws-prod",
        "cluster_name": "phoenix-aws-prod",
        "slot_services": {"blue": "shop-prod-blue", "green": "shop-prod-green"},
        **extra,
    }


class FakeStack:
    """A stack that records each up and the stack file the up would have read."""

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
        self.log: list[str] = []

    def up(self, message: str) -> dict[str, Any]:
        self.ups.append((message, self.stack_file.read_text()))
        if self.clock:
            self.clock.now += self.up_seconds
        self.log.append(f"up: {message}")
        if self.fail_up and len(self.ups) == self.fail_up:
            from release.engine import EngineError

            raise EngineError("pulumi up of stack prod failed (exit 255):\n  error: update failed")
        return self.stack_outputs

    def outputs(self) -> dict[str, Any]:
        self.log.append("outputs")
        return self.stack_outputs


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
