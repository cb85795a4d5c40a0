"""Traffic as the load balancer has it: read the forward weights of the production listener's
rules, and move them directly (rollback), with the weights the program itself would set.

The program's TrafficRouting forwards every rule that serves the app (the live rule at the last
priority and the allow-listed paths) to both slots' target groups with weights
(`phoenix_aws.load_balancer.forward_weights`). A rollback changes exactly those rules with
ModifyRule — a forward action's weights may be changed in place on an existing rule
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html#rule-action-types)
— which takes seconds, where a whole `pulumi up` takes minutes; the `up` that follows then finds
the weights it would set already in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phoenix_aws.load_balancer import forward_weights
from phoenix_aws.traffic_routing import weights_split


class TrafficError(RuntimeError):
    """The listener's rules cannot be read or changed as expected."""


def _rules(elbv2: Any, listener_arn: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        page = elbv2.describe_rules(
            ListenerArn=listener_arn, **({"Marker": marker} if marker else {})
        )
        rules += page.get("Rules", [])
        marker = page.get("NextMarker")
        if not marker:
            return rules


def forward_rules(
    elbv2: Any, listener_arn: str, target_groups: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The listener's rules that forward to the slots' target groups (not the default action,
    not the deny rules of the allow lists, not the slot test routes: those forward to one
    group only)."""
    ours = set(target_groups.values())
    found = []
    for rule in _rules(elbv2, listener_arn):
        if rule.get("IsDefault"):
            continue
        for action in rule.get("Actions", []):
            groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
            if action.get("Type") == "forward" and {g["TargetGroupArn"] for g in groups} == ours:
                found.append(rule)
                break
    return found


def _weights_of(rule: dict[str, Any], target_groups: Mapping[str, str]) -> dict[str, int]:
    slot_of = {arn: slot for slot, arn in target_groups.items()}
    for action in rule["Actions"]:
        if action.get("Type") == "forward":
            return {
                slot_of[g["TargetGroupArn"]]: int(g.get("Weight", 0))
                for g in action["ForwardConfig"]["TargetGroups"]
            }
    return {}


def listener_weights(
    elbv2: Any, listener_arn: str, target_groups: Mapping[str, str]
) -> dict[str, int]:
    """slot → weight, as the listener's forward rules have them now. TrafficError when there is
    no such rule or the rules disagree (a change that stopped half way)."""
    rules = forward_rules(elbv2, listener_arn, target_groups)
    if not rules:
        raise TrafficError(
            f"the production listener {listener_arn} has no rule forwarding to both slots"
        )
    seen = {tuple(sorted(_weights_of(rule, target_groups).items())) for rule in rules}
    if len(seen) != 1:
        shown = "; ".join(", ".join(f"{s} {w}" for s, w in weights) for weights in sorted(seen))
        raise TrafficError(f"the listener's forward rules disagree on the weights ({shown})")
    return dict(seen.pop())


def move_traffic(
    elbv2: Any,
    listener_arn: str,
    target_groups: Mapping[str, str],
    live: str,
    canary_percent: int = 0,
) -> int:
    """Set every forward rule to the weights the program sets for (`live`, `canary_percent`);
    how many rules changed. A rule keeps its stickiness while the weights stay split; with all the
    weight on one slot it is not sticky (as TrafficRouting sets it)."""
    weights = forward_weights(live, canary_percent)
    changed = 0
    for rule in forward_rules(elbv2, listener_arn, target_groups):
        if _weights_of(rule, target_groups) == weights:
            continue
        forward = next(a for a in rule["Actions"] if a.get("Type") == "forward")
        config: dict[str, Any] = {
            "TargetGroups": [
                {"TargetGroupArn": arn, "Weight": weights[slot]}
                for slot, arn in sorted(target_groups.items())
            ]
        }
        sticky = forward["ForwardConfig"].get("TargetGroupStickinessConfig")
        if sticky and not weights_split(weights):
            # All the weight on one slot: not sticky, or a client's cookie would keep it on the
            # slot that lost its weight (group stickiness wins over weights), as the program sets.
            sticky = {"Enabled": False}
        if sticky:
            config["TargetGroupStickinessConfig"] = sticky
        elbv2.modify_rule(
            RuleArn=rule["RuleArn"], Actions=[{"Type": "forward", "ForwardConfig": config}]
        )
        changed += 1
    return changed
