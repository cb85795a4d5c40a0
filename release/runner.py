"""Execute planned release steps against the deployed stack: change, `pulumi up`, wait, test.

The deployed stack is the truth, not the checkout. Before every `up` the runner reads the stack's
whole release section and stops when it is not what this release left there (someone else
changed it in between); it renews the release lock; it writes the deployed section plus the
step's changes into the stack file (the file `pulumi up` reads) and hands the program the
section it expects to find deployed (`PHOENIX_AWS_RELEASE_EXPECTED`), so the program's own guard
refuses the up if the stack moved even after this check. After the up it checks that the stack
now reports exactly what was asked; only then is the step recorded. When an up fails the file is
rewritten from what is deployed, so it never claims a step that did not happen.

Every config step also writes `in_progress` (which action, which step, by whom) and the last one
removes it, so the stack itself says which release is under way and how far it got.

The stack, AWS, the clock and the smoke test are injected, so every path is tested without the
Pulumi CLI or an AWS account.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from phoenix_aws.cluster import drain_parameter_value
from phoenix_aws.helpers.capacity import (
    CapacityError,
    full_load_tasks,
    healthy_targets,
    raise_capacity,
    required_capacity,
    wait_for_capacity,
)

from release.engine import StackDriver
from release.lock import ReleaseLock
from release.plan import (
    PINNED,
    PlanError,
    Step,
    apply_changes,
    check_steps,
    describe_changes,
)
from release.record import NoRecorder, Recorder
from release.smoke import HealthAnswer, SmokeTestError, preflight_advice, smoke_test
from release.stack_file import StackFile
from release.traffic import TrafficError, listener_weights, move_traffic
from release.waits import AlarmFired, SocketMetric, wait, wait_for_sockets, watch_alarms
from stacks.settings import RELEASE_EXPECTED_ENV, release_differences, release_section


class ReleaseError(RuntimeError):
    """A step failed; the message says which, why, and where the stack stands."""


class ConcurrentChangeError(ReleaseError):
    """The deployed release changed under this release (another operator, CI)."""


class DrainStopped(ReleaseError):  # noqa: N818 - a stop the operator decides about
    """The draining slot still has WebSockets open when its wait ended: not scaled down."""


class CanaryRolledBack(ReleaseError):  # noqa: N818
    """An alarm fired during the canary, and the promotion was rolled back."""


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
            result[slot] = healthy_targets(aws("elbv2"), arn)
        except (BotoCoreError, ClientError) as exc:  # credentials, permissions, network
            raise ReleaseError(
                f"could not read the health of slot {slot}'s targets ({arn}): {exc}. "
                "Nothing was changed."
            ) from None
    return result


def deployed_release(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The deployed release section (`release_state` output), or ReleaseError."""
    section = release_section(outputs.get("release_state"))
    if section is None:
        raise ReleaseError(
            "the stack does not export its whole release section (release_state): it was last "
            "deployed by an older phoenix-aws. Run `pulumi up` once with this version (it "
            "changes no release setting), then release"
        )
    return section


@dataclass
class Runner:
    """Runs one action's steps against the stack file and the deployed stack."""

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
    lock: ReleaseLock | None = None
    expected: dict[str, Any] | None = None
    """The deployed release section the next up starts from (read from the stack at first)."""
    by: str = ""
    """Who runs the release (written into `in_progress`)."""
    options: str = ""
    """The action's options (written into `in_progress` so a resumed action keeps them)."""
    force: bool = False
    """drain --force: scale down even when sockets are still open at the end of the wait."""

    def outputs(self) -> dict[str, Any]:
        if self._outputs is None:
            self._outputs = self.driver.outputs()
        return self._outputs

    def run(self, steps: list[Step]) -> None:
        if self.expected is None:
            self.expected = deployed_release(self.outputs())
        total = len(steps)
        config_steps = [i for i, step in enumerate(steps) if step.changes]
        last = config_steps[-1] if config_steps else -1
        try:
            for index, step in enumerate(steps):
                number = index + 1
                self.echo(f"[{number}/{total}] {step.title}")
                marker = None if index == last else self._marker(number, total, step.title)
                self._step(step, marker)
        finally:
            self.recorder.finish()
        self.echo("done")

    def _marker(self, number: int, total: int, title: str) -> dict[str, Any]:
        return {
            "action": self.action,
            "step": number,
            "of": total,
            "title": title[:400],
            "by": self.by or "unknown",
            "options": self.options[:400] or None,
        }

    def _pause(self, seconds: float) -> None:
        """Sleep, and keep the release lock alive across long waits."""
        self.sleep(seconds)
        if self.lock is not None:
            self.lock.renew_if_due()

    def _step(self, step: Step, marker: dict[str, Any] | None) -> None:
        if step.move_traffic_to:
            self._move_traffic(step.move_traffic_to, step.capacity)
        if step.changes:
            self._change({**step.changes, "in_progress": marker}, step.title)
        if step.pin_image_slot:
            self._pin(step.pin_image_slot, marker)
        if step.smoke_test_slot:
            self._smoke_test(step.smoke_test_slot, preflight=step.preflight)
        if step.socket_drain_slot:
            self._wait_for_sockets(step)
        elif step.watch_alarms_slot:
            self._watch_canary(step)
        elif step.wait_seconds:
            wait(
                step.wait_seconds,
                step.waiting_for or step.title,
                echo=self.echo,
                clock=self.clock,
                sleep=self._pause,
            )

    # --- one up -------------------------------------------------------------------------------

    def _check_deployed(self) -> dict[str, Any]:
        """The deployed release section, if it is still what this release expects."""
        assert self.expected is not None
        now = deployed_release(self.driver.outputs())
        changed = release_differences(self.expected, now)
        if changed:
            raise ConcurrentChangeError(
                "the deployed release changed since this release last looked ("
                + "; ".join(changed)
                + "): someone else released in between (`python -m release <stack> status` "
                "says who). Stopped before this step; nothing of it was applied"
            )
        return now

    def _change(self, changes: Mapping[str, Any], title: str) -> None:
        """Apply `changes` to what is deployed with one up, if the stack is still as expected."""
        before = self._check_deployed()
        if self.lock is not None:
            self.lock.renew(up_title=title)  # still ours; and from now on, inside this up
        target = deployed_release({"release_state": apply_changes(before, changes)})
        shown = {k: v for k, v in changes.items() if k != "in_progress"}
        text = self.stack_file.text()
        self.stack_file.write_release(target)
        started = self.clock()
        self.echo(f"      set {describe_changes(shown)}; pulumi up")
        self._outputs = None
        env = {RELEASE_EXPECTED_ENV: json.dumps(before, sort_keys=True)}
        try:
            if self.lock is not None:
                with self.lock.kept_alive():
                    outputs = self.driver.up(f"release {self.action}: {title}", env)
                self.lock.left_up()
            else:
                outputs = self.driver.up(f"release {self.action}: {title}", env)
        except BaseException:
            self.stack_file.write(text)  # what it said before (the deployed section)…
            self.stack_file.write_release(before)  # …and exactly that
            self.echo(
                f"      {self.stack_file.path.name} says what is deployed again: the up did not "
                "complete, so its step did not happen"
            )
            raise
        self._outputs = outputs
        applied = deployed_release(outputs)
        wrong = release_differences(target, applied)
        if wrong:
            self.stack_file.write_release(applied)
            raise ReleaseError(
                "the up finished, but the stack reports another release state than the step "
                f"set ({'; '.join(wrong)}); the stack file now says what the stack reports"
            )
        self.expected = applied
        self.echo(f"      up finished in {self.clock() - started:.0f} s")
        self.recorder.record(title)

    def _pin(self, slot: str, marker: dict[str, Any] | None) -> None:
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
        self._change({**changes, "in_progress": marker}, f"pin slot {slot} to {image}")

    # --- traffic ------------------------------------------------------------------------------

    def _move_traffic(self, slot: str, capacity: int) -> None:
        """Rollback's fast path: the slot gets the capacity first, its drain switch is turned
        off, then the listener's weights move (seconds); the next step's up reconciles."""
        outputs = self.outputs()
        arns = outputs.get("target_group_arns") or {}
        listener = outputs.get("production_listener_arn")
        services = outputs.get("slot_services") or {}
        cluster = outputs.get("cluster_name")
        if not (arns and listener and cluster and slot in services):
            raise ReleaseError(
                "the stack lacks production_listener_arn, target_group_arns, cluster_name or "
                f"slot_services[{slot}]; run `pulumi up` once with this version to publish them"
            )
        # Like an up: only on the state this release planned from, and only while it holds the
        # lock (a release whose lock was broken must not move traffic after the breaker did).
        self._check_deployed()
        if self.lock is not None:
            self.lock.renew()
        started = self.clock()
        try:
            ecs, elbv2 = self.aws("ecs"), self.aws("elbv2")
            capacity = self._capacity_for(elbv2, listener, arns, slot, capacity)
            scaling = (
                self.aws("application-autoscaling") if outputs.get("slot_autoscaling") else None
            )
            self.echo("      " + raise_capacity(
                ecs=ecs, autoscaling=scaling, cluster=cluster, service=services[slot],
                count=capacity,
            ))  # fmt: skip
            parameter = (outputs.get("drain_parameters") or {}).get(slot)
            if parameter and (self.expected or {}).get(slot, {}).get("draining"):
                self.aws("ssm").put_parameter(
                    Name=parameter,
                    Value=drain_parameter_value(False, 0),
                    Type="String",
                    Overwrite=True,
                )
                self.echo(f"      slot {slot}'s drain switch is off: its nodes keep their sockets")
            healthy = wait_for_capacity(
                elbv2=elbv2,
                ecs=ecs,
                target_group_arn=arns[slot],
                cluster=cluster,
                service=services[slot],
                slot=slot,
                required=capacity,
                timeout=float((self.expected or {}).get("capacity_timeout_seconds", 600)),
                sleep=self._pause,
                clock=self.clock,
                echo=lambda line: self.echo(f"      {line}"),
            )
            changed = move_traffic(elbv2, listener, arns, slot)
        except (CapacityError, TrafficError) as exc:
            raise ReleaseError(f"{exc}. Traffic stays where it was") from None
        self.echo(
            f"      traffic moved to slot {slot} ({healthy} healthy, {changed} listener rule(s) "
            f"changed) in {self.clock() - started:.0f} s"
        )

    def _capacity_for(
        self, elbv2: Any, listener: str, arns: Mapping[str, str], slot: str, planned: int
    ) -> int:
        """What `slot` must run to take all the traffic: sized now from the slot that carries
        the most of it (scaled to the whole), at least what was planned."""
        weights = listener_weights(elbv2, listener, arns)
        anchor = max(weights, key=lambda s: weights[s])
        if not weights[anchor]:
            return planned
        healthy = {anchor: healthy_targets(elbv2, arns[anchor])}
        return required_capacity(full_load_tasks(healthy, weights), 100, planned)

    def _watch_canary(self, step: Step) -> None:
        slot = step.watch_alarms_slot
        assert slot is not None
        names = list((self.outputs().get("slot_alarms") or {}).get(slot) or [])
        if not names:
            raise ReleaseError(
                f"the stack exports no alarms of slot {slot} (slot_alarms), so the canary cannot "
                "watch it; turn monitoring on (phoenix-aws:monitoring.enabled), or promote "
                "without --canary. Traffic stays as it is: rollback cancels the canary"
            )
        try:
            watch_alarms(
                self.aws("cloudwatch"),
                names,
                step.wait_seconds,
                step.waiting_for or step.title,
                echo=self.echo,
                clock=self.clock,
                sleep=self._pause,
            )
        except AlarmFired as exc:
            self.echo(f"      {exc}: rolling the canary back")
            self._cancel_promotion(slot)
            raise CanaryRolledBack(
                f"the canary of slot {slot} was rolled back because {exc}. All traffic is on "
                f"slot {(self.expected or {}).get('live')} again; slot {slot} sheds its sockets"
            ) from None

    def _cancel_promotion(self, slot: str) -> None:
        """The canary's traffic back on the listener now, the promotion cancelled, then (an up
        later, once its traffic is gone) the slot sheds its sockets."""
        live = str((self.expected or {}).get("live"))
        self._move_traffic(live, 1)
        self._change(
            {"canary_percent": 0, "promoting": None, "in_progress": None},
            f"cancel the promotion of slot {slot} (an alarm fired)",
        )
        self._change(
            {f"{slot}.draining": True, "in_progress": None},
            f"slot {slot} sheds its WebSockets now (no bake)",
        )

    # --- tests and waits ----------------------------------------------------------------------

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
        expected = (self.outputs().get("slot_versions") or {}).get(slot)
        if expected and answer.version != expected:
            failure = (
                f"slot {slot} answered with version {answer.version or '(none)'}, but the stack "
                f"deployed version {expected} on it: its tasks do not run this release (did ECS "
                "roll the service back?)"
            )
            if preflight:
                raise PlanError(f"{failure}. Nothing was changed")
            raise ReleaseError(f"{failure}. Traffic has not moved to slot {slot}")
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
                sleep=self._pause,
            )
            return
        count = wait_for_sockets(
            cloudwatch=self.aws("cloudwatch"),
            metric=metric,
            slot=slot,
            threshold=step.socket_threshold,
            timeout=step.wait_seconds,
            echo=self.echo,
            clock=self.clock,
            sleep=self._pause,
        )
        if count is not None and count <= step.socket_threshold:
            return
        seen = "no socket count arrived" if count is None else f"{count} WebSockets are still open"
        if self.force:
            self.echo(f"      {seen}: scaling slot {slot} down anyway (--force)")
            return
        raise DrainStopped(
            f"{seen} on slot {slot} after {step.wait_seconds} s, so it was not scaled down. Run "
            "drain again to wait longer, or `drain --force` to scale it down now (those sockets "
            "are cut and their clients reconnect at once)"
        )
