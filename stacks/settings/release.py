"""`phoenix-aws:release`: the two slots, which one is live, the canary toward the other, and the
drain of an old slot."""

import re
from typing import Annotated, Any, cast

from phoenix_aws.app_args import ReleaseOptions, SlotOptions, release_state
from phoenix_aws.image import check_image_reference
from phoenix_aws.slots import BUILD, Slot
from pydantic import Field, model_validator

from .base import FieldError, Frozen, ruled

# The release command sets this for the `up`s it runs (and an operator doing a step by hand).
RELEASE_CHANGE_ENV = "PHOENIX_AWS_RELEASE_CHANGE"
PROCEDURE = "python -m release <stack> deploy|promote|rollback|drain (see docs/releasing.md)"


def _image(value: str) -> str:
    if value != BUILD:
        check_image_reference(value)
    return value


def _version(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,128}", value):
        raise ValueError("use letters, digits, dots, hyphens and underscores (at most 128)")
    return value


class SlotSettings(Frozen):
    """`phoenix-aws:release.blue` / `.green`: one slot."""

    image: Annotated[str, ruled(_image)] | None = None
    """Image pinned by digest (`repo@sha256:<64 hex>`), or `build`: the image built from
    `phoenix-aws:image` (the release command pins the digest right after the build)."""
    desired_count: int = Field(default=0, ge=0, le=1000)
    """Autoscaling's floor (tasks at least); autoscaling owns the running count."""
    max_count: int | None = Field(default=None, ge=0, le=1000)
    """Autoscaling ceiling. Default: desired_count."""
    version: Annotated[str, ruled(_version)] | None = None
    """Release label (RELEASE_VERSION). Default: the start of the image digest."""
    run_migrations: bool = True
    """Run the migration gate for this slot's image. The release command turns it off while a new
    image warms up on the idle slot and on at promote, right before traffic moves."""
    draining: bool = False
    """Tell this slot's nodes to shed their WebSockets gradually (over `drain_window_seconds`), so
    clients reconnect to the live slot in a controlled flow before the slot is scaled down."""
    spot: bool = False
    """Run this slot on Fargate Spot (about 70% cheaper, may be interrupted with a 2-minute
    warning). Default: on-demand Fargate."""

    @model_validator(mode="after")
    def _ceiling(self) -> "SlotSettings":
        if self.max_count is not None and self.max_count < self.desired_count:
            raise FieldError(
                ("max_count",),
                f"must be at least desired_count ({self.desired_count})",
                self.max_count,
            )
        if self.desired_count > 0 and self.image is None:
            raise FieldError(("image",), "a slot with tasks needs an image", None)
        return self


class ReleaseSettings(Frozen):
    """`phoenix-aws:release`: the two slots, which one is live, and the canary toward the other.
    At least: the live slot with an `image` and a `desired_count` of 1 or more (2 in
    production)."""

    live: Slot = Slot.BLUE
    """The slot that takes production traffic."""
    canary_percent: int = Field(default=0, ge=0, le=100)
    """Share of production traffic sent to the idle slot."""
    blue: SlotSettings = SlotSettings()
    """The blue slot."""
    green: SlotSettings = SlotSettings()
    """The green slot."""
    promoting: Slot | None = None
    """Set by the release command while it promotes a slot (migrations, smoke test, canary)."""
    drain_window_seconds: int = Field(default=300, ge=30, le=3600)
    """How long a draining slot's nodes take to shed their WebSockets. Default: 300."""

    def slot(self, name: str | Slot) -> SlotSettings:
        return self.blue if Slot(name) is Slot.BLUE else self.green

    @property
    def draining_slots(self) -> list[str]:
        return [s.value for s in Slot if self.slot(s).draining]

    def bearing_traffic(self) -> list[Slot]:
        """Slots that take production traffic now (live, and idle with a canary)."""
        return [self.live] + ([self.live.other] if self.canary_percent else [])

    @model_validator(mode="after")
    def _traffic_has_somewhere_to_go(self) -> "ReleaseSettings":
        idle = self.live.other
        if self.canary_percent > 0 and self.slot(idle).desired_count == 0:
            raise FieldError(
                ("canary_percent",),
                f"a canary goes to the idle slot ({idle.value}), which has no tasks",
                self.canary_percent,
            )
        if self.promoting is self.live:
            raise FieldError(
                ("promoting",), "the live slot cannot be promoted", self.promoting.value
            )
        if self.slot(self.live).desired_count == 0:
            raise FieldError(
                (self.live.value, "desired_count"),
                f"the live slot ({self.live.value}) must run at least one task",
                0,
            )
        for slot in self.bearing_traffic():
            if self.slot(slot).draining:
                raise FieldError(
                    (slot.value, "draining"),
                    f"slot {slot.value} takes traffic; only a slot without traffic may drain",
                    True,
                )
        return self

    def options(self) -> ReleaseOptions:
        """PhoenixApp's `release` section."""
        options = ReleaseOptions(
            live=self.live,
            canary_percent=self.canary_percent,
            drain_window_seconds=self.drain_window_seconds,
        )
        if self.promoting:
            options["promoting"] = self.promoting
        for slot in Slot:
            settings = self.slot(slot)
            section: dict[str, Any] = {
                "desired_count": settings.desired_count,
                "run_migrations": settings.run_migrations,
                "draining": settings.draining,
                "spot": settings.spot,
            }
            for key in ("image", "max_count", "version"):
                if getattr(settings, key) is not None:
                    section[key] = getattr(settings, key)
            options[slot.value] = cast(SlotOptions, section)  # type: ignore[literal-required]
        return options

    def state(self) -> dict[str, Any]:
        """What the stack exports as `release_state` (what is deployed after the up)."""
        return release_state(self.options())


def release_change_problems(
    planned: dict[str, Any], deployed: dict[str, Any] | None, *, allowed: bool
) -> list[str]:
    """Why an `up` may not move traffic away from what is deployed.

    The stack file is the source of truth, but CI's `up` from a branch that does not have the
    release command's last change (its stack-file commit is still in review) would silently undo
    a promote or a rollback. Moving `live`, `canary_percent` or `promoting` is therefore only
    allowed to the release command (and to an operator who says so).
    """
    if not deployed:
        return []
    problems = drain_order_problems(planned, deployed)
    if allowed:
        return problems
    for key in ("live", "canary_percent", "promoting"):
        if key in deployed and deployed.get(key) != planned.get(key):
            problems.append(
                f"release.{key} is {planned.get(key)!r} in the stack file but "
                f"{deployed.get(key)!r} is deployed; this up would move traffic. Release steps "
                f"run through {PROCEDURE}; merge the branch it committed, or set "
                f"{RELEASE_CHANGE_ENV}=1 to move traffic by hand"
            )
    return problems


def drain_order_problems(planned: dict[str, Any], deployed: dict[str, Any]) -> list[str]:
    """A slot starts to drain only in an `up` after the one that took its traffic away.

    The load balancer must stop sending a slot new connections before the slot's nodes shed
    theirs, or a shed client may be sent straight back. Within one `up` the drain switch and the
    listener rules change in no set order, so a slot that the deployed stack still sends traffic
    to (live, or the idle slot with a canary) may not start draining: the release command flips
    first, bakes, then drains. Applies to hand-made changes too (`PHOENIX_AWS_RELEASE_CHANGE`).
    """
    deployed_live = deployed.get("live")
    bearing = {deployed_live}
    if deployed.get("canary_percent"):
        bearing |= {slot for slot in ("blue", "green") if slot != deployed_live}
    problems = []
    for slot, planned_slot in sorted((planned.get("slots") or {}).items()):
        was_draining = ((deployed.get("slots") or {}).get(slot) or {}).get("draining")
        if planned_slot.get("draining") and not was_draining and slot in bearing:
            problems.append(
                f"release.{slot}.draining: the deployed stack still sends {slot} traffic; "
                "move the traffic away in one up and start the drain in the next, so the load "
                f"balancer stops sending {slot} new connections before its nodes shed theirs "
                f"({PROCEDURE})"
            )
    return problems
