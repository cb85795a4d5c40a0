"""The validated settings of one stack: the only place that reads Pulumi stack config.

`load_settings` turns the raw `phoenix-aws:*` config map into a frozen `StackSettings`, or raises
`ConfigError` listing every problem as `phoenix-aws:<path>: <what is wrong> (got <value>)`.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
from collections.abc import Mapping
from enum import Enum, StrEnum
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from components.network import KNOWN_INTERFACE_ENDPOINTS, MAX_AZS, NatStrategy, plan_subnets

NAMESPACE = "phoenix-aws"

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


class ConfigError(pulumi.RunError):
    """Stack config is invalid. Raised before any resource is registered.

    A `pulumi.RunError`, so the CLI prints the message without a Python traceback.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack config:\n  " + "\n  ".join(problems))


class Stage(StrEnum):
    """What a stack is for. Only cost defaults differ by stage; safety is opted out explicitly."""

    PRODUCTION = "production"
    DEVELOPMENT = "development"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


def _parse_cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise ValueError(f"not a valid IPv4/IPv6 CIDR: {exc}") from None


class NetworkSettings(_Frozen):
    """`phoenix-aws:network`: the VPC."""

    cidr: str = "10.0.0.0/16"
    """VPC CIDR, /16 to /22."""
    az_count: int = Field(default=3, ge=2, le=MAX_AZS)
    """Availability zones used. Default 3 (production), 2 (development)."""
    availability_zones: list[str] | None = None
    """Pin AZ names instead of taking the region's first `az_count`."""
    nat: NatStrategy = NatStrategy.PER_AZ
    """none | single | per_az | instance. Default per_az (production), instance (development)."""
    nat_instance_type: str = "t4g.nano"
    interface_endpoints: list[str] = []
    """Interface endpoints in the private subnets, e.g. [ecr.api, ecr.dkr, logs, secretsmanager]."""
    enable_flow_logs: bool = True
    flow_logs_retention_days: int = 90
    peer_cidrs: list[str] = []
    """Networks this VPC is or will be connected to (peering, VPN, TGW); must not overlap `cidr`."""

    @field_validator("cidr")
    @classmethod
    def _cidr_plans(cls, value: str) -> str:
        value = _parse_cidr(value)
        try:
            plan_subnets(value, 1)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("peer_cidrs")
    @classmethod
    def _peer_cidrs_parse(cls, values: list[str]) -> list[str]:
        return [_parse_cidr(v) for v in values]

    @field_validator("availability_zones")
    @classmethod
    def _at_least_two_azs(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        if len(values) < 2:
            raise ValueError(
                "at least two availability zones are needed, so one AZ outage is not an outage"
            )
        if len(values) > MAX_AZS:
            raise ValueError(f"at most {MAX_AZS} availability zones are supported")
        if len(set(values)) != len(values):
            raise ValueError("availability zones must be distinct")
        return values

    @field_validator("interface_endpoints")
    @classmethod
    def _known_endpoints(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in KNOWN_INTERFACE_ENDPOINTS]
        if unknown:
            raise ValueError(
                f"unknown endpoint {unknown[0]!r}; "
                f"expected one of {', '.join(KNOWN_INTERFACE_ENDPOINTS)}"
            )
        return values

    @field_validator("flow_logs_retention_days")
    @classmethod
    def _valid_retention(cls, value: int) -> int:
        return _check_retention(value)

    @model_validator(mode="after")
    def _no_overlap(self) -> NetworkSettings:
        vpc = ipaddress.ip_network(self.cidr)
        for peer in self.peer_cidrs:
            other = ipaddress.ip_network(peer)
            if vpc.version == other.version and vpc.overlaps(other):  # type: ignore[arg-type]
                raise _FieldError(
                    ("peer_cidrs",), f"{peer} overlaps the VPC CIDR {self.cidr}", self.peer_cidrs
                )
        return self

    @property
    def effective_az_count(self) -> int:
        return len(self.availability_zones) if self.availability_zones else self.az_count


def _check_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"CloudWatch Logs retention must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    return value


class _FieldError(ValueError):
    """A cross-field problem that belongs to one field (so the message names that path)."""

    def __init__(self, loc: tuple[str | int, ...], message: str, value: Any) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.value = value


# Defaults that differ by stage. Only cost, never safety.
STAGE_DEFAULTS: dict[Stage, dict[str, dict[str, Any]]] = {
    Stage.PRODUCTION: {"network": {"az_count": 3, "nat": "per_az"}},
    Stage.DEVELOPMENT: {"network": {"az_count": 2, "nat": "instance"}},
}


class StackSettings(_Frozen):
    """Everything under the `phoenix-aws:` namespace of a stack file."""

    stage: Stage = Stage.PRODUCTION
    """production | development. Development only changes cost defaults (2 AZs, NAT instance)."""
    network: NetworkSettings = NetworkSettings()
    tags: dict[str, str] = {}
    """Tags added to every taggable resource."""

    @model_validator(mode="before")
    @classmethod
    def _stage_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        try:
            stage = Stage(data.get("stage", Stage.PRODUCTION))
        except ValueError:
            return data  # the field validator reports the bad stage
        merged = dict(data)
        for section, defaults in STAGE_DEFAULTS[stage].items():
            given = merged.get(section, {})
            if isinstance(given, dict):
                merged[section] = {**defaults, **given}
        return merged


def load_settings(raw: Mapping[str, Any]) -> StackSettings:
    """Validate a raw config map (keys without the namespace, values parsed) into settings."""
    try:
        return StackSettings.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, raw)) from None
    except _FieldError as exc:  # pragma: no cover - pydantic wraps these as ValidationError
        raise ConfigError([_line(exc.loc, exc.message, exc.value)]) from None


def raw_config_from_pulumi(config: Mapping[str, Any], namespace: str = NAMESPACE) -> dict[str, Any]:
    """Pick the `namespace:` keys out of a full Pulumi config map and parse JSON values."""
    raw: dict[str, Any] = {}
    prefix = f"{namespace}:"
    for key, value in config.items():
        if key.startswith(prefix):
            raw[key[len(prefix) :]] = _parse_value(value)
    return raw


def settings_from_pulumi() -> StackSettings:
    """Load and validate the current stack's config from the Pulumi runtime."""
    from pulumi.runtime import config as runtime_config

    full = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return load_settings(raw_config_from_pulumi(full))


def _parse_value(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _describe(exc: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        ctx_error = (error.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _FieldError):
            problems.append(_line(loc + ctx_error.loc, ctx_error.message, ctx_error.value))
            continue
        if error["type"] == "extra_forbidden":
            problems.append(_line(loc, _unknown_key_message(loc), error["input"]))
            continue
        message = error["msg"].removeprefix("Value error, ")
        problems.append(_line(loc, message, error.get("input")))
    return problems


def _line(loc: tuple[str | int, ...], message: str, value: Any) -> str:
    path = ".".join(str(p) for p in loc)
    return f"{NAMESPACE}:{path}: {message} (got {_show(value)})"


def _show(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value, default=str)
    except TypeError:  # pragma: no cover
        return repr(value)


def _unknown_key_message(loc: tuple[str | int, ...]) -> str:
    valid = _fields_at(StackSettings, loc[:-1])
    key = str(loc[-1])
    guess = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"; did you mean {guess[0]!r}?" if guess else f"; valid keys: {', '.join(sorted(valid))}"
    return f"unknown key{hint}"


def _fields_at(model: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
    """Field names of the (nested) model found at `path` below `model`."""
    current: Any = model
    for part in path:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            current = _unwrap(current)
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = _unwrap(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """The model class inside `X | None`, `list[X]` or `dict[str, X]`, else the annotation."""
    for arg in getattr(annotation, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = _unwrap(arg)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return annotation
