"""The drain's wait for a slot's WebSockets: CloudWatch GetMetricData through botocore's Stubber.

The Stubber checks every request against the CloudWatch API model and the exact parameters below
(AWS docs: CloudWatch API Reference, GetMetricData; MetricDataQuery; MetricStat), and every
response against the model's output shape.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from release_support import START, FakeClock, StubbedAws

from release.waits import (
    SOCKET_LOOKBACK_SECONDS,
    SocketMetric,
    open_sockets,
    wait,
    wait_for_sockets,
)

METRIC = SocketMetric(
    namespace="PhoenixAws", metric_name="WebSockets", dimensions={"Stack": "phoenix-aws-prod"}
)


def at(seconds_after_start: float) -> datetime:
    return datetime.fromtimestamp(START + seconds_after_start, UTC)


def expect_read(aws: StubbedAws, now: float, points: list[tuple[float, float]]) -> None:
    """One GetMetricData call made at `now` (seconds after START), answering `points`
    (seconds after START, value), newest first as ScanBy=TimestampDescending returns them."""
    aws.stub("cloudwatch").add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {
                    "Id": "sockets",
                    "Label": "WebSockets",
                    "Timestamps": [at(t) for t, _ in points],
                    "Values": [v for _, v in points],
                    "StatusCode": "Complete",
                }
            ]
        },
        {
            "MetricDataQueries": [
                {
                    "Id": "sockets",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "PhoenixAws",
                            "MetricName": "WebSockets",
                            "Dimensions": [
                                {"Name": "Stack", "Value": "phoenix-aws-prod"},
                                {"Name": "Slot", "Value": "blue"},
                            ],
                        },
                        "Period": 60,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
            ],
            "StartTime": at(now - SOCKET_LOOKBACK_SECONDS),
            "EndTime": at(now),
            "ScanBy": "TimestampDescending",
        },
    )


def run_wait(aws, clock, lines, timeout=430, threshold=0):
    return wait_for_sockets(
        cloudwatch=aws("cloudwatch"),
        metric=METRIC,
        slot="blue",
        threshold=threshold,
        timeout=timeout,
        echo=lines.append,
        clock=clock,
        sleep=clock.sleep,
    )


def test_the_metric_comes_from_the_socket_metric_output_plus_the_slot():
    metric = SocketMetric.from_output(
        {"namespace": "PhoenixAws", "metric_name": "WebSockets", "dimensions": {"Stack": "x-y"}}
    )
    assert metric is not None
    assert metric.query("green")["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "Stack", "Value": "x-y"},
        {"Name": "Slot", "Value": "green"},
    ]
    assert SocketMetric.from_output(None) is None
    assert SocketMetric.from_output({"namespace": "PhoenixAws"}) is None


def test_the_latest_datapoint_written_after_the_drain_began_counts():
    aws = StubbedAws()
    expect_read(aws, 120, [(60, 12.0), (0, 40.0), (-60, 900.0)])
    assert open_sockets(aws("cloudwatch"), METRIC, "blue", since=START, now=START + 120) == 12
    aws.assert_no_pending_responses()


def test_datapoints_from_before_the_drain_are_ignored():
    aws = StubbedAws()
    expect_read(aws, 30, [(-60, 0.0)])  # an old zero must not end the wait
    assert open_sockets(aws("cloudwatch"), METRIC, "blue", since=START, now=START + 30) is None


def test_the_wait_ends_when_the_slot_is_down_to_the_threshold():
    aws, clock, lines = StubbedAws(), FakeClock(), []
    expect_read(aws, 0, [])
    expect_read(aws, 30, [(0, 800.0)])
    expect_read(aws, 60, [(60, 350.0), (0, 800.0)])
    expect_read(aws, 90, [(60, 350.0)])
    expect_read(aws, 120, [(120, 3.0), (60, 350.0)])
    assert run_wait(aws, clock, lines, threshold=5) == 3
    assert clock.slept == [30, 30, 30, 30]
    aws.assert_no_pending_responses()
    assert lines == [
        "      waiting up to 430 s (until 10:07:10 UTC) for slot blue's open WebSockets to fall "
        "to 5 or fewer (CloudWatch PhoenixAws/WebSockets, read every 30 s)",
        "      10:00:00 UTC: no datapoint since the drain began yet on slot blue (430 s left)",
        "      10:00:30 UTC: 800 open on slot blue (400 s left)",
        "      10:01:00 UTC: 350 open on slot blue (370 s left)",
        "      10:01:30 UTC: 350 open on slot blue (340 s left)",
        "      10:02:00 UTC: 3 open on slot blue: drained",
    ]


def test_the_wait_gives_up_at_its_limit_and_says_how_many_remain():
    aws, clock, lines = StubbedAws(), FakeClock(), []
    for now in range(0, 91, 30):
        expect_read(aws, now, [(0, 50.0)] if now >= 30 else [])
    assert run_wait(aws, clock, lines, timeout=90) == 50
    assert sum(clock.slept) == 90
    assert lines[-1] == "      waited 90 s and 50 are still open on slot blue"


def test_a_slot_that_never_reports_is_waited_for_until_the_limit():
    aws, clock, lines = StubbedAws(), FakeClock(), []
    for now in (0, 30, 60):
        expect_read(aws, now, [])
    assert run_wait(aws, clock, lines, timeout=60) is None
    assert lines[-1].startswith("      waited 60 s and no datapoint arrived on slot blue")


def test_the_last_sleep_stops_at_the_limit():
    aws, clock, lines = StubbedAws(), FakeClock(), []
    for now in (0, 30, 45):
        expect_read(aws, now, [])
    run_wait(aws, clock, lines, timeout=45)
    assert clock.slept == [30, 15]


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (45, ["      waiting 45 s for the bake (until 10:00:45 UTC)"]),
        (
            130,
            [
                "      waiting 130 s for the bake (until 10:02:10 UTC)",
                "      … 70 s left",
                "      … 10 s left",
            ],
        ),
    ],
)
def test_a_plain_wait_prints_its_end_and_what_is_left_each_minute(seconds, expected):
    clock, lines = FakeClock(), []
    wait(seconds, "the bake", echo=lines.append, clock=clock, sleep=clock.sleep)
    assert lines == expected
    assert sum(clock.slept) == seconds
