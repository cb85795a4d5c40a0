"""Database: RDS PostgreSQL in the isolated subnets, reachable only from the app nodes.

Credentials that survive rotation:
- The master password is generated and rotated by RDS inside Secrets Manager
  (`manage_master_user_password`, every 7 days by default); it never passes through config,
  Pulumi state or outputs. Only one-off admin tasks (migrations) get it, as ECS secrets, which
  ECS resolves when each task starts, so a fresh task always has the current password.
- The app logs in as its own least-privileged role with IAM database authentication: at each
  connect it signs a 15-minute token with its task role's credentials (nothing to rotate, nothing
  stored). A long-running task whose password was injected at start would fail to reconnect
  after the first rotation. The migration task creates the role and grants it
  (see examples/phoenix_app/lib/shop/release.ex).
"""

import functools
import json
import re
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from .naming import DB_INSTANCE_IDENTIFIER, DB_SNAPSHOT_IDENTIFIER, physical_name
from .policies import arn, managed_policy_arn, rds_monitoring_trust
from .security import server_security_group
from .validation import (
    arg_error,
    check_arg,
    check_args,
    check_log_retention,
    check_tags,
    component_type,
    with_legacy_alias,
)

POSTGRES_PORT = 5432
SUPPORTED_MAJOR_VERSIONS = ("14", "15", "16", "17")
# gp3 storage limits of RDS for PostgreSQL, GiB.
MIN_STORAGE_GB = 20
MAX_STORAGE_GB = 65536
# Enhanced monitoring intervals RDS accepts (0 = off), CreateDBInstance's MonitoringInterval:
# https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
# The AWS managed policy of the enhanced monitoring role (its ARN comes from the partition).
ENHANCED_MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"


def engine_major(version: str) -> str:
    """`16` for `16.4` or `16`."""
    return version.split(".")[0]


def check_engine_version(version: str) -> str:
    """A supported PostgreSQL version, major (`17`) or major.minor (`17.2`)."""
    if not isinstance(version, str) or not re.fullmatch(r"\d+(\.\d+)?", version):
        raise ValueError("expected a PostgreSQL version such as '17' or '17.2' (quoted)")
    if engine_major(version) not in SUPPORTED_MAJOR_VERSIONS:
        raise ValueError(
            f"PostgreSQL {engine_major(version)} is not supported; "
            f"expected one of {', '.join(SUPPORTED_MAJOR_VERSIONS)}"
        )
    return version


def check_instance_class(instance_class: str) -> str:
    """An RDS DB instance class: `db.<family>.<size>`, e.g. db.t4g.medium or db.m7g.large.
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.html"""
    if not re.fullmatch(r"db\.[a-z][a-z0-9-]*\.[a-z0-9]+", instance_class):
        raise ValueError("expected an RDS instance class such as db.t4g.medium or db.m7g.large")
    return instance_class


# Names PostgreSQL or RDS keep for themselves.
_RESERVED_ROLES = {"postgres", "admin", "root", "rdsadmin", "rds_superuser", "public", "rds_iam"}


def check_role_name(name: str) -> str:
    """A PostgreSQL role name we create: lower-case letters, digits and underscores, starting with
    a letter, at most 63 characters (PostgreSQL's identifier length), not a well-known or
    reserved name. https://www.postgresql.org/docs/current/sql-syntax-lexical.html"""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
        raise ValueError(
            "expected lower-case letters, digits and underscores, starting with a letter, "
            "at most 63 characters"
        )
    if name in _RESERVED_ROLES or name.startswith("rds_") or name.startswith("pg_"):
        raise ValueError(f"{name!r} is reserved or well known (guessed first); choose another")
    return name


def check_master_username(name: str) -> str:
    """RDS for PostgreSQL master user: 1-16 characters here (a letter first), not a reserved or
    well-known name. https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html"""
    check_role_name(name)
    if len(name) > 16:
        raise ValueError("use at most 16 characters")
    return name


def check_monitoring_interval(seconds: int) -> int:
    if seconds not in MONITORING_INTERVALS:
        raise ValueError(f"expected one of {', '.join(map(str, MONITORING_INTERVALS))} (0 = off)")
    return seconds


def connect_resource_arn(
    region: str, account_id: str, resource_id: str, user: str, *, partition: str
) -> str:
    """The resource of `rds-db:connect` for one database user on one instance:
    `arn:<partition>:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<user>`.
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html"""
    return arn(partition, "rds-db", region, account_id, f"dbuser:{resource_id}/{user}")


def final_snapshot_identifier(identifier: str, incarnation: str) -> str:
    """`<identifier>-final-<incarnation>`: each incarnation of the instance (a first deployment,
    a stack deployed again after a teardown, a replacement) has its own final snapshot name. A
    fixed name collides with the snapshot the previous incarnation left ("DBSnapshotAlreadyExists")
    and the second deletion fails. Checked against RDS's rule for snapshot identifiers.
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html"""
    return DB_SNAPSHOT_IDENTIFIER.check(f"{identifier}-final-{incarnation}")


# Settings that AWS cannot change in place: a change means a new, empty database.
REPLACING_FIELDS = {
    "identifier": "identifier",
    "subnet_group": "subnet group",
    "database_name": "initial database name",
    "master_username": "master user name",
    "kms_key_id": "storage encryption key",
}


def database_identity(
    identifier: str,
    engine_version: str,
    database_name: str,
    master_username: str,
    kms_key_id: str | None,
) -> dict[str, str]:
    """What a deployed database must keep to be updated in place (exported after each up)."""
    return {
        "identifier": identifier,
        "subnet_group": identifier,
        "database_name": database_name,
        "master_username": master_username,
        "kms_key_id": kms_key_id or "aws/rds",
        "engine_major": engine_major(engine_version),
    }


def identity_problems(
    previous: dict[str, str] | None,
    planned: dict[str, str],
    *,
    allow_replacement: bool,
    allow_major_version_upgrade: bool,
) -> list[str]:
    """Why the planned database may not replace (or silently upgrade) the deployed one."""
    if not previous:
        return []
    problems = []
    if not allow_replacement:
        for key, label in REPLACING_FIELDS.items():
            if key in previous and previous[key] != planned[key]:
                problems.append(
                    f"changing the {label} from {previous[key]!r} to {planned[key]!r} replaces "
                    "the database with a new, empty one; set allow_replacement (and protect: "
                    "false) only if that is what you want"
                )
    old_major, new_major = previous.get("engine_major"), planned["engine_major"]
    if old_major and old_major != new_major:
        if int(new_major) < int(old_major):
            problems.append(f"PostgreSQL cannot be downgraded from {old_major} to {new_major}")
        elif not allow_major_version_upgrade:
            problems.append(
                f"upgrading PostgreSQL from {old_major} to {new_major} is a major version "
                "upgrade; set allow_major_version_upgrade: true (and test it on a snapshot first)"
            )
    return problems


class DatabaseArgs(TypedDict):
    """Inputs of a Database."""

    vpc_id: pulumi.Input[str]
    """VPC to place the database security group in."""
    subnet_ids: pulumi.Input[list[str]]
    """Isolated subnets (at least two AZs) for the DB subnet group."""
    client_security_group_id: pulumi.Input[str]
    """The only security group allowed to connect (the app nodes' SG); it gets the matching
    egress rule."""
    identifier: str
    """RDS instance identifier (also names the subnet and parameter groups). Changing it replaces
    the database."""
    engine_version: NotRequired[str]
    """PostgreSQL version, major (`17`) or major.minor (`17.2`). Default: `17`."""
    instance_class: NotRequired[str]
    """Default: `db.t4g.medium`."""
    allocated_storage_gb: NotRequired[int]
    """Initial gp3 storage. Default: 20."""
    max_allocated_storage_gb: NotRequired[int]
    """Storage autoscaling ceiling. Default: 100."""
    database_name: NotRequired[str]
    """Initial database. Default: `app`."""
    master_username: NotRequired[str]
    """Default: `phoenix_admin` (not the well-known `postgres`)."""
    app_username: NotRequired[str]
    """The app's own role, which logs in with IAM database authentication. Default: `app`."""
    multi_az: NotRequired[bool]
    """Synchronous standby in another AZ. Default: true."""
    backup_retention_days: NotRequired[int]
    """Automated backups kept. Default: 14."""
    performance_insights: NotRequired[bool]
    """Default: true."""
    monitoring_interval_seconds: NotRequired[int]
    """Enhanced monitoring (OS metrics) every N seconds, 0 = off. Default: 60."""
    slow_query_ms: NotRequired[int]
    """Log statements slower than this (`log_min_duration_statement`), -1 = off. Default: 500."""
    deletion_protection: NotRequired[bool]
    """AWS-side deletion protection. Default: true."""
    skip_final_snapshot: NotRequired[bool]
    """Default: false (a final snapshot is taken on deletion)."""
    protect: NotRequired[bool]
    """Pulumi `protect`: refuse to delete or replace the instance. Default: true."""
    allow_major_version_upgrade: NotRequired[bool]
    """Allow an `engine_version` change across majors. Default: false."""
    kms_key_id: NotRequired[str]
    """KMS key for storage encryption. Default: the AWS-managed RDS key."""
    log_retention_days: NotRequired[int]
    """Retention of the exported Postgres log groups. Default: 30."""
    previous_identity: NotRequired[pulumi.Input[dict[str, str]]]
    """`identity` of the deployed database (e.g. read back from this stack's outputs). A change
    that would replace it, or a major upgrade not allowed, fails before the instance is touched.
    Default: no check."""
    allow_replacement: NotRequired[bool]
    """Accept a change that replaces the database. Default: false."""
    tags: NotRequired[dict[str, str]]
    """Default: none."""


class Database(pulumi.ComponentResource):
    """Encrypted, TLS-only RDS PostgreSQL; the app logs in with IAM database authentication."""

    identifier: pulumi.Output[str]
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: pulumi.Output[str]
    master_username: pulumi.Output[str]
    app_username: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    """The RDS-managed master secret (rotated by RDS): for admin tasks only."""
    app_connect_arn: pulumi.Output[str]
    """Resource of `rds-db:connect` for the app's role on this instance (grant it to the app's
    task role, and to nothing else)."""
    security_group_id: pulumi.Output[str]
    """The instance's security group (another app's nodes get a client rule pair with it)."""
    resource_id: pulumi.Output[str]
    """The instance's DbiResourceId (`rds-db:connect` resources of other apps' roles)."""
    identity: pulumi.Output[dict[str, str]]
    """What the deployed database must keep to be updated in place; export it and pass it back
    as `previous_identity`."""
    app_environment: pulumi.Output[dict[str, str]]
    """Plain environment for the app's tasks: host, port, name, TLS, the app role, IAM auth."""
    admin_environment: pulumi.Output[dict[str, str]]
    """Plain environment for admin tasks (migrations): password login, the app role to grant."""
    admin_secrets: pulumi.Output[dict[str, str]]
    """ECS secrets for admin tasks: the master user and password (JSON keys of the secret)."""

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("Database"), name, None, with_legacy_alias("Database", opts)
        )
        check_database_args(name, args)
        version = args.get("engine_version", "17")
        identifier = physical_name(args["identifier"], rule=DB_INSTANCE_IDENTIFIER)
        tags = dict(args.get("tags") or {})
        planned = database_identity(
            identifier,
            version,
            args.get("database_name", "app"),
            args.get("master_username", "phoenix_admin"),
            args.get("kms_key_id"),
        )

        self._create_network_access(name, args, identifier, tags)
        self._create_parameter_group(name, identifier, engine_major(version), args, tags)
        log_groups = self._create_log_groups(name, identifier, args, tags)
        monitoring_role_arn = self._create_monitoring_role(name, identifier, args, tags)
        self._create_instance(
            name, args, identifier, planned, log_groups, monitoring_role_arn, tags
        )
        self._register(args, planned)

    def _create_network_access(
        self, name: str, args: DatabaseArgs, identifier: str, tags: dict[str, str]
    ) -> None:
        """The DB subnet group (isolated subnets) and the security group that lets only the
        client security group in."""
        child = pulumi.ResourceOptions(parent=self)
        self.subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=identifier,
            subnet_ids=args["subnet_ids"],
            description=f"Isolated subnets of {identifier}",
            tags=tags,
            opts=child,
        )
        self.security_group = server_security_group(
            name,
            vpc_id=args["vpc_id"],
            client_security_group_id=args["client_security_group_id"],
            port=POSTGRES_PORT,
            what=f"PostgreSQL {identifier}",
            tags={**tags, "Name": f"{identifier}-db"},
            opts=child,
        )

    def _create_parameter_group(
        self, name: str, identifier: str, major: str, args: DatabaseArgs, tags: dict[str, str]
    ) -> None:
        """Clients without TLS are refused by the server, not just discouraged; slow statements
        are logged (and exported to CloudWatch Logs with the rest of the Postgres log)."""
        self.parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            name=f"{identifier}-pg{major}",
            family=f"postgres{major}",
            description=f"{identifier}: TLS enforced, slow statements logged",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(
                    name="log_min_duration_statement", value=str(args.get("slow_query_ms", 500))
                ),
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )

    def _create_log_groups(
        self, name: str, identifier: str, args: DatabaseArgs, tags: dict[str, str]
    ) -> list[aws.cloudwatch.LogGroup]:
        """RDS writes exported logs here; creating the groups first gives them a retention."""
        return [
            aws.cloudwatch.LogGroup(
                f"{name}-log-{kind}",
                name=f"/aws/rds/instance/{identifier}/{kind}",
                retention_in_days=args.get("log_retention_days", 30),
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for kind in ("postgresql", "upgrade")
        ]

    def _create_monitoring_role(
        self, name: str, identifier: str, args: DatabaseArgs, tags: dict[str, str]
    ) -> pulumi.Output[str] | None:
        """The enhanced monitoring role (none when monitoring is off); its ARN resolves once
        its policy is attached."""
        if not args.get("monitoring_interval_seconds", 60):
            return None
        child = pulumi.ResourceOptions(parent=self)
        partition, region, account_id = self._where()
        monitoring_role = aws.iam.Role(
            f"{name}-monitoring-role",
            # Only RDS monitoring of this instance may assume it (confused deputy).
            assume_role_policy=pulumi.Output.all(partition, region, account_id).apply(
                lambda a: json.dumps(rds_monitoring_trust(a[0], a[1], a[2], identifier))
            ),
            description=f"RDS enhanced monitoring of {identifier}",
            tags=tags,
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=monitoring_role.name,
            policy_arn=partition.apply(lambda p: managed_policy_arn(p, ENHANCED_MONITORING_POLICY)),
            opts=child,
        )
        return pulumi.Output.all(monitoring_role.arn, attachment.id).apply(lambda a: a[0])

    def _create_instance(
        self,
        name: str,
        args: DatabaseArgs,
        identifier: str,
        planned: dict[str, str],
        log_groups: list[aws.cloudwatch.LogGroup],
        monitoring_role_arn: pulumi.Output[str] | None,
        tags: dict[str, str],
    ) -> None:
        """The encrypted, private, Multi-AZ instance with RDS-managed master credentials and
        IAM authentication, created only after the identity check passed."""
        performance_insights = args.get("performance_insights", True)
        allow_major = args.get("allow_major_version_upgrade", False)
        guard = functools.partial(
            _guarded_identifier,
            identifier,
            planned,
            allow_replacement=args.get("allow_replacement", False),
            allow_major_version_upgrade=allow_major,
        )
        self.instance = aws.rds.Instance(
            f"{name}-instance",
            # The instance waits for the identity check, so a refused change never reaches it.
            identifier=pulumi.Output.from_input(args.get("previous_identity")).apply(guard),
            engine="postgres",
            engine_version=args.get("engine_version", "17"),
            instance_class=args.get("instance_class", "db.t4g.medium"),
            allocated_storage=args.get("allocated_storage_gb", MIN_STORAGE_GB),
            max_allocated_storage=args.get("max_allocated_storage_gb", 100),
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.get("kms_key_id"),
            db_name=planned["database_name"],
            username=planned["master_username"],
            manage_master_user_password=True,
            iam_database_authentication_enabled=True,
            port=POSTGRES_PORT,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=self.parameter_group.name,
            publicly_accessible=False,
            multi_az=args.get("multi_az", True),
            backup_retention_period=args.get("backup_retention_days", 14),
            backup_window="02:00-03:00",
            maintenance_window="sun:03:30-sun:04:30",
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=allow_major,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            performance_insights_enabled=performance_insights,
            performance_insights_retention_period=7 if performance_insights else None,
            monitoring_interval=args.get("monitoring_interval_seconds", 60),
            monitoring_role_arn=monitoring_role_arn,
            deletion_protection=args.get("deletion_protection", True),
            skip_final_snapshot=args.get("skip_final_snapshot", False),
            final_snapshot_identifier=self._final_snapshot(name, identifier, planned),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.get("protect", True), depends_on=log_groups
            ),
        )

    def _final_snapshot(
        self, name: str, identifier: str, planned: dict[str, str]
    ) -> pulumi.Output[str]:
        """The final snapshot's name, new with each incarnation of the instance: a random suffix
        drawn once per stack and again whenever a change replaces the database (its keepers are
        what replaces it)."""
        incarnation = random.RandomId(
            f"{name}-incarnation",
            byte_length=4,
            keepers={key: planned[key] for key in REPLACING_FIELDS},
            opts=pulumi.ResourceOptions(parent=self),
        )
        return incarnation.hex.apply(functools.partial(final_snapshot_identifier, identifier))

    def _where(self) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
        """(partition, Region, account) the provider reports."""
        invoke = pulumi.InvokeOutputOptions(parent=self)
        return (
            aws.get_partition_output(opts=invoke).partition,
            aws.get_region_output(opts=invoke).region,
            aws.get_caller_identity_output(opts=invoke).account_id,
        )

    def _register(self, args: DatabaseArgs, planned: dict[str, str]) -> None:
        """Set and register the outputs, and the environment the app and admin tasks get."""
        db_name, app_user = planned["database_name"], args.get("app_username", "app")
        self.identifier = self.instance.identifier
        self.address = self.instance.address
        self.port = self.instance.port
        self.database_name = pulumi.Output.from_input(db_name)
        self.master_username = pulumi.Output.from_input(planned["master_username"])
        self.app_username = pulumi.Output.from_input(app_user)
        self.identity = pulumi.Output.from_input(planned)
        self.secret_arn = self.instance.master_user_secrets.apply(
            lambda secrets: (secrets[0].secret_arn or "") if secrets else ""
        )
        self.resource_id = self.instance.resource_id
        self.app_connect_arn = app_connect_arn(self.resource_id, app_user, self)
        self.security_group_id = self.security_group.id
        self.app_environment, self.admin_environment, self.admin_secrets = database_environments(
            self.address, self.port, self.secret_arn, db_name, app_user
        )
        self.register_outputs(
            {
                "identifier": self.identifier,
                "address": self.address,
                "port": self.port,
                "database_name": self.database_name,
                "app_username": self.app_username,
                "secret_arn": self.secret_arn,
                "app_connect_arn": self.app_connect_arn,
                "security_group_id": self.security_group_id,
                "resource_id": self.resource_id,
                "identity": self.identity,
            }
        )


def database_environments(
    address: pulumi.Input[str],
    port: pulumi.Input[int],
    secret_arn: pulumi.Input[str],
    db_name: str,
    app_user: str,
) -> tuple[pulumi.Output[dict], pulumi.Output[dict], pulumi.Output[dict]]:
    """The app's environment, the admin tasks' environment and the admin tasks' ECS secrets for
    the database `db_name` on an instance at `address:port`.

    The app's tasks log in as the app role with IAM tokens; admin tasks as the master user,
    whose credentials ECS reads from the RDS-managed secret `secret_arn` when each task starts.
    """
    coordinates = pulumi.Output.all(address, port).apply(
        lambda a: {
            "DATABASE_HOST": a[0],
            "DATABASE_PORT": str(a[1]),
            "DATABASE_NAME": db_name,
            "DATABASE_SSL": "true",
        }
    )
    app_environment = coordinates.apply(
        lambda env: {**env, "DATABASE_USERNAME": app_user, "DATABASE_AUTH": "iam"}
    )
    admin_environment = coordinates.apply(
        lambda env: {**env, "DATABASE_AUTH": "password", "DATABASE_APP_USER": app_user}
    )
    # JSON keys of the RDS-managed secret, resolved by ECS when each admin task starts.
    admin_secrets = pulumi.Output.from_input(secret_arn).apply(
        lambda arn: {
            "DATABASE_USERNAME": f"{arn}:username::",
            "DATABASE_PASSWORD": f"{arn}:password::",
        }
    )
    return app_environment, admin_environment, admin_secrets


def app_connect_arn(
    resource_id: pulumi.Input[str], app_user: str, parent: pulumi.Resource
) -> pulumi.Output[str]:
    """`rds-db:connect` for `app_user` on the instance `resource_id`, in the provider's
    partition, Region and account."""
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    partition = aws.get_partition_output(opts=invoke).partition
    region = aws.get_region_output(opts=invoke).region
    account_id = aws.get_caller_identity_output(opts=invoke).account_id
    return pulumi.Output.all(region, account_id, resource_id, partition).apply(
        lambda a: connect_resource_arn(a[0], a[1], a[2], app_user, partition=a[3])
    )


def _guarded_identifier(
    identifier: str,
    planned: dict[str, str],
    previous: dict[str, str] | None,
    *,
    allow_replacement: bool,
    allow_major_version_upgrade: bool,
) -> str:
    """The identifier, once the deployed database's identity allows the planned change."""
    problems = identity_problems(
        previous,
        planned,
        allow_replacement=allow_replacement,
        allow_major_version_upgrade=allow_major_version_upgrade,
    )
    if problems:
        raise pulumi.RunError(
            f"database {identifier}: refusing the change:\n  " + "\n  ".join(problems)
        )
    return identifier


def check_database_args(name: str, args: DatabaseArgs) -> None:
    check_args("Database", name, args, DatabaseArgs)
    for key, value, rule in (
        ("engine_version", args.get("engine_version", "17"), check_engine_version),
        ("instance_class", args.get("instance_class"), check_instance_class),
        ("master_username", args.get("master_username"), check_master_username),
        ("app_username", args.get("app_username"), check_role_name),
        (
            "monitoring_interval_seconds",
            args.get("monitoring_interval_seconds"),
            check_monitoring_interval,
        ),
        ("log_retention_days", args.get("log_retention_days"), check_log_retention),
        ("tags", args.get("tags"), check_tags),
    ):
        check_arg("Database", name, key, value, rule)
    if args.get("app_username", "app") == args.get("master_username", "phoenix_admin"):
        raise arg_error(
            "Database", name, "app_username", "the app must not log in as the master user"
        )
