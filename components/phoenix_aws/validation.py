"""Checks every component shares: its args dict, and AWS rules that are not one service's own.

Each `check_*` function raises `ValueError` with a message in plain words that does not repeat the
key (the caller knows it): the stack settings report it against the config key, a component
against its arg (`ComponentArgError`). Values that are not known yet (Pulumi `Output`s) are
skipped, never guessed at.
"""

import difflib
import functools
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pulumi


class ComponentArgError(pulumi.RunError, ValueError):
    """A component was given an arg it does not know or a value AWS would refuse.

    A `pulumi.RunError`, so `pulumi up` prints the message without a Python traceback.
    """


def is_known(value: Any) -> bool:
    """False for values only known at deployment time (Outputs, awaitables)."""
    return not isinstance(value, pulumi.Output) and not hasattr(value, "__await__")


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of `choices` to a misspelt `word`, if any is close enough."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_key_hint(key: str, valid: Iterable[str]) -> str:
    """`did you mean 'x'?` or the list of valid keys."""
    valid = sorted(valid)
    guess = nearest(key, valid)
    return f"did you mean {guess!r}?" if guess else f"valid keys: {', '.join(valid)}"


def check_args(component: str, name: str, args: Mapping[str, Any], spec: type) -> None:
    """Refuse keys of `args` that the TypedDict `spec` does not declare, and missing required
    keys, so a typo such as `cidr_blok` fails instead of silently falling back to a default."""
    if not isinstance(args, Mapping):
        raise ComponentArgError(f"{component} {name!r}: args must be a dict, got {type(args)}")
    declared = set(spec.__required_keys__) | set(spec.__optional_keys__)  # type: ignore[attr-defined]
    problems = [
        f"unknown arg {key!r}; {unknown_key_hint(key, declared)}"
        for key in args
        if key not in declared
    ]
    problems += [
        f"missing required arg {key!r}"
        for key in sorted(getattr(spec, "__required_keys__", ()))
        if key not in args
    ]
    if problems:
        raise ComponentArgError(f"{component} {name!r}: " + "; ".join(problems))


def arg_error(component: str, name: str, key: str, message: str) -> ComponentArgError:
    """The error for a component's arg: `<Component> '<name>': arg '<key>': <message>`."""
    return ComponentArgError(f"{component} {name!r}: arg {key!r}: {message}")


def check_arg(component: str, name: str, key: str, value: Any, rule: Callable[[Any], Any]) -> None:
    """Apply `rule` to a known `value`; report its ValueError against the component's arg."""
    if value is None or not is_known(value):
        return
    try:
        rule(value)
    except ValueError as exc:
        raise arg_error(component, name, key, str(exc)) from None


# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy, retentionInDays):
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
LOG_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731),
    *(1096, 1827, 2192, 2557, 2922, 3288, 3653),
)


def check_log_retention(days: int) -> int:
    """A retention CloudWatch Logs accepts (see LOG_RETENTION_DAYS)."""
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(
            "CloudWatch Logs keeps logs for one of "
            + ", ".join(map(str, LOG_RETENTION_DAYS))
            + " days"
        )
    return days


# Tags: https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions
MAX_TAGS_PER_RESOURCE = 50
"""User-applied tags per resource (tags starting with `aws:` are AWS's and do not count)."""
COMPONENT_TAGS = 2
"""Tags a component adds to one resource at most besides those it is given (`Name` and `Tier` on
a subnet, `Name` and `phoenix-aws:nat` on the NAT instance, `phoenix-aws:slot` on a slot's)."""
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
_TAG_PUNCTUATION = set("_.:/=+-@")


def _tag_characters_ok(text: str) -> bool:
    """Letters, numbers and spaces representable in UTF-8, and `_ . : / = + - @`."""
    return all(
        c.isalpha()
        or c.isnumeric()
        or unicodedata.category(c).startswith("Z")
        or c in _TAG_PUNCTUATION
        for c in text
    )


def check_tags(tags: Mapping[str, str], *, others: int = COMPONENT_TAGS) -> Mapping[str, str]:
    """Tags AWS accepts on every resource they reach: keys of 1-128 and values of at most 256
    characters, of letters, numbers, spaces and `_ . : / = + - @`, keys not starting with
    `aws:` (AWS's own), and with the `others` tags that are added to the same resource at most
    50 in all (the per-resource limit).
    https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions"""
    if not isinstance(tags, Mapping):
        raise ValueError("expected a map of tag keys to values")
    if len(tags) + others > MAX_TAGS_PER_RESOURCE:
        raise ValueError(
            f"{len(tags)} tags, and {others} more reach the same resources; AWS allows "
            f"{MAX_TAGS_PER_RESOURCE} per resource, so give at most "
            f"{max(0, MAX_TAGS_PER_RESOURCE - others)}"
        )
    for key, value in tags.items():
        key_text = str(key)
        if key_text.lower().startswith("aws:"):
            raise ValueError(
                f"tag key {short(key_text)} starts with 'aws:', which AWS reserves for itself"
            )
        if not 1 <= len(key_text) <= TAG_KEY_MAX:
            raise ValueError(f"tag key {short(key_text)} must be 1-{TAG_KEY_MAX} characters")
        if not _tag_characters_ok(key_text):
            raise ValueError(
                f"tag key {short(key_text)} may hold only letters, digits, spaces and "
                "_ . : / = + - @"
            )
        if not is_known(value):
            continue
        if not isinstance(value, str):
            raise ValueError(f"the value of tag {short(key_text)} must be text")
        if len(value) > TAG_VALUE_MAX:
            raise ValueError(
                f"the value of tag {short(key_text)} is longer than {TAG_VALUE_MAX} characters"
            )
        if not _tag_characters_ok(value):
            raise ValueError(
                f"the value of tag {short(key_text)} may hold only letters, digits, spaces and "
                "_ . : / = + - @"
            )
    return tags


def short(value: Any, limit: int = 60) -> str:
    """`repr(value)`, cut to about `limit` characters (long values never flood a message)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def check_distinct(values: Iterable[Any], key: Callable[[Any], Any] = lambda v: v) -> None:
    """Each entry once: a repeated entry would become a second resource of the same name (which
    the engine refuses) or a duplicate AWS refuses. Raises naming the first repeated entry."""
    seen: dict[Any, Any] = {}
    for value in values:
        k = key(value)
        if k in seen:
            same = "" if seen[k] == value else f" (the same as {short(seen[k])})"
            raise ValueError(f"{short(value)} is listed more than once{same}")
        seen[k] = value


def check_cidr(value: str, *, version: int | None = None) -> str:
    """A network in CIDR notation (`10.0.0.0/16`), normalised. A bare address is refused with the
    /32 (or /128) it probably means, so nobody opens a whole range by accident."""
    text = str(value).strip()
    if "/" not in text:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise ValueError("expected a network in CIDR notation, e.g. 203.0.113.0/24") from None
        bits = 32 if address.version == 4 else 128
        raise ValueError(f"a single address needs a prefix length: write {text}/{bits}")
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError("expected a network in CIDR notation, e.g. 203.0.113.0/24") from None
    if network.network_address != ipaddress.ip_interface(text).ip:
        raise ValueError(f"has host bits set; the network is {network.with_prefixlen}")
    if version is not None and network.version != version:
        raise ValueError(f"expected an IPv{version} network")
    return network.with_prefixlen


def check_cidr_list(cidrs: list[str]) -> list[str]:
    """A list of networks in CIDR notation (peer networks, operator CIDRs, allow lists), each
    once (`10.0.0.0/8` and `10.0.0.0/08` are the same network); the message names the entry that
    is wrong."""
    if isinstance(cidrs, str) or not isinstance(cidrs, list | tuple):
        raise ValueError("expected a list of networks in CIDR notation")
    for cidr in cidrs:
        try:
            check_cidr(cidr)
        except ValueError as exc:
            raise ValueError(f"{short(cidr)}: {exc}") from None
    check_distinct(cidrs, key=check_cidr)
    return cidrs


# ARNs: arn:<partition>:<service>:<region>:<account>:<resource>
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
_ARN = re.compile(r"arn:(aws|aws-cn|aws-us-gov):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws|):(.+)")


def check_arn(
    value: str,
    *,
    service: str | tuple[str, ...],
    resource: str | tuple[str, ...],
    what: str,
    regional: bool = True,
    example: str,
) -> str:
    """An ARN of the given service and resource type, complete (partition, region where the
    service is regional, 12-digit account, resource id)."""
    services = (service,) if isinstance(service, str) else service
    resources = (resource,) if isinstance(resource, str) else resource
    match = _ARN.fullmatch(str(value))
    if not match:
        raise ValueError(f"expected the full ARN of {what}, e.g. {example}")
    _, svc, region, account, rest = match.groups()
    if svc not in services:
        raise ValueError(f"this is an ARN of {svc}, expected one of {what}, e.g. {example}")
    if regional and not region:
        raise ValueError(f"the ARN has no region; expected e.g. {example}")
    if not account:
        raise ValueError(f"the ARN has no account; expected e.g. {example}")
    if not any(rest.startswith(r) and len(rest) > len(r) for r in resources):
        raise ValueError(f"expected the ARN of {what}, e.g. {example}")
    return value


PACKAGE = "phoenix-aws"
# Type tokens of phoenix-aws 0.1 (`phoenix-aws:components:<Name>`): kept as aliases, so stacks
# deployed with it keep their URNs (nothing is replaced) after the move to `<package>:index:`.
LEGACY_MODULE = "components"


def component_type(class_name: str) -> str:
    """`phoenix-aws:index:<Name>`: the type token Pulumi's component provider host expects, so
    the same classes serve Python programs and `pulumi package add` users alike."""
    return f"{PACKAGE}:index:{class_name}"


def with_legacy_alias(
    class_name: str, opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """`opts` plus an alias for the component's 0.1 type token."""
    legacy = pulumi.ResourceOptions(
        aliases=[pulumi.Alias(type_=f"{PACKAGE}:{LEGACY_MODULE}:{class_name}")]
    )
    return pulumi.ResourceOptions.merge(opts, legacy)


# Regions and partitions, from the endpoint data botocore ships (the AWS SDK's own table):
# https://docs.aws.amazon.com/general/latest/gr/rande.html
@functools.cache
def _partitions() -> dict[str, dict[str, Any]]:
    import botocore.loaders

    data = botocore.loaders.create_loader().load_data("endpoints")
    return {p["partition"]: p for p in data["partitions"]}


def known_regions() -> dict[str, str]:
    """Every Region this installation knows → its partition (`aws`, `aws-cn`, `aws-us-gov`…)."""
    return {region: name for name, p in _partitions().items() for region in p["regions"]}


def partition_of(region: str) -> tuple[str, str]:
    """(partition, DNS suffix) of `region`: `("aws-cn", "amazonaws.com.cn")` for cn-north-1."""
    for name, p in _partitions().items():
        if region in p["regions"] or re.fullmatch(p["regionRegex"], region):
            return name, p["dnsSuffix"]
    return "aws", "amazonaws.com"


def check_region(region: str) -> str:
    """A Region AWS has (e.g. eu-west-1, cn-north-1, us-gov-west-1); a misspelt one is named with
    the nearest real Region. A Region newer than the installed AWS SDK needs a newer boto3."""
    regions = known_regions()
    if region in regions:
        return region
    guess = nearest(str(region), regions)
    hint = f"did you mean {guess!r}?" if guess else "e.g. eu-west-1 or us-east-1"
    raise ValueError(f"{short(region)} is not an AWS Region; {hint}")
