"""Stack config validation: every problem reported at once, with path, reason and value."""

from __future__ import annotations

import harness
import pytest
from tests_support import load_settings_with_edge

from stacks.settings import ConfigError, Stage, raw_config_from_pulumi


def problems(raw):
    with pytest.raises(ConfigError) as info:
        load_settings_with_edge(raw)
    return info.value.problems


def test_defaults_are_production_safe():
    settings = load_settings_with_edge({})
    assert settings.stage is Stage.PRODUCTION
    assert settings.network.az_count == 3
    assert settings.network.nat.value == "per_az"
    assert settings.network.enable_flow_logs is True


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


def test_typo_in_a_key_suggests_the_nearest_valid_key():
    assert problems({"network": {"cidr_blok": "10.0.0.0/16"}}) == [
        "phoenix-aws:network.cidr_blok: unknown key; did you mean 'cidr'? (got '10.0.0.0/16')"
    ]


def test_typo_in_a_top_level_key_suggests_the_section():
    assert problems({"netwrok": {}}) == [
        "phoenix-aws:netwrok: unknown key; did you mean 'network'? (got {})"
    ]


def test_unknown_key_without_a_near_match_lists_valid_keys():
    (line,) = problems({"network": {"zzz": 1}})
    assert line.startswith(
        "phoenix-aws:network.zzz: unknown key; valid keys: availability_zones, az_count, cidr,"
    )


def test_cidr_that_does_not_parse():
    (line,) = problems({"network": {"cidr": "10.0.0.300/16"}})
    assert line.startswith("phoenix-aws:network.cidr: not a valid IPv4/IPv6 CIDR")
    assert line.endswith("(got '10.0.0.300/16')")


def test_cidr_with_a_prefix_we_cannot_plan():
    assert problems({"network": {"cidr": "10.0.0.0/8"}}) == [
        "phoenix-aws:network.cidr: VPC CIDR prefix must be between /16 and /22, got 10.0.0.0/8 (got '10.0.0.0/8')"
    ]


def test_cidr_overlapping_a_peer_network():
    assert problems({"network": {"cidr": "10.0.0.0/16", "peer_cidrs": ["10.0.128.0/17"]}}) == [
        'phoenix-aws:network.peer_cidrs: 10.0.128.0/17 overlaps the VPC CIDR 10.0.0.0/16 (got ["10.0.128.0/17"])'
    ]


def test_fewer_than_two_azs():
    assert problems({"network": {"az_count": 1}}) == [
        "phoenix-aws:network.az_count: Input should be greater than or equal to 2 (got 1)"
    ]
    (line,) = problems({"network": {"availability_zones": ["eu-west-1a"]}})
    assert line.startswith(
        "phoenix-aws:network.availability_zones: at least two availability zones"
    )


def test_nat_strategy_that_does_not_exist():
    assert problems({"network": {"nat": "gateway"}}) == [
        "phoenix-aws:network.nat: Input should be 'none', 'single', 'per_az' or 'instance' (got 'gateway')"
    ]


def test_unknown_interface_endpoint():
    (line,) = problems({"network": {"interface_endpoints": ["ecr"]}})
    assert line.startswith(
        "phoenix-aws:network.interface_endpoints: unknown endpoint 'ecr'; expected one of ecr.api"
    )


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


def test_raw_config_takes_only_our_namespace_and_parses_json():
    raw = raw_config_from_pulumi(
        {
            "aws:region": "eu-west-1",
            "phoenix-aws:network": '{"az_count": 2}',
            "phoenix-aws:stage": "development",
        }
    )
    assert raw == {"network": {"az_count": 2}, "stage": "development"}


@pytest.mark.parametrize("stack", harness.stack_names())
def test_every_stack_file_passes_validation(stack):
    raw = raw_config_from_pulumi(
        {
            k: v if isinstance(v, str) else __import__("json").dumps(v)
            for k, v in harness.stack_config(stack).items()
        }
    )
    load_settings_with_edge(raw)


def test_bad_config_registers_no_resource():
    config = harness.with_overrides(harness.stack_config("prod"), network={"nat": "gateway"})
    with pytest.raises(ConfigError):
        harness.run_main(config, stack="prod")
    # Run again capturing the record: nothing was registered before the error.
    import runpy

    registered = []

    def program():
        try:
            runpy.run_path(str(harness.ROOT / "__main__.py"))
        except ConfigError:
            registered.append("raised")

    run = harness.run(program, config)
    assert registered == ["raised"]
    assert run.resources == []
