"""Stack config validation: every problem reported at once, in plain words, before any resource,
and AWS's rules applied through the components' own checks."""

import json
import re
import time

import harness
import pytest
from tests_support import load_settings_with_edge, program_problems

from stacks.settings import ConfigError, Stage, load_settings
from stacks.settings.errors import HIDDEN


def problems(raw, **kwargs):
    with pytest.raises(ConfigError) as info:
        load_settings_with_edge(raw, **kwargs)
    return info.value.problems


def only(raw, **kwargs):
    (line,) = problems(raw, **kwargs)
    return line


# --- defaults and stages ------------------------------------------------------------------------


def test_defaults_are_production_safe():
    settings = load_settings_with_edge({})
    assert settings.stage is Stage.PRODUCTION
    assert settings.network.az_count == 3
    assert settings.network.nat.value == "per_az"
    assert settings.network.enable_flow_logs is True
    assert settings.database.monitoring_interval_seconds == 60
    assert settings.database.slow_query_ms == 500


def test_development_stage_only_changes_cost_defaults():
    settings = load_settings_with_edge({"stage": "development"})
    assert (settings.network.az_count, settings.network.nat.value) == (2, "instance")
    assert settings.network.enable_flow_logs is True


def test_explicit_values_beat_stage_defaults():
    settings = load_settings_with_edge(
        {"stage": "development", "network": {"nat": "single", "az_count": 3}}
    )
    assert (settings.network.az_count, settings.network.nat.value) == (3, "single")


def test_settings_are_frozen():
    settings = load_settings_with_edge({})
    with pytest.raises(Exception, match="frozen"):
        settings.network.cidr = "10.1.0.0/16"  # type: ignore[misc]


@pytest.mark.parametrize("stack", harness.stack_names())
def test_every_stack_file_passes_validation(stack):
    config = harness.stack_config(stack)
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("phoenix-aws:")}
    load_settings(raw, region=config.get("aws:region"))


# --- unknown keys -------------------------------------------------------------------------------


def test_typo_in_a_key_suggests_the_nearest_valid_key():
    """An unknown key never shows its value: a misspelt `secrets` holds secrets (issue 19)."""
    assert problems({"network": {"cidr_blok": "10.0.0.0/16"}}) == [
        "phoenix-aws:network.cidr_blok: unknown key; did you mean 'cidr'?"
    ]


def test_unknown_key_without_a_near_match_lists_valid_keys():
    line = only({"network": {"zzz": 1}})
    assert line.startswith(
        "phoenix-aws:network.zzz: unknown key; valid keys: availability_zones, az_count, cidr,"
    )


def test_a_misspelt_section_is_refused_by_the_program():
    """A top-level key under our namespace that no setting reads (a typo) is an error, found in
    the config the language host hands the program, not silently ignored."""
    lines = program_problems({"phoenix-aws:netwrok": {"az_count": 2}})
    assert "phoenix-aws:netwrok: unknown key; did you mean 'network'?" in lines


@pytest.mark.parametrize("namespace", ["phoenix_aws", "phoenix-awz", "Phoenix-AWS", "phoenixaws"])
def test_config_under_a_near_miss_namespace_names_the_right_one(namespace):
    lines = program_problems({f"{namespace}:network": {"az_count": 2}})
    assert (
        f"{namespace}:network: the namespace {namespace!r} is not read; this project's settings "
        "live under 'phoenix-aws': write phoenix-aws:network"
    ) in lines


def test_other_providers_namespaces_are_left_alone():
    assert program_problems({"aws:skipMetadataApiCheck": "true"}) == []


# --- messages in plain words ----------------------------------------------------------------------

PLAIN_CASES = [
    (
        {"network": {"cidr": "10.0.0.300/16"}},
        "phoenix-aws:network.cidr: expected a network in CIDR notation, e.g. 203.0.113.0/24 (got '10.0.0.300/16')",
    ),
    (
        {"network": {"cidr": "10.0.0.0/8"}},
        "phoenix-aws:network.cidr: the VPC CIDR prefix must be between /16 and /22 (got '10.0.0.0/8')",
    ),
    ({"network": {"az_count": 1}}, "phoenix-aws:network.az_count: must be at least 2 (got 1)"),
    (
        {"network": {"nat": "gateway"}},
        "phoenix-aws:network.nat: expected one of none, single, per_az, instance (got 'gateway')",
    ),
    (
        {
            "edge": {
                "domain": "app.example.com",
                "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/x",
                "health_check": "yes",
            }
        },
        "phoenix-aws:edge.health_check: expected a group of settings (key: value pairs) (got 'yes')",
    ),
    (
        {"release": {"canary_percent": 120}},
        "phoenix-aws:release.canary_percent: must be at most 100 (got 120)",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), PLAIN_CASES)
def test_messages_name_the_key_the_value_and_what_is_expected(raw, expected):
    assert expected in problems(raw)


def test_no_message_shows_a_regex_a_class_name_or_a_python_type():
    bad = {
        "network": {"nat": 3, "cidr": ["x"], "interface_endpoints": "ecr"},
        "database": {"instance_class": 5, "multi_az": "maybe"},
        "edge": {"domain": "App.Example.com", "health_check": "yes", "test_header": "a b"},
        "release": {"blue": "x", "live": "purple"},
        "app": {"name": "Shop", "cpu": "lots", "env": {"lower": "x"}},
    }
    for line in problems(bad):
        assert not re.search(
            r"\^|\$'|\\\\d|\[a-z|Settings|dict_type|model_type|Input should", line
        ), line


def test_yaml_numbers_are_told_to_be_quoted():
    """YAML reads `engine_version: 7.1` as a number; the message says to quote it."""
    lines = problems({"pubsub": {"adapter": "redis", "redis": {"engine_version": 7.1}}})
    assert lines == [
        "phoenix-aws:pubsub.redis.engine_version: expected text: YAML read 7.1 as a number; "
        "write it in quotes: '7.1'"
    ]
    assert only({"database": {"engine_version": 16}}).endswith("write it in quotes: '16'")


def test_every_problem_is_reported_at_once():
    lines = problems({"stage": "staging", "network": {"nat": "x", "cidr": "nope", "az_count": 9}})
    assert [line.split(":")[1].split(" ")[0] for line in lines] == [
        "stage",
        "network.cidr",
        "network.az_count",
        "network.nat",
    ]


def test_the_message_is_one_readable_block():
    with pytest.raises(ConfigError) as info:
        load_settings_with_edge({"network": {"nat": "x"}})
    assert str(info.value).startswith("invalid stack config:\n  phoenix-aws:network.nat:")


# --- secrets are never echoed -----------------------------------------------------------------------


def test_nothing_under_app_secrets_is_echoed():
    value = "arn:aws:secretsmanager:eu-west-1:123456789012:not-a-secret-path-TOPSECRET"
    lines = problems({"app": {"name": "shop", "secrets": {"SENTRY_DSN": value}}})
    assert lines and all("TOPSECRET" not in line for line in lines)
    assert lines[0].startswith("phoenix-aws:app.secrets: SENTRY_DSN:")
    assert lines[0].endswith(f"(got {HIDDEN})")


def test_pulumi_secret_config_is_never_echoed():
    lines = program_problems(
        {"phoenix-aws:tags": {"aws:owner": "s3cr3t-value"}}, secret_keys=["phoenix-aws:tags"]
    )
    assert lines and all("s3cr3t-value" not in line for line in lines)


# --- AWS rules the settings take from the components -------------------------------------------------

EDGE = {
    "domain": "app.example.com",
    "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
}
REFUSED = [
    ({"edge": {**EDGE, "ingress_cidrs": []}}, "edge.ingress_cidrs", "nobody could reach"),
    (
        {"edge": {**EDGE, "operator_cidrs": ["203.0.113.7"]}},
        "edge.operator_cidrs",
        "write 203.0.113.7/32",
    ),
    ({"edge": {**EDGE, "ingress_cidrs": ["::/0"]}}, "edge.ingress_cidrs", "IPv4-only"),
    (
        {"edge": {**EDGE, "certificate_arn": "arn:aws:acm:eu-west-1:certificate/abc"}},
        "edge.certificate_arn",
        "ACM certificate",
    ),
    (
        {"edge": {**EDGE, "certificate_arn": "arn:aws:iam::123456789012:server-certificate/abc"}},
        "edge.certificate_arn",
        "an ARN of iam",
    ),
    (
        {"edge": {**EDGE, "domain": "x" * 64 + ".example.com"}},
        "edge.domain",
        "longer than 63 characters",
    ),
    ({"edge": {**EDGE, "slow_start_seconds": 30}}, "edge.slow_start_seconds", "round_robin"),
    (
        {"app": {"name": "shop", "task_role_policy_arns": ["arn:aws:iam::policy/x"]}},
        "app.task_role_policy_arns",
        "IAM managed policy",
    ),
    (
        {"app": {"name": "shop", "secrets": {"X_DSN": "arn:aws:sqs:eu-west-1:123456789012:q"}}},
        "app.secrets",
        HIDDEN,
    ),
    ({"tags": {"aws:team": "web"}}, "tags", "reserves"),
    ({"database": {"instance_class": "t4g.micro"}}, "database.instance_class", "db.t4g.medium"),
    (
        {"pubsub": {"adapter": "redis", "redis": {"node_type": "t4g.small"}}},
        "pubsub.redis.node_type",
        "cache.t4g.small",
    ),
    (
        {"pubsub": {"adapter": "redis", "redis": {"engine_version": "5.0.6"}}},
        "pubsub.redis.engine_version",
        "6.2, 7.0, 7.1",
    ),
    (
        {"pubsub": {"adapter": "redis", "redis": {"maintenance_window": "sunday 5am"}}},
        "pubsub.redis.maintenance_window",
        "day:hh:mm-day:hh:mm",
    ),
    (
        {"pubsub": {"adapter": "redis", "redis": {"maintenance_window": "sun:05:00-sun:05:30"}}},
        "pubsub.redis.maintenance_window",
        "at least 60 minutes",
    ),
    (
        {"pubsub": {"adapter": "redis", "redis": {"maintenance_window": "sun:25:00-sun:26:00"}}},
        "pubsub.redis.maintenance_window",
        "not a time of day",
    ),
    ({"app": {"name": "a" * 60}}, "app.name", "at most 59 characters"),
    (
        {"app": {"name": "shop", "env": {"STRIPE_SECRET_KEY": "sk"}}},
        "app.env",
        "looks like a secret",
    ),
    ({"app": {"name": "shop", "env": {"GITHUB_TOKEN": "x"}}}, "app.env", "looks like a secret"),
    ({"app": {"name": "shop", "env": {"DB_PASSWORD_FILE": "x"}}}, "app.env", "looks like a secret"),
    ({"app": {"name": "shop", "env": {"API_KEY": "x"}}}, "app.env", "looks like a secret"),
    (
        {"pubsub": {"adapter": "erlang", "redis": {"node_type": "cache.t4g.micro"}}},
        "pubsub.redis",
        "no effect with adapter 'erlang'",
    ),
    (
        {"network": {"nat": "none"}},
        "network.interface_endpoints",
        "add ecr.api, ecr.dkr, logs, secretsmanager, ssm, ecs, ssmmessages, kms",
    ),
    (
        {"network": {"nat": "instance", "nat_instance_type": "t3.nano"}},
        "network.nat_instance_type",
        "arm64",
    ),
]


@pytest.mark.parametrize(("raw", "key", "message"), REFUSED)
def test_config_aws_would_refuse_is_refused_with_the_key(raw, key, message):
    lines = problems(raw)
    assert any(line.startswith(f"phoenix-aws:{key}:") and message in line for line in lines), lines


def test_pinned_zones_must_belong_to_the_stacks_region():
    line = only(
        {"network": {"availability_zones": ["us-east-1a", "us-east-1b"]}}, region="eu-west-1"
    )
    assert line.startswith(
        "phoenix-aws:network.availability_zones: 'us-east-1a' is not an availability zone of eu-west-1"
    )
    load_settings_with_edge(
        {"network": {"availability_zones": ["euw1-az1", "euw1-az3"]}}, region="eu-west-1"
    )


def test_a_nat_none_production_stack_with_every_endpoint_passes():
    endpoints = ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "ecs", "ssmmessages", "kms"]
    load_settings_with_edge({"network": {"nat": "none", "interface_endpoints": endpoints}})


def test_a_missing_build_context_is_a_config_error(tmp_path):
    line = only({"image": {"context": str(tmp_path / "nope")}})
    assert line.startswith("phoenix-aws:image.context: the directory")
    (tmp_path / "app").mkdir()
    line = only({"image": {"context": str(tmp_path / "app")}})
    assert "there is no Dockerfile" in line


# --- nothing registered, nothing hangs -----------------------------------------------------------------


def test_bad_config_registers_no_resource():
    config = harness.with_overrides(harness.stack_config("prod"), network={"nat": "gateway"})
    with pytest.raises(ConfigError) as info:
        harness.run_main(config, stack="prod")
    assert info.value.recorded == []  # type: ignore[attr-defined]


def test_a_missing_build_context_ends_the_program_at_once_with_nothing_registered():
    """It used to hang forever after 86 resources: the check ran after a deferred output."""
    config = harness.with_overrides(harness.stack_config("dev"), image={"context": "examples/nope"})
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        harness.run_main(config, stack="dev")
    assert time.monotonic() - started < 10
    assert info.value.recorded == []  # type: ignore[attr-defined]
    assert "phoenix-aws:image.context: the directory 'examples/nope' does not exist" in str(
        info.value
    )


def test_config_json_round_trip_is_what_the_cli_passes():
    """The CLI hands structured values as JSON strings; the program reads them back."""
    config = {
        k: json.dumps(v) if not isinstance(v, str) else v
        for k, v in harness.stack_config("dev").items()
    }
    run = harness.run_main(config, stack="dev")
    assert run.exports["live_slot"] == "blue"


def test_a_stack_without_a_region_is_refused_naming_the_region():
    config = {"phoenix-aws:edge": {"plain_http_only": True}, "aws:region": ""}
    (problem,) = [p for p in program_problems(config) if p.startswith("aws:region")]
    assert problem.startswith("aws:region: required, not set: the AWS Region every resource")
