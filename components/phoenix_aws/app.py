"""PhoenixApp: the whole stack of one real-time Phoenix app as one reusable component.

It builds what a phoenix-aws stack needs — network, node security group, database, PubSub
fallback, load balancer and firewall, image, cluster, both release slots, traffic routing and
monitoring — from one typed args object (`PhoenixAppArgs`), and exports what the release
command and users need (`phoenix_aws.outputs`). Bring your own network, load balancer, ECS
cluster or database: several apps then share one VPC, one ALB and one cluster, each with its own
target groups, listener rules (for its hosts or paths, in its own priority block), security
group rules, database and role, and discovery names.

The constructor reads as its steps; `app_parts.py` turns the args into each part's args.
"""

from operator import itemgetter
from typing import Any

import pulumi

from . import app_parts as parts
from .app_args import (
    ExistingDatabase,
    ExistingLoadBalancer,
    ExistingNetwork,
    PhoenixAppArgs,
    release_state,
)
from .app_checks import check_phoenix_app_args
from .app_parts import AppPlan
from .cluster import Cluster, ExistingCluster
from .database import (
    POSTGRES_PORT,
    Database,
    app_connect_arn,
    database_environments,
)
from .image import AppImage
from .listener_attachment import ListenerAttachment
from .load_balancer import LoadBalancer
from .monitoring import (
    SOCKET_METRIC_NAME,
    SOCKET_METRIC_NAMESPACE,
    Monitoring,
)
from .network import Network
from .node_security import NodeSecurityGroup
from .outputs import APP_OUTPUTS
from .pubsub import RedisPubSub
from .release_lock import ReleaseLockTable
from .release_slot import ReleaseSlot
from .security import allow_between
from .slots import BUILD
from .traffic_routing import TrafficRouting
from .validation import (
    LEGACY_MODULE,
    PACKAGE,
    component_type,
)
from .waf import WebFirewall


class PhoenixApp(pulumi.ComponentResource):
    """One Phoenix app on AWS: every part of a phoenix-aws stack, or an app that joins the
    network, load balancer, cluster and database of another."""

    url: pulumi.Output[str]
    load_balancer_dns_name: pulumi.Output[str | None]
    app_name: pulumi.Output[str]
    live_slot: pulumi.Output[str]
    canary_percent: pulumi.Output[int]
    release_state: pulumi.Output[dict[str, Any]]
    listener_rule_bands: pulumi.Output[dict[str, int]]
    target_group_arns: pulumi.Output[dict[str, str]]
    image_repository_url: pulumi.Output[str]
    built_image: pulumi.Output[str | None]
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    exec_log_group_name: pulumi.Output[str | None]
    dns_cluster_queries: pulumi.Output[dict[str, str]]
    drain_parameters: pulumi.Output[dict[str, str]]
    socket_metric: pulumi.Output[dict[str, Any]]
    slot_images: pulumi.Output[dict[str, str]]
    slot_desired_counts: pulumi.Output[dict[str, int]]
    slot_services: pulumi.Output[dict[str, str]]
    remote_console: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    availability_zones: pulumi.Output[list[str] | None]
    private_subnet_ids: pulumi.Output[list[str]]
    database_endpoint: pulumi.Output[str]
    database_secret_arn: pulumi.Output[str]
    database_identity: pulumi.Output[dict[str, str] | None]
    pubsub_adapter: pulumi.Output[str]
    web_acl_arn: pulumi.Output[str | None]
    alarm_topic_arn: pulumi.Output[str | None]
    dashboard_name: pulumi.Output[str | None]
    redis_endpoint: pulumi.Output[str | None]
    redis_url_secret_arn: pulumi.Output[str | None]
    vpc_cidr_block: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    isolated_subnet_ids: pulumi.Output[list[str]]
    listener_arn: pulumi.Output[str]
    load_balancer_security_group_id: pulumi.Output[str]
    exec_key_arn: pulumi.Output[str | None]
    exec_log_group_arn: pulumi.Output[str | None]
    database_address: pulumi.Output[str]
    database_port: pulumi.Output[int]
    database_resource_id: pulumi.Output[str]
    database_security_group_id: pulumi.Output[str]
    release_lock_table: pulumi.Output[str]
    production_listener_arn: pulumi.Output[str]
    slot_versions: pulumi.Output[dict[str, str]]
    slot_alarms: pulumi.Output[dict[str, list[str]]]
    slot_autoscaling: pulumi.Output[bool]

    def __init__(
        self, name: str, args: PhoenixAppArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("PhoenixApp"), name, None, opts)
        plan = check_phoenix_app_args(name, args)
        self._idle_timeout_seconds = plan.idle_timeout_seconds
        self._scheme = plan.scheme
        self._create_network(plan)
        self._create_node_security(plan)
        self._create_database(plan)
        self._create_redis(plan)
        self._create_edge(plan)
        self._create_image(plan)
        self._create_cluster(plan)
        self._create_slots(plan)
        self._create_release_lock(plan)
        self._create_routing(plan)
        if plan.monitoring_enabled:
            self._create_monitoring(plan)
        self._register(plan)

    def _opts(self, plan: AppPlan) -> pulumi.ResourceOptions:
        """A part's options: a child of the app; adopting, aliased to its place at the top of
        the stack (under its 0.2 and 0.1 type tokens)."""
        if not plan.adopt:
            return pulumi.ResourceOptions(parent=self)
        return pulumi.ResourceOptions(
            parent=self, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]
        )

    def _legacy_opts(self, plan: AppPlan, kind: str) -> pulumi.ResourceOptions:
        opts = self._opts(plan)
        if plan.adopt:
            legacy = pulumi.Alias(
                type_=f"{PACKAGE}:{LEGACY_MODULE}:{kind}", parent=pulumi.ROOT_STACK_RESOURCE
            )
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[legacy]))
        return opts

    def _create_network(self, plan: AppPlan) -> None:
        """The app's VPC, or the one it was given."""
        existing = plan.args.get("existing_network")
        if existing:
            self.network = None
            self.vpc_id = pulumi.Output.from_input(existing["vpc_id"])
            self.vpc_cidr_block = pulumi.Output.from_input(existing["vpc_cidr_block"])
            self.private_subnet_ids = pulumi.Output.from_input(existing["private_subnet_ids"])
            self.isolated_subnet_ids = pulumi.Output.from_input(
                existing.get("isolated_subnet_ids") or existing["private_subnet_ids"]
            )
            self.public_subnet_ids = pulumi.Output.from_input(
                existing.get("public_subnet_ids") or []
            )
            self.availability_zones = pulumi.Output.from_input(None)
            return
        self.network = Network(
            plan.child("network"), parts.network_args(plan), self._legacy_opts(plan, "Network")
        )
        self.vpc_id = self.network.vpc_id
        self.vpc_cidr_block = self.network.vpc_cidr_block
        self.private_subnet_ids = self.network.private_subnet_ids
        self.isolated_subnet_ids = self.network.isolated_subnet_ids
        self.public_subnet_ids = self.network.public_subnet_ids
        self.availability_zones = self.network.availability_zones

    def _create_node_security(self, plan: AppPlan) -> None:
        self.nodes = NodeSecurityGroup(
            plan.child("nodes"),
            parts.node_security_args(plan, vpc_id=self.vpc_id, vpc_cidr_block=self.vpc_cidr_block),
            self._legacy_opts(plan, "NodeSecurityGroup"),
        )

    def _create_database(self, plan: AppPlan) -> None:
        """The app's PostgreSQL instance, or its own database on the instance it was given:
        its nodes may reach the instance, and its role logs in with IAM tokens."""
        existing = plan.args.get("existing_database")
        self.database: Database | None = None
        self._db: dict[str, Any]
        if not existing:
            self.database = Database(
                plan.child("database"),
                parts.database_args(
                    plan,
                    vpc_id=self.vpc_id,
                    subnet_ids=self.isolated_subnet_ids,
                    client_sg=self.nodes.security_group_id,
                ),
                self._legacy_opts(plan, "Database"),
            )
            db = self.database
            self._db = {
                "environment": db.app_environment,
                "admin_environment": db.admin_environment,
                "admin_secrets": db.admin_secrets,
                "secret_arn": db.secret_arn,
                "connect_arn": db.app_connect_arn,
                "endpoint": pulumi.Output.concat(db.address, ":", db.port.apply(str)),
                "identifier": db.identifier,
                "identity": db.identity,
                "address": db.address,
                "port": db.port,
                "resource_id": db.resource_id,
                "security_group_id": db.security_group_id,
            }
            return
        allow_between(
            plan.child("database-access"),
            client_security_group_id=self.nodes.security_group_id,
            server_security_group_id=existing["security_group_id"],
            port=existing.get("port", POSTGRES_PORT),
            description=f"PostgreSQL from the nodes of {plan.app_name}",
            opts=pulumi.ResourceOptions(parent=self),
        )
        db_name = existing.get("database_name") or plan.app_name
        environment, admin_environment, admin_secrets = database_environments(
            existing["address"],
            existing["port"],
            existing["master_secret_arn"],
            db_name,
            plan.database_role,
        )
        self._db = {
            "environment": environment,
            "admin_environment": admin_environment,
            "admin_secrets": admin_secrets,
            "secret_arn": pulumi.Output.from_input(existing["master_secret_arn"]),
            "connect_arn": app_connect_arn(existing["resource_id"], plan.database_role, self),
            "endpoint": pulumi.Output.concat(
                existing["address"], ":", pulumi.Output.from_input(existing["port"]).apply(str)
            ),
            "identifier": existing.get("identifier"),
            "identity": pulumi.Output.from_input(None),
            "address": pulumi.Output.from_input(existing["address"]),
            "port": pulumi.Output.from_input(existing["port"]),
            "resource_id": pulumi.Output.from_input(existing["resource_id"]),
            "security_group_id": pulumi.Output.from_input(existing["security_group_id"]),
        }

    def _create_redis(self, plan: AppPlan) -> None:
        self.redis = (
            RedisPubSub(
                plan.child("pubsub"),
                parts.redis_args(
                    plan,
                    vpc_id=self.vpc_id,
                    subnet_ids=self.isolated_subnet_ids,
                    client_sg=self.nodes.security_group_id,
                ),
                self._legacy_opts(plan, "RedisPubSub"),
            )
            if plan.redis_enabled
            else None
        )

    def _create_edge(self, plan: AppPlan) -> None:
        """A load balancer of the app's own (and its firewall), or the app's place on the
        listener it was given."""
        self.web_acl_arn = pulumi.Output.from_input(None)
        existing = plan.args.get("existing_load_balancer")
        if existing:
            self.load_balancer_security_group_id = pulumi.Output.from_input(
                existing["security_group_id"]
            )
            self.edge: LoadBalancer | ListenerAttachment = ListenerAttachment(
                plan.child("edge"),
                parts.attachment_args(
                    plan, vpc_id=self.vpc_id, target_sg=self.nodes.security_group_id
                ),
                pulumi.ResourceOptions(parent=self),
            )
            self.load_balancer_dns_name = pulumi.Output.from_input(None)
            return
        edge = LoadBalancer(
            plan.child("edge"),
            parts.load_balancer_args(
                plan,
                vpc_id=self.vpc_id,
                subnet_ids=self.public_subnet_ids,
                target_sg=self.nodes.security_group_id,
            ),
            self._legacy_opts(plan, "LoadBalancer"),
        )
        self.edge = edge
        self.load_balancer_dns_name = edge.dns_name
        self.load_balancer_security_group_id = edge.security_group_id
        if plan.firewall_enabled:
            waf = WebFirewall(
                plan.child("edge-waf"),
                parts.firewall_args(plan, load_balancer_arn=edge.arn),
                self._legacy_opts(plan, "WebFirewall"),
            )
            self.web_acl_arn = waf.web_acl_arn

    def _create_image(self, plan: AppPlan) -> None:
        self.image = AppImage(
            plan.child("image"), parts.image_args(plan), self._legacy_opts(plan, "AppImage")
        )

    def _create_cluster(self, plan: AppPlan) -> None:
        """The app's cluster: discovery, secrets, roles, logs, drain switches (and the ECS
        cluster, unless it was given one). Its roles read exactly the app's secrets."""
        user_secrets = list((plan.args["app"].get("secrets") or {}).values())
        self.cluster = Cluster(
            plan.child("cluster"),
            parts.cluster_args(
                plan,
                vpc_id=self.vpc_id,
                wiring={
                    "readable_secret_arns": [
                        *user_secrets,
                        *([self.redis.url_secret_arn] if self.redis else []),
                    ],
                    "admin_secret_arns": [self._db["secret_arn"]],
                    "database_connect_arns": [self._db["connect_arn"]],
                    "repository_arns": [self.image.repository_arn],
                },
            ),
            self._legacy_opts(plan, "Cluster"),
        )

    def _create_slots(self, plan: AppPlan) -> None:
        """Both release slots that have an image, on the twelve-factor contract: coordinates
        as environment, credentials only as ECS secrets."""
        app = plan.args["app"]
        adapter = "redis" if plan.redis_enabled else "erlang"
        # A secret `app` section stays secret in the task definitions it reaches.
        keep = pulumi.Output.secret if app.get("secret_env") else pulumi.Output.from_input
        environment = pulumi.Output.all(self._db["environment"], keep(app.get("env") or {})).apply(
            lambda a: {**a[1], **a[0], "PUBSUB_ADAPTER": adapter}
        )
        secrets = pulumi.Output.all(
            self.cluster.app_secrets,
            self.redis.url_secret_arn if self.redis else None,
            keep(app.get("secrets") or {}),
        ).apply(lambda a: {**a[2], **a[0], **({"REDIS_URL": a[1]} if a[1] else {})})
        self.slots: dict[str, ReleaseSlot] = {}
        for name in plan.slots:
            self.slots[name] = ReleaseSlot(
                plan.child(f"slot-{name}"),
                parts.slot_args(
                    plan,
                    name,
                    image=self._slot_image(plan, name),
                    wiring=self._slot_wiring(name, environment, secrets),
                ),
                self._legacy_opts(plan, "ReleaseSlot"),
            )

    def _create_release_lock(self, plan: AppPlan) -> None:
        """The table of the release command's lock and history (one release at a time)."""
        self.lock_table = ReleaseLockTable(
            plan.child("release-lock"),
            {
                "name_parts": plan.parts,
                "protect": plan.release.get("protect_lock_table", True),
                "tags": plan.tags,
            },
            self._opts(plan),
        )

    def _slot_image(self, plan: AppPlan, name: str) -> Any:
        image = plan.slot(name)["image"]
        return self.image.image if image == BUILD else image

    def _slot_wiring(self, name: str, environment: Any, secrets: Any) -> dict[str, Any]:
        cluster, pick = self.cluster, itemgetter(name)
        return {
            "cluster_arn": cluster.cluster_arn,
            "cluster_name": cluster.cluster_name,
            "subnet_ids": self.private_subnet_ids,
            "security_group_ids": [self.nodes.security_group_id],
            "target_group_arn": self.edge.target_group_arns.apply(pick),
            "discovery_service_arn": cluster.discovery_service_arns.apply(pick),
            "dns_cluster_query": cluster.dns_cluster_queries.apply(pick),
            "drain_parameter_name": cluster.drain_parameter_names.apply(pick),
            "execution_role_arn": cluster.execution_role_arn,
            "admin_execution_role_arn": cluster.admin_execution_role_arn,
            "task_role_arn": cluster.task_role_arn,
            "log_group_name": cluster.log_group_name,
            "phx_host": self.edge.host,
            "phx_scheme": self.edge.scheme,
            "environment": environment,
            "secrets": secrets,
            "admin_environment": self._db["admin_environment"],
            "admin_secrets": self._db["admin_secrets"],
            # Two slots never migrate at once: the second waits for the first.
            **({"migrate_after": self.slots["blue"].migrated} if "blue" in self.slots else {}),
        }

    def _create_routing(self, plan: AppPlan) -> None:
        """Traffic moves only once every slot is steady and migrated."""
        slots = list(self.slots.values())
        ready = pulumi.Output.all(
            *[s.migrated for s in slots],
            *[s.service_arn for s in slots],
            *[s.deployment_verified for s in slots],
        ).apply(lambda _: "ready")
        self.routing = TrafficRouting(
            plan.child("traffic"),
            parts.routing_args(
                plan,
                listener_arn=self.edge.production_listener_arn,
                target_group_arns=self.edge.target_group_arns,
                ready=ready,
                gate_wiring={
                    "cluster_name": self.cluster.cluster_name,
                    "service_names": {n: s.service_name for n, s in self.slots.items()},
                },
            ),
            self._legacy_opts(plan, "TrafficRouting"),
        )

    def _create_monitoring(self, plan: AppPlan) -> None:
        wiring: dict[str, Any] = {
            "load_balancer_arn_suffix": self.edge.load_balancer_arn_suffix,
            "target_group_arn_suffixes": self.edge.target_group_arn_suffixes,
            "cluster_name": self.cluster.cluster_name,
            "service_names": {name: s.service_name for name, s in self.slots.items()},
        }
        if self._db["identifier"] is not None:
            wiring["database_identifier"] = self._db["identifier"]
            wiring["database_storage_gb"] = (plan.args.get("database") or {}).get(
                "allocated_storage_gb", 20
            )
        if self.redis:
            wiring["redis_member_cluster_ids"] = self.redis.member_cluster_ids
            wiring["redis_node_count"] = 1 + (plan.args.get("redis") or {}).get("replicas", 1)
        self.monitoring = Monitoring(
            plan.child("monitoring"),
            parts.monitoring_args(plan, wiring=wiring),
            self._legacy_opts(plan, "Monitoring"),
        )

    def _register(self, plan: AppPlan) -> None:
        """Set the outputs (phoenix_aws.outputs names them) and register them."""
        self._set_release_outputs(plan)
        self._set_infrastructure_outputs(plan)
        outputs = {name: getattr(self, name) for name in _OUTPUT_NAMES}
        self.register_outputs(outputs)

    def _set_release_outputs(self, plan: AppPlan) -> None:
        cluster = self.cluster
        self.url = self.edge.url
        self.app_name = pulumi.Output.from_input(plan.app_name)
        self.live_slot = pulumi.Output.from_input(str(plan.release.get("live", "blue")))
        self.canary_percent = pulumi.Output.from_input(plan.release.get("canary_percent", 0))
        self.release_state = pulumi.Output.from_input(release_state(plan.release))
        self.listener_rule_bands = self.routing.rule_bands
        self.target_group_arns = self.edge.target_group_arns
        self.image_repository_url = self.image.repository_url
        self.built_image = self.image.image
        self.cluster_name = cluster.cluster_name
        self.cluster_arn = cluster.cluster_arn
        self.log_group_name = cluster.log_group_name
        self.exec_log_group_name = cluster.exec_log_group_name
        self.dns_cluster_queries = cluster.dns_cluster_queries
        self.drain_parameters = cluster.drain_parameter_names
        self.socket_metric = pulumi.Output.from_input(
            {
                "namespace": SOCKET_METRIC_NAMESPACE,
                "metric_name": SOCKET_METRIC_NAME,
                "dimensions": {"Stack": plan.stack_id},
            }
        )
        self.slot_images = pulumi.Output.all(**{n: s.image for n, s in self.slots.items()})
        self.slot_desired_counts = pulumi.Output.all(
            **{n: s.desired_count for n, s in self.slots.items()}
        )
        self.slot_services = pulumi.Output.all(**{n: s.service_name for n, s in self.slots.items()})
        self.slot_versions = pulumi.Output.all(
            **{n: s.release_version for n, s in self.slots.items()}
        )
        monitoring = getattr(self, "monitoring", None)
        self.slot_alarms = (
            monitoring.slot_alarm_names if monitoring else pulumi.Output.from_input({})
        )
        self.slot_autoscaling = pulumi.Output.from_input(
            plan.args["app"].get("enable_autoscaling", True)
        )
        self.release_lock_table = self.lock_table.table_name
        self.production_listener_arn = self.edge.production_listener_arn
        app = plan.app_name
        self.remote_console = cluster.cluster_name.apply(
            lambda c: (
                f"aws ecs execute-command --cluster {c} --task <task-id> "
                f"--container {app} --interactive --command 'bin/{app} remote'"
            )
        )

    def _set_infrastructure_outputs(self, plan: AppPlan) -> None:
        self.database_endpoint = self._db["endpoint"]
        self.database_secret_arn = self._db["secret_arn"]
        self.database_identity = self._db["identity"]
        self.database_address = self._db["address"]
        self.database_port = self._db["port"]
        self.database_resource_id = self._db["resource_id"]
        self.database_security_group_id = self._db["security_group_id"]
        self.listener_arn = self.edge.production_listener_arn
        self.exec_key_arn = self.cluster.exec_key_arn
        self.exec_log_group_arn = self.cluster.exec_log_group_arn
        self.pubsub_adapter = pulumi.Output.from_input("redis" if self.redis else "erlang")
        none = pulumi.Output.from_input(None)
        monitoring = getattr(self, "monitoring", None)
        self.alarm_topic_arn = monitoring.topic_arn if monitoring else none
        self.dashboard_name = monitoring.dashboard_name if monitoring else none
        self.redis_endpoint = self.redis.primary_endpoint if self.redis else none
        self.redis_url_secret_arn = self.redis.url_secret_arn if self.redis else none
        self._present = {
            "web_acl_arn": plan.firewall_enabled,
            "alarm_topic_arn": monitoring is not None,
            "dashboard_name": monitoring is not None,
            "redis_endpoint": self.redis is not None,
            "redis_url_secret_arn": self.redis is not None,
        }

    def shared_network(self) -> ExistingNetwork:
        """This app's VPC, for another app's `existing_network`."""
        return ExistingNetwork(
            vpc_id=self.vpc_id,
            vpc_cidr_block=self.vpc_cidr_block,
            private_subnet_ids=self.private_subnet_ids,
            isolated_subnet_ids=self.isolated_subnet_ids,
            public_subnet_ids=self.public_subnet_ids,
        )

    def shared_load_balancer(self, *, host: str, priority_block: int) -> ExistingLoadBalancer:
        """This app's listener, for another app's `existing_load_balancer` (its own host and
        priority block)."""
        return ExistingLoadBalancer(
            listener_arn=self.listener_arn,
            security_group_id=self.load_balancer_security_group_id,
            host=host,
            priority_block=priority_block,
            idle_timeout_seconds=self._idle_timeout_seconds,
            arn_suffix=self.edge.load_balancer_arn_suffix,
            scheme=self._scheme,
        )

    def shared_cluster(self) -> ExistingCluster:
        """This app's ECS cluster, for another app's `existing_cluster`."""
        return ExistingCluster(
            cluster_arn=self.cluster_arn,
            cluster_name=self.cluster_name,
            exec_key_arn=self.exec_key_arn,  # type: ignore[typeddict-item]
            exec_log_group_arn=self.exec_log_group_arn,  # type: ignore[typeddict-item]
            namespace_id=self.cluster.namespace_id,
            namespace_name=self.cluster.namespace_name,
        )

    def shared_database(self) -> ExistingDatabase:
        """This app's PostgreSQL instance, for another app's `existing_database` (which gets a
        database and a role of its own on it)."""
        return ExistingDatabase(
            address=self.database_address,
            port=self.database_port,
            resource_id=self.database_resource_id,
            security_group_id=self.database_security_group_id,
            master_secret_arn=self.database_secret_arn,
        )

    def exports(self) -> dict[str, pulumi.Output[Any]]:
        """The stack outputs of `phoenix_aws.outputs.APP_OUTPUTS` this app has (optional ones
        only where their part exists): `for k, v in app.exports().items(): pulumi.export(k, v)`.
        """
        return {name: getattr(self, name) for name in APP_OUTPUTS if self._present.get(name, True)}


_OUTPUT_NAMES = [
    name
    for name in PhoenixApp.__annotations__
    if str(PhoenixApp.__annotations__[name]).startswith("pulumi.Output")
    or getattr(PhoenixApp.__annotations__[name], "__origin__", None) is pulumi.Output
]
