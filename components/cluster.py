"""Cluster: what both release slots share. The ECS cluster, the private DNS that lets BEAM nodes
find each other, the per-stack secrets, the IAM roles and the log group.
"""

import json
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from .naming import IAM_ROLE_NAME_MAX, physical_name
from .policies import allow, assume_role_policy
from .secrets import stored_secret
from .slots import SLOTS

# ECS Exec (`aws ecs execute-command` → `bin/APP remote`) talks to SSM Session Manager channels.
ECS_EXEC_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


def secret_resource_arn(value_from: str) -> str:
    """The secret ARN inside an ECS `valueFrom` (which may end in `:json-key:stage:version`)."""
    parts = value_from.split(":")
    if len(parts) > 7 and parts[2] == "secretsmanager":
        return ":".join(parts[:7])
    return value_from


def execution_role_policy(
    secret_arns: list[str], log_group_arn: str, repository_arns: list[str]
) -> dict:
    """Pull images, write logs and read exactly the given secrets (nothing else)."""
    statements: list[dict] = [
        {
            "Sid": "EcrAuth",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "PullImages",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            "Resource": repository_arns or "*",
        },
        {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
    ]
    arns = sorted({secret_resource_arn(a) for a in secret_arns if a})
    secrets = [a for a in arns if ":ssm:" not in a]
    parameters = [a for a in arns if ":ssm:" in a]
    if secrets:
        statements.append(
            {
                "Sid": "ReadAppSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secrets,
            }
        )
    if parameters:
        statements.append(
            {
                "Sid": "ReadAppParameters",
                "Effect": "Allow",
                "Action": "ssm:GetParameters",
                "Resource": parameters,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


class ClusterArgs(TypedDict):
    """Inputs of a Cluster."""

    name_parts: list[str]
    """Parts of physical names, e.g. [project, stack]."""
    vpc_id: pulumi.Input[str]
    namespace: NotRequired[str]
    """Private DNS namespace for discovery. Default: `<parts reversed joined by .>.internal`."""
    discovery_service_name: NotRequired[str]
    """Name under the namespace that resolves to every node. Default: `nodes`."""
    share_discovery_across_slots: NotRequired[bool]
    """One DNS name for blue and green nodes (one BEAM cluster spanning both slots during a swap),
    or one name per slot (isolated clusters). Default: true (shared)."""
    readable_secret_arns: NotRequired[list[pulumi.Input[str]]]
    """Further secrets the tasks receive (database, Redis URL, user secrets); the execution role
    may read exactly these plus the cluster's own. Default: none."""
    repository_arns: NotRequired[list[pulumi.Input[str]]]
    """ECR repositories the execution role may pull from. Default: any."""
    task_role_policy_arns: NotRequired[list[str]]
    """Managed policies for the app's own AWS calls. Default: none (ECS Exec only)."""
    log_retention_days: NotRequired[int]
    """Default: 30."""
    enable_container_insights: NotRequired[bool]
    """Default: true."""
    protect_secrets: NotRequired[bool]
    """Pulumi `protect` on the generated secrets. Default: true."""
    tags: NotRequired[dict[str, str]]


class Cluster(pulumi.ComponentResource):
    """ECS cluster + Cloud Map discovery + SECRET_KEY_BASE/RELEASE_COOKIE + task IAM + logs."""

    cluster_arn: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    namespace_id: pulumi.Output[str]
    namespace_name: pulumi.Output[str]
    discovery_service_arns: pulumi.Output[dict[str, str]]
    dns_cluster_queries: pulumi.Output[dict[str, str]]
    execution_role_arn: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    app_secrets: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("phoenix-aws:components:Cluster", name, None, opts)
        parts = list(args["name_parts"])
        base = physical_name(*parts, max_length=200)
        tags = dict(args.get("tags") or {})
        child = pulumi.ResourceOptions(parent=self)
        namespace = (
            args.get("namespace")
            or ".".join(reversed([p for p in map(str.lower, parts)])) + ".internal"
        )
        shared = args.get("share_discovery_across_slots", True)
        service_name = args.get("discovery_service_name", "nodes")

        self.cluster = aws.ecs.Cluster(
            f"{name}-ecs",
            name=base,
            settings=[
                {
                    "name": "containerInsights",
                    "value": "enabled"
                    if args.get("enable_container_insights", True)
                    else "disabled",
                }
            ],
            configuration={"execute_command_configuration": {"logging": "DEFAULT"}},
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

        self.namespace = aws.servicediscovery.PrivateDnsNamespace(
            f"{name}-namespace",
            name=namespace,
            vpc=args["vpc_id"],
            description=f"BEAM node discovery for {base}",
            tags=tags,
            opts=child,
        )
        names = {slot: service_name if shared else f"{service_name}-{slot}" for slot in SLOTS}
        services: dict[str, aws.servicediscovery.Service] = {}
        for dns_name in sorted(set(names.values())):
            # A records, MULTIVALUE: one query returns every healthy node (dns_cluster, libcluster).
            services[dns_name] = aws.servicediscovery.Service(
                f"{name}-discovery-{dns_name}",
                name=dns_name,
                namespace_id=self.namespace.id,
                dns_config={
                    "namespace_id": self.namespace.id,
                    "routing_policy": "MULTIVALUE",
                    "dns_records": [{"type": "A", "ttl": 10}],
                },
                health_check_custom_config={"failure_threshold": 1},
                force_destroy=True,
                tags=tags,
                opts=child,
            )

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/ecs/{base}",
            retention_in_days=args.get("log_retention_days", 30),
            tags=tags,
            opts=child,
        )

        protected = pulumi.ResourceOptions(parent=self, protect=args.get("protect_secrets", True))
        key_base = random.RandomBytes(f"{name}-secret-key-base-random", length=64, opts=protected)
        cookie = random.RandomPassword(
            f"{name}-release-cookie-random", length=64, special=False, opts=protected
        )
        self.secrets: dict[str, aws.secretsmanager.Secret] = {}
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
                protect=args.get("protect_secrets", True),
                parent=self,
            )

        ecs_trust = json.dumps(assume_role_policy("ecs-tasks.amazonaws.com"))
        self.execution_role = aws.iam.Role(
            f"{name}-execution-role",
            name=physical_name(*parts, "exec", max_length=IAM_ROLE_NAME_MAX),
            assume_role_policy=ecs_trust,
            description="ECS agent: pull images, write logs, read this app's secrets",
            tags=tags,
            opts=child,
        )
        readable = [s.arn for s in self.secrets.values()] + list(
            args.get("readable_secret_arns") or []
        )
        repositories = list(args.get("repository_arns") or [])
        aws.iam.RolePolicy(
            f"{name}-execution-policy",
            role=self.execution_role.id,
            policy=pulumi.Output.all(
                self.log_group.arn, pulumi.Output.all(*readable), pulumi.Output.all(*repositories)
            ).apply(lambda a: json.dumps(execution_role_policy(list(a[1]), a[0], list(a[2])))),
            opts=child,
        )
        self.task_role = aws.iam.Role(
            f"{name}-task-role",
            name=physical_name(*parts, "task", max_length=IAM_ROLE_NAME_MAX),
            assume_role_policy=ecs_trust,
            description="The Phoenix app's own AWS identity",
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-task-exec-policy",
            role=self.task_role.id,
            policy=json.dumps(allow(ECS_EXEC_ACTIONS, "*")),
            opts=child,
        )
        for i, policy_arn in enumerate(args.get("task_role_policy_arns") or []):
            aws.iam.RolePolicyAttachment(
                f"{name}-task-policy-{i}",
                role=self.task_role.name,
                policy_arn=policy_arn,
                opts=child,
            )

        self.cluster_arn = self.cluster.arn
        self.cluster_name = self.cluster.name
        self.namespace_id = self.namespace.id
        self.namespace_name = self.namespace.name
        self.discovery_service_arns = pulumi.Output.all(
            **{slot: services[names[slot]].arn for slot in SLOTS}
        )
        self.dns_cluster_queries = pulumi.Output.from_input(
            {slot: f"{names[slot]}.{namespace}" for slot in SLOTS}
        )
        self.execution_role_arn = self.execution_role.arn
        self.task_role_arn = self.task_role.arn
        self.log_group_name = self.log_group.name
        self.app_secrets = pulumi.Output.all(
            **{env_name: secret.arn for env_name, secret in self.secrets.items()}
        )
        self.register_outputs(
            {
                "cluster_arn": self.cluster_arn,
                "cluster_name": self.cluster_name,
                "namespace_name": self.namespace_name,
                "discovery_service_arns": self.discovery_service_arns,
                "dns_cluster_queries": self.dns_cluster_queries,
                "execution_role_arn": self.execution_role_arn,
                "task_role_arn": self.task_role_arn,
                "log_group_name": self.log_group_name,
            }
        )
