"""How `PhoenixApp` turns its sections into each part's args: pure functions of the app's plan and
the outputs of the parts a part is wired to. The app calls each builder twice: first with
placeholders for the wiring, to check every part's args before any resource exists, then with
the real outputs to create the part.
"""

from dataclasses import dataclass
from typing import Any, cast

import pulumi

from .app_args import EdgeOptions, PhoenixAppArgs, ReleaseOptions, SlotOptions, slots_in_use
from .cluster import ClusterArgs
from .container import app_database_role, default_migration_command
from .database import DatabaseArgs
from .fargate import FARGATE_MAX_STOP_TIMEOUT
from .image import AppImageArgs
from .listener_attachment import ListenerAttachmentArgs
from .listener_rules import RouteScope, plan_test_routes
from .load_balancer import LoadBalancerArgs
from .monitoring import MonitoringArgs
from .naming import DASHBOARD_NAME, DNS_LABEL, physical_name
from .network import NetworkArgs
from .node_security import NodeSecurityGroupArgs
from .pubsub import RedisPubSubArgs
from .release_slot import ReleaseSlotArgs
from .slots import BUILD, SLOTS, TEST_HEADER, Slot
from .traffic_routing import CapacityGate, TrafficRoutingArgs
from .waf import PathRateLimit, WebFirewallArgs

# Edge settings that belong to the load balancer itself: an app on another app's load balancer
# cannot set them (its owner does).
LOAD_BALANCER_OWNER_KEYS = (
    "certificate_arn",
    "domain_name",
    "hosted_zone_id",
    "plain_http_only",
    "ingress_cidrs",
    "ssl_policy",
    "idle_timeout_seconds",
    "enable_deletion_protection",
    "desync_mitigation_mode",
    "enable_access_logs",
    "access_logs_retention_days",
)
TARGET_GROUP_KEYS = (
    "load_balancing_algorithm",
    "deregistration_delay_seconds",
    "slow_start_seconds",
    "health_check",
    "enable_stickiness",
    "test_header",
    "operator_cidrs",
)


def pending() -> pulumi.Output[Any]:
    """A value only the deployment will know: every check skips it."""
    return pulumi.Output.from_input(None)


@dataclass(frozen=True)
class AppPlan:
    """What every part of one app derives from its args: names, tags and the release."""

    name: str
    args: PhoenixAppArgs
    parts: list[str]
    tags: dict[str, str]

    @property
    def stack_id(self) -> str:
        return "-".join(self.parts)

    @property
    def adopt(self) -> bool:
        return bool(self.args.get("adopt_stack_resources"))

    def child(self, part: str) -> str:
        """A part's logical name: its 0.2 name when adopting a stack's parts, else prefixed."""
        return part if self.adopt else f"{self.name}-{part}"

    @property
    def app_name(self) -> str:
        return self.args["app"]["name"]

    @property
    def database_role(self) -> str:
        return app_database_role(self.app_name)

    @property
    def port(self) -> int:
        return self.args["app"].get("port", 4000)

    @property
    def release(self) -> ReleaseOptions:
        return self.args["release"]

    def slot(self, name: str) -> SlotOptions:
        return self.release.get(name) or {}  # type: ignore[return-value]

    @property
    def slots(self) -> list[str]:
        return slots_in_use(self.release)

    @property
    def edge(self) -> EdgeOptions:
        return self.args.get("edge") or {}

    @property
    def redis_enabled(self) -> bool:
        return bool((self.args.get("redis") or {}).get("enabled"))

    @property
    def firewall_enabled(self) -> bool:
        if "existing_load_balancer" in self.args:
            return False
        return (self.args.get("firewall") or {}).get("enabled", True)

    @property
    def monitoring_enabled(self) -> bool:
        return (self.args.get("monitoring") or {}).get("enabled", True)

    @property
    def scope(self) -> RouteScope:
        """The hosts, paths and priority block the app's listener rules carry."""
        existing = self.args.get("existing_load_balancer")
        hosts = self.edge.get("hosts") or ([existing["host"]] if existing else [])
        return RouteScope(
            hosts=tuple(hosts),
            paths=tuple(self.edge.get("paths") or ()),
            block=existing["priority_block"] if existing else 0,
        )

    @property
    def scheme(self) -> str:
        """What browsers use to reach the app: `http` or `https`."""
        existing = self.args.get("existing_load_balancer")
        if existing:
            return existing.get("scheme", "https")
        return "http" if self.edge.get("plain_http_only") else "https"

    @property
    def idle_timeout_seconds(self) -> int:
        """The load balancer's idle timeout: the app's own, or the shared one's."""
        existing = self.args.get("existing_load_balancer")
        if existing:
            return existing.get("idle_timeout_seconds", 120)
        return self.edge.get("idle_timeout_seconds", 120)

    @property
    def deployed(self) -> dict[str, Any]:
        return dict(self.args.get("deployed") or {})


def network_args(plan: AppPlan) -> NetworkArgs:
    args: dict[str, Any] = {"tags": plan.tags, **(plan.args.get("network") or {})}
    previous = plan.deployed.get("availability_zones")
    if previous and not args.get("availability_zones"):
        args.setdefault("previous_availability_zones", previous)
    return cast(NetworkArgs, args)


def node_security_args(plan: AppPlan, *, vpc_id: Any, vpc_cidr_block: Any) -> NodeSecurityGroupArgs:
    cluster = plan.args.get("cluster") or {}
    args: dict[str, Any] = {"vpc_id": vpc_id, "vpc_cidr_block": vpc_cidr_block, "tags": plan.tags}
    for key in ("distribution_port_min", "distribution_port_max"):
        if key in cluster:
            args[key] = cluster[key]  # type: ignore[literal-required]
    return cast(NodeSecurityGroupArgs, args)


def database_args(plan: AppPlan, *, vpc_id: Any, subnet_ids: Any, client_sg: Any) -> DatabaseArgs:
    options = dict(plan.args.get("database") or {})
    args: dict[str, Any] = {
        "vpc_id": vpc_id,
        "subnet_ids": subnet_ids,
        "client_security_group_id": client_sg,
        "identifier": options.pop("identifier", f"{plan.stack_id}-db"),
        "app_username": plan.database_role,
        "tags": plan.tags,
        **options,
    }
    if plan.deployed.get("database_identity"):
        args["previous_identity"] = plan.deployed["database_identity"]
    return cast(DatabaseArgs, args)


def redis_args(plan: AppPlan, *, vpc_id: Any, subnet_ids: Any, client_sg: Any) -> RedisPubSubArgs:
    options: dict[str, Any] = dict(plan.args.get("redis") or {})
    options.pop("enabled", None)
    return cast(
        RedisPubSubArgs,
        {
            "vpc_id": vpc_id,
            "subnet_ids": subnet_ids,
            "client_security_group_id": client_sg,
            "identifier": f"{plan.stack_id}-pubsub",
            "tags": plan.tags,
            **options,
        },
    )


def load_balancer_args(
    plan: AppPlan, *, vpc_id: Any, subnet_ids: Any, target_sg: Any
) -> LoadBalancerArgs:
    options: dict[str, Any] = {k: v for k, v in plan.edge.items() if k != "path_allow_lists"}
    return cast(
        LoadBalancerArgs,
        {
            "name_parts": plan.parts,
            "vpc_id": vpc_id,
            "subnet_ids": subnet_ids,
            "target_security_group_id": target_sg,
            "app_port": plan.port,
            "tags": plan.tags,
            **options,
        },
    )


def attachment_args(plan: AppPlan, *, vpc_id: Any, target_sg: Any) -> ListenerAttachmentArgs:
    existing = plan.args["existing_load_balancer"]
    args: dict[str, Any] = {
        "name_parts": plan.parts,
        "vpc_id": vpc_id,
        "listener_arn": existing["listener_arn"],
        "load_balancer_security_group_id": existing["security_group_id"],
        "target_security_group_id": target_sg,
        "host": existing["host"],
        "priority_block": existing["priority_block"],
        "hosts": list(plan.scope.hosts),
        "app_port": plan.port,
        "tags": plan.tags,
    }
    if plan.scope.paths:
        args["paths"] = list(plan.scope.paths)
    if "scheme" in existing:
        args["scheme"] = existing["scheme"]
    if "arn_suffix" in existing:
        args["load_balancer_arn_suffix"] = existing["arn_suffix"]
    for key in (*TARGET_GROUP_KEYS, "stickiness_seconds"):
        if key in plan.edge:
            args[key] = plan.edge[key]  # type: ignore[literal-required]
    return cast(ListenerAttachmentArgs, args)


def firewall_args(plan: AppPlan, *, load_balancer_arn: Any) -> WebFirewallArgs:
    options: dict[str, Any] = dict(plan.args.get("firewall") or {})
    options.pop("enabled", None)
    listed = {entry["path"] for entry in options.get("path_rate_limits") or []}
    # A webhook path the load balancer already allow-lists must not be rate limited by
    # mistake: its senders (Telegram, Stripe) burst from a few addresses.
    exempt: list[PathRateLimit] = [
        {"path": e["path"]}
        for e in plan.edge.get("path_allow_lists") or []
        if e["path"] not in listed
    ]
    options["path_rate_limits"] = [*(options.get("path_rate_limits") or []), *exempt]
    return cast(
        WebFirewallArgs,
        {
            "name_parts": plan.parts,
            "load_balancer_arn": load_balancer_arn,
            "tags": plan.tags,
            **options,
        },
    )


def image_args(plan: AppPlan) -> AppImageArgs:
    options: dict[str, Any] = dict(plan.args.get("image") or {})
    args: dict[str, Any] = {
        "name_parts": plan.parts,
        "pinned_images": {
            name: image for name in plan.slots if (image := plan.slot(name)["image"]) != BUILD
        },
        "tags": plan.tags,
        **options,
    }
    if options.get("build"):
        architecture = plan.args["app"].get("cpu_architecture", "ARM64")
        args["build"] = {"cpu_architecture": str(architecture), **options["build"]}
    return cast(AppImageArgs, args)


def cluster_args(plan: AppPlan, *, vpc_id: Any, wiring: dict[str, Any]) -> ClusterArgs:
    """`wiring`: readable/admin secret ARNs, database connect and repository ARNs."""
    app = plan.args["app"]
    release = plan.release
    args: dict[str, Any] = {
        "name_parts": plan.parts,
        "vpc_id": vpc_id,
        "task_role_policy_arns": list(app.get("task_role_policy_arns") or []),
        "secret_kms_key_arns": list(app.get("secret_kms_key_arns") or []),
        "draining_slots": [s.value for s in Slot if plan.slot(s.value).get("draining")],
        "drain_window_seconds": release.get("drain_window_seconds", 300),
        "tags": plan.tags,
        **wiring,
    }
    for key, value in (plan.args.get("cluster") or {}).items():
        if key not in ("distribution_port_min", "distribution_port_max"):
            args[key] = value
    existing = plan.args.get("existing_cluster")
    if existing:
        args["existing_cluster"] = existing
        if existing.get("namespace_id"):
            # The namespace is shared: the app's nodes register under a name of their own.
            args.setdefault(
                "discovery_service_name", physical_name(plan.app_name, "nodes", rule=DNS_LABEL)
            )
    return cast(ClusterArgs, args)


def slot_args(plan: AppPlan, name: str, *, image: Any, wiring: dict[str, Any]) -> ReleaseSlotArgs:
    """A slot's args: its own options, the app's, the cluster's, and `wiring` (the outputs of the
    parts it runs with)."""
    app, slot = plan.args["app"], plan.slot(name)
    cluster = plan.args.get("cluster") or {}
    desired = slot.get("desired_count", 0)
    args: dict[str, Any] = {
        **wiring,
        "name_parts": plan.parts,
        "stack_id": plan.stack_id,
        "slot": name,
        "app_name": plan.app_name,
        "image": image,
        "release_version": slot.get("version")
        or pulumi.Output.from_input(image).apply(lambda ref: (ref or "").rsplit("@", 1)[-1][:19]),
        "app_port": plan.port,
        "spot": slot.get("spot", False),
        "desired_count": desired,
        "max_count": slot.get("max_count") or desired,
        "distribution_port_min": cluster.get("distribution_port_min", 9100),
        "distribution_port_max": cluster.get("distribution_port_max", 9109),
        # The drain's timing reads the load balancer's: deregistration delay and idle timeout.
        "deregistration_delay_seconds": plan.edge.get("deregistration_delay_seconds", 60),
        "load_balancer_idle_timeout_seconds": plan.idle_timeout_seconds,
        "tags": plan.tags,
    }
    for key, arg in (
        ("migration_timeout_seconds", "migration_timeout_seconds"),
        ("cpu", "cpu"),
        ("memory", "memory"),
        ("cpu_architecture", "cpu_architecture"),
        ("enable_autoscaling", "enable_autoscaling"),
        ("cpu_target_percent", "cpu_target_percent"),
        ("memory_target_percent", "memory_target_percent"),
        ("stop_timeout_seconds", "stop_timeout_seconds"),
        ("health_check_grace_period_seconds", "health_check_grace_period_seconds"),
        ("run_as_user", "run_as_user"),
        ("wait_for_steady_state", "wait_for_steady_state"),
    ):
        if key in app:
            args[arg] = app[key]  # type: ignore[literal-required]
    args.setdefault("stop_timeout_seconds", FARGATE_MAX_STOP_TIMEOUT)
    if app.get("enable_migrations", True) and slot.get("run_migrations", True):
        args["migration_command"] = app.get("migration_command") or default_migration_command(
            plan.app_name
        )
    return cast(ReleaseSlotArgs, args)


def routing_args(
    plan: AppPlan,
    *,
    listener_arn: Any,
    target_group_arns: Any,
    ready: Any,
    gate_wiring: dict[str, Any] | None = None,
) -> TrafficRoutingArgs:
    edge, scope = plan.edge, plan.scope
    test_routes = plan_test_routes(
        list(edge.get("operator_cidrs") or []), edge.get("test_header", TEST_HEADER), scope
    )
    args: dict[str, Any] = {
        "listener_arn": listener_arn,
        "target_group_arns": target_group_arns,
        "live": Slot(plan.release.get("live", Slot.BLUE)).value,
        "canary_percent": plan.release.get("canary_percent", 0),
        "ready": ready,
        "path_allow_lists": [
            {"path": e["path"], "cidrs": list(e["cidrs"])}
            for e in edge.get("path_allow_lists") or []
        ],
        "other_rule_count": len(test_routes),
        "enable_stickiness": edge.get("enable_stickiness", False),
        "tags": plan.tags,
    }
    if scope.hosts:
        args["hosts"] = list(scope.hosts)
    if scope.paths:
        args["paths"] = list(scope.paths)
    if scope.block:
        args["priority_block"] = scope.block
    if plan.deployed.get("listener_rule_bands"):
        args["previous_rule_bands"] = plan.deployed["listener_rule_bands"]
    if gate_wiring is not None and plan.args["app"].get("wait_for_steady_state", True):
        # An emulator's tasks never become healthy: a stack that does not wait for steady
        # services (the local one) does not wait for capacity either.
        args["capacity_gate"] = capacity_gate_args(plan, **gate_wiring)
    return cast(TrafficRoutingArgs, args)


def capacity_gate_args(plan: AppPlan, *, cluster_name: Any, service_names: Any) -> CapacityGate:
    """The capacity gate, sized from the weights of the last deployment (its `release_state`;
    none on a first deployment) and each slot's floor."""
    release = plan.release
    gate: dict[str, Any] = {
        "cluster_name": cluster_name,
        "service_names": service_names,
        "floors": {s: plan.slot(s).get("desired_count", 0) for s in SLOTS},
        "timeout_seconds": release.get("capacity_timeout_seconds", 600),
        "autoscaling": plan.args["app"].get("enable_autoscaling", True),
    }
    deployed = plan.deployed.get("release_state")
    if isinstance(deployed, dict) and deployed.get("live") in SLOTS:
        gate["previous_live"] = deployed["live"]
        gate["previous_canary_percent"] = int(deployed.get("canary_percent") or 0)
    return cast(CapacityGate, gate)


def canary_slots(release: ReleaseOptions) -> list[str]:
    """Slots being promoted or taking a canary share: each is watched on its own alarms."""
    promoting = release.get("promoting")
    slots = {Slot(promoting).value} if promoting else set()
    if release.get("canary_percent"):
        slots.add(Slot(release.get("live", Slot.BLUE)).other.value)
    return sorted(slots)


def monitoring_args(plan: AppPlan, *, wiring: dict[str, Any]) -> MonitoringArgs:
    """`wiring`: the load balancer, target groups, cluster, services, database and Redis."""
    options: dict[str, Any] = dict(plan.args.get("monitoring") or {})
    options.pop("enabled", None)
    return cast(
        MonitoringArgs,
        {
            "stack_id": plan.stack_id,
            # Dashboard names take letters, digits, _ and - only (a stack may hold dots).
            "dashboard_name": physical_name(*plan.parts, rule=DASHBOARD_NAME),
            "canary_slots": canary_slots(plan.release),
            "tags": plan.tags,
            **wiring,
            **options,
        },
    )
