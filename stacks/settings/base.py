"""What every settings section shares: a frozen model that refuses unknown keys, and the bridge
from a component's rule (a `check_*` function raising ValueError) to a field validator."""

import functools
from collections.abc import Callable
from typing import Any

from phoenix_aws.validation import check_distinct
from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

NAMESPACE = "phoenix-aws"


class Frozen(BaseModel):
    """A settings section: immutable, unknown keys refused, and each entry of a list once (a
    repeated entry becomes a second resource of the same name, which the engine refuses, or a
    duplicate AWS refuses)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_enum_values=False, use_attribute_docstrings=True
    )

    @model_validator(mode="after")
    def _each_entry_once(self) -> "Frozen":
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
                field_rule((name,), value, functools.partial(check_distinct, value))
        return self

    @model_validator(mode="after")
    def _no_blank_text(self) -> "Frozen":
        """Text settings hold something: an empty or blank value (a command of spaces, an empty
        path) is refused rather than passed on to fail later, or to run nothing."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            texts = value if isinstance(value, list) else [value]
            for text in texts:
                if isinstance(text, str) and not text.strip():
                    raise FieldError((name,), "must not be empty or blank", value)
        return self


class FieldError(ValueError):
    """A cross-field problem that belongs to one field, so the message names that path."""

    def __init__(self, loc: tuple[str | int, ...], message: str, value: Any) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.value = value


def ruled(rule: Callable[[Any], Any]) -> AfterValidator:
    """A field validator that applies a component's rule and keeps the value."""

    def validate(value: Any) -> Any:
        rule(value)
        return value

    return AfterValidator(validate)


def field_rule(loc: tuple[str | int, ...], value: Any, rule: Callable[[], Any]) -> None:
    """Run a cross-field rule; report its ValueError against `loc` with `value`."""
    try:
        rule()
    except ValueError as exc:
        raise FieldError(loc, str(exc), value) from None
