"""Small helpers shared by the test modules."""

from __future__ import annotations

from typing import Any

import harness
import pulumi

from stacks.settings import ConfigError, StackSettings, load_settings
from stacks.settings.loading import settings_from_pulumi

EDGE = {
    "domain": "app.example.com",
    "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
}
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:" + "b" * 64
APP = {"name": "shop"}
RELEASE = {"live": "blue", "blue": {"image": IMAGE, "desired_count": 2}}


def load_settings_with_edge(raw: dict[str, Any], region: str | None = None) -> StackSettings:
    """`load_settings` with a valid edge, app and release unless the test gives its own."""
    return load_settings({"edge": EDGE, "app": APP, "release": RELEASE, **raw}, region=region)


def program_problems(extra: dict[str, Any], secret_keys: list[str] | None = None) -> list[str]:
    """The config problems the program reports (as the language host would hand it config),
    for a valid production config plus `extra` full keys."""
    config = {
        "aws:region": "eu-west-1",
        "phoenix-aws:edge": EDGE,
        "phoenix-aws:app": APP,
        "phoenix-aws:release": RELEASE,
        **extra,
    }
    found: list[str] = []

    def program() -> None:
        try:
            settings_from_pulumi()
        except ConfigError as exc:
            found.extend(exc.problems)
        pulumi.export("done", True)

    harness.run(program, config, secret_keys=secret_keys)
    return found
