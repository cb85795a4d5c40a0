"""Monitoring: CloudWatch alarms on what hurts a Phoenix cluster first, to one SNS topic.

Edge error rates by status, unhealthy targets, node CPU/memory, database CPU/storage and, when
PubSub runs through Redis, Redis CPU and memory (all broadcasts pass through it).
"""

import operator
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: a metric, its statistic and the threshold that pages someone."""

    key: str
    namespace: str
    metric: str
    dimensions: dict[str, pulumi.Input[str]]
    statistic: str
    comparison: str
    threshold: float
    description: str
    periods: int = 3
    period_seconds: int = 60


class MonitoringArgs(TypedDict):
    """Inputs of Monitoring."""

    load_balancer_arn_suffix: pulumi.Input[str]
    target_group_arn_suffixes: pulumi.Input[dict[str, str]]
    """slot → target group ARN suffix."""
    cluster_name: pulumi.Input[str]
    service_names: dict[str, pulumi.Input[str]]
    """slot → ECS service name (slots that exist)."""
    database_identifier: pulumi.Input[str]
    database_storage_gb: int
    redis_replication_group_id: NotRequired[pulumi.Input[str] | None]
    """Alarm on Redis too. Default: no Redis alarms."""
    alarm_emails: NotRequired[list[str]]
    """E-mail subscriptions to the alarm topic (each must be confirmed). Default: none."""
    target_5xx_per_minute: NotRequired[int]
    """App 5xx responses per minute that count as an incident. Default: 10."""
    tags: NotRequired[dict[str, str]]


class Monitoring(pulumi.ComponentResource):
    """Alarms + the SNS topic they notify."""

    topic_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("phoenix-aws:components:Monitoring", name, None, opts)
        tags = dict(args.get("tags") or {})
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            f"{name}-alarms", kms_master_key_id="alias/aws/sns", tags=tags, opts=child
        )
        for i, email in enumerate(args.get("alarm_emails") or []):
            aws.sns.TopicSubscription(
                f"{name}-email-{i}",
                topic=self.topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )

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
        for slot in ("blue", "green"):
            specs.append(
                AlarmSpec(
                    f"unhealthy-{slot}",
                    "AWS/ApplicationELB",
                    "UnHealthyHostCount",
                    {
                        "LoadBalancer": lb,
                        "TargetGroup": pulumi.Output.from_input(
                            args["target_group_arn_suffixes"]
                        ).apply(operator.itemgetter(slot)),
                    },
                    "Maximum",
                    "GreaterThanThreshold",
                    0,
                    f"Slot {slot} has unhealthy nodes",
                )
            )
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
        db = args["database_identifier"]
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
                args["database_storage_gb"] * 0.1 * 1024**3,
                "PostgreSQL free storage below 10% of the allocation",
            ),
        ]
        redis = args.get("redis_replication_group_id")
        if redis is not None:
            specs += [
                AlarmSpec(
                    "redis-cpu",
                    "AWS/ElastiCache",
                    "EngineCPUUtilization",
                    {"ReplicationGroupId": redis},
                    "Average",
                    "GreaterThanThreshold",
                    75,
                    "Redis engine CPU above 75%: every PubSub broadcast passes through it",
                    periods=5,
                ),
                AlarmSpec(
                    "redis-memory",
                    "AWS/ElastiCache",
                    "DatabaseMemoryUsagePercentage",
                    {"ReplicationGroupId": redis},
                    "Maximum",
                    "GreaterThanThreshold",
                    80,
                    "Redis memory above 80%",
                ),
            ]

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
                opts=child,
            )
        self.topic_arn = self.topic.arn
        self.register_outputs({"topic_arn": self.topic_arn})
