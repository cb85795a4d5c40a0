"""phoenix-aws: one stack is settings → PhoenixApp → exports. The settings model validates the
stack file and builds the app's args; `PhoenixApp` builds every part; the exports are the ones
`phoenix_aws.outputs` names (what the release command reads)."""

import os

import pulumi
from phoenix_aws import PhoenixApp

from stacks.deployed import deployed_outputs
from stacks.settings import (
    RELEASE_CHANGE_ENV,
    RELEASE_EXPECTED_ENV,
    ConfigError,
    placeholder_warnings,
    release_change_problems,
    settings_from_pulumi,
)

settings = settings_from_pulumi()  # raises ConfigError before any resource is registered
deployed = deployed_outputs()  # this stack's last outputs ({} on the first deployment)
problems = release_change_problems(
    settings.release.state(),
    deployed.get("release_state"),
    expected=os.environ.get(RELEASE_EXPECTED_ENV),
    by_hand=os.environ.get(RELEASE_CHANGE_ENV) == "1",
)
if problems:
    raise ConfigError(problems)
for warning in placeholder_warnings(settings):  # example values the stack file still holds
    pulumi.log.warn(warning)

project, stack = pulumi.get_project(), pulumi.get_stack()
app = PhoenixApp(
    settings.app.name,
    settings.phoenix_app_args(
        name_parts=[project, stack],
        region=pulumi.Config("aws").get("region"),
        deployed=deployed,
        tags=settings.resource_tags(project, stack),
    ),
)
for name, value in app.exports().items():
    pulumi.export(name, value)
