"""Reading a stack's config: values through `pulumi.Config` (the public API), the list of keys
from the config the Pulumi language host passes the program (`PULUMI_CONFIG`), so keys we do not
read — typos, a near-miss namespace — are refused instead of ignored."""

import difflib
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi
from phoenix_aws.validation import check_region, check_tags, unknown_key_hint
from pydantic import ValidationError

from .base import NAMESPACE
from .errors import ConfigError, describe, line
from .stack import StackSettings

# Namespaces of providers a stack file may configure besides ours.
OTHER_NAMESPACES = {"aws", "pulumi", "docker", "command", "random", "tls"}


def load_settings(
    raw: Mapping[str, Any],
    *,
    region: str | None = None,
    secret_keys: Iterable[str] = (),
    default_tags: Mapping[str, str] | None = None,
) -> StackSettings:
    """Validate a raw config map (keys without the namespace, values parsed) into settings, or
    raise ConfigError listing every problem in plain words. `default_tags` are the provider's
    (`aws:defaultTags`): they reach every resource too, so they count against its tag limit."""
    context = {"region": region, "default_tags": dict(default_tags or {})}
    try:
        settings = StackSettings.model_validate(dict(raw), context=context)
    except ValidationError as exc:
        raise ConfigError(describe(exc, StackSettings, frozenset(secret_keys), raw)) from None
    settings._secret_sections = frozenset(secret_keys)
    return settings


def provider_problems(config: Mapping[str, Any]) -> list[str]:
    """What the AWS provider's own config (`aws:` keys) holds that AWS would refuse: a Region that
    does not exist (unless `aws:skipRegionValidation`), default tags AWS refuses."""
    problems = []
    region = config.get("aws:region")
    if region and str(config.get("aws:skipRegionValidation")).lower() != "true":
        try:
            check_region(str(region))
        except ValueError as exc:
            problems.append(f"aws:region: {exc}")
    tags = _default_tags(config)
    try:
        check_tags(tags, others=0)
    except ValueError as exc:
        problems.append(f"aws:defaultTags: {exc}")
    return problems


def _default_tags(config: Mapping[str, Any]) -> dict[str, str]:
    """The tags of `aws:defaultTags` (`{tags: {key: value}}`)."""
    value = _parse(config.get("aws:defaultTags"))
    tags = value.get("tags") if isinstance(value, Mapping) else None
    return dict(tags) if isinstance(tags, Mapping) else {}


def check_stack_config(config: Mapping[str, Any]) -> StackSettings:
    """A stack file's whole `config:` map (namespaced keys, as the file has them) checked as the
    program checks it — the Region, unknown keys, every setting — for commands that read the file
    without running the program; ConfigError with every problem."""
    problems = region_problems(config.get("aws:region"))
    problems += key_problems(config, config)
    refused = provider_problems(config)
    problems += refused
    region = None if any(p.startswith("aws:region") for p in refused) else config.get("aws:region")
    try:
        settings = load_settings(
            raw_config_from_pulumi(config), region=region, default_tags=_default_tags(config)
        )
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems) from None
    if problems:
        raise ConfigError(problems)
    return settings


def region_problems(region: str | None) -> list[str]:
    """`aws:region` must be in the stack file: the Region decides the availability zones, the
    endpoints' service names and the prices, so it is never left to the environment."""
    if region:
        return []
    return [
        "aws:region: required, not set: the AWS Region every resource of the stack is created "
        "in, e.g. eu-west-1 (write `aws:region: eu-west-1` under `config:` in the stack file, or "
        "`pulumi config set aws:region eu-west-1`)"
    ]


def key_problems(keys: Iterable[str], values: Mapping[str, Any] | None = None) -> list[str]:
    """Config keys that would be ignored: unknown keys of our namespace, and keys under a
    namespace that is nearly ours (`phoenix_aws:`, `phoenix-awz:`)."""
    values = values or {}
    fields = list(StackSettings.model_fields)
    problems = []
    for key in keys:
        namespace, _, name = key.partition(":")
        if not name:
            continue
        if namespace == NAMESPACE:
            if name.split(".")[0] not in fields:
                # An unknown key never shows its value: a misspelt `secrets` holds secrets.
                problems.append(
                    line(
                        (name,),
                        f"unknown key; {unknown_key_hint(name, fields)}",
                        values.get(key),
                        kind="extra_forbidden",
                    )
                )
        elif namespace not in OTHER_NAMESPACES and _nearly_ours(namespace):
            problems.append(
                f"{key}: the namespace {namespace!r} is not read; this project's settings live "
                f"under {NAMESPACE!r}: write {NAMESPACE}:{name}"
            )
    return problems


def _nearly_ours(namespace: str) -> bool:
    squashed = re.sub(r"[^a-z0-9]", "", namespace.lower())
    if squashed == re.sub(r"[^a-z0-9]", "", NAMESPACE):
        return True
    return difflib.SequenceMatcher(None, namespace.lower(), NAMESPACE).ratio() >= 0.8


def raw_config_from_pulumi(config: Mapping[str, Any]) -> dict[str, Any]:
    """Our namespace's keys of a full config map (a stack file's `config:`), values parsed."""
    prefix = f"{NAMESPACE}:"
    return {
        key[len(prefix) :]: _parse(value) for key, value in config.items() if key.startswith(prefix)
    }


def host_config() -> tuple[dict[str, Any], list[str]]:
    """The whole config map and the secret keys, as the language host passes them."""
    try:
        config = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
        secret = json.loads(os.environ.get("PULUMI_CONFIG_SECRET_KEYS") or "[]")
    except ValueError:  # pragma: no cover - the host always passes JSON
        return {}, []
    return dict(config), list(secret)


def settings_from_pulumi() -> StackSettings:
    """Load and validate the current stack's config; ConfigError before any resource."""
    config = pulumi.Config(NAMESPACE)
    everything, _ = host_config()
    raw: dict[str, Any] = {}
    for name in StackSettings.model_fields:
        value = config.get(name)
        if value is not None:
            raw[name] = _parse(value)
    region = pulumi.Config("aws").get("region")
    problems = region_problems(region)
    problems += key_problems(everything, {k: _parse(v) for k, v in everything.items()})
    refused = provider_problems(everything)
    problems += refused
    try:
        settings = load_settings(
            raw,
            # A Region refused above is not checked against the zones again.
            region=None if any(p.startswith("aws:region") for p in refused) else region,
            secret_keys=secret_sections(),
            default_tags=_default_tags(everything),
        )
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems) from None
    if problems:
        raise ConfigError(problems)
    return settings


def secret_sections() -> frozenset[str]:
    """Top-level keys of our namespace the stack file holds as Pulumi secrets."""
    _, secret = host_config()
    names = {key.partition(":")[2] for key in secret if key.startswith(f"{NAMESPACE}:")}
    names |= {
        name
        for name in StackSettings.model_fields
        if pulumi.runtime.is_config_secret(f"{NAMESPACE}:{name}")
    }
    return frozenset(names)


def _parse(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
