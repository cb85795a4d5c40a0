"""PhoenixApp: the whole app as one component. Its args are checked before any AWS resource
exists; alone it gets production-safe defaults; the stack program is settings → PhoenixApp →
exports. (Two apps sharing one network, load balancer, cluster and database: the program
examples/two_apps, run from an installed wheel in tests/test_reuse_example.py.)"""

from __future__ import annotations

import ast
import copy
from typing import Any

import harness
import pulumi
import pytest
from phoenix_aws import PhoenixApp
from phoenix_aws.listener_rules import (
    CIDRS_PER_RULE,
    LIVE_RULE_PRIORITY,
    RouteScope,
    check_listener_rules,
    check_route_scope,
    check_rule_conditions,
    plan_allow_list_rules,
    plan_test_routes,
    rule_conditions,
)
from phoenix_aws.target_groups import load_balancer_arn_suffix
from phoenix_aws.validation import ComponentArgError

from offline.mocks import ROOT

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:" + "c" * 64
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c49/f2f7dc8e"
BASE: dict[str, Any] = {
    "app": {"name": "shop"},
    "release": {"blue": {"image": IMAGE, "desired_count": 2}},
    "edge": {"certificate_arn": CERTIFICATE},
}
EXISTING_LB = {
    "listener_arn": LISTENER,
    "security_group_id": "sg-0123456789abcdef0",
    "host": "admin.example.com",
    "priority_block": 2,
}


def build(args: dict[str, Any]) -> harness.Run:
    def program() -> None:
        app = PhoenixApp("shop", args)  # type: ignore[arg-type]
        for name, value in app.exports().items():
            pulumi.export(name, value)

    return harness.run(program, {"aws:region": "eu-west-1"})


def with_(**sections: Any) -> dict[str, Any]:
    args = copy.deepcopy(BASE)
    args.update(sections)
    return args


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (with_(databse={}), "did you mean 'database'"),
        (with_(database={"instance_class": "t4g.small"}), "instance_class"),
        (with_(redis={"enabled": True, "replicas": 0}), "replicas"),
        (with_(edge={"certificate_arn": CERTIFICATE, "idle_timeout_seconds": 10}), "idle_timeout"),
        (with_(app={"name": "shop", "cpu": 256, "memory": 4096}), "cpu/memory"),
        (with_(app={"name": "Shop"}), "app.name"),
        (with_(app={"name": "shop", "prot": 4000}), "did you mean .port."),
        (with_(release={"blue": {"desired_count": 2}}), "no slot has an image"),
        (with_(edge={}), "HTTPS needs certificate_arn"),
        (
            with_(
                network={"az_count": 2},
                existing_network={
                    "vpc_id": "vpc-1",
                    "vpc_cidr_block": "10.0.0.0/16",
                    "private_subnet_ids": ["subnet-1"],
                },
            ),
            "either network or existing_network",
        ),
        (with_(existing_load_balancer=EXISTING_LB), "belongs to the load balancer's owner"),
        (
            with_(edge={}, existing_load_balancer={**EXISTING_LB, "priority_block": 0}),
            "block 0 is the load balancer owner's",
        ),
        (
            with_(edge={}, existing_load_balancer=EXISTING_LB, firewall={"enabled": True}),
            "one web ACL",
        ),
        (
            with_(
                edge={
                    "certificate_arn": CERTIFICATE,
                    "paths": ["/shop/*"],
                    "path_allow_lists": [{"path": "/api/*", "cidrs": ["192.0.2.0/24"]}],
                }
            ),
            "outside the paths this app owns",
        ),
        (
            with_(edge={"certificate_arn": CERTIFICATE, "hosts": ["a.example.com"] * 2}),
            "each host may be listed once",
        ),
        (with_(monitoring={"alarm_email": ["ops@example.com"]}), "did you mean 'alarm_emails'"),
    ],
)
def test_a_mistake_in_any_section_is_refused_before_any_aws_resource(args, message):
    with pytest.raises(ComponentArgError, match=message) as refused:
        build(args)
    created = [r.name for r in refused.value.recorded if r.type.startswith("aws:")]  # type: ignore[attr-defined]
    assert created == []


@pytest.fixture(scope="module")
def lone_app() -> harness.Run:
    return build(copy.deepcopy(BASE))


def test_a_lone_app_gets_every_part_with_production_safe_defaults(lone_app):
    run = lone_app
    kinds = {r.type.rsplit(":", 1)[1] for r in run.resources if r.type.startswith("phoenix-aws:")}
    assert kinds >= {
        "PhoenixApp",
        "Network",
        "NodeSecurityGroup",
        "Database",
        "LoadBalancer",
        "WebFirewall",
        "AppImage",
        "Cluster",
        "ReleaseSlot",
        "Migration",
        "TrafficRouting",
        "Monitoring",
    }
    assert "RedisPubSub" not in kinds and "ListenerAttachment" not in kinds
    db = run.named("shop-database-instance")
    assert db["multiAz"] and db["deletionProtection"] and db.protect
    assert run.named("shop-edge-alb")["enableDeletionProtection"] is True
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 3  # one per AZ, three AZs
    assert run.named("shop-slot-blue-service")["desiredCount"] == 2
    # Physical names derive from [project, stack, app name]: a second app never collides.
    assert run.named("shop-cluster-ecs")["name"] == f"{harness.PROJECT}-test-shop"
    assert run.named("shop-traffic-live")["priority"] == LIVE_RULE_PRIORITY


def test_an_app_exports_the_outputs_the_contract_names(lone_app):
    from phoenix_aws.outputs import APP_OUTPUTS, OPTIONAL_OUTPUTS, RELEASE_OUTPUTS

    exported = set(lone_app.exports)
    assert exported >= RELEASE_OUTPUTS
    assert exported - OPTIONAL_OUTPUTS == set(APP_OUTPUTS) - OPTIONAL_OUTPUTS
    assert {"web_acl_arn", "alarm_topic_arn"} <= exported and "redis_endpoint" not in exported


def test_the_stack_program_is_settings_then_phoenix_app_then_exports():
    source = (ROOT / "__main__.py").read_text()
    assert len(source.splitlines()) <= 60
    tree = ast.parse(source)
    from_components = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("phoenix_aws")
        for alias in node.names
    ]
    assert from_components == ["PhoenixApp"]
    calls = [
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    ]
    assert calls.count("PhoenixApp") == 1


def test_the_stack_program_adopts_its_0_2_parts_under_one_app(run_stack):
    run = run_stack("dev")
    (app,) = run.of_type("phoenix-aws:index:PhoenixApp")
    children = [r for r in run.resources if r.parent == app.urn]
    names = {r.name for r in children}
    assert {"network", "nodes", "database", "edge", "image", "cluster", "traffic"} <= names
    for child in children:
        assert {"noParent": True} in child.aliases, child.name


# --- route scopes: several apps on one listener ------------------------------------------------


def test_a_listener_arn_names_its_load_balancers_metrics_dimension():
    """The ALB metrics dimension `LoadBalancer` is `app/<name>/<id>`, the middle of the listener
    ARN (AWS's own example ARNs)."""
    assert (
        load_balancer_arn_suffix(
            "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/my-load-balancer/"
            "50dc6c495c0c9188/f2f7dc8efc522ab2"
        )
        == "app/my-load-balancer/50dc6c495c0c9188"
    )
    with pytest.raises(ValueError, match="listener"):
        load_balancer_arn_suffix(
            "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/x/1"
        )


def test_hosts_and_paths_take_condition_values_so_every_rule_keeps_at_most_five():
    """ALB counts each host, path, source IP and header value toward 5 per rule, at most 3 per
    condition; an app's scope leaves test routes fewer networks per rule, never too many values.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html"""
    cidrs = [f"198.51.100.{i}/32" for i in range(9)]
    lists = [{"path": "/shop/hooks/*", "cidrs": cidrs}]
    for scope in (
        RouteScope(),
        RouteScope(hosts=("shop.example.com",)),
        RouteScope(hosts=("a.example.com", "b.example.com"), paths=("/shop/*",), block=3),
    ):
        check_listener_rules(cidrs, lists, scope)
        rules = plan_test_routes(cidrs, "X-Release-Slot", scope) + plan_allow_list_rules(
            lists, scope
        )
        for rule in rules:
            values = sum(
                len(next(iter(c.values())).get("values", [])) for c in rule_conditions(rule)
            )
            assert values == rule.condition_values <= 5
            check_rule_conditions(rule_conditions(rule))  # at most 3 values per condition
        test_rule = plan_test_routes(cidrs, "X-Release-Slot", scope)[0]
        assert len(test_rule.cidrs) == min(CIDRS_PER_RULE, 5 - 1 - scope.values)


def test_an_app_on_a_shared_listener_lives_in_its_priority_block():
    scope = RouteScope(hosts=("admin.example.com",), block=7)
    assert scope.live_priority == 7999
    assert all(
        7001 <= scope.priority(band, offset) <= 7980 for band in range(49) for offset in range(20)
    )
    assert RouteScope().live_priority == LIVE_RULE_PRIORITY


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (RouteScope(block=2), "must own hosts or paths"),
        (RouteScope(hosts=("a.example.com",), block=50), "blocks are 1-49"),
        (RouteScope(hosts=("a.example.com", "b.example.com"), paths=("/a/*", "/b/*")), "at most 3"),
        (RouteScope(hosts=("not a host",)), "not a host name"),
        (RouteScope(paths=("shop/*",)), "starting with /"),
    ],
)
def test_a_scope_alb_cannot_express_is_refused(scope, message):
    with pytest.raises(ValueError, match=message):
        check_route_scope(scope)
