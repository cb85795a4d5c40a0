"""The stack config surface under fuzzing (hypothesis).

Malformed configs (wrong types, out-of-range numbers, bad CIDRs and ARNs, unknown and near-miss
keys at every level, nulls, YAML-coerced numbers in version strings, secrets in plain fields) are
generated from the production stack file and must each be refused with a clean config error:
one `phoenix-aws:<key>: …` line naming the key, no traceback, no Python or pydantic internals, no
raw regex, and never a secret value. Most examples exercise `stacks.settings.load_settings`
directly; the whole program runs only where the test needs it (nothing registered, a time bound)
or needs the graph: valid-but-unusual configs (6 AZs, a /22 VPC, `nat: none` with endpoints,
per-slot discovery with Redis) must produce a graph that breaks no mandatory policy.

The leaves and sections are read from the settings model itself, so a new setting is fuzzed the
day it is added.
"""

from __future__ import annotations

import copy
import enum
import re
import runpy
import threading
import time
import typing
from dataclasses import dataclass
from typing import Any

import pytest
from annotated_types import Ge, Le
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from offline import mocks
from policy.offline import resources_of
from policy.rules import RULES, Context, Enforcement, evaluate
from stacks.settings import (
    NAMESPACE,
    ConfigError,
    StackSettings,
    load_settings,
    raw_config_from_pulumi,
    settings_from_pulumi,
)
from stacks.settings.stack import APP_NODE_ENDPOINTS

PROD_CONFIG = mocks.stack_config("prod")
BASE: dict[str, Any] = raw_config_from_pulumi(PROD_CONFIG)
"""The `phoenix-aws:` map of the production stack file: valid, and the start of every example."""
PROVIDER_CONFIG = {k: v for k, v in PROD_CONFIG.items() if not k.startswith(f"{NAMESPACE}:")}

# Bounded and reproducible. No shrinking: a Mutation is already one key and one value, and a
# failing example is reported as found.
FAST = settings(
    max_examples=40,
    deadline=None,  # the suite's profile (tests/conftest.py): no test depends on speed
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROGRAM = settings(FAST, max_examples=25, deadline=None)
GRAPH = settings(FAST, max_examples=3, deadline=None)
TIME_BOUND_SECONDS = 30.0  # a hang, not a slow machine

# ---------------------------------------------------------------------------------------------
# The config surface, read from the settings model

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Leaf:
    path: Path
    kind: str
    """bool, int, str, choice, str_list, map or section"""
    optional: bool
    bounds: tuple[int | None, int | None] = (None, None)
    choices: tuple[str, ...] = ()


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    args = typing.get_args(annotation)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return annotation, False


def _leaves(model: type[BaseModel] = StackSettings, prefix: Path = ()) -> list[Leaf]:
    found: list[Leaf] = []
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        annotation, optional = _unwrap_optional(field.annotation)
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.append(Leaf(path, "section", optional))
            found.extend(_leaves(annotation, path))
        elif (
            origin is list and args and isinstance(args[0], type) and issubclass(args[0], BaseModel)
        ):
            found.append(Leaf(path, "section_list", optional))
            found.extend(_leaves(args[0], (*path, 0)))
        elif origin is list:
            found.append(Leaf(path, "str_list", optional))
        elif origin is dict:
            found.append(Leaf(path, "map", optional))
        elif annotation is bool:
            found.append(Leaf(path, "bool", optional))
        elif annotation is int:
            low = next((m.ge for m in field.metadata if isinstance(m, Ge)), None)
            high = next((m.le for m in field.metadata if isinstance(m, Le)), None)
            found.append(Leaf(path, "int", optional, (low, high)))  # type: ignore[arg-type]
        elif origin is typing.Literal:
            found.append(Leaf(path, "choice", optional, choices=tuple(map(str, args))))
        elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            found.append(
                Leaf(path, "choice", optional, choices=tuple(str(m.value) for m in annotation))
            )
        else:
            found.append(Leaf(path, "str", optional))
    return found


LEAVES = _leaves()
SECTIONS: list[Path] = (
    [()]
    + [leaf.path for leaf in LEAVES if leaf.kind == "section"]
    + [(*leaf.path, 0) for leaf in LEAVES if leaf.kind == "section_list"]
)


def _fields_at(path: Path) -> list[str]:
    return [str(leaf.path[-1]) for leaf in LEAVES if leaf.path[:-1] == path]


def dotted(path: Path) -> str:
    return ".".join(map(str, path))


def with_value(path: Path, value: Any, base: dict | None = None) -> dict:
    """A deep copy of the base config with `value` at `path` (missing sections are created)."""
    raw = copy.deepcopy(BASE if base is None else base)
    node: Any = raw
    for part in path[:-1]:
        if isinstance(part, int):
            node = node[part]
        else:
            if not isinstance(node.get(part), (dict, list)):
                node[part] = {}
            node = node[part]
    node[path[-1]] = value
    return raw


# ---------------------------------------------------------------------------------------------
# What a clean error is

INTERNALS = re.compile(
    r"Traceback|File \"|pydantic|ValidationError|<class|\b[A-Z]\w*Settings\b|errors\.pydantic\.dev"
    r"|should match pattern|\^\[|\\d"
)


def refused(raw: dict) -> str:
    """The error `load_settings` gives for `raw` (fails the test if it accepts or crashes)."""
    try:
        load_settings(raw)
    except ConfigError as error:
        return str(error)
    pytest.fail("accepted a malformed config")


def assert_clean(message: str, path: Path, *, secrets: tuple[str, ...] = ()) -> None:
    lines = message.splitlines()
    assert lines[0] == "invalid stack config:", message
    assert all(line.startswith(f"  {NAMESPACE}:") for line in lines[1:]), message
    assert f"{NAMESPACE}:{dotted(path)}" in message, (
        f"the key {dotted(path)} is not named:\n{message}"
    )
    leaked = INTERNALS.search(message)
    assert not leaked, f"{leaked.group(0)!r} in the message:\n{message}"
    for secret in secrets:
        assert secret not in message, "a secret value is echoed"


# ---------------------------------------------------------------------------------------------
# Strategies: each draws one change to the production settings: where, what, and which secrets
# (if any) the error must not show


@dataclass(frozen=True)
class Mutation:
    path: Path
    value: Any
    secrets: tuple[str, ...] = ()
    also: tuple[tuple[Path, Any], ...] = ()
    """Other settings the case needs (set first), e.g. the Redis adapter for a Redis window."""

    @property
    def raw(self) -> dict:
        raw = copy.deepcopy(BASE)
        for path, value in self.also:
            raw = with_value(path, value, raw)
        return with_value(self.path, self.value, raw)

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        return f"{NAMESPACE}:{dotted(self.path)} = {self.value!r}"


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
small = st.one_of(st.integers(-5, 5), words)
junk_list = st.lists(small, min_size=1, max_size=2)
junk_map = st.dictionaries(words, small, min_size=1, max_size=2)
fractional = st.integers(-1000, 1000).map(lambda i: i + 0.5)

WRONG_TYPE = {
    "int": st.one_of(words.map(lambda w: w + "x"), fractional, junk_list, junk_map),
    "bool": st.one_of(st.sampled_from(["maybe", "enabled", "si"]), fractional, junk_list, junk_map),
    "str": st.one_of(st.integers(), fractional, st.booleans(), junk_list, junk_map),
    "choice": st.one_of(st.integers(), junk_list, junk_map),
    "str_list": st.one_of(words, st.integers(), junk_map),
    "map": st.one_of(words, st.integers(), junk_list),
    "section": st.one_of(words, st.integers(), st.booleans(), junk_list),
    "section_list": st.one_of(words, st.integers(), junk_map),
}


@st.composite
def wrong_types(draw):
    leaf = draw(st.sampled_from(LEAVES))
    return Mutation(leaf.path, draw(WRONG_TYPE[leaf.kind]))


BOUNDED = [leaf for leaf in LEAVES if leaf.kind == "int" and leaf.bounds != (None, None)]


@st.composite
def out_of_range(draw):
    leaf = draw(st.sampled_from(BOUNDED))
    low, high = leaf.bounds
    options = []
    if low is not None:
        options.append(st.integers(min_value=low - 10**6, max_value=low - 1))
    if high is not None:
        options.append(st.integers(min_value=high + 1, max_value=high + 10**9))
    return Mutation(leaf.path, draw(st.one_of(options)))


BAD_CIDRS = st.sampled_from(
    [
        "203.0.113.7",
        "10.20.0.1/16",
        "10.0.0.0/33",
        "::/129",
        "300.1.2.3/8",
        "",
        "10.0.0.0 /16",
        "fe80::/1x",
    ]
)
CIDR_FIELDS: list[tuple[Path, bool]] = [
    (("network", "cidr"), False),
    (("network", "peer_cidrs"), True),
    (("edge", "ingress_cidrs"), True),
    (("edge", "operator_cidrs"), True),
    (("edge", "path_allow_lists", 0, "cidrs"), True),
]


@st.composite
def bad_cidrs(draw):
    path, is_list = draw(st.sampled_from(CIDR_FIELDS))
    value = draw(BAD_CIDRS)
    return Mutation(path, [value] if is_list else value)


ARN_FIELDS: list[tuple[Path, Any, list[str]]] = [
    (
        ("edge", "certificate_arn"),
        lambda arn: arn,
        [
            "arn:aws:acm:eu-west-1",
            "arn:aws:acm:eu-west-1::certificate/abc",
            "arn:aws:iam::123456789012:server-certificate/shop",
            "certificate/abc",
        ],
    ),
    (
        ("app", "secrets"),
        lambda arn: {"SENTRY_DSN": arn},
        [
            "arn:aws:secretsmanager:eu-west-1",
            "arn:aws:s3:::shop-secrets/sentry",
            "arn:aws:ssm:eu-west-1:123456789012",
            "secret:shop/sentry",
        ],
    ),
    (
        ("app", "task_role_policy_arns"),
        lambda arn: [arn],
        [
            "arn:aws:iam::aws:role/Admin",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::policy",
            "AmazonS3ReadOnlyAccess",
        ],
    ),
]


@st.composite
def bad_arns(draw):
    path, shape, values = draw(st.sampled_from(ARN_FIELDS))
    return Mutation(path, shape(draw(st.sampled_from(values))))


def near_misses(name: str) -> st.SearchStrategy[str]:
    edits = [name[:i] + name[i + 1 :] for i in range(len(name))]
    edits += [name[:i] + name[i + 1] + name[i] + name[i + 2 :] for i in range(len(name) - 1)]
    edits += [name[:i] + name[i] + name[i:] for i in range(len(name))]
    edits += [name.upper(), name.replace("_", "-")]
    return st.sampled_from(sorted({e for e in edits if e and e != name}))


@st.composite
def unknown_keys(draw):
    section = draw(st.sampled_from(SECTIONS))
    valid = _fields_at(section)
    near = draw(st.booleans())
    key = (
        draw(near_misses(draw(st.sampled_from(valid))))
        if near
        else draw(st.from_regex(r"[a-z][a-z_]{2,12}", fullmatch=True))
    )
    if key in valid:
        key = key + "_x"
    return Mutation((*section, key), "x")


NULLABLE_FREE = [leaf for leaf in LEAVES if not leaf.optional]


@st.composite
def nulls(draw):
    leaf = draw(st.sampled_from(NULLABLE_FREE))
    return Mutation(leaf.path, None)


YAML_NUMBERS: list[tuple[Path, list[float | int]]] = [
    (("database", "engine_version"), [16.4, 17, 15.1]),
    (("pubsub", "redis", "engine_version"), [7.1, 6.2, 7]),
    (("release", "blue", "version"), [2026.11, 3.0]),
    (("app", "run_as_user"), [1000]),
    (("edge", "health_check", "matcher"), [200]),
]


@st.composite
def yaml_numbers(draw):
    path, values = draw(st.sampled_from(YAML_NUMBERS))
    return Mutation(path, draw(st.sampled_from(values)))


secret_tokens = st.one_of(
    st.from_regex(r"sk_live_[A-Za-z0-9]{24}", fullmatch=True),
    st.from_regex(r"ghp_[A-Za-z0-9]{36}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9]{32}", fullmatch=True),
)
SECRET_NAMES = st.sampled_from(
    [
        "API_TOKEN",
        "STRIPE_SECRET_KEY",
        "DB_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
        "SIGNING_KEY",
        "GITHUB_TOKEN",
    ]
)


@st.composite
def secrets_in_plain_fields(draw):
    token = draw(secret_tokens)
    name = draw(SECRET_NAMES)
    where = draw(st.sampled_from(["env", "secrets", "build_args"]))
    if where == "env":  # a secret as plain environment (issue 9: secret-looking names refused)
        return Mutation(("app", "env"), {"POOL_SIZE": "10", name: token}, (token,))
    if where == "secrets":  # the secret itself pasted where its ARN belongs
        return Mutation(("app", "secrets"), {name: token}, (token,))
    return Mutation(("image", "build_args"), {name: token}, (token,))


BAD_VALUES: list[tuple[Path, list[Any]]] = [
    (("edge", "domain"), ["a" * 64 + ".example.com", "App.Example.com", "example"]),
    (("edge", "hosted_zone_id"), ["z0123ABC", "Z0123 456"]),
    (("edge", "test_header"), ["X Release Slot"]),
    (("edge", "health_check", "path"), ["health"]),
    (("edge", "health_check", "matcher"), ["2xx"]),
    (("pubsub", "redis", "maintenance_window"), ["sun:5-sun:6", "sunday:05:00-sunday:06:00"]),
    (("pubsub", "redis", "node_type"), ["t4g.small"]),
    (("pubsub", "redis", "engine_version"), ["9.9", "seven"]),
    (("database", "instance_class"), ["m7g.large"]),
    (("app", "name"), ["Shop", "my-app", "a" * 60]),
    (("tags",), [{"aws:team": "web"}]),
    (("app", "run_as_user"), ["0:0", "1000:0", "app:root", "root", "4294967295"]),
]


@st.composite
def bad_values(draw):
    """Issue 9's malformed values: over-long DNS labels, wrong instance families, a malformed
    maintenance window, an app name that overflows node and resource names, `aws:` tags…"""
    path, values = draw(st.sampled_from(BAD_VALUES))
    return Mutation(path, draw(st.sampled_from(values)))


# ---------------------------------------------------------------------------------------------
# Issue 19: the classes of input a second fuzz round found getting through or leaking. Each is a
# rule (not one value): limits AWS enforces on what we pass through, collisions with what the
# platform sets itself, inputs the program would merge, and secrets in every kind of message.

VALID = load_settings(BASE)
"""The production settings with every default filled in: list values to repeat come from here."""


def effective(path: Path) -> Any:
    node: Any = VALID
    for part in path:
        node = node[part] if isinstance(part, int) else getattr(node, part)
    return node


TAG_PUNCTUATION_REFUSED = ["#", "!", "<b>", "a\nb", "tab\there", "zero\u200bwidth", "semi;colon"]


@st.composite
def tag_limits(draw):
    """Tags AWS refuses on the resources they reach: more than the per-resource limit once
    phoenix-aws's own are counted, characters outside AWS's tag set, keys or values too long."""
    kind = draw(
        st.sampled_from(["count", "key chars", "value chars", "key length", "value length"])
    )
    if kind == "count":
        count = draw(st.integers(47, 80))
        return Mutation(("tags",), {f"team-{i}": "web" for i in range(count)})
    if kind == "key chars":
        return Mutation(("tags",), {f"team{draw(st.sampled_from(TAG_PUNCTUATION_REFUSED))}": "web"})
    if kind == "value chars":
        return Mutation(("tags",), {"team": f"web{draw(st.sampled_from(TAG_PUNCTUATION_REFUSED))}"})
    if kind == "key length":
        return Mutation(("tags",), {"k" * draw(st.integers(129, 300)): "web"})
    return Mutation(("tags",), {"team": "w" * draw(st.integers(257, 600))})


@st.composite
def too_many_managed_policies(draw):
    """IAM attaches at most 10 managed policies to a role; a policy listed twice is refused too."""
    names = [f"arn:aws:iam::aws:policy/Policy{i}" for i in range(draw(st.integers(11, 25)))]
    if draw(st.booleans()):
        names = ["arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"] * 2
    return Mutation(("app", "task_role_policy_arns"), names)


@st.composite
def too_many_security_group_rules(draw):
    """One inbound rule per network and listener port: more networks than the load balancer's
    security group holds rules for (60: 30 networks with HTTPS, 60 with plain HTTP only)."""
    count = draw(st.integers(31, 90))
    return Mutation(
        ("edge", "ingress_cidrs"), [f"198.51.{i // 256}.{i % 256}/32" for i in range(count)]
    )


LIST_LEAVES = [
    leaf.path
    for leaf in LEAVES
    if leaf.kind == "str_list" and isinstance(effective(leaf.path), list) and effective(leaf.path)
]


@st.composite
def duplicate_entries(draw):
    """Any list input with an entry repeated (also a network written two ways: 10.0.0.0/8 and
    10.0.0.0/08): one entry would become a second resource of the same name, or a duplicate AWS
    refuses."""
    path = draw(st.sampled_from(LIST_LEAVES))
    value = list(effective(path))
    return Mutation(path, [*value, value[0]])


@st.composite
def window_over_the_snapshot_window(draw):
    """A Redis maintenance window over the daily snapshot window phoenix-aws fixes (03:00-04:00
    UTC): ElastiCache refuses windows that overlap."""
    day = draw(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]))
    start = draw(st.integers(2 * 60 + 1, 3 * 60 + 59))  # starts within an hour before or inside
    end = start + draw(st.integers(60, 180))
    window = f"{day}:{start // 60:02d}:{start % 60:02d}-{day}:{end // 60:02d}:{end % 60:02d}"
    return Mutation(
        ("pubsub", "redis", "maintenance_window"), window, also=((("pubsub", "adapter"), "redis"),)
    )


@st.composite
def port_collisions(draw):
    """The app's port on EPMD or inside the distribution range the platform opens node-to-node."""
    low = effective(("cluster", "distribution_port_min"))
    high = effective(("cluster", "distribution_port_max"))
    return Mutation(("app", "port"), draw(st.sampled_from([4369, low, high, (low + high) // 2])))


STR_LEAVES = [leaf for leaf in LEAVES if leaf.kind == "str"]


# Sections the shipped prod file leaves out whose keys are required together: a case sets the
# whole section first, so the one blank key is the only thing wrong.
WHOLE_SECTIONS: dict[Path, dict[str, Any]] = {
    ("release", "in_progress"): {
        "action": "drain",
        "step": 2,
        "of": 5,
        "title": "tell slot green's nodes to shed their WebSockets",
        "by": "alice@laptop",
        "options": "--bake 0",
    },
}


@st.composite
def blank_text(draw):
    """An empty or blank text setting (a migration command of spaces, an empty path)."""
    leaf = draw(st.sampled_from(STR_LEAVES))
    whole = WHOLE_SECTIONS.get(leaf.path[:-1])
    also = ((leaf.path[:-1], whole),) if whole else ()
    return Mutation(leaf.path, draw(st.sampled_from(["", " ", "   ", "\t"])), also=also)


@st.composite
def plain_and_secret_of_one_name(draw):
    """The same variable in `app.env` and `app.secrets`: the program would merge them into one
    container definition; the settings refuse it first."""
    name = draw(st.sampled_from(["SENTRY_DSN", "FEATURE_FLAGS", "MAILER_URL"]))
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/x-AbCdEf"
    return Mutation(("app", "secrets"), {name: arn}, also=((("app", "env"), {name: "plain"}),))


@st.composite
def secrets_under_a_misspelt_key(draw):
    """A typo of `secrets` (the likeliest key to hold secrets) never shows what it holds."""
    token = draw(secret_tokens)
    key = draw(near_misses("secrets"))
    return Mutation(("app", key), {draw(SECRET_NAMES): token}, (token,))


@st.composite
def secret_section_as_plain_text(draw):
    """`app` (which holds `secrets`) given as plain text: the text is never shown."""
    token = draw(secret_tokens)
    return Mutation(("app",), token, (token,))


@st.composite
def long_values(draw):
    """Any text setting given a very long value: messages cut it."""
    leaf = draw(st.sampled_from(STR_LEAVES))
    return Mutation(
        leaf.path, draw(st.sampled_from(["x", "a-", "Q9"])) * draw(st.integers(300, 3000))
    )


MALFORMED_19 = {
    "tag limits": tag_limits(),
    "managed policies": too_many_managed_policies(),
    "security group rules": too_many_security_group_rules(),
    "duplicate entry": duplicate_entries(),
    "window overlap": window_over_the_snapshot_window(),
    "port collision": port_collisions(),
    "blank text": blank_text(),
    "plain and secret": plain_and_secret_of_one_name(),
    "misspelt secrets": secrets_under_a_misspelt_key(),
    "section as text": secret_section_as_plain_text(),
}

MALFORMED = {
    "bad value": bad_values(),
    "wrong type": wrong_types(),
    "out of range": out_of_range(),
    "bad CIDR": bad_cidrs(),
    "bad ARN": bad_arns(),
    "unknown key": unknown_keys(),
    "null": nulls(),
    "YAML number": yaml_numbers(),
    "secret": secrets_in_plain_fields(),
    **MALFORMED_19,
}

# ---------------------------------------------------------------------------------------------
# Settings-level properties (fast: no program run)


@FAST
@given(wrong_types())
def test_a_value_of_the_wrong_type_is_refused_naming_the_key(case):
    assert_clean(refused(case.raw), case.path, secrets=case.secrets)


@FAST
@given(out_of_range())
def test_an_out_of_range_number_is_refused_naming_the_key(case):
    assert_clean(refused(case.raw), case.path, secrets=case.secrets)


@FAST
@given(bad_cidrs())
def test_a_bad_cidr_is_refused_naming_the_key(case):
    """Issue 9: a bare address where a CIDR is meant is refused too."""
    assert_clean(refused(case.raw), case.path, secrets=case.secrets)


@FAST
@given(bad_arns())
def test_a_partial_or_wrong_service_arn_is_refused_naming_the_key(case):
    """ARN format: arn:partition:service:region:account-id:resource
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html)."""
    assert_clean(refused(case.raw), case.path, secrets=case.secrets)


@FAST
@given(bad_values())
def test_a_malformed_value_is_refused_naming_the_key_in_plain_words(case):
    """Plain words: no raw regex in the message (issue 9)."""
    assert_clean(refused(case.raw), case.path, secrets=case.secrets)


@FAST
@given(unknown_keys())
def test_an_unknown_or_misspelled_key_is_refused_at_every_level(case):
    message = refused(case.raw)
    assert_clean(message, case.path, secrets=case.secrets)
    assert f"{NAMESPACE}:{dotted(case.path)}: unknown key" in message
    valid = _fields_at(case.path[:-1])
    suggestion = re.search(
        rf"{re.escape(dotted(case.path))}: unknown key; did you mean '([^']+)'", message
    )
    if suggestion:
        assert suggestion.group(1) in valid
    else:
        assert "valid keys: " + ", ".join(sorted(valid)) in message


@FAST
@given(nulls())
def test_a_null_is_refused_naming_the_key(case):
    assert_clean(refused(case.raw), case.path, secrets=case.secrets)


@FAST
@given(yaml_numbers())
def test_a_version_yaml_read_as_a_number_is_refused_with_a_hint_to_quote_it(case):
    """Issue 9: where YAML turned a version into a number (7.1), say to quote it."""
    message = refused(case.raw)
    assert_clean(message, case.path, secrets=case.secrets)
    assert "quote" in message.lower(), message


@FAST
@given(secrets_in_plain_fields())
def test_a_secret_in_a_plain_field_is_refused_and_never_echoed(case):
    assert_clean(refused(case.raw), case.path, secrets=case.secrets)


@FAST
@given(tag_limits())
def test_tags_aws_would_refuse_are_refused_counting_the_platforms_own(case):
    """AWS: at most 50 user tags per resource (phoenix-aws adds up to four of its own), keys of
    1-128 and values of at most 256 letters, digits, spaces and _ . : / = + - @
    (https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions)."""
    assert_clean(refused(case.raw), case.path)


def test_the_tag_limit_counts_the_providers_default_tags():
    """`aws:defaultTags` reach every resource too: 46 user tags fit alone, not with two defaults."""
    raw = with_value(("tags",), {f"team-{i}": "web" for i in range(46)})
    load_settings(raw)
    with pytest.raises(ConfigError, match="tags: 46 tags, and 6 more"):
        load_settings(raw, default_tags={"owner": "web", "cost-center": "prod"})
    # A default tag the stack file overrides is one tag, not two.
    load_settings(raw, default_tags={"team-0": "platform"})


@FAST
@given(too_many_managed_policies())
def test_more_managed_policies_than_iam_attaches_are_refused(case):
    """IAM quota: 10 managed policies per role
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)."""
    assert_clean(refused(case.raw), case.path)


@FAST
@given(too_many_security_group_rules())
def test_more_networks_than_the_security_group_holds_rules_for_are_refused(case):
    """VPC quota: 60 inbound rules per security group
    (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups)."""
    message = refused(case.raw)
    assert_clean(message, case.path)
    assert "inbound rules" in message


@FAST
@given(duplicate_entries())
def test_an_entry_repeated_in_any_list_is_refused_naming_the_list(case):
    message = refused(case.raw)
    assert_clean(message, case.path)
    assert "more than once" in message or "listed once" in message, message


def test_every_list_input_is_fuzzed_for_duplicates():
    """The lists come from the settings model: a new list setting is fuzzed the day it is added
    (those whose shipped value is empty get one from the model's default, or are named here)."""
    assert {dotted(p) for p in LIST_LEAVES} >= {
        "network.peer_cidrs",
        "network.interface_endpoints",
        "edge.ingress_cidrs",
        "edge.operator_cidrs",
        "edge.path_allow_lists.0.cidrs",
        "monitoring.alarm_emails",
    }


@FAST
@given(window_over_the_snapshot_window())
def test_a_maintenance_window_over_the_snapshot_window_is_refused(case):
    message = refused(case.raw)
    assert_clean(message, case.path)
    assert "snapshot window" in message


@FAST
@given(port_collisions())
def test_an_app_port_on_epmd_or_the_distribution_range_is_refused(case):
    assert_clean(refused(case.raw), case.path)


@FAST
@given(blank_text())
def test_blank_text_is_refused_naming_the_key(case):
    assert_clean(refused(case.raw), case.path)


@FAST
@given(plain_and_secret_of_one_name())
def test_one_name_in_env_and_in_secrets_is_refused_by_the_settings(case):
    message = refused(case.raw)
    assert_clean(message, case.path)


@FAST
@given(secrets_under_a_misspelt_key())
def test_a_misspelt_secrets_key_never_shows_its_secrets(case):
    message = refused(case.raw)
    assert_clean(message, case.path, secrets=case.secrets)
    assert "unknown key" in message


@FAST
@given(secret_section_as_plain_text(), st.booleans())
def test_a_secret_section_given_as_plain_text_is_never_shown(case, marked):
    message = refused_with(case.raw, ["app"] if marked else [])
    assert_clean(message, case.path, secrets=case.secrets)


@FAST
@given(st.from_regex(r"[a-z][a-z0-9_]{59,80}", fullmatch=True))
def test_a_message_a_rule_builds_from_a_secret_value_does_not_show_it(name):
    """`pulumi config set --secret phoenix-aws:app …` with a name too long for PostgreSQL: the
    rule's own message quotes the name (`the database role <name>_app would exceed…`), and it is
    cut out of it."""
    message = refused_with(with_value(("app", "name"), name), ["app"])
    assert_clean(message, ("app", "name"))
    assert name not in message and name[:10] not in message, message


@FAST
@given(long_values())
def test_long_values_are_cut_in_messages(case):
    try:
        load_settings(case.raw)
    except ConfigError as error:
        message = str(error)
    else:
        assume(False)  # a long value this setting takes (e.g. a Dockerfile name unused here)
    assert_clean(message, case.path)
    assert all(len(line) <= 400 for line in message.splitlines()), message
    assert case.value not in message


def refused_with(raw: dict, secret_keys: list[str]) -> str:
    try:
        load_settings(raw, secret_keys=secret_keys)
    except ConfigError as error:
        return str(error)
    pytest.fail("accepted a malformed config")


def test_list_inputs_are_refused_or_accepted_cleanly_both_empty_and_missing():
    """Every list setting, given as [] and left out: either accepted, or refused naming it."""
    lists = [leaf for leaf in LEAVES if leaf.kind in ("str_list", "section_list")]
    assert len(lists) >= 10
    for leaf in lists:
        for raw in (with_value(leaf.path, []), without(leaf.path)):
            try:
                load_settings(raw)
            except ConfigError as error:
                assert_clean(str(error), leaf.path)


def without(path: Path) -> dict:
    raw = copy.deepcopy(BASE)
    node: Any = raw
    for part in path[:-1]:
        if isinstance(node, dict) and part not in node:
            return raw
        node = node[part]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    return raw


def settings_error(config: dict, secret_keys: list[str] | None = None) -> str:
    """The error reading the full Pulumi config map gives (what `__main__.py` does first)."""
    with mocks.host_config(config, secret_keys):
        try:
            settings_from_pulumi()
        except ConfigError as error:
            return str(error)
    pytest.fail("accepted a malformed config")


@pytest.mark.parametrize("namespace", ["phoenix_aws", "phoenix-awz", "pheonix-aws", "Phoenix-AWS"])
def test_config_under_a_namespace_that_is_nearly_ours_names_the_right_one(namespace):
    """Issue 9: config under `phoenix_aws:` or `phoenix-awz:` is refused, naming `phoenix-aws:`."""
    config = {**PROD_CONFIG, f"{namespace}:network": {"cidr": "10.9.0.0/16"}}
    message = settings_error(config)
    assert f"{namespace}:network" in message and f"{NAMESPACE}:" in message
    assert not INTERNALS.search(message)


@pytest.mark.parametrize(
    ("region", "nearest"),
    [("eu-wets-1", "eu-west-1"), ("euwest1", "eu-west-1"), ("us-east-7", None), ("mars", None)],
)
def test_an_unknown_or_misspelt_region_is_refused_with_the_region_named(region, nearest):
    """`aws:region` must be a Region AWS has (the SDK's endpoint table): named in the message,
    with the nearest real Region where one is close. With the provider's own
    `aws:skipRegionValidation` (an emulator) it is left alone."""
    message = settings_error({**PROD_CONFIG, "aws:region": region})
    assert f"aws:region: {region!r} is not an AWS Region" in message, message
    if nearest:
        assert f"did you mean {nearest!r}?" in message
    assert not INTERNALS.search(message)
    assert "availability" not in message  # a refused Region is not checked against zones again
    with mocks.host_config(
        {**PROD_CONFIG, "aws:region": region, "aws:skipRegionValidation": "true"}
    ):
        settings_from_pulumi()


def test_default_tags_aws_would_refuse_are_refused_at_the_provider_key():
    config = {**PROD_CONFIG, "aws:defaultTags": {"tags": {"aws:owner": "web"}}}
    assert "aws:defaultTags: tag key 'aws:owner' starts with 'aws:'" in settings_error(config)


# ---------------------------------------------------------------------------------------------
# Program-level properties: nothing registered, a time bound, no secret echoed


def full_config(raw: dict) -> dict:
    return {**PROVIDER_CONFIG, **{f"{NAMESPACE}:{key}": value for key, value in raw.items()}}


def run_bounded(config: dict, **kwargs) -> tuple[BaseException | None, float, bool]:
    """Run the program in a thread; (its exception, seconds, whether it ended in time)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            mocks.run(
                lambda: runpy.run_path(str(mocks.ROOT / "__main__.py"), run_name="__main__"),
                config,
                stack="fuzz",
                **kwargs,
            )
        except BaseException as error:
            outcome["error"] = error

    started = time.monotonic()
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(TIME_BOUND_SECONDS)
    return outcome.get("error"), time.monotonic() - started, not worker.is_alive()


@PROGRAM
@given(st.sampled_from(sorted(MALFORMED)).flatmap(lambda kind: MALFORMED[kind]))
def test_a_malformed_config_stops_the_program_before_any_resource(case):
    """Given that the settings refuse it (the tests above report configs they accept), the
    program stops with that error before registering anything, and quickly."""
    try:
        load_settings(case.raw)
    except ConfigError:
        pass
    else:
        assume(False)
    error, _, ended = run_bounded(full_config(case.raw))
    assert ended, f"the program did not end within {TIME_BOUND_SECONDS} s"
    assert isinstance(error, ConfigError), f"expected a config error, got {error!r}"
    # A pulumi.RunError: the CLI prints the message alone, without a Python traceback.
    assert error.__class__.__mro__[1].__name__ == "RunError"
    assert getattr(error, "recorded", None) == []
    message = str(error)
    assert f"{NAMESPACE}:{dotted(case.path)}" in message
    assert "Traceback" not in message and 'File "' not in message
    assert not any(secret in message for secret in case.secrets)


def test_a_pulumi_secret_config_value_is_never_echoed():
    """`pulumi config set --secret phoenix-aws:app …`: the value never appears in an error."""
    token = "s3cr3t-" + "q7" * 12
    config = full_config(with_value(("app", "name"), token))
    message = settings_error(config, secret_keys=[f"{NAMESPACE}:app"])
    assert f"{NAMESPACE}:app.name" in message
    assert token not in message


# ---------------------------------------------------------------------------------------------
# Valid but unusual configs: accepted, and the graph breaks no mandatory policy

ENDPOINTS_WITHOUT_NAT = list(APP_NODE_ENDPOINTS)  # what the settings require without NAT
MANDATORY = [rule for rule in RULES if rule.enforcement is Enforcement.MANDATORY]


@st.composite
def unusual_configs(draw):
    prefix = draw(st.integers(16, 22))
    network = {
        "cidr": f"10.{draw(st.integers(64, 127))}.0.0/{prefix}",
        "az_count": draw(st.integers(2, 6)),
        "peer_cidrs": [],
        "nat": draw(st.sampled_from(["none", "single", "per_az"])),
    }
    network["interface_endpoints"] = ENDPOINTS_WITHOUT_NAT if network["nat"] == "none" else []
    return {
        "network": network,
        "cluster": {"discovery": draw(st.sampled_from(["shared", "per_slot"]))},
        "pubsub": {"adapter": draw(st.sampled_from(["erlang", "redis"]))},
    }


def unusual(network: dict, discovery: str, adapter: str) -> dict:
    return {"network": network, "cluster": {"discovery": discovery}, "pubsub": {"adapter": adapter}}


@GRAPH
@given(unusual_configs())
@example(
    unusual(
        {
            "cidr": "10.99.0.0/22",
            "az_count": 6,
            "peer_cidrs": [],
            "nat": "none",
            "interface_endpoints": ENDPOINTS_WITHOUT_NAT,
        },
        "per_slot",
        "redis",
    )
)
def test_a_valid_but_unusual_config_builds_a_graph_that_breaks_no_mandatory_policy(overrides):
    config = mocks.with_overrides(PROD_CONFIG, **overrides)
    load_settings(raw_config_from_pulumi(config))  # accepted by the settings first
    run = mocks.run_main(config, stack="unusual")
    violations = evaluate(resources_of(run.resources), Context("unusual"), MANDATORY)
    assert not violations, "\n".join(
        f"{v.rule} ({v.resource_name}): {v.message}" for v in violations
    )


def test_a_secret_section_stays_secret_in_the_resources_it_reaches():
    """`pulumi config set --secret` on `phoenix-aws:app` and `phoenix-aws:tags`: the values they
    hand to resources (the task definitions' environment and secrets, every resource's tags)
    stay secret in the state, never plain text."""
    config = with_value(("tags",), {"team": "web", "owner": "s3cr3t-owner"})
    run = mocks.run(
        lambda: runpy.run_path(str(mocks.ROOT / "__main__.py"), run_name="__main__"),
        full_config(config),
        stack="secret",
        secret_keys=[f"{NAMESPACE}:app", f"{NAMESPACE}:tags"],
    )
    tasks = run.of_type("aws:ecs/taskDefinition:TaskDefinition")
    assert tasks and all("containerDefinitions" in t.secret_inputs for t in tasks)
    tagged = [r for r in run.resources if r.custom and (r.get("tags") or {}).get("owner")]
    assert len(tagged) > 20
    for resource in tagged:
        assert mocks.contains_secret_marker(resource.raw_inputs["tags"]), resource.name
