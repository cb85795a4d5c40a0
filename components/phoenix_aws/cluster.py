"""Cluster: what both release slots share. The ECS cluster (with ECS Exec sessions recorded), the
private DNS that lets BEAM nodes find each other, the per-stack secrets, the IAM roles, the log
group and each slot's drain switch.
"""

import json
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from .cluster_names import (
    check_namespace,
    default_namespace,
    drain_parameter_name,
    drain_parameter_value,
    log_group_name_of,
)
from .naming import (
    DNS_LABEL,
    IAM_ROLE_NAME,
    physical_name,
)
from .policies import arn, ecs_tasks_trust
from .secrets import StoredSecret, stored_secret
from .slots import SLOTS
from .task_iam import (
    ECS_EXEC_ACTIONS,
    ECS_TASKS_TRUST,
    MAX_MANAGED_POLICIES_PER_ROLE,
    check_kms_key_arns,
    check_policy_arn,
    check_secret_reference,
    check_task_role_policy_arns,
    cluster_tasks_arn,
    exec_key_policy,
    execution_role_policy,
    secret_resource_arn,
    task_role_policy,
)
from .validation import (
    arg_error,
    check_arg,
    check_args,
    check_log_retention,
    check_tags,
    component_type,
    with_legacy_alias,
)

# The task roles' policy documents live in task_iam.py; their names stay importable from here.
__all__ = [
    "ECS_EXEC_ACTIONS",
    "ECS_TASKS_TRUST",
    "MAX_MANAGED_POLICIES_PER_ROLE",
    "Cluster",
    "ClusterArgs",
    "ExistingCluster",
    "check_kms_key_arns",
    "check_namespace",
    "check_policy_arn",
    "check_secret_reference",
    "check_task_role_policy_arns",
    "default_namespace",
    "drain_parameter_name",
    "drain_parameter_value",
    "exec_key_policy",
    "execution_role_policy",
    "log_group_name_of",
    "secret_resource_arn",
    "task_role_policy",
]


class ExistingCluster(TypedDict):
    """An ECS cluster another app or stack created (e.g. another PhoenixApp's Cluster outputs)."""

    cluster_arn: pulumi.Input[str]
    """The cluster's ARN."""
    cluster_name: pulumi.Input[str]
    """The cluster's name."""
    exec_key_arn: NotRequired[pulumi.Input[str]]
    """The KMS key of the cluster's ECS Exec sessions (the app's task role may use it).
    Default: none (the cluster records no sessions with a key of its own)."""
    exec_log_group_arn: NotRequired[pulumi.Input[str]]
    """The log group the cluster records ECS Exec sessions in (the task role may write it).
    Default: none."""
    namespace_id: NotRequired[pulumi.Input[str]]
    """The cluster's private DNS namespace (Cluster.namespace_id): the app registers its nodes
    there under a name of its own (`discovery_service_name`), so several apps in one VPC need no
    second namespace. Default: a namespace of the app's own."""
    namespace_name: NotRequired[pulumi.Input[str]]
    """That namespace's name (Cluster.namespace_name); needed with `namespace_id`."""


class ClusterArgs(TypedDict):
    """Inputs of a Cluster."""

    name_parts: list[str]
    """Parts of physical names, e.g. [project, stack]."""
    vpc_id: pulumi.Input[str]
    """The VPC the private DNS namespace serves."""
    namespace: NotRequired[str]
    """Private DNS namespace for discovery. Default: `<parts reversed joined by .>.internal`."""
    discovery_service_name: NotRequired[str]
    """Name under the namespace that resolves to every node. Default: `nodes`."""
    share_discovery_across_slots: NotRequired[bool]
    """One DNS name for blue and green nodes (one BEAM cluster spanning both slots during a swap),
    or one name per slot (isolated clusters). Default: true (shared)."""
    readable_secret_arns: NotRequired[list[pulumi.Input[str]]]
    """Further secrets the app's tasks receive (Redis URL, user secrets); the execution role may
    read exactly these plus the cluster's own. Default: none."""
    admin_secret_arns: NotRequired[list[pulumi.Input[str]]]
    """Secrets only admin tasks (migrations) receive, e.g. the database master secret; only the
    admin execution role may read them. Default: none."""
    database_connect_arns: NotRequired[list[pulumi.Input[str]]]
    """`rds-db:connect` resources the app may log in as (IAM database authentication).
    Default: none."""
    repository_arns: NotRequired[list[pulumi.Input[str]]]
    """ECR repositories the execution roles may pull from. Default: any."""
    secret_kms_key_arns: NotRequired[list[str]]
    """Customer-managed KMS keys that encrypt `readable_secret_arns` (or SecureString
    parameters): the execution roles may decrypt with exactly these, through Secrets Manager and
    SSM only. Default: none (secrets under the AWS-managed key need no grant)."""
    task_role_policy_arns: NotRequired[list[str]]
    """Managed policies for the app's own AWS calls, at most 10 (IAM's quota per role).
    Default: none."""
    log_retention_days: NotRequired[int]
    """App logs and ECS Exec session logs. Default: 30."""
    enable_container_insights: NotRequired[bool]
    """Default: true."""
    draining_slots: NotRequired[list[str]]
    """Slots whose nodes shed their WebSockets now (their drain switch is on). Default: none."""
    drain_window_seconds: NotRequired[int]
    """How long a draining node takes to shed its sockets. Default: 300."""
    protect_secrets: NotRequired[bool]
    """Pulumi `protect` on the generated secrets. Default: true."""
    existing_cluster: NotRequired[ExistingCluster]
    """Run the app's slots in this ECS cluster instead of creating one (several apps share a
    cluster); the app still gets its own discovery namespace, secrets, roles, logs and drain
    switches. Default: a cluster of the app's own."""
    tags: NotRequired[dict[str, str]]
    """Default: none."""


class Cluster(pulumi.ComponentResource):
    """ECS cluster + Cloud Map discovery + SECRET_KEY_BASE/RELEASE_COOKIE + IAM + logs."""

    cluster_arn: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    namespace_id: pulumi.Output[str]
    namespace_name: pulumi.Output[str]
    discovery_service_arns: pulumi.Output[dict[str, str]]
    dns_cluster_queries: pulumi.Output[dict[str, str]]
    execution_role_arn: pulumi.Output[str]
    """Resolves only once the role's policy exists, so no task starts without its rights."""
    admin_execution_role_arn: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]
    """Resolves only once the role's policy exists."""
    log_group_name: pulumi.Output[str]
    exec_log_group_name: pulumi.Output[str | None]
    exec_log_group_arn: pulumi.Output[str | None]
    exec_key_arn: pulumi.Output[str | None]
    """The ECS Exec session key and log group: pass them with the cluster to other apps."""
    app_secrets: pulumi.Output[dict[str, str]]
    """SECRET_KEY_BASE and RELEASE_COOKIE as ECS `valueFrom` ARNs."""
    drain_parameter_names: pulumi.Output[dict[str, str]]
    """slot → the SSM parameter its nodes poll (DRAIN_PARAMETER)."""

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(component_type("Cluster"), name, None, with_legacy_alias("Cluster", opts))
        check_cluster_args(name, args)
        parts = list(args["name_parts"])
        base = physical_name(*parts, max_length=200)  # /ecs/<base>/exec: a log group name
        tags = dict(args.get("tags") or {})
        namespace = args.get("namespace") or default_namespace(parts)
        retention = args.get("log_retention_days", 30)

        existing = args.get("existing_cluster")
        if existing:
            self._use_existing_cluster(existing)
        else:
            self._create_exec_logging(name, base, retention, tags)
            self._create_ecs_cluster(name, base, args.get("enable_container_insights", True), tags)
        joined = existing if existing and existing.get("namespace_id") else None
        if joined:
            self.namespace_id = pulumi.Output.from_input(joined["namespace_id"])
            self.namespace_name = pulumi.Output.from_input(joined["namespace_name"])
        else:
            self._create_namespace(name, args, namespace, base, tags)
        names = self._create_discovery(name, args, tags)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/ecs/{base}",
            retention_in_days=retention,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._create_drain_switches(name, args, parts, base, tags)
        self._create_secrets(name, base, args.get("protect_secrets", True), tags)
        self._create_execution_roles(name, args, parts, tags)
        self._create_task_role(name, args, parts, tags)
        self._register(names)

    def _create_exec_logging(
        self, name: str, base: str, retention: int, tags: dict[str, str]
    ) -> None:
        """ECS Exec sessions (every console on a node) are recorded in their own log group,
        encrypted with a key of this stack; the session channel uses the same key."""
        child = pulumi.ResourceOptions(parent=self)
        exec_log_group_name = f"/ecs/{base}/exec"
        where = pulumi.Output.all(*self._where())
        self.exec_key = aws.kms.Key(
            f"{name}-exec-key",
            description=f"ECS Exec sessions and their logs, {base}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=where.apply(
                lambda w: json.dumps(
                    exec_key_policy(
                        w[2],
                        w[1],
                        arn(w[0], "logs", w[1], w[2], f"log-group:{exec_log_group_name}"),
                        partition=w[0],
                        dns_suffix=w[3],
                    )
                )
            ),
            tags=tags,
            opts=child,
        )
        self.exec_log_group = aws.cloudwatch.LogGroup(
            f"{name}-exec-logs",
            name=exec_log_group_name,
            retention_in_days=retention,
            kms_key_id=self.exec_key.arn,
            tags=tags,
            opts=child,
        )
        self.exec_key_arn = self.exec_key.arn
        self.exec_log_group_arn = self.exec_log_group.arn
        self.exec_log_group_name = self.exec_log_group.name

    def _use_existing_cluster(self, existing: ExistingCluster) -> None:
        self.cluster_arn = pulumi.Output.from_input(existing["cluster_arn"])
        self.cluster_name = pulumi.Output.from_input(existing["cluster_name"])
        self.exec_key_arn = pulumi.Output.from_input(existing.get("exec_key_arn"))
        self.exec_log_group_arn = pulumi.Output.from_input(existing.get("exec_log_group_arn"))
        self.exec_log_group_name = self.exec_log_group_arn.apply(log_group_name_of)

    def _where(self) -> tuple[pulumi.Output[str], ...]:
        """(partition, Region, account, the partition's DNS suffix) the provider reports."""
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke)
        return (
            partition.partition,
            aws.get_region_output(opts=invoke).region,
            aws.get_caller_identity_output(opts=invoke).account_id,
            partition.dns_suffix,
        )

    def _ecs_trust(self) -> pulumi.Output[str]:
        """Who may assume the task and execution roles: ECS, for this account's tasks in this
        Region only (confused deputy)."""
        partition, region, account_id, _ = self._where()
        return pulumi.Output.all(partition, region, account_id).apply(
            lambda a: json.dumps(ecs_tasks_trust(a[0], a[1], a[2]))
        )

    def _create_ecs_cluster(
        self, name: str, base: str, container_insights: bool, tags: dict[str, str]
    ) -> None:
        """The ECS cluster (ECS Exec recorded to the exec log group) on Fargate and Fargate
        Spot."""
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = aws.ecs.Cluster(
            f"{name}-ecs",
            name=base,
            settings=[
                {
                    "name": "containerInsights",
                    "value": "enabled" if container_insights else "disabled",
                }
            ],
            configuration={
                "execute_command_configuration": {
                    "kms_key_id": self.exec_key.arn,
                    "logging": "OVERRIDE",
                    "log_configuration": {
                        "cloud_watch_log_group_name": self.exec_log_group.name,
                        "cloud_watch_encryption_enabled": True,
                    },
                }
            },
            tags=tags,
            opts=child,
        )
        aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity",
            cluster_name=self.cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[
                {"capacity_provider": "FARGATE", "weight": 1, "base": 0}
            ],
            opts=child,
        )
        self.cluster_arn = self.cluster.arn
        self.cluster_name = self.cluster.name

    def _create_namespace(
        self, name: str, args: ClusterArgs, namespace: str, base: str, tags: dict[str, str]
    ) -> None:
        """The private DNS namespace the nodes register in."""
        self.namespace = aws.servicediscovery.PrivateDnsNamespace(
            f"{name}-namespace",
            name=namespace,
            vpc=args["vpc_id"],
            description=f"BEAM node discovery for {base}",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace_id = self.namespace.id
        self.namespace_name = self.namespace.name

    def _create_discovery(
        self, name: str, args: ClusterArgs, tags: dict[str, str]
    ) -> dict[str, str]:
        """The discovery service(s) in the namespace: one name for both slots, or one per slot.
        Returns slot → DNS name."""
        child = pulumi.ResourceOptions(parent=self)
        shared = args.get("share_discovery_across_slots", True)
        service_name = args.get("discovery_service_name", "nodes")
        names = {
            slot: service_name if shared else physical_name(service_name, slot, rule=DNS_LABEL)
            for slot in SLOTS
        }
        self.discovery_services: dict[str, aws.servicediscovery.Service] = {}
        for dns_name in sorted(set(names.values())):
            # A records, MULTIVALUE: one query returns every healthy node (dns_cluster, libcluster).
            self.discovery_services[dns_name] = aws.servicediscovery.Service(
                f"{name}-discovery-{dns_name}",
                name=dns_name,
                namespace_id=self.namespace_id,
                dns_config={
                    "namespace_id": self.namespace_id,
                    "routing_policy": "MULTIVALUE",
                    "dns_records": [{"type": "A", "ttl": 10}],
                },
                health_check_custom_config={"failure_threshold": 1},
                force_destroy=True,
                tags=tags,
                opts=child,
            )
        return names

    def _create_drain_switches(
        self, name: str, args: ClusterArgs, parts: list[str], base: str, tags: dict[str, str]
    ) -> None:
        """One SSM parameter per slot that tells its nodes to shed their WebSockets."""
        draining = set(args.get("draining_slots") or [])
        window = args.get("drain_window_seconds", 300)
        self.drain_parameters = {
            slot: aws.ssm.Parameter(
                f"{name}-drain-{slot}",
                name=drain_parameter_name(parts, slot),
                type="String",
                value=drain_parameter_value(slot in draining, window),
                description=f"Tells the {slot} nodes of {base} to shed their WebSockets",
                tags={**tags, "phoenix-aws:slot": slot},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for slot in SLOTS
        }

    def _create_secrets(self, name: str, base: str, protect: bool, tags: dict[str, str]) -> None:
        """SECRET_KEY_BASE and RELEASE_COOKIE, generated and stored in Secrets Manager."""
        protected = pulumi.ResourceOptions(parent=self, protect=protect)
        key_base = random.RandomBytes(f"{name}-secret-key-base-random", length=64, opts=protected)
        cookie = random.RandomPassword(
            f"{name}-release-cookie-random", length=64, special=False, opts=protected
        )
        self.secrets: dict[str, StoredSecret] = {}
        for env_name, value in (
            ("SECRET_KEY_BASE", key_base.base64),
            ("RELEASE_COOKIE", cookie.result),
        ):
            self.secrets[env_name] = stored_secret(
                f"{name}-{env_name.lower().replace('_', '-')}",
                name_prefix=f"{base}/{env_name}-",
                description=f"{env_name} of {base}, generated by phoenix-aws",
                value=value,
                tags=tags,
                protect=protect,
                parent=self,
            )

    def _create_execution_roles(
        self, name: str, args: ClusterArgs, parts: list[str], tags: dict[str, str]
    ) -> None:
        """The app's execution role (its own secrets) and the admin tasks' (also the admin
        secrets, such as the database master secret)."""
        readable = [s.secret.arn for s in self.secrets.values()] + list(
            args.get("readable_secret_arns") or []
        )
        self.execution_role_arn = self._execution_role(
            name,
            "execution",
            physical_name(*parts, "exec", rule=IAM_ROLE_NAME),
            "ECS agent: pull images, write logs, read this app's secrets",
            readable,
            args,
            tags,
        )
        self.admin_execution_role_arn = self._execution_role(
            name,
            "admin-execution",
            physical_name(*parts, "admin-exec", rule=IAM_ROLE_NAME),
            "ECS agent for one-off admin tasks: also reads the database master secret",
            readable + list(args.get("admin_secret_arns") or []),
            args,
            tags,
        )

    def _create_task_role(
        self, name: str, args: ClusterArgs, parts: list[str], tags: dict[str, str]
    ) -> None:
        """The app's own AWS identity (see `task_role_policy`), plus any managed policies; its
        ARN resolves only once the policies exist (ECS checks them at launch)."""
        child = pulumi.ResourceOptions(parent=self)
        self.task_role = aws.iam.Role(
            f"{name}-task-role",
            name=physical_name(*parts, "task", rule=IAM_ROLE_NAME),
            assume_role_policy=self._ecs_trust(),
            description="The Phoenix app's own AWS identity",
            tags=tags,
            opts=child,
        )
        partition, region, account_id, _ = self._where()
        cluster_tasks = pulumi.Output.all(partition, region, account_id, self.cluster_name).apply(
            lambda a: cluster_tasks_arn(a[0], a[1], a[2], a[3])
        )
        task_policy = aws.iam.RolePolicy(
            f"{name}-task-policy",
            role=self.task_role.id,
            policy=pulumi.Output.all(
                pulumi.Output.all(*(args.get("database_connect_arns") or [])),
                pulumi.Output.all(*[p.arn for p in self.drain_parameters.values()]),
                self.exec_log_group_arn,
                self.exec_key_arn,
                self.cluster_arn,
                cluster_tasks,
            ).apply(
                lambda a: json.dumps(
                    task_role_policy(
                        db_connect_arns=list(a[0]),
                        drain_parameter_arns=list(a[1]),
                        exec_log_group_arn=a[2],
                        exec_key_arn=a[3],
                        cluster_arn=a[4],
                        cluster_tasks=a[5],
                    )
                )
            ),
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-task-policy-{i}",
                role=self.task_role.name,
                policy_arn=policy_arn,
                opts=child,
            )
            for i, policy_arn in enumerate(args.get("task_role_policy_arns") or [])
        ]
        self.task_role_arn = pulumi.Output.all(
            self.task_role.arn, task_policy.id, *[a.id for a in attachments]
        ).apply(lambda a: a[0])

    def _register(self, names: dict[str, str]) -> None:
        """Set and register the outputs."""
        self.discovery_service_arns = pulumi.Output.all(
            **{slot: self.discovery_services[names[slot]].arn for slot in SLOTS}
        )
        self.dns_cluster_queries = pulumi.Output.all(
            **{slot: pulumi.Output.concat(names[slot], ".", self.namespace_name) for slot in SLOTS}
        )
        self.log_group_name = self.log_group.name
        # Each ARN resolves once the secret's value exists: no task reads a secret without one.
        self.app_secrets = pulumi.Output.all(
            **{env_name: stored.arn for env_name, stored in self.secrets.items()}
        )
        self.drain_parameter_names = pulumi.Output.all(
            **{slot: p.name for slot, p in self.drain_parameters.items()}
        )
        self.register_outputs(
            {
                "cluster_arn": self.cluster_arn,
                "cluster_name": self.cluster_name,
                "namespace_name": self.namespace_name,
                "discovery_service_arns": self.discovery_service_arns,
                "dns_cluster_queries": self.dns_cluster_queries,
                "execution_role_arn": self.execution_role_arn,
                "admin_execution_role_arn": self.admin_execution_role_arn,
                "task_role_arn": self.task_role_arn,
                "log_group_name": self.log_group_name,
                "exec_log_group_name": self.exec_log_group_name,
                "exec_log_group_arn": self.exec_log_group_arn,
                "exec_key_arn": self.exec_key_arn,
                "drain_parameter_names": self.drain_parameter_names,
            }
        )

    def _execution_role(
        self,
        name: str,
        suffix: str,
        role_name: str,
        description: str,
        readable: list[pulumi.Input[str]],
        args: ClusterArgs,
        tags: dict[str, str],
    ) -> pulumi.Output[str]:
        """A task execution role reading exactly `readable` (and decrypting with exactly the
        secrets' customer-managed keys); its ARN resolves after its policy."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-{suffix}-role",
            name=role_name,
            assume_role_policy=self._ecs_trust(),
            description=description,
            tags=tags,
            opts=child,
        )
        _, region, _, dns_suffix = self._where()
        keys = list(args.get("secret_kms_key_arns") or [])
        policy = aws.iam.RolePolicy(
            f"{name}-{suffix}-policy",
            role=role.id,
            policy=pulumi.Output.all(
                self.log_group.arn,
                pulumi.Output.all(*readable),
                pulumi.Output.all(*(args.get("repository_arns") or [])),
                region,
                dns_suffix,
            ).apply(
                lambda a: json.dumps(
                    execution_role_policy(list(a[1]), a[0], list(a[2]), keys, a[3], a[4])
                )
            ),
            opts=child,
        )
        return pulumi.Output.all(role.arn, policy.id).apply(lambda a: a[0])


def check_cluster_args(name: str, args: ClusterArgs) -> None:
    check_args("Cluster", name, args, ClusterArgs)
    for key, value, rule in (
        ("namespace", args.get("namespace"), check_namespace),
        ("log_retention_days", args.get("log_retention_days"), check_log_retention),
        ("task_role_policy_arns", args.get("task_role_policy_arns"), check_task_role_policy_arns),
        ("secret_kms_key_arns", args.get("secret_kms_key_arns"), check_kms_key_arns),
        (
            "readable_secret_arns",
            [a for a in args.get("readable_secret_arns") or [] if isinstance(a, str)],
            lambda arns: [check_secret_reference(a) for a in arns],
        ),
        (
            "drain_window_seconds",
            args.get("drain_window_seconds"),
            lambda s: _in_range(s, 30, 3600),
        ),
        ("discovery_service_name", args.get("discovery_service_name"), DNS_LABEL.check),
        ("tags", args.get("tags"), check_tags),
    ):
        check_arg("Cluster", name, key, value, rule)
    existing: dict[str, Any] = dict(args.get("existing_cluster") or {})
    if ("namespace_id" in existing) != ("namespace_name" in existing):
        raise arg_error(
            "Cluster", name, "existing_cluster", "give namespace_id and namespace_name together"
        )
    if "namespace_id" in existing and "discovery_service_name" not in args:
        raise arg_error(
            "Cluster",
            name,
            "discovery_service_name",
            "the namespace is shared with other apps: give the app's nodes a name of their own",
        )


def _in_range(value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"use {low}-{high}")
    return value
