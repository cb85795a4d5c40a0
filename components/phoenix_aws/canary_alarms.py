"""The alarms a canary watches: those of one slot alone (Monitoring creates them; the release
command reads their names from the `slot_alarms` output)."""

import operator
from typing import Any

import pulumi

from .monitoring import AlarmSpec, MonitoringArgs
from .slots import SLOTS


def canary_alarms(args: MonitoringArgs, target_groups: pulumi.Output[dict]) -> list[AlarmSpec]:
    """A slot being promoted gets the app's 5xx count and response time of its own target group,
    so its canary is judged on its own traffic (an alarm on the load balancer's totals would hide
    a 10% canary behind the live slot's 90%). ALB publishes both per target group (dimensions
    LoadBalancer and TargetGroup):
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
    They exist only while the slot is promoted, so a stack pays for them only during a release."""
    lb = args["load_balancer_arn_suffix"]
    specs = []
    for slot in sorted(set(args.get("canary_slots") or [])):
        group = {"LoadBalancer": lb, "TargetGroup": target_groups.apply(operator.itemgetter(slot))}
        specs += [
            AlarmSpec(
                f"canary-{slot}-5xx",
                "AWS/ApplicationELB",
                "HTTPCode_Target_5XX_Count",
                group,
                "Sum",
                "GreaterThanThreshold",
                args.get("target_5xx_per_minute", 10),
                f"Slot {slot} (being promoted) answers 5xx",
                periods=2,
            ),
            AlarmSpec(
                f"canary-{slot}-response-time",
                "AWS/ApplicationELB",
                "TargetResponseTime",
                group,
                "Average",
                "GreaterThanThreshold",
                1.0,
                f"Slot {slot} (being promoted): average response time above 1 s",
                periods=3,
            ),
        ]
    return specs


def slot_alarm_names(alarms: dict[str, Any]) -> pulumi.Output[dict[str, list[str]]]:
    """slot → names of the alarms on that slot alone (unhealthy targets; 5xx and response time
    while it is promoted)."""
    mine = {
        slot: [
            alarm.name
            for key, alarm in alarms.items()
            if key == f"unhealthy-{slot}" or key.startswith(f"canary-{slot}-")
        ]
        for slot in SLOTS
    }
    per_slot = {slot: pulumi.Output.all(*names) for slot, names in mine.items()}
    return pulumi.Output.all(**per_slot)
