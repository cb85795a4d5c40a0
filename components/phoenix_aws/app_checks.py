"""The checks `PhoenixApp` runs before it creates anything: every part's args, built with
placeholders where a part is wired to another's outputs (which every check skips), and the
create-or-bring-your-own switches that exclude each other. A mistake in any section is reported
against its key before the first resource is registered.
"""

from typing import Any

import pulumi

from . import app_parts as parts
from .app_args import AppOptions, PhoenixAppArgs
from .app_parts import AppPlan, pending
from .cluster import check_cluster_args
from .container import check_app_name
from .database import check_database_args
from .image import check_app_image_args
from .listener_attachment import check_listener_attachment_args
from .load_balancer import check_load_balancer_args
from .monitoring import check_monitoring_args
from .network import check_network_args
from .node_security import check_node_security_group_args
from .pubsub import check_redis_pubsub_args
from .release_slot import check_release_slot_args
from .slots import BUILD
from .traffic_routing import check_traffic_routing_args
from .validation import arg_error, check_arg, check_args
from .waf import check_web_firewall_args


def check_phoenix_app_args(name: str, args: PhoenixAppArgs) -> AppPlan:
    """Check every part's args before any resource exists (parts wired to outputs that only the
    deployment knows get placeholders, which every check skips); the app's plan."""
    check_args("PhoenixApp", name, args, PhoenixAppArgs)
    check_args("PhoenixApp", name, args["app"], AppOptions)
    check_arg("PhoenixApp", name, "app.name", args["app"]["name"], check_app_name)
    project, stack = pulumi.get_project(), pulumi.get_stack()
    parts_ = list(args.get("name_parts") or [project, stack, name])
    plan = AppPlan(name, args, parts_, dict(args.get("tags") or {}))
    _check_choices(name, plan)
    p = pending
    if "existing_network" not in args:
        check_network_args(plan.child("network"), parts.network_args(plan))
    check_node_security_group_args(
        plan.child("nodes"), parts.node_security_args(plan, vpc_id=p(), vpc_cidr_block=p())
    )
    if "existing_database" not in args:
        check_database_args(
            plan.child("database"),
            parts.database_args(plan, vpc_id=p(), subnet_ids=p(), client_sg=p()),
        )
    if plan.redis_enabled:
        check_redis_pubsub_args(
            plan.child("pubsub"), parts.redis_args(plan, vpc_id=p(), subnet_ids=p(), client_sg=p())
        )
    _check_edge(plan)
    check_app_image_args(plan.child("image"), parts.image_args(plan))
    check_cluster_args(plan.child("cluster"), parts.cluster_args(plan, vpc_id=p(), wiring={}))
    for slot in plan.slots:
        check_release_slot_args(
            plan.child(f"slot-{slot}"),
            parts.slot_args(plan, slot, image=_known_image(plan, slot), wiring=_PENDING_WIRING()),
        )
    check_traffic_routing_args(
        plan.child("traffic"),
        parts.routing_args(plan, listener_arn=p(), target_group_arns=p(), ready=p()),
    )
    if plan.monitoring_enabled:
        check_monitoring_args(
            plan.child("monitoring"), parts.monitoring_args(plan, wiring=_MONITORED())
        )
    return plan


def _check_edge(plan: AppPlan) -> None:
    p = pending
    if "existing_load_balancer" in plan.args:
        check_listener_attachment_args(
            plan.child("edge"), parts.attachment_args(plan, vpc_id=p(), target_sg=p())
        )
        return
    check_load_balancer_args(
        plan.child("edge"),
        parts.load_balancer_args(plan, vpc_id=p(), subnet_ids=p(), target_sg=p()),
    )
    if plan.firewall_enabled:
        check_web_firewall_args(
            plan.child("edge-waf"), parts.firewall_args(plan, load_balancer_arn=p())
        )


def _check_choices(name: str, plan: AppPlan) -> None:
    """Create-or-bring-your-own switches that exclude each other."""
    args = plan.args
    for own, existing in (("network", "existing_network"), ("database", "existing_database")):
        if own in args and existing in args:
            raise arg_error("PhoenixApp", name, own, f"give either {own} or {existing}, not both")
    if "existing_load_balancer" in args:
        owned = sorted(set(plan.edge) & set(parts.LOAD_BALANCER_OWNER_KEYS))
        if owned:
            raise arg_error(
                "PhoenixApp",
                name,
                f"edge.{owned[0]}",
                "belongs to the load balancer's owner; an app on an existing load balancer "
                "sets only its target groups, test routes and allow lists",
            )
        if (args.get("firewall") or {}).get("enabled"):
            raise arg_error(
                "PhoenixApp",
                name,
                "firewall.enabled",
                "a load balancer has one web ACL: its owner's covers the apps that share it",
            )
    if not plan.slots:
        raise arg_error(
            "PhoenixApp", name, "release", "no slot has an image: give the live slot one"
        )


def _known_image(plan: AppPlan, slot: str) -> Any:
    image = plan.slot(slot)["image"]
    return pending() if image == BUILD else image


def _PENDING_WIRING() -> dict[str, Any]:  # noqa: N802 - a factory of placeholders
    keys = [
        "cluster_arn",
        "cluster_name",
        "subnet_ids",
        "security_group_ids",
        "target_group_arn",
        "discovery_service_arn",
        "dns_cluster_query",
        "drain_parameter_name",
        "execution_role_arn",
        "admin_execution_role_arn",
        "task_role_arn",
        "log_group_name",
        "phx_host",
        "phx_scheme",
        "environment",
        "secrets",
        "admin_environment",
        "admin_secrets",
    ]
    return {key: pending() for key in keys}


def _MONITORED() -> dict[str, Any]:  # noqa: N802 - a factory of placeholders
    return {
        "load_balancer_arn_suffix": pending(),
        "target_group_arn_suffixes": pending(),
        "cluster_name": pending(),
        "service_names": {},
    }
