"""`phoenix-aws:release`: the two slots, which one is live, the canary toward the other, and the
drain of an old slot."""

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, cast

from phoenix_aws.app_args import ReleaseOptions, ReleaseStep, SlotOptions, release_state
from phoenix_aws.image import check_image_reference
from phoenix_aws.slots import BUILD, Slot
from pydantic import Field, model_validator

from .base import FieldError, Frozen, ruled

# An operator doing a release step by hand sets this to `1`: the up may then change the deployed
# release state (traffic, images, drains) away from what is deployed.
RELEASE_CHANGE_ENV = "PHOENIX_AWS_RELEASE_CHANGE"
# The release command sets this for every up it runs: the whole release section (JSON) it planned
# from. The up refuses to run unless the deployed release section is still exactly that.
RELEASE_EXPECTED_ENV = "PHOENIX_AWS_RELEASE_EXPECTED"
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


class StepInProgress(Frozen):
    """`phoenix-aws:release.in_progress`: the release step the last `up` applied, written by the
    release command with each step and removed by the last one, so the deployed stack says which
    release is under way, how far it got and who runs it (and `status` shows it)."""

    action: str = Field(pattern=r"^(deploy|promote|drain|rollback)$")
    """The release action: deploy, promote, drain or rollback."""
    step: int = Field(ge=1, le=1000)
    """The step of the action that the last `up` applied (1-based)."""
    of: int = Field(ge=1, le=1000)
    """How many steps the action has."""
    title: str = Field(max_length=400)
    """What that step did, in words."""
    by: str = Field(max_length=200)
    """Who runs the release (the release lock's owner)."""
    options: str | None = Field(default=None, max_length=400)
    """The action's command-line options, so a resumed action continues the same plan.
    Default: none (it ran with none)."""


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
    capacity_timeout_seconds: int = Field(default=600, ge=60, le=3600)
    """Before traffic moves to a slot, the `up` waits at most this long for the slot to run as
    many healthy targets as it will carry; then it fails and traffic stays. Default: 600."""
    in_progress: StepInProgress | None = None
    """Written by the release command: the step of the release under way. Default: none."""
    protect_lock_table: bool = True
    """Deletion protection on the table of the release lock and history. Default: true."""

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
            capacity_timeout_seconds=self.capacity_timeout_seconds,
            protect_lock_table=self.protect_lock_table,
        )
        if self.promoting:
            options["promoting"] = self.promoting
        if self.in_progress:
            options["in_progress"] = cast(ReleaseStep, self.in_progress.model_dump())
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
        """What the stack exports as `release_state`: the whole release section as deployed
        (every key, defaults filled in), so the stack file can be rebuilt from the stack."""
        return release_state(self.options())


SLOT_NAMES = tuple(s.value for s in Slot)
STATE_KEYS = ("live", "canary_percent", "promoting", "in_progress")
"""Release keys the release command owns: where traffic goes and which release is under way."""
SLOT_STATE_KEYS = ("image", "version", "run_migrations", "draining")
"""Slot keys the release command owns: what runs on a slot and whether it drains. (Counts and
`spot` are capacity settings that a reviewed change may move too.)"""
STATE_PATHS = STATE_KEYS + tuple(f"{s}.{k}" for s in SLOT_NAMES for k in SLOT_STATE_KEYS)
SETTING_PATHS = (
    "drain_window_seconds",
    "capacity_timeout_seconds",
    "protect_lock_table",
    *(f"{s}.spot" for s in SLOT_NAMES),
)
"""Release keys that only a reviewed change sets (the release command never writes them)."""


def release_section(value: Any) -> dict[str, Any] | None:
    """The deployed release section from a `release_state` output, every key filled in; None
    when there is none or it is not a whole section (a stack last deployed by an older
    phoenix-aws exported only part of it)."""
    if not isinstance(value, dict) or "slots" in value:
        return None
    try:
        return ReleaseSettings.model_validate(value).state()
    except ValueError:
        return None


def flat_release(section: Mapping[str, Any]) -> dict[str, Any]:
    """`{"live": …, "blue.image": …, …}`: one entry per setting (`in_progress` stays whole)."""
    flat: dict[str, Any] = {}
    for key, value in section.items():
        if key in SLOT_NAMES and isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _legacy_paths(value: dict[str, Any]) -> dict[str, Any]:
    """The paths an older `release_state` output held (traffic, slot images, counts, drains)."""
    paths: dict[str, Any] = {
        k: value.get(k) for k in ("live", "canary_percent", "promoting") if k in value
    }
    for slot, state in (value.get("slots") or {}).items():
        paths.update({f"{slot}.{k}": v for k, v in (state or {}).items()})
    return paths


def release_differences(
    before: Mapping[str, Any], after: Mapping[str, Any], paths: tuple[str, ...] | None = None
) -> list[str]:
    """`green.image: repo@sha256:aa… → repo@sha256:bb…`: one line per setting that differs
    between two release sections (`paths`: only these flat paths)."""
    old, new = flat_release(before), flat_release(after)
    keys = [k for k in dict.fromkeys([*old, *new]) if paths is None or k in paths]
    return [
        f"{key}: {shown(old.get(key))} → {shown(new.get(key))}"
        for key in keys
        if old.get(key) != new.get(key)
    ]


def shown(value: Any) -> str:
    """A release setting's value as the stack file writes it."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {shown(v)}" for k, v in value.items())
    return str(value)


def release_change_problems(
    planned: dict[str, Any],
    deployed: Any,
    *,
    expected: str | None = None,
    by_hand: bool = False,
) -> list[str]:
    """Why this `up` may not change the deployed release state (the program's release guard).

    - An up run by the release command (`expected`: the JSON of the whole deployed release
      section it planned from) runs only while the deployed section is still exactly that. If
      anyone changed it in between (another operator, CI), the step stops: its plan is stale.
      Pulumi holds the stack's update lock while the program reads the deployed outputs, so the
      check and the up are one step.
    - Any other up (CI, an operator) may not move what the release command owns (traffic, slot
      images and versions, migrations, drains, the step in progress) away from what is deployed:
      a checkout behind the last release would undo it. `by_hand` (the operator set
      PHOENIX_AWS_RELEASE_CHANGE=1) allows it.
    """
    if not isinstance(deployed, dict) or not deployed:
        return []  # the first deployment
    section = release_section(deployed)
    problems = drain_order_problems(planned, deployed)
    if expected is not None:
        return problems + _expected_problems(expected, section)
    if by_hand:
        return problems
    old = flat_release(section) if section is not None else _legacy_paths(deployed)
    new = flat_release(planned)
    return problems + [
        f"release.{path} is {shown(new.get(path))} in the stack file but {shown(old.get(path))} "
        "is deployed; this up would undo a release step. Release steps run through "
        f"{PROCEDURE}; bring the stack file up to date with `python -m release <stack> sync` "
        f"(or merge the release branch), or set {RELEASE_CHANGE_ENV}=1 to change it by hand"
        for path in STATE_PATHS
        if path in old and old.get(path) != new.get(path)
    ]


def _expected_problems(expected: str, section: dict[str, Any] | None) -> list[str]:
    """The release command's up: the deployed section must still be the one it planned from."""
    try:
        wanted = release_section(json.loads(expected))
    except ValueError:
        wanted = None
    if wanted is None:
        return [f"{RELEASE_EXPECTED_ENV} is not a release section; {PROCEDURE} sets it"]
    if section is None:
        return [
            "the deployed release state is not a whole release section (the stack was last "
            "deployed by an older phoenix-aws): run one `pulumi up` without the release "
            "command first"
        ]
    changed = release_differences(wanted, section)
    if not changed:
        return []
    return [
        "the deployed release changed since the release command read it ("
        + "; ".join(changed)
        + "): someone else released in between, so this step was not applied. See who with "
        "`python -m release <stack> status`"
    ]


def _slot_state(section: Mapping[str, Any], slot: str) -> Mapping[str, Any]:
    """A slot's part of a release section (or of the `slots` map of an older export)."""
    if isinstance(section.get("slots"), Mapping):
        return section["slots"].get(slot) or {}
    return section.get(slot) or {}


def drain_order_problems(planned: Mapping[str, Any], deployed: Mapping[str, Any]) -> list[str]:
    """A slot starts to drain only in an `up` after the one that took its traffic away.

    The load balancer must stop sending a slot new connections before the slot's nodes shed
    theirs, or a shed client may be sent straight back. Within one `up` the drain switch and the
    listener rules change in no set order, so a slot that the deployed stack still sends traffic
    to (live, or the idle slot with a canary) may not start draining: the release command moves
    the traffic first (a flip, or a rollback's listener change and its reconciling up), then
    drains in a later up. Applies to hand-made changes too (`PHOENIX_AWS_RELEASE_CHANGE`).
    """
    deployed_live = deployed.get("live")
    bearing = {deployed_live}
    if deployed.get("canary_percent"):
        bearing |= {slot for slot in SLOT_NAMES if slot != deployed_live}
    problems = []
    for slot in SLOT_NAMES:
        was_draining = _slot_state(deployed, slot).get("draining")
        if _slot_state(planned, slot).get("draining") and not was_draining and slot in bearing:
            problems.append(
                f"release.{slot}.draining: the deployed stack still sends {slot} traffic; "
                "move the traffic away in one up and start the drain in the next, so the load "
                f"balancer stops sending {slot} new connections before its nodes shed theirs "
                f"({PROCEDURE})"
            )
    return problems
