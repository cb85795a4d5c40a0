"""Rules of the app's containers and images: ECS's and ECR's Security Hub controls (ECS.*,
ECR.*), recorded ECS Exec sessions and the order in which a service may start."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .model import Context, Enforcement, Finding, Resource, Stack, resource_rule, stack_rule
from .properties import (
    ECR_LIFECYCLE_POLICY,
    ECR_REPOSITORY,
    ECS_CLUSTER,
    ECS_SERVICE,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    LOG_GROUP,
    TASK_DEFINITION,
    _containers,
    _first,
    _map,
    _seq,
    _true,
)

ECS_DOCS = "https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html"
ROOT_USERS = ("root", "0")
# ECS.8's `secretKeys`, then names and values that look like credentials.
AWS_SECRET_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ECS_ENGINE_AUTH_DATA")
SECRET_NAME = re.compile(
    r"SECRET|PASSWORD|PASSWD|_TOKEN$|^TOKEN$|_KEY$|^KEY$|COOKIE|CREDENTIAL|PRIVATE_KEY|API_KEY"
)
SECRET_VALUES = (
    (re.compile(r"\b(AK[I]A|AS[I]A)[A-Z0-9]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE[ ]KEY-----"), "a private key"),
    (re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with a password"),
    (re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36}|xox[abprs]-[A-Za-z0-9-]{10,})"), "an API token"),
    (re.compile(r"\b(sk|rk)_live_[A-Za-z0-9]{16,}"), "an API secret key"),
)


def secret_looking(name: str, value: Any) -> str | None:
    """Why the environment variable `name` looks like it holds a secret (None: it does not).
    Never returns the value itself."""
    if name in AWS_SECRET_NAMES:
        return "its name is one ECS.8 reserves for credentials"
    if SECRET_NAME.search(name.upper()):
        return "its name says it is a credential"
    for pattern, what in SECRET_VALUES:
        if isinstance(value, str) and pattern.search(value):
            return f"its value looks like {what}"
    return None


@resource_rule("ecs-2-no-public-ip", Enforcement.MANDATORY, ECS_SERVICE, control="ECS.2")
def ecs_2_no_public_ip(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.2: an ECS service gets no public IP addresses.

    The control fails if `AssignPublicIP` is ENABLED: the tasks would be reachable from the
    internet around the load balancer.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-2
    """
    if _true(_first(r.props.get("networkConfiguration")).get("assignPublicIp")):
        yield f"service {r.name!r} assigns public IPs to its tasks; set assignPublicIp to false"


@resource_rule("ecs-4-not-privileged", Enforcement.MANDATORY, TASK_DEFINITION, control="ECS.4")
def ecs_4_not_privileged(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.4: no container runs privileged.

    The control fails if a container definition sets `privileged` to true (root-like access to
    the host).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-4
    """
    for container in _containers(r):
        if _true(container.get("privileged")):
            yield f"container {container.get('name')!r} of {r.name!r} runs privileged"


@resource_rule(
    "ecs-8-no-secrets-in-environment", Enforcement.MANDATORY, TASK_DEFINITION, control="ECS.8"
)
def ecs_8_no_secrets_in_environment(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.8: no secret is passed as a plain environment variable.

    The control fails if a container's `environment` holds AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY or ECS_ENGINE_AUTH_DATA. We also refuse names that say they are
    credentials and values that look like one: secrets go in `secrets` (valueFrom), which ECS
    resolves from Secrets Manager or SSM when the task starts. The value is never echoed.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-8
    """
    for container in _containers(r):
        for variable in _seq(container.get("environment")):
            variable = _map(variable)
            name = str(variable.get("name", ""))
            why = secret_looking(name, variable.get("value"))
            if why:
                yield (
                    f"container {container.get('name')!r} of {r.name!r} gets {name} as plain "
                    f"environment ({why}); pass it as an ECS secret instead"
                )


@resource_rule("ecs-9-logging-configured", Enforcement.MANDATORY, TASK_DEFINITION, control="ECS.9")
def ecs_9_logging_configured(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.9: every container has a log configuration.

    The control fails if a container definition has no `logConfiguration` (its stdout, the app's
    event stream, would be lost).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-9
    """
    for container in _containers(r):
        if not _map(container.get("logConfiguration")).get("logDriver"):
            yield f"container {container.get('name')!r} of {r.name!r} has no logConfiguration"


@resource_rule("ecs-12-container-insights", Enforcement.ADVISORY, ECS_CLUSTER, control="ECS.12")
def ecs_12_container_insights(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.12: an ECS cluster uses Container Insights.

    The control fails if Container Insights is not set up for the cluster (per-task CPU, memory
    and network metrics). Advisory: the metrics are billed as custom metrics.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-12
    """
    for setting in _seq(r.props.get("settings")):
        setting = _map(setting)
        if setting.get("name") == "containerInsights" and setting.get("value") in (
            "enabled",
            "enhanced",
        ):
            return
    yield f"cluster {r.name!r} has Container Insights off; add the containerInsights setting"


@resource_rule("ecs-20-non-root-user", Enforcement.MANDATORY, TASK_DEFINITION, control="ECS.20")
def ecs_20_non_root_user(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.20: every Linux container runs as a non-root user.

    The control (Config rule ecs-task-definition-linux-user-non-root) fails if a container's
    `user` is root or is not set at all (images default to root).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-20
    """
    family = str(_first(r.props.get("runtimePlatform")).get("operatingSystemFamily") or "LINUX")
    if family.upper().startswith("WINDOWS"):
        return
    for container in _containers(r):
        user = container.get("user")
        if not user:
            yield (
                f"container {container.get('name')!r} of {r.name!r} sets no user, so it runs "
                "as the image's user (root by default); set user"
            )
        elif str(user).split(":")[0] in ROOT_USERS:
            yield f"container {container.get('name')!r} of {r.name!r} runs as root ({user})"


@stack_rule("ecs-exec-sessions-audited", Enforcement.MANDATORY)
def ecs_exec_sessions_audited(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """ECS Exec sessions are recorded in an encrypted CloudWatch log group.

    A remote console (`bin/APP remote` through ECS Exec) can change anything on a node; with
    `logging: OVERRIDE`, a `cloudWatchLogGroupName` and `cloudWatchEncryptionEnabled`, ECS
    records every session's commands and output in that log group, which must itself be
    KMS-encrypted (ECS refuses to write otherwise).
    AWS docs: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html#ecs-exec-logging
    """
    audited: set[str] = set()
    for service in stack.of_type(ECS_SERVICE):
        if not _true(service.props.get("enableExecuteCommand")):
            continue
        for cluster in stack.dependencies(service, ECS_CLUSTER):
            if cluster.urn in audited:
                continue
            audited.add(cluster.urn)
            settings = _first(
                _first(cluster.props.get("configuration")).get("executeCommandConfiguration")
            )
            log = _first(settings.get("logConfiguration"))
            group_name = log.get("cloudWatchLogGroupName")
            if settings.get("logging") != "OVERRIDE" or not group_name:
                yield Finding(
                    f"cluster {cluster.name!r} allows ECS Exec (service {service.name!r}) without "
                    f"recording sessions (logging {settings.get('logging') or 'DEFAULT'!r}); set "
                    "logging OVERRIDE with a cloudWatchLogGroupName",
                    cluster,
                )
                continue
            if not _true(log.get("cloudWatchEncryptionEnabled")):
                yield Finding(
                    f"cluster {cluster.name!r} records ECS Exec sessions unencrypted; set "
                    "cloudWatchEncryptionEnabled",
                    cluster,
                )
            for group in stack.of_type(LOG_GROUP):
                if group.props.get("name") == group_name and not group.props.get("kmsKeyId"):
                    yield Finding(
                        f"log group {group_name!r} receives ECS Exec sessions but is not "
                        "encrypted with a KMS key; set kmsKeyId",
                        group,
                    )


@stack_rule("ecs-service-waits-for-role-policies", Enforcement.MANDATORY)
def ecs_service_waits_for_role_policies(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """An ECS service is created after every policy of its task's roles.

    IAM roles and their policies are separate resources; a service created before its execution
    role may pull the image, read the secrets and write logs starts tasks that fail (and the
    deployment circuit breaker may roll back a healthy release).
    AWS docs: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
    """
    for service in stack.of_type(ECS_SERVICE):
        waits_for = stack.closure(service)
        missing: dict[str, Resource] = {}
        for task in stack.dependencies(service, TASK_DEFINITION):
            for role in stack.dependencies(task, IAM_ROLE):
                for policy in stack.dependents(role, IAM_ROLE_POLICY, IAM_ROLE_POLICY_ATTACHMENT):
                    if policy.urn not in waits_for:
                        missing[policy.urn] = policy
        if missing:
            names = ", ".join(sorted(repr(p.name) for p in missing.values()))
            yield Finding(
                f"service {service.name!r} can start tasks before {names} exist; make it depend "
                "on them",
                service,
            )


@resource_rule("ecs-service-strategy-changes-in-place", Enforcement.MANDATORY, ECS_SERVICE)
def ecs_service_strategy_changes_in_place(r: Resource, ctx: Context) -> Iterator[str]:
    """A service with a capacity provider strategy can change it without being replaced.

    ECS applies a new capacity provider strategy with a new deployment (UpdateService with
    forceNewDeployment); without `forceNewDeployment` terraform-provider-aws (and so pulumi-aws)
    replaces the service instead, and a service with a fixed name collides with itself: turning
    Fargate Spot on or off would fail the release.
    AWS docs: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
    """
    if _seq(r.props.get("capacityProviderStrategies")) and not _true(
        r.props.get("forceNewDeployment")
    ):
        yield (
            f"service {r.name!r} sets a capacity provider strategy without forceNewDeployment: "
            "changing the strategy (Spot on or off) would replace the service"
        )


SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


@stack_rule("ecs-secrets-have-values", Enforcement.MANDATORY)
def ecs_secrets_have_values(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """A task definition reads a secret of the stack only once the secret has a value.

    A secret without a version (its value) fails every task that references it at start:
    ResourceInitializationError, "unable to retrieve secret … AWSCURRENT". A secret's value may
    wait for something slow (a Redis endpoint), so the task definition must wait for the version,
    not only the secret.
    AWS docs: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/troubleshoot-task-init-errors.html
    """
    for task in stack.of_type(TASK_DEFINITION):
        waits_for = stack.closure(task)
        for urn in sorted(waits_for):
            secret = stack.by_urn.get(urn)
            if secret is None or secret.type != SECRET:
                continue
            versions = stack.dependents(secret, SECRET_VERSION)
            if versions and not any(v.urn in waits_for for v in versions):
                yield Finding(
                    f"task definition {task.name!r} can be registered (and its tasks started) "
                    f"before secret {secret.name!r} has a value; make it wait for "
                    f"{versions[0].name!r}",
                    task,
                )


# ---------------------------------------------------------------------------------------------
# ECR


@resource_rule("ecr-1-scan-on-push", Enforcement.MANDATORY, ECR_REPOSITORY, control="ECR.1")
def ecr_1_scan_on_push(r: Resource, ctx: Context) -> Iterator[str]:
    """ECR.1: a private repository scans images on push.

    The control fails if a private repository has no image scanning configured.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html#ecr-1
    """
    if not _true(_first(r.props.get("imageScanningConfiguration")).get("scanOnPush")):
        yield (
            f"repository {r.name!r} does not scan images; set imageScanningConfiguration.scanOnPush"
        )


@resource_rule("ecr-2-immutable-tags", Enforcement.MANDATORY, ECR_REPOSITORY, control="ECR.2")
def ecr_2_immutable_tags(r: Resource, ctx: Context) -> Iterator[str]:
    """ECR.2: a private repository has immutable tags.

    The control fails if tag immutability is not configured: a pushed tag could then be moved to
    another image under a running release.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html#ecr-2
    """
    if not str(r.props.get("imageTagMutability") or "MUTABLE").startswith("IMMUTABLE"):
        yield f"repository {r.name!r} allows overwriting tags; set imageTagMutability IMMUTABLE"


@stack_rule("ecr-3-lifecycle-policy", Enforcement.ADVISORY, control="ECR.3")
def ecr_3_lifecycle_policy(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """ECR.3: a repository has a lifecycle policy.

    The control fails if a repository has no lifecycle policy (images, and their storage bill,
    accumulate forever). Advisory: cost.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html#ecr-3
    """
    for repository in stack.of_type(ECR_REPOSITORY):
        if not stack.dependents(repository, ECR_LIFECYCLE_POLICY):
            yield Finding(
                f"repository {repository.name!r} has no lifecycle policy; old images pile up",
                repository,
            )
