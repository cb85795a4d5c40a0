"""The app role's SQL (Shop.Release.AppRole, as the Elixir batch builds it) run against a real
PostgreSQL: a throw-away cluster on a Unix socket, with stand-ins for what RDS provides (the
`rds_iam` role; a master user that may create roles and grant `rds_iam`, and owns the app's
database). Then the app role is used the way the app uses it.

PostgreSQL refuses to run as root, so as root (CI) the server runs as `nobody`."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elixir import toolchain

APP_ROLE = "shop_app"
MASTER = "phoenix_admin"
DATABASE = "app"
# A second app on the same instance (PhoenixApp's existing_database): its migration task creates
# its database as the master user, then its role.
SECOND_ROLE = "admin_app"
SECOND_DATABASE = "admin"


@dataclass
class Cluster:
    bin_dir: Path
    socket_dir: Path
    as_server_user: list[str]

    def psql(self, user: str, sql: str, database: str = DATABASE) -> subprocess.CompletedProcess:
        """Runs `sql` as `user` (psql stops at the first error and exits non-zero)."""
        command = [str(self.bin_dir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        command += ["-h", str(self.socket_dir), "-U", user, "-d", database, "-c", sql]
        return subprocess.run(command, capture_output=True, text=True, timeout=30)

    def ok(self, user: str, sql: str, database: str = DATABASE) -> str:
        result = self.psql(user, sql, database)
        assert result.returncode == 0, f"{user}: {sql}\n{result.stderr}"
        return result.stdout

    def refused(self, user: str, sql: str, database: str = DATABASE) -> str:
        result = self.psql(user, sql, database)
        assert result.returncode != 0, f"{user} was allowed to run: {sql}"
        return result.stderr


def postgres_bin_dir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not candidates:
        pytest.fail(
            f"PostgreSQL's server is not installed. Install it with: {toolchain.INSTALL}",
            pytrace=False,
        )
    return Path(candidates[-1]).parent


def app_role_sql() -> list[str]:
    return list(toolchain.batch().ok("app_role_sql"))


def second_app_role_sql() -> list[str]:
    return list(toolchain.batch().ok("second_app_role_sql"))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bin_dir = postgres_bin_dir()
    root = Path(tempfile.mkdtemp(prefix="pg-"))
    as_server_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
        as_server_user = [toolchain.require("runuser"), "-u", "nobody", "--"]
    data, log = root / "data", root / "server.log"

    def run(*command: str) -> None:
        subprocess.run([*as_server_user, *command], check=True, capture_output=True, timeout=60)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        options = f"-k {root} -c listen_addresses='' -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        cluster = Cluster(bin_dir, root, as_server_user)
        # What RDS has before the migration task runs: rds_iam, a master user that can create
        # roles and grant rds_iam (rds_superuser on RDS), and the app's database it owns.
        for sql in (
            "CREATE ROLE rds_iam NOLOGIN",
            f"CREATE ROLE {MASTER} LOGIN CREATEROLE CREATEDB",
            f"GRANT rds_iam TO {MASTER} WITH ADMIN OPTION",
            f"CREATE DATABASE {DATABASE} OWNER {MASTER}",
        ):
            result = cluster.psql("postgres", sql, database="postgres")
            assert result.returncode == 0, result.stderr
        # The migration task: the role first, then a migration creates a table. Twice, as
        # every release runs it again.
        for _ in range(2):
            for statement in app_role_sql():
                cluster.ok(MASTER, statement)
        cluster.ok(MASTER, "CREATE TABLE later_things (id bigserial PRIMARY KEY, body text)")
        # The second app: its database (what Ecto's storage_up runs), its role, a table.
        cluster.ok(MASTER, f"CREATE DATABASE {SECOND_DATABASE}", database="postgres")
        for statement in second_app_role_sql():
            cluster.ok(MASTER, statement, database=SECOND_DATABASE)
        cluster.ok(MASTER, "CREATE TABLE tickets (id bigserial PRIMARY KEY)", SECOND_DATABASE)
        yield cluster
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [
                    *as_server_user,
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


def test_the_role_setup_runs_again_without_error(cluster):
    for statement in app_role_sql():
        cluster.ok(MASTER, statement)


def test_the_app_role_logs_in_through_rds_iam_and_has_no_password(cluster):
    rows = cluster.ok(
        "postgres",
        "SELECT rolcanlogin, rolpassword IS NULL, rolcreaterole, rolcreatedb, rolsuper, "
        f"pg_has_role('{APP_ROLE}', 'rds_iam', 'MEMBER') FROM pg_authid "
        f"WHERE rolname = '{APP_ROLE}'",
    )
    can_login, no_password, create_role, create_db, superuser, iam = rows.strip().split("|")
    assert (can_login, no_password, iam) == ("t", "t", "t")
    assert (create_role, create_db, superuser) == ("f", "f", "f")


def test_the_app_role_reads_and_writes_rows_of_a_table_a_later_migration_created(cluster):
    # Created after the role setup ran (this release's migration), with its own sequence.
    cluster.ok(MASTER, "CREATE TABLE orders (id bigserial PRIMARY KEY, body text NOT NULL)")
    cluster.ok(APP_ROLE, "INSERT INTO orders (body) VALUES ('hello')")
    cluster.ok(APP_ROLE, "UPDATE orders SET body = 'hello again' WHERE body = 'hello'")
    assert cluster.ok(APP_ROLE, "SELECT body FROM orders").split() == ["hello", "again"]
    cluster.ok(APP_ROLE, "DELETE FROM orders")


def test_the_app_role_cannot_create_tables(cluster):
    assert "permission denied for schema public" in cluster.refused(
        APP_ROLE, "CREATE TABLE sneaky (id int)"
    )


def test_the_app_role_cannot_drop_alter_or_truncate_tables(cluster):
    assert "must be owner" in cluster.refused(APP_ROLE, "DROP TABLE later_things")
    assert "must be owner" in cluster.refused(APP_ROLE, "ALTER TABLE later_things ADD x int")
    assert "permission denied" in cluster.refused(APP_ROLE, "TRUNCATE later_things")


def test_the_app_role_cannot_create_roles_or_databases(cluster):
    assert "permission denied" in cluster.refused(APP_ROLE, "CREATE ROLE other LOGIN")
    assert "permission denied" in cluster.refused(APP_ROLE, "CREATE DATABASE other")


def test_apps_sharing_an_instance_reach_only_their_own_database(cluster):
    """Two apps' roles on one instance: each connects to its own database and is refused at the
    other's door (CONNECT is taken from PUBLIC), whatever it would read there."""
    assert cluster.ok(SECOND_ROLE, "SELECT count(*) FROM tickets", SECOND_DATABASE).strip() == "0"
    assert cluster.ok(APP_ROLE, "SELECT count(*) FROM later_things").strip() == "0"
    assert "permission denied for database" in cluster.refused(SECOND_ROLE, "SELECT 1", DATABASE)
    assert "permission denied for database" in cluster.refused(
        APP_ROLE, "SELECT 1", SECOND_DATABASE
    )


def test_a_role_without_a_grant_cannot_connect_to_an_apps_database(cluster):
    """Any other login role (a third app, a human) is refused too: the door is the database's
    own CONNECT grant, not each role's good manners."""
    cluster.ok(
        "postgres",
        "CREATE ROLE bystander LOGIN",
    )
    try:
        for database in (DATABASE, SECOND_DATABASE):
            assert "permission denied for database" in cluster.refused(
                "bystander", "SELECT 1", database
            )
    finally:
        cluster.ok("postgres", "DROP ROLE bystander")
