"""Rules of the public edge: Elastic Load Balancing's Security Hub controls (ELB.*) and the
Application Load Balancer rules a real deployment would otherwise hit (quotas, ordering)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .model import Context, Enforcement, Finding, Resource, Stack, resource_rule, stack_rule
from .properties import (
    BUCKET,
    BUCKET_OWNERSHIP,
    BUCKET_POLICY,
    DNS_RECORD,
    INGRESS_RULE,
    LISTENER,
    LISTENER_RULE,
    LOAD_BALANCER,
    SECURITY_GROUP,
    SECURITY_GROUP_RULE,
    TARGET_GROUP,
    WEB_ACL_ASSOCIATION,
    _first,
    _ingresses,
    _is_application_lb,
    _is_internet_facing,
    _map,
    _number,
    _seq,
    _true,
)

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
MAX_VALUES_PER_CONDITION = 3
CONDITION_TYPES_DOCS = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html"
)
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


def _condition_values(condition: Mapping[str, Any]) -> dict[str, int]:
    """Match evaluations per condition type of one condition block."""
    counts = {}
    for key in ("hostHeader", "pathPattern", "httpRequestMethod", "sourceIp", "httpHeader"):
        block = _first(condition.get(key))
        if block:
            counts[key] = len(_seq(block.get("values")))
    if condition.get("queryStrings"):
        counts["queryStrings"] = len(_seq(condition.get("queryStrings")))
    return counts


@resource_rule("alb-listener-rule-condition-values", Enforcement.MANDATORY, *LISTENER_RULE)
def alb_listener_rule_condition_values(r: Resource, ctx: Context) -> Iterator[str]:
    """A listener rule holds at most 3 values per condition and 5 in all.

    Condition types for listener rules: "You can specify up to three match evaluations per
    condition" and "up to five match evaluations per rule" (path patterns, host names, header
    values, methods, query strings and source IPs of all its conditions together).
    AWS docs: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html
    """
    total = 0
    for condition in _seq(r.props.get("conditions")):
        for kind, count in _condition_values(_map(condition)).items():
            total += count
            if count > MAX_VALUES_PER_CONDITION:
                yield (
                    f"listener rule {r.name!r} has {count} values in one {kind} condition; AWS "
                    f"allows at most {MAX_VALUES_PER_CONDITION} per condition"
                )
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
