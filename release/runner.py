"""Execute planned release steps: change the stack file, `pulumi up`, wait, smoke-test.

Each config step writes the change into the stack file, runs `pulumi up` (which reads that file),
and keeps the change only if the up succeeded: when it fails, the file is restored, so the stack
file always says what is deployed. After each successful up the file is recorded (see
`record.py`). The stack, AWS, the clock and the smoke test are injected, so every path is tested
without the Pulumi CLI or an AWS account.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from release.engine import StackDriver
from release.plan import PlanError, Step, check_steps, describe_changes
from release.record import NoRecorder, Recorder
from release.smoke import HealthAnswer, SmokeTestError, preflight_advice, smoke_test
from release.stack_file import StackFile
from release.waits import SocketMetric, wait, wait_for_sockets

PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")


class ReleaseError(RuntimeError):
    """A step failed; the message says which, why, and where the stack stands."""


Tester = Callable[[str, str, str], HealthAnswer]


def target_health(aws: Callable[[str], Any], outputs: Mapping[str, Any]) -> dict[str, int]:
    """Healthy targets per slot from the load balancer (DescribeTargetHealth). A failed read
    raises: a promote or a rollback never proceeds on health it could not see."""
    arns = outputs.get("target_group_arns") or {}
    if not arns:
        raise ReleaseError(
            "the stack has no target_group_arns output, so the slots' health cannot be read; "
            "run `pulumi up` once to publish the outputs"
        )
    result = {}
    for slot, arn in sorted(arns.items()):
        try:
            response = aws("elbv2").describe_target_health(TargetGroupArn=arn)
        except (BotoCoreError, ClientError) as exc:  # credentials, permissions, network
            raise ReleaseError(
                f"could not read the health of slot {slot}'s targets ({arn}): {exc}. "
                "Nothing was changed."
            ) from None
        result[slot] = sum(
            1
            for target in response["TargetHealthDescriptions"]
            if target["TargetHealth"]["State"] == "healthy"
        )
    return result


@dataclass
class Runner:
    """Runs one action's steps against a stack file and its stack."""

    stack_file: StackFile
    driver: StackDriver
    action: str
    aws: Callable[[str], Any]
    recorder: Recorder = field(default_factory=NoRecorder)
    echo: Callable[[str], None] = print
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    tester: Tester = smoke_test
    _outputs: dict[str, Any] | None = None

    def outputs(self) -> dict[str, Any]:
        if self._outputs is None:
            self._outputs = self.driver.outputs()
        return self._outputs

    def run(self, steps: list[Step]) -> None:
        total = len(steps)
        try:
            for number, step in enumerate(steps, start=1):
                self.echo(f"[{number}/{total}] {step.title}")
                self._step(step)
        finally:
            self.recorder.finish()
        self.echo("done")

    def _step(self, step: Step) -> None:
        if step.changes:
            self._change(step.changes, step.title)
        if step.pin_image_slot:
            self._pin(step.pin_image_slot)
        if step.smoke_test_slot:
            self._smoke_test(step.smoke_test_slot, preflight=step.preflight)
        if step.socket_drain_slot:
            self._wait_for_sockets(step)
        elif step.wait_seconds:
            wait(
                step.wait_seconds,
                step.waiting_for or step.title,
                echo=self.echo,
                clock=self.clock,
                sleep=self.sleep,
            )

    def _change(self, changes: Mapping[str, Any], title: str) -> None:
        """Write the change, run the up; keep the change only if the up succeeded."""
        before = self.stack_file.text()
        self.stack_file.change_release(changes)
        started = self.clock()
        self.echo(f"      set {describe_changes(changes)}; pulumi up")
        self._outputs = None
        try:
            self._outputs = self.driver.up(f"release {self.action}: {title}")
        except BaseException:
            self.stack_file.write(before)
            self.echo(
                f"      {self.stack_file.path.name} restored: the up did not complete, so the "
                "file still says what is deployed"
            )
            raise
        self.echo(f"      up finished in {self.clock() - started:.0f} s")
        self.recorder.record(title)

    def _pin(self, slot: str) -> None:
        image = (self.outputs().get("slot_images") or {}).get(slot)
        if not isinstance(image, str) or not PINNED.search(image):
            raise ReleaseError(
                f"no built digest for slot {slot} in the stack outputs (slot_images: {image!r}); "
                f"the slot runs the build, but its config still says 'build'"
            )
        changes = {f"{slot}.image": image}
        try:
            check_steps(self.stack_file.settings_config(), [Step(title="pin", changes=changes)])
        except PlanError as exc:
            raise ReleaseError(f"cannot pin slot {slot} to {image}: {exc}") from None
        self._change(changes, f"pin slot {slot} to {image}")

    def _smoke_test(self, slot: str, *, preflight: bool) -> None:
        edge = self.stack_file.settings_config().get("edge") or {}
        header = edge.get("test_header", "X-Release-Slot")
        url = self.outputs().get("url")
        if not url:
            raise ReleaseError("the stack has no url output: cannot smoke-test")
        self.echo(f"      GET {url.rstrip('/')}/health with {header}: {slot}")
        try:
            answer = self.tester(url, header, slot)
        except SmokeTestError as exc:
            if preflight:
                raise PlanError(
                    preflight_advice(exc, slot, header, list(edge.get("operator_cidrs") or []))
                ) from None
            raise ReleaseError(
                f"smoke test failed: {exc}. Traffic has not moved to slot {slot}; fix it and run "
                "promote again, or cancel with rollback"
            ) from None
        self.echo(f"      {answer}")

    def _wait_for_sockets(self, step: Step) -> None:
        slot = step.socket_drain_slot
        assert slot is not None
        metric = SocketMetric.from_output(self.outputs().get("socket_metric"))
        if metric is None:
            wait(
                step.wait_seconds,
                f"slot {slot}'s nodes to shed their WebSockets (the stack has no socket_metric "
                "output to watch, so the whole drain window)",
                echo=self.echo,
                clock=self.clock,
                sleep=self.sleep,
            )
            return
        wait_for_sockets(
            cloudwatch=self.aws("cloudwatch"),
            metric=metric,
            slot=slot,
            threshold=step.socket_threshold,
            timeout=step.wait_seconds,
            echo=self.echo,
            clock=self.clock,
            sleep=self.sleep,
        )
