"""Waivers: an advisory rule may be skipped by a stack only with a written reason; a mandatory
rule (a security boundary) never."""

from __future__ import annotations

import pytest

from policy.rules import RULES, Enforcement, Violation
from policy.waivers import WaiverError, load_waivers, parse_waivers, split_waived

MANDATORY = [r.name for r in RULES if r.enforcement is Enforcement.MANDATORY]


def refused(document) -> list[str]:
    with pytest.raises(WaiverError) as caught:
        parse_waivers(document, source="waivers.yaml")
    return caught.value.problems


def test_the_shipped_waiver_file_is_valid_and_covers_only_development_stacks():
    waivers = load_waivers()
    assert set(waivers) == {"dev", "local"}
    assert all(len(reason.split()) >= 3 for rules in waivers.values() for reason in rules.values())


def test_a_waiver_with_a_reason_is_accepted():
    waivers = parse_waivers(
        {"dev": {"rds-5-multi-az": {"reason": "dev runs one instance to save cost"}}}
    )
    assert waivers == {"dev": {"rds-5-multi-az": "dev runs one instance to save cost"}}


@pytest.mark.parametrize("waiver", [{}, {"reason": None}, {"reason": "   "}, None, "cheap"])
def test_a_waiver_without_a_written_reason_is_refused(waiver):
    problems = refused({"dev": {"rds-5-multi-az": waiver}})
    assert problems == [
        "waivers.yaml: dev.rds-5-multi-az: a waiver needs a written reason (reason: a sentence "
        "of at least 3 words saying why this stack may skip the rule)"
    ]


def test_a_one_word_reason_is_not_a_reason():
    assert "needs a written reason" in refused({"dev": {"rds-5-multi-az": {"reason": "cost"}}})[0]


@pytest.mark.parametrize("rule", MANDATORY)
def test_a_mandatory_rule_cannot_be_waived(rule):
    problems = refused({"prod": {rule: {"reason": "we accept this risk for now"}}})
    assert problems == [
        f"waivers.yaml: prod.{rule}: this rule is mandatory (a security boundary) and cannot be "
        "waived; fix the resource instead"
    ]


def test_an_unknown_rule_name_is_refused_with_a_suggestion():
    problems = refused({"dev": {"rds-5-multiaz": {"reason": "dev runs one instance"}}})
    assert problems == [
        "waivers.yaml: dev.rds-5-multiaz: no rule has this name; did you mean 'rds-5-multi-az'?"
    ]


def test_every_problem_of_the_file_is_reported_at_once():
    problems = refused(
        {
            "dev": {
                "rds-5-multi-az": {},
                "ec2-15-no-automatic-public-ip": {"reason": "the NAT needs it, really"},
                "rds-8-deletion-protection": {"reason": "ok", "expires": "2030-01-01"},
            },
            "local": "everything",
        }
    )
    assert len(problems) == 5
    assert any("unknown key 'expires'" in p for p in problems)
    assert any(p.startswith("waivers.yaml: local: expected a map") for p in problems)


def test_a_waiver_file_that_is_not_yaml_names_the_line(tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text("dev:\n  rds-5-multi-az:\n    reason: [unclosed\n")
    with pytest.raises(WaiverError) as caught:
        load_waivers(path)
    assert str(caught.value).startswith("invalid policy waivers:\n  waivers.yaml: not valid YAML")
    assert "line" in str(caught.value)


def test_a_missing_waiver_file_waives_nothing(tmp_path):
    assert load_waivers(tmp_path / "absent.yaml") == {}


def test_a_waiver_applies_to_its_own_stack_only():
    waivers = {"dev": {"rds-5-multi-az": "dev runs one instance to save cost"}}
    violation = Violation("rds-5-multi-az", Enforcement.ADVISORY, "database 'db' runs in one AZ")
    assert split_waived([violation], "dev", waivers) == ([], [violation])
    assert split_waived([violation], "prod", waivers) == ([violation], [])
