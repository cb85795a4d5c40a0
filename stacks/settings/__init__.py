"""The validated settings of one stack: the only place that reads Pulumi stack config.

One module per concern: `base` (the frozen model, rules as validators), `errors` (plain-words
messages), one module per section (each hands its component its args), `stack` (the rules that
span sections, stage defaults), `loading` (reading config through the public API).
"""

from phoenix_aws.slots import BUILD

from .base import NAMESPACE
from .data import DatabaseSettings, PubSubAdapter, PubSubSettings, RedisSettings
from .edge import EdgeSettings, HealthCheckSettings, PathAllowListSettings
from .errors import ConfigError
from .image import ImageSettings
from .loading import (
    check_stack_config,
    key_problems,
    load_settings,
    raw_config_from_pulumi,
    region_problems,
    settings_from_pulumi,
)
from .monitoring import MonitoringSettings
from .network import NetworkSettings
from .nodes import AppSettings, ClusterSettings
from .placeholders import placeholder_warnings
from .release import (
    RELEASE_CHANGE_ENV,
    RELEASE_EXPECTED_ENV,
    ReleaseSettings,
    SlotSettings,
    StepInProgress,
    release_change_problems,
    release_differences,
    release_section,
)
from .stack import STAGE_DEFAULTS, StackSettings, Stage

__all__ = [
    "BUILD",
    "NAMESPACE",
    "RELEASE_CHANGE_ENV",
    "RELEASE_EXPECTED_ENV",
    "STAGE_DEFAULTS",
    "AppSettings",
    "ClusterSettings",
    "ConfigError",
    "DatabaseSettings",
    "EdgeSettings",
    "HealthCheckSettings",
    "ImageSettings",
    "MonitoringSettings",
    "NetworkSettings",
    "PathAllowListSettings",
    "PubSubAdapter",
    "PubSubSettings",
    "RedisSettings",
    "ReleaseSettings",
    "SlotSettings",
    "StackSettings",
    "Stage",
    "StepInProgress",
    "check_stack_config",
    "key_problems",
    "load_settings",
    "placeholder_warnings",
    "raw_config_from_pulumi",
    "region_problems",
    "release_change_problems",
    "release_differences",
    "release_section",
    "settings_from_pulumi",
]
