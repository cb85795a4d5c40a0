"""Database (RDS PostgreSQL) and the Redis PubSub fallback."""

from __future__ import annotations

import harness
import pytest
from phoenix_aws.database import REPLACING_FIELDS, Database, final_snapshot_identifier
from phoenix_aws.naming import DB_INSTANCE_IDENTIFIER, DB_SNAPSHOT_IDENTIFIER, physical_name
from phoenix_aws.pubsub import RedisPubSub
from phoenix_aws.validation import ComponentArgError
from tests_support import load_settings_with_edge

from stacks.settings import ConfigError

COMMON = {
    "vpc_id": "vpc-1",
    "subnet_ids": ["subnet-iso-a", "subnet-iso-b"],
    "client_security_group_id": "sg-nodes",
}


def database(**args):
    return harness.run(lambda: Database("db", {**COMMON, "identifier": "shop-prod-db", **args}))


def redis(**args):
    return harness.run(
        lambda: RedisPubSub("ps", {**COMMON, "identifier": "shop-prod-pubsub", **args})
    )


def ingress_rules(run, sg_id):
    return [
        r
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == sg_id
    ]


# --- Database ---------------------------------------------------------------------------------


def test_database_lives_in_the_given_isolated_subnets():
    run = database()
    assert run.named("db-subnets")["subnetIds"] == ["subnet-iso-a", "subnet-iso-b"]
    assert run.named("db-instance")["dbSubnetGroupName"] == "shop-prod-db"


def test_database_accepts_5432_only_from_the_node_security_group():
    run = database()
    (rule,) = ingress_rules(run, "db-sg-id")
    assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (5432, 5432, "tcp")
    assert rule["referencedSecurityGroupId"] == "sg-nodes"
    assert "cidrIpv4" not in rule.inputs
    sg = run.named("db-sg")
    assert not sg.get("ingress") and not sg.get("egress")
    assert run.named("db-instance")["vpcSecurityGroupIds"] == ["db-sg-id"]


def test_nodes_get_a_matching_egress_rule_to_the_database_only():
    run = database()
    (egress,) = run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert (egress["securityGroupId"], egress["referencedSecurityGroupId"], egress["fromPort"]) == (
        "sg-nodes",
        "db-sg-id",
        5432,
    )


def test_database_is_never_publicly_accessible_and_is_encrypted():
    instance = database().named("db-instance")
    assert instance["publiclyAccessible"] is False
    assert instance["storageEncrypted"] is True


def test_tls_is_enforced_by_the_parameter_group():
    run = database(engine_version="16.4")
    params = run.named("db-params")
    assert params["family"] == "postgres16"
    assert {"name": "rds.force_ssl", "value": "1"} in [
        dict(name=p["name"], value=p["value"]) for p in params["parameters"]
    ]
    assert run.named("db-instance")["parameterGroupName"] == params["name"]


def test_master_password_is_managed_by_rds_and_never_registered():
    run = database()
    instance = run.named("db-instance")
    assert instance["manageMasterUserPassword"] is True
    assert "password" not in instance.inputs
    for resource in run.resources:
        assert not any(
            k.lower().endswith("password") and k != "manageMasterUserPassword"
            for k in resource.inputs
        )


def test_master_user_is_not_a_default_name():
    assert database().named("db-instance")["username"] == "phoenix_admin"


def test_backups_logs_and_maintenance_defaults():
    instance = database().named("db-instance")
    assert instance["backupRetentionPeriod"] == 14
    assert instance["copyTagsToSnapshot"] is True
    assert instance["autoMinorVersionUpgrade"] is True
    assert instance["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert instance["multiAz"] is True
    assert instance["performanceInsightsEnabled"] is True


def test_exported_log_groups_have_a_retention_and_exist_before_the_instance():
    run = database(log_retention_days=60)
    groups = run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert sorted(g["name"] for g in groups) == [
        "/aws/rds/instance/shop-prod-db/postgresql",
        "/aws/rds/instance/shop-prod-db/upgrade",
    ]
    assert {g["retentionInDays"] for g in groups} == {60}
    assert {"db-log-postgresql", "db-log-upgrade"} <= run.dependencies_of(run.named("db-instance"))


def test_nothing_is_lost_by_default():
    run = database()
    instance = run.named("db-instance")
    assert instance.protect is True
    assert instance["deletionProtection"] is True
    assert instance["skipFinalSnapshot"] is False
    assert instance["finalSnapshotIdentifier"].startswith("shop-prod-db-final-")


def test_each_incarnation_of_the_database_has_its_own_final_snapshot_name():
    """A database deleted, deployed again and deleted again must not collide with the final
    snapshot its previous incarnation left (RDS refuses DBSnapshotAlreadyExists). The name ends in
    a random suffix (pulumi-random: a RandomId is new in every new stack state, and replaced when
    its keepers change) whose keepers are exactly what replaces the database; every name passes
    RDS's rule for snapshot identifiers."""
    run = database()
    instance = run.named("db-instance")
    (incarnation,) = run.of_type("random:index/randomId:RandomId")
    assert incarnation.parent == instance.parent
    assert set(incarnation["keepers"]) == set(REPLACING_FIELDS)
    assert incarnation["keepers"]["identifier"] == instance["identifier"]
    name = instance["finalSnapshotIdentifier"]
    assert DB_SNAPSHOT_IDENTIFIER.problems(name) == []
    suffix = name.removeprefix(f"{instance['identifier']}-final-")
    assert suffix != name and len(suffix) == 8  # the RandomId's hex: 4 bytes
    # A change that replaces the database (here: a new identifier) draws a new incarnation.
    moved = database(identifier="shop-prod-db2", allow_replacement=True, protect=False)
    (moved_incarnation,) = moved.of_type("random:index/randomId:RandomId")
    assert moved_incarnation["keepers"] != incarnation["keepers"]
    for given in ("a" * 90, "1shop-prod-db", "internal.Proj_x-prod-db"):
        identifier = physical_name(given, rule=DB_INSTANCE_IDENTIFIER)
        snapshot = final_snapshot_identifier(identifier, "0f1e2d3c")
        assert DB_SNAPSHOT_IDENTIFIER.problems(snapshot) == []


def test_a_stack_may_opt_out_of_protection():
    instance = database(protect=False, deletion_protection=False, skip_final_snapshot=True).named(
        "db-instance"
    )
    assert (instance.protect, instance["deletionProtection"], instance["skipFinalSnapshot"]) == (
        False,
        False,
        True,
    )


def test_major_version_upgrades_are_refused_unless_allowed():
    assert database().named("db-instance")["allowMajorVersionUpgrade"] is False
    assert (
        database(allow_major_version_upgrade=True).named("db-instance")["allowMajorVersionUpgrade"]
        is True
    )


def test_unsupported_major_version_is_rejected_by_the_component():
    with pytest.raises(ValueError, match="PostgreSQL 12 is not supported"):
        harness.run(lambda: Database("db", {**COMMON, "identifier": "x", "engine_version": "12.1"}))


def database_exports(**args):
    def program():
        db = Database("db", {**COMMON, "identifier": "shop-prod-db", **args})
        for key in ("app_environment", "admin_environment", "admin_secrets", "app_connect_arn"):
            harness.pulumi.export(key, getattr(db, key))

    return harness.run(program)


def test_the_app_logs_in_as_its_own_role_with_iam_authentication():
    """IAM database authentication: the app signs a 15-minute token at each connect, so a
    rotation of any password never breaks a reconnect
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html)."""
    run = database_exports(app_username="shop_app")
    env = run.exports["app_environment"]
    assert env["DATABASE_USERNAME"] == "shop_app" and env["DATABASE_AUTH"] == "iam"
    assert "DATABASE_PASSWORD" not in env
    assert env["DATABASE_HOST"].endswith(".rds.amazonaws.com")
    assert env["DATABASE_SSL"] == "true"
    assert run.named("db-instance")["iamDatabaseAuthenticationEnabled"] is True


def test_the_app_may_connect_only_as_its_role_on_this_instance():
    """The `rds-db:connect` resource names the instance's resource ID and the database user:
    `arn:aws:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<user>`
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html)."""
    run = database_exports(app_username="shop_app")
    assert run.exports["app_connect_arn"] == (
        f"arn:aws:rds-db:{harness.REGION}:{harness.ACCOUNT_ID}:dbuser:db-DBINSTANCE/shop_app"
    )


def test_only_admin_tasks_get_the_master_credentials_as_secrets():
    """ECS resolves secrets when a task starts: a one-off admin task (migrations) always gets the
    current master password, however often RDS rotated it."""
    run = database_exports(app_username="shop_app")
    secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-instance"
    assert run.exports["admin_secrets"] == {
        "DATABASE_USERNAME": f"{secret_arn}:username::",
        "DATABASE_PASSWORD": f"{secret_arn}:password::",
    }
    admin = run.exports["admin_environment"]
    assert admin["DATABASE_AUTH"] == "password" and admin["DATABASE_APP_USER"] == "shop_app"


@pytest.mark.parametrize("name", ["phoenix_admin", "postgres", "rds_app", "Shop", "a" * 64])
def test_the_app_role_is_a_safe_name_other_than_the_master_user(name):
    with pytest.raises(ComponentArgError, match="app_username"):
        database_exports(app_username=name)


def test_slow_statements_are_logged_and_exported():
    run = database_exports()
    params = {p["name"]: p["value"] for p in run.named("db-params")["parameters"]}
    assert params["log_min_duration_statement"] == "500"
    assert "postgresql" in run.named("db-instance")["enabledCloudwatchLogsExports"]
    slower = database_exports(slow_query_ms=2000)
    assert {p["name"]: p["value"] for p in slower.named("db-params")["parameters"]}[
        "log_min_duration_statement"
    ] == "2000"


def test_enhanced_monitoring_has_its_own_role_and_can_be_switched_off():
    run = database_exports()
    instance = run.named("db-instance")
    assert instance["monitoringInterval"] == 60
    assert "db-monitoring-role" in run.dependencies_of(instance) or instance["monitoringRoleArn"]
    assert run.named("db-monitoring-policy")["policyArn"].endswith(
        "AmazonRDSEnhancedMonitoringRole"
    )
    off = database_exports(monitoring_interval_seconds=0)
    assert off.named("db-instance")["monitoringInterval"] == 0
    assert off.maybe("db-monitoring-role") is None


# --- Redis ------------------------------------------------------------------------------------


def test_redis_accepts_6379_only_from_the_node_security_group():
    run = redis()
    (rule,) = ingress_rules(run, "ps-sg-id")
    assert (rule["fromPort"], rule["toPort"], rule["referencedSecurityGroupId"]) == (
        6379,
        6379,
        "sg-nodes",
    )
    assert run.named("ps-redis")["securityGroupIds"] == ["ps-sg-id"]
    assert run.named("ps-subnets")["subnetIds"] == ["subnet-iso-a", "subnet-iso-b"]


def test_redis_is_encrypted_authenticated_and_replicated():
    group = redis().named("ps-redis")
    assert group["atRestEncryptionEnabled"] is True
    assert group["transitEncryptionEnabled"] is True
    assert group["numCacheClusters"] == 2
    assert group["automaticFailoverEnabled"] is True and group["multiAzEnabled"] is True
    assert group["snapshotRetentionLimit"] == 7
    assert group["maintenanceWindow"] == "sun:05:00-sun:06:00"


def test_redis_auth_token_and_url_are_secrets():
    run = redis()
    group = run.named("ps-redis")
    assert "authToken" in group.secret_inputs
    version = run.named("ps-url-value")
    assert "secretString" in version.secret_inputs
    assert version["secretString"].startswith("rediss://:")
    assert version["secretString"].endswith("@master.ps-redis.abc.cache.amazonaws.com:6379")


def test_redis_token_never_appears_in_plain_inputs():
    run = redis()
    token = run.named("ps-auth-token").inputs
    assert token["special"] is False and token["length"] == 64
    generated = "R" * 64  # what the mock RandomPassword returns
    seen_in_secret = False
    for resource in run.resources:
        plain = {k: v for k, v in resource.raw_inputs.items() if k not in resource.secret_inputs}
        assert not any(generated in s for s in harness.walk_strings(plain)), resource.name
        seen_in_secret |= any(generated in s for s in harness.walk_strings(resource.inputs))
    assert seen_in_secret  # it is used, but only ever as a secret


def test_redis_and_its_secret_are_protected_by_default():
    run = redis()
    assert (
        run.named("ps-redis").protect
        and run.named("ps-url").protect
        and run.named("ps-auth-token").protect
    )
    assert run.named("ps-url")["recoveryWindowInDays"] == 30


def test_redis_failover_without_replicas_is_rejected():
    with pytest.raises(ValueError, match="at least 1 replica"):
        harness.run(lambda: RedisPubSub("ps", {**COMMON, "identifier": "x", "replicas": 0}))


# --- in the program ---------------------------------------------------------------------------


def test_redis_is_absent_when_pubsub_is_distributed_erlang(run_stack):
    run = run_stack("prod")
    assert run.of_type("aws:elasticache/replicationGroup:ReplicationGroup") == []
    assert "redis_url_secret_arn" not in run.exports


def test_redis_is_created_when_pubsub_is_redis(run_stack):
    run = run_stack("prod", pubsub={"adapter": "redis"})
    (group,) = run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert group["replicationGroupId"] == "phoenix-aws-prod-pubsub"
    assert run.named("pubsub-subnets")["subnetIds"] == [
        f"network-isolated-{i}-id" for i in range(3)
    ]


def test_redis_can_be_enabled_explicitly_alongside_erlang(run_stack):
    run = run_stack("prod", pubsub={"adapter": "erlang", "redis": {"enabled": True}})
    assert len(run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")) == 1


def test_program_database_uses_isolated_subnets_and_the_node_sg(run_stack):
    run = run_stack("prod")
    assert run.named("database-subnets")["subnetIds"] == [
        f"network-isolated-{i}-id" for i in range(3)
    ]
    (rule,) = ingress_rules(run, "database-sg-id")
    assert rule["referencedSecurityGroupId"] == "nodes-sg-id"


def test_dev_opts_out_of_protection_and_prod_keeps_it(run_stack):
    assert run_stack("prod").named("database-instance").protect is True
    assert run_stack("dev").named("database-instance").protect is False


def test_no_plaintext_secret_in_any_export(run_stack):
    run = run_stack("dev")
    for value in harness.walk_strings(run.exports):
        assert "rediss://" not in value and "password" not in value.lower()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"database": {"engine_version": "12"}},
            "phoenix-aws:database.engine_version: PostgreSQL 12 is not supported; expected one of 14, 15, 16, 17 (got '12')",
        ),
        (
            {"database": {"allocated_storage_gb": 10}},
            "phoenix-aws:database.allocated_storage_gb: must be at least 20 (got 10)",
        ),
        (
            {"database": {"allocated_storage_gb": 70000}},
            "phoenix-aws:database.allocated_storage_gb: must be at most 65536 (got 70000)",
        ),
        (
            {"database": {"allocated_storage_gb": 200, "max_allocated_storage_gb": 100}},
            "phoenix-aws:database.max_allocated_storage_gb: must be at least allocated_storage_gb (200) (got 100)",
        ),
        (
            {"database": {"multi_az": False}},
            "phoenix-aws:database.multi_az: production requires Multi-AZ (got false)",
        ),
        (
            {"database": {"backup_retention_days": 3}},
            "phoenix-aws:database.backup_retention_days: production requires at least 7 days of backups (got 3)",
        ),
        (
            {"database": {"master_username": "postgres"}},
            "phoenix-aws:database.master_username: 'postgres' is reserved or well known (guessed first); choose another",
        ),
        (
            {"pubsub": {"adapter": "redis", "redis": {"replicas": 0}}},
            "phoenix-aws:pubsub.redis.replicas: automatic failover needs at least 1 replica to promote (got 0)",
        ),
        (
            {"pubsub": {"adapter": "redis", "redis": {"replicas": 0, "automatic_failover": False}}},
            "phoenix-aws:pubsub.redis.automatic_failover: production requires automatic failover (and so a replica) for Redis (got false)",
        ),
        (
            {"pubsub": {"adapter": "kafka"}},
            "phoenix-aws:pubsub.adapter: expected one of erlang, redis (got 'kafka')",
        ),
    ],
)
def test_bad_data_service_config_is_rejected_with_a_clear_message(raw, expected):
    with pytest.raises(ConfigError) as info:
        load_settings_with_edge(raw)
    assert info.value.problems == [expected]


def test_development_may_run_single_az_with_short_backups():
    settings = load_settings_with_edge(
        {"stage": "development", "database": {"multi_az": False, "backup_retention_days": 1}}
    )
    assert settings.database.multi_az is False


# --- replacement guard ------------------------------------------------------------------------


def deployed_identity(run_stack, **database):
    return run_stack("prod", database=database).exports["database_identity"]


def test_the_database_identity_is_exported(run_stack):
    assert run_stack("prod").exports["database_identity"] == {
        "identifier": "phoenix-aws-prod-db",
        "subnet_group": "phoenix-aws-prod-db",
        "database_name": "app",
        "master_username": "phoenix_admin",
        "kms_key_id": "aws/rds",
        "engine_major": "17",
    }


def test_an_unchanged_identity_updates_in_place(run_stack):
    previous = {"database_identity": deployed_identity(run_stack)}
    run = run_stack("prod", previous_outputs=previous, database={"instance_class": "db.m7g.xlarge"})
    assert run.named("database-instance")["instanceClass"] == "db.m7g.xlarge"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"name": "shop"},
            "changing the initial database name from 'app' to 'shop' replaces the database",
        ),
        (
            {"master_username": "shop_admin"},
            "changing the master user name from 'phoenix_admin' to 'shop_admin' replaces the database",
        ),
        ({"engine_version": "16"}, "PostgreSQL cannot be downgraded from 17 to 16"),
    ],
)
def test_a_change_that_would_replace_the_database_is_refused_before_it_is_touched(
    run_stack, change, message
):
    previous = {"database_identity": deployed_identity(run_stack)}
    with pytest.raises(Exception, match=message) as info:
        run_stack("prod", previous_outputs=previous, database=change)
    registered = {r.name for r in info.value.recorded}
    assert "database-subnets" in registered and "database-instance" not in registered


def test_a_major_upgrade_needs_to_be_allowed(run_stack):
    previous = {"database_identity": {**deployed_identity(run_stack), "engine_major": "16"}}
    with pytest.raises(Exception, match="set allow_major_version_upgrade: true"):
        run_stack("prod", previous_outputs=previous)
    run = run_stack(
        "prod", previous_outputs=previous, database={"allow_major_version_upgrade": True}
    )
    assert run.named("database-instance")["engineVersion"] == "17"


def test_replacement_goes_through_only_when_explicitly_allowed(run_stack):
    previous = {"database_identity": deployed_identity(run_stack)}
    run = run_stack(
        "prod",
        previous_outputs=previous,
        database={"name": "shop", "allow_replacement": True, "protect": False},
    )
    assert run.named("database-instance")["dbName"] == "shop"


def test_allowing_replacement_while_protected_is_rejected():
    with pytest.raises(ConfigError) as info:
        load_settings_with_edge({"database": {"allow_replacement": True}})
    assert info.value.problems == [
        "phoenix-aws:database.allow_replacement: replacing the database also needs protect: false (Pulumi refuses to replace a protected resource) (got true)"
    ]
