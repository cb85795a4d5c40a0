"""WebFirewall: a REGIONAL AWS WAF web ACL on the load balancer.

The web ACL's rules are checked against the WAFV2 API model that ships with botocore (required
members, types, ranges and name patterns of CreateWebACL and PutLoggingConfiguration), not only
against the values the component chose.
"""

from __future__ import annotations

import re

import botocore.session
import pulumi_aws as aws
import pytest
from botocore.validate import validate_parameters
from phoenix_aws.waf import (
    MAX_RATE_LIMIT,
    MIN_RATE_LIMIT,
    RATE_WINDOWS_SECONDS,
    WebFirewall,
    path_statement,
    web_acl_rules,
)

from policy.offline import resources_of
from policy.rules import Context, evaluate, rule_named

LB_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/abc"
WAF_MODEL = botocore.session.get_session().get_service_model("wafv2")


def firewall(run_component, **args):
    def program():
        WebFirewall(
            "edge-waf", {"name_parts": ["phoenix-aws", "prod"], "load_balancer_arn": LB_ARN, **args}
        )

    return run_component(program)


def acl(run):
    return run.named("edge-waf-acl")


def rules_by_name(run) -> dict[str, dict]:
    return {rule["name"]: rule for rule in acl(run)["rules"]}


def to_api(value):
    """Pulumi's WAF inputs (snake_case as passed, camelCase as recorded) as the WAFV2 API's
    members: rate_based_statement / rateBasedStatement → RateBasedStatement, cloudwatch… →
    CloudWatch…."""

    def member(key: str) -> str:
        pascal = "".join(p[:1].upper() + p[1:] for p in key.split("_"))
        return pascal.replace("Cloudwatch", "CloudWatch")

    if isinstance(value, dict):
        return {member(key): to_api(v) for key, v in value.items()}
    if isinstance(value, list):
        return [to_api(v) for v in value]
    return value


def test_the_web_acl_is_regional_allows_by_default_and_guards_the_given_load_balancer(
    run_component,
):
    """Regional web ACLs protect Application Load Balancers (WAF developer guide, "Protecting
    resources": https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-associating-aws-resource.html)."""
    run = firewall(run_component)
    assert acl(run)["scope"] == "REGIONAL"
    assert acl(run)["defaultAction"] == {"allow": {}}
    association = run.named("edge-waf-association")
    assert association["resourceArn"] == LB_ARN
    assert "edge-waf-acl" in run.dependencies_of(association)


def test_the_aws_core_rule_set_and_known_bad_inputs_apply_their_own_actions(run_component):
    rules = rules_by_name(firewall(run_component))
    for name, group in (
        ("aws-common-rules", "AWSManagedRulesCommonRuleSet"),
        ("aws-known-bad-inputs", "AWSManagedRulesKnownBadInputsRuleSet"),
    ):
        assert rules[name]["statement"]["managedRuleGroupStatement"] == {
            "vendorName": "AWS",
            "name": group,
        }
        assert rules[name]["overrideAction"] == {"none": {}}


def test_a_client_ip_above_the_rate_limit_is_blocked(run_component):
    rule = rules_by_name(firewall(run_component, rate_limit=500, rate_limit_window_seconds=60))[
        "rate-limit-per-ip"
    ]
    assert rule["action"] == {"block": {}}
    assert rule["statement"]["rateBasedStatement"] == {
        "limit": 500,
        "aggregateKeyType": "IP",
        "evaluationWindowSec": 60,
    }


def test_the_default_rate_limit_is_2000_requests_per_5_minutes(run_component):
    statement = rules_by_name(firewall(run_component))["rate-limit-per-ip"]["statement"]
    assert statement["rateBasedStatement"]["limit"] == 2000
    assert statement["rateBasedStatement"]["evaluationWindowSec"] == 300


def test_an_allow_listed_webhook_path_is_left_out_of_the_per_ip_limit(run_component):
    run = firewall(run_component, path_rate_limits=[{"path": "/api/telegram/*"}])
    rules = rules_by_name(run)
    assert sorted(rules) == ["aws-common-rules", "aws-known-bad-inputs", "rate-limit-per-ip"]
    scope = rules["rate-limit-per-ip"]["statement"]["rateBasedStatement"]["scopeDownStatement"]
    assert scope == {
        "notStatement": {
            "statement": {
                "byteMatchStatement": {
                    "searchString": "/api/telegram/",
                    "positionalConstraint": "STARTS_WITH",
                    "fieldToMatch": {"uriPath": {}},
                    "textTransformations": [{"priority": 0, "type": "NONE"}],
                }
            }
        }
    }


def test_a_path_with_its_own_limit_is_counted_by_its_own_rule_only(run_component):
    rules = rules_by_name(
        firewall(
            run_component,
            path_rate_limits=[{"path": "/api/telegram/*"}, {"path": "/users/log_in", "limit": 50}],
        )
    )
    own = rules["rate-limit-path-1"]["statement"]["rateBasedStatement"]
    assert own["limit"] == 50
    assert own["scopeDownStatement"]["byteMatchStatement"]["searchString"] == "/users/log_in"
    assert own["scopeDownStatement"]["byteMatchStatement"]["positionalConstraint"] == "EXACTLY"
    excluded = rules["rate-limit-per-ip"]["statement"]["rateBasedStatement"]["scopeDownStatement"]
    paths = [
        s["byteMatchStatement"]["searchString"]
        for s in excluded["notStatement"]["statement"]["orStatement"]["statements"]
    ]
    assert paths == ["/api/telegram/", "/users/log_in"]
    assert rules["rate-limit-path-1"]["priority"] < rules["rate-limit-per-ip"]["priority"]


@pytest.mark.parametrize(
    ("pattern", "matching", "other"),
    [
        ("/hooks/*/events", "/hooks/stripe/events", "/hooks/stripe/events/x"),
        ("/v?/status", "/v2/status", "/v22/status"),
    ],
)
def test_a_wildcard_inside_a_path_becomes_an_anchored_pattern(pattern, matching, other):
    """ALB path patterns: `*` matches any characters, `?` exactly one
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html#path-conditions)."""
    regex = path_statement(pattern)["regex_match_statement"]["regex_string"]
    assert re.fullmatch(regex, matching) and not re.fullmatch(regex, other)


def test_every_rule_emits_metrics_and_samples_requests(run_component):
    """WAF.10 and WAF.12 (https://docs.aws.amazon.com/securityhub/latest/userguide/waf-controls.html)."""
    run = firewall(run_component, path_rate_limits=[{"path": "/login", "limit": 100}])
    for rule in [acl(run), *acl(run)["rules"]]:
        assert rule["visibilityConfig"]["cloudwatchMetricsEnabled"] is True
        assert rule["visibilityConfig"]["sampledRequestsEnabled"] is True
    checks = [rule_named("waf-10-web-acl-has-rules"), rule_named("waf-12-rule-metrics")]
    assert evaluate(resources_of(run.resources), Context("prod"), checks) == []


def test_the_association_satisfies_elb_16_for_the_load_balancer_it_names(run_component):
    """ELB.16: the ALB has a web ACL (https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-16)."""

    def program():
        lb = aws.lb.LoadBalancer(
            "alb", load_balancer_type="application", internal=False, subnets=["a", "b"]
        )
        WebFirewall("edge-waf", {"name_parts": ["shop", "prod"], "load_balancer_arn": lb.arn})

    run = run_component(program)
    assert (
        evaluate(
            resources_of(run.resources), Context("prod"), [rule_named("elb-16-waf-on-public-alb")]
        )
        == []
    )


def test_the_rules_form_a_valid_create_web_acl_request():
    """CreateWebACL input shape of the WAFV2 API (botocore's service model)."""
    rules = web_acl_rules(
        "shop-prod-waf",
        path_rate_limits=[{"path": "/api/telegram/*"}, {"path": "/hooks/*/events", "limit": 20}],
        count_only_common_rules=["SizeRestrictions_BODY"],
    )
    params = {
        "Name": "shop-prod-waf",
        "Scope": "REGIONAL",
        "DefaultAction": {"Allow": {}},
        "Rules": to_api(rules),
        "VisibilityConfig": to_api(
            {
                "cloudwatch_metrics_enabled": True,
                "sampled_requests_enabled": True,
                "metric_name": "shop-prod-waf",
            }
        ),
    }
    validate_parameters(params, WAF_MODEL.operation_model("CreateWebACL").input_shape)
    priorities = [rule["priority"] for rule in rules]
    assert len(set(priorities)) == len(priorities)


def test_names_and_metric_names_fit_the_wafv2_model(run_component):
    """EntityName and MetricName length and pattern, read from the WAFV2 API model."""
    run = firewall(run_component, path_rate_limits=[{"path": "/login", "limit": 100}])
    entity = WAF_MODEL.shape_for("EntityName").metadata
    metric = WAF_MODEL.shape_for("MetricName").metadata
    names = [acl(run)["name"], *[r["name"] for r in acl(run)["rules"]]]
    metrics = [
        acl(run)["visibilityConfig"]["metricName"],
        *[r["visibilityConfig"]["metricName"] for r in acl(run)["rules"]],
    ]
    for name in names:
        assert entity["min"] <= len(name) <= entity["max"] and re.match(entity["pattern"], name)
    for name in metrics:
        assert metric["min"] <= len(name) <= metric["max"] and re.match(metric["pattern"], name)


def test_the_rate_limit_bounds_are_the_api_models():
    limit = WAF_MODEL.shape_for("RateLimit").metadata
    assert (limit["min"], limit["max"]) == (MIN_RATE_LIMIT, MAX_RATE_LIMIT)
    assert RATE_WINDOWS_SECONDS == (60, 120, 300, 600)


def test_requests_are_logged_unless_switched_off(run_component):
    """Security Hub WAF.11: a web ACL logs (https://docs.aws.amazon.com/securityhub/latest/userguide/waf-controls.html#waf-11)."""
    run = firewall(run_component)
    (config,) = run.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    (group,) = run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert group["name"].startswith("aws-waf-logs-") and group["retentionInDays"] == 30
    assert {f["singleHeader"]["name"] for f in config["redactedFields"]} == {
        "authorization",
        "cookie",
    }
    off = firewall(run_component, enable_logging=False)
    assert off.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration") == []
    assert off.of_type("aws:cloudwatch/logGroup:LogGroup") == []


def test_logs_go_to_an_aws_waf_logs_group_with_credentials_redacted(run_component):
    """A CloudWatch Logs destination must be named `aws-waf-logs-…`
    (https://docs.aws.amazon.com/waf/latest/APIReference/API_LoggingConfiguration.html)."""
    run = firewall(run_component, enable_logging=True, log_retention_days=90)
    group = run.named("edge-waf-logs")
    assert group["name"].startswith("aws-waf-logs-")
    assert group["retentionInDays"] == 90
    logging = run.named("edge-waf-logging")
    assert logging["redactedFields"] == [
        {"singleHeader": {"name": "authorization"}},
        {"singleHeader": {"name": "cookie"}},
    ]
    assert logging["loggingFilter"]["defaultBehavior"] == "DROP"
    kept = {
        c["actionCondition"]["action"] for c in logging["loggingFilter"]["filters"][0]["conditions"]
    }
    assert kept == {"BLOCK", "COUNT"}
    validate_parameters(
        {"LoggingConfiguration": to_api({k: v for k, v in logging.inputs.items()})},
        WAF_MODEL.operation_model("PutLoggingConfiguration").input_shape,
    )


def test_logging_every_request_keeps_allowed_requests_too(run_component):
    run = firewall(run_component, enable_logging=True, log_all_requests=True)
    assert "loggingFilter" not in run.named("edge-waf-logging").inputs


def test_a_core_rule_can_be_set_to_count_instead_of_block(run_component):
    rules = rules_by_name(
        firewall(run_component, count_only_common_rules=["SizeRestrictions_BODY"])
    )
    overrides = rules["aws-common-rules"]["statement"]["managedRuleGroupStatement"][
        "ruleActionOverrides"
    ]
    assert overrides == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"rate_limit": 5},
            "arg 'rate_limit': must be between 10 and 2,000,000,000 requests per window, got 5",
        ),
        ({"rate_limit": True}, "arg 'rate_limit': expected a whole number of requests, got True"),
        (
            {"rate_limit_window_seconds": 45},
            "arg 'rate_limit_window_seconds': must be one of 60, 120, 300, 600 seconds, got 45",
        ),
        (
            {"path_rate_limits": [{"path": "api/telegram/*"}]},
            "arg 'path_rate_limits': entry 0 ('api/telegram/*'): expected a path pattern starting with /",
        ),
        (
            {"path_rate_limits": [{"path": "/login", "limit": 3}]},
            "arg 'path_rate_limits': entry 0 ('/login'): must be between 10",
        ),
        (
            {"path_rate_limits": [{"path": "/login", "limt": 30}]},
            "arg 'path_rate_limits': entry 0: unknown key 'limt'; expected path, limit",
        ),
        (
            {"path_rate_limits": [{"path": "/a"}, {"path": "/a", "limit": 50}]},
            "arg 'path_rate_limits': '/a' is listed more than once",
        ),
        (
            {"count_only_common_rules": ["SizeRestrictions_Body"]},
            "arg 'count_only_common_rules': 'SizeRestrictions_Body' is not a rule of AWSManagedRulesCommonRuleSet",
        ),
        (
            {
                "load_balancer_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/nlb/abc"
            },
            "arg 'load_balancer_arn': expected the ARN of an Application Load Balancer",
        ),
        (
            {"log_retention_days": 45},
            "arg 'log_retention_days': CloudWatch Logs keeps logs for one of",
        ),
        ({"rate_limt": 100}, "unknown arg 'rate_limt'; did you mean 'rate_limit'?"),
    ],
)
def test_bad_arguments_are_refused_before_any_resource(run_component, args, message):
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        firewall(run_component, **args)
    assert str(caught.value).startswith("WebFirewall 'edge-waf': ")
    recorded = getattr(caught.value, "recorded", [])
    assert [r.type for r in recorded if r.custom] == []


def test_the_pure_rule_builder_names_the_argument_it_refuses():
    with pytest.raises(ValueError, match=re.escape("rate_limit_window_seconds: must be one of")):
        web_acl_rules("shop-prod-waf", window_seconds=30)
