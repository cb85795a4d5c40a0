"""The stack file editor: release changes land as YAML a person would write, nothing else moves.

Checked with PyYAML (an independent parser, the one the tests and the Automation API's own
stack-settings loader use), not with the round-trip library that wrote the file.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
import yaml

from release.stack_file import (
    StackFile,
    StackFileError,
    read_config,
    stack_file_name,
    with_release_changes,
)

ROOT = Path(__file__).resolve().parent.parent
DIGEST = "repo/shop@sha256:" + "2" * 64


def shipped(stack: str) -> str:
    return (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()


def release_of(text: str) -> dict:
    return yaml.safe_load(text)["config"]["phoenix-aws:release"]


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_a_shipped_stack_file_is_rewritten_byte_for_byte_when_nothing_changes(stack):
    assert with_release_changes(shipped(stack), {}) == shipped(stack)


def test_changes_are_written_as_typed_yaml_not_json_strings():
    text = with_release_changes(
        shipped("prod"),
        {
            "green.image": DIGEST,
            "green.desired_count": 3,
            "green.max_count": 12,
            "green.run_migrations": False,
            "green.draining": False,
        },
    )
    green = release_of(text)["green"]
    assert green == {
        "image": DIGEST,
        "version": "2026.11.13-2",
        "desired_count": 3,
        "max_count": 12,
        "run_migrations": False,
        "draining": False,
    }
    assert type(green["desired_count"]) is int and type(green["draining"]) is bool
    assert "      desired_count: 3\n" in text and "      draining: false\n" in text


def test_a_version_that_looks_like_a_number_stays_a_string():
    text = with_release_changes(shipped("prod"), {"green.version": "2.0"})
    assert release_of(text)["green"]["version"] == "2.0"


def test_only_the_changed_release_lines_differ_and_comments_survive():
    before = shipped("prod")
    after = with_release_changes(before, {"live": "green", "green.desired_count": 3})
    assert changed_lines(before, after) == [
        "-    live: blue",
        "+    live: green",
        "-      desired_count: 0",
        "+      desired_count: 3",
    ]
    assert "# the other slot: the next release, or the last one kept for rollback" in after
    assert "hosted_zone_id: Z0123456789ABCDEFGHIJ   # a DNS-validated ACM certificate" in after


def test_a_new_release_key_goes_next_to_live_and_a_removed_one_leaves_no_trace():
    before = shipped("prod")
    promoting = with_release_changes(before, {"promoting": "green"})
    assert "    live: blue\n    canary_percent: 0\n    promoting: green\n    blue:" in promoting
    assert with_release_changes(promoting, {"promoting": None}) == before


def test_a_missing_slot_is_added_as_a_nested_mapping():
    text = with_release_changes(shipped("local"), {"green.image": DIGEST, "green.desired_count": 1})
    assert release_of(text)["green"] == {"image": DIGEST, "desired_count": 1}
    assert text.endswith("    green:\n      image: " + DIGEST + "\n      desired_count: 1\n")


def test_a_release_section_written_as_a_json_string_is_turned_back_into_yaml():
    """What the old command wrote (`pulumi config set` with a JSON string) made the next --plan
    raise; the editor repairs it on the first change."""
    legacy = shipped("local").split("  phoenix-aws:release:")[0] + (
        "  phoenix-aws:release: "
        + json.dumps(json.dumps({"live": "blue", "blue": {"image": DIGEST, "desired_count": 1}}))
        + "\n"
    )
    text = with_release_changes(legacy, {"blue.desired_count": 2})
    assert release_of(text) == {"live": "blue", "blue": {"image": DIGEST, "desired_count": 2}}


def test_an_unchanged_value_keeps_its_quoting():
    text = 'config:\n  phoenix-aws:release:\n    live: "blue"\n    canary_percent: 0\n'
    assert with_release_changes(text, {"live": "blue", "canary_percent": 0}) == text


def test_read_config_gives_plain_values():
    config = read_config(shipped("dev"))
    assert config["phoenix-aws:release"]["blue"] == {
        "image": "build",
        "desired_count": 1,
        "max_count": 2,
    }
    assert type(config["phoenix-aws:release"]["blue"]["desired_count"]) is int


def test_invalid_yaml_is_a_clear_error():
    with pytest.raises(StackFileError, match="not valid YAML at line"):
        read_config("config:\n  a: [unclosed\n", "stacks/Pulumi.x.yaml")


def test_a_missing_stack_file_names_the_path(tmp_path):
    with pytest.raises(StackFileError, match=r"no stack file .*Pulumi\.staging\.yaml"):
        StackFile.for_stack(tmp_path, "staging")


def test_a_fully_qualified_stack_name_uses_the_short_file_name():
    assert stack_file_name("acme/phoenix-aws/prod") == "Pulumi.prod.yaml"


def test_writing_replaces_the_file_whole_and_keeps_its_mode(tmp_path):
    (tmp_path / "stacks").mkdir()
    path = tmp_path / "stacks" / "Pulumi.prod.yaml"
    path.write_text(shipped("prod"))
    path.chmod(0o640)
    stack_file = StackFile.for_stack(tmp_path, "prod")
    stack_file.change_release({"canary_percent": 10, "green.desired_count": 3})
    assert stack_file.release()["canary_percent"] == 10
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == ["Pulumi.prod.yaml"]
