"""The guardrails as plain validation functions: what every phoenix-aws stack must (or should) be.

Each rule is named for the AWS Foundational Security Best Practices control it enforces (`elb-5-…`
enforces ELB.5), or, for the AWS rules a real deployment would otherwise hit (issue 9: combinations
AWS refuses, quotas, ordering), for what it checks. Its docstring's first line is the description
the CLI prints, and its `AWS docs:` line is the page that defines it.

- A *resource rule* sees one resource's properties, exactly as the engine sends them to a policy
  pack: camelCase input names, numbers as floats, nested objects as read-only mappings.
- A *stack rule* sees every resource of the stack with its properties and dependencies (URNs).

Rules are *mandatory* when they guard a security boundary (who can reach or read what, what gets
recorded) and *advisory* when the only thing at stake is cost or availability; only advisory
rules can be waived (see `policy/waivers.py`).

This module needs nothing but the standard library, so the policy pack (`policy/__main__.py`),
the tests and any script can call the functions directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# ---------------------------------------------------------------------------------------------
# The model a rule sees


class Enforcement(StrEnum):
    """What a violation does to a preview."""

    MANDATORY = "mandatory"
    """Fails the preview. Security boundaries. Never waived."""
    ADVISORY = "advisory"
    """Printed as a warning. Cost- or availability-driven; a stack may waive it with a reason."""


PRODUCTION = "production"


@dataclass(frozen=True)
class Context:
    """Which stack is checked. `stage` is the stack's `phoenix-aws:stage` (default production)."""

    stack: str
    stage: str = PRODUCTION

    @property
    def production(self) -> bool:
        return self.stage == PRODUCTION


@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    dependencies: tuple[str, ...] = ()
    """URNs this resource depends on (resource options and property dependencies together)."""
    parent: str | None = None


@dataclass(frozen=True)
class Finding:
    """A stack rule's finding: the message and the resource it is about (None: the stack)."""

    message: str
    resource: Resource | None = None


@dataclass(frozen=True)
class Violation:
    """A rule broken by a resource (or by the stack as a whole)."""

    rule: str
    enforcement: Enforcement
    message: str
    resource_name: str | None = None
    resource_type: str | None = None
    urn: str | None = None


class Stack:
    """Every resource of a stack, with lookups along the dependency graph."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources if r.urn}
        self._children: dict[str, list[Resource]] = {}
        for r in self.resources:
            if r.parent:
                self._children.setdefault(r.parent, []).append(r)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def dependencies(self, resource: Resource, *types: str) -> list[Resource]:
        """Direct dependencies of `resource` (of the given types, if any)."""
        found: dict[str, Resource] = {}
        for urn in resource.dependencies:
            dep = self.by_urn.get(urn)
            if dep is not None and (not types or dep.type in types):
                found[dep.urn] = dep
        return list(found.values())

    def dependents(self, resource: Resource, *types: str) -> list[Resource]:
        """Resources that depend directly on `resource` (of the given types, if any)."""
        return [
            r
            for r in self.resources
            if resource.urn in r.dependencies and (not types or r.type in types)
        ]

    def closure(self, resource: Resource) -> set[str]:
        """URNs of everything `resource` waits for, transitively. Waiting for a resource that has
        children (a component) means waiting for all of them, as the engine does."""
        seen: set[str] = set()
        pending = list(resource.dependencies)
        while pending:
            urn = pending.pop()
            if urn in seen:
                continue
            seen.add(urn)
            dep = self.by_urn.get(urn)
            if dep is not None:
                pending.extend(dep.dependencies)
            pending.extend(child.urn for child in self._children.get(urn, []))
        return seen


ResourceCheck = Callable[[Resource, Context], Iterable[str]]
StackCheck = Callable[[Stack, Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """A guardrail: a plain check plus what the policy pack needs to present it."""

    name: str
    enforcement: Enforcement
    description: str
    doc_url: str
    check: Callable[..., Iterable[Any]]
    control: str | None = None
    """The AWS Foundational Security Best Practices control, e.g. `ELB.5`."""
    resource_types: frozenset[str] = field(default_factory=frozenset)
    """Empty for a stack rule."""
    production_only: bool = False

    @property
    def is_stack_rule(self) -> bool:
        return not self.resource_types

    def applies(self, context: Context) -> bool:
        return context.production or not self.production_only

    def check_resource(self, resource: Resource, context: Context) -> list[Violation]:
        """Violations of this resource rule by `resource` (none if the rule does not apply)."""
        if self.is_stack_rule or resource.type not in self.resource_types:
            return []
        if not self.applies(context):
            return []
        return [
            Violation(
                self.name, self.enforcement, message, resource.name, resource.type, resource.urn
            )
            for message in self.check(resource, context)
        ]

    def check_stack(self, stack: Stack, context: Context) -> list[Violation]:
        """Violations of this stack rule (none if the rule does not apply)."""
        if not self.is_stack_rule or not self.applies(context):
            return []
        return [
            Violation(
                self.name,
                self.enforcement,
                finding.message,
                finding.resource.name if finding.resource else None,
                finding.resource.type if finding.resource else None,
                finding.resource.urn if finding.resource else None,
            )
            for finding in self.check(stack, context)
        ]


RULES: list[Rule] = []


def _register(
    name: str,
    enforcement: Enforcement,
    check: Callable[..., Iterable[Any]],
    control: str | None,
    types: Iterable[str],
    production_only: bool,
) -> None:
    doc = check.__doc__ or ""
    description = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    aws_urls = re.findall(r"AWS docs: (\S+)", doc)
    other_urls = re.findall(r"(?<!AWS )Docs: (\S+)", doc)
    if not description or not (aws_urls or other_urls):
        raise ValueError(f"rule {name}: the docstring needs a description and a docs line")
    if any(rule.name == name for rule in RULES):
        raise ValueError(f"rule {name} is defined twice")
    RULES.append(
        Rule(
            name=name,
            enforcement=enforcement,
            description=description,
            doc_url=(aws_urls or other_urls)[0],
            check=check,
            control=control,
            resource_types=frozenset(types),
            production_only=production_only,
        )
    )


def resource_rule(
    name: str,
    enforcement: Enforcement,
    *types: str,
    control: str | None = None,
    production_only: bool = False,
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register a check of single resources of `types`."""

    def decorate(check: ResourceCheck) -> ResourceCheck:
        _register(name, enforcement, check, control, types, production_only)
        return check

    return decorate


def stack_rule(
    name: str,
    enforcement: Enforcement,
    *,
    control: str | None = None,
    production_only: bool = False,
) -> Callable[[StackCheck], StackCheck]:
    """Register a check of the whole stack graph."""

    def decorate(check: StackCheck) -> StackCheck:
        _register(name, enforcement, check, control, (), production_only)
        return check

    return decorate


def evaluate(
    resources: Iterable[Resource], context: Context, rules: Iterable[Rule] | None = None
) -> list[Violation]:
    """Every violation of `rules` (default: all) by the stack made of `resources`."""
    stack = Stack(resources)
    violations: list[Violation] = []
    for rule in RULES if rules is None else rules:
        if rule.is_stack_rule:
            violations.extend(rule.check_stack(stack, context))
        else:
            for resource in stack.resources:
                violations.extend(rule.check_resource(resource, context))
    return violations


def rule_named(name: str) -> Rule:
    for rule in RULES:
        if rule.name == name:
            return rule
    raise KeyError(name)


# ---------------------------------------------------------------------------------------------
# Resource types and property helpers (props may be the engine's read-only proxies: use the
# abstract Mapping/Sequence types, never dict/list)

LOAD_BALANCER = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENER = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULE = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
TARGET_GROUP = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SUBNET = "aws:ec2/subnet:Subnet"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
DB_INSTANCE = "aws:rds/instance:Instance"
DB_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SNS_TOPIC = "aws:sns/topic:Topic"
KMS_KEY = "aws:kms/key:Key"
BUCKET = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
DNS_RECORD = "aws:route53/record:Record"

WORLD = ("0.0.0.0/0", "::/0")
EPMD_PORT = 4369


def _seq(value: Any) -> list[Any]:
    """A list of the items of a sequence property (strings are not sequences here)."""
    if value is None or isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return []
    return list(value)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _first(value: Any) -> Mapping[str, Any]:
    """A nested block given as an object or (older provider versions) a one-element list."""
    if isinstance(value, Mapping):
        return value
    items = _seq(value)
    return _map(items[0]) if items else {}


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _number(value: Any, default: float | None = None) -> float | None:
    if value is None or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _json(value: Any) -> Any:
    """A JSON-encoded property (container definitions, policy documents), parsed."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _name(resource: Resource) -> str:
    return str(resource.props.get("name") or resource.name)


def _containers(resource: Resource) -> list[Mapping[str, Any]]:
    return [_map(c) for c in _seq(_json(resource.props.get("containerDefinitions")))]


def _is_application_lb(props: Mapping[str, Any]) -> bool:
    return props.get("loadBalancerType") in (None, "application")


def _is_internet_facing(props: Mapping[str, Any]) -> bool:
    return not _true(props.get("internal"))


@dataclass(frozen=True)
class _Ingress:
    """One ingress permission, whatever resource type declares it."""

    owner: Resource
    protocol: str
    from_port: int
    to_port: int
    cidrs: tuple[str, ...]
    security_group_id: Any
    """The group the permission is on (None for inline rules: the owner itself)."""
    sources: tuple[Any, ...]
    """Security groups allowed in (ids), `self` for a self-reference."""

    @property
    def all_ports(self) -> bool:
        return self.protocol in ("-1", "all")

    def covers(self, low: int, high: int | None = None) -> bool:
        high = low if high is None else high
        if self.protocol in ("icmp", "icmpv6", "1", "58"):
            return False
        if self.all_ports:
            return True
        return self.from_port <= high and low <= self.to_port

    @property
    def from_world(self) -> bool:
        return any(c in WORLD for c in self.cidrs)

    def port_text(self) -> str:
        if self.all_ports:
            return "all ports"
        if self.from_port == self.to_port:
            return f"port {self.from_port}"
        return f"ports {self.from_port}-{self.to_port}"


def _ingresses(resource: Resource) -> list[_Ingress]:
    """The ingress permissions a security group, group rule or ingress rule resource declares."""
    props = resource.props

    def port(value: Any) -> int:
        return int(_number(value, 0) or 0)

    if resource.type == INGRESS_RULE:
        cidrs = tuple(c for c in (props.get("cidrIpv4"), props.get("cidrIpv6")) if c)
        source = props.get("referencedSecurityGroupId")
        return [
            _Ingress(
                resource,
                str(props.get("ipProtocol", "-1")).lower(),
                port(props.get("fromPort")),
                port(props.get("toPort")),
                cidrs,
                props.get("securityGroupId"),
                (source,) if source else (),
            )
        ]
    if resource.type == SECURITY_GROUP_RULE:
        if props.get("type") != "ingress":
            return []
        cidrs = tuple(_seq(props.get("cidrBlocks")) + _seq(props.get("ipv6CidrBlocks")))
        sources = tuple(
            s
            for s in (props.get("sourceSecurityGroupId"), "self" if _true(props.get("self")) else 0)
            if s
        )
        return [
            _Ingress(
                resource,
                str(props.get("protocol", "-1")).lower(),
                port(props.get("fromPort")),
                port(props.get("toPort")),
                cidrs,
                props.get("securityGroupId"),
                sources,
            )
        ]
    if resource.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        found = []
        for entry in _seq(props.get("ingress")):
            entry = _map(entry)
            cidrs = tuple(_seq(entry.get("cidrBlocks")) + _seq(entry.get("ipv6CidrBlocks")))
            sources = tuple(_seq(entry.get("securityGroups"))) + (
                ("self",) if _true(entry.get("self")) else ()
            )
            found.append(
                _Ingress(
                    resource,
                    str(entry.get("protocol", "-1")).lower(),
                    port(entry.get("fromPort")),
                    port(entry.get("toPort")),
                    cidrs,
                    None,
                    sources,
                )
            )
        return found
    return []


INGRESS_TYPES = (INGRESS_RULE, SECURITY_GROUP_RULE, SECURITY_GROUP)

# ---------------------------------------------------------------------------------------------
# Elastic Load Balancing

ELB_DOCS = "https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html"

# ELB.17's `sslPolicies`: the TLS 1.3 policies (TLS 1.2 fallback allowed) and their FIPS variants,
# plus the hybrid post-quantum 2025-09 versions of the same policies, which the ALB security
# policy page now recommends (the console's default is ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09).
RECOMMENDED_TLS_POLICIES = frozenset(
    {
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
    }
)


@resource_rule("elb-1-http-redirects-to-https", Enforcement.ADVISORY, *LISTENER, control="ELB.1")
def elb_1_http_redirects_to_https(r: Resource, ctx: Context) -> Iterator[str]:
    """ELB.1: an HTTP listener redirects every request to HTTPS.

    The control fails if any HTTP listener of an Application Load Balancer lacks HTTP to HTTPS
    redirection. Advisory: a development stack without a domain serves plain HTTP on purpose
    (`edge.plain_http_only`, refused in production by the settings) and waives it.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-1
    """
    if str(r.props.get("protocol", "")).upper() != "HTTP":
        return
    actions = [_map(a) for a in _seq(r.props.get("defaultActions"))]
    redirects = [
        a
        for a in actions
        if a.get("type") == "redirect"
        and str(_first(a.get("redirect")).get("protocol", "")).upper() == "HTTPS"
    ]
    if not redirects:
        yield (
            f"HTTP listener {r.name!r} serves plain HTTP; its default action should be a "
            "redirect to HTTPS (port 443, HTTP_301)"
        )


@resource_rule("elb-4-drop-invalid-headers", Enforcement.MANDATORY, *LOAD_BALANCER, control="ELB.4")
def elb_4_drop_invalid_headers(r: Resource, ctx: Context) -> Iterator[str]:
    """ELB.4: an Application Load Balancer drops HTTP headers with invalid fields.

    The control fails if `routing.http.drop_invalid_header_fields.enabled` is false (the AWS
    default), which leaves the app open to HTTP desync attacks.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-4
    """
    if _is_application_lb(r.props) and not _true(r.props.get("dropInvalidHeaderFields")):
        yield (
            f"load balancer {r.name!r} passes invalid HTTP headers on; set dropInvalidHeaderFields"
        )


@resource_rule("elb-5-access-logs", Enforcement.ADVISORY, *LOAD_BALANCER, control="ELB.5")
def elb_5_access_logs(r: Resource, ctx: Context) -> Iterator[str]:
    """ELB.5: an Application Load Balancer writes access logs.

    The control fails if `access_logs.s3.enabled` is false. Advisory (log storage costs money):
    the local emulator stack, which has no log delivery, waives it.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-5
    """
    if _is_application_lb(r.props) and not _true(_first(r.props.get("accessLogs")).get("enabled")):
        yield f"load balancer {r.name!r} keeps no access logs; enable accessLogs to an S3 bucket"


@resource_rule(
    "elb-6-deletion-protection",
    Enforcement.ADVISORY,
    *LOAD_BALANCER,
    control="ELB.6",
    production_only=True,
)
def elb_6_deletion_protection(r: Resource, ctx: Context) -> Iterator[str]:
    """ELB.6: a production load balancer has deletion protection on.

    The control fails if deletion protection is not enabled. Applied to production stacks only:
    development stacks are disposable by design.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-6
    """
    if not _true(r.props.get("enableDeletionProtection")):
        yield (
            f"production load balancer {r.name!r} can be deleted by mistake; "
            "set enableDeletionProtection"
        )


@resource_rule("elb-12-desync-mitigation", Enforcement.MANDATORY, *LOAD_BALANCER, control="ELB.12")
def elb_12_desync_mitigation(r: Resource, ctx: Context) -> Iterator[str]:
    """ELB.12: an Application Load Balancer mitigates HTTP desync (defensive or strictest).

    The control fails unless the desync mitigation mode is `defensive` (the AWS default) or
    `strictest`; `monitor` lets ambiguous requests through.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-12
    """
    mode = r.props.get("desyncMitigationMode") or "defensive"
    if _is_application_lb(r.props) and mode not in ("defensive", "strictest"):
        yield (
            f"load balancer {r.name!r} uses desync mitigation mode {mode!r}; "
            "use 'defensive' or 'strictest'"
        )


@resource_rule("elb-17-modern-tls-policy", Enforcement.MANDATORY, *LISTENER, control="ELB.17")
def elb_17_modern_tls_policy(r: Resource, ctx: Context) -> Iterator[str]:
    """ELB.17: an HTTPS listener uses a recommended (TLS 1.3) security policy.

    The control fails if an HTTPS listener's security policy is not one of the recommended ones
    (its `sslPolicies` parameter). Without `sslPolicy` the API picks ELBSecurityPolicy-2016-08,
    which still accepts TLS 1.0.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-17
    """
    if str(r.props.get("protocol", "")).upper() != "HTTPS":
        return
    policy = r.props.get("sslPolicy") or "ELBSecurityPolicy-2016-08 (the API default)"
    if policy not in RECOMMENDED_TLS_POLICIES:
        yield (
            f"HTTPS listener {r.name!r} uses security policy {policy}; use a recommended TLS 1.3 "
            "policy such as ELBSecurityPolicy-TLS13-1-2-2021-06"
        )


@stack_rule(
    "elb-16-waf-on-public-alb", Enforcement.ADVISORY, control="ELB.16", production_only=True
)
def elb_16_waf_on_public_alb(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """ELB.16: an internet-facing production Application Load Balancer has a WAF web ACL.

    The control fails if an Application Load Balancer is not associated with an AWS WAF web ACL.
    Applied to production stacks. Advisory (a web ACL costs about $5 a month plus $1 per rule and
    $0.60 per million requests); a stack that filters traffic elsewhere (e.g. CloudFront with its
    own web ACL) waives it with that reason.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-16
    """
    for lb in stack.of_type(*LOAD_BALANCER):
        if not (_is_application_lb(lb.props) and _is_internet_facing(lb.props)):
            continue
        if not stack.dependents(lb, WEB_ACL_ASSOCIATION):
            yield Finding(
                f"internet-facing load balancer {lb.name!r} has no WAF web ACL; associate one "
                "(phoenix_aws.waf.WebFirewall)",
                lb,
            )


# ---------------------------------------------------------------------------------------------
# AWS rules of the load balancer that a real deployment would otherwise hit (issue 9)

ALB_QUOTAS_DOCS = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html"
)
MAX_RULES_PER_LISTENER = 100
MAX_CONDITION_VALUES_PER_RULE = 5
MAX_TARGET_GROUP_NAME = 32


@resource_rule("alb-slow-start-algorithm", Enforcement.MANDATORY, *TARGET_GROUP)
def alb_slow_start_algorithm(r: Resource, ctx: Context) -> Iterator[str]:
    """Slow start is only combined with a routing algorithm that supports it.

    ALB refuses slow start mode together with the least outstanding requests algorithm (and with
    weighted random when anomaly mitigation is on), so creating such a target group fails.
    AWS docs: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#slow-start-mode
    """
    slow_start = _number(r.props.get("slowStart"), 0) or 0
    algorithm = r.props.get("loadBalancingAlgorithmType") or "round_robin"
    anomaly = r.props.get("loadBalancingAnomalyMitigation") == "on"
    if slow_start > 0 and (
        algorithm == "least_outstanding_requests" or (algorithm == "weighted_random" and anomaly)
    ):
        yield (
            f"target group {r.name!r} combines slow start ({int(slow_start)} s) with the "
            f"{algorithm} algorithm, which AWS refuses; use round_robin or turn slow start off"
        )


@resource_rule("alb-target-group-name", Enforcement.MANDATORY, *TARGET_GROUP)
def alb_target_group_name(r: Resource, ctx: Context) -> Iterator[str]:
    """A target group name has at most 32 letters, digits and hyphens.

    CreateTargetGroup: the name must be unique per region and account, at most 32 characters,
    only alphanumerics and hyphens, and must not begin or end with a hyphen.
    AWS docs: https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html
    """
    name = r.props.get("name")
    if name is None:
        prefix = r.props.get("namePrefix")
        if prefix is not None and len(str(prefix)) > 6:
            yield f"target group {r.name!r}: namePrefix {prefix!r} is longer than 6 characters"
        return
    name = str(name)
    if len(name) > MAX_TARGET_GROUP_NAME:
        yield (
            f"target group name {name!r} has {len(name)} characters; AWS allows at most "
            f"{MAX_TARGET_GROUP_NAME}"
        )
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", name):
        yield (
            f"target group name {name!r} may only hold letters, digits and hyphens, and may not "
            "begin or end with a hyphen"
        )


def _condition_values(condition: Mapping[str, Any]) -> int:
    count = 0
    for key in ("hostHeader", "pathPattern", "httpRequestMethod", "sourceIp", "httpHeader"):
        block = _first(condition.get(key))
        count += len(_seq(block.get("values")))
    count += len(_seq(condition.get("queryStrings")))
    return count


@resource_rule("alb-listener-rule-condition-values", Enforcement.MANDATORY, *LISTENER_RULE)
def alb_listener_rule_condition_values(r: Resource, ctx: Context) -> Iterator[str]:
    """A listener rule holds at most 5 condition values.

    Application Load Balancer quota: condition values per rule, 5 (path patterns, host names,
    header values, methods, query strings and source IPs of all its conditions together).
    AWS docs: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
    """
    total = sum(_condition_values(_map(c)) for c in _seq(r.props.get("conditions")))
    if total > MAX_CONDITION_VALUES_PER_RULE:
        yield (
            f"listener rule {r.name!r} has {total} condition values; AWS allows at most "
            f"{MAX_CONDITION_VALUES_PER_RULE} per rule (split it into several rules)"
        )


@stack_rule("alb-listener-rule-quota", Enforcement.MANDATORY)
def alb_listener_rule_quota(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """A listener has at most 100 rules (besides its default rule).

    Application Load Balancer quota: rules per load balancer listener, 100 (not counting the
    default rules). A config with more is refused when the 101st rule is created.
    AWS docs: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
    """
    counts: dict[str, int] = {}
    for rule in stack.of_type(*LISTENER_RULE):
        for listener in stack.dependencies(rule, *LISTENER):
            counts[listener.urn] = counts.get(listener.urn, 0) + 1
    for urn, count in counts.items():
        if count > MAX_RULES_PER_LISTENER:
            listener = stack.by_urn[urn]
            yield Finding(
                f"listener {listener.name!r} has {count} rules; AWS allows at most "
                f"{MAX_RULES_PER_LISTENER} per listener (fewer operator CIDRs or allow-list "
                "entries, or wider CIDRs)",
                listener,
            )


@stack_rule("alb-waits-for-log-bucket-policy", Enforcement.MANDATORY)
def alb_waits_for_log_bucket_policy(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """A load balancer that logs to a bucket is created after the bucket's policy and ownership.

    When access logging is enabled, ELB checks at once that it can write to the bucket; if the
    bucket policy is not there yet, creating the load balancer fails with "Access Denied for
    bucket". So the load balancer depends on the bucket policy (and ownership controls).
    AWS docs: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
    """
    for lb in stack.of_type(*LOAD_BALANCER):
        if not _true(_first(lb.props.get("accessLogs")).get("enabled")):
            continue
        waits_for = stack.closure(lb)
        for bucket in stack.dependencies(lb, *BUCKET):
            for setup in stack.dependents(bucket, BUCKET_POLICY, BUCKET_OWNERSHIP):
                if setup.urn not in waits_for:
                    yield Finding(
                        f"load balancer {lb.name!r} does not wait for {setup.name!r} of its "
                        f"log bucket {bucket.name!r}; the first deployment can fail with "
                        "'Access Denied for bucket' (add it to depends_on)",
                        lb,
                    )


@stack_rule("alb-ipv6-needs-dualstack", Enforcement.MANDATORY)
def alb_ipv6_needs_dualstack(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """IPv6 ingress and AAAA alias records only for a dual-stack load balancer.

    A load balancer with IP address type `ipv4` has no IPv6 address: `::/0` ingress on its
    security group opens nothing useful, and an AAAA alias to it answers nothing.
    AWS docs: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#ip-address-type
    """
    for lb in stack.of_type(*LOAD_BALANCER):
        if str(lb.props.get("ipAddressType") or "ipv4").startswith("dualstack"):
            continue
        for group in stack.dependencies(lb, SECURITY_GROUP):
            for rule in [group, *stack.dependents(group, INGRESS_RULE, SECURITY_GROUP_RULE)]:
                for ingress in _ingresses(rule):
                    v6 = [c for c in ingress.cidrs if ":" in c]
                    if v6:
                        yield Finding(
                            f"{rule.name!r} allows IPv6 ({', '.join(v6)}) into load balancer "
                            f"{lb.name!r}, which is not dual-stack; drop the IPv6 rule or set "
                            "ipAddressType to dualstack",
                            rule,
                        )
        for record in stack.dependents(lb, DNS_RECORD):
            if record.props.get("type") == "AAAA":
                yield Finding(
                    f"AAAA record {record.name!r} aliases load balancer {lb.name!r}, which is "
                    "not dual-stack; drop it or set ipAddressType to dualstack",
                    record,
                )


# ---------------------------------------------------------------------------------------------
# Network

EC2_DOCS = "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html"
AUTHORIZED_PUBLIC_PORTS = (80, 443)
# EC2.19's high-risk ports.
HIGH_RISK_PORTS: tuple[int, ...] = (
    *(20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333),
    *(5000, 5432, 5500, 5601, 8080, 8088, 8888, 9200, 9300),
)


@stack_rule("ec2-2-default-security-group-closed", Enforcement.MANDATORY, control="EC2.2")
def ec2_2_default_security_group_closed(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """EC2.2: a VPC's default security group allows no traffic in or out.

    The control fails if the default security group allows inbound or outbound traffic; AWS
    creates it allowing all traffic between its members, so the stack must manage it, empty.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-2
    """
    for vpc in stack.of_type(VPC):
        managed = stack.dependents(vpc, DEFAULT_SECURITY_GROUP)
        if not managed:
            yield Finding(
                f"VPC {vpc.name!r} leaves its default security group open (AWS creates it "
                "allowing all traffic between members); manage it with no rules",
                vpc,
            )
    for group in stack.of_type(DEFAULT_SECURITY_GROUP):
        if _seq(group.props.get("ingress")) or _seq(group.props.get("egress")):
            yield Finding(
                f"default security group {group.name!r} has rules; remove every ingress and "
                "egress rule",
                group,
            )


@stack_rule("ec2-6-vpc-flow-logs", Enforcement.ADVISORY, control="EC2.6")
def ec2_6_vpc_flow_logs(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """EC2.6: every VPC records flow logs (at least rejected traffic).

    The control fails if a VPC has no flow log with traffic type REJECT (or ALL). Advisory (log
    ingestion costs money); the local emulator stack, which has no log delivery, waives it.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-6
    """
    for vpc in stack.of_type(VPC):
        logs = [
            f
            for f in stack.dependents(vpc, FLOW_LOG)
            if str(f.props.get("trafficType", "")).upper() in ("ALL", "REJECT")
        ]
        if not logs:
            yield Finding(
                f"VPC {vpc.name!r} records no flow logs; add a flow log with trafficType ALL",
                vpc,
            )


@resource_rule("ec2-15-no-automatic-public-ip", Enforcement.MANDATORY, SUBNET, control="EC2.15")
def ec2_15_no_automatic_public_ip(r: Resource, ctx: Context) -> Iterator[str]:
    """EC2.15: no subnet hands out public IPv4 addresses automatically.

    The control passes only if `MapPublicIpOnLaunch` is false. Nothing in a phoenix-aws stack
    needs it: the load balancer gets its addresses from AWS and the NAT uses an Elastic IP or
    asks for one explicitly.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-15
    """
    if _true(r.props.get("mapPublicIpOnLaunch")):
        yield (
            f"subnet {r.name!r} gives every network interface launched in it a public IP; "
            "set mapPublicIpOnLaunch to false"
        )


@resource_rule(
    "ec2-18-public-ingress-web-ports-only", Enforcement.MANDATORY, *INGRESS_TYPES, control="EC2.18"
)
def ec2_18_public_ingress_web_ports_only(r: Resource, ctx: Context) -> Iterator[str]:
    """EC2.18: ingress from anywhere (0.0.0.0/0, ::/0) only on TCP 80 and 443.

    The control fails if a security group allows unrestricted incoming traffic on a port that
    is not in `authorizedTcpPorts` (default 80, 443).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-18
    """
    for ingress in _ingresses(r):
        if not ingress.from_world:
            continue
        if ingress.protocol in ("tcp", "6") and (
            ingress.from_port == ingress.to_port and ingress.from_port in AUTHORIZED_PUBLIC_PORTS
        ):
            continue
        yield (
            f"{r.name!r} allows {ingress.protocol} {ingress.port_text()} from anywhere; "
            "only TCP 80 and 443 may be open to the internet"
        )


@resource_rule(
    "ec2-19-no-public-high-risk-ports", Enforcement.MANDATORY, *INGRESS_TYPES, control="EC2.19"
)
def ec2_19_no_public_high_risk_ports(r: Resource, ctx: Context) -> Iterator[str]:
    """EC2.19: no high-risk port (SSH, RDP, databases, …) is reachable from anywhere.

    The control fails if any rule allows ingress from 0.0.0.0/0 or ::/0 to a high-risk port
    (20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432,
    5500, 5601, 8080, 8088, 8888, 9200, 9300).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-19
    """
    for ingress in _ingresses(r):
        if not ingress.from_world:
            continue
        exposed = [p for p in HIGH_RISK_PORTS if ingress.covers(p)]
        if exposed:
            shown = ", ".join(map(str, exposed[:5])) + (", …" if len(exposed) > 5 else "")
            yield f"{r.name!r} exposes high-risk ports ({shown}) to the internet"


@stack_rule("ec2-18-public-ingress-load-balancer-only", Enforcement.MANDATORY, control="EC2.18")
def ec2_18_public_ingress_load_balancer_only(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """EC2.18: only the internet-facing load balancer's security group is open to the internet.

    Only the load balancer is public (the architecture's first boundary); app nodes, data stores,
    endpoints and NAT are reached from inside the VPC only.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-18
    """
    public_groups = {
        group.urn
        for lb in stack.of_type(*LOAD_BALANCER)
        if _is_internet_facing(lb.props)
        for group in stack.dependencies(lb, SECURITY_GROUP)
    }
    for resource in stack.of_type(*INGRESS_TYPES):
        for ingress in _ingresses(resource):
            if not ingress.from_world:
                continue
            groups = (
                {resource.urn}
                if resource.type == SECURITY_GROUP
                else {g.urn for g in stack.dependencies(resource, SECURITY_GROUP)}
            )
            if not groups & public_groups:
                yield Finding(
                    f"{resource.name!r} opens {ingress.port_text()} to the internet on a "
                    "security group that no internet-facing load balancer uses",
                    resource,
                )


def _distribution_ranges(stack: Stack) -> list[tuple[int, int]]:
    """The Erlang distribution port ranges the task definitions pin (ERL_AFLAGS)."""
    ranges = set()
    for task in stack.of_type(TASK_DEFINITION):
        for container in _containers(task):
            for variable in _seq(container.get("environment")):
                value = str(_map(variable).get("value", ""))
                low = re.search(r"inet_dist_listen_min\s+(\d+)", value)
                high = re.search(r"inet_dist_listen_max\s+(\d+)", value)
                if low and high:
                    ranges.add((int(low.group(1)), int(high.group(1))))
    return sorted(ranges)


@stack_rule("beam-ports-node-to-node-only", Enforcement.MANDATORY)
def beam_ports_node_to_node_only(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """EPMD (4369) and the distribution ports reach a node only from the node security group.

    Anyone who reaches EPMD and a distribution port with the cookie controls the node, so on the
    nodes' security group (the one the ECS services run in) these ports may only be opened to
    that same group. The distribution range is read from the tasks' ERL_AFLAGS.
    Docs: https://www.erlang.org/doc/system/distributed.html (Security) and
    AWS docs: https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html
    """
    ranges = [(EPMD_PORT, EPMD_PORT), *_distribution_ranges(stack)]
    node_group_ids: set[Any] = set()
    node_group_urns: set[str] = set()
    for service in stack.of_type(ECS_SERVICE):
        network = _first(service.props.get("networkConfiguration"))
        node_group_ids.update(g for g in _seq(network.get("securityGroups")) if g)
        node_group_urns.update(g.urn for g in stack.dependencies(service, SECURITY_GROUP))
    if not node_group_ids and not node_group_urns:
        return
    for resource in stack.of_type(*INGRESS_TYPES):
        for ingress in _ingresses(resource):
            on_nodes = (
                resource.urn in node_group_urns
                if resource.type == SECURITY_GROUP
                else ingress.security_group_id in node_group_ids
            )
            if not on_nodes:
                continue
            for low, high in ranges:
                if not ingress.covers(low, high):
                    continue
                outside = bool(ingress.cidrs) or any(
                    s != "self" and s not in node_group_ids for s in ingress.sources
                )
                if outside or not ingress.sources:
                    what = "EPMD (4369)" if low == EPMD_PORT else f"distribution ports {low}-{high}"
                    yield Finding(
                        f"{resource.name!r} opens {what} on the node security group to something "
                        "other than the node security group itself",
                        resource,
                    )


ARM64_INSTANCE_FAMILY = re.compile(r"^(a1|[a-z]+\d+g[a-z]*)\.")


@resource_rule("nat-instance-arm64", Enforcement.MANDATORY, LAUNCH_TEMPLATE)
def nat_instance_arm64(r: Resource, ctx: Context) -> Iterator[str]:
    """An arm64 image runs on an arm64 (Graviton) instance type.

    An AMI's architecture must match the instance type's; an x86_64 type with the arm64 Amazon
    Linux image fails to launch, and the NAT's auto-scaling group retries forever.
    AWS docs: https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-type-specifications.html
    """
    image = str(r.props.get("imageId") or "")
    instance_type = r.props.get("instanceType")
    if "arm64" in image and instance_type and not ARM64_INSTANCE_FAMILY.match(str(instance_type)):
        yield (
            f"launch template {r.name!r} starts the arm64 image on {instance_type}, which is not "
            "an arm64 (Graviton) type; use e.g. t4g.nano"
        )


READ_ONLY_EC2 = re.compile(r"^ec2:(Describe|Get|List)", re.IGNORECASE)


@resource_rule("iam-no-wildcard-ec2-writes", Enforcement.MANDATORY, IAM_ROLE_POLICY)
def iam_no_wildcard_ec2_writes(r: Resource, ctx: Context) -> Iterator[str]:
    """An inline role policy never grants EC2 changes on every resource (`*`).

    Least privilege: a role that may attach interfaces or modify any instance in the account
    (the NAT instance needs its own interface and instance only) is a lateral-movement path.
    AWS docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege
    """
    document = _map(_json(r.props.get("policy")))
    statements = document.get("Statement")
    for statement in _seq(statements) if not isinstance(statements, Mapping) else [statements]:
        statement = _map(statement)
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        resources = statement.get("Resource")
        resources = [resources] if isinstance(resources, str) else _seq(resources)
        if "*" not in resources:
            continue
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else _seq(actions)
        writes = [
            a
            for a in actions
            if str(a).lower().startswith("ec2:") and not READ_ONLY_EC2.match(str(a))
        ]
        if writes:
            yield (
                f"role policy {r.name!r} allows {', '.join(map(str, writes))} on every resource; "
                "limit it to the ARNs it needs (or add a condition)"
            )


# ---------------------------------------------------------------------------------------------
# ECS

ECS_DOCS = "https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html"
ROOT_USERS = ("root", "0")
# ECS.8's `secretKeys`, then names and values that look like credentials.
AWS_SECRET_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ECS_ENGINE_AUTH_DATA")
SECRET_NAME = re.compile(
    r"SECRET|PASSWORD|PASSWD|_TOKEN$|^TOKEN$|_KEY$|^KEY$|COOKIE|CREDENTIAL|PRIVATE_KEY|API_KEY"
)
SECRET_VALUES = (
    (re.compile(r"\b(AK[I]A|AS[I]A)[A-Z0-9]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE[ ]KEY-----"), "a private key"),
    (re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with a password"),
    (re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36}|xox[abprs]-[A-Za-z0-9-]{10,})"), "an API token"),
    (re.compile(r"\b(sk|rk)_live_[A-Za-z0-9]{16,}"), "an API secret key"),
)


def secret_looking(name: str, value: Any) -> str | None:
    """Why the environment variable `name` looks like it holds a secret (None: it does not).
    Never returns the value itself."""
    if name in AWS_SECRET_NAMES:
        return "its name is one ECS.8 reserves for credentials"
    if SECRET_NAME.search(name.upper()):
        return "its name says it is a credential"
    for pattern, what in SECRET_VALUES:
        if isinstance(value, str) and pattern.search(value):
            return f"its value looks like {what}"
    return None


@resource_rule("ecs-2-no-public-ip", Enforcement.MANDATORY, ECS_SERVICE, control="ECS.2")
def ecs_2_no_public_ip(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.2: an ECS service gets no public IP addresses.

    The control fails if `AssignPublicIP` is ENABLED: the tasks would be reachable from the
    internet around the load balancer.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-2
    """
    if _true(_first(r.props.get("networkConfiguration")).get("assignPublicIp")):
        yield f"service {r.name!r} assigns public IPs to its tasks; set assignPublicIp to false"


@resource_rule("ecs-4-not-privileged", Enforcement.MANDATORY, TASK_DEFINITION, control="ECS.4")
def ecs_4_not_privileged(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.4: no container runs privileged.

    The control fails if a container definition sets `privileged` to true (root-like access to
    the host).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-4
    """
    for container in _containers(r):
        if _true(container.get("privileged")):
            yield f"container {container.get('name')!r} of {r.name!r} runs privileged"


@resource_rule(
    "ecs-8-no-secrets-in-environment", Enforcement.MANDATORY, TASK_DEFINITION, control="ECS.8"
)
def ecs_8_no_secrets_in_environment(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.8: no secret is passed as a plain environment variable.

    The control fails if a container's `environment` holds AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY or ECS_ENGINE_AUTH_DATA. We also refuse names that say they are
    credentials and values that look like one: secrets go in `secrets` (valueFrom), which ECS
    resolves from Secrets Manager or SSM when the task starts. The value is never echoed.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-8
    """
    for container in _containers(r):
        for variable in _seq(container.get("environment")):
            variable = _map(variable)
            name = str(variable.get("name", ""))
            why = secret_looking(name, variable.get("value"))
            if why:
                yield (
                    f"container {container.get('name')!r} of {r.name!r} gets {name} as plain "
                    f"environment ({why}); pass it as an ECS secret instead"
                )


@resource_rule("ecs-9-logging-configured", Enforcement.MANDATORY, TASK_DEFINITION, control="ECS.9")
def ecs_9_logging_configured(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.9: every container has a log configuration.

    The control fails if a container definition has no `logConfiguration` (its stdout, the app's
    event stream, would be lost).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-9
    """
    for container in _containers(r):
        if not _map(container.get("logConfiguration")).get("logDriver"):
            yield f"container {container.get('name')!r} of {r.name!r} has no logConfiguration"


@resource_rule("ecs-12-container-insights", Enforcement.ADVISORY, ECS_CLUSTER, control="ECS.12")
def ecs_12_container_insights(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.12: an ECS cluster uses Container Insights.

    The control fails if Container Insights is not set up for the cluster (per-task CPU, memory
    and network metrics). Advisory: the metrics are billed as custom metrics.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-12
    """
    for setting in _seq(r.props.get("settings")):
        setting = _map(setting)
        if setting.get("name") == "containerInsights" and setting.get("value") in (
            "enabled",
            "enhanced",
        ):
            return
    yield f"cluster {r.name!r} has Container Insights off; add the containerInsights setting"


@resource_rule("ecs-20-non-root-user", Enforcement.MANDATORY, TASK_DEFINITION, control="ECS.20")
def ecs_20_non_root_user(r: Resource, ctx: Context) -> Iterator[str]:
    """ECS.20: every Linux container runs as a non-root user.

    The control (Config rule ecs-task-definition-linux-user-non-root) fails if a container's
    `user` is root or is not set at all (images default to root).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-20
    """
    family = str(_first(r.props.get("runtimePlatform")).get("operatingSystemFamily") or "LINUX")
    if family.upper().startswith("WINDOWS"):
        return
    for container in _containers(r):
        user = container.get("user")
        if not user:
            yield (
                f"container {container.get('name')!r} of {r.name!r} sets no user, so it runs "
                "as the image's user (root by default); set user"
            )
        elif str(user).split(":")[0] in ROOT_USERS:
            yield f"container {container.get('name')!r} of {r.name!r} runs as root ({user})"


@stack_rule("ecs-exec-sessions-audited", Enforcement.MANDATORY)
def ecs_exec_sessions_audited(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """ECS Exec sessions are recorded in an encrypted CloudWatch log group.

    A remote console (`bin/APP remote` through ECS Exec) can change anything on a node; with
    `logging: OVERRIDE`, a `cloudWatchLogGroupName` and `cloudWatchEncryptionEnabled`, ECS
    records every session's commands and output in that log group, which must itself be
    KMS-encrypted (ECS refuses to write otherwise).
    AWS docs: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html#ecs-exec-logging
    """
    audited: set[str] = set()
    for service in stack.of_type(ECS_SERVICE):
        if not _true(service.props.get("enableExecuteCommand")):
            continue
        for cluster in stack.dependencies(service, ECS_CLUSTER):
            if cluster.urn in audited:
                continue
            audited.add(cluster.urn)
            settings = _first(
                _first(cluster.props.get("configuration")).get("executeCommandConfiguration")
            )
            log = _first(settings.get("logConfiguration"))
            group_name = log.get("cloudWatchLogGroupName")
            if settings.get("logging") != "OVERRIDE" or not group_name:
                yield Finding(
                    f"cluster {cluster.name!r} allows ECS Exec (service {service.name!r}) without "
                    f"recording sessions (logging {settings.get('logging') or 'DEFAULT'!r}); set "
                    "logging OVERRIDE with a cloudWatchLogGroupName",
                    cluster,
                )
                continue
            if not _true(log.get("cloudWatchEncryptionEnabled")):
                yield Finding(
                    f"cluster {cluster.name!r} records ECS Exec sessions unencrypted; set "
                    "cloudWatchEncryptionEnabled",
                    cluster,
                )
            for group in stack.of_type(LOG_GROUP):
                if group.props.get("name") == group_name and not group.props.get("kmsKeyId"):
                    yield Finding(
                        f"log group {group_name!r} receives ECS Exec sessions but is not "
                        "encrypted with a KMS key; set kmsKeyId",
                        group,
                    )


@stack_rule("ecs-service-waits-for-role-policies", Enforcement.MANDATORY)
def ecs_service_waits_for_role_policies(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """An ECS service is created after every policy of its task's roles.

    IAM roles and their policies are separate resources; a service created before its execution
    role may pull the image, read the secrets and write logs starts tasks that fail (and the
    deployment circuit breaker may roll back a healthy release).
    AWS docs: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
    """
    for service in stack.of_type(ECS_SERVICE):
        waits_for = stack.closure(service)
        missing: dict[str, Resource] = {}
        for task in stack.dependencies(service, TASK_DEFINITION):
            for role in stack.dependencies(task, IAM_ROLE):
                for policy in stack.dependents(role, IAM_ROLE_POLICY, IAM_ROLE_POLICY_ATTACHMENT):
                    if policy.urn not in waits_for:
                        missing[policy.urn] = policy
        if missing:
            names = ", ".join(sorted(repr(p.name) for p in missing.values()))
            yield Finding(
                f"service {service.name!r} can start tasks before {names} exist; make it depend "
                "on them",
                service,
            )


# ---------------------------------------------------------------------------------------------
# ECR


@resource_rule("ecr-1-scan-on-push", Enforcement.MANDATORY, ECR_REPOSITORY, control="ECR.1")
def ecr_1_scan_on_push(r: Resource, ctx: Context) -> Iterator[str]:
    """ECR.1: a private repository scans images on push.

    The control fails if a private repository has no image scanning configured.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html#ecr-1
    """
    if not _true(_first(r.props.get("imageScanningConfiguration")).get("scanOnPush")):
        yield (
            f"repository {r.name!r} does not scan images; set imageScanningConfiguration.scanOnPush"
        )


@resource_rule("ecr-2-immutable-tags", Enforcement.MANDATORY, ECR_REPOSITORY, control="ECR.2")
def ecr_2_immutable_tags(r: Resource, ctx: Context) -> Iterator[str]:
    """ECR.2: a private repository has immutable tags.

    The control fails if tag immutability is not configured: a pushed tag could then be moved to
    another image under a running release.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html#ecr-2
    """
    if not str(r.props.get("imageTagMutability") or "MUTABLE").startswith("IMMUTABLE"):
        yield f"repository {r.name!r} allows overwriting tags; set imageTagMutability IMMUTABLE"


@stack_rule("ecr-3-lifecycle-policy", Enforcement.ADVISORY, control="ECR.3")
def ecr_3_lifecycle_policy(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """ECR.3: a repository has a lifecycle policy.

    The control fails if a repository has no lifecycle policy (images, and their storage bill,
    accumulate forever). Advisory: cost.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html#ecr-3
    """
    for repository in stack.of_type(ECR_REPOSITORY):
        if not stack.dependents(repository, ECR_LIFECYCLE_POLICY):
            yield Finding(
                f"repository {repository.name!r} has no lifecycle policy; old images pile up",
                repository,
            )


# ---------------------------------------------------------------------------------------------
# RDS

RDS_DOCS = "https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html"
MIN_BACKUP_RETENTION_DAYS = 7
ENHANCED_MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
POSTGRES_LOG_EXPORTS = ("postgresql", "upgrade")


@resource_rule("rds-2-not-public", Enforcement.MANDATORY, DB_INSTANCE, control="RDS.2")
def rds_2_not_public(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.2: a DB instance is not publicly accessible.

    The control fails if `PubliclyAccessible` is true.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-2
    """
    if _true(r.props.get("publiclyAccessible")):
        yield f"database {r.name!r} is publicly accessible; set publiclyAccessible to false"


@resource_rule("rds-3-encrypted", Enforcement.MANDATORY, DB_INSTANCE, control="RDS.3")
def rds_3_encrypted(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.3: a DB instance is encrypted at rest.

    The control fails if storage encryption is not enabled (it cannot be turned on later without
    a snapshot-and-restore).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-3
    """
    if not _true(r.props.get("storageEncrypted")):
        yield f"database {r.name!r} stores data unencrypted; set storageEncrypted"


@resource_rule("rds-5-multi-az", Enforcement.ADVISORY, DB_INSTANCE, control="RDS.5")
def rds_5_multi_az(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.5: a DB instance has a standby in another Availability Zone.

    The control fails if Multi-AZ is off. Advisory (a standby doubles the instance cost);
    production settings require it, development stacks waive it.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-5
    """
    if not _true(r.props.get("multiAz")):
        yield f"database {r.name!r} runs in one Availability Zone; set multiAz"


@resource_rule(
    "rds-6-enhanced-monitoring",
    Enforcement.ADVISORY,
    DB_INSTANCE,
    control="RDS.6",
    production_only=True,
)
def rds_6_enhanced_monitoring(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.6: a production DB instance has enhanced monitoring.

    The control fails if enhanced monitoring is off (`MonitoringInterval` 0); with it, RDS
    reports OS-level metrics (per-process CPU, memory, I/O) every 1-60 seconds through a
    monitoring role. Applied to production stacks.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-6
    """
    interval = int(_number(r.props.get("monitoringInterval"), 0) or 0)
    if interval not in ENHANCED_MONITORING_INTERVALS:
        yield (
            f"database {r.name!r} has no enhanced monitoring (monitoringInterval {interval}); "
            "set monitoringInterval (e.g. 60) and a monitoringRoleArn"
        )
    elif not r.props.get("monitoringRoleArn"):
        yield f"database {r.name!r} sets monitoringInterval without a monitoringRoleArn"


@resource_rule("rds-8-deletion-protection", Enforcement.ADVISORY, DB_INSTANCE, control="RDS.8")
def rds_8_deletion_protection(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.8: a DB instance has deletion protection on.

    The control fails if deletion protection is off. Advisory: a disposable development stack
    waives it explicitly (its database goes with the stack).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-8
    """
    if not _true(r.props.get("deletionProtection")):
        yield f"database {r.name!r} can be deleted; set deletionProtection"


@resource_rule("rds-9-logs-exported", Enforcement.ADVISORY, DB_INSTANCE, control="RDS.9")
def rds_9_logs_exported(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.9: a DB instance publishes its logs to CloudWatch Logs.

    The control fails unless the engine's logs are exported; for PostgreSQL that is `postgresql`
    and `upgrade`. Advisory: log ingestion costs money.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-9
    """
    if not str(r.props.get("engine", "")).startswith("postgres"):
        return
    exported = set(map(str, _seq(r.props.get("enabledCloudwatchLogsExports"))))
    missing = [kind for kind in POSTGRES_LOG_EXPORTS if kind not in exported]
    if missing:
        yield (
            f"database {r.name!r} does not export its {', '.join(missing)} log to CloudWatch; "
            "add it to enabledCloudwatchLogsExports"
        )


@resource_rule("rds-11-automatic-backups", Enforcement.ADVISORY, DB_INSTANCE, control="RDS.11")
def rds_11_automatic_backups(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.11: a DB instance keeps automatic backups for at least 7 days.

    The control fails if the backup retention period is below `backupRetentionMinimum` (7 days).
    Advisory: development stacks keep fewer on purpose and waive it.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-11
    """
    days = int(_number(r.props.get("backupRetentionPeriod"), 0) or 0)
    if days < MIN_BACKUP_RETENTION_DAYS:
        yield (
            f"database {r.name!r} keeps backups for {days} day(s); keep at least "
            f"{MIN_BACKUP_RETENTION_DAYS} (backupRetentionPeriod)"
        )


@resource_rule(
    "rds-13-minor-version-upgrades", Enforcement.MANDATORY, DB_INSTANCE, control="RDS.13"
)
def rds_13_minor_version_upgrades(r: Resource, ctx: Context) -> Iterator[str]:
    """RDS.13: a DB instance takes automatic minor version upgrades.

    The control fails if automatic minor version upgrades are off (security patches arrive as
    minor versions). The provider's default is on.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html#rds-13
    """
    if r.props.get("autoMinorVersionUpgrade") is not None and not _true(
        r.props.get("autoMinorVersionUpgrade")
    ):
        yield f"database {r.name!r} never gets minor version upgrades; set autoMinorVersionUpgrade"


@stack_rule("rds-postgres-slow-query-log", Enforcement.ADVISORY)
def rds_postgres_slow_query_log(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """A PostgreSQL instance logs slow statements (`log_min_duration_statement`).

    With the default parameter group, `log_min_duration_statement` is -1 and no statement is ever
    logged for its duration; the instance's own parameter group must set it to a threshold in
    milliseconds (0 logs everything), and the `postgresql` log is exported (RDS.9).
    AWS docs: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Concepts.PostgreSQL.html
    """
    for instance in stack.of_type(DB_INSTANCE):
        if not str(instance.props.get("engine", "")).startswith("postgres"):
            continue
        groups = stack.dependencies(instance, DB_PARAMETER_GROUP)
        thresholds = []
        for group in groups:
            for parameter in _seq(group.props.get("parameters")):
                parameter = _map(parameter)
                if parameter.get("name") == "log_min_duration_statement":
                    thresholds.append(_number(parameter.get("value"), -1))
        if not any(t is not None and t >= 0 for t in thresholds):
            yield Finding(
                f"database {instance.name!r} does not log slow statements; set "
                "log_min_duration_statement (ms) in its parameter group",
                instance,
            )


# ---------------------------------------------------------------------------------------------
# ElastiCache


@resource_rule(
    "elasticache-3-automatic-failover",
    Enforcement.ADVISORY,
    REPLICATION_GROUP,
    control="ElastiCache.3",
)
def elasticache_3_automatic_failover(r: Resource, ctx: Context) -> Iterator[str]:
    """ElastiCache.3: a replication group fails over automatically.

    The control fails if automatic failover is off (a primary failure stops all PubSub until
    someone promotes a replica). Advisory: it needs a replica, which doubles the cost.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elasticache-controls.html#elasticache-3
    """
    if not _true(r.props.get("automaticFailoverEnabled")):
        yield (
            f"replication group {r.name!r} has no automatic failover; set "
            "automaticFailoverEnabled (with at least one replica)"
        )


@resource_rule(
    "elasticache-4-encrypted-at-rest",
    Enforcement.MANDATORY,
    REPLICATION_GROUP,
    control="ElastiCache.4",
)
def elasticache_4_encrypted_at_rest(r: Resource, ctx: Context) -> Iterator[str]:
    """ElastiCache.4: a replication group is encrypted at rest.

    The control fails if encryption at rest is off (it can only be chosen at creation).
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elasticache-controls.html#elasticache-4
    """
    if not _true(r.props.get("atRestEncryptionEnabled")):
        yield f"replication group {r.name!r} is not encrypted at rest; set atRestEncryptionEnabled"


@resource_rule(
    "elasticache-5-encrypted-in-transit",
    Enforcement.MANDATORY,
    REPLICATION_GROUP,
    control="ElastiCache.5",
)
def elasticache_5_encrypted_in_transit(r: Resource, ctx: Context) -> Iterator[str]:
    """ElastiCache.5: a replication group is encrypted in transit.

    The control fails if in-transit encryption (TLS) is off; the AUTH token would cross the
    network in clear text.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/elasticache-controls.html#elasticache-5
    """
    if not _true(r.props.get("transitEncryptionEnabled")):
        yield (
            f"replication group {r.name!r} is not encrypted in transit; set "
            "transitEncryptionEnabled"
        )


@resource_rule("elasticache-alarm-dimensions", Enforcement.MANDATORY, METRIC_ALARM)
def elasticache_alarm_dimensions(r: Resource, ctx: Context) -> Iterator[str]:
    """An ElastiCache alarm uses the dimension its metric is published under (CacheClusterId).

    ElastiCache publishes host- and engine-level metrics per cache node, with the dimensions
    CacheClusterId (and CacheNodeId); an alarm on ReplicationGroupId alone never receives data.
    AWS docs: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.html
    """
    if r.props.get("namespace") != "AWS/ElastiCache":
        return
    dimensions = _map(r.props.get("dimensions"))
    if "CacheClusterId" not in dimensions:
        yield (
            f"alarm {r.name!r} watches {r.props.get('metricName')} by "
            f"{', '.join(dimensions) or 'no dimension'}; ElastiCache publishes it per "
            "CacheClusterId, so the alarm never gets data"
        )


# ---------------------------------------------------------------------------------------------
# Logs and alarms


@resource_rule("logs-retention-set", Enforcement.ADVISORY, LOG_GROUP)
def logs_retention_set(r: Resource, ctx: Context) -> Iterator[str]:
    """A CloudWatch log group has a retention period.

    Without `retentionInDays` CloudWatch keeps logs forever (and bills them). CloudWatch.16 asks
    for at least a year; the stack chooses the period, this rule asks that one is chosen.
    AWS docs: https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-16
    """
    days = _number(r.props.get("retentionInDays"), 0) or 0
    if days <= 0:
        yield f"log group {_name(r)!r} keeps its logs forever; set retentionInDays"


@stack_rule("sns-alarm-topic-usable-by-cloudwatch", Enforcement.MANDATORY)
def sns_alarm_topic_usable_by_cloudwatch(stack: Stack, ctx: Context) -> Iterator[Finding]:
    """An alarm's SNS topic is encrypted with a key CloudWatch may use.

    CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key `aws/sns`
    (its policy cannot be changed); the topic needs a customer managed key whose policy lets
    `cloudwatch.amazonaws.com` use kms:Decrypt and kms:GenerateDataKey*.
    AWS docs: https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    """
    topics: dict[str, Resource] = {}
    for alarm in stack.of_type(METRIC_ALARM):
        for topic in stack.dependencies(alarm, SNS_TOPIC):
            topics[topic.urn] = topic
    for topic in topics.values():
        key = topic.props.get("kmsMasterKeyId")
        if key == "alias/aws/sns":
            yield Finding(
                f"alarm topic {topic.name!r} is encrypted with alias/aws/sns, so CloudWatch "
                "alarms cannot publish to it; use a customer managed KMS key",
                topic,
            )
            continue
        for kms_key in stack.dependencies(topic, KMS_KEY):
            if not _allows_cloudwatch(_json(kms_key.props.get("policy"))):
                yield Finding(
                    f"KMS key {kms_key.name!r} of alarm topic {topic.name!r} does not let "
                    "cloudwatch.amazonaws.com use it (kms:Decrypt, kms:GenerateDataKey*)",
                    kms_key,
                )


def _allows_cloudwatch(policy: Any) -> bool:
    needed = {"kms:decrypt", "kms:generatedatakey*"}
    granted: set[str] = set()
    statements = _map(policy).get("Statement")
    for statement in _seq(statements) if not isinstance(statements, Mapping) else [statements]:
        statement = _map(statement)
        principal = _map(statement.get("Principal")).get("Service")
        services = [principal] if isinstance(principal, str) else _seq(principal)
        if statement.get("Effect") != "Allow" or "cloudwatch.amazonaws.com" not in services:
            continue
        actions = statement.get("Action")
        for action in [actions] if isinstance(actions, str) else _seq(actions):
            action = str(action).lower()
            if action in ("kms:*", "*"):
                return True
            granted.add(action)
    return needed <= granted


# ---------------------------------------------------------------------------------------------
# WAF


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
