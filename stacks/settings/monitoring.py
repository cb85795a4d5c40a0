"""`phoenix-aws:monitoring`: CloudWatch alarms to an SNS topic, and the stack's dashboard."""

from typing import Annotated

from phoenix_aws.app_args import MonitoringOptions
from phoenix_aws.monitoring import check_alarm_emails
from pydantic import Field

from .base import Frozen, ruled


class MonitoringSettings(Frozen):
    """`phoenix-aws:monitoring`: CloudWatch alarms to an SNS topic."""

    enabled: bool = True
    """CloudWatch alarms, their SNS topic and the dashboard."""
    alarm_emails: Annotated[list[str], ruled(check_alarm_emails)] = []
    """Subscribed to the alarm topic (each address confirms once)."""
    target_5xx_per_minute: int = Field(default=10, ge=1)
    """App 5xx responses per minute (3 minutes running) that raise the alarm."""

    def options(self) -> MonitoringOptions:
        """PhoenixApp's `monitoring` section."""
        return MonitoringOptions(
            enabled=self.enabled,
            alarm_emails=list(self.alarm_emails),
            target_5xx_per_minute=self.target_5xx_per_minute,
        )
