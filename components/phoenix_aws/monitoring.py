"""Monitoring: CloudWatch alarms on what hurts a Phoenix cluster first, an SNS topic they can
really publish to, and one dashboard per stack.

Alarms: edge error rates by status, unhealthy targets, node CPU/memory, database CPU/storage and,
when PubSub runs through Redis, Redis CPU and memory per cache node (all broadcasts pass
through it). The dashboard adds traffic, latency, the WebSocket count per slot (the app's own
metric) and healthy targets per slot.
"""

import functools
import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .naming import DASHBOARD_NAME
from .policies import arn, key_policy
from .slots import SLOTS
from .validation import (
    check_arg,
    check_args,
    check_distinct,
    check_tags,
    component_type,
    short,
    with_legacy_alias,
)

SOCKET_METRIC_NAMESPACE = "PhoenixAws"
SOCKET_METRIC_NAME = "WebSockets"
AWS_MANAGED_SNS_KEY = "alias/aws/sns"


def check_alarm_topic_key(key_id: str) -> str:
    """A topic that CloudWatch alarms publish to must be encrypted with a customer-managed key
    whose policy lets CloudWatch use it: the AWS-managed `alias/aws/sns` key's policy cannot be
    changed, so alarm actions on such a topic fail.
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services"""
    if key_id.strip().lower() in (AWS_MANAGED_SNS_KEY, "alias/aws/sns/"):
        raise ValueError(
            "CloudWatch alarms cannot publish to a topic under the AWS-managed key alias/aws/sns; "
            "use a customer-managed key whose policy allows cloudwatch.amazonaws.com"
        )
    return key_id


def check_alarm_emails(addresses: list[str]) -> list[str]:
    """E-mail addresses for the alarm topic, each once: a repeated address would be a second
    subscription resource for the one subscription SNS keeps (deleting either ends both).
    https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html"""
    for value in addresses:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(value)):
            raise ValueError(f"{short(value)} is not an e-mail address")
    check_distinct(addresses, key=lambda address: str(address).lower())
    return addresses


def alarm_key_policy(account_id: str, *, partition: str) -> dict:
    """The alarm topic's key: the account administers it; CloudWatch (alarms) may use it to
    publish encrypted messages."""
    return key_policy(
        account_id,
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
        partition=partition,
    )


def alarm_topic_policy(topic_arn: str, region: str, account_id: str, *, partition: str) -> dict:
    """Only CloudWatch alarms of this account (and region) may publish to the topic."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CloudWatchAlarmsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "ArnLike": {
                        "aws:SourceArn": arn(partition, "cloudwatch", region, account_id, "alarm:*")
                    },
                    "StringEquals": {"aws:SourceAccount": account_id},
                },
            }
        ],
    }


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: a metric, its statistic and the threshold that pages someone."""

    key: str
    namespace: str
    metric: str
    dimensions: dict[str, Any]
    statistic: str
    comparison: str
    threshold: float
    description: str
    periods: int = 3
    period_seconds: int = 60


def redis_node_dimensions(member_cluster_id: str) -> dict[str, str]:
    """ElastiCache publishes Redis host and engine metrics per cache node: dimensions
    `CacheClusterId` (a member cluster of the replication group) and `CacheNodeId` (`0001`, the
    one node of a cluster-mode-disabled member). An alarm on `ReplicationGroupId` gets no data.
    https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.WhichShouldIMonitor.html"""
    return {"CacheClusterId": member_cluster_id, "CacheNodeId": "0001"}


def dashboard_body(
    *,
    region: str,
    load_balancer: str,
    target_groups: dict[str, str],
    cluster: str,
    services: dict[str, str],
    database: str,
    redis_clusters: list[str],
    stack_id: str,
) -> dict[str, Any]:
    """The stack's dashboard: edge, slots (WebSockets, healthy targets, CPU, memory), data."""
    widget = functools.partial(_widget, region)
    widgets = [
        *_edge_widgets(widget, load_balancer, target_groups, stack_id),
        widget(
            "Slots: CPU and memory",
            [
                ["AWS/ECS", metric, "ClusterName", cluster, "ServiceName", service]
                for service in services.values()
                for metric in ("CPUUtilization", "MemoryUtilization")
            ]
            or [["AWS/ECS", "CPUUtilization", "ClusterName", cluster]],
            stat="Average",
        ),
        *[
            widget(
                "PostgreSQL",
                [
                    ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", database],
                    ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", database],
                    [
                        "AWS/RDS",
                        "FreeStorageSpace",
                        "DBInstanceIdentifier",
                        database,
                        {"yAxis": "right"},
                    ],
                ],
                stat="Average",
            )
            for _ in ([database] if database else [])
        ],
    ]
    if redis_clusters:
        widgets.append(
            widget(
                "Redis (PubSub)",
                [
                    ["AWS/ElastiCache", metric, *sum(redis_node_dimensions(c).items(), ())]
                    for c in redis_clusters
                    for metric in ("EngineCPUUtilization", "DatabaseMemoryUsagePercentage")
                ],
                stat="Average",
            )
        )
    for i, w in enumerate(widgets):
        w["x"], w["y"] = (i % 2) * 12, (i // 2) * 6
    return {"widgets": widgets}


def _widget(
    region: str, title: str, metrics: list[list[Any]], stat: str = "Sum", **extra: Any
) -> dict:
    """One time-series widget of the dashboard's 2-column grid."""
    return {
        "type": "metric",
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "stat": stat,
            "period": 60,
            "view": "timeSeries",
            "metrics": metrics,
            **extra,
        },
    }


def _edge_widgets(
    widget: Callable[..., dict],
    load_balancer: str,
    target_groups: dict[str, str],
    stack_id: str,
) -> list[dict]:
    """Requests and 5xx, response time, connections and WebSockets, healthy targets."""
    elb = "AWS/ApplicationELB"
    return [
        widget(
            "Edge: requests and 5xx",
            [
                [elb, "RequestCount", "LoadBalancer", load_balancer],
                [elb, "HTTPCode_Target_5XX_Count", "LoadBalancer", load_balancer],
                [elb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", load_balancer],
            ],
        ),
        widget(
            "Edge: response time",
            [
                [elb, "TargetResponseTime", "LoadBalancer", load_balancer, {"stat": "p50"}],
                [elb, "TargetResponseTime", "LoadBalancer", load_balancer, {"stat": "p99"}],
            ],
            stat="Average",
        ),
        widget(
            "Active connections (all clients) and WebSockets per slot",
            [[elb, "ActiveConnectionCount", "LoadBalancer", load_balancer]]
            + [
                [SOCKET_METRIC_NAMESPACE, SOCKET_METRIC_NAME, "Stack", stack_id, "Slot", slot]
                for slot in SLOTS
            ],
        ),
        widget(
            "Healthy targets per slot",
            [
                [elb, "HealthyHostCount", "TargetGroup", tg, "LoadBalancer", load_balancer]
                for tg in target_groups.values()
            ],
            stat="Minimum",
        ),
    ]


def edge_alarms(args: "MonitoringArgs", target_groups: pulumi.Output[dict]) -> list[AlarmSpec]:
    """Edge error rates by status, response time, and unhealthy targets per slot."""
    lb = args["load_balancer_arn_suffix"]
    specs = [
        AlarmSpec(
            "target-5xx",
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            {"LoadBalancer": lb},
            "Sum",
            "GreaterThanThreshold",
            args.get("target_5xx_per_minute", 10),
            "The app answers 5xx (errors by status: see the ALB access logs)",
        ),
        AlarmSpec(
            "elb-5xx",
            "AWS/ApplicationELB",
            "HTTPCode_ELB_5XX_Count",
            {"LoadBalancer": lb},
            "Sum",
            "GreaterThanThreshold",
            10,
            "The load balancer answers 5xx itself (no healthy target, timeouts)",
        ),
        AlarmSpec(
            "response-time",
            "AWS/ApplicationELB",
            "TargetResponseTime",
            {"LoadBalancer": lb},
            "Average",
            "GreaterThanThreshold",
            1.0,
            "Average response time above 1 s",
            periods=5,
        ),
    ]
    for slot in SLOTS:
        specs.append(
            AlarmSpec(
                f"unhealthy-{slot}",
                "AWS/ApplicationELB",
                "UnHealthyHostCount",
                {"LoadBalancer": lb, "TargetGroup": target_groups.apply(operator.itemgetter(slot))},
                "Maximum",
                "GreaterThanThreshold",
                0,
                f"Slot {slot} has unhealthy nodes",
            )
        )
    return specs


def node_and_database_alarms(args: "MonitoringArgs") -> list[AlarmSpec]:
    """Node CPU and memory per slot, database CPU and free storage."""
    specs: list[AlarmSpec] = []
    for slot, service in args["service_names"].items():
        for metric, limit in (("CPUUtilization", 85), ("MemoryUtilization", 85)):
            specs.append(
                AlarmSpec(
                    f"{slot}-{metric[:3].lower()}",
                    "AWS/ECS",
                    metric,
                    {"ClusterName": args["cluster_name"], "ServiceName": service},
                    "Average",
                    "GreaterThanThreshold",
                    limit,
                    f"Slot {slot} nodes above {limit}% {metric[:-11].lower()}",
                    periods=5,
                )
            )
    db = args.get("database_identifier")
    if db is None:
        return specs
    specs += [
        AlarmSpec(
            "db-cpu",
            "AWS/RDS",
            "CPUUtilization",
            {"DBInstanceIdentifier": db},
            "Average",
            "GreaterThanThreshold",
            80,
            "PostgreSQL CPU above 80%",
            periods=5,
        ),
        AlarmSpec(
            "db-storage",
            "AWS/RDS",
            "FreeStorageSpace",
            {"DBInstanceIdentifier": db},
            "Minimum",
            "LessThanThreshold",
            args.get("database_storage_gb", 20) * 0.1 * 1024**3,
            "PostgreSQL free storage below 10% of the allocation",
        ),
    ]
    return specs


def redis_alarms(args: "MonitoringArgs", members: pulumi.Output[list[str]]) -> list[AlarmSpec]:
    """Engine CPU and memory per Redis node (every PubSub broadcast passes through Redis)."""
    specs: list[AlarmSpec] = []
    count = args.get("redis_node_count", 0) if args.get("redis_member_cluster_ids") else 0
    for i in range(count):
        node = members.apply(operator.itemgetter(i)).apply(redis_node_dimensions)
        dimensions = {
            "CacheClusterId": node.apply(operator.itemgetter("CacheClusterId")),
            "CacheNodeId": node.apply(operator.itemgetter("CacheNodeId")),
        }
        specs += [
            AlarmSpec(
                f"redis-{i + 1}-cpu",
                "AWS/ElastiCache",
                "EngineCPUUtilization",
                dimensions,
                "Average",
                "GreaterThanThreshold",
                75,
                f"Redis node {i + 1}: engine CPU above 75% (every PubSub broadcast passes "
                "through Redis)",
                periods=5,
            ),
            AlarmSpec(
                f"redis-{i + 1}-memory",
                "AWS/ElastiCache",
                "DatabaseMemoryUsagePercentage",
                dimensions,
                "Maximum",
                "GreaterThanThreshold",
                80,
                f"Redis node {i + 1}: memory above 80%",
            ),
        ]
    return specs


class MonitoringArgs(TypedDict):
    """Inputs of Monitoring."""

    load_balancer_arn_suffix: pulumi.Input[str]
    """The ALB's ARN suffix (LoadBalancer.load_balancer_arn_suffix), its metrics' dimension."""
    target_group_arn_suffixes: pulumi.Input[dict[str, str]]
    """slot → target group ARN suffix."""
    cluster_name: pulumi.Input[str]
    """The ECS cluster of the slots."""
    service_names: dict[str, pulumi.Input[str]]
    """slot → ECS service name (slots that exist)."""
    database_identifier: NotRequired[pulumi.Input[str]]
    """The RDS instance identifier. Default: no database alarms (e.g. an app on a database
    another app watches)."""
    database_storage_gb: NotRequired[int]
    """Its allocated storage: the free-storage alarm fires below 10% of it. Default: 20."""
    stack_id: NotRequired[str]
    """The `Stack` dimension of the app's WebSocket metric. Default: none (not shown)."""
    redis_member_cluster_ids: NotRequired[pulumi.Input[list[str]]]
    """The Redis replication group's member clusters (one per node). Default: no Redis alarms."""
    redis_node_count: NotRequired[int]
    """How many member clusters (primary + replicas). Default: 0."""
    alarm_emails: NotRequired[list[str]]
    """E-mail subscriptions to the alarm topic (each must be confirmed). Default: none."""
    target_5xx_per_minute: NotRequired[int]
    """App 5xx responses per minute that count as an incident. Default: 10."""
    canary_slots: NotRequired[list[str]]
    """Slots being promoted: each gets 5xx and response-time alarms of its own target group
    while it is (the release command's canary watches them). Default: none."""
    dashboard_name: NotRequired[str]
    """Letters, digits, `_` and `-`, at most 255. Default: the component's name."""
    tags: NotRequired[dict[str, str]]
    """Default: none."""


class Monitoring(pulumi.ComponentResource):
    """Alarms, the SNS topic they notify (customer-managed key), and the stack's dashboard."""

    topic_arn: pulumi.Output[str]
    dashboard_name: pulumi.Output[str]
    slot_alarm_names: pulumi.Output[dict[str, list[str]]]
    """slot → the names of its own alarms (unhealthy targets; 5xx and response time while it is
    promoted): what a canary watches."""

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("Monitoring"), name, None, with_legacy_alias("Monitoring", opts)
        )
        check_monitoring_args(name, args)
        tags = dict(args.get("tags") or {})
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        target_groups = pulumi.Output.from_input(args["target_group_arn_suffixes"])
        members = pulumi.Output.from_input(args.get("redis_member_cluster_ids") or [])

        topic_policy = self._create_alarm_topic(name, args, account_id, region, tags)
        from .canary_alarms import canary_alarms, slot_alarm_names

        specs = [
            *edge_alarms(args, target_groups),
            *canary_alarms(args, target_groups),
            *node_and_database_alarms(args),
            *redis_alarms(args, members),
        ]
        self._create_alarms(name, specs, topic_policy, tags)
        self._create_dashboard(name, args, region, target_groups, members)
        self.topic_arn = self.topic.arn
        self.dashboard_name = self.dashboard.dashboard_name
        self.slot_alarm_names = slot_alarm_names(self.alarms)
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "dashboard_name": self.dashboard_name,
                "slot_alarm_names": self.slot_alarm_names,
            }
        )

    def _create_alarm_topic(
        self,
        name: str,
        args: MonitoringArgs,
        account_id: pulumi.Output[str],
        region: pulumi.Output[str],
        tags: dict[str, str],
    ) -> aws.sns.TopicPolicy:
        """The SNS topic under a customer-managed key that CloudWatch may use, its policy (only
        this account's alarms publish), and the e-mail subscriptions."""
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        self.key = aws.kms.Key(
            f"{name}-alarms-key",
            description=f"Alarm notifications of {name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(account_id, partition).apply(
                lambda a: json.dumps(alarm_key_policy(a[0], partition=a[1]))
            ),
            tags=tags,
            opts=child,
        )
        self.topic = aws.sns.Topic(
            f"{name}-alarms",
            kms_master_key_id=self.key.arn.apply(check_alarm_topic_key),
            tags=tags,
            opts=child,
        )
        topic_policy = aws.sns.TopicPolicy(
            f"{name}-alarms-policy",
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, region, account_id, partition).apply(
                lambda a: json.dumps(alarm_topic_policy(a[0], a[1], a[2], partition=a[3]))
            ),
            opts=child,
        )
        for i, email in enumerate(args.get("alarm_emails") or []):
            aws.sns.TopicSubscription(
                f"{name}-email-{i}",
                topic=self.topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        return topic_policy

    def _create_alarms(
        self,
        name: str,
        specs: list[AlarmSpec],
        topic_policy: aws.sns.TopicPolicy,
        tags: dict[str, str],
    ) -> None:
        """One metric alarm per spec, notifying the topic on alarm and on recovery."""
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        for spec in specs:
            self.alarms[spec.key] = aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.key}",
                namespace=spec.namespace,
                metric_name=spec.metric,
                dimensions=spec.dimensions,
                statistic=spec.statistic,
                comparison_operator=spec.comparison,
                threshold=spec.threshold,
                period=spec.period_seconds,
                evaluation_periods=spec.periods,
                datapoints_to_alarm=spec.periods,
                treat_missing_data="notBreaching",
                alarm_description=spec.description,
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
                tags=tags,
                # Alarms notify only once the topic accepts CloudWatch's messages.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[topic_policy]),
            )

    def _create_dashboard(
        self,
        name: str,
        args: MonitoringArgs,
        region: pulumi.Output[str],
        target_groups: pulumi.Output[dict],
        members: pulumi.Output[list[str]],
    ) -> None:
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.get("dashboard_name", name),
            dashboard_body=pulumi.Output.all(
                region,
                args["load_balancer_arn_suffix"],
                target_groups,
                args["cluster_name"],
                pulumi.Output.all(**args["service_names"]) if args["service_names"] else {},
                args.get("database_identifier", ""),
                members,
            ).apply(
                lambda a: json.dumps(
                    dashboard_body(
                        region=a[0],
                        load_balancer=a[1],
                        target_groups=a[2],
                        cluster=a[3],
                        services=a[4] or {},
                        database=a[5],
                        redis_clusters=list(a[6] or []),
                        stack_id=args.get("stack_id", ""),
                    )
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def check_monitoring_args(name: str, args: MonitoringArgs) -> None:
    check_args("Monitoring", name, args, MonitoringArgs)
    for key, rule in (
        ("tags", check_tags),
        ("alarm_emails", check_alarm_emails),
        ("dashboard_name", DASHBOARD_NAME.check),
    ):
        check_arg("Monitoring", name, key, args.get(key), rule)
