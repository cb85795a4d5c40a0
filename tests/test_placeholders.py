"""Example values left in a stack file become a warning at every preview, naming each key to set.

The reserved values come from the documents that reserve them: RFC 2606 / RFC 6761 (example
domains), RFC 5737 (IPv4 documentation networks 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24),
RFC 3849 (IPv6 2001:db8::/32) and the sample account IDs of the AWS documentation.
"""

import harness
import pytest

from stacks.settings import load_settings, placeholder_warnings, raw_config_from_pulumi
from stacks.settings.placeholders import why_example

REAL_IMAGE = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:" + "5f" * 32


def keys_warned(warnings: list[str]) -> list[str]:
    return [w.split(": ", 1)[0] for w in warnings]


def test_the_shipped_prod_stack_warns_once_per_example_key_at_every_run() -> None:
    """The warnings reach the engine (`pulumi.log.warn`), so `pulumi preview` shows them."""
    run = harness.run_main(harness.stack_config("prod"), stack="prod")
    assert keys_warned(run.warnings) == [
        "phoenix-aws:edge.domain",
        "phoenix-aws:edge.hosted_zone_id",
        "phoenix-aws:edge.operator_cidrs",
        "phoenix-aws:app.secrets.SENTRY_DSN",
        "phoenix-aws:monitoring.alarm_emails",
        "phoenix-aws:release.blue.image",
        "phoenix-aws:release.green.image",
    ]
    assert all("set your own" in w for w in run.warnings)


def test_local_stack_has_nothing_to_replace() -> None:
    assert harness.run_main(harness.stack_config("local"), stack="local").warnings == []


def test_a_stack_with_its_own_values_gets_no_warning() -> None:
    config = harness.with_overrides(
        harness.stack_config("prod"),
        edge={
            "domain": "app.shop.eu",
            "hosted_zone_id": "Z07384721R2WQDB3LFH9S",
            "operator_cidrs": ["81.2.69.0/28"],
        },
        app={"secrets": {"SENTRY_DSN": "arn:aws:secretsmanager:eu-west-1:210987654321:secret:s"}},
        monitoring={"alarm_emails": ["oncall@shop.eu"]},
        release={"blue": {"image": REAL_IMAGE}, "green": {"image": REAL_IMAGE}},
    )
    settings = load_settings(raw_config_from_pulumi(config), region="eu-west-1")
    assert placeholder_warnings(settings, frozenset()) == []


@pytest.mark.parametrize(
    "value",
    [
        "example.com",
        "app.example.org",
        "ops@example.net",
        "shop.test",
        "api.staging.invalid",
        "www.shop.example",
        "192.0.2.0/24",
        "198.51.100.7/32",
        "203.0.113.128/25",
        "2001:db8:1::/48",
        "arn:aws:iam::111122223333:role/x",
        "444455556666.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "ab" * 32,
    ],
)
def test_reserved_values_are_recognised(value: str) -> None:
    assert why_example(value)


@pytest.mark.parametrize(
    "value",
    [
        "examples.com",  # a real registrable domain
        "example.community",
        "shop.eu",
        "10.0.0.0/16",
        "203.0.112.0/24",  # next to, not inside, a documentation network
        "203.0.0.0/16",  # contains one, is not one
        "0.0.0.0/0",
        "Z07384721R2WQDB3LFH9S",
    ],
)
def test_real_values_are_left_alone(value: str) -> None:
    assert why_example(value) is None


def test_a_secret_section_is_warned_about_without_its_value() -> None:
    config = harness.with_overrides(
        harness.stack_config("prod"), monitoring={"alarm_emails": ["private@example.com"]}
    )
    settings = load_settings(raw_config_from_pulumi(config), region="eu-west-1")
    warnings = placeholder_warnings(settings, frozenset({"monitoring"}))
    (line,) = [w for w in warnings if w.startswith("phoenix-aws:monitoring.")]
    assert "private@example.com" not in line and "set your own" in line
