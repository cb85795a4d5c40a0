"""The two blue-green release slots. Pure: the release planner imports it without Pulumi."""

from enum import StrEnum


class Slot(StrEnum):
    """A blue-green release slot."""

    BLUE = "blue"
    GREEN = "green"

    @property
    def other(self) -> "Slot":
        return Slot.GREEN if self is Slot.BLUE else Slot.BLUE


SLOTS: tuple[str, ...] = tuple(slot.value for slot in Slot)
