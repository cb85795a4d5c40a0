"""IAM policy documents shared by the components (pure functions returning dicts)."""

from typing import Any


def assume_role_policy(service: str) -> dict[str, Any]:
    """Trust policy that lets one AWS service principal assume a role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


def allow(actions: list[str], resources: list[str] | str) -> dict[str, Any]:
    """A policy document with one Allow statement."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}],
    }


def key_policy(account_id: str, *statements: dict[str, Any]) -> dict[str, Any]:
    """A KMS key policy: the account administers the key (through IAM), plus `statements` that
    let AWS services use it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            *statements,
        ],
    }
