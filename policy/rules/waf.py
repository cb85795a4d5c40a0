"""Rules of the web application firewall: WAF's Security Hub controls (WAF.*)."""

from __future__ import annotations

from collections.abc import Iterator

from .model import Context, Enforcement, Finding, Resource, Stack, resource_rule, stack_rule
from .properties import LOG_GROUP, WEB_ACL, _first, _map, _seq, _true

WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
WAF_LOG_PREFIX = "aws-waf-logs-"
REDACTED_HEADERS = ("authorization", "cookie")


@stack_rule("waf-11-web-acl-logging", Enforcement.MANDATORY, control="WAF.11")
def waf_11_web_acl_logging(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """WAF.11: every web ACL logs, to a log group WAF accepts, without credentials.

    The control fails if a web ACL has no logging configuration. WAF delivers to CloudWatch Logs
    only into a log group named `aws-waf-logs-…`; the Authorization and Cookie headers carry
    credentials and sessions, so they are redacted.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/waf-controls.html#waf-11
    (and https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html)
    """
    for acl in stack.of_type(WEB_ACL):
        configs = stack.dependents(acl, WEB_ACL_LOGGING)
        if not configs:
            yield Finding(f"web ACL {acl.name!r} does not log its requests", acl)
        for config in configs:
            for group in stack.dependencies(config, LOG_GROUP):
                name = str(group.props.get("name") or "")
                if not name.startswith(WAF_LOG_PREFIX):
                    yield Finding(
                        f"WAF logs to {name or group.name!r}; WAF delivers only to log groups "
                        f"named {WAF_LOG_PREFIX}…",
                        config,
                    )
            redacted = {
                str(_map(_first(_map(f).get("singleHeader"))).get("name", "")).lower()
                for f in _seq(config.props.get("redactedFields"))
            }
            for header in REDACTED_HEADERS:
                if header not in redacted:
                    yield Finding(
                        f"web ACL {acl.name!r} logs the {header} header (credentials)", config
                    )


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
