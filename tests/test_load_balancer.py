"""LoadBalancer: the public edge, WebSocket settings, blue/green weights, test routes, allow lists."""

from __future__ import annotations

import json

import harness
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phoenix_aws.load_balancer import (
    MAX_CONDITION_VALUES,
    SLOTS,
    LoadBalancer,
    forward_weights,
    plan_listener_rules,
    target_group_name,
)
from tests_support import load_settings_with_edge

from stacks.settings import ConfigError

CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
BASE = {
    "name_parts": ["shop", "prod"],
    "vpc_id": "vpc-1",
    "subnet_ids": ["subnet-pub-a", "subnet-pub-b"],
    "target_security_group_id": "sg-nodes",
    "certificate_arn": CERT,
}


def edge(**args):
    return harness.run(lambda: LoadBalancer("lb", {**BASE, **args}))


def listener_rules(run):
    return sorted(run.of_type("aws:lb/listenerRule:ListenerRule"), key=lambda r: r["priority"])


def weights_of(action):
    return {tg["arn"].split("/")[-1]: tg["weight"] for tg in action["forward"]["targetGroups"]}


# --- pure helpers -----------------------------------------------------------------------------


@given(st.sampled_from(SLOTS), st.integers(min_value=0, max_value=100))
def test_weights_sum_to_100_and_the_canary_goes_to_the_idle_slot(live, canary):
    weights = forward_weights(live, canary)
    idle = "green" if live == "blue" else "blue"
    assert weights[live] + weights[idle] == 100
    assert weights[idle] == canary


def test_weights_without_canary_send_everything_to_live():
    assert forward_weights("blue") == {"blue": 100, "green": 0}
    assert forward_weights("green") == {"green": 100, "blue": 0}


@pytest.mark.parametrize("canary", [-1, 101, 1000, 2.5, True])
def test_weights_reject_canary_out_of_bounds(canary):
    with pytest.raises(ValueError, match="canary_percent"):
        forward_weights("blue", canary)


def test_weights_reject_unknown_slot():
    with pytest.raises(ValueError):
        forward_weights("purple")


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=80).filter(
    lambda s: s.strip("-")
)


@given(names, names)
def test_target_group_names_fit_32_chars_are_distinct_per_slot_and_stable(project, stack):
    blue, green = (target_group_name([project, stack], slot) for slot in SLOTS)
    assert len(blue) <= 32 and len(green) <= 32
    assert blue != green
    assert blue == target_group_name([project, stack], "blue")
    assert not blue.startswith("-") and not blue.endswith("-")


def test_short_target_group_names_are_readable():
    assert target_group_name(["shop", "prod"], "green") == "shop-prod-green"


def test_allow_list_rules_chunk_cidrs_and_end_with_a_deny():
    cidrs = [f"10.0.{i}.0/24" for i in range(9)]
    planned = plan_listener_rules(
        operator_cidrs=[], test_header="X", allow_lists=[{"path": "/hook/*", "cidrs": cidrs}]
    )
    rules = [r for r in planned if r.key.startswith(("allow", "deny"))]
    assert [r.action for r in rules] == ["forward", "forward", "forward", "deny"]
    assert all(len(r.cidrs) + 1 <= MAX_CONDITION_VALUES for r in rules)
    assert [c for r in rules for c in r.cidrs] == cidrs
    assert [r.priority for r in planned] == sorted({r.priority for r in planned})


def test_the_live_rule_comes_last_and_catches_everything():
    planned = plan_listener_rules(
        operator_cidrs=["203.0.113.0/24"],
        test_header="X",
        allow_lists=[{"path": "/a", "cidrs": ["10.0.0.0/8"]}],
    )
    live = planned[-1]
    assert (live.key, live.path, live.priority, live.action) == ("live", "/*", 50000, "forward")
    assert all(r.priority < live.priority for r in planned[:-1])


# --- the ALB and its security group -------------------------------------------------------------


def test_alb_is_public_in_the_given_subnets_with_safe_settings():
    alb = edge().named("lb-alb")
    assert alb["internal"] is False and alb["loadBalancerType"] == "application"
    assert alb["subnets"] == ["subnet-pub-a", "subnet-pub-b"]
    assert alb["enableDeletionProtection"] is True
    assert alb["dropInvalidHeaderFields"] is True
    assert alb["desyncMitigationMode"] == "defensive"
    assert alb["name"] == "shop-prod"


def test_idle_timeout_outlasts_the_phoenix_heartbeat():
    assert edge().named("lb-alb")["idleTimeout"] == 120
    assert edge(idle_timeout_seconds=300).named("lb-alb")["idleTimeout"] == 300


def test_alb_sg_accepts_only_listener_ports_from_configured_cidrs():
    run = edge(ingress_cidrs=["198.51.100.0/24", "2001:db8::/32"])
    rules = [
        r
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == "lb-sg-id"
    ]
    seen = {(r["fromPort"], r["toPort"], r.get("cidrIpv4") or r.get("cidrIpv6")) for r in rules}
    assert seen == {(p, p, c) for p in (80, 443) for c in ("198.51.100.0/24", "2001:db8::/32")}


def test_alb_sg_default_is_the_internet_on_80_and_443_only():
    run = edge()
    rules = [
        r
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == "lb-sg-id"
    ]
    assert {(r["fromPort"], r.get("cidrIpv4") or r.get("cidrIpv6")) for r in rules} == {
        (80, "0.0.0.0/0"),
        (443, "0.0.0.0/0"),
        (80, "::/0"),
        (443, "::/0"),
    }


def test_alb_egress_goes_only_to_the_nodes_on_the_app_port():
    run = edge(app_port=4000)
    egress = [
        r
        for r in run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r["securityGroupId"] == "lb-sg-id"
    ]
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in egress] == [
        ("sg-nodes", 4000, 4000)
    ]
    node_in = [
        r
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == "sg-nodes"
    ]
    assert [(r["referencedSecurityGroupId"], r["fromPort"]) for r in node_in] == [
        ("lb-sg-id", 4000)
    ]
    assert not run.named("lb-sg").get("egress")


# --- access logs --------------------------------------------------------------------------------


def test_access_logs_go_to_an_encrypted_private_expiring_bucket():
    run = edge(access_logs_retention_days=30)
    alb = run.named("lb-alb")
    assert alb["accessLogs"]["enabled"] is True and alb["accessLogs"]["prefix"] == "alb"
    block = run.named("lb-logs-public-access")
    assert all(
        block[k] is True
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    sse = run.named("lb-logs-encryption")["rules"][0]["applyServerSideEncryptionByDefault"]
    assert sse["sseAlgorithm"] == "AES256"
    (rule,) = run.named("lb-logs-lifecycle")["rules"]
    assert rule["expiration"]["days"] == 30 and rule["status"] == "Enabled"


def test_access_log_bucket_policy_lets_elb_write_and_denies_plain_http():
    policy = json.loads(edge().named("lb-logs-policy")["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ElbAccountLogDelivery"]["Principal"] == {"AWS": "arn:aws:iam::156460612806:root"}
    assert by_sid["ElbAccountLogDelivery"]["Resource"].endswith(
        f"/alb/AWSLogs/{harness.ACCOUNT_ID}/*"
    )
    assert by_sid["ElbServiceLogDelivery"]["Principal"] == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"
    }
    assert by_sid["DenyInsecureTransport"]["Effect"] == "Deny"


# --- listeners and TLS --------------------------------------------------------------------------


def test_https_listener_uses_a_tls13_policy_and_the_given_certificate():
    https = edge().named("lb-https")
    assert (https["port"], https["protocol"]) == (443, "HTTPS")
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["certificateArn"] == CERT


def test_listener_answers_503_until_a_release_is_live():
    (action,) = edge().named("lb-https")["defaultActions"]
    assert action["type"] == "fixed-response" and action["fixedResponse"]["statusCode"] == "503"


def test_http_listener_only_redirects_to_https():
    (action,) = edge().named("lb-http")["defaultActions"]
    assert action["type"] == "redirect"
    assert action["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}


def test_domain_and_zone_give_a_dns_validated_certificate_and_alias_records():
    args = {k: v for k, v in BASE.items() if k != "certificate_arn"}
    run = harness.run(
        lambda: LoadBalancer(
            "lb", {**args, "domain_name": "app.example.com", "hosted_zone_id": "ZONE1"}
        )
    )
    cert = run.named("lb-cert")
    assert (cert["domainName"], cert["validationMethod"]) == ("app.example.com", "DNS")
    assert run.named("lb-cert-validation")["zoneId"] == "ZONE1"
    assert (
        run.named("lb-https")["certificateArn"] == run.named("lb-cert-validated")["certificateArn"]
    )
    for kind in ("a", "aaaa"):
        alias = run.named(f"lb-alias-{kind}")
        assert alias["name"] == "app.example.com" and alias["zoneId"] == "ZONE1"
        assert alias["aliases"][0]["evaluateTargetHealth"] is True


def test_plain_http_mode_forwards_on_80_and_has_no_https_listener():
    run = harness.run(
        lambda: LoadBalancer(
            "lb",
            {**{k: v for k, v in BASE.items() if k != "certificate_arn"}, "plain_http_only": True},
        )
    )
    assert run.maybe("lb-https") is None
    live = run.named("lb-rule-live")
    assert live["listenerArn"] == harness.mock_arn("aws:lb/listener:Listener", "lb-http")
    assert live["actions"][0]["type"] == "forward"
    ports = {
        r["fromPort"]
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == "lb-sg-id"
    }
    assert ports == {80}


def test_https_without_a_certificate_source_is_refused():
    args = {k: v for k, v in BASE.items() if k != "certificate_arn"}
    with pytest.raises(ValueError, match="plain_http_only"):
        harness.run(lambda: LoadBalancer("lb", args))


# --- target groups ------------------------------------------------------------------------------


def test_two_ip_target_groups_tuned_for_websockets():
    run = edge(app_port=4000, deregistration_delay_seconds=90, slow_start_seconds=30)
    for slot in SLOTS:
        tg = run.named(f"lb-{slot}")
        assert tg["name"] == f"shop-prod-{slot}"
        assert (tg["targetType"], tg["protocol"], tg["port"]) == ("ip", "HTTP", 4000)
        assert tg["loadBalancingAlgorithmType"] == "least_outstanding_requests"
        assert tg["deregistrationDelay"] == 90
        assert tg["slowStart"] == 30


def test_health_check_is_shallow_with_sane_thresholds():
    hc = edge(health_check={"path": "/healthz"}).named("lb-green")["healthCheck"]
    assert hc["path"] == "/healthz" and hc["matcher"] == "200"
    assert (hc["interval"], hc["timeout"], hc["healthyThreshold"], hc["unhealthyThreshold"]) == (
        15,
        5,
        2,
        3,
    )


@pytest.mark.parametrize(
    ("live", "canary", "expected"),
    [
        ("blue", 0, {"blue": 100, "green": 0}),
        ("green", 0, {"blue": 0, "green": 100}),
        ("blue", 25, {"blue": 75, "green": 25}),
    ],
)
def test_production_forward_follows_live_and_canary(live, canary, expected):
    rule = edge(live=live, canary_percent=canary).named("lb-rule-live")
    assert rule["conditions"] == [{"pathPattern": {"values": ["/*"]}}]
    (action,) = rule["actions"]
    assert weights_of(action) == {f"lb-{k}": v for k, v in expected.items()}


def test_stickiness_across_groups_is_a_switch():
    (off,) = edge().named("lb-rule-live")["actions"]
    (on,) = edge(enable_stickiness=True).named("lb-rule-live")["actions"]
    assert off["forward"]["stickiness"]["enabled"] is False
    assert on["forward"]["stickiness"]["enabled"] is True
    assert edge(enable_stickiness=True).named("lb-blue")["stickiness"]["enabled"] is True


# --- rules --------------------------------------------------------------------------------------


def test_test_route_reaches_each_slot_only_by_header_from_operator_cidrs():
    run = edge(operator_cidrs=["203.0.113.0/24"])
    rules = {r.name: r for r in listener_rules(run)}
    for slot in SLOTS:
        rule = rules[f"lb-rule-test-{slot}-0"]
        assert rule["listenerArn"] == harness.mock_arn("aws:lb/listener:Listener", "lb-https")
        conditions = rule["conditions"]
        assert {"httpHeaderName": "X-Release-Slot", "values": [slot]} in [
            c.get("httpHeader") for c in conditions
        ]
        assert {"values": ["203.0.113.0/24"]} in [c.get("sourceIp") for c in conditions]
        assert rule["actions"] == [
            {
                "type": "forward",
                "targetGroupArn": harness.mock_arn("aws:lb/targetGroup:TargetGroup", f"lb-{slot}"),
            }
        ]


def test_without_operator_cidrs_the_test_route_matches_no_internet_source():
    rules = [r for r in listener_rules(edge()) if "test" in r.name]
    assert len(rules) == 2  # still there: they attach both target groups to the load balancer
    for rule in rules:
        assert {"values": ["127.0.0.1/32"]} in [c.get("sourceIp") for c in rule["conditions"]]


def test_slot_target_group_arns_resolve_only_after_the_group_is_attached(run_stack):
    run = run_stack("prod")
    for slot in ("blue", "green"):
        assert f"edge-rule-test-{slot}-0" in run.dependencies_of(run.named(f"slot-{slot}-service"))


def test_path_allow_list_forwards_from_allowed_cidrs_and_answers_403_otherwise():
    run = edge(
        path_allow_lists=[
            {"path": "/api/telegram/*", "cidrs": ["149.154.160.0/20", "91.108.4.0/22"]}
        ]
    )
    allow, deny = [r for r in listener_rules(run) if "allow" in r.name or "deny" in r.name]
    assert allow["priority"] < deny["priority"]
    assert {"values": ["/api/telegram/*"]} in [c.get("pathPattern") for c in allow["conditions"]]
    assert {"values": ["149.154.160.0/20", "91.108.4.0/22"]} in [
        c.get("sourceIp") for c in allow["conditions"]
    ]
    assert allow["actions"][0]["type"] == "forward"
    assert deny["conditions"] == [{"pathPattern": {"values": ["/api/telegram/*"]}}]
    assert deny["actions"][0]["fixedResponse"]["statusCode"] == "403"


def test_changing_live_changes_only_forward_weights(run_stack):
    blue = run_stack("prod", release={"live": "blue", "green": {"desired_count": 3}})
    green = run_stack("prod", release={"live": "green", "green": {"desired_count": 3}})
    before = {(r.type, r.name): r for r in blue.resources}
    after = {(r.type, r.name): r for r in green.resources}
    assert before.keys() == after.keys()
    changed = {key for key in before if before[key].inputs != after[key].inputs}
    assert {name for _, name in changed} == {"edge-rule-live", "edge-rule-allow-0-0"}
    for name in changed:
        old, new = before[name].inputs, after[name].inputs
        key = "actions"
        assert {k: v for k, v in old.items() if k != key} == {
            k: v for k, v in new.items() if k != key
        }
        (old_action,), (new_action,) = old[key], new[key]
        assert weights_of(old_action) == {"edge-blue": 100, "edge-green": 0}
        assert weights_of(new_action) == {"edge-blue": 0, "edge-green": 100}


def test_edge_outputs(run_stack):
    run = run_stack("prod")
    assert run.exports["url"] == "https://app.example.com"
    assert set(run.exports["target_group_arns"]) == {"blue", "green"}


def test_dev_serves_plain_http_on_the_alb_name(run_stack):
    assert run_stack("dev").exports["url"].startswith("http://edge-alb-123.")


# --- config validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"release": {"canary_percent": 120}},
            "phoenix-aws:release.canary_percent: Input should be less than or equal to 100 (got 120)",
        ),
        (
            {"release": {"canary_percent": -5}},
            "phoenix-aws:release.canary_percent: Input should be greater than or equal to 0 (got -5)",
        ),
        (
            {"release": {"live": "purple"}},
            "phoenix-aws:release.live: Input should be 'blue' or 'green' (got 'purple')",
        ),
        (
            {
                "edge": {
                    "domain": "app.example.com",
                    "certificate_arn": "arn:aws:acm:x",
                    "operator_cidrs": ["300.1.1.1/32"],
                }
            },
            "phoenix-aws:edge.operator_cidrs: not a valid IPv4/IPv6 CIDR: '300.1.1.1/32' does not appear to be an IPv4 or IPv6 network (got [\"300.1.1.1/32\"])",
        ),
        (
            {
                "edge": {
                    "domain": "app.example.com",
                    "certificate_arn": "arn:aws:acm:x",
                    "idle_timeout_seconds": 30,
                }
            },
            "phoenix-aws:edge.idle_timeout_seconds: Input should be greater than or equal to 60 (got 30)",
        ),
        (
            {
                "edge": {
                    "domain": "app.example.com",
                    "certificate_arn": "arn:aws:acm:x",
                    "idle_timeout_seconds": 5000,
                }
            },
            "phoenix-aws:edge.idle_timeout_seconds: Input should be less than or equal to 4000 (got 5000)",
        ),
        (
            {"edge": {"plain_http_only": True}},
            "phoenix-aws:edge.plain_http_only: production must serve HTTPS (give domain + hosted_zone_id or certificate_arn) (got true)",
        ),
        (
            {"edge": {"domain": "app.example.com"}},
            "phoenix-aws:edge.domain: HTTPS needs certificate_arn, or domain with hosted_zone_id; set plain_http_only: true to serve plain HTTP explicitly (got 'app.example.com')",
        ),
        (
            {
                "edge": {
                    "plain_http_only": True,
                    "path_allow_lists": [{"path": "/hook", "cidrs": []}],
                },
                "stage": "development",
            },
            "phoenix-aws:edge.path_allow_lists.0.cidrs: List should have at least 1 item after validation, not 0 (got [])",
        ),
    ],
)
def test_bad_edge_config_is_rejected_with_a_clear_message(raw, expected):
    with pytest.raises(ConfigError) as info:
        load_settings_with_edge(raw)
    assert info.value.problems == [expected]


def test_development_may_serve_plain_http_when_it_says_so():
    settings = load_settings_with_edge({"stage": "development", "edge": {"plain_http_only": True}})
    assert settings.edge.plain_http_only is True


def test_a_stack_without_its_required_sections_is_told_so():
    from stacks.settings import load_settings

    with pytest.raises(ConfigError) as info:
        load_settings({})
    assert info.value.problems == [
        "phoenix-aws:edge: required, not set (got nothing)",
        "phoenix-aws:app: required, not set (got nothing)",
        "phoenix-aws:release: required, not set (got nothing)",
    ]
