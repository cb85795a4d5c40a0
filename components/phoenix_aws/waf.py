"""WebFirewall: an AWS WAF web ACL in front of the load balancer.

AWS managed rules (the core rule set and known bad inputs) block common exploits; a rate-based
rule caps how many requests one client IP may send per evaluation window, so one noisy client or
a small flood cannot take the nodes' attention from everyone else. Paths can get their own limit
or none at all: a webhook whose senders the load balancer already allow-lists (a bot platform
posting from a few addresses) must not be throttled as if it were one abusive client.

Every rule emits CloudWatch metrics and samples requests; request logs (on by default: Security
Hub WAF.11) go to a CloudWatch log group named as WAF requires (`aws-waf-logs-…`), with the
Authorization and Cookie headers redacted and, by default, only blocked or counted requests.
https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html
"""

import re
from collections.abc import Callable
from typing import Any, NotRequired, TypedDict, TypeVar

import pulumi
import pulumi_aws as aws

from .load_balancer import check_path_pattern as check_alb_path_pattern
from .naming import WAF_LOG_GROUP_NAME, WAF_METRIC_NAME, WAF_NAME, physical_name
from .validation import (
    check_arg,
    check_args,
    check_arn,
    check_log_retention,
    check_tags,
    component_type,
    with_legacy_alias,
)

T = TypeVar("T")
WEB_ACL_NAME_MAX = 128
DEFAULT_RATE_LIMIT = 2000
DEFAULT_RATE_WINDOW_SECONDS = 300
# AWS WAF rate-based rules: evaluation windows and the lowest and highest limit it accepts.
RATE_WINDOWS_SECONDS = (60, 120, 300, 600)
MIN_RATE_LIMIT = 10
MAX_RATE_LIMIT = 2_000_000_000
# WAF's byte match search string holds at most 200 bytes; a regex at most 512.
MAX_PATH_PREFIX_BYTES = 200
MAX_PATH_REGEX_BYTES = 512
# CloudWatch Logs destinations of WAF logging must be named with this prefix.
LOG_GROUP_PREFIX = "aws-waf-logs-"

COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS_RULE_SET = "AWSManagedRulesKnownBadInputsRuleSet"
# The rules of the core rule set (AWS managed rules documentation), which can be set to count.
COMMON_RULE_SET_RULES = (
    "NoUserAgent_HEADER",
    "UserAgent_BadBots_HEADER",
    "SizeRestrictions_QUERYSTRING",
    "SizeRestrictions_Cookie_HEADER",
    "SizeRestrictions_BODY",
    "SizeRestrictions_URIPATH",
    "EC2MetaDataSSRF_BODY",
    "EC2MetaDataSSRF_COOKIE",
    "EC2MetaDataSSRF_URIPATH",
    "EC2MetaDataSSRF_QUERYARGUMENTS",
    "GenericLFI_QUERYARGUMENTS",
    "GenericLFI_URIPATH",
    "GenericLFI_BODY",
    "RestrictedExtensions_URIPATH",
    "RestrictedExtensions_QUERYARGUMENTS",
    "GenericRFI_QUERYARGUMENTS",
    "GenericRFI_BODY",
    "GenericRFI_URIPATH",
    "CrossSiteScripting_COOKIE",
    "CrossSiteScripting_QUERYARGUMENTS",
    "CrossSiteScripting_BODY",
    "CrossSiteScripting_URIPATH",
)

# Rule priorities: per-path rate limits first, then the per-IP limit, then the managed groups.
PATH_RATE_PRIORITY_BASE = 10
RATE_PRIORITY = 50
COMMON_PRIORITY = 100
KNOWN_BAD_INPUTS_PRIORITY = 110


class PathRateLimit(TypedDict):
    """A path with its own per-IP rate limit, or with none."""

    path: str
    """ALB-style path pattern: `/api/telegram/*` (prefix), `/health` (exact path), with `*` and
    `?` wildcards anywhere else."""
    limit: NotRequired[int]
    """Requests per client IP per evaluation window on this path. Default: no limit on this path
    (a webhook whose source addresses the load balancer already allow-lists)."""


class WebFirewallArgs(TypedDict):
    """Inputs of a WebFirewall."""

    name_parts: list[str]
    """Parts of the web ACL name, e.g. [project, stack]; metric names derive from it."""
    load_balancer_arn: pulumi.Input[str]
    """The Application Load Balancer to protect (REGIONAL scope)."""
    rate_limit: NotRequired[int]
    """Requests one client IP may send per evaluation window, across all paths without their own
    limit; more are blocked until the rate drops. Default: 2000 (per 5 minutes)."""
    rate_limit_window_seconds: NotRequired[int]
    """Evaluation window: 60, 120, 300 or 600 seconds. Default: 300."""
    path_rate_limits: NotRequired[list[PathRateLimit]]
    """Paths counted apart from the per-IP limit, each with its own limit or none. Default: none."""
    count_only_common_rules: NotRequired[list[str]]
    """Core rule set rules that only count instead of blocking (e.g. `SizeRestrictions_BODY` for
    an app that takes bodies over 8 KB). Default: none (every rule blocks)."""
    enable_logging: NotRequired[bool]
    """Log requests to a CloudWatch log group (`aws-waf-logs-…`), Security Hub WAF.11.
    Default: true."""
    log_all_requests: NotRequired[bool]
    """Log allowed requests too, not only blocked and counted ones. Default: false."""
    log_retention_days: NotRequired[int]
    """Retention of the log group. Default: 30."""
    tags: NotRequired[dict[str, str]]
    """Tags on the web ACL and the log group. Default: none."""


def path_statement(pattern: str) -> dict[str, Any]:
    """The WAF statement that matches request paths of an ALB-style `pattern`.

    >>> path_statement("/api/telegram/*")["byte_match_statement"]["positional_constraint"]
    'STARTS_WITH'
    >>> path_statement("/health")["byte_match_statement"]["positional_constraint"]
    'EXACTLY'
    >>> path_statement("/hooks/*/events")["regex_match_statement"]["regex_string"]
    '^/hooks/.*/events$'
    """
    check_path_pattern(pattern)
    body = pattern[:-1] if pattern.endswith("*") else pattern
    field_to_match: dict[str, Any] = {"uri_path": {}}
    transformations = [{"priority": 0, "type": "NONE"}]
    if "*" not in body and "?" not in body:
        return {
            "byte_match_statement": {
                "search_string": body,
                "positional_constraint": "STARTS_WITH" if pattern.endswith("*") else "EXACTLY",
                "field_to_match": field_to_match,
                "text_transformations": transformations,
            }
        }
    regex = (
        "^"
        + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        + "$"
    )
    if len(regex.encode()) > MAX_PATH_REGEX_BYTES:
        raise ValueError(f"path {pattern!r} is too long for a WAF pattern")
    return {
        "regex_match_statement": {
            "regex_string": regex,
            "field_to_match": field_to_match,
            "text_transformations": transformations,
        }
    }


# The checks raise ValueError in plain words without the arg's name: the component reports them
# against its arg (`WebFirewall 'x': arg 'rate_limit': …`), like every other component.


def check_path_pattern(pattern: str) -> str:
    """An ALB path pattern (the load balancer's rule) that WAF can also match: at most 200 bytes
    before a trailing `*`, no whitespace.
    https://docs.aws.amazon.com/waf/latest/APIReference/API_ByteMatchStatement.html"""
    if not isinstance(pattern, str):
        raise ValueError(f"expected a path pattern such as /api/telegram/*, got {pattern!r}")
    check_alb_path_pattern(pattern)
    body = pattern[:-1] if pattern.endswith("*") else pattern
    if len(body.encode()) > MAX_PATH_PREFIX_BYTES:
        raise ValueError(f"is longer than the {MAX_PATH_PREFIX_BYTES} bytes WAF can match")
    if any(c.isspace() for c in pattern):
        raise ValueError(f"path {pattern!r} must not contain spaces")
    return pattern


def check_rate_limit(limit: int) -> int:
    """A rate WAF accepts: 10 to 2,000,000,000 requests per evaluation window.
    https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html"""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ValueError(f"expected a whole number of requests, got {limit!r}")
    if not MIN_RATE_LIMIT <= limit <= MAX_RATE_LIMIT:
        raise ValueError(
            f"must be between {MIN_RATE_LIMIT} and {MAX_RATE_LIMIT:,} requests per window, "
            f"got {limit}"
        )
    return limit


def check_rate_window(seconds: int) -> int:
    """An evaluation window WAF offers: 60, 120, 300 or 600 seconds (same page as above)."""
    if isinstance(seconds, bool) or seconds not in RATE_WINDOWS_SECONDS:
        raise ValueError(
            f"must be one of {', '.join(map(str, RATE_WINDOWS_SECONDS))} seconds, got {seconds!r}"
        )
    return seconds


def check_path_rate_limits(entries: list[PathRateLimit]) -> list[PathRateLimit]:
    """Each path once, a valid pattern, and a valid limit where one is given."""
    paths = []
    for index, entry in enumerate(entries):
        unknown = sorted(set(entry) - {"path", "limit"})
        if unknown:
            raise ValueError(f"entry {index}: unknown key {unknown[0]!r}; expected path, limit")
        try:
            check_path_pattern(entry["path"])
            if "limit" in entry:
                check_rate_limit(entry["limit"])
        except KeyError:
            raise ValueError(f"entry {index} needs a path") from None
        except ValueError as exc:
            raise ValueError(f"entry {index} ({entry.get('path')!r}): {exc}") from None
        paths.append(entry["path"])
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise ValueError(f"{duplicates[0]!r} is listed more than once")
    return entries


def check_count_only_rules(names: list[str]) -> list[str]:
    """Names of rules of the core rule set (AWSManagedRulesCommonRuleSet).
    https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html"""
    for name in names:
        if name not in COMMON_RULE_SET_RULES:
            raise ValueError(
                f"{name!r} is not a rule of {COMMON_RULE_SET}; "
                f"expected one of {', '.join(COMMON_RULE_SET_RULES)}"
            )
    return names


def check_load_balancer_arn(arn: str) -> str:
    """The full ARN of an Application Load Balancer: a REGIONAL web ACL protects ALBs (not
    Network Load Balancers).
    https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html"""
    return check_arn(
        arn,
        service="elasticloadbalancing",
        resource="loadbalancer/app/",
        what="an Application Load Balancer",
        example="arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188",
    )


def _named(key: str, rule: Callable[[T], object], value: T) -> None:
    """Apply a check, naming the argument in its error (for callers of the pure functions)."""
    try:
        rule(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def _visibility(metric: str) -> dict[str, Any]:
    """Metrics and sampled requests on, under `metric` (cut to the 128 characters a WAF metric
    name holds, with a hash of the whole name)."""
    metric = physical_name(metric, rule=WAF_METRIC_NAME)
    return {
        "cloudwatch_metrics_enabled": True,
        "sampled_requests_enabled": True,
        "metric_name": metric,
    }


def web_acl_rules(
    metric_prefix: str,
    *,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    window_seconds: int = DEFAULT_RATE_WINDOW_SECONDS,
    path_rate_limits: list[PathRateLimit] | None = None,
    count_only_common_rules: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The web ACL's rules in priority order (pure: the component passes them to WAF as is).

    Requests on a path of `path_rate_limits` are left out of the per-IP rule (scope-down
    `NOT path`) and counted by that path's own rule, if it has a limit.
    """
    overrides = list(path_rate_limits or [])
    count_only = list(count_only_common_rules or [])
    _named("rate_limit", check_rate_limit, rate_limit)
    _named("rate_limit_window_seconds", check_rate_window, window_seconds)
    _named("path_rate_limits", check_path_rate_limits, overrides)
    _named("count_only_common_rules", check_count_only_rules, count_only)
    paths = [entry["path"] for entry in overrides]

    def rate_rule(name: str, priority: int, limit: int, scope: dict | None) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "limit": limit,
            "aggregate_key_type": "IP",
            "evaluation_window_sec": window_seconds,
        }
        if scope is not None:
            statement["scope_down_statement"] = scope
        return {
            "name": name,
            "priority": priority,
            "action": {"block": {}},
            "statement": {"rate_based_statement": statement},
            "visibility_config": _visibility(f"{metric_prefix}-{name}"),
        }

    rules: list[dict[str, Any]] = []
    for index, entry in enumerate(overrides):
        if "limit" in entry:
            rules.append(
                rate_rule(
                    f"rate-limit-path-{index}",
                    PATH_RATE_PRIORITY_BASE + index,
                    entry["limit"],
                    path_statement(entry["path"]),
                )
            )
    statements = [path_statement(p) for p in paths]
    scope = None
    if len(statements) == 1:
        scope = {"not_statement": {"statement": statements[0]}}
    elif statements:
        scope = {"not_statement": {"statement": {"or_statement": {"statements": statements}}}}
    rules.append(rate_rule("rate-limit-per-ip", RATE_PRIORITY, rate_limit, scope))

    common: dict[str, Any] = {"vendor_name": "AWS", "name": COMMON_RULE_SET}
    if count_only:
        common["rule_action_overrides"] = [
            {"name": name, "action_to_use": {"count": {}}} for name in count_only
        ]
    for name, priority, group in (
        ("aws-common-rules", COMMON_PRIORITY, common),
        (
            "aws-known-bad-inputs",
            KNOWN_BAD_INPUTS_PRIORITY,
            {"vendor_name": "AWS", "name": KNOWN_BAD_INPUTS_RULE_SET},
        ),
    ):
        rules.append(
            {
                "name": name,
                "priority": priority,
                "override_action": {"none": {}},
                "statement": {"managed_rule_group_statement": group},
                "visibility_config": _visibility(f"{metric_prefix}-{name}"),
            }
        )
    return rules


def logging_filter(log_all_requests: bool) -> dict[str, Any] | None:
    """Keep only blocked and counted requests in the logs (None: keep everything)."""
    if log_all_requests:
        return None
    return {
        "default_behavior": "DROP",
        "filters": [
            {
                "behavior": "KEEP",
                "requirement": "MEETS_ANY",
                "conditions": [
                    {"action_condition": {"action": "BLOCK"}},
                    {"action_condition": {"action": "COUNT"}},
                ],
            }
        ],
    }


# Headers that carry credentials or session cookies never reach the logs.
REDACTED_HEADERS = ("authorization", "cookie")


class WebFirewall(pulumi.ComponentResource):
    """A REGIONAL WAF web ACL on one load balancer: managed rules, per-IP rate limit, metrics."""

    web_acl_arn: pulumi.Output[str]
    web_acl_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: WebFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("WebFirewall"), name, None, with_legacy_alias("WebFirewall", opts)
        )
        check_web_firewall_args(name, args)
        tags = dict(args.get("tags") or {})
        acl_name = physical_name(*args["name_parts"], "waf", rule=WAF_NAME)
        rules = web_acl_rules(
            acl_name,
            rate_limit=args.get("rate_limit", DEFAULT_RATE_LIMIT),
            window_seconds=args.get("rate_limit_window_seconds", DEFAULT_RATE_WINDOW_SECONDS),
            path_rate_limits=list(args.get("path_rate_limits") or []),
            count_only_common_rules=list(args.get("count_only_common_rules") or []),
        )

        self._create_web_acl(name, acl_name, rules, args["load_balancer_arn"], tags)
        self.log_group: aws.cloudwatch.LogGroup | None = None
        if args.get("enable_logging", True):
            self._create_logging(name, acl_name, args, tags)

        self.web_acl_arn = self.web_acl.arn
        self.web_acl_name = self.web_acl.name
        self.log_group_name = (
            self.log_group.name if self.log_group else pulumi.Output.from_input(None)
        )
        self.register_outputs(
            {
                "web_acl_arn": self.web_acl_arn,
                "web_acl_name": self.web_acl_name,
                "log_group_name": self.log_group_name,
            }
        )

    def _create_web_acl(
        self,
        name: str,
        acl_name: str,
        rules: list[dict[str, Any]],
        load_balancer_arn: pulumi.Input[str],
        tags: dict[str, str],
    ) -> None:
        """The web ACL (allow by default, the rules decide) on the load balancer."""
        child = pulumi.ResourceOptions(parent=self)
        self.web_acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            name=acl_name,
            description="Managed rules and a per-IP rate limit in front of the load balancer",
            scope="REGIONAL",
            default_action={"allow": {}},
            rules=rules,
            visibility_config=_visibility(acl_name),
            tags=tags,
            opts=child,
        )
        self.association = aws.wafv2.WebAclAssociation(
            f"{name}-association",
            resource_arn=load_balancer_arn,
            web_acl_arn=self.web_acl.arn,
            opts=child,
        )

    def _create_logging(
        self, name: str, acl_name: str, args: WebFirewallArgs, tags: dict[str, str]
    ) -> None:
        """Requests to a CloudWatch log group named as WAF requires, secrets redacted."""
        child = pulumi.ResourceOptions(parent=self)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=WAF_LOG_GROUP_NAME.check(f"{LOG_GROUP_PREFIX}{acl_name}"),
            retention_in_days=args.get("log_retention_days", 30),
            tags=tags,
            opts=child,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[self.log_group.arn],
            redacted_fields=[{"single_header": {"name": h}} for h in REDACTED_HEADERS],
            logging_filter=logging_filter(args.get("log_all_requests", False)),
            opts=child,
        )


def check_web_firewall_args(name: str, args: WebFirewallArgs) -> None:
    check_args("WebFirewall", name, args, WebFirewallArgs)
    for key, value, rule in (
        ("load_balancer_arn", args.get("load_balancer_arn"), check_load_balancer_arn),
        ("rate_limit", args.get("rate_limit"), check_rate_limit),
        ("rate_limit_window_seconds", args.get("rate_limit_window_seconds"), check_rate_window),
        ("path_rate_limits", args.get("path_rate_limits"), check_path_rate_limits),
        ("count_only_common_rules", args.get("count_only_common_rules"), check_count_only_rules),
        ("log_retention_days", args.get("log_retention_days"), check_log_retention),
        ("tags", args.get("tags"), check_tags),
    ):
        check_arg("WebFirewall", name, key, value, rule)
