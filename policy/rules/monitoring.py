"""Rules of logs and alarms: retention set, and an alarm topic CloudWatch may publish to."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .model import Context, Enforcement, Finding, Resource, Stack, resource_rule, stack_rule
from .properties import (
    KMS_KEY,
    LOG_GROUP,
    METRIC_ALARM,
    SNS_TOPIC,
    _json,
    _map,
    _name,
    _number,
    _seq,
)


@resource_rule("logs-retention-set", Enforcement.ADVISORY, LOG_GROUP)
def logs_retention_set(r: Resource, ctx: Context) -> Iterator[str]:
    """A CloudWatch log group has a retention period.

    Without `retentionInDays` CloudWatch keeps logs forever (and bills them). CloudWatch.16 asks
    for at least a year; the stack chooses the period, this rule asks that one is chosen.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-16
    """
    days = _number(r.props.get("retentionInDays"), 0) or 0
    if days <= 0:
        yield f"log group {_name(r)!r} keeps its logs forever; set retentionInDays"


@stack_rule("sns-alarm-topic-usable-by-cloudwatch", Enforcement.MANDATORY)
def sns_alarm_topic_usable_by_cloudwatch(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """An alarm's SNS topic is encrypted with a key CloudWatch may use.

    CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key `aws/sns`
    (its policy cannot be changed); the topic needs a customer managed key whose policy lets
    `cloudwatch.amazonaws.com` use kms:Decrypt and kms:GenerateDataKey*.
    AWS docs: https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    """
    topics: dict[str, Resource] = {}
    for alarm in stack.of_type(METRIC_ALARM):
        for topic in stack.dependencies(alarm, SNS_TOPIC):
            topics[topic.urn] = topic
    for topic in topics.values():
        key = topic.props.get("kmsMasterKeyId")
        if key == "alias/aws/sns":
            yield Finding(
                f"alarm topic {topic.name!r} is encrypted with alias/aws/sns, so CloudWatch "
                "alarms cannot publish to it; use a customer managed KMS key",
                topic,
            )
            continue
        for kms_key in stack.dependencies(topic, KMS_KEY):
            if not _allows_cloudwatch(_json(kms_key.props.get("policy"))):
                yield Finding(
                    f"KMS key {kms_key.name!r} of alarm topic {topic.name!r} does not let "
                    "cloudwatch.amazonaws.com use it (kms:Decrypt, kms:GenerateDataKey*)",
                    kms_key,
                )


def _allows_cloudwatch(policy: Any) -> bool:
    needed = {"kms:decrypt", "kms:generatedatakey*"}
    granted: set[str] = set()
    statements = _map(policy).get("Statement")
    for statement in _seq(statements) if not isinstance(statements, Mapping) else [statements]:
        statement = _map(statement)
        principal = _map(statement.get("Principal")).get("Service")
        services = [principal] if isinstance(principal, str) else _seq(principal)
        if statement.get("Effect") != "Allow" or "cloudwatch.amazonaws.com" not in services:
            continue
        actions = statement.get("Action")
        for action in [actions] if isinstance(actions, str) else _seq(actions):
            action = str(action).lower()
            if action in ("kms:*", "*"):
                return True
            granted.add(action)
    return needed <= granted
