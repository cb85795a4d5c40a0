"""Monitoring: alarms on edge errors, node health and resources, database and Redis."""

from __future__ import annotations

import harness
import pytest
from phoenix_aws.load_balancer import target_group_name
from tests_support import load_settings_with_edge

from stacks.settings import ConfigError


def alarms(run):
    return {
        r.name.removeprefix("monitoring-"): r
        for r in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }


def test_edge_error_rates_and_unhealthy_targets_page_the_topic(run_stack):
    found = alarms(run_stack("prod"))
    target = found["target-5xx"]
    assert (target["namespace"], target["metricName"], target["threshold"]) == (
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        5,
    )
    assert target["alarmActions"] == [harness.mock_arn("aws:sns/topic:Topic", "monitoring-alarms")]
    assert (
        found["unhealthy-green"]["dimensions"]["TargetGroup"]
        == f"targetgroup/{target_group_name(['phoenix-aws', 'prod'], 'green')}/abc"
    )
    assert "elb-5xx" in found and "response-time" in found


def test_every_running_slot_has_cpu_and_memory_alarms(run_stack):
    found = alarms(run_stack("prod", release={"green": {"desired_count": 2}}))
    for slot in ("blue", "green"):
        assert found[f"{slot}-cpu"]["dimensions"] == {
            "ClusterName": "phoenix-aws-prod",
            "ServiceName": f"phoenix-aws-prod-{slot}",
        }
        assert found[f"{slot}-mem"]["metricName"] == "MemoryUtilization"


def test_database_storage_alarm_is_ten_percent_of_the_allocation(run_stack):
    storage = alarms(run_stack("prod"))["db-storage"]
    assert storage["threshold"] == pytest.approx(100 * 0.1 * 1024**3)
    assert storage["comparisonOperator"] == "LessThanThreshold"


def test_redis_is_watched_only_when_it_exists(run_stack):
    assert "redis-cpu" not in alarms(run_stack("prod"))
    found = alarms(run_stack("prod", pubsub={"adapter": "redis"}))
    assert found["redis-cpu"]["dimensions"] == {"ReplicationGroupId": "phoenix-aws-prod-pubsub"}
    assert found["redis-memory"]["metricName"] == "DatabaseMemoryUsagePercentage"


def test_alarm_emails_subscribe_to_an_encrypted_topic(run_stack):
    run = run_stack("prod")
    (subscription,) = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "oncall@example.com")
    assert run.named("monitoring-alarms")["kmsMasterKeyId"] == "alias/aws/sns"


def test_monitoring_can_be_switched_off(run_stack):
    assert (
        run_stack("prod", monitoring={"enabled": False}).of_type(
            "aws:cloudwatch/metricAlarm:MetricAlarm"
        )
        == []
    )


def test_bad_alarm_email_is_rejected():
    with pytest.raises(ConfigError) as info:
        load_settings_with_edge({"monitoring": {"alarm_emails": ["oncall"]}})
    assert info.value.problems == [
        "phoenix-aws:monitoring.alarm_emails: 'oncall' is not an e-mail address (got [\"oncall\"])"
    ]
