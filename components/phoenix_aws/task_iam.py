"""What the app's tasks may do in AWS, as pure policy documents: the execution roles (pull the
image, write logs, read exactly the given secrets), the task role (its database role, its drain
switches, ECS Exec sessions), the ECS Exec key; and what ECS accepts as a secret reference.
"""

import json
from typing import Any

from .policies import arn, assume_role_policy, key_policy
from .validation import check_arn, check_distinct

# ECS Exec (`aws ecs execute-command` → `bin/APP remote`) talks to SSM Session Manager channels.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html
ECS_EXEC_ACTIONS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]
# phoenix-aws 0.2's trust of the task roles, kept for importers: the roles now trust ECS only for
# this account's tasks (policies.ecs_tasks_trust).
ECS_TASKS_TRUST = json.dumps(assume_role_policy("ecs-tasks.amazonaws.com"))
# IAM quota: managed policies attached to one role (the default; AWS raises it to 20 on request).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
MAX_MANAGED_POLICIES_PER_ROLE = 10


def secret_resource_arn(value_from: str) -> str:
    """The secret ARN inside an ECS `valueFrom` (which may end in `:json-key:stage:version`)."""
    parts = value_from.split(":")
    if len(parts) > 7 and parts[2] == "secretsmanager":
        return ":".join(parts[:7])
    return value_from


def check_secret_reference(value_from: str) -> str:
    """What ECS accepts as a secret's `valueFrom`: the full ARN of a Secrets Manager secret
    (optionally with `:json-key:version-stage:version-id`) or of an SSM parameter.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html"""
    return check_arn(
        secret_resource_arn(value_from),
        service=("secretsmanager", "ssm"),
        resource=("secret:", "parameter/"),
        what="a Secrets Manager secret or SSM parameter",
        example="arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/sentry-dsn-AbCdEf",
    )


def check_policy_arn(arn: str) -> str:
    """An IAM managed policy ARN (`arn:aws:iam::aws:policy/...` or your account's)."""
    return check_arn(
        arn,
        service="iam",
        resource="policy/",
        what="an IAM managed policy",
        regional=False,
        example="arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess",
    )


def check_task_role_policy_arns(arns: list[str]) -> list[str]:
    """Managed policies for the app's task role: IAM policy ARNs, each once, at most 10 (IAM's
    quota of managed policies per role)."""
    for policy_arn in arns:
        check_policy_arn(policy_arn)
    check_distinct(arns)
    if len(arns) > MAX_MANAGED_POLICIES_PER_ROLE:
        raise ValueError(
            f"{len(arns)} managed policies; IAM attaches at most "
            f"{MAX_MANAGED_POLICIES_PER_ROLE} to one role (combine them into one policy)"
        )
    return arns


def check_kms_key_arns(arns: list[str]) -> list[str]:
    """Customer-managed KMS keys (full key ARNs, each once) that encrypt the app's secrets."""
    for key_arn in arns:
        check_arn(
            key_arn,
            service="kms",
            resource="key/",
            what="a KMS key",
            example="arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        )
    check_distinct(arns)
    return arns


def execution_role_policy(
    secret_arns: list[str],
    log_group_arn: str,
    repository_arns: list[str],
    secret_key_arns: list[str] | None = None,
    region: str | None = None,
    dns_suffix: str = "amazonaws.com",
) -> dict:
    """Pull images, write logs and read exactly the given secrets (nothing else).

    Secrets (or SecureString parameters) encrypted with a customer-managed key are readable only
    with `kms:Decrypt` on that key: the role gets exactly that, on exactly `secret_key_arns`, and
    only through Secrets Manager or SSM in the stack's Region (`kms:ViaService`).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html#secrets-iam
    """
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
    keys = sorted(set(secret_key_arns or []))
    if keys:
        statement: dict[str, Any] = {
            "Sid": "DecryptAppSecrets",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": keys,
        }
        if region:
            statement["Condition"] = {
                "StringEquals": {
                    "kms:ViaService": [
                        f"secretsmanager.{region}.{dns_suffix}",
                        f"ssm.{region}.{dns_suffix}",
                    ]
                }
            }
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def cluster_tasks_arn(partition: str, region: str, account_id: str, cluster_name: str) -> str:
    """Every task of a cluster: `arn:<partition>:ecs:<region>:<account>:task/<cluster name>/*`
    (the task ARN format with the cluster name, the resource type of DescribeTasks), built from
    the provider's partition, Region and account, never parsed out of another ARN.
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html"""
    if not cluster_name or "/" in cluster_name:
        raise ValueError(f"expected an ECS cluster name, got {cluster_name!r}")
    return arn(partition, "ecs", region, account_id, f"task/{cluster_name}/*")


def task_role_policy(
    *,
    db_connect_arns: list[str],
    drain_parameter_arns: list[str],
    exec_log_group_arn: str | None,
    exec_key_arn: str | None,
    cluster_arn: str | None = None,
    cluster_tasks: str | None = None,
) -> dict:
    """The app's own rights: log in to its database role (IAM auth), read its slots' drain
    switches, learn which of its cluster's tasks ECS is stopping (DescribeTasks: the drain of
    a stopping node), and serve ECS Exec sessions that are logged to an encrypted log group.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html#ecs-exec-logging"""
    statements: list[dict[str, Any]] = [
        {"Sid": "EcsExecChannels", "Effect": "Allow", "Action": ECS_EXEC_ACTIONS, "Resource": "*"},
    ]
    if exec_key_arn:
        statements.append(
            {
                "Sid": "EcsExecSessionKey",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": exec_key_arn,
            }
        )
    if exec_log_group_arn:
        statements += [
            {
                "Sid": "EcsExecLogging",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [exec_log_group_arn, f"{exec_log_group_arn}:*"],
            },
            {
                "Sid": "EcsExecLogGroups",
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": "*",
            },
        ]
    if db_connect_arns:
        statements.append(
            {
                "Sid": "DatabaseLogin",
                "Effect": "Allow",
                "Action": "rds-db:connect",
                "Resource": sorted(db_connect_arns),
            }
        )
    if drain_parameter_arns:
        statements.append(
            {
                "Sid": "DrainSwitch",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": sorted(drain_parameter_arns),
            }
        )
    if cluster_arn and cluster_tasks:
        statements.append(
            {
                "Sid": "DrainStoppingTasks",
                "Effect": "Allow",
                "Action": "ecs:DescribeTasks",
                "Resource": cluster_tasks,
                "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def exec_key_policy(
    account_id: str, region: str, log_group_arn: str, *, partition: str, dns_suffix: str
) -> dict:
    """The ECS Exec key: the account administers it; CloudWatch Logs (its regional principal,
    `logs.<region>.<the partition's DNS suffix>`) may use it for the exec log group only.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"""
    return key_policy(
        account_id,
        {
            "Sid": "CloudWatchLogsEncryptsExecSessions",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.{dns_suffix}"},
            "Action": [
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            "Resource": "*",
            "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
        },
        partition=partition,
    )
