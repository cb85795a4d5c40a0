"""TrafficRouting: what moves traffic. The live rule and the per-path allow lists, forwarding to
both target groups with the blue/green weights. It is created after the slots and their
migrations and waits for them (`ready`), so traffic never moves before they are done.

With a capacity gate, no weight changes before every slot that gains traffic runs as many healthy
targets as its new share of today's traffic needs (`phoenix_aws.helpers.capacity`, run through
pulumi-command on the machine that runs `pulumi up`): an `up` from CI or by hand cannot skip it.
"""

import functools
import json
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_command as command

from .helpers import helper_command
from .listener_rules import (
    FORBIDDEN,
    MAX_RULES_PER_LOAD_BALANCER,
    PathAllowList,
    PlannedRule,
    RouteScope,
    assign_rule_bands,
    check_listener_rules,
    check_route_scope,
    forward_weights,
    live_rule_conditions,
    plan_allow_list_rules,
    rule_conditions,
)
from .load_balancer_checks import check_path_pattern
from .slots import SLOTS
from .validation import (
    arg_error,
    check_arg,
    check_args,
    check_cidr_list,
    component_type,
    with_legacy_alias,
)

__all__ = ["CapacityGate", "PathAllowList", "TrafficRouting", "TrafficRoutingArgs"]


class CapacityGate(TypedDict):
    """Capacity before traffic: what the gate needs to size and wait for the slots."""

    cluster_name: pulumi.Input[str]
    """The ECS cluster of the slots."""
    service_names: pulumi.Input[dict[str, str]]
    """slot → its ECS service (slots that exist)."""
    floors: dict[str, int]
    """slot → its configured task count (the least it runs with any share of the traffic)."""
    previous_live: NotRequired[str]
    """The live slot of the last deployment (read back from the stack). Default: none (the first
    deployment: no slot carries traffic yet)."""
    previous_canary_percent: NotRequired[int]
    """The canary share of the last deployment. Default: 0."""
    timeout_seconds: NotRequired[int]
    """How long the gate waits for the capacity before the `up` fails and traffic stays.
    Default: 600."""
    autoscaling: NotRequired[bool]
    """The slots' counts move through Application Auto Scaling targets (the gate raises a
    target's minimum, not the service's count). Default: true."""


class TrafficRoutingArgs(TypedDict):
    """Inputs of a TrafficRouting."""

    listener_arn: pulumi.Input[str]
    """The production listener (LoadBalancer.production_listener_arn)."""
    target_group_arns: pulumi.Input[dict[str, str]]
    """slot → target group ARN (LoadBalancer.target_group_arns)."""
    live: NotRequired[str]
    """Slot that takes production traffic: `blue` or `green`. Default: `blue`."""
    canary_percent: NotRequired[int]
    """Share of production traffic sent to the idle slot, 0-100. Default: 0."""
    ready: NotRequired[pulumi.Input[str]]
    """The rules wait for this value and the resources behind it (e.g. the migrations and the
    slots' steady services), so traffic never moves before they are done. Default: no wait."""
    path_allow_lists: NotRequired[list[PathAllowList]]
    """Per-path source-IP allow lists (the webhook pattern). Default: none."""
    previous_rule_bands: NotRequired[pulumi.Input[dict[str, int]]]
    """`rule_bands` of the last deployment (read back from the stack's outputs): deployed paths
    keep their priorities. Default: none (a first deployment)."""
    other_rule_count: NotRequired[int]
    """Listener rules that exist besides these (LoadBalancer.test_route_count), for the rule
    quota. Default: 2."""
    enable_stickiness: NotRequired[bool]
    """Keep a client on the slot it first reached while weights are split (a canary). With all
    the weight on one slot the forward is not sticky, so no cookie sends a client to a slot
    without weight (a draining slot): the load balancer lets stickiness win over weights.
    Default: false."""
    stickiness_seconds: NotRequired[int]
    """Default: 3600."""
    hosts: NotRequired[list[str]]
    """Host names the app owns on a listener it shares with other apps: every rule matches only
    requests for them (e.g. `shop.example.com`). Default: every host."""
    paths: NotRequired[list[str]]
    """Path patterns the app owns on a shared listener (e.g. `/shop/*`); the live rule matches
    them instead of `/*`. Default: every path."""
    priority_block: NotRequired[int]
    """The block of listener rule priorities the app's rules take on a shared listener (block k:
    k*1000+1 to k*1000+999); give each app on a listener its own. Default: 0, the load
    balancer's owner, whose live rule takes the last priority (50000)."""
    capacity_gate: NotRequired[CapacityGate]
    """Before any weight changes, wait until each slot that gains traffic runs the healthy
    targets its new share needs, sized from what serves the traffic now (raising its count if it
    must); fail the `up` after the timeout. Default: none (traffic waits for `ready` only)."""
    tags: NotRequired[dict[str, str]]
    """Default: none."""


class TrafficRouting(pulumi.ComponentResource):
    """The weighted forward rules: the live rule (`/*`, last) and the per-path allow lists."""

    rule_bands: pulumi.Output[dict[str, int]]
    """Allow-list path group → priority band. Export it and pass it back as
    `previous_rule_bands` so deployed rules keep their priorities."""
    weights: pulumi.Output[dict[str, int]]
    """slot → forward weight."""

    def __init__(
        self, name: str, args: TrafficRoutingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("TrafficRouting"), name, None, with_legacy_alias("TrafficRouting", opts)
        )
        weights, allow_lists, scope = check_traffic_routing_args(name, args)
        planned = plan_allow_list_rules(allow_lists, scope)
        groups = list(dict.fromkeys(rule.group for rule in planned))
        bands = pulumi.Output.from_input(args.get("previous_rule_bands")).apply(
            lambda previous: assign_rule_bands(groups, previous, scope.band_limit)
        )
        ready = pulumi.Output.from_input(args.get("ready", "ready"))
        if args.get("capacity_gate"):
            ready = self._create_capacity_gate(name, args, weights, ready)
        forward = _forward_action(args, weights, ready)
        self._create_rules(name, args, scope, planned, bands, ready, forward)
        self.rule_bands = bands
        self.weights = pulumi.Output.from_input(weights)
        self.register_outputs({"rule_bands": self.rule_bands, "weights": self.weights})

    def _create_capacity_gate(
        self,
        name: str,
        args: TrafficRoutingArgs,
        weights: dict[str, int],
        ready: pulumi.Output[str],
    ) -> pulumi.Output[str]:
        """The capacity gate: a one-off check that runs whenever the weights (or what they are
        sized from) change, after `ready`; the rules wait for its summary line."""
        spec = args["capacity_gate"]
        previous = spec.get("previous_live")
        old = (
            forward_weights(previous, spec.get("previous_canary_percent", 0))
            if previous
            else dict.fromkeys(SLOTS, 0)
        )
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        slots = pulumi.Output.all(
            pulumi.Output.from_input(args["target_group_arns"]),
            pulumi.Output.from_input(spec["service_names"]),
        ).apply(
            lambda a: json.dumps(
                gate_slots(a[0], a[1], spec["floors"], old, weights), sort_keys=True
            )
        )
        self.capacity_gate = command.local.Command(
            f"{name}-capacity",
            create=helper_command("capacity"),
            environment={
                "CAPACITY_CLUSTER": spec["cluster_name"],
                "CAPACITY_SLOTS": slots,
                "CAPACITY_TIMEOUT": str(spec.get("timeout_seconds", 600)),
                "CAPACITY_AUTOSCALING": "true" if spec.get("autoscaling", True) else "false",
                "CAPACITY_READY": ready,  # after the slots are steady and migrated
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        return pulumi.Output.all(ready, self.capacity_gate.stdout).apply(lambda a: str(a[1]))

    def _create_rules(
        self,
        name: str,
        args: TrafficRoutingArgs,
        scope: RouteScope,
        planned: list[PlannedRule],
        bands: pulumi.Output[dict[str, int]],
        ready: pulumi.Output[str],
        forward: pulumi.Output[dict[str, Any]],
    ) -> None:
        """The allow-list rules in their bands, then the live rule (the app's paths or `/*`, the
        last priority of its block)."""
        tags = dict(args.get("tags") or {})
        child = pulumi.ResourceOptions(parent=self)
        for rule in planned:
            aws.lb.ListenerRule(
                f"{name}-{rule.key}",
                listener_arn=args["listener_arn"],
                priority=pulumi.Output.all(bands, ready).apply(
                    functools.partial(_priority_of, rule)
                ),
                conditions=rule_conditions(rule),
                actions=[FORBIDDEN if rule.action == "deny" else forward],
                tags=tags,
                opts=child,
            )
        aws.lb.ListenerRule(
            f"{name}-live",
            listener_arn=args["listener_arn"],
            priority=scope.live_priority,
            conditions=live_rule_conditions(scope),
            actions=[forward],
            tags=tags,
            opts=child,
        )


def _forward_action(
    args: TrafficRoutingArgs, weights: dict[str, int], ready: pulumi.Output[str]
) -> pulumi.Output[dict[str, Any]]:
    """Forward to both target groups with the slots' weights, once `ready` resolves; sticky
    only while the weights are split."""
    sticky = args.get("enable_stickiness", False) and weights_split(weights)
    sticky_seconds = args.get("stickiness_seconds", 3600)
    arns = pulumi.Output.from_input(args["target_group_arns"])
    return pulumi.Output.all(ready, arns).apply(
        lambda a: {
            "type": "forward",
            "forward": {
                "target_groups": [{"arn": a[1][slot], "weight": weights[slot]} for slot in SLOTS],
                "stickiness": {"enabled": sticky, "duration": sticky_seconds},
            },
        }
    )


def gate_slots(
    target_groups: dict[str, str],
    services: dict[str, str],
    floors: dict[str, int],
    old: dict[str, int],
    new: dict[str, int],
) -> dict[str, dict[str, Any]]:
    """What the gate is told: each slot that serves traffic now or gains some in this `up`, with
    its target group and service, its floor, and its weight before and after. Slots without
    traffic before or after are left out, so a change to an idle slot never re-runs the gate."""
    return {
        slot: {
            "target_group_arn": target_groups[slot],
            "service": services[slot],
            "floor": int(floors.get(slot, 0)),
            "old_weight": int(old.get(slot, 0)),
            "new_weight": int(new.get(slot, 0)),
        }
        for slot in SLOTS
        if slot in services and (old.get(slot, 0) > 0 or new.get(slot, 0) > old.get(slot, 0))
    }


def weights_split(weights: dict[str, int]) -> bool:
    """Both slots take a share of the traffic (a canary)."""
    return all(weight > 0 for weight in weights.values())


def _priority_of(rule: PlannedRule, resolved: list[Any]) -> int:
    bands = resolved[0]
    return rule.scope.priority(bands[rule.group], rule.offset)


def route_scope(args: TrafficRoutingArgs) -> RouteScope:
    """The hosts, paths and priority block the args give the app."""
    return RouteScope(
        hosts=tuple(args.get("hosts") or ()),
        paths=tuple(args.get("paths") or ()),
        block=args.get("priority_block", 0),
    )


def check_traffic_routing_args(
    name: str, args: TrafficRoutingArgs
) -> tuple[dict[str, int], list[PathAllowList], RouteScope]:
    """Check the args against ALB's rules; the forward weights, the allow lists, the scope."""
    check_args("TrafficRouting", name, args, TrafficRoutingArgs)
    allow_lists = list(args.get("path_allow_lists") or [])
    scope = route_scope(args)
    check_arg("TrafficRouting", name, "hosts/paths/priority_block", scope, check_route_scope)
    for entry in allow_lists:
        check_arg("TrafficRouting", name, "path_allow_lists", entry["path"], check_path_pattern)
        check_arg("TrafficRouting", name, "path_allow_lists", entry["cidrs"], check_cidr_list)
    check_arg(
        "TrafficRouting",
        name,
        "path_allow_lists",
        allow_lists,
        lambda lists: check_listener_rules([], lists, scope),
    )
    total = len(plan_allow_list_rules(allow_lists, scope)) + 1 + args.get("other_rule_count", 2)
    if total > MAX_RULES_PER_LOAD_BALANCER:
        raise arg_error(
            "TrafficRouting",
            name,
            "path_allow_lists",
            f"{total} listener rules in all; an Application Load Balancer allows "
            f"{MAX_RULES_PER_LOAD_BALANCER}",
        )
    try:
        weights = forward_weights(args.get("live", "blue"), args.get("canary_percent", 0))
    except ValueError as exc:
        raise arg_error("TrafficRouting", name, "live/canary_percent", str(exc)) from None
    return weights, allow_lists, scope
