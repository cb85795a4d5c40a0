"""Rules of the web application firewall: WAF's Security Hub controls (WAF.*)."""

from __future__ import annotations

from collections.abc import Iterator

from .model import Context, Enforcement, Resource, resource_rule
from .properties import WEB_ACL, _first, _map, _seq, _true


@resource_rule("waf-10-web-acl-has-rules", Enforcement.MANDATORY, WEB_ACL, control="WAF.10")
def waf_10_web_acl_has_rules(r: Resource, ctx: Context) -> Iterator[str]:
    """WAF.10: a web ACL has at least one rule or rule group.

    The control fails if a web ACL contains no rules (it then only applies its default action).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/waf-controls.html#waf-10
    """
    if not _seq(r.props.get("rules")) and not r.props.get("ruleJson"):
        yield f"web ACL {r.name!r} has no rules; it filters nothing"


@resource_rule("waf-12-rule-metrics", Enforcement.MANDATORY, WEB_ACL, control="WAF.12")
def waf_12_rule_metrics(r: Resource, ctx: Context) -> Iterator[str]:
    """WAF.12: every web ACL rule emits CloudWatch metrics (and the ACL samples requests).

    The control fails if a rule's visibility config has CloudWatch metrics off; we also ask for
    sampled requests, so a blocked request can be looked at in the console.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/waf-controls.html#waf-12
    """
    visibility = _first(r.props.get("visibilityConfig"))
    if not _true(visibility.get("cloudwatchMetricsEnabled")):
        yield f"web ACL {r.name!r} has CloudWatch metrics off"
    if not _true(visibility.get("sampledRequestsEnabled")):
        yield f"web ACL {r.name!r} does not sample requests"
    for rule in _seq(r.props.get("rules")):
        rule = _map(rule)
        if not _true(_first(rule.get("visibilityConfig")).get("cloudwatchMetricsEnabled")):
            yield f"rule {rule.get('name')!r} of web ACL {r.name!r} has CloudWatch metrics off"
