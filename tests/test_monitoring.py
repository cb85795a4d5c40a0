"""Monitoring: alarms on edge errors, node health and resources, database and Redis."""

from __future__ import annotations

import json

import harness
import pytest
from phoenix_aws.load_balancer import target_group_name
from phoenix_aws.monitoring import check_alarm_topic_key
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


def test_redis_is_watched_per_cache_node_only_when_it_exists(run_stack):
    """ElastiCache publishes Redis engine and host metrics per cache node (`CacheClusterId` of a
    member cluster, `CacheNodeId`); an alarm on `ReplicationGroupId` never receives data
    (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.WhichShouldIMonitor.html).
    The member clusters are those the replication group reports, one alarm pair per node."""
    assert not any(key.startswith("redis") for key in alarms(run_stack("prod")))
    run = run_stack("prod", pubsub={"adapter": "redis", "redis": {"replicas": 2}})
    found = alarms(run)
    members = run.named("pubsub-redis")
    assert members["numCacheClusters"] == 3
    for node in (1, 2, 3):
        dims = found[f"redis-{node}-cpu"]["dimensions"]
        assert dims == {
            "CacheClusterId": f"phoenix-aws-prod-pubsub-{node:03d}",
            "CacheNodeId": "0001",
        }
        assert found[f"redis-{node}-memory"]["metricName"] == "DatabaseMemoryUsagePercentage"
        assert "ReplicationGroupId" not in dims
    assert "redis-4-cpu" not in found


def test_alarm_emails_subscribe_to_the_alarm_topic(run_stack):
    run = run_stack("prod")
    (subscription,) = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "oncall@example.com")


def test_alarms_can_publish_to_their_encrypted_topic(run_stack):
    """With the AWS-managed `alias/aws/sns` key, alarm actions fail: CloudWatch must be allowed
    to use the topic's key, and only a customer-managed key's policy can say so
    (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
    The topic's policy lets only this account's alarms publish."""
    run = run_stack("prod")
    topic = run.named("monitoring-alarms")
    key = run.named("monitoring-alarms-key")
    assert topic["kmsMasterKeyId"] == harness.mock_arn("aws:kms/key:Key", "monitoring-alarms-key")
    statements = json.loads(key["policy"])["Statement"]
    cloudwatch = [
        s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"])
    assert key["enableKeyRotation"] is True
    (statement,) = json.loads(run.named("monitoring-alarms-policy")["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": harness.ACCOUNT_ID}
    for alarm in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert "monitoring-alarms-policy" in run.dependencies_of(alarm)


@pytest.mark.parametrize("key", ["alias/aws/sns", "ALIAS/AWS/SNS"])
def test_the_aws_managed_sns_key_is_refused_as_an_alarm_topic_key(key):
    with pytest.raises(ValueError, match="cannot publish"):
        check_alarm_topic_key(key)
    assert check_alarm_topic_key("alias/shop-alarms") == "alias/shop-alarms"


def test_one_dashboard_shows_edge_slots_and_data(run_stack):
    run = run_stack("prod", pubsub={"adapter": "redis"}, release={"green": {"desired_count": 2}})
    dashboard = run.named("monitoring-dashboard")
    assert dashboard["dashboardName"] == "phoenix-aws-prod"
    body = json.loads(dashboard["dashboardBody"])
    metrics = [m for w in body["widgets"] for m in w["properties"]["metrics"]]
    names = {(m[0], m[1]) for m in metrics}
    for expected in [
        ("AWS/ApplicationELB", "RequestCount"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("AWS/ApplicationELB", "ActiveConnectionCount"),
        ("AWS/ApplicationELB", "HealthyHostCount"),
        ("PhoenixAws", "WebSockets"),
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/ECS", "MemoryUtilization"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/ElastiCache", "EngineCPUUtilization"),
    ]:
        assert expected in names
    sockets = [m for m in metrics if m[1] == "WebSockets"]
    assert {tuple(m[2:]) for m in sockets} == {
        ("Stack", "phoenix-aws-prod", "Slot", slot) for slot in ("blue", "green")
    }
    healthy = [m for m in metrics if m[1] == "HealthyHostCount"]
    assert len(healthy) == 2  # one per slot


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
        "phoenix-aws:monitoring.alarm_emails: 'oncall' is not an e-mail address"
    ]
