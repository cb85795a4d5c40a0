"""Every shipped stack against every rule: what `pulumi preview --policy-pack policy` would say.

Each stack's program runs once per session under mocks (`policy.offline`); every rule is
evaluated on every resource it registers, with properties shaped as the engine sends them.
Production has no violation at all; a development stack breaks only the advisory rules its
waivers name (`policy/waivers.yaml`), and every waiver is still needed.
"""

from __future__ import annotations

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from offline import mocks
from policy import pack
from policy.offline import check_stack, context_of, shipped_stack_run
from policy.rules import RULES
from policy.waivers import load_waivers

STACKS = mocks.stack_names()


def listing(violations) -> str:
    return "\n".join(f"  {v.rule} ({v.resource_name}): {v.message}" for v in violations)


def test_the_shipped_stacks_are_dev_local_and_prod():
    assert STACKS == ["dev", "local", "prod"]


def test_prod_breaks_no_rule():
    report = check_stack("prod")
    assert not report.violations, "prod breaks:\n" + listing(report.violations)
    assert not report.waived


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_a_development_stack_breaks_only_the_rules_it_waives(stack):
    report = check_stack(stack)
    assert not report.violations, f"{stack} breaks rules it does not waive:\n" + listing(
        report.violations
    )


@pytest.mark.parametrize("stack", STACKS)
def test_every_waiver_of_a_stack_is_still_needed(stack):
    """A waiver whose rule no longer fires is stale and would hide a future regression."""
    waived_rules = set(load_waivers().get(stack, {}))
    fired = {v.rule for v in check_stack(stack).waived}
    assert waived_rules == fired, f"stale waivers on {stack}: {sorted(waived_rules - fired)}"


def analyze(stack: str):
    """Run the stack's resources through pulumi-policy's own analyzer (the code the CLI talks to
    over gRPC), with the pack's policies: per-resource `Analyze`, then `AnalyzeStack`."""
    context = context_of(stack, mocks.stack_config(stack))
    servicer = _PolicyAnalyzerServicer(
        pack.PACK_NAME,
        "0.0.1",
        pack.policies(RULES, load_waivers(), lambda: context),
        EnforcementLevel.ADVISORY,
    )
    run = shipped_stack_run(stack)

    def struct(inputs):
        return json_format.ParseDict(inputs or {}, struct_pb2.Struct())

    found, not_applicable = set(), set()
    for r in run.resources:
        request = proto.AnalyzeRequest(
            type=r.type, properties=struct(r.raw_inputs), urn=r.urn, name=r.name
        )
        response = servicer.Analyze(request, None)
        found |= {(d.policyName, d.urn or r.urn) for d in response.diagnostics}
        not_applicable |= {(n.policy_name, n.reason) for n in response.not_applicable}
    resources = [
        proto.AnalyzerResource(
            type=r.type,
            properties=struct(r.raw_inputs),
            urn=r.urn,
            name=r.name,
            parent=r.parent,
            dependencies=list(dict.fromkeys(r.dependencies)),
        )
        for r in run.resources
    ]
    response = servicer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None)
    found |= {(d.policyName, d.urn) for d in response.diagnostics}
    not_applicable |= {(n.policy_name, n.reason) for n in response.not_applicable}
    return found, not_applicable


@pytest.mark.parametrize("stack", STACKS)
def test_the_crossguard_runtime_reports_what_the_plain_rules_find(stack):
    found, _ = analyze(stack)
    report = check_stack(stack)
    assert found == {(v.rule, v.urn) for v in report.violations}


def test_a_waived_rule_is_reported_not_applicable_with_its_reason():
    _, not_applicable = analyze("dev")
    reasons = dict(not_applicable)
    assert set(reasons) == set(load_waivers()["dev"])
    assert reasons["rds-5-multi-az"].startswith("waived for stack dev: dev runs one database")


def test_the_offline_command_refuses_an_unknown_stack_with_the_known_ones(capsys):
    from policy.offline import main

    assert main(["prdo"]) == 2
    assert "unknown stack 'prdo': expected one of dev, local, prod" in capsys.readouterr().err


def test_the_offline_run_lists_each_waived_rule_with_its_reason_and_the_example_values(capsys):
    from policy.offline import main
    from stacks.settings import load_settings, placeholder_warnings, raw_config_from_pulumi

    assert main(["dev"]) == 0
    captured = capsys.readouterr()
    waived = [line for line in captured.out.splitlines() if line.startswith("  [waived] ")]
    assert waived == [
        f"  [waived] {rule}: {reason}" for rule, reason in load_waivers()["dev"].items()
    ]
    config = mocks.stack_config("dev")
    settings = load_settings(raw_config_from_pulumi(config), region=config["aws:region"])
    warnings = placeholder_warnings(settings)
    assert warnings and captured.err.splitlines() == [f"warning: {w}" for w in warnings]
