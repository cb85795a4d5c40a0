"""Small helpers shared by the test modules."""

from __future__ import annotations

from typing import Any

from stacks.settings import StackSettings, load_settings

EDGE = {
    "domain": "app.example.com",
    "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
}
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:" + "b" * 64
APP = {"name": "shop"}
RELEASE = {"live": "blue", "blue": {"image": IMAGE, "desired_count": 2}}


def load_settings_with_edge(raw: dict[str, Any]) -> StackSettings:
    """`load_settings` with a valid edge, app and release unless the test gives its own."""
    return load_settings({"edge": EDGE, "app": APP, "release": RELEASE, **raw})
