"""LoadBalancer: the public edge, WebSocket settings, blue/green weights, test routes, allow lists."""

from __future__ import annotations

import json

import harness
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phoenix_aws.listener_rules import check_rule_conditions, rule_conditions
from phoenix_aws.load_balancer import (
    LIVE_RULE_PRIORITY,
    MAX_CONDITION_VALUES,
    RULE_BAND_WIDTH,
    SLOTS,
    TEST_ROUTE_BANDS,
    LoadBalancer,
    TrafficRouting,
    assign_rule_bands,
    band_priority,
    check_algorithm_with_slow_start,
    check_listener_rules,
    count_listener_rules,
    forward_weights,
    path_group,
    plan_allow_list_rules,
    plan_test_routes,
    target_group_name,
)
from phoenix_aws.slots import TEST_HEADER
from phoenix_aws.validation import ComponentArgError
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


TARGET_GROUPS = {
    slot: f"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/{slot}/x"
    for slot in SLOTS
}


def edge(**args):
    return harness.run(lambda: LoadBalancer("lb", {**BASE, **args}))


def routing(**args):
    def program():
        component = TrafficRouting(
            "traffic",
            {"listener_arn": "arn:listener", "target_group_arns": TARGET_GROUPS, **args},
        )
        harness.pulumi.export("bands", component.rule_bands)

    return harness.run(program)


def weights_of(action):
    by_arn = {arn: slot for slot, arn in TARGET_GROUPS.items()}
    return {
        by_arn.get(tg["arn"], tg["arn"].split("/")[-1]): tg["weight"]
        for tg in action["forward"]["targetGroups"]
    }


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


@given(
    names,
    st.integers(min_value=1024, max_value=65535),
    st.integers(min_value=1024, max_value=65535),
)
def test_a_target_group_that_must_be_replaced_gets_a_new_name(stack, port, other_port):
    """A new port forces a new target group; its name must differ from the old one's, or
    create-before-delete collides with it (target group names are unique per region)."""
    old = target_group_name(["shop", stack], "blue", port)
    new = target_group_name(["shop", stack], "blue", other_port)
    assert (old == new) is (port == other_port)


def test_changing_the_app_port_renames_both_target_groups():
    before, after = edge(app_port=4000), edge(app_port=4001)
    for slot in SLOTS:
        assert before.named(f"lb-{slot}")["name"] != after.named(f"lb-{slot}")["name"]
        assert before.named(f"lb-{slot}").delete_before_replace is False


# --- AWS rules ------------------------------------------------------------------------------


def test_slow_start_with_least_outstanding_requests_is_refused_by_every_route():
    """AWS: slow start mode works only with round robin
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#slow-start-mode).
    The rule holds whether the algorithm comes by default or explicitly, in the component and in
    the stack settings."""
    with pytest.raises(ValueError, match="round_robin"):
        check_algorithm_with_slow_start("least_outstanding_requests", 30)
    with pytest.raises(ComponentArgError, match="slow_start_seconds"):
        edge(slow_start_seconds=30)
    with pytest.raises(ComponentArgError, match="slow_start_seconds"):
        edge(slow_start_seconds=60, load_balancing_algorithm="least_outstanding_requests")
    check_algorithm_with_slow_start("round_robin", 30)
    check_algorithm_with_slow_start("least_outstanding_requests", 0)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["least_outstanding_requests", "round_robin"]), st.integers(0, 900))
def test_every_target_group_the_component_makes_is_one_aws_accepts(algorithm, slow_start):
    """Whatever the inputs, a target group either satisfies AWS's rules or is never made."""
    try:
        run = edge(load_balancing_algorithm=algorithm, slow_start_seconds=slow_start)
    except ComponentArgError:
        return
    for slot in SLOTS:
        tg = run.named(f"lb-{slot}")
        assert tg["slowStart"] == 0 or tg["loadBalancingAlgorithmType"] == "round_robin"
        assert tg["slowStart"] == 0 or 30 <= tg["slowStart"] <= 900


def test_round_robin_with_slow_start_reaches_the_target_groups():
    run = edge(load_balancing_algorithm="round_robin", slow_start_seconds=45)
    for slot in SLOTS:
        tg = run.named(f"lb-{slot}")
        assert (tg["loadBalancingAlgorithmType"], tg["slowStart"]) == ("round_robin", 45)


def test_the_alb_is_created_after_its_log_bucket_is_writable():
    """ELB checks bucket permissions when access logs are enabled: without the bucket policy
    (and ownership settings) the first deploy fails with "Access Denied for bucket"
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html)."""
    run = edge()
    needs = run.dependencies_of(run.named("lb-alb"))
    assert {
        "lb-logs-policy",
        "lb-logs-ownership",
        "lb-logs-public-access",
        "lb-logs-encryption",
    } <= needs


def test_the_load_balancer_is_ipv4_only_and_refuses_ipv6_ranges():
    """An IPv4-only ALB has no IPv6 address: `::/0` ingress and AAAA records would be dead
    config, so they are not made and IPv6 ranges are refused."""
    run = edge()
    assert run.named("lb-alb")["ipAddressType"] == "ipv4"
    ingress = [
        r
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == "lb-sg-id"
    ]
    assert all("cidrIpv6" not in r.inputs for r in ingress)
    with pytest.raises(ComponentArgError, match="IPv4-only"):
        edge(ingress_cidrs=["::/0"])
    with pytest.raises(ComponentArgError, match="nobody could reach"):
        edge(ingress_cidrs=[])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"ingress_cidrs": ["198.51.100.7"]}, "write 198.51.100.7/32"),
        ({"operator_cidrs": ["203.0.113.5/24"]}, "host bits set"),
        ({"certificate_arn": "arn:aws:acm:eu-west-1:123456789012:abc"}, "ACM certificate"),
        ({"certificate_arn": "arn:aws:iam::123456789012:server-certificate/x"}, "an ARN of iam"),
        ({"domain_name": "a" * 64 + ".example.com", "certificate_arn": CERT}, "longer than 63"),
        ({"test_header": "X Release"}, "HTTP header name"),
        ({"health_check": {"interval_seconds": 5, "timeout_seconds": 5}}, "shorter than"),
        ({"tags": {"aws:owner": "me"}}, "reserves"),
        ({"idel_timeout_seconds": 120}, "did you mean 'idle_timeout_seconds'"),
    ],
)
def test_bad_edge_args_are_refused_before_anything_is_made(args, message):
    with pytest.raises(ComponentArgError, match=message) as info:
        edge(**args)
    assert "LoadBalancer 'lb'" in str(info.value)


# --- listener rule priorities -----------------------------------------------------------------

paths = st.sampled_from(["/a/*", "/b/*", "/hooks/telegram/*", "/api/stripe", "/c"])
cidr_lists = st.lists(
    st.integers(0, 40).map(lambda i: f"10.{i}.0.0/16"), min_size=1, max_size=9, unique=True
)
allow_lists = st.lists(st.tuples(paths, cidr_lists), max_size=4, unique_by=lambda t: t[0]).map(
    lambda entries: [{"path": p, "cidrs": c} for p, c in entries]
)


def deployed_rules(allow, previous_bands):
    """priority → rule identity (its key), and the bands to store, as a deployment would."""
    planned = plan_allow_list_rules(allow)
    bands = assign_rule_bands(list(dict.fromkeys(r.group for r in planned)), previous_bands)
    rules = {band_priority(bands[r.group], r.offset): r.key for r in planned}
    rules.update(
        {
            band_priority(TEST_ROUTE_BANDS[r.group[5:]], r.offset): r.key
            for r in plan_test_routes(["203.0.113.0/24"], "X")
        }
    )
    rules[LIVE_RULE_PRIORITY] = "live"
    return rules, bands


def one_edit(draw_lists, data):
    lists = [dict(e, cidrs=list(e["cidrs"])) for e in draw_lists]
    kind = data.draw(st.sampled_from(["add-path", "remove-path", "add-cidr", "remove-cidr"]))
    if kind == "add-path":
        new = (
            data.draw(paths.filter(lambda p: p not in [e["path"] for e in lists]), label="path")
            if len(lists) < 5
            else None
        )
        if new:
            lists.insert(
                data.draw(st.integers(0, len(lists))), {"path": new, "cidrs": ["192.0.2.0/24"]}
            )
    elif kind == "remove-path" and lists:
        lists.pop(data.draw(st.integers(0, len(lists) - 1)))
    elif kind == "add-cidr" and lists:
        entry = lists[data.draw(st.integers(0, len(lists) - 1))]
        entry["cidrs"].insert(data.draw(st.integers(0, len(entry["cidrs"]))), "198.51.100.0/24")
    elif kind == "remove-cidr" and lists:
        entry = lists[data.draw(st.integers(0, len(lists) - 1))]
        if len(entry["cidrs"]) > 1:
            entry["cidrs"].pop(data.draw(st.integers(0, len(entry["cidrs"]) - 1)))
    return lists


@given(allow_lists.filter(bool), st.data())
def test_a_removal_and_an_addition_in_one_edit_never_reuse_a_priority_still_being_deleted(
    before, data
):
    """One edit removes a path and adds another: during the update the new rules are created
    while the removed ones still exist (AWS refuses two rules on one priority), so no new rule may
    take a priority the removed path's rules hold. The next deployment may reuse them."""
    deployed, bands = deployed_rules(before, None)
    removed = before[data.draw(st.integers(0, len(before) - 1), label="removed")]
    new_path = data.draw(
        paths.filter(lambda p: p not in [e["path"] for e in before]), label="added"
    )
    after = [e for e in before if e is not removed]
    after.insert(
        data.draw(st.integers(0, len(after))), {"path": new_path, "cidrs": ["192.0.2.0/24"]}
    )
    planned, after_bands = deployed_rules(after, bands)
    removed_group = path_group(removed["path"])
    held_by_removed = {p for p, key in deployed.items() if key.startswith(removed_group)}
    added_group = path_group(new_path)
    added_priorities = {p for p, key in planned.items() if key.startswith(added_group)}
    assert not added_priorities & held_by_removed
    for priority, key in planned.items():
        assert deployed.get(priority, key) == key
    # Once the removal is deployed, its band is free again (the exported bands drop it).
    assert removed_group not in after_bands


@given(allow_lists, st.data())
def test_one_edit_never_hands_a_deployed_priority_to_another_rule(before, data):
    """Adding or removing a path or a CIDR: every priority the deployed graph holds is, after
    the edit, either free or held by the same rule (AWS refuses two rules on one priority), and
    rules of untouched paths keep their priorities."""
    deployed, bands = deployed_rules(before, None)
    after = one_edit(before, data)
    planned, _ = deployed_rules(after, bands)
    for priority, key in planned.items():
        assert deployed.get(priority, key) == key
    untouched = {path_group(e["path"]) for e in before if e in after}
    for priority, key in deployed.items():
        if any(key.startswith(group) for group in untouched):
            assert planned.get(priority) == key


ALB_CONDITION_TYPES_DOC = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html"
)


def alb_accepts(conditions: list[dict]) -> bool:
    """The other side's rule, as the page states it (ALB_CONDITION_TYPES_DOC): "up to three match
    evaluations per condition", "up to five match evaluations per rule", and one each of
    host-header, http-request-method, path-pattern and source-ip."""
    per_condition = [len(body["values"]) for c in conditions for body in c.values()]
    kinds = [kind for c in conditions for kind in c]
    once = ("host_header", "http_request_method", "path_pattern", "source_ip")
    return (
        all(n <= 3 for n in per_condition)
        and sum(per_condition) <= 5
        and all(kinds.count(kind) <= 1 for kind in once)
    )


@settings(max_examples=60, deadline=None)
@given(
    operators=st.integers(0, 60),
    lists=st.lists(st.integers(1, 57), min_size=0, max_size=6),
)
def test_every_rule_the_load_balancer_makes_is_one_alb_accepts(operators, lists):
    """For any number of operator CIDRs and allow-list entries: every planned rule's conditions
    pass ALB's rule, or the config is refused up front (never a rule AWS refuses at create)."""
    operator_cidrs = [f"10.{i}.0.0/16" for i in range(operators)]
    allow = [
        {"path": f"/hook{n}/*", "cidrs": [f"172.16.{n}.{i * 4}/30" for i in range(count)]}
        for n, count in enumerate(lists)
    ]
    try:
        check_listener_rules(operator_cidrs, allow)
    except ValueError:
        return
    rules = plan_test_routes(operator_cidrs, TEST_HEADER) + plan_allow_list_rules(allow)
    for rule in rules:
        assert alb_accepts(rule_conditions(rule)), rule
        assert rule.condition_values <= MAX_CONDITION_VALUES


def test_four_networks_in_one_source_ip_condition_are_refused_as_alb_refuses_them():
    """The 0.2 chunking put four networks in one source-ip condition (within five per rule, over
    three per condition): the rule check refuses that shape, as ALB does."""
    four = [{"source_ip": {"values": [f"10.0.{i}.0/24" for i in range(4)]}}]
    assert not alb_accepts(four)
    with pytest.raises(ValueError, match="3 per condition"):
        check_rule_conditions(four)
    two_paths = [{"path_pattern": {"values": ["/a"]}}, {"path_pattern": {"values": ["/b"]}}]
    assert not alb_accepts(two_paths)
    with pytest.raises(ValueError, match="one path-pattern condition"):
        check_rule_conditions(two_paths)
    with pytest.raises(ValueError, match="6 condition values"):
        check_rule_conditions(
            [
                {"path_pattern": {"values": ["/a", "/b", "/c"]}},
                {"http_header": {"http_header_name": "X", "values": ["1", "2", "3"]}},
            ]
        )


def test_a_config_over_the_listener_rule_quota_is_refused_with_the_count():
    """100 rules per load balancer (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html).
    A new user's 243-rule config was accepted before this rule."""
    operators = [f"10.{i}.0.0/16" for i in range(40)]  # 2 x 14 rules
    lists = [
        {"path": f"/hook{n}/*", "cidrs": [f"172.16.{n}.{i * 4}/30" for i in range(15)]}
        for n in range(20)
    ]
    total = count_listener_rules(operators, lists)
    assert total == 2 * 14 + 20 * (5 + 1) + 1
    with pytest.raises(
        ValueError, match=f"need {total} listener rules; an Application Load Balancer allows 100"
    ):
        check_listener_rules(operators, lists)
    check_listener_rules(operators, lists[:10])  # 28 + 60 + 1 rules


def test_the_live_rule_comes_last_and_catches_everything():
    run = routing(path_allow_lists=[{"path": "/a", "cidrs": ["10.0.0.0/8"]}])
    rules = sorted(run.of_type("aws:lb/listenerRule:ListenerRule"), key=lambda r: r["priority"])
    live = rules[-1]
    assert (live.name, live["priority"]) == ("traffic-live", LIVE_RULE_PRIORITY)
    assert live["conditions"] == [{"pathPattern": {"values": ["/*"]}}]


def test_allow_list_rules_chunk_cidrs_and_end_with_a_deny():
    cidrs = [f"10.0.{i}.0/24" for i in range(9)]
    planned = plan_allow_list_rules([{"path": "/hook/*", "cidrs": cidrs}])
    assert [r.action for r in planned] == ["forward", "forward", "forward", "deny"]
    assert [c for r in planned for c in r.cidrs] == cidrs
    assert [r.offset for r in planned] == [0, 1, 2, RULE_BAND_WIDTH - 1]


def test_deployed_paths_keep_their_band_when_a_path_is_added_before_them():
    first = routing(path_allow_lists=[{"path": "/b", "cidrs": ["10.0.0.0/8"]}])
    bands = first.exports["bands"]
    second = routing(
        path_allow_lists=[
            {"path": "/a", "cidrs": ["10.1.0.0/16"]},
            {"path": "/b", "cidrs": ["10.0.0.0/8"]},
        ],
        previous_rule_bands=bands,
    )
    group_b = path_group("/b")
    assert (
        second.named(f"traffic-{group_b}-0")["priority"]
        == first.named(f"traffic-{group_b}-0")["priority"]
    )
    assert second.named(f"traffic-{path_group('/a')}-0")["priority"] not in {
        r["priority"] for r in first.of_type("aws:lb/listenerRule:ListenerRule")
    }


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
    with pytest.raises(ComponentArgError, match="heartbeat"):
        edge(idle_timeout_seconds=30)


def test_alb_sg_accepts_only_listener_ports_from_configured_cidrs():
    run = edge(ingress_cidrs=["198.51.100.0/24", "192.0.2.0/24"])
    rules = [
        r
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == "lb-sg-id"
    ]
    seen = {(r["fromPort"], r["toPort"], r["cidrIpv4"]) for r in rules}
    assert seen == {(p, p, c) for p in (80, 443) for c in ("198.51.100.0/24", "192.0.2.0/24")}


def test_alb_sg_default_is_the_internet_on_80_and_443_only():
    run = edge()
    rules = [
        r
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == "lb-sg-id"
    ]
    assert {(r["fromPort"], r["cidrIpv4"]) for r in rules} == {
        (80, "0.0.0.0/0"),
        (443, "0.0.0.0/0"),
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


def test_domain_and_zone_give_a_dns_validated_certificate_and_an_a_alias():
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
    alias = run.named("lb-alias-a")
    assert alias["name"] == "app.example.com" and alias["zoneId"] == "ZONE1"
    assert alias["aliases"][0]["evaluateTargetHealth"] is True
    assert run.maybe("lb-alias-aaaa") is None


def test_plain_http_mode_serves_on_80_and_has_no_https_listener():
    run = harness.run(
        lambda: LoadBalancer(
            "lb",
            {**{k: v for k, v in BASE.items() if k != "certificate_arn"}, "plain_http_only": True},
        )
    )
    assert run.maybe("lb-https") is None
    ports = {
        r["fromPort"]
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == "lb-sg-id"
    }
    assert ports == {80}


def test_https_without_a_certificate_source_is_refused():
    args = {k: v for k, v in BASE.items() if k != "certificate_arn"}
    with pytest.raises(ComponentArgError, match="plain_http_only"):
        harness.run(lambda: LoadBalancer("lb", args))


# --- target groups ------------------------------------------------------------------------------


def test_two_ip_target_groups_tuned_for_websockets():
    run = edge(app_port=4000, deregistration_delay_seconds=90)
    for slot in SLOTS:
        tg = run.named(f"lb-{slot}")
        assert tg["name"] == target_group_name(["shop", "prod"], slot, 4000)
        assert (tg["targetType"], tg["protocol"], tg["port"]) == ("ip", "HTTP", 4000)
        assert tg["loadBalancingAlgorithmType"] == "least_outstanding_requests"
        assert tg["deregistrationDelay"] == 90
        assert tg["slowStart"] == 0


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
    rule = routing(live=live, canary_percent=canary).named("traffic-live")
    (action,) = rule["actions"]
    assert weights_of(action) == expected


def test_stickiness_across_groups_holds_only_while_weights_are_split():
    """The load balancer lets group stickiness win over weights (a cookie keeps sending a client
    to a group of weight 0), so the forward is sticky only during a canary: once a slot has no
    weight (it is about to drain), no cookie sends a client back to it."""
    (off,) = routing(canary_percent=10).named("traffic-live")["actions"]
    (on,) = routing(enable_stickiness=True, canary_percent=10).named("traffic-live")["actions"]
    assert off["forward"]["stickiness"]["enabled"] is False
    assert on["forward"]["stickiness"]["enabled"] is True
    for live, canary in (("blue", 0), ("green", 0), ("blue", 100)):
        (whole,) = routing(enable_stickiness=True, live=live, canary_percent=canary).named(
            "traffic-live"
        )["actions"]
        assert whole["forward"]["stickiness"]["enabled"] is False, (live, canary)
    assert edge(enable_stickiness=True).named("lb-blue")["stickiness"]["enabled"] is True


# --- rules --------------------------------------------------------------------------------------


def test_test_route_reaches_each_slot_only_by_header_from_operator_cidrs():
    run = edge(operator_cidrs=["203.0.113.0/24"])
    rules = {r.name: r for r in run.of_type("aws:lb/listenerRule:ListenerRule")}
    for slot in SLOTS:
        rule = rules[f"lb-rule-test-{slot}-0"]
        assert rule["listenerArn"] == harness.mock_listener_arn("lb-alb", "lb-https")
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
    rules = [r for r in edge().of_type("aws:lb/listenerRule:ListenerRule") if "test" in r.name]
    assert len(rules) == 2  # still there: they attach both target groups to the load balancer
    for rule in rules:
        assert {"values": ["127.0.0.1/32"]} in [c.get("sourceIp") for c in rule["conditions"]]


def test_slot_target_group_arns_resolve_only_after_the_group_is_attached(run_stack):
    run = run_stack("prod")
    for slot in ("blue", "green"):
        assert f"edge-rule-test-{slot}-0" in run.dependencies_of(run.named(f"slot-{slot}-service"))


def test_path_allow_list_forwards_from_allowed_cidrs_and_answers_403_otherwise():
    run = routing(
        path_allow_lists=[
            {"path": "/api/telegram/*", "cidrs": ["149.154.160.0/20", "91.108.4.0/22"]}
        ]
    )
    group = path_group("/api/telegram/*")
    allow, deny = run.named(f"traffic-{group}-0"), run.named(f"traffic-{group}-deny")
    assert allow["priority"] < deny["priority"] < LIVE_RULE_PRIORITY
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
    group = path_group("/api/telegram/*")
    # The weighted rules, and the capacity gate that runs before any weight changes.
    assert {name for _, name in changed} == {
        "traffic-live",
        f"traffic-{group}-0",
        "traffic-capacity",
    }
    for name in {key for key in changed if key[1] != "traffic-capacity"}:
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

GOOD_EDGE = {"domain": "app.example.com", "certificate_arn": CERT}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"release": {"canary_percent": 120}},
            "phoenix-aws:release.canary_percent: must be at most 100 (got 120)",
        ),
        (
            {"release": {"canary_percent": -5}},
            "phoenix-aws:release.canary_percent: must be at least 0 (got -5)",
        ),
        (
            {"release": {"live": "purple"}},
            "phoenix-aws:release.live: expected one of blue, green (got 'purple')",
        ),
        (
            {"edge": {**GOOD_EDGE, "operator_cidrs": ["300.1.1.1/32"]}},
            "phoenix-aws:edge.operator_cidrs: '300.1.1.1/32': expected a network in CIDR notation, e.g. 203.0.113.0/24",
        ),
        (
            {"edge": {**GOOD_EDGE, "idle_timeout_seconds": 30}},
            "phoenix-aws:edge.idle_timeout_seconds: use 60-4000 seconds (Phoenix sends a WebSocket heartbeat every 30 s) (got 30)",
        ),
        (
            {"edge": {**GOOD_EDGE, "idle_timeout_seconds": 5000}},
            "phoenix-aws:edge.idle_timeout_seconds: use 60-4000 seconds (Phoenix sends a WebSocket heartbeat every 30 s) (got 5000)",
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
            "phoenix-aws:edge.path_allow_lists.0.cidrs: needs at least 1 item(s) (got [])",
        ),
    ],
)
def test_bad_edge_config_is_rejected_with_a_clear_message(raw, expected):
    with pytest.raises(ConfigError) as info:
        load_settings_with_edge(raw)
    assert info.value.problems == [expected]


def test_the_listener_rule_quota_is_checked_on_the_stack_config():
    lists = [
        {"path": f"/hook{n}/*", "cidrs": [f"172.16.{n}.{i * 4}/30" for i in range(15)]}
        for n in range(30)
    ]
    with pytest.raises(ConfigError) as info:
        load_settings_with_edge({"edge": {**GOOD_EDGE, "path_allow_lists": lists}})
    (line,) = info.value.problems
    assert line.startswith("phoenix-aws:edge.path_allow_lists: these lists need 183 listener rules")


def test_development_may_serve_plain_http_when_it_says_so():
    settings = load_settings_with_edge({"stage": "development", "edge": {"plain_http_only": True}})
    assert settings.edge.plain_http_only is True


def test_a_stack_without_its_required_sections_is_told_so():
    from stacks.settings import load_settings

    with pytest.raises(ConfigError) as info:
        load_settings({})
    assert info.value.problems == [
        "phoenix-aws:edge: required, not set",
        "phoenix-aws:app: required, not set",
        "phoenix-aws:release: required, not set",
    ]
