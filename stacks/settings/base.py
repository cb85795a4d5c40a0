"""What every settings section shares: a frozen model that refuses unknown keys, and the bridge
from a component's rule (a `check_*` function raising ValueError) to a field validator."""

from collections.abc import Callable
from typing import Any

from pydantic import AfterValidator, BaseModel, ConfigDict

NAMESPACE = "phoenix-aws"


class Frozen(BaseModel):
    """A settings section: immutable, unknown keys refused."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_enum_values=False, use_attribute_docstrings=True
    )


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
