"""Listener rules, planned in pure functions that tests and the stack settings call without Pulumi.

Priorities come in bands: the blue and green test routes hold bands 0 and 1, every allow-listed
path a band of its own, the live rule the last priority. A band, once deployed, never moves, and
the plan is checked against ALB's quotas before anything is created.

Several apps can share one listener: each app's rules carry the hosts or paths it owns (its
`RouteScope`) and sit in a block of priorities of its own. The app that created the load
balancer holds block 0 (and the last priority for its live rule); every other app a block of
1,000 priorities (block k: priorities k*1000+1 to k*1000+999).
"""

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, TypedDict

from .naming import slug
from .slots import SLOTS, TEST_HEADER, Slot

LIVE_RULE_PRIORITY = 50000  # the last priority ALB allows: everything not matched before

# Listener rule quotas of an Application Load Balancer (not adjustable for condition values):
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
MAX_RULES_PER_LOAD_BALANCER = 100
# "You can specify up to three match evaluations per condition [...] up to five match
# evaluations per rule", and at most one host-header, http-request-method, path-pattern and
# source-ip condition per rule:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html
MAX_VALUES_PER_CONDITION = 3
MAX_CONDITION_VALUES = 5
ONCE_PER_RULE = ("host_header", "http_request_method", "path_pattern", "source_ip")
# A rule's source networks are one source-ip condition: at most three of them, fewer where the
# rule's other conditions leave less of the five (a test route spends one on its header, an
# allow-list rule one on its path pattern, an app's scope its hosts and paths).
CIDRS_PER_RULE = MAX_VALUES_PER_CONDITION

# Priorities come in bands of RULE_BAND_WIDTH: band 0 and 1 are the blue and green test routes,
# every allow-listed path gets a band of its own (its allow rules first, its 403 rule last). A
# band, once deployed, never moves, so editing one list never renumbers another's rules.
RULE_BAND_WIDTH = 20
RULE_BANDS = (LIVE_RULE_PRIORITY - 1) // RULE_BAND_WIDTH  # bands 0 .. RULE_BANDS-1
TEST_ROUTE_BANDS = {"blue": 0, "green": 1}

# Apps sharing a listener: block k holds priorities k*1000+1 .. k*1000+999; its bands end at
# priority k*1000+980 and its live rule takes k*1000+999. Block 0 is the load balancer owner's.
PRIORITY_BLOCK_WIDTH = 1000
MAX_PRIORITY_BLOCK = LIVE_RULE_PRIORITY // PRIORITY_BLOCK_WIDTH - 1
BANDS_PER_BLOCK = (PRIORITY_BLOCK_WIDTH - RULE_BAND_WIDTH) // RULE_BAND_WIDTH
# Condition values the hosts and paths of a scope may spend, so a test route (its header and at
# least one CIDR) stays within the five of a rule.
MAX_SCOPE_VALUES = MAX_CONDITION_VALUES - 2

# ECS only registers a service with a target group that the load balancer already uses, so the
# slot test routes always exist. Without operator CIDRs they match only this source, which never
# reaches an internet-facing load balancer.
NO_OPERATOR_CIDRS = ("127.0.0.1/32",)


class PathAllowList(TypedDict):
    """Requests on `path` (an ALB path pattern such as `/api/telegram/*`) only from `cidrs`."""

    path: str
    """ALB path pattern."""
    cidrs: list[str]
    """Networks allowed on that path; everyone else gets 403."""


@dataclass(frozen=True)
class RouteScope:
    """What one app owns on a listener: requests for its `hosts` (host-header condition) and
    under its `paths` (path-pattern condition), in its priority `block`. The empty scope in
    block 0 is a load balancer of one app: every request is its."""

    hosts: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    block: int = 0

    @property
    def values(self) -> int:
        """Condition values the scope adds to a rule without a path of its own."""
        return len(self.hosts) + len(self.paths)

    @property
    def live_priority(self) -> int:
        if self.block == 0:
            return LIVE_RULE_PRIORITY
        return self.block * PRIORITY_BLOCK_WIDTH + PRIORITY_BLOCK_WIDTH - 1

    @property
    def band_limit(self) -> int:
        """Bands this block holds (block 0 up to the live rule, the others up to 980)."""
        return RULE_BANDS if self.block == 0 else BANDS_PER_BLOCK

    def priority(self, band: int, offset: int) -> int:
        return self.block * PRIORITY_BLOCK_WIDTH + band_priority(band, offset)

    def live_paths(self) -> list[str]:
        return list(self.paths) or ["/*"]


NO_SCOPE = RouteScope()

# ALB host-header values: up to 128 characters of letters, digits, hyphens, dots and the `*` and
# `?` wildcards. https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html#host-conditions
_HOST = re.compile(r"[A-Za-z0-9*?.-]{1,128}")


def check_route_hosts(hosts: list[str]) -> list[str]:
    """Host-header values ALB accepts (`app.example.com`, `*.example.com`)."""
    for host in hosts:
        if not _HOST.fullmatch(host) or "." not in host:
            raise ValueError(
                f"{host!r} is not a host name ALB can match (letters, digits, hyphens, dots, "
                "* and ? wildcards; at most 128 characters), e.g. app.example.com"
            )
    if len(set(hosts)) != len(hosts):
        raise ValueError("each host may be listed once")
    return hosts


def check_route_scope(scope: RouteScope) -> RouteScope:
    """A scope ALB can express on every rule of the app: at most MAX_SCOPE_VALUES hosts and
    paths together (each is a condition value, and a rule holds 5), a block of the listener's
    priorities (block 0 is the owner's), and an app on a shared listener scoped at all."""
    check_route_hosts(list(scope.hosts))
    for path in scope.paths:
        if not path.startswith("/") or len(path) > 128:
            raise ValueError(f"{path!r}: expected a path pattern starting with / (at most 128)")
    if scope.values > MAX_SCOPE_VALUES:
        raise ValueError(
            f"{scope.values} hosts and paths; a listener rule holds {MAX_CONDITION_VALUES} "
            f"condition values, so an app may own at most {MAX_SCOPE_VALUES} hosts and paths"
        )
    for what, values in (("hosts", scope.hosts), ("paths", scope.paths)):
        if len(values) > MAX_VALUES_PER_CONDITION:
            raise ValueError(
                f"{len(values)} {what}; they share one listener rule condition, which holds "
                f"{MAX_VALUES_PER_CONDITION}"
            )
    if not 0 <= scope.block <= MAX_PRIORITY_BLOCK:
        raise ValueError(f"priority blocks are 1-{MAX_PRIORITY_BLOCK} (block 0 is the owner's)")
    if scope.block and not scope.values:
        raise ValueError(
            "an app on a shared listener must own hosts or paths, or its rules would take every "
            "request"
        )
    return scope


def forward_weights(live: str, canary_percent: int = 0) -> dict[str, int]:
    """Forward weights per slot: the live slot gets 100 - canary, the idle slot the canary.

    >>> forward_weights("blue")
    {'blue': 100, 'green': 0}
    >>> forward_weights("green", 10)
    {'green': 90, 'blue': 10}
    """
    slot = Slot(live)
    if isinstance(canary_percent, bool) or not isinstance(canary_percent, int):
        raise ValueError(f"canary_percent must be an integer, got {canary_percent!r}")
    if not 0 <= canary_percent <= 100:
        raise ValueError(f"canary_percent must be between 0 and 100, got {canary_percent}")
    return {slot.value: 100 - canary_percent, slot.other.value: canary_percent}


def test_route_cidrs(scope: RouteScope = NO_SCOPE) -> int:
    """Operator networks per test route: its header and its app's hosts and paths come first."""
    return min(CIDRS_PER_RULE, MAX_CONDITION_VALUES - 1 - scope.values)


def allow_list_cidrs(scope: RouteScope = NO_SCOPE) -> int:
    """Networks per allow-list rule: its path and its app's hosts come first."""
    return min(CIDRS_PER_RULE, MAX_CONDITION_VALUES - 1 - len(scope.hosts))


def chunk(values: list[str], size: int = CIDRS_PER_RULE) -> list[list[str]]:
    """Split `values` into lists of at most `size` (ALB rules take few condition values)."""
    if size < 1:
        raise ValueError("size must be positive")
    return [values[i : i + size] for i in range(0, len(values), size)]


def path_group(path: str) -> str:
    """The stable identity of an allow-listed path: its rules' names and band derive from it."""
    return f"path-{slug(path)[:24] or 'root'}-{hashlib.sha256(path.encode()).hexdigest()[:8]}"


def assign_rule_bands(
    groups: list[str], previous: dict[str, int] | None, limit: int = RULE_BANDS
) -> dict[str, int]:
    """A priority band for each allow-list group (path), below `limit`.

    A group that was deployed keeps its band. A new group takes the lowest band that no group of
    the deployed graph holds and no other group takes now, so a new rule never receives a
    priority that a different rule holds in the deployed graph (AWS refuses duplicate
    priorities while both exist), and no unrelated rule is ever renumbered.
    """
    previous = dict(previous or {})
    held = set(previous.values()) | set(TEST_ROUTE_BANDS.values())
    bands: dict[str, int] = {}
    for group in groups:
        if group in previous:
            bands[group] = previous[group]
    taken = held | set(bands.values())
    free = (band for band in range(len(TEST_ROUTE_BANDS), limit) if band not in taken)
    for group in groups:
        if group not in bands:
            band = next(free, None)
            if band is None:
                raise ValueError("no free listener rule priorities are left")
            bands[group] = band
    return bands


def band_priority(band: int, offset: int) -> int:
    """The priority of the rule at `offset` in `band` (offset RULE_BAND_WIDTH - 1 is last)."""
    if not 0 <= offset < RULE_BAND_WIDTH:
        raise ValueError(f"a band holds {RULE_BAND_WIDTH} rules")
    return band * RULE_BAND_WIDTH + offset + 1


@dataclass(frozen=True)
class PlannedRule:
    """One listener rule: its stable key, its group and offset in the group's band, its
    conditions, and whether it forwards (to a slot, or weighted) or answers 403."""

    key: str
    group: str
    offset: int
    path: str | None
    cidrs: tuple[str, ...]
    header: tuple[str, str] | None
    action: str  # "forward" (weighted, gated) | "forward-slot:<slot>" | "deny"
    scope: RouteScope = field(default=NO_SCOPE)

    @property
    def path_values(self) -> list[str]:
        """The rule's path-pattern values: its own path, else its app's paths."""
        return [self.path] if self.path else list(self.scope.paths)

    @property
    def condition_values(self) -> int:
        return (
            len(self.cidrs)
            + len(self.path_values)
            + (1 if self.header else 0)
            + len(self.scope.hosts)
        )


def plan_test_routes(
    operator_cidrs: list[str], test_header: str, scope: RouteScope = NO_SCOPE
) -> list[PlannedRule]:
    """A request with `<test_header>: <slot>` from an operator CIDR goes to that slot's target
    group. Both slots get their rules, so flipping `live` never touches them."""
    sources = list(operator_cidrs) or list(NO_OPERATOR_CIDRS)
    return [
        PlannedRule(
            key=f"test-{slot}-{n}",
            group=f"test-{slot}",
            offset=n,
            path=None,
            cidrs=tuple(cidrs),
            header=(test_header, slot),
            action=f"forward-slot:{slot}",
            scope=scope,
        )
        for slot in SLOTS
        for n, cidrs in enumerate(chunk(sources, test_route_cidrs(scope)))
    ]


def plan_allow_list_rules(
    allow_lists: list[PathAllowList], scope: RouteScope = NO_SCOPE
) -> list[PlannedRule]:
    """For each allow list, requests on its path from its CIDRs are forwarded with the weights;
    every other request on that path gets 403 (the last rule of the path's band)."""
    rules: list[PlannedRule] = []
    size = allow_list_cidrs(scope)
    for entry in allow_lists:
        group = path_group(entry["path"])
        for n, cidrs in enumerate(chunk(list(entry["cidrs"]), size)):
            rules.append(
                PlannedRule(
                    f"{group}-{n}", group, n, entry["path"], tuple(cidrs), None, "forward", scope
                )
            )
        rules.append(
            PlannedRule(
                f"{group}-deny", group, RULE_BAND_WIDTH - 1, entry["path"], (), None, "deny", scope
            )
        )
    return rules


def count_listener_rules(
    operator_cidrs: list[str], allow_lists: list[PathAllowList], scope: RouteScope = NO_SCOPE
) -> int:
    """Listener rules the edge needs: test routes, allow lists (+ their 403 rules), the live
    rule."""
    live_rule = 1
    return (
        len(plan_test_routes(operator_cidrs, TEST_HEADER, scope))
        + len(plan_allow_list_rules(allow_lists, scope))
        + live_rule
    )


def check_listener_rules(
    operator_cidrs: list[str], allow_lists: list[PathAllowList], scope: RouteScope = NO_SCOPE
) -> None:
    """The planned rules fit ALB's quotas: at most 100 rules per load balancer, every rule's
    conditions as ALB accepts them (`check_rule_conditions`), and no allow list with more CIDRs
    than one band holds. An app that owns paths allow-lists only paths inside them (a rule has one
    path-pattern condition).
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html"""
    paths = [entry["path"] for entry in allow_lists]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise ValueError(f"the path {duplicates[0]} has two allow lists; merge them")
    outside = [p for p in paths if scope.paths and not _within(p, scope.paths)]
    if outside:
        raise ValueError(
            f"the allow-listed path {outside[0]} is outside the paths this app owns "
            f"({', '.join(scope.paths)})"
        )
    groups = [plan_test_routes(operator_cidrs, TEST_HEADER, scope)] + [
        plan_allow_list_rules([entry], scope) for entry in allow_lists
    ]
    for rules in groups:
        if max(rule.offset for rule in rules if rule.action != "deny") >= RULE_BAND_WIDTH - 1:
            per_rule = test_route_cidrs(scope) if rules[0].header else allow_list_cidrs(scope)
            raise ValueError(f"one list holds at most {(RULE_BAND_WIDTH - 1) * per_rule} networks")
        for rule in rules:
            check_rule_conditions(rule_conditions(rule))
    total = count_listener_rules(operator_cidrs, allow_lists, scope)
    if total > MAX_RULES_PER_LOAD_BALANCER:
        raise ValueError(
            f"these lists need {total} listener rules; an Application Load Balancer allows "
            f"{MAX_RULES_PER_LOAD_BALANCER} (each rule holds {CIDRS_PER_RULE} networks): "
            "merge networks into wider CIDRs"
        )
    if len(allow_lists) + len(TEST_ROUTE_BANDS) > scope.band_limit:
        raise ValueError(f"one app's priority block holds {scope.band_limit - 2} allow lists")


def _within(path: str, owned: tuple[str, ...]) -> bool:
    """`path` lies under one of the `owned` patterns (`/shop/api/*` under `/shop/*`)."""
    return any(
        path == pattern or (pattern.endswith("*") and path.startswith(pattern[:-1]))
        for pattern in owned
    )


def check_rule_conditions(conditions: list[dict[str, Any]]) -> None:
    """Conditions ALB accepts in one listener rule: at most 3 match evaluations (values) per
    condition, at most 5 in the rule, and at most one host-header, http-request-method,
    path-pattern and source-ip condition.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html"""
    kinds = [kind for condition in conditions for kind in condition]
    for kind in ONCE_PER_RULE:
        if kinds.count(kind) > 1:
            raise ValueError(f"a listener rule holds one {kind.replace('_', '-')} condition")
    total = 0
    for condition in conditions:
        for kind, body in condition.items():
            values = len(body.get("values") or [])
            if values > MAX_VALUES_PER_CONDITION:
                raise ValueError(
                    f"a {kind.replace('_', '-')} condition holds {values} values; ALB allows "
                    f"{MAX_VALUES_PER_CONDITION} per condition"
                )
            total += values
    if total > MAX_CONDITION_VALUES:
        raise ValueError(
            f"a listener rule holds {total} condition values; ALB allows {MAX_CONDITION_VALUES}"
        )


def rule_conditions(rule: PlannedRule) -> list[dict[str, Any]]:
    """The ALB conditions of a planned rule: path, header, source networks, and the hosts of its
    app's scope."""
    conditions: list[dict[str, Any]] = []
    if rule.path_values:
        conditions.append({"path_pattern": {"values": rule.path_values}})
    if rule.header:
        conditions.append(
            {"http_header": {"http_header_name": rule.header[0], "values": [rule.header[1]]}}
        )
    if rule.cidrs:
        conditions.append({"source_ip": {"values": list(rule.cidrs)}})
    if rule.scope.hosts:
        conditions.append({"host_header": {"values": list(rule.scope.hosts)}})
    return conditions


def live_rule_conditions(scope: RouteScope) -> list[dict[str, Any]]:
    """The live rule matches every request of the app: its paths (or `/*`) on its hosts."""
    conditions: list[dict[str, Any]] = [{"path_pattern": {"values": scope.live_paths()}}]
    if scope.hosts:
        conditions.append({"host_header": {"values": list(scope.hosts)}})
    return conditions


FORBIDDEN: dict[str, Any] = {  # what an allow-listed path answers everyone else
    "type": "fixed-response",
    "fixed_response": {
        "content_type": "text/plain",
        "message_body": "Forbidden",
        "status_code": "403",
    },
}
