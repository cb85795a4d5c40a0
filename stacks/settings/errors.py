"""Config errors in plain words: `phoenix-aws:<key path>: <what is wrong> (got <value>)`.

No raw regexes, no class names, no value repeated when the message already shows it, and never a
secret value (Pulumi secret config, anything under `app.secrets`).
"""

import json
from enum import Enum
from typing import Any

import pulumi
from phoenix_aws.validation import unknown_key_hint
from pydantic import BaseModel, ValidationError

from .base import NAMESPACE, FieldError

# Values under these config paths are secrets or point at them: never shown.
SECRET_PATHS: tuple[tuple[str, ...], ...] = (("app", "secrets"),)
HIDDEN = "a value that is not shown"


class ConfigError(pulumi.RunError):
    """Stack config is invalid. Raised before any resource is registered.

    A `pulumi.RunError`, so the CLI prints the message without a Python traceback.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack config:\n  " + "\n  ".join(problems))


def describe(
    exc: ValidationError, model: type[BaseModel], secret_keys: frozenset[str] = frozenset()
) -> list[str]:
    """One plain line per problem in `exc` (a validation of `model`)."""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        ctx_error = (error.get("ctx") or {}).get("error")
        if isinstance(ctx_error, FieldError):
            full = loc + ctx_error.loc
            problems.append(line(full, ctx_error.message, ctx_error.value, secret_keys))
            continue
        message = plain_message(error, model, loc)
        problems.append(line(loc, message, error.get("input"), secret_keys, kind=error["type"]))
    return list(dict.fromkeys(problems))


def line(
    loc: tuple[str | int, ...],
    message: str,
    value: Any,
    secret_keys: frozenset[str] = frozenset(),
    kind: str = "",
) -> str:
    path = ".".join(str(p) for p in loc)
    prefix = f"{NAMESPACE}:{path}: {message}"
    if kind == "missing" or (kind == "string_type" and isinstance(value, int | float)):
        return prefix  # nothing given, or the message already quotes the number
    shown = show(value, loc, secret_keys)
    if shown != HIDDEN and _named_in(value, message):
        return prefix  # the message already names the value
    return f"{prefix} (got {shown})"


def _named_in(value: Any, message: str) -> bool:
    """Whether `message` already shows `value` (text, or every item of a list of text)."""
    if isinstance(value, str):
        return repr(value) in message or (len(value) > 3 and value in message)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return all(_named_in(v, message) for v in value)
    return False


def is_secret(loc: tuple[str | int, ...], secret_keys: frozenset[str]) -> bool:
    if loc and str(loc[0]) in secret_keys:
        return True
    return any(tuple(map(str, loc[: len(p)])) == p for p in SECRET_PATHS)


def show(
    value: Any, loc: tuple[str | int, ...] = (), secret_keys: frozenset[str] = frozenset()
) -> str:
    if is_secret(loc, secret_keys) or _holds_secrets(loc, value):
        return HIDDEN
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return repr(value)
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):  # pragma: no cover
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _holds_secrets(loc: tuple[str | int, ...], value: Any) -> bool:
    """A whole section given as a value that contains a secret path (e.g. `app` itself)."""
    for path in SECRET_PATHS:
        if tuple(map(str, loc)) == path[: len(loc)] and len(loc) < len(path):
            return isinstance(value, dict)
    return False


def plain_message(error: Any, model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    """Pydantic's message, rewritten where it names a class, a regex or a Python type."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "required, not set"
    if kind == "extra_forbidden":
        return f"unknown key; {unknown_key_hint(str(loc[-1]), fields_at(model, loc[:-1]))}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "expected a group of settings (key: value pairs)"
    if kind in ("string_type",):
        if isinstance(value, bool):
            return "expected text, got true/false"
        if isinstance(value, int | float):
            return f"expected text: YAML read {value!r} as a number; write it in quotes: '{value}'"
        return "expected text"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "expected a whole number"
    if kind in ("bool_type", "bool_parsing"):
        return "expected true or false"
    if kind in ("list_type", "tuple_type", "set_type"):
        return "expected a list"
    if kind in ("float_type", "float_parsing"):
        return "expected a number"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "greater_than":
        return f"must be more than {ctx.get('gt')}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} item(s)"
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"expected one of {expected.replace(' or ', ', ')}"
    if kind == "string_pattern_mismatch":  # pragma: no cover - fields use rules, not patterns
        return "has the wrong form"
    message = str(error.get("msg", "is not valid"))
    return message.removeprefix("Value error, ")


def fields_at(model: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
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
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = _unwrap(arg)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return annotation
