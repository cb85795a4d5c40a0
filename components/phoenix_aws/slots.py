"""Names every part of phoenix-aws shares: the two blue-green release slots, the image sentinel
`build`, and the header that reaches one slot. Pure: the release planner imports it too."""

from enum import StrEnum


class Slot(StrEnum):
    """A blue-green release slot."""

    BLUE = "blue"
    GREEN = "green"

    @property
    def other(self) -> "Slot":
        return Slot.GREEN if self is Slot.BLUE else Slot.BLUE


SLOTS: tuple[str, ...] = tuple(slot.value for slot in Slot)

BUILD = "build"
"""A slot's `image` that means "the image built from this stack's source"."""

TEST_HEADER = "X-Release-Slot"
"""Default header that routes a request to one slot (`X-Release-Slot: green`) for smoke tests."""
