"""`phoenix-aws:monitoring`: CloudWatch alarms to an SNS topic, and the stack's dashboard."""

import re
from typing import Annotated

from pydantic import Field

from .base import Frozen, ruled


def _emails(values: list[str]) -> list[str]:
    for value in values:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError(f"{value!r} is not an e-mail address")
    return values


class MonitoringSettings(Frozen):
    """`phoenix-aws:monitoring`: CloudWatch alarms to an SNS topic."""

    enabled: bool = True
    """CloudWatch alarms, their SNS topic and the dashboard."""
    alarm_emails: Annotated[list[str], ruled(_emails)] = []
    """Subscribed to the alarm topic (each address confirms once)."""
    target_5xx_per_minute: int = Field(default=10, ge=1)
    """App 5xx responses per minute (3 minutes running) that raise the alarm."""
