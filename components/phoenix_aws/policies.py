"""IAM policy documents and ARNs shared by the components (pure functions returning dicts).

ARNs are built from the partition the provider reports (`aws`, `aws-cn`, `aws-us-gov`), never
from a literal `arn:aws:`, so the same program deploys to the China and GovCloud partitions.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
"""

from typing import Any

CONFUSED_DEPUTY_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"


def arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    """`arn:<partition>:<service>:<region>:<account>:<resource>`."""
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def managed_policy_arn(partition: str, name: str) -> str:
    """An AWS managed policy, e.g. `service-role/AmazonRDSEnhancedMonitoringRole`."""
    return arn(partition, "iam", "", "aws", f"policy/{name}")


def assume_role_policy(
    service: str, *, account_id: str | None = None, source_arn: str | None = None
) -> dict[str, Any]:
    """Trust policy that lets one AWS service principal assume a role.

    With `account_id` the service may assume it only on behalf of this account
    (`aws:SourceAccount`), with `source_arn` only for these resources (`aws:SourceArn`, a pattern):
    the cross-service confused deputy guidance of IAM (CONFUSED_DEPUTY_DOC).
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    condition: dict[str, Any] = {}
    if account_id:
        condition["StringEquals"] = {"aws:SourceAccount": account_id}
    if source_arn:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def ecs_tasks_trust(partition: str, region: str, account_id: str) -> dict[str, Any]:
    """ECS task and task execution roles: only ECS acting for this account's tasks in this
    Region (`aws:SourceArn` `arn:…:ecs:<region>:<account>:*`).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html"""
    return assume_role_policy(
        "ecs-tasks.amazonaws.com",
        account_id=account_id,
        source_arn=arn(partition, "ecs", region, account_id, "*"),
    )


def flow_logs_trust(partition: str, region: str, account_id: str) -> dict[str, Any]:
    """The VPC flow logs delivery role: only flow logs of this account in this Region.
    https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html"""
    return assume_role_policy(
        "vpc-flow-logs.amazonaws.com",
        account_id=account_id,
        source_arn=arn(partition, "ec2", region, account_id, "vpc-flow-log/*"),
    )


def rds_monitoring_trust(
    partition: str, region: str, account_id: str, db_identifier: str
) -> dict[str, Any]:
    """The enhanced monitoring role of one DB instance: only RDS monitoring of that instance.
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.Enabling.html"""
    return assume_role_policy(
        "monitoring.rds.amazonaws.com",
        account_id=account_id,
        source_arn=arn(partition, "rds", region, account_id, f"db:{db_identifier}"),
    )


def ec2_trust(account_id: str) -> dict[str, Any]:
    """An instance profile's role: only EC2 acting for this account (`aws:SourceAccount`; the
    session's source ARN is the instance, which is not known before it launches).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"""
    return assume_role_policy("ec2.amazonaws.com", account_id=account_id)


def allow(actions: list[str], resources: list[str] | str) -> dict[str, Any]:
    """A policy document with one Allow statement."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}],
    }


def key_policy(account_id: str, *statements: dict[str, Any], partition: str) -> dict:
    """A KMS key policy: the account administers the key (through IAM), plus `statements` that
    let AWS services use it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": arn(partition, "iam", "", account_id, "root")},
                "Action": "kms:*",
                "Resource": "*",
            },
            *statements,
        ],
    }
