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
