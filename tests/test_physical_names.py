"""Every physical name the program generates fits what AWS accepts, for every project and stack name
Pulumi accepts (1-100 letters, digits, hyphens, underscores and periods), not only the shipped ones.

The other side's rules are AWS's naming rules per kind of name (`phoenix_aws.naming`, each citing
its service's Create API page). They are checked two ways: a property over the pure name
functions the components call (every length 1-100, every character Pulumi allows), and whole
stacks run with the extreme names, where every name input of every resource is checked against the
rule for its resource type (a name input missing from the table fails the test, so a new
generated name cannot slip past). The policy pack holds the graph to the same limits.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phoenix_aws.cluster import default_namespace, drain_parameter_name
from phoenix_aws.database import final_snapshot_identifier
from phoenix_aws.load_balancer import target_group_name
from phoenix_aws.naming import (
    CACHE_REPLICATION_GROUP_ID,
    DASHBOARD_NAME,
    DB_INSTANCE_IDENTIFIER,
    DB_PARAMETER_GROUP_NAME,
    DB_SNAPSHOT_IDENTIFIER,
    DNS_NAME,
    ECR_REPOSITORY_NAME,
    ECS_NAME,
    IAM_ROLE_NAME,
    LOAD_BALANCER_NAME,
    RESOURCE_NAME_RULES,
    S3_BUCKET_PREFIX,
    SSM_PARAMETER_NAME,
    TARGET_GROUP_NAME,
    WAF_METRIC_NAME,
    WAF_NAME,
    bucket_prefix,
    physical_name,
)
from phoenix_aws.waf import _visibility as acl_visibility
from phoenix_aws.waf import web_acl_rules

from offline import mocks
from policy.rules.identity import NAME_LIMITS

PULUMI_NAME = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."),
    min_size=1,
    max_size=100,
)
"""A project or stack name Pulumi accepts (its `ValidateStackName`/project name rule)."""

# Every name the components derive from the project and stack, as they derive it.
GENERATED = {
    "load balancer": lambda p, s: (
        LOAD_BALANCER_NAME,
        physical_name(p, s, rule=LOAD_BALANCER_NAME),
    ),
    "target group": lambda p, s: (TARGET_GROUP_NAME, target_group_name([p, s], "green", 65535)),
    "DB identifier": lambda p, s: (
        DB_INSTANCE_IDENTIFIER,
        physical_name(f"{p}-{s}-db", rule=DB_INSTANCE_IDENTIFIER),
    ),
    "DB parameter group": lambda p, s: (
        DB_PARAMETER_GROUP_NAME,
        physical_name(f"{p}-{s}-db", rule=DB_INSTANCE_IDENTIFIER) + "-pg17",
    ),
    "final snapshot": lambda p, s: (
        DB_SNAPSHOT_IDENTIFIER,
        final_snapshot_identifier(
            physical_name(f"{p}-{s}-db", rule=DB_INSTANCE_IDENTIFIER), "ab12"
        ),
    ),
    "Redis group": lambda p, s: (
        CACHE_REPLICATION_GROUP_ID,
        physical_name(f"{p}-{s}-pubsub", rule=CACHE_REPLICATION_GROUP_ID),
    ),
    "IAM role": lambda p, s: (IAM_ROLE_NAME, physical_name(p, s, "admin-exec", rule=IAM_ROLE_NAME)),
    "ECS family": lambda p, s: (
        ECS_NAME,
        physical_name(physical_name(p, s, "green", rule=ECS_NAME), "admin", rule=ECS_NAME),
    ),
    "ECR repository": lambda p, s: (
        ECR_REPOSITORY_NAME,
        physical_name(p, s, rule=ECR_REPOSITORY_NAME),
    ),
    "access log bucket prefix": lambda p, s: (S3_BUCKET_PREFIX, bucket_prefix(p, s, "alb-logs")),
    "web ACL": lambda p, s: (WAF_NAME, physical_name(p, s, "waf", rule=WAF_NAME)),
    "dashboard": lambda p, s: (DASHBOARD_NAME, physical_name(p, s, rule=DASHBOARD_NAME)),
    "drain parameter": lambda p, s: (SSM_PARAMETER_NAME, drain_parameter_name([p, s], "green")),
    "discovery namespace": lambda p, s: (DNS_NAME, default_namespace([p, s])),
}


def waf_metric_names(project: str, stack: str) -> list[str]:
    """The metric names of every rule of the web ACL (and of the ACL), as the component makes
    them: found too long for a 99-character stack by the provider's validate (1-128)."""
    acl = physical_name(project, stack, "waf", rule=WAF_NAME)
    rules = web_acl_rules(acl, path_rate_limits=[{"path": "/api/telegram/*", "limit": 100}])
    return [acl_visibility(acl)["metric_name"]] + [
        r["visibility_config"]["metric_name"] for r in rules
    ]


@settings(max_examples=300, deadline=None)
@given(project=PULUMI_NAME, stack=PULUMI_NAME)
def test_every_generated_name_fits_aws_for_any_project_and_stack_name(project, stack):
    for what, make in GENERATED.items():
        rule, name = make(project, stack)
        assert rule.problems(name) == [], f"{what} for {project!r}/{stack!r}"
    for metric in waf_metric_names(project, stack):
        assert WAF_METRIC_NAME.problems(metric) == [], metric


@pytest.mark.parametrize("length", [1, 15, 16, 17, 37, 63, 64, 100])
def test_every_name_fits_at_the_lengths_where_limits_bite(length):
    """The issue's case: a 16-character stack name made the access log bucket prefix 38
    characters (Terraform's `bucket_prefix` takes 37) and the provider's validate refused it."""
    for project in ("phoenix-aws", "x", "1" * 100, "Internal.Tools_x"):
        stack = ("Stack_name." * 10)[:length]
        for what, make in GENERATED.items():
            rule, name = make(project, stack)
            assert rule.problems(name) == [], f"{what} for {project!r}/{stack!r}"


def test_names_that_fit_are_unchanged():
    """Deployed stacks keep their names (a renamed load balancer or database is a new one)."""
    assert physical_name("phoenix-aws", "prod", rule=LOAD_BALANCER_NAME) == "phoenix-aws-prod"
    assert bucket_prefix("phoenix-aws", "prod", "alb-logs") == "phoenix-aws-prod-alb-logs-"
    assert default_namespace(["phoenix-aws", "prod"]) == "prod.phoenix-aws.internal"
    assert drain_parameter_name(["phoenix-aws", "prod"], "blue") == "/phoenix-aws/prod/blue/drain"
    assert physical_name("1shop-prod-db", rule=DB_INSTANCE_IDENTIFIER) == "db-1shop-prod-db"
    assert physical_name("internal", "prod", rule=LOAD_BALANCER_NAME) == "alb-internal-prod"
    assert drain_parameter_name(["aws-shop", "prod"], "blue") == "/app-aws-shop/prod/blue/drain"


# Inputs that are not physical names derived from the stack (given by the user and checked by
# their own rule, or fixed), and inputs Pulumi names itself.
NOT_DERIVED = {
    ("aws:route53/record:Record", "name"),  # the user's domain (check_domain)
    ("aws:rds/parameterGroup:ParameterGroup", "family"),  # postgres17
}
NAME_INPUTS = (
    "name",
    "namePrefix",
    "bucketPrefix",
    "family",
    "identifier",
    "replicationGroupId",
    "finalSnapshotIdentifier",
    "dashboardName",
)
EXTREMES = [
    ("x", "y"),
    ("phoenix-aws", "sixteen-chars-12"),
    ("1nternal.Tools_" + "p" * 85, "Stack_" + "s" * 93 + "."),
]
"""The shortest names, the issue's 16-character stack name, and the longest (with every character
kind Pulumi allows, a digit first)."""


@pytest.fixture(scope="module", params=EXTREMES, ids=["shortest", "issue-16", "longest"])
def extreme_run(request):
    project, stack = request.param
    config = mocks.with_overrides(
        mocks.stack_config("prod"),
        network={"nat": "instance"},
        pubsub={"adapter": "redis"},
    )
    return mocks.run_main(config, stack=stack, project=project)


def test_every_name_input_of_a_whole_stack_is_one_aws_accepts(extreme_run):
    checked = 0
    for resource in extreme_run.resources:
        if not resource.custom or not resource.type.startswith("aws:"):
            continue
        for key in NAME_INPUTS:
            value = resource.inputs.get(key)
            if not isinstance(value, str) or (resource.type, key) in NOT_DERIVED:
                continue
            rule = RESOURCE_NAME_RULES.get((resource.type, key))
            assert rule is not None, f"{resource.type} {key}: a name with no AWS rule in the table"
            assert rule.problems(value) == [], resource.name
            checked += 1
        if resource.type == "aws:wafv2/webAcl:WebAcl":
            for block in [resource, *resource["rules"]]:
                metric = block["visibilityConfig"]["metricName"]
                assert WAF_METRIC_NAME.problems(metric) == [], metric
                checked += 1
    assert checked >= 30


def test_the_policy_pack_holds_the_graph_to_the_same_limits():
    """One rule per name kind in phoenix_aws.naming; the policy pack (standard library only)
    keeps its own copy of the limits, which must not drift."""
    assert set(NAME_LIMITS) == set(RESOURCE_NAME_RULES)
    for key, (limit, allowed, letter_first) in NAME_LIMITS.items():
        rule = RESOURCE_NAME_RULES[key]
        assert (limit, allowed, letter_first) == (rule.max_length, rule.allowed, rule.letter_first)
