"""Rules of names and identities AWS would refuse or that another account could abuse: physical
names within AWS's limits for the resource they name, and service roles trusted only for this
account (confused deputy)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .model import Context, Enforcement, Resource, resource_rule
from .properties import IAM_ROLE, WEB_ACL, _json, _map, _seq

# (max length, allowed characters as a regex class, first character must be a letter) per
# resource type and input. The component side of the same rules is phoenix_aws.naming; the suite
# checks that both tables agree.
NAME_LIMITS: dict[tuple[str, str], tuple[int, str, bool]] = {
    ("aws:lb/loadBalancer:LoadBalancer", "name"): (32, "A-Za-z0-9-", False),
    ("aws:lb/targetGroup:TargetGroup", "name"): (32, "A-Za-z0-9-", False),
    ("aws:rds/instance:Instance", "identifier"): (63, "a-z0-9-", True),
    ("aws:rds/instance:Instance", "finalSnapshotIdentifier"): (255, "A-Za-z0-9-", True),
    ("aws:rds/parameterGroup:ParameterGroup", "name"): (255, "A-Za-z0-9-", True),
    ("aws:rds/subnetGroup:SubnetGroup", "name"): (255, "a-z0-9._ -", False),
    ("aws:elasticache/replicationGroup:ReplicationGroup", "replicationGroupId"): (
        40,
        "a-z0-9-",
        True,
    ),
    ("aws:elasticache/subnetGroup:SubnetGroup", "name"): (255, "a-z0-9-", False),
    ("aws:iam/role:Role", "name"): (64, r"\w+=,.@-", False),
    ("aws:ecs/cluster:Cluster", "name"): (255, "A-Za-z0-9_-", False),
    ("aws:ecs/service:Service", "name"): (255, "A-Za-z0-9_-", False),
    ("aws:ecs/taskDefinition:TaskDefinition", "family"): (255, "A-Za-z0-9_-", False),
    ("aws:ecr/repository:Repository", "name"): (256, "a-z0-9._/-", False),
    ("aws:cloudwatch/logGroup:LogGroup", "name"): (512, r"A-Za-z0-9._/#-", False),
    ("aws:ssm/parameter:Parameter", "name"): (1011, "A-Za-z0-9_./-", False),
    ("aws:secretsmanager/secret:Secret", "namePrefix"): (512 - 26, "A-Za-z0-9/_+=.@-", False),
    ("aws:s3/bucket:Bucket", "bucketPrefix"): (63 - 26, "a-z0-9.-", False),
    ("aws:wafv2/webAcl:WebAcl", "name"): (128, r"\w-", False),
    ("aws:cloudwatch/dashboard:Dashboard", "dashboardName"): (255, "A-Za-z0-9_-", False),
    ("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "name"): (
        253,
        "a-z0-9.-",
        False,
    ),
    ("aws:servicediscovery/service:Service", "name"): (63, "a-z0-9-", False),
    ("aws:dynamodb/table:Table", "name"): (255, "A-Za-z0-9_.-", False),
}
NAMED_TYPES = sorted({type_ for type_, _ in NAME_LIMITS})
# WAF metric names (the web ACL's and each rule's visibility config): what the provider takes.
WAF_METRIC_NAME_MAX = 128


@resource_rule("aws-physical-names", Enforcement.MANDATORY, *NAMED_TYPES)
def aws_physical_names(r: Resource, ctx: Context) -> Iterator[str]:
    """Every physical name fits what AWS accepts for the resource it names.

    Each service limits its names (a load balancer or target group name 32 characters, an RDS
    identifier 63 starting with a letter, an S3 bucket prefix 37 before Terraform's 26-character
    suffix, …); a name over the limit fails when the resource is created, for long project or
    stack names only. AWS docs: https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
    (and each service's Create API page, cited in phoenix_aws.naming)
    """
    if r.type == WEB_ACL:
        for block in [r.props, *(_map(rule) for rule in _seq(r.props.get("rules")))]:
            metric = str(_map(block.get("visibilityConfig")).get("metricName") or "")
            if len(metric) > WAF_METRIC_NAME_MAX:
                yield f"WAF metric name {metric!r} is longer than {WAF_METRIC_NAME_MAX}"
    for (type_, prop), (limit, allowed, letter_first) in NAME_LIMITS.items():
        value = r.props.get(prop) if r.type == type_ else None
        if not isinstance(value, str) or not value:
            continue
        if len(value) > limit:
            yield f"{prop} {value!r} has {len(value)} characters; AWS allows {limit}"
        if not re.fullmatch(f"[{allowed}]*", value):
            yield f"{prop} {value!r} holds characters AWS refuses here"
        if letter_first and not value[:1].isalpha():
            yield f"{prop} {value!r} must start with a letter"


CONFUSED_DEPUTY_KEYS = ("aws:sourceaccount", "aws:sourcearn")


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    return {
        str(key).lower()
        for operator in _map(statement.get("Condition")).values()
        for key in _map(operator)
    }


@resource_rule("iam-service-trust-scoped", Enforcement.MANDATORY, IAM_ROLE)
def iam_service_trust_scoped(r: Resource, ctx: Context) -> Iterator[str]:
    """A role an AWS service assumes trusts that service only for this account.

    Cross-service confused deputy: without `aws:SourceAccount` (or `aws:SourceArn`) in the trust
    policy, the service may assume the role on behalf of another account's resources.
    AWS docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
    """
    document = _json(r.props.get("assumeRolePolicy"))
    for statement in _seq(_map(document).get("Statement")):
        statement = _map(statement)
        services = _map(statement.get("Principal")).get("Service")
        if statement.get("Effect") != "Allow" or not services:
            continue
        if not _condition_keys(statement) & set(CONFUSED_DEPUTY_KEYS):
            yield (
                f"role {r.name!r} lets {services} assume it for any account; add an "
                "aws:SourceAccount (or aws:SourceArn) condition"
            )
