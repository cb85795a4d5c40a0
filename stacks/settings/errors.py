"""Config errors in plain words: `phoenix-aws:<key path>: <what is wrong> (got <value>)`.

No raw regexes, no class names, no value repeated when the message already shows it, long values
cut, and never a secret value: not the value of a Pulumi secret section or of anything under
`app.secrets`, not in the `(got …)` part and not inside a message a rule built from the value
(any run of it is cut out), not for an unknown key (a misspelt `secrets:` holds secrets) and not
for a section given as plain text where a group of settings belongs.
"""

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from typing import Any

import pulumi
from phoenix_aws.cluster import check_secret_reference
from phoenix_aws.validation import unknown_key_hint
from pydantic import BaseModel, ValidationError

from .base import NAMESPACE, FieldError

# Values under these config paths are secrets or point at them: never shown.
SECRET_PATHS: tuple[tuple[str, ...], ...] = (("app", "secrets"),)
# Maps whose values may be secrets put in the wrong place: only their keys are shown.
KEYS_ONLY_PATHS: tuple[tuple[str, ...], ...] = (("app", "env"), ("image", "build_args"), ("tags",))
HIDDEN = "a value that is not shown"
CUT = "…"
# Quoted text in a message longer than this is cut (a 5,000-character value never floods a log).
QUOTED_MAX = 60
# A run of a secret this long (or the whole secret, if shorter) is never shown: shorter runs
# reveal little and would erase ordinary words (an env name, an example ARN).
SECRET_RUN = 10
SECRET_MIN = 4


class ConfigError(pulumi.RunError):
    """Stack config is invalid. Raised before any resource is registered.

    A `pulumi.RunError`, so the CLI prints the message without a Python traceback.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack config:\n  " + "\n  ".join(problems))


def describe(
    exc: ValidationError,
    model: type[BaseModel],
    secret_keys: frozenset[str] = frozenset(),
    raw: Mapping[str, Any] | None = None,
) -> list[str]:
    """One plain line per problem in `exc` (a validation of `model` of the config `raw`)."""
    secrets = secret_texts(raw or {}, secret_keys)
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        ctx_error = (error.get("ctx") or {}).get("error")
        if isinstance(ctx_error, FieldError):
            full = loc + ctx_error.loc
            problems.append(
                line(full, ctx_error.message, ctx_error.value, secret_keys, secrets=secrets)
            )
            continue
        message = plain_message(error, model, loc)
        problems.append(
            line(loc, message, error.get("input"), secret_keys, kind=error["type"], secrets=secrets)
        )
    return list(dict.fromkeys(problems))


def line(
    loc: tuple[str | int, ...],
    message: str,
    value: Any,
    secret_keys: frozenset[str] = frozenset(),
    kind: str = "",
    secrets: Iterable[str] = (),
) -> str:
    path = ".".join(_key(p) for p in loc)
    hidden = [*secrets, *(secret_texts_in(value) if is_secret(loc, secret_keys) else [])]
    prefix = f"{NAMESPACE}:{path}: {scrub(cut_quoted(message), hidden)}"
    if kind in ("missing", "extra_forbidden") or (
        kind == "string_type" and isinstance(value, int | float)
    ):
        # Nothing given; an unknown key (a misspelt `secrets:` holds secrets, so its value is
        # never shown); or the message already quotes the number.
        return one_line(prefix)
    shown = show(value, loc, secret_keys)
    if shown != HIDDEN and _named_in(value, message):
        return one_line(prefix)  # the message already names the value
    return one_line(f"{prefix} (got {scrub(shown, hidden)})")


def one_line(text: str) -> str:
    """A problem is one line: control characters a value brought in are shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def secret_texts(raw: Mapping[str, Any], secret_keys: Iterable[str]) -> list[str]:
    """Every text of the config that is a secret: all of a Pulumi secret section, and the values
    under `app.secrets` (wherever it is reached from)."""
    found: list[str] = []
    for key in secret_keys:
        found.extend(secret_texts_in(raw.get(key)))
    for path in SECRET_PATHS:
        node: Any = raw
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        values = node.values() if isinstance(node, Mapping) else node
        # A reference (a secret's ARN) is no secret; anything else there is one pasted in.
        found.extend(text for text in secret_texts_in(values) if not _is_reference(text))
    return found


def _is_reference(text: str) -> bool:
    try:
        check_secret_reference(text)
    except ValueError:
        return False
    return True


def secret_texts_in(value: Any) -> Iterator[str]:
    """The texts (and numbers, as text) inside a value, at any depth."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield str(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from secret_texts_in(item)
    elif isinstance(value, Iterable):
        for item in value:
            yield from secret_texts_in(item)


def scrub(message: str, secrets: Iterable[str]) -> str:
    """`message` with every run of a secret cut out: runs of SECRET_RUN characters or more (the
    whole secret if it is shorter), case-insensitive, so a rule that quotes a secret, a part of
    it or its lower-case form shows none of it. Secrets shorter than SECRET_MIN are left alone
    (they would erase ordinary words)."""
    for secret in sorted({s for s in secrets if len(s) >= SECRET_MIN}, key=len, reverse=True):
        lowered = secret.lower()
        run = min(len(secret), SECRET_RUN)
        out, i = [], 0
        while i < len(message):
            j = i
            while j < len(message) and message[i : j + 1].lower() in lowered:
                j += 1
            if j - i >= run:
                out.append(CUT)
                i = j
            else:
                out.append(message[i])
                i += 1
        message = "".join(out)
    return message


def cut_quoted(message: str) -> str:
    """Quoted values longer than QUOTED_MAX characters, cut."""
    return re.sub(
        r"'([^']{" + str(QUOTED_MAX + 1) + r",})'",
        lambda m: f"'{m.group(1)[: QUOTED_MAX - 3]}...'",
        message,
    )


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
    if isinstance(value, dict) and tuple(map(str, loc)) in KEYS_ONLY_PATHS:
        text = "{" + ", ".join(f"{_key(k)}: …" for k in value) + "}"
        return text if len(text) <= 120 else text[:116] + "...}"
    if isinstance(value, str):
        return cut_quoted(repr(value))
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):  # pragma: no cover
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _key(key: Any) -> str:
    text = str(key)
    return text if text.isprintable() and len(text) <= QUOTED_MAX else cut_quoted(repr(text))


def _holds_secrets(loc: tuple[str | int, ...], value: Any) -> bool:
    """A whole section that holds a secret path (e.g. `app` itself), given as a value of any
    kind: a group of settings, or plain text pasted where the group belongs."""
    for path in SECRET_PATHS:
        if tuple(map(str, loc)) == path[: len(loc)] and len(loc) < len(path):
            return value is not None
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
