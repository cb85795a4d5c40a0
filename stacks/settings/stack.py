"""Everything under `phoenix-aws:` in a stack file, and the rules that span sections."""

from enum import StrEnum
from typing import Annotated, Any, cast

import pulumi
from phoenix_aws.app_args import DeployedState, PhoenixAppArgs
from phoenix_aws.drain_timing import check_drain_timing
from phoenix_aws.network import (
    FARGATE_NODE_ENDPOINTS,
    NatStrategy,
    check_availability_zones,
    endpoints_missing_without_nat,
)
from phoenix_aws.node_security import check_app_port
from phoenix_aws.outputs import STATE_OUTPUTS
from phoenix_aws.release_slot import sigterm_drain_budget
from phoenix_aws.slots import BUILD
from phoenix_aws.validation import COMPONENT_TAGS, check_tags
from pydantic import PrivateAttr, ValidationInfo, model_validator

from .base import FieldError, Frozen, field_rule, ruled
from .data import DatabaseSettings, PubSubSettings
from .edge import EdgeSettings
from .image import ImageSettings
from .monitoring import MonitoringSettings
from .network import NetworkSettings
from .nodes import AppSettings, ClusterSettings
from .release import PROCEDURE, ReleaseSettings

# Private nodes without NAT also read their drain switch (SSM), learn which tasks ECS stops
# (ECS DescribeTasks) and serve ECS Exec sessions (Session Manager, the session key in KMS).
APP_NODE_ENDPOINTS = (*FARGATE_NODE_ENDPOINTS, "ssm", "ecs", "ssmmessages", "kms")


class Stage(StrEnum):
    """What a stack is for. Only cost defaults differ by stage; safety is opted out explicitly."""

    PRODUCTION = "production"
    DEVELOPMENT = "development"


# Tags phoenix-aws puts on every resource of a stack.
STACK_TAGS = ("phoenix-aws:project", "phoenix-aws:stack")

# Defaults that differ by stage. Only cost, never safety.
# Production uses the field defaults; development overrides these.
STAGE_DEFAULTS: dict[Stage, dict[str, dict[str, Any]]] = {
    Stage.DEVELOPMENT: {"network": {"az_count": 2, "nat": "instance"}},
}


class StackSettings(Frozen):
    """Everything under the `phoenix-aws:` namespace of a stack file."""

    stage: Stage = Stage.PRODUCTION
    """production | development. Development only changes cost defaults (2 AZs, NAT instance)."""
    network: NetworkSettings = NetworkSettings()
    """The VPC."""
    database: DatabaseSettings = DatabaseSettings()
    """RDS PostgreSQL."""
    pubsub: PubSubSettings = PubSubSettings()
    """How Phoenix.PubSub reaches every node."""
    edge: EdgeSettings
    """Required: every stack says how it is served (HTTPS, or plain HTTP explicitly)."""
    app: AppSettings
    """Required: at least the release name."""
    cluster: ClusterSettings = ClusterSettings()
    """Discovery, distribution, logs, generated secrets."""
    image: ImageSettings = ImageSettings()
    """The ECR repository and the optional build from source."""
    monitoring: MonitoringSettings = MonitoringSettings()
    """Alarms, their topic and the dashboard."""
    release: ReleaseSettings
    """Required: which slot is live and what each slot runs."""
    tags: Annotated[
        dict[str, str], ruled(lambda t: check_tags(t, others=COMPONENT_TAGS + len(STACK_TAGS)))
    ] = {}
    """Tags added to every taggable resource (at most 46, fewer with `aws:defaultTags`: AWS
    allows 50 per resource, and phoenix-aws adds up to four of its own)."""

    _secret_sections: frozenset[str] = PrivateAttr(default=frozenset())

    @model_validator(mode="after")
    def _tags_with_the_providers(self, info: ValidationInfo) -> "StackSettings":
        default_tags = (info.context or {}).get("default_tags") or {}
        others = COMPONENT_TAGS + len((set(STACK_TAGS) | set(default_tags)) - set(self.tags))
        field_rule(
            ("tags",), f"{len(self.tags)} tags", lambda: check_tags(self.tags, others=others)
        )
        return self

    def secret_section(self, section: str) -> bool:
        """Whether the stack file holds `section` as a Pulumi secret (`--secret`)."""
        return section in self._secret_sections

    def keep_secret(self, section: str, value: Any) -> Any:
        """`value` marked secret when it comes from a secret section, so it stays secret in the
        resources and the state it reaches."""
        return pulumi.Output.secret(value) if self.secret_section(section) else value

    def resource_tags(self, project: str, stack: str) -> dict[str, Any]:
        """The tags of every taggable resource: the stack's own (STACK_TAGS) and the user's
        (secret values stay secret)."""
        return {
            STACK_TAGS[0]: project,
            STACK_TAGS[1]: stack,
            **{key: self.keep_secret("tags", value) for key, value in self.tags.items()},
        }

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
        for section, defaults in STAGE_DEFAULTS.get(stage, {}).items():
            given = merged.get(section, {})
            if isinstance(given, dict):
                merged[section] = {**defaults, **given}
        return merged

    @model_validator(mode="after")
    def _zones_of_the_region(self, info: ValidationInfo) -> "StackSettings":
        region = (info.context or {}).get("region")
        zones = self.network.availability_zones
        if region and zones:
            field_rule(
                ("network", "availability_zones"),
                zones,
                lambda: check_availability_zones(list(zones), region),
            )
        return self

    @model_validator(mode="after")
    def _ports_apart(self) -> "StackSettings":
        cluster = self.cluster
        field_rule(
            ("app", "port"),
            self.app.port,
            lambda: check_app_port(
                self.app.port, cluster.distribution_port_min, cluster.distribution_port_max
            ),
        )
        return self

    @model_validator(mode="after")
    def _release_rules(self) -> "StackSettings":
        release = self.release
        for name in ("blue", "green"):
            if release.slot(name).image == BUILD and self.image.context is None:
                raise FieldError(
                    ("release", name, "image"),
                    "'build' needs phoenix-aws:image.context (the app's build context)",
                    BUILD,
                )
        if self.app.enable_migrations:
            for slot in release.bearing_traffic():
                if not release.slot(slot).run_migrations:
                    raise FieldError(
                        ("release", slot.value, "run_migrations"),
                        f"slot {slot.value} takes traffic, so its image must be migrated before "
                        "it serves: a new image reaches traffic through deploy (no migrations, no "
                        f"traffic) and promote (migrations first): {PROCEDURE}",
                        False,
                    )
        field_rule(
            ("app", "stop_timeout_seconds"),
            self.app.stop_timeout_seconds,
            lambda: sigterm_drain_budget(self.app.stop_timeout_seconds),
        )
        # The drain's timing inequality (phoenix_aws.drain_timing): a node ECS stops sheds its
        # sockets within the deregistration delay.
        field_rule(
            ("edge", "deregistration_delay_seconds"),
            self.edge.deregistration_delay_seconds,
            lambda: check_drain_timing(
                deregistration_delay_seconds=self.edge.deregistration_delay_seconds,
                idle_timeout_seconds=self.edge.idle_timeout_seconds,
                stop_timeout_seconds=self.app.stop_timeout_seconds,
            ),
        )
        return self

    @model_validator(mode="after")
    def _production_rules(self) -> "StackSettings":
        if self.stage is not Stage.PRODUCTION:
            return self
        if self.edge.plain_http_only:
            raise FieldError(
                ("edge", "plain_http_only"),
                "production must serve HTTPS (give domain + hosted_zone_id or certificate_arn)",
                True,
            )
        live = self.release.slot(self.release.live)
        if live.image == BUILD:
            raise FieldError(
                ("release", self.release.live.value, "image"),
                "the live slot in production must be pinned to a digest, not 'build'",
                BUILD,
            )
        if live.desired_count < 2:
            raise FieldError(
                ("release", self.release.live.value, "desired_count"),
                "production runs at least 2 live tasks (two AZs, so one restart is no outage)",
                live.desired_count,
            )
        if not self.database.multi_az:
            raise FieldError(("database", "multi_az"), "production requires Multi-AZ", False)
        if self.database.backup_retention_days < 7:
            raise FieldError(
                ("database", "backup_retention_days"),
                "production requires at least 7 days of backups",
                self.database.backup_retention_days,
            )
        if self.pubsub.redis_enabled and not self.pubsub.redis.automatic_failover:
            raise FieldError(
                ("pubsub", "redis", "automatic_failover"),
                "production requires automatic failover (and so a replica) for Redis",
                False,
            )
        if self.network.nat is NatStrategy.NONE:
            missing = endpoints_missing_without_nat(
                list(self.network.interface_endpoints), APP_NODE_ENDPOINTS
            )
            if missing:
                raise FieldError(
                    ("network", "interface_endpoints"),
                    "without NAT the nodes reach AWS only through endpoints: add "
                    + ", ".join(missing)
                    + " (to pull images, read secrets, ship logs, read the drain switch, "
                    "see which tasks ECS stops and serve ECS Exec)",
                    list(self.network.interface_endpoints),
                )
        return self

    def phoenix_app_args(
        self,
        *,
        name_parts: list[str],
        region: str | None,
        deployed: dict[str, Any],
        tags: dict[str, str],
    ) -> PhoenixAppArgs:
        """The stack as `PhoenixApp`'s args: each section hands over its own part, and the
        parts this stack program created at the top of the stack (0.2) are adopted in place."""
        args = PhoenixAppArgs(
            app=self.app.options(secret=self.secret_section("app")),
            release=self.release.options(),
            name_parts=name_parts,
            network=self.network.options(region=region),
            database=self.database.options(),
            redis=self.pubsub.redis.options(enabled=self.pubsub.redis_enabled),
            edge=self.edge.options(),
            firewall=self.edge.firewall_options(enabled=self.waf_enabled),
            cluster=self.cluster.options(),
            image=self.image.options(cpu_architecture=self.app.cpu_architecture.value),
            monitoring=self.monitoring.options(),
            deployed=cast(
                DeployedState,
                {k: deployed[k] for k in STATE_OUTPUTS if k in deployed},
            ),
            adopt_stack_resources=True,
            tags=tags,
        )
        return args

    @property
    def waf_enabled(self) -> bool:
        """The web firewall: as set, else on in production and off in development."""
        if self.edge.waf.enabled is not None:
            return self.edge.waf.enabled
        return self.stage is Stage.PRODUCTION

    @property
    def slots_in_use(self) -> list[str]:
        """Slots that exist (a slot is created with its first image)."""
        return [name for name in ("blue", "green") if self.release.slot(name).image is not None]
