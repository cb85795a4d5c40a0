"""Database: RDS PostgreSQL in the isolated subnets, reachable only from the app nodes.

The master password is generated and rotated by RDS inside Secrets Manager
(`manage_master_user_password`), so it never passes through config, Pulumi state or outputs. The app
receives it through ECS task secrets (`DATABASE_USERNAME`/`DATABASE_PASSWORD`, JSON keys of that
secret) and builds its Ecto config at boot (see examples/phoenix_app/config/runtime.exs): a URL
baked into a separate secret would break at the first rotation.
"""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .naming import DB_IDENTIFIER_MAX, physical_name
from .security import server_security_group

POSTGRES_PORT = 5432
SUPPORTED_MAJOR_VERSIONS = ("14", "15", "16", "17")
# gp3 storage limits of RDS for PostgreSQL, GiB.
MIN_STORAGE_GB = 20
MAX_STORAGE_GB = 65536


def engine_major(version: str) -> str:
    """`16` for `16.4` or `16`."""
    return version.split(".")[0]


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
    multi_az: NotRequired[bool]
    """Synchronous standby in another AZ. Default: true."""
    backup_retention_days: NotRequired[int]
    """Automated backups kept. Default: 14."""
    performance_insights: NotRequired[bool]
    """Default: true."""
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
    previous_identity: NotRequired[pulumi.Input[dict[str, str] | None]]
    """`identity` of the deployed database (e.g. read back from this stack's outputs). A change
    that would replace it, or a major upgrade not allowed, fails before the instance is touched.
    Default: no check."""
    allow_replacement: NotRequired[bool]
    """Accept a change that replaces the database. Default: false."""
    tags: NotRequired[dict[str, str]]


class Database(pulumi.ComponentResource):
    """Encrypted, TLS-only RDS PostgreSQL whose master password only Secrets Manager knows."""

    identifier: pulumi.Output[str]
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: pulumi.Output[str]
    master_username: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    identity: dict[str, str]
    app_environment: pulumi.Output[dict[str, str]]
    app_secrets: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("phoenix-aws:components:Database", name, None, opts)
        version = args.get("engine_version", "17")
        major = engine_major(version)
        if major not in SUPPORTED_MAJOR_VERSIONS:
            raise ValueError(
                f"engine_version: PostgreSQL {major} is not supported "
                f"(expected one of {', '.join(SUPPORTED_MAJOR_VERSIONS)}), got {version!r}"
            )
        identifier = physical_name(args["identifier"], max_length=DB_IDENTIFIER_MAX)
        tags = dict(args.get("tags") or {})
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=args.get("protect", True))
        db_name = args.get("database_name", "app")
        username = args.get("master_username", "phoenix_admin")

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
        # Clients without TLS are refused by the server, not just discouraged.
        self.parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            name=f"{identifier}-pg{major}",
            family=f"postgres{major}",
            description=f"{identifier}: TLS enforced",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(
                    name="log_min_duration_statement", value="1000"
                ),
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )
        log_retention = args.get("log_retention_days", 30)
        # RDS writes exported logs here; creating the groups first gives them a retention.
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-log-{kind}",
                name=f"/aws/rds/instance/{identifier}/{kind}",
                retention_in_days=log_retention,
                tags=tags,
                opts=child,
            )
            for kind in ("postgresql", "upgrade")
        ]
        performance_insights = args.get("performance_insights", True)
        self.identity = database_identity(
            identifier, version, db_name, username, args.get("kms_key_id")
        )
        planned = self.identity
        allow_replacement = args.get("allow_replacement", False)
        allow_major = args.get("allow_major_version_upgrade", False)

        def guarded_identifier(previous: dict[str, str] | None) -> str:
            problems = identity_problems(
                previous,
                planned,
                allow_replacement=allow_replacement,
                allow_major_version_upgrade=allow_major,
            )
            if problems:
                raise pulumi.RunError(
                    f"database {identifier}: refusing the change:\n  " + "\n  ".join(problems)
                )
            return identifier

        self.instance = aws.rds.Instance(
            f"{name}-instance",
            # The instance waits for the identity check, so a refused change never reaches it.
            identifier=pulumi.Output.from_input(args.get("previous_identity")).apply(
                guarded_identifier
            ),
            engine="postgres",
            engine_version=version,
            instance_class=args.get("instance_class", "db.t4g.medium"),
            allocated_storage=args.get("allocated_storage_gb", MIN_STORAGE_GB),
            max_allocated_storage=args.get("max_allocated_storage_gb", 100),
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.get("kms_key_id"),
            db_name=db_name,
            username=username,
            manage_master_user_password=True,
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
            allow_major_version_upgrade=args.get("allow_major_version_upgrade", False),
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            performance_insights_enabled=performance_insights,
            performance_insights_retention_period=7 if performance_insights else None,
            deletion_protection=args.get("deletion_protection", True),
            skip_final_snapshot=args.get("skip_final_snapshot", False),
            final_snapshot_identifier=f"{identifier}-final",
            tags=tags,
            opts=pulumi.ResourceOptions.merge(
                protected, pulumi.ResourceOptions(depends_on=log_groups)
            ),
        )

        self.identifier = self.instance.identifier
        self.address = self.instance.address
        self.port = self.instance.port
        self.database_name = pulumi.Output.from_input(db_name)
        self.master_username = pulumi.Output.from_input(username)
        self.secret_arn = self.instance.master_user_secrets.apply(
            lambda secrets: (secrets[0].secret_arn or "") if secrets else ""
        )
        self.security_group_id = self.security_group.id
        # What the app needs: non-secret coordinates as environment, credentials as ECS secrets
        # (JSON keys of the RDS-managed secret, resolved by ECS when the task starts).
        self.app_environment = pulumi.Output.all(self.address, self.port).apply(
            lambda a: {
                "DATABASE_HOST": a[0],
                "DATABASE_PORT": str(a[1]),
                "DATABASE_NAME": db_name,
                "DATABASE_SSL": "true",
            }
        )
        self.app_secrets = self.secret_arn.apply(
            lambda arn: {
                "DATABASE_USERNAME": f"{arn}:username::",
                "DATABASE_PASSWORD": f"{arn}:password::",
            }
        )
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "database_name": self.database_name,
                "secret_arn": self.secret_arn,
                "security_group_id": self.security_group_id,
            }
        )
