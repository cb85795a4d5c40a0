"""The policy pack as the CLI loads it: `policy/__main__.py` assembles one CrossGuard policy per
rule, the stage comes from the stack, and CI's preview runs the pack."""

from __future__ import annotations

import ast
import runpy
import sys
from pathlib import Path

import pulumi
import pulumi_policy
import pytest
import yaml

from policy import pack, waivers
from policy.rules import RULES, Enforcement

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "policy"


class RecordedPack:
    """Stands in for `pulumi_policy.PolicyPack`, whose constructor serves gRPC forever."""

    calls: list[dict] = []

    def __init__(self, **kwargs) -> None:
        RecordedPack.calls.append(kwargs)


@pytest.fixture
def assembled(monkeypatch):
    RecordedPack.calls = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", RecordedPack)
    runpy.run_path(str(POLICY_DIR / "__main__.py"), run_name="__main__")
    assert len(RecordedPack.calls) == 1
    return RecordedPack.calls[0]


def test_the_pack_holds_one_policy_per_rule_with_its_name_level_and_page(assembled):
    policies = assembled["policies"]
    assert assembled["name"] == "phoenix-aws-guardrails"
    assert [p.name for p in policies] == [r.name for r in RULES]
    for policy, rule in zip(policies, RULES, strict=True):
        expected = (
            pulumi_policy.EnforcementLevel.MANDATORY
            if rule.enforcement is Enforcement.MANDATORY
            else pulumi_policy.EnforcementLevel.ADVISORY
        )
        assert policy.enforcement_level is expected
        assert policy.description == rule.description
        assert policy.url == rule.doc_url
        kind = (
            pulumi_policy.StackValidationPolicy
            if rule.is_stack_rule
            else pulumi_policy.ResourceValidationPolicy
        )
        assert isinstance(policy, kind)
        if rule.control:
            assert policy.framework.reference == rule.control


def test_an_invalid_waiver_file_stops_the_pack_with_a_plain_message(monkeypatch, tmp_path, capsys):
    bad = tmp_path / "waivers.yaml"
    bad.write_text("prod:\n  ec2-15-no-automatic-public-ip:\n    reason: the NAT needs it anyway\n")
    monkeypatch.setattr(waivers, "WAIVERS_FILE", bad)
    monkeypatch.setattr(pulumi_policy, "PolicyPack", RecordedPack)
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(POLICY_DIR / "__main__.py"), run_name="__main__")
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert "prod.ec2-15-no-automatic-public-ip: this rule is mandatory" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("stack", "config", "stage"),
    [
        ("dev", {}, "development"),
        ("prod", {}, "production"),
        ("someone-elses", {}, "production"),
        ("prod", {"phoenix-aws:stage": "development"}, "development"),
    ],
)
def test_the_stage_comes_from_the_stack_config_else_the_stack_file(
    monkeypatch, stack, config, stage
):
    monkeypatch.setenv("PULUMI_STACK", stack)
    pulumi.runtime.set_all_config(config)
    try:
        assert pack.current_context() == pack.Context(stack, stage)
    finally:
        pulumi.runtime.set_all_config({})


def test_the_pack_needs_only_what_its_requirements_install():
    """The CLI installs policy/requirements.txt into the pack's own virtualenv; the modules the
    pack loads import nothing else (no components, no provider SDKs)."""
    requirements = (POLICY_DIR / "requirements.txt").read_text()
    for needed in ("pulumi-policy", "pulumi>=", "PyYAML"):
        assert needed in requirements
    allowed = set(sys.stdlib_module_names) | {"pulumi", "pulumi_policy", "yaml", "policy"}
    modules = ["__main__.py", "pack.py", "waivers.py"]
    modules += [str(p.relative_to(POLICY_DIR)) for p in sorted((POLICY_DIR / "rules").glob("*.py"))]
    for module in modules:
        tree = ast.parse((POLICY_DIR / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            assert {n.split(".")[0] for n in names} <= allowed, (module, names)


def test_the_pack_is_a_python_policy_pack_with_its_own_virtualenv():
    manifest = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert manifest["runtime"]["options"]["virtualenv"] == "venv"
    assert manifest["version"]


def test_the_pull_request_preview_runs_the_policy_pack():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())
    previews = [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("pulumi/actions@")
        and step.get("with", {}).get("command") == "preview"
    ]
    assert previews and all(step["with"].get("policyPacks") == "policy" for step in previews)
