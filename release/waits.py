"""The release command's waits: each says what it waits for and for how long, and shows progress.

Two kinds: a plain wait (a bake, a pause between drain waves) and the wait for a draining slot's
open WebSockets to fall, read from the `WebSockets` metric the nodes publish (CloudWatch
GetMetricData), and the canary's wait, which reads the canary slot's CloudWatch alarms
(DescribeAlarms) instead of sleeping. Clock and sleep are injected so tests run them in no time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from release.plan import SOCKET_METRIC_PERIOD_SECONDS

PROGRESS_SECONDS = 60
"""A plain wait prints how long is left at most this often."""
SOCKET_POLL_SECONDS = 30
"""How often the socket wait reads the metric (twice per metric period)."""
SOCKET_LOOKBACK_SECONDS = 600
"""How far back each metric read looks for the latest datapoint."""

Echo = Callable[[str], None]
Clock = Callable[[], float]
Sleep = Callable[[float], None]


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def clock_time(epoch: float) -> str:
    return utc(epoch).strftime("%H:%M:%S UTC")


def wait(seconds: float, what: str, *, echo: Echo, clock: Clock, sleep: Sleep) -> None:
    """Wait `seconds` for `what`, printing the end time first and how long is left each minute."""
    start = clock()
    deadline = start + seconds
    echo(f"      waiting {seconds:.0f} s for {what} (until {clock_time(deadline)})")
    while (left := deadline - clock()) > 0:
        sleep(min(PROGRESS_SECONDS, left))
        left = deadline - clock()
        if left > 0:
            echo(f"      … {left:.0f} s left")


@dataclass(frozen=True)
class SocketMetric:
    """Where the nodes' open-WebSocket count lives (the `socket_metric` stack output)."""

    namespace: str
    metric_name: str
    dimensions: Mapping[str, str]

    @classmethod
    def from_output(cls, value: Any) -> SocketMetric | None:
        if not isinstance(value, Mapping):
            return None
        try:
            return cls(
                namespace=str(value["namespace"]),
                metric_name=str(value["metric_name"]),
                dimensions={str(k): str(v) for k, v in dict(value["dimensions"]).items()},
            )
        except (KeyError, TypeError, ValueError):
            return None

    def query(self, slot: str) -> dict[str, Any]:
        """One GetMetricData query: the slot's total open sockets per minute (Sum over nodes)."""
        dimensions = [{"Name": k, "Value": v} for k, v in self.dimensions.items()]
        dimensions.append({"Name": "Slot", "Value": slot})
        return {
            "Id": "sockets",
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.metric_name,
                    "Dimensions": dimensions,
                },
                "Period": SOCKET_METRIC_PERIOD_SECONDS,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }


def open_sockets(
    cloudwatch: Any, metric: SocketMetric, slot: str, *, since: float, now: float
) -> int | None:
    """The slot's open WebSockets in the latest 1-minute datapoint that starts at or after `since`
    (so it was written after the slot was told to drain); None when there is none yet."""
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[metric.query(slot)],
        StartTime=utc(now - SOCKET_LOOKBACK_SECONDS),
        EndTime=utc(now),
        ScanBy="TimestampDescending",
    )
    since_time = utc(since)
    for result in response.get("MetricDataResults", []):
        points = sorted(
            zip(result.get("Timestamps", []), result.get("Values", []), strict=False),
            reverse=True,
        )
        for timestamp, value in points:
            if timestamp >= since_time:
                return round(value)
    return None


def wait_for_sockets(
    *,
    cloudwatch: Any,
    metric: SocketMetric,
    slot: str,
    threshold: int,
    timeout: float,
    echo: Echo,
    clock: Clock,
    sleep: Sleep,
    poll: float = SOCKET_POLL_SECONDS,
) -> int | None:
    """Wait until the slot has at most `threshold` open WebSockets, or `timeout` seconds have
    passed since the wait began; the count it ended with (None: never saw a datapoint)."""
    start = clock()
    deadline = start + timeout
    echo(
        f"      waiting up to {timeout:.0f} s (until {clock_time(deadline)}) for slot {slot}'s "
        f"open WebSockets to fall to {threshold} or fewer "
        f"(CloudWatch {metric.namespace}/{metric.metric_name}, read every {poll:.0f} s)"
    )
    while True:
        now = clock()
        count = open_sockets(cloudwatch, metric, slot, since=start, now=now)
        left = deadline - now
        if count is not None and count <= threshold:
            echo(f"      {clock_time(now)}: {count} open on slot {slot}: drained")
            return count
        if left <= 0:
            seen = "no datapoint arrived" if count is None else f"{count} are still open"
            echo(f"      waited {timeout:.0f} s and {seen} on slot {slot}")
            return count
        shown = "no datapoint since the drain began yet" if count is None else f"{count} open"
        echo(f"      {clock_time(now)}: {shown} on slot {slot} ({left:.0f} s left)")
        sleep(min(poll, left))


ALARM_POLL_SECONDS = 30
"""How often a canary's wait reads its alarms (half a CloudWatch metric period)."""


class AlarmFired(RuntimeError):  # noqa: N818 - an event the canary acts on
    """An alarm of the watched slot is in ALARM; the message names it and says why."""


def alarm_states(cloudwatch: Any, names: list[str]) -> dict[str, tuple[str, str]]:
    """alarm name → (state, reason) for the named alarms (DescribeAlarms, 100 names a call)."""
    states: dict[str, tuple[str, str]] = {}
    for start in range(0, len(names), 100):
        token: str | None = None
        while True:
            page = cloudwatch.describe_alarms(
                AlarmNames=names[start : start + 100],
                AlarmTypes=["MetricAlarm", "CompositeAlarm"],
                **({"NextToken": token} if token else {}),
            )
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                states[alarm["AlarmName"]] = (alarm["StateValue"], alarm.get("StateReason", ""))
            token = page.get("NextToken")
            if not token:
                break
    return states


def watch_alarms(
    cloudwatch: Any,
    names: list[str],
    seconds: float,
    what: str,
    *,
    echo: Echo,
    clock: Clock,
    sleep: Sleep,
    poll: float = ALARM_POLL_SECONDS,
) -> None:
    """Wait `seconds` for `what` while reading the alarms every `poll` seconds; AlarmFired as
    soon as one is in ALARM. An alarm that does not exist is reported once (it cannot fire)."""
    start = clock()
    deadline = start + seconds
    echo(
        f"      waiting {seconds:.0f} s for {what} (until {clock_time(deadline)}), reading "
        f"{len(names)} alarm(s) every {poll:.0f} s: {', '.join(names)}"
    )
    reported_missing = False
    while True:
        states = alarm_states(cloudwatch, names)
        firing = [(name, reason) for name, (state, reason) in states.items() if state == "ALARM"]
        if firing:
            name, reason = firing[0]
            raise AlarmFired(f"alarm {name} is in ALARM: {reason or 'no reason given'}")
        missing = [name for name in names if name not in states]
        if missing and not reported_missing:
            echo(f"      note: no such alarm: {', '.join(missing)} (it cannot fire)")
            reported_missing = True
        left = deadline - clock()
        if left <= 0:
            echo(f"      {clock_time(clock())}: no alarm fired in {seconds:.0f} s")
            return
        shown = ", ".join(f"{n} {s}" for n, (s, _) in sorted(states.items()))
        echo(f"      {clock_time(clock())}: {shown or 'no alarm state'} ({left:.0f} s left)")
        sleep(min(poll, left))
