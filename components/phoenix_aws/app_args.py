"""The typed inputs of `PhoenixApp`: one section per part of the app, each with production-safe
defaults, and the bring-your-own switches (`existing_network`, `existing_load_balancer`,
`existing_cluster`, `existing_database`) that put an app into what another app or stack owns.

Only types Pulumi's component provider host can serve to other languages: primitives, lists,
string-keyed maps, nested TypedDicts and Enums; IDs and ARNs, never resource objects.
"""

from typing import Any, NotRequired, TypedDict

import pulumi

from .cluster import ExistingCluster
from .fargate import CpuArchitecture
from .image import ImageBuild
from .listener_rules import PathAllowList
from .load_balancer_checks import HealthCheck, RoutingAlgorithm
from .network import NetworkArgs
from .slots import Slot
from .waf import PathRateLimit


class AppOptions(TypedDict):
    """The Phoenix release and how its nodes run."""

    name: str
    """OTP release name (`bin/<name>`), node names `<name>@<ip>`, database role `<name>_app`."""
    port: NotRequired[int]
    """The app's plain-HTTP port inside the VPC (`PORT`). Default: 4000."""
    cpu: NotRequired[int]
    """Fargate CPU units per task. Default: 512."""
    memory: NotRequired[int]
    """MiB per task, a size Fargate offers with `cpu`. Default: 1024."""
    cpu_architecture: NotRequired[CpuArchitecture]
    """Must match the image. Default: `ARM64` (Graviton, about 20% cheaper)."""
    env: NotRequired[dict[str, str]]
    """Extra plain environment; reserved and secret-looking names are refused. Default: none."""
    secrets: NotRequired[dict[str, str]]
    """Env name → Secrets Manager secret or SSM parameter ARN. Default: none."""
    secret_kms_key_arns: NotRequired[list[str]]
    """Customer-managed KMS keys that encrypt `secrets`: the execution roles get `kms:Decrypt` on
    exactly these (through Secrets Manager and SSM only). Default: none (the AWS-managed key
    needs no grant)."""
    secret_env: NotRequired[bool]
    """Treat `env` and `secrets` as secret values (e.g. they came from Pulumi secret config):
    they stay secret in the task definitions and the state they reach. Default: false."""
    stop_timeout_seconds: NotRequired[int]
    """SIGTERM → SIGKILL, 2-120 on Fargate. Default: 120."""
    health_check_grace_period_seconds: NotRequired[int]
    """Seconds ECS ignores failed health checks of a new task. Default: 60."""
    run_as_user: NotRequired[str]
    """Container user (never root). Default: `1000`."""
    enable_autoscaling: NotRequired[bool]
    """Target-tracking autoscaling between each slot's desired and max count. Default: true."""
    cpu_target_percent: NotRequired[int]
    """Autoscaling's CPU target. Default: 60."""
    memory_target_percent: NotRequired[int]
    """Autoscaling's memory target. Default: 75."""
    task_role_policy_arns: NotRequired[list[str]]
    """Managed policies for the app's own AWS calls. Default: none."""
    enable_migrations: NotRequired[bool]
    """Run the migration gate before a slot's image takes traffic. Default: true."""
    migration_command: NotRequired[str]
    """Default: `bin/<name> eval "<Name>.Release.migrate()"` (as `mix phx.gen.release`)."""
    migration_timeout_seconds: NotRequired[int]
    """Default: 900."""
    wait_for_steady_state: NotRequired[bool]
    """`pulumi up` waits for each slot's service to be steady (the traffic gate relies on it).
    Default: true."""


class SlotOptions(TypedDict):
    """One blue/green slot."""

    image: NotRequired[str]
    """Image pinned by digest (`repo@sha256:<64 hex>`), or `build`: the image built from
    `image.build`. Default: none (the slot does not exist yet)."""
    desired_count: NotRequired[int]
    """Autoscaling's floor. Default: 0."""
    max_count: NotRequired[int]
    """Autoscaling's ceiling. Default: `desired_count`."""
    version: NotRequired[str]
    """Release label (`RELEASE_VERSION`). Default: the start of the image digest."""
    run_migrations: NotRequired[bool]
    """Run the migration gate for this slot's image. Default: true."""
    draining: NotRequired[bool]
    """Tell the slot's nodes to shed their WebSockets gradually. Default: false."""
    spot: NotRequired[bool]
    """Run on Fargate Spot. Default: false (on-demand)."""


class ReleaseStep(TypedDict):
    """The step of a release under way, as the release command writes it."""

    action: str
    """deploy, promote, drain or rollback."""
    step: int
    """The step the last `up` applied (1-based)."""
    of: int
    """How many steps the action has."""
    title: str
    """What that step did."""
    by: str
    """Who runs the release."""
    options: NotRequired[str | None]
    """The action's command-line options. Default: none."""


class ReleaseOptions(TypedDict):
    """The two slots, which one is live, and the canary toward the other."""

    live: NotRequired[Slot]
    """The slot that takes production traffic. Default: `blue`."""
    canary_percent: NotRequired[int]
    """Share of production traffic sent to the idle slot. Default: 0."""
    blue: NotRequired[SlotOptions]
    """The blue slot. Default: none."""
    green: NotRequired[SlotOptions]
    """The green slot. Default: none."""
    promoting: NotRequired[Slot | None]
    """Set by the release command while it promotes a slot. Default: none."""
    drain_window_seconds: NotRequired[int]
    """How long a draining slot's nodes take to shed their WebSockets. Default: 300."""
    capacity_timeout_seconds: NotRequired[int]
    """How long an `up` waits for a slot's capacity before traffic moves to it. Default: 600."""
    in_progress: NotRequired[ReleaseStep | None]
    """The step of the release under way (written by the release command). Default: none."""
    protect_lock_table: NotRequired[bool]
    """Deletion protection on the release lock's table. Default: true."""


class ExistingNetwork(TypedDict):
    """A VPC another app or stack created (e.g. the first app's `vpc_id` and subnet outputs)."""

    vpc_id: pulumi.Input[str]
    """The VPC."""
    vpc_cidr_block: pulumi.Input[str]
    """Its CIDR (the nodes reach the VPC's DNS resolver in it)."""
    private_subnet_ids: pulumi.Input[list[str]]
    """Subnets of the app's nodes (no public IPs; egress through NAT or endpoints)."""
    isolated_subnet_ids: NotRequired[pulumi.Input[list[str]]]
    """Subnets of the app's data stores. Default: the private subnets."""
    public_subnet_ids: NotRequired[pulumi.Input[list[str]]]
    """Subnets of a load balancer the app creates. Default: none (needed only then)."""


class DatabaseOptions(TypedDict):
    """The app's own RDS PostgreSQL instance."""

    identifier: NotRequired[str]
    """RDS identifier; changing it replaces the database. Default: `<name parts>-db`."""
    engine_version: NotRequired[str]
    """Major (`17`) or major.minor. Default: `17`."""
    instance_class: NotRequired[str]
    """Default: `db.t4g.medium`."""
    allocated_storage_gb: NotRequired[int]
    """Default: 20."""
    max_allocated_storage_gb: NotRequired[int]
    """Storage autoscaling ceiling. Default: 100."""
    database_name: NotRequired[str]
    """The initial database. Default: `app`."""
    master_username: NotRequired[str]
    """Default: `phoenix_admin`."""
    multi_az: NotRequired[bool]
    """Default: true."""
    backup_retention_days: NotRequired[int]
    """Default: 14."""
    performance_insights: NotRequired[bool]
    """Default: true."""
    monitoring_interval_seconds: NotRequired[int]
    """Enhanced monitoring interval, 0 = off. Default: 60."""
    slow_query_ms: NotRequired[int]
    """Log statements slower than this, -1 = off. Default: 500."""
    deletion_protection: NotRequired[bool]
    """Default: true."""
    skip_final_snapshot: NotRequired[bool]
    """Default: false."""
    protect: NotRequired[bool]
    """Pulumi `protect` on the instance. Default: true."""
    allow_major_version_upgrade: NotRequired[bool]
    """Default: false."""
    allow_replacement: NotRequired[bool]
    """Accept a change that replaces the database. Default: false."""
    kms_key_id: NotRequired[str]
    """Storage encryption key. Default: the AWS-managed RDS key."""
    log_retention_days: NotRequired[int]
    """Default: 30."""


class ExistingDatabase(TypedDict):
    """An RDS PostgreSQL instance another app created (its Database outputs). The app gets a
    database and a role of its own on it: its nodes may reach the instance, its task role may
    log in only as its own role, and its role may connect only to its own database."""

    address: pulumi.Input[str]
    """The instance's host name."""
    port: pulumi.Input[int]
    """The instance's port."""
    resource_id: pulumi.Input[str]
    """The instance's DbiResourceId (Database.resource_id)."""
    security_group_id: pulumi.Input[str]
    """The instance's security group; the app's nodes get a client rule pair with it."""
    master_secret_arn: pulumi.Input[str]
    """The RDS-managed master secret: the app's migration task creates its database and role."""
    database_name: NotRequired[str]
    """The app's own database on the instance. Default: the app's name."""
    identifier: NotRequired[pulumi.Input[str]]
    """The instance identifier, for the app's database alarms. Default: no database alarms."""


class RedisOptions(TypedDict):
    """ElastiCache Redis for `phoenix_pubsub_redis`."""

    enabled: NotRequired[bool]
    """Phoenix.PubSub through Redis instead of distributed Erlang. Default: false."""
    node_type: NotRequired[str]
    """Default: `cache.t4g.small`."""
    replicas: NotRequired[int]
    """Default: 1."""
    automatic_failover: NotRequired[bool]
    """Default: true."""
    engine_version: NotRequired[str]
    """Default: `7.1`."""
    snapshot_retention_days: NotRequired[int]
    """Default: 7."""
    maintenance_window: NotRequired[str]
    """Default: `sun:05:00-sun:06:00`."""
    protect: NotRequired[bool]
    """Default: true."""


class EdgeOptions(TypedDict):
    """The app's load balancer (created, or the app's place on an existing one)."""

    certificate_arn: NotRequired[str]
    """ACM certificate of the HTTPS listener. Default: none (see domain_name)."""
    domain_name: NotRequired[str]
    """Public host name; with hosted_zone_id a certificate and record are made. Default: the
    load balancer's DNS name."""
    hosted_zone_id: NotRequired[str]
    """Route 53 zone of domain_name. Default: none."""
    plain_http_only: NotRequired[bool]
    """Plain HTTP on port 80 only (dev/local). Default: false."""
    ingress_cidrs: NotRequired[list[str]]
    """Who may reach the listeners. Default: `0.0.0.0/0`."""
    ssl_policy: NotRequired[str]
    """Default: `ELBSecurityPolicy-TLS13-1-2-2021-06`."""
    idle_timeout_seconds: NotRequired[int]
    """Default: 120 (Phoenix's 30 s WebSocket heartbeat, with margin)."""
    load_balancing_algorithm: NotRequired[RoutingAlgorithm]
    """Default: `least_outstanding_requests`."""
    deregistration_delay_seconds: NotRequired[int]
    """Default: 60."""
    slow_start_seconds: NotRequired[int]
    """Default: 0 (off)."""
    health_check: NotRequired[HealthCheck]
    """Default: see HealthCheck."""
    enable_stickiness: NotRequired[bool]
    """Default: false."""
    test_header: NotRequired[str]
    """Default: `X-Release-Slot`."""
    operator_cidrs: NotRequired[list[str]]
    """Who may use the test header. Default: nobody."""
    path_allow_lists: NotRequired[list[PathAllowList]]
    """Per-path source-IP allow lists. Default: none."""
    hosts: NotRequired[list[str]]
    """Host names the app owns on the listener (needed when apps share it). Default: every
    host (on an existing load balancer: the app's host)."""
    paths: NotRequired[list[str]]
    """Path patterns the app owns on the listener. Default: every path."""
    enable_deletion_protection: NotRequired[bool]
    """Default: true."""
    desync_mitigation_mode: NotRequired[str]
    """Default: `defensive`."""
    enable_access_logs: NotRequired[bool]
    """Default: true."""
    access_logs_retention_days: NotRequired[int]
    """Default: 90."""


class ExistingLoadBalancer(TypedDict):
    """A load balancer another app created (its LoadBalancer outputs): the app gets its own
    target groups and rules on the listener, for its hosts or paths, in its priority block."""

    listener_arn: pulumi.Input[str]
    """The production listener (LoadBalancer.production_listener_arn)."""
    security_group_id: pulumi.Input[str]
    """The load balancer's security group (LoadBalancer.security_group_id)."""
    host: str
    """The app's public host name (its PHX_HOST), e.g. `admin.example.com`."""
    priority_block: int
    """Its block of listener rule priorities, 1-49 (the owner holds 0); one per app."""
    scheme: NotRequired[str]
    """`https` or `http`: what browsers use. Default: `https`."""
    idle_timeout_seconds: NotRequired[int]
    """The load balancer's idle timeout; the app keeps idle connections open longer.
    Default: 120."""
    arn_suffix: NotRequired[pulumi.Input[str]]
    """The load balancer's metrics dimension (LoadBalancer.load_balancer_arn_suffix) for the
    app's alarms. Default: read from the listener's ARN."""


class FirewallOptions(TypedDict):
    """A WAF web ACL on the app's load balancer."""

    enabled: NotRequired[bool]
    """Default: true on a load balancer the app creates; never on a shared one (its owner's
    web ACL covers it)."""
    rate_limit: NotRequired[int]
    """Requests per client IP per window. Default: 2000."""
    rate_limit_window_seconds: NotRequired[int]
    """Default: 300."""
    path_rate_limits: NotRequired[list[PathRateLimit]]
    """Paths with their own limit (or none). Default: the allow-listed paths, unlimited."""
    count_only_common_rules: NotRequired[list[str]]
    """Core rule set rules that only count. Default: none."""
    enable_logging: NotRequired[bool]
    """Default: false."""
    log_all_requests: NotRequired[bool]
    """Default: false."""
    log_retention_days: NotRequired[int]
    """Default: 30."""


class ClusterOptions(TypedDict):
    """Discovery, distribution, logs and generated secrets of the app's nodes."""

    namespace: NotRequired[str]
    """Private DNS namespace. Default: the name parts reversed, joined by `.`, + `.internal`."""
    discovery_service_name: NotRequired[str]
    """The nodes' name in the namespace. Default: `nodes`; in a namespace shared with other
    apps (`existing_cluster`), `<app>-nodes`."""
    share_discovery_across_slots: NotRequired[bool]
    """Blue and green nodes form one BEAM cluster. Default: true."""
    distribution_port_min: NotRequired[int]
    """Default: 9100."""
    distribution_port_max: NotRequired[int]
    """Default: 9109."""
    log_retention_days: NotRequired[int]
    """Default: 30."""
    enable_container_insights: NotRequired[bool]
    """Default: true."""
    protect_secrets: NotRequired[bool]
    """Pulumi `protect` on SECRET_KEY_BASE and RELEASE_COOKIE. Default: true."""


class ImageOptions(TypedDict):
    """The app's ECR repository and the optional build from source."""

    build: NotRequired[ImageBuild]
    """Build and push the image (`build` slots run it). Default: no build."""
    keep_last: NotRequired[int]
    """Images kept besides those the slots run. Default: 30."""
    protect: NotRequired[bool]
    """Pulumi `protect` on the repository. Default: true."""


class MonitoringOptions(TypedDict):
    """CloudWatch alarms, their SNS topic and a dashboard."""

    enabled: NotRequired[bool]
    """Default: true."""
    alarm_emails: NotRequired[list[str]]
    """Subscribed to the alarm topic. Default: none."""
    target_5xx_per_minute: NotRequired[int]
    """App 5xx per minute that raise the alarm. Default: 10."""


class DeployedState(TypedDict):
    """What the app's last deployment exported (its STATE_OUTPUTS), so an `up` keeps it."""

    availability_zones: NotRequired[pulumi.Input[list[str]]]
    """The AZs of the subnets. Default: none (a first deployment)."""
    database_identity: NotRequired[pulumi.Input[dict[str, str]]]
    """The database's identity. Default: none."""
    listener_rule_bands: NotRequired[pulumi.Input[dict[str, int]]]
    """Listener rule priority bands. Default: none."""
    release_state: NotRequired[dict[str, Any]]
    """The release as deployed (its `release_state`): the capacity gate sizes a slot that gains
    traffic from the weights it had. Default: none (no slot carries traffic yet)."""


class PhoenixAppArgs(TypedDict):
    """Inputs of a PhoenixApp."""

    app: AppOptions
    """The Phoenix release and how its nodes run."""
    release: ReleaseOptions
    """Which slot is live and what each slot runs."""
    name_parts: NotRequired[list[str]]
    """Parts of every physical name. Default: [project, stack, component name]."""
    network: NotRequired[NetworkArgs]
    """The VPC the app creates. Default: see NetworkArgs (3 AZs, a NAT gateway per AZ)."""
    existing_network: NotRequired[ExistingNetwork]
    """Run in this VPC instead of creating one. Default: a VPC of the app's own."""
    database: NotRequired[DatabaseOptions]
    """The PostgreSQL instance the app creates. Default: see DatabaseOptions."""
    existing_database: NotRequired[ExistingDatabase]
    """Use a database of its own on this instance instead. Default: an instance of its own."""
    redis: NotRequired[RedisOptions]
    """Redis for PubSub. Default: none (distributed Erlang)."""
    edge: NotRequired[EdgeOptions]
    """The load balancer. Default: HTTPS needs certificate_arn or domain_name with
    hosted_zone_id, or plain_http_only set explicitly."""
    existing_load_balancer: NotRequired[ExistingLoadBalancer]
    """Join this load balancer's listener instead of creating one. Default: a load balancer of
    the app's own."""
    firewall: NotRequired[FirewallOptions]
    """The WAF web ACL. Default: on, with the defaults of FirewallOptions."""
    cluster: NotRequired[ClusterOptions]
    """Discovery, distribution, logs, secrets. Default: see ClusterOptions."""
    existing_cluster: NotRequired[ExistingCluster]
    """Run in this ECS cluster (another app's Cluster outputs). Default: a cluster of the
    app's own."""
    image: NotRequired[ImageOptions]
    """The ECR repository and build. Default: a repository, no build."""
    monitoring: NotRequired[MonitoringOptions]
    """Alarms and dashboard. Default: on."""
    deployed: NotRequired[DeployedState]
    """What the last deployment exported. Default: none (a first deployment)."""
    adopt_stack_resources: NotRequired[bool]
    """Adopt the parts a phoenix-aws 0.2 stack program created at the top of its stack
    (`network`, `database`, `edge`, ...): they keep their names and declare an alias to their
    old place, so `pulumi up` moves them under this app instead of replacing them. One app
    per stack at most. Default: false."""
    tags: NotRequired[dict[str, str]]
    """Tags on every taggable resource. Default: none."""


def release_state(release: ReleaseOptions) -> dict[str, Any]:
    """What an app exports as `release_state`: its whole release section as deployed after the
    up, every key with its default filled in, so a stack file can be rebuilt from the stack."""
    promoting = release.get("promoting")
    step = release.get("in_progress")
    return {
        "live": Slot(release.get("live", Slot.BLUE)).value,
        "canary_percent": release.get("canary_percent", 0),
        **{
            slot.value: {
                "image": _slot(release, slot).get("image"),
                "desired_count": _slot(release, slot).get("desired_count", 0),
                "max_count": _slot(release, slot).get("max_count"),
                "version": _slot(release, slot).get("version"),
                "run_migrations": _slot(release, slot).get("run_migrations", True),
                "draining": _slot(release, slot).get("draining", False),
                "spot": _slot(release, slot).get("spot", False),
            }
            for slot in Slot
        },
        "promoting": Slot(promoting).value if promoting else None,
        "drain_window_seconds": release.get("drain_window_seconds", 300),
        "capacity_timeout_seconds": release.get("capacity_timeout_seconds", 600),
        "in_progress": {"options": None, **step} if step else None,
        "protect_lock_table": release.get("protect_lock_table", True),
    }


def _slot(release: ReleaseOptions, slot: Slot) -> SlotOptions:
    return release.get(slot.value) or {}  # type: ignore[return-value]


def slots_in_use(release: ReleaseOptions) -> list[str]:
    """Slots that exist (a slot is created with its first image)."""
    return [slot.value for slot in Slot if _slot(release, slot).get("image")]
