"""Small helpers shared by the test modules."""

from __future__ import annotations

from typing import Any

from stacks.settings import StackSettings, load_settings

EDGE = {
    "domain": "app.example.com",
    "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
}


def load_settings_with_edge(raw: dict[str, Any]) -> StackSettings:
    """`load_settings` with a valid HTTPS edge unless the test gives its own."""
    return load_settings({"edge": EDGE, **raw})
